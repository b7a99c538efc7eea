package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// The SHAHAB scenarios (issue 10, DOMAIN.md §6): each boots its own switch on the simulated clock with real
// PostgreSQL, moves card transfers through the API and ends with the audit clean (boot's cleanup runs it; the
// tests run it after each step too). Expected balances are computed here from what the test sent and the
// rulebook's fee (7,200 rial in every profile, a simulator default), never read back from the answers.

const cardFee int64 = 7_200

// holder is a test cardholder: a customer of a simulated book with an active card.
type holder struct {
	bank string
	c    api.Customer
	card api.CustomerCard
}

// holders finds n customers of bank with an active, ordinary card and at least min rial, richest first.
func (w *world) holders(bank string, n int, min int64) []holder {
	w.t.Helper()
	var out []holder
	for _, c := range w.customers(bank).Customers {
		if c.Magic != "" || c.Status != "active" || c.BalanceRial == nil || *c.BalanceRial < min {
			continue
		}
		for _, k := range c.Cards {
			if k.Status == "active" && k.Magic == "" {
				out = append(out, holder{bank: bank, c: c, card: k})
				break
			}
		}
	}
	if len(out) < n {
		w.t.Fatalf("bank %s: %d cardholders with %d rial, want %d", bank, len(out), min, n)
	}
	return out[:n]
}

// magicCard is bank's magic card of the given effect (a destination: only its number matters).
func (w *world) magicCard(bank, effect string) api.CustomerCard {
	w.t.Helper()
	var m struct{ Magic []api.MagicValue }
	w.must(http.StatusOK, http.MethodGet, "/v1/directory/magic?bank="+bank, w.operator(), nil, &m)
	for _, v := range m.Magic {
		if v.Name == effect && v.Kind == "pan" {
			return api.CustomerCard{PAN: v.Value}
		}
	}
	w.t.Fatalf("bank %s has no %s card", bank, effect)
	return api.CustomerCard{}
}

// held is a customer's balance now.
func (w *world) held(bank, sheba string) int64 {
	w.t.Helper()
	for _, c := range w.customers(bank).Customers {
		if c.SHEBA == sheba {
			return *c.BalanceRial
		}
	}
	w.t.Fatalf("bank %s has no customer %s", bank, sheba)
	return 0
}

func cardReq(from holder, to api.CustomerCard, amount int64, ref string) api.ShahabTransferRequest {
	return api.ShahabTransferRequest{SourcePAN: from.card.PAN, DestinationPAN: to.PAN, AmountRial: amount,
		Expiry: from.card.Expiry, CVV2: from.card.CVV2, PIN2: from.card.PIN2, Reference: ref}
}

// transfer submits a transfer as bank and wants status and code.
func (w *world) transfer(bank string, req api.ShahabTransferRequest, status, code string) api.ShahabTransfer {
	w.t.Helper()
	var t api.ShahabTransfer
	w.must(http.StatusCreated, http.MethodPost, "/v1/shahab/transfers", w.bank(bank), req, &t)
	if t.Status != status || t.Code != code {
		w.t.Fatalf("transfer %s: %s %s, want %s %s", req.Reference, t.Status, t.Code, status, code)
	}
	return t
}

func (w *world) cardPositions() map[string]int64 {
	w.t.Helper()
	var ps struct{ Positions []api.ClearingPosition }
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/clearing/positions?rail=card", w.operator(), nil, &ps)
	out := map[string]int64{}
	for _, p := range ps.Positions {
		out[p.Bank] = p.NetRial
	}
	return out
}

func (w *world) simulate(bank string, sim api.Simulation) {
	w.t.Helper()
	sim.Mode = "simulated"
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/"+bank+"/simulation", w.operator(), sim, nil)
}

