package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/server"
)

// The demo's card transfers, in rial: everyday amounts, and two that meet the seed's daily limit of
// 150,000,000 per card — the first over what the card has left, the second exactly what it has left.
const (
	demoCardOnUsRial      = 5_000_000
	demoCardInterbankRial = 12_000_000
	demoCardOfflineRial   = 3_000_000
	demoCardBlockedRial   = 1_500_000
	demoCardWrongCVV2Rial = 1_000_000
)

// demoCardholder is a customer with an active, ordinary card.
type demoCardholder struct {
	bank string
	c    api.Customer
	card api.CustomerCard
}

// demoSHAHAB shows SHAHAB, the card-to-card rail, on the demo's switch at 1404/01/07 10:00 Tehran: a name
// inquiry, an on-us and an interbank transfer with the balances they move and the fee, a destination bank
// offline and a blocked destination card (both refunded whole, no fee), the daily limit, a wrong CVV2, and
// the operator settling the card switch's open window: its obligations, each bank's net, the settlement
// accounts moved.
func demoSHAHAB(ctx context.Context, w io.Writer, srv *server.Server, op *opClient) error {
	bank := func(code string) *opClient {
		return &opClient{base: srv.URL(), key: srv.Keys().Banks[code], http: op.http}
	}
	directory := func(code string) ([]api.Customer, error) {
		var pg api.CustomerPage
		err := op.call(ctx, http.MethodGet, "/v1/directory/customers?limit=1000&bank="+code, nil, &pg)
		return pg.Customers, err
	}
	// holders are code's cardholders with an active, ordinary card, richest first.
	holders := func(code string) ([]demoCardholder, error) {
		cs, err := directory(code)
		if err != nil {
			return nil, err
		}
		var out []demoCardholder
		for _, c := range cs {
			if c.Status != "active" || c.Magic != "" || c.BalanceRial == nil {
				continue
			}
			for _, k := range c.Cards {
				if k.Status == "active" && k.Magic == "" {
					out = append(out, demoCardholder{bank: code, c: c, card: k})
					break
				}
			}
		}
		slices.SortStableFunc(out, func(a, b demoCardholder) int { return cmp.Compare(*b.c.BalanceRial, *a.c.BalanceRial) })
		if len(out) < 2 {
			return nil, fmt.Errorf("demo: bank %s has %d cardholders with an active card, want 2", code, len(out))
		}
		return out, nil
	}
	balance := func(h demoCardholder) (int64, error) {
		cs, err := directory(h.bank)
		if err != nil {
			return 0, err
		}
		for _, c := range cs {
			if c.SHEBA == h.c.SHEBA && c.BalanceRial != nil {
				return *c.BalanceRial, nil
			}
		}
		return 0, fmt.Errorf("demo: bank %s has no customer %s", h.bank, h.c.SHEBA)
	}
	balances := func(hs ...demoCardholder) ([]int64, error) {
		out := make([]int64, len(hs))
		for i, h := range hs {
			b, err := balance(h)
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
		return out, nil
	}
	request := func(from demoCardholder, to string, amount int64, ref string) api.ShahabTransferRequest {
		return api.ShahabTransferRequest{SourcePAN: from.card.PAN, DestinationPAN: to, AmountRial: amount,
			Expiry: from.card.Expiry, CVV2: from.card.CVV2, PIN2: from.card.PIN2, Reference: ref}
	}
	// transfer submits req through 017's channel and wants status and code: the demo shows what it means to.
	transfer := func(req api.ShahabTransferRequest, status, code string) (api.ShahabTransfer, error) {
		var t api.ShahabTransfer
		if err := bank("017").call(ctx, http.MethodPost, "/v1/shahab/transfers", req, &t); err != nil {
			return t, err
		}
		if t.Status != status || t.Code != code {
			return t, fmt.Errorf("demo: transfer %s is %s %s, want %s %s", req.Reference, t.Status, t.Code, status, code)
		}
		return t, nil
	}
	show := func(what string, t api.ShahabTransfer) {
		extra := ""
		if t.Window != "" {
			extra = ", window " + t.Window
		}
		fmt.Fprintf(w, "    %-38s %s → %s %13s rial  %s %s, fee %s, RRN %s%s\n", what, t.SourceBank, t.DestinationBank,
			groupDigits(t.AmountRial), t.Status, t.Code, groupDigits(t.FeeRial), t.RRN, extra)
	}
	moved := func(who string, h demoCardholder, before, after int64) {
		fmt.Fprintf(w, "      %-11s %s %s  %17s → %17s (%s)\n", who, h.card.PAN[:6]+"******"+h.card.PAN[12:], h.c.SHEBA,
			groupDigits(before), groupDigits(after), signed(after-before))
	}
	simulate := func(code string, online bool) error {
		var b api.Bank
		return op.call(ctx, http.MethodPut, "/v1/operator/banks/"+code+"/simulation", api.Simulation{Mode: "simulated", Online: online}, &b)
	}

	fmt.Fprintln(w, "  at 1404/01/07 10:00, rulebook seed: a fee of 7,200 rial on success only, 150,000,000 rial per source card")
	fmt.Fprintln(w, "  per Tehran day (every channel together), the card's static second PIN, the destination's answer within 15 s,")
	fmt.Fprintln(w, "  settlement windows at 04:00, 10:00, 16:00 and 22:00 every day. Transfers go through 017's channel.")
	h017, err := holders("017")
	if err != nil {
		return err
	}
	h012, err := holders("012")
	if err != nil {
		return err
	}
	h054, err := holders("054")
	if err != nil {
		return err
	}
	// a, the richest, can pay the whole daily limit; b receives on-us; c and d are other banks' cardholders.
	a, b, c, d := h017[0], h017[1], h012[0], h054[0]

	var in api.ShahabInquiry
	if err := bank("017").call(ctx, http.MethodPost, "/v1/shahab/inquiries", api.ShahabInquiryRequest{DestinationPAN: c.card.PAN}, &in); err != nil {
		return err
	}
	fmt.Fprintf(w, "    POST /v1/shahab/inquiries %s → %s, at %s %s (shown to the cardholder before the transfer)\n",
		in.DestinationPAN, in.Name, in.Bank, in.BankName)

	before, err := balances(a, b)
	if err != nil {
		return err
	}
	t, err := transfer(request(a, b.card.PAN, demoCardOnUsRial, "card-on-us"), "succeeded", "approved")
	if err != nil {
		return err
	}
	show("on-us, one chain in 017's book:", t)
	after, err := balances(a, b)
	if err != nil {
		return err
	}
	moved("source", a, before[0], after[0])
	moved("destination", b, before[1], after[1])
	used := t.AmountRial

	before, err = balances(a, c)
	if err != nil {
		return err
	}
	t, err = transfer(request(a, c.card.PAN, demoCardInterbankRial, "card-interbank"), "succeeded", "approved")
	if err != nil {
		return err
	}
	show("interbank: hold, 012 credits, post:", t)
	after, err = balances(a, c)
	if err != nil {
		return err
	}
	moved("source", a, before[0], after[0])
	moved("destination", c, before[1], after[1])
	used += t.AmountRial

	if err := simulate("012", false); err != nil {
		return err
	}
	before, err = balances(a)
	if err != nil {
		return err
	}
	t, err = transfer(request(a, c.card.PAN, demoCardOfflineRial, "card-offline"), "refunded", "destination_unavailable")
	if err != nil {
		return err
	}
	show("012 set offline by the operator:", t)
	after, err = balances(a)
	if err != nil {
		return err
	}
	moved("source", a, before[0], after[0])
	if err := simulate("012", true); err != nil {
		return err
	}
	var magic struct {
		Magic []api.MagicValue `json:"magic"`
	}
	if err := op.call(ctx, http.MethodGet, "/v1/directory/magic?bank=012", nil, &magic); err != nil {
		return err
	}
	i := slices.IndexFunc(magic.Magic, func(m api.MagicValue) bool { return m.Name == "card_blocked" && m.Kind == "pan" })
	if i < 0 {
		return errors.New("demo: 012 has no magic card_blocked card")
	}
	t, err = transfer(request(a, magic.Magic[i].Value, demoCardBlockedRial, "card-blocked"), "refunded", "destination_card_blocked")
	if err != nil {
		return err
	}
	show("012 online; to its magic card_blocked:", t)
	after2, err := balances(a)
	if err != nil {
		return err
	}
	moved("source", a, after[0], after2[0])

	const limit = 150_000_000 // the seed profile's card_daily_limit_rial
	left := limit - used
	fmt.Fprintf(w, "    the card has used %s of its %s today (succeeded and pending count; the refunds released theirs):\n",
		groupDigits(used), groupDigits(limit))
	t, err = transfer(request(a, d.card.PAN, left+10_000_000, "card-over-limit"), "rejected", "daily_limit_exceeded")
	if err != nil {
		return err
	}
	show("  10,000,000 more than it has left:", t)
	t, err = transfer(request(a, d.card.PAN, left, "card-to-the-limit"), "succeeded", "approved")
	if err != nil {
		return err
	}
	show("  exactly what it has left:", t)
	bad := request(b, c.card.PAN, demoCardWrongCVV2Rial, "card-wrong-cvv2")
	bad.CVV2 = fmt.Sprintf("%03d", (atoiDigits(b.card.CVV2)+1)%1000)
	t, err = transfer(bad, "rejected", "cvv2_wrong")
	if err != nil {
		return err
	}
	show("another card, its CVV2 one off:", t)

	// The operator closes the open window before its 16:00 cut-off and settles its nets on the CBI accounts.
	var open api.ShahabWindowPage
	if err := op.call(ctx, http.MethodGet, "/v1/operator/shahab/windows?limit=1", nil, &open); err != nil {
		return err
	}
	settleBefore := map[string]int64{}
	for _, code := range windowBanks(open) {
		var acct api.SettlementAccount
		if err := bank(code).call(ctx, http.MethodGet, "/v1/settlement-account?limit=1", nil, &acct); err != nil {
			return err
		}
		settleBefore[code] = acct.BalanceRial
	}
	var win api.ShahabWindow
	if err := op.call(ctx, http.MethodPost, "/v1/operator/shahab/windows/settle", nil, &win); err != nil {
		return err
	}
	fmt.Fprintf(w, "    POST /v1/operator/shahab/windows/settle — window %s closed before its %s cut-off: %s, %s\n",
		win.ID, win.CutOff.In(calendar.Tehran).Format("15:04"), win.Status, plural(win.Transfers, "transfer"))
	for _, o := range win.Obligations {
		fmt.Fprintf(w, "      obligation %s → %s %15s rial (%s)\n", o.From, o.To, groupDigits(o.AmountRial), plural(o.Transfers, "transfer"))
	}
	for _, n := range win.Nets {
		var acct api.SettlementAccount
		if err := bank(n.Bank).call(ctx, http.MethodGet, "/v1/settlement-account?limit=1", nil, &acct); err != nil {
			return err
		}
		verb := "pays    "
		if n.NetRial < 0 {
			verb = "receives"
		}
		fmt.Fprintf(w, "      net %s %s %15s rial: settlement account %s → %s\n", n.Bank, verb, groupDigits(abs(n.NetRial)),
			groupDigits(settleBefore[n.Bank]), groupDigits(acct.BalanceRial))
	}
	netSet := win.NetSet
	if len(netSet) > 8 {
		netSet = netSet[:8] + "…"
	}
	excluded := "none"
	if len(win.Excluded) > 0 {
		excluded = strings.Join(win.Excluded, ", ")
	}
	var now api.ShahabWindowPage
	if err := op.call(ctx, http.MethodGet, "/v1/operator/shahab/windows?limit=1", nil, &now); err != nil {
		return err
	}
	next := "?"
	if len(now.Windows) > 0 {
		next = now.Windows[0].ID
	}
	fmt.Fprintf(w, "      one net settlement %s (rail card, code 399), banks left out: %s; the open window is now %s\n", netSet, excluded, next)
	return nil
}

// windowBanks are the banks of the newest window's obligations, in order.
func windowBanks(pg api.ShahabWindowPage) []string {
	var out []string
	if len(pg.Windows) == 0 {
		return nil
	}
	for _, o := range pg.Windows[0].Obligations {
		for _, b := range []string{o.From, o.To} {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	slices.Sort(out)
	return out
}

func abs(n int64) int64 { return max(n, -n) }

// signed shows a change of balance with its sign: +5,000,000, −5,007,200, or "unchanged".
func signed(n int64) string {
	switch {
	case n > 0:
		return "+" + groupDigits(n)
	case n < 0:
		return "−" + groupDigits(-n)
	}
	return "unchanged"
}

// plural is n and noun, with an s unless n is one.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// atoiDigits reads a string of ASCII digits (a test CVV2) as a number.
func atoiDigits(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
