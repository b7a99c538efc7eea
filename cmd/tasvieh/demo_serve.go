package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/postgres"
)

// demoServeSchema is the demo switch's schema, dropped at the start of each run so the demo replays.
const demoServeSchema = "demo_serve"

// demoSwitch starts `tasvieh serve` in this process on the simulated clock just before Nowruz 1404, and walks
// through it over HTTP as a member bank and the operator would: the directory, the magic values, an advance
// over the holidays firing day open and close in order, a liquidity injection, the bank's events, the audit.
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

	var adv api.AdvanceResult
	if err := op.call(ctx, http.MethodPost, "/v1/operator/clock/advance", api.AdvanceRequest{To: "1404/01/07 00:00"}, &adv); err != nil {
		return err
	}
	fmt.Fprintln(w, "  POST /v1/operator/clock/advance to 1404/01/07 00:00 — over 29 Esfand and Nowruz (1–4 Farvardin) and a Friday:")
	expiries := 0
	for _, r := range adv.Fired {
		if r.Job == "ledger.expiry" {
			expiries++
			continue
		}
		d := calendar.DateOf(r.Scheduled.In(calendar.Tehran))
		fmt.Fprintf(w, "    %-10s %s %-9s (%s)  %s\n", r.Job, r.Jalali, d.Weekday(), d, r.Outcome)
	}
	fmt.Fprintf(w, "    … and %d hourly ledger.expiry runs; no day opened on a holiday or a Friday\n", expiries)

	var liq api.Liquidity
	if err := op.call(ctx, http.MethodPost, "/v1/operator/liquidity", api.LiquidityRequest{BankCode: "017", AmountRial: 50_000_000_000, Reference: "demo-injection"}, &liq); err != nil {
		return err
	}
	fmt.Fprintf(w, "  POST /v1/operator/liquidity 50,000,000,000 rial to 017 → %s; settlement balance %s rial\n", liq.Status, groupDigits(liq.BalanceRial))
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
	fmt.Fprintln(w, "\nNext: `tasvieh serve` runs the switch for you (`tasvieh demo --serve` leaves this one up); `make test` runs\nthe whole suite; `tasvieh bench ledger|restore|api` measure the writer, its start-up and the API.")
	return nil
}