// TestShahabOnUsAndInterbank: an on-us transfer is one chain in the bank's book; an interbank one debits the
// issuer's customer, credits the destination's, and moves the banks' card positions until the window settles
// them on the CBI accounts.
func TestShahabOnUsAndInterbank(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	m := w.holders("017", 2, 50*u)
	b := w.holders("012", 1, 0)[0]
	a0, a1, b0 := w.held("017", m[0].c.SHEBA), w.held("017", m[1].c.SHEBA), w.held("012", b.c.SHEBA)

	tr := w.transfer("054", cardReq(m[0], m[1].card, 3*u, "on-us-1"), "succeeded", "approved")
	if tr.Route != "on_us" || tr.FeeRial != cardFee || tr.SourceBank != "017" || tr.DestinationBank != "017" || len(tr.RRN) != 12 {
		t.Errorf("on-us transfer: %+v", tr)
	}
	if got, want := [2]int64{w.held("017", m[0].c.SHEBA), w.held("017", m[1].c.SHEBA)}, [2]int64{a0 - 3*u - cardFee, a1 + 3*u}; got != want {
		t.Errorf("on-us balances = %v, want %v", got, want)
	}
	w.audit()

	tr = w.transfer("017", cardReq(m[0], b.card, 5*u, "inter-1"), "succeeded", "approved")
	if tr.Route != "interbank" || tr.FeeRial != cardFee || tr.DestinationBank != "012" || tr.Window == "" || tr.DestinationName != b.c.Name {
		t.Errorf("interbank transfer: %+v", tr)
	}
	if got, want := [2]int64{w.held("017", m[0].c.SHEBA), w.held("012", b.c.SHEBA)}, [2]int64{a0 - 8*u - 2*cardFee, b0 + 5*u}; got != want {
		t.Errorf("interbank balances = %v, want %v", got, want)
	}
	if got := w.cardPositions(); got["017"] != 5*u || got["012"] != -5*u {
		t.Errorf("card positions = %v, want 017 +5M, 012 -5M", got)
	}
	w.audit()

	// The inquiry shows the destination's holder; a repeat of the reference answers the original.
	var in api.ShahabInquiry
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/inquiries", w.bank("017"), api.ShahabInquiryRequest{DestinationPAN: b.card.PAN}, &in)
	if in.Name != b.c.Name || in.Bank != "012" {
		t.Errorf("inquiry = %+v, want %s at 012", in, b.c.Name)
	}
	var again api.ShahabTransfer
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(m[0], b.card, 5*u, "inter-1"), &again)
	if again.ID != tr.ID || again.Status != "succeeded" {
		t.Errorf("repeat = %+v, want the original %s", again, tr.ID)
	}
	w.must(http.StatusConflict, http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(m[0], b.card, 6*u, "inter-1"), nil)

	// The window settles: the nets move the settlement accounts, the positions are back to zero.
	s017, s012 := w.balance("017"), w.balance("012")
	var win api.ShahabWindow
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/shahab/windows/settle", w.operator(), nil, &win)
	if win.ID != tr.Window || win.Status != "settled" || len(win.Obligations) != 1 || win.Obligations[0].AmountRial != 5*u || win.Transfers != 1 {
		t.Errorf("window = %+v, want %s settled with 017→012 5M", win, tr.Window)
	}
	if got, want := [2]int64{w.balance("017"), w.balance("012")}, [2]int64{s017 - 5*u, s012 + 5*u}; got != want {
		t.Errorf("settlement balances = %v, want %v", got, want)
	}
	if got := w.cardPositions(); len(got) != 0 {
		t.Errorf("card positions after the window = %v, want none", got)
	}
}

// TestShahabRefunds: a destination bank offline, a blocked destination card, a failing bank: each refunded
// in full at once, no fee, the source balance as before.
func TestShahabRefunds(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	a0 := w.held("017", a.c.SHEBA)

	w.simulate("012", api.Simulation{Online: false})
	tr := w.transfer("017", cardReq(a, b.card, 2*u, "offline"), "refunded", "destination_unavailable")
	if tr.FeeRial != 0 {
		t.Errorf("refunded transfer charged %d", tr.FeeRial)
	}
	w.simulate("012", api.Simulation{Online: true})
	w.transfer("017", cardReq(a, w.magicCard("012", "card_blocked"), 2*u, "blocked"), "refunded", "destination_card_blocked")
	w.transfer("017", cardReq(a, w.magicCard("012", "card_lost"), 2*u, "lost"), "refunded", "destination_card_lost")
	w.transfer("017", cardReq(a, w.magicCard("012", "card_unknown"), 2*u, "unknown"), "refunded", "destination_card_not_found")
	w.simulate("012", api.Simulation{Online: true, FailureRate: 1})
	w.transfer("017", cardReq(a, b.card, 2*u, "failing"), "refunded", "destination_failed")
	if got := w.held("017", a.c.SHEBA); got != a0 {
		t.Errorf("source balance = %d, want %d: every refund in full", got, a0)
	}
	if got := w.cardPositions(); len(got) != 0 {
		t.Errorf("card positions = %v, want none", got)
	}
	w.audit()
}

// TestShahabTimeoutThenLateSuccess: the destination answers after the deadline: the transfer is refunded at
// the deadline; the late credit is reversed at the destination (one net effect) and listed for reconciliation.
func TestShahabTimeoutThenLateSuccess(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	a0, b0 := w.held("017", a.c.SHEBA), w.held("012", b.c.SHEBA)
	w.simulate("012", api.Simulation{Online: true, LatencyMS: 20_000}) // the deadline is 15 s

	var tr api.ShahabTransfer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, b.card, 4*u, "slow"))
		if st != http.StatusCreated {
			t.Errorf("slow transfer: %d %s", st, body)
			return
		}
		tr = decode[api.ShahabTransfer](t, body)
	}()
	w.waitPending(t, "017")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "16s"}, nil)
	wg.Wait()
	if tr.Status != "refunded" || tr.Code != "destination_timeout" || tr.FeeRial != 0 {
		t.Fatalf("slow transfer = %+v, want refunded destination_timeout", tr)
	}
	if got := w.held("017", a.c.SHEBA); got != a0 {
		t.Errorf("source after the refund = %d, want %d", got, a0)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "10s"}, nil)
	var rec api.ShahabReconciliation
	for range 100 { // the late credit is the batcher's next decision after the clock's move
		w.must(http.StatusOK, http.MethodGet, "/v1/operator/shahab/reconciliation", w.operator(), nil, &rec)
		if len(rec.Cases) > 0 {
			break
		}
		sleepBriefly()
	}
	if len(rec.Cases) != 1 || rec.Cases[0].ID != tr.ID || rec.Cases[0].Late == nil || rec.Cases[0].Late.Action != "reversed" || rec.Cases[0].Status != "refunded" {
		t.Fatalf("reconciliation = %+v, want the slow transfer reversed", rec.Cases)
	}
	if got, want := [2]int64{w.held("017", a.c.SHEBA), w.held("012", b.c.SHEBA)}, [2]int64{a0, b0}; got != want {
		t.Errorf("balances after the late credit = %v, want %v (one net effect: the refund)", got, want)
	}
	if got := w.cardPositions(); len(got) != 0 {
		t.Errorf("card positions = %v, want none", got)
	}
	w.audit()
}

