package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// demoServeSchema is the demo switch's schema, dropped at the start of each run so the demo replays.
const demoServeSchema = "demo_serve"

// demoSwitch starts `tasvieh serve` in this process on the simulated clock just before Nowruz 1404, and walks
// through it over HTTP as a member bank and the operator would: the directory, the magic values, an advance
// over the holidays firing day open and close in order, a liquidity injection, PAYA (demoPAYA), SHAHAB
// (demoSHAHAB), the bank's events, the audit.
func demoSwitch(ctx context.Context, env Env, seed uint64, keep bool) error {
	w := env.Stdout
	cfg := DefaultConfig(env.Getenv)
	log := cfg.logger(env.Stderr)
	section(w, "7. The switch: `tasvieh serve` on the simulated clock, driven over HTTP")
	pool, err := cfg.openDB(ctx, log, demoServeSchema)
	if err != nil {
		return err
	}
	if err := postgres.DropSchema(ctx, pool, demoServeSchema); err != nil {
		pool.Close()
		return err
	}
	pool.Close()
	cfg.Schema = demoServeSchema
	f := serveFlags{addr: "127.0.0.1:0", clockMode: "simulated", start: "1403/12/27 10:00", rules: "seed", seed: seed,
		funding: 1_000_000_000_000, customers: 200}
	if keep {
		f.addr = "127.0.0.1:8080" // and the usual home, so `tasvieh op` finds it
	} else {
		f.home = filepath.Join(cfg.Home, "demo") // its keys.json and serve.json stay out of a real server's way
	}
	srv, err := startServer(ctx, cfg, &f, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(w, "  "+srv.Banner())
	op := &opClient{base: srv.URL(), key: srv.Keys().Operator, http: &http.Client{Timeout: opTimeout}}
	bank := &opClient{base: srv.URL(), key: srv.Keys().Banks["017"], http: op.http}

	var me api.Me
	if err := bank.call(ctx, http.MethodGet, "/v1/me", nil, &me); err != nil {
		return err
	}
	fmt.Fprintf(w, "  a bank's key: GET /v1/me → %s %s %s; keys.json holds one per member bank and the operator's\n", me.Role, me.BankCode, me.BankName)
	var page api.CustomerPage
	if err := op.call(ctx, http.MethodGet, "/v1/directory/customers?bank=017&limit=4", nil, &page); err != nil {
		return err
	}
	fmt.Fprintln(w, "  GET /v1/directory/customers?bank=017 (the operator sees balances; card secrets are test data):")
	for _, c := range page.Customers {
		fmt.Fprintf(w, "    %s  %-7s %22s rial  %s\n", c.SHEBA, c.Status, groupDigits(*c.BalanceRial), c.Name)
		for _, k := range c.Cards {
			fmt.Fprintf(w, "        card %s  expiry %s  cvv2 %s  pin2 %s\n", k.PAN, k.Expiry, k.CVV2, k.PIN2)
		}
	}
	var magic struct {
		Magic []api.MagicValue `json:"magic"`
	}
	if err := bank.call(ctx, http.MethodGet, "/v1/directory/magic?bank=017", nil, &magic); err != nil {
		return err
	}
	fmt.Fprintln(w, "  GET /v1/directory/magic?bank=017 — values that fail on purpose, in every simulated bank:")
	for _, m := range magic.Magic {
		fmt.Fprintf(w, "    %-20s %-26s %s\n", m.Name, m.Value, m.Effect)
	}

	warehoused, err := demoSATNA(ctx, w, srv, op)
	if err != nil {
		return err
	}

	var adv api.AdvanceResult
	if err := op.call(ctx, http.MethodPost, "/v1/operator/clock/advance", api.AdvanceRequest{To: "1404/01/07 00:00"}, &adv); err != nil {
		return err
	}
	fmt.Fprintln(w, "  POST /v1/operator/clock/advance to 1404/01/07 00:00 — over 29 Esfand and Nowruz (1–4 Farvardin) and a Friday:")
	expiries, cycles := 0, 0
	for _, r := range adv.Fired {
		if r.Job == "ledger.expiry" {
			expiries++
			continue
		}
		if strings.HasPrefix(r.Job, server.JobPAYACycle) {
			cycles++
			continue
		}
		d := calendar.DateOf(r.Scheduled.In(calendar.Tehran))
		fmt.Fprintf(w, "    %-10s %s %-9s (%s)  %s\n", r.Job, r.Jalali, d.Weekday(), d, r.Outcome)
	}
	fmt.Fprintf(w, "    … and %d hourly ledger.expiry runs and %d PAYA cycle jobs (empty cycles; on a holiday or a Friday a job does nothing); no day opened on a holiday or a Friday\n", expiries, cycles)
	var wo api.SATNAOrder
	if err := (&opClient{base: srv.URL(), key: srv.Keys().Banks["017"], http: op.http}).call(ctx, http.MethodGet, "/v1/satna/orders/"+warehoused, nil, &wo); err != nil {
		return err
	}
	fmt.Fprintf(w, "  the SATNA order dated 1404/01/05 is now %s, at %s (the day's opening)\n", wo.Status, wo.SettledAt.Format("2006-01-02 15:04 -07:00"))

	var liq api.Liquidity
	if err := op.call(ctx, http.MethodPost, "/v1/operator/liquidity", api.LiquidityRequest{BankCode: "017", AmountRial: 50_000_000_000, Reference: "demo-injection"}, &liq); err != nil {
		return err
	}
	fmt.Fprintf(w, "  POST /v1/operator/liquidity 50,000,000,000 rial to 017 → %s; settlement balance %s rial\n", liq.Status, groupDigits(liq.BalanceRial))
	if err := demoPAYA(ctx, w, srv, op); err != nil {
		return err
	}
	section(w, "8. SHAHAB: card-to-card transfers through the card switch")
	if err := demoSHAHAB(ctx, w, srv, op); err != nil {
		return err
	}
	section(w, "9. The switch at the end of the run: a bank's account and events, access, the audit")
	var acct api.SettlementAccount
	if err := bank.call(ctx, http.MethodGet, "/v1/settlement-account", nil, &acct); err != nil {
		return err
	}
	fmt.Fprintf(w, "  017's GET /v1/settlement-account: balance %s, available %s, %d transfers\n", groupDigits(acct.BalanceRial), groupDigits(acct.AvailableRial), len(acct.Transfers))
	var feed api.EventPage
	if err := bank.call(ctx, http.MethodGet, "/v1/events?limit=1000", nil, &feed); err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, e := range feed.Events {
		kinds[e.Type]++
	}
	fmt.Fprintf(w, "  017's GET /v1/events: %d events %v\n", len(feed.Events), kinds)
	var e1, e2 *api.Error
	errors.As(bank.call(ctx, http.MethodGet, "/v1/settlement-account?bank=012", nil, nil), &e1)
	errors.As(bank.call(ctx, http.MethodPost, "/v1/operator/liquidity", api.LiquidityRequest{BankCode: "017", AmountRial: 1, Reference: "x"}, nil), &e2)
	if e1 == nil || e2 == nil {
		return errors.New("a bank read another bank's account or used an operator route")
	}
	fmt.Fprintf(w, "  017 asking for 012's settlement account → %d %s; 017 on an operator route → %d %s\n", e1.GetStatus(), e1.Code, e2.GetStatus(), e2.Code)

	rep, err := postgres.Audit(ctx, srv.Pool())
	if err != nil {
		return err
	}
	lines := splitLines(rep.String())
	fmt.Fprintf(w, "  audit of the switch (%d ledgers: the CBI's and one book per simulated bank; mirrors against settlement\n  accounts; clearing accounts against their rails' nets):\n", len(lines)-2)
	fmt.Fprintln(w, "    "+lines[0])
	fmt.Fprintln(w, "    "+lines[1])
	fmt.Fprintln(w, "    …")
	fmt.Fprintln(w, "    "+lines[len(lines)-1])
	if !rep.Clean() {
		return errors.New("audit of the switch failed")
	}
	if keep {
		fmt.Fprintf(w, "\n  The switch stays up at %s (docs at %s/docs); `tasvieh op clock` talks to it. Ctrl-C stops it.\n", srv.URL(), srv.URL())
		<-ctx.Done()
		return nil
	}
	fmt.Fprintln(w, "\nNext: `tasvieh serve` runs the switch for you (`tasvieh demo --serve` leaves this one up); `make test` runs\nthe whole suite; `tasvieh satna --bank 017 list`, `tasvieh paya --bank 017 cycles` and\n`tasvieh shahab --bank 017 list` ask the switch as a bank; `tasvieh bench ledger|restore|api|rtgs|paya|shahab`\nmeasure the writer, its start-up, the API, SATNA, PAYA and SHAHAB.")
	return nil
}

// demoSATNA shows SATNA's first part on the demo's switch, at 1403/12/27 10:00 Tehran: orders settling at
// once, one dated for after Nowruz waiting in the warehouse, one queued for liquidity and freed by an incoming
// payment, a three-bank gridlock cleared by offsetting, and a return to a blocked payee less the fee. It
// answers the warehoused order's id, to show it settle after the clock's advance.
func demoSATNA(ctx context.Context, w io.Writer, srv *server.Server, op *opClient) (string, error) {
	bank := func(code string) *opClient {
		return &opClient{base: srv.URL(), key: srv.Keys().Banks[code], http: op.http}
	}
	customer := func(code string, magic string) (string, error) {
		var pg api.CustomerPage
		if err := op.call(ctx, http.MethodGet, "/v1/directory/customers?limit=1000&bank="+code, nil, &pg); err != nil {
			return "", err
		}
		for _, c := range pg.Customers {
			if c.Magic == magic && c.Status != "closed" && (magic != "" || c.Status == "active" && *c.BalanceRial >= 10_000_000_000) {
				return c.SHEBA, nil
			}
		}
		return "", fmt.Errorf("no customer of %s with magic %q", code, magic)
	}
	submit := func(code string, req api.SATNAOrderRequest) (api.SATNAOrder, error) {
		var o api.SATNAOrder
		err := bank(code).call(ctx, http.MethodPost, "/v1/satna/orders", req, &o)
		return o, err
	}
	show := func(what string, o api.SATNAOrder) {
		extra := ""
		if o.SettleAfter != nil {
			extra = " until " + o.SettleAfter.Format("2006-01-02 15:04")
		}
		if o.ReturnedBy != "" {
			extra = " (" + o.Reason + "), by return order " + o.ReturnedBy[:8] + "…"
		}
		fmt.Fprintf(w, "    %-44s %s → %s %16s rial  %s%s\n", what, o.SenderBank, o.ReceiverBank, groupDigits(o.AmountRial), o.Status, extra)
	}
	fmt.Fprintln(w, "  SATNA, at 1403/12/27 10:00 (Monday, a business day; customer orders until 14:30):")
	payer, err := customer("017", "")
	if err != nil {
		return "", err
	}
	payee, err := customer("012", "")
	if err != nil {
		return "", err
	}
	o, err := submit("017", api.SATNAOrderRequest{Type: "customer", PayerSHEBA: payer, PayerName: "payer", PayeeSHEBA: payee,
		PayeeName: "payee", AmountRial: 2_500_000_000, Reference: "demo-1"})
	if err != nil {
		return "", err
	}
	show("a customer order, gross and at once:", o)
	dated, err := submit("017", api.SATNAOrderRequest{Type: "customer", PayerSHEBA: payer, PayerName: "payer", PayeeSHEBA: payee,
		PayeeName: "payee", AmountRial: 300_000_000, Reference: "demo-2", EffectiveDate: "1404/01/05"})
	if err != nil {
		return "", err
	}
	show("one dated 1404/01/05, after Nowruz:", dated)
	// 054 at zero: its order queues until an incoming payment funds it.
	if err := op.call(ctx, http.MethodPost, "/v1/operator/liquidity", api.LiquidityRequest{BankCode: "054", AmountRial: -1_000_000_000_000, Reference: "demo-drain-054"}, &api.Liquidity{}); err != nil {
		return "", err
	}
	q, err := submit("054", api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "017", AmountRial: 4_000_000_000, Reference: "demo-3"})
	if err != nil {
		return "", err
	}
	show("054, drained to zero, sends 4 billion:", q)
	in, err := submit("012", api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "054", AmountRial: 5_000_000_000, Reference: "demo-4"})
	if err != nil {
		return "", err
	}
	show("012 pays 054 5 billion:", in)
	if err := bank("054").call(ctx, http.MethodGet, "/v1/satna/orders/"+q.ID, nil, &q); err != nil {
		return "", err
	}
	show("…which frees 054's queued order:", q)
	// Three banks at zero, each owing the next: no one can pay alone; offsetting settles the cycle.
	ring := []string{"055", "056", "057"}
	for _, c := range ring {
		if err := op.call(ctx, http.MethodPost, "/v1/operator/liquidity", api.LiquidityRequest{BankCode: c, AmountRial: -1_000_000_000_000, Reference: "demo-drain-" + c}, &api.Liquidity{}); err != nil {
			return "", err
		}
	}
	var cycle []api.SATNAOrder
	for i, c := range ring {
		o, err := submit(c, api.SATNAOrderRequest{Type: "interbank", ReceiverBank: ring[(i+1)%3], AmountRial: 3_000_000_000, Reference: "demo-ring-" + c})
		if err != nil {
			return "", err
		}
		show(fmt.Sprintf("gridlock at zero balances, order %d of 3:", i+1), o)
		cycle = append(cycle, o)
	}
	for i := range cycle {
		if err := bank(ring[i]).call(ctx, http.MethodGet, "/v1/satna/orders/"+cycle[i].ID, nil, &cycle[i]); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(w, "    the third closes the ring; offsetting settles all three as one netted chain (every net is zero): %s, %s, %s\n",
		cycle[0].Status, cycle[1].Status, cycle[2].Status)
	blocked, err := customer("012", "account_blocked")
	if err != nil {
		return "", err
	}
	r, err := submit("017", api.SATNAOrderRequest{Type: "customer", PayerSHEBA: payer, PayerName: "payer", PayeeSHEBA: blocked,
		PayeeName: "blocked payee", AmountRial: 200_000_000, Reference: "demo-5"})
	if err != nil {
		return "", err
	}
	show("to 012's blocked account (a magic value):", r)
	var ret api.SATNAOrder
	if err := bank("017").call(ctx, http.MethodGet, "/v1/satna/orders/"+r.ReturnedBy, nil, &ret); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "    the return: %s rial back to the payer, %s rial return fee kept by 012\n", groupDigits(ret.AmountRial), groupDigits(ret.FeeRial))
	return dated.ID, nil
}