// waitPending waits until bank has a pending transfer.
func (w *world) waitPending(t *testing.T, bank string) {
	t.Helper()
	for range 500 {
		var p api.ShahabTransferPage
		w.must(http.StatusOK, http.MethodGet, "/v1/shahab/transfers?status=pending", w.bank(bank), nil, &p)
		if len(p.Transfers) > 0 {
			return
		}
		sleepBriefly()
	}
	t.Fatal("no transfer became pending")
}

// TestShahabDailyLimitAndAuthentication: the seed's 150,000,000 rial per card per Tehran day, across every
// submitting bank, reset at midnight; a wrong CVV2 rejected; three wrong second PINs block the card.
func TestShahabDailyLimitAndAuthentication(t *testing.T) {
	w := boot(t, "1404/02/01 22:00")
	rich := w.holders("017", 2, 320*u)
	a, c := rich[0], rich[1]
	b := w.holders("012", 1, 0)[0]
	w.transfer("017", cardReq(a, b.card, 100*u, "limit-1"), "succeeded", "approved")
	w.transfer("054", cardReq(a, b.card, 50*u, "limit-2"), "succeeded", "approved") // exactly the limit, another channel
	w.transfer("017", cardReq(a, b.card, 1, "limit-3"), "rejected", "daily_limit_exceeded")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/02/02 00:00"}, nil)
	w.transfer("017", cardReq(a, b.card, 150*u, "limit-4"), "succeeded", "approved")
	w.audit()

	bad := cardReq(c, b.card, u, "cvv2")
	bad.CVV2 = fmt.Sprintf("%03d", (atoi(c.card.CVV2)+1)%1000)
	w.transfer("017", bad, "rejected", "cvv2_wrong")
	for i, want := range []string{"pin2_wrong", "pin2_wrong", "pin2_tries_exceeded"} {
		bad := cardReq(c, b.card, u, fmt.Sprintf("pin-%d", i))
		bad.PIN2 = "99999"
		if bad.PIN2 == c.card.PIN2 {
			bad.PIN2 = "88888"
		}
		w.transfer("017", bad, "rejected", want)
	}
	w.transfer("017", cardReq(c, b.card, u, "pin-right"), "rejected", "card_blocked")
	w.restart(func(c *server.Config) { c.Start = time.Time{} }) // where the clock stood
	w.transfer("017", cardReq(c, b.card, u, "pin-after-restart"), "rejected", "card_blocked")
	w.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/shahab/transfers", w.bank("017"),
		api.ShahabTransferRequest{SourcePAN: "6037991234567890", DestinationPAN: b.card.PAN, AmountRial: u, Expiry: "0812",
			CVV2: "123", PIN2: "12345", Reference: "luhn"}, nil)
}

// TestShahabDynamicPIN2: from the 1400 profile the second PIN is a one-time code, valid once.
func TestShahabDynamicPIN2(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.Rules = "1404" })
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	w.transfer("017", cardReq(a, b.card, u, "static"), "rejected", "pin2_wrong")
	var o api.ShahabOTP
	w.must(http.StatusCreated, http.MethodPost, "/v1/shahab/otp", w.bank("017"), api.ShahabOTPRequest{SourcePAN: a.card.PAN}, &o)
	req := cardReq(a, b.card, u, "otp-1")
	req.PIN2 = o.OTP
	w.transfer("017", req, "succeeded", "approved")
	req.Reference = "otp-2"
	w.transfer("017", req, "rejected", "pin2_wrong")
	w.must(http.StatusCreated, http.MethodPost, "/v1/shahab/otp", w.bank("017"), api.ShahabOTPRequest{SourcePAN: a.card.PAN}, &o)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "121s"}, nil)
	req.Reference, req.PIN2 = "otp-expired", o.OTP
	w.transfer("017", req, "rejected", "pin2_wrong")
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// sleepBriefly waits a little real time, for work the server does in the background after an answer.
func sleepBriefly() { time.Sleep(20 * time.Millisecond) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
