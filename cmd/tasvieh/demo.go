package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/sheba"
)

// Demo figures: big enough to show the batched writer working, small enough to finish in seconds.
const (
	demoFundingRial   = 1_000_000_000_000 // each bank's opening settlement balance: 1,000 billion rial
	demoCallers       = 500
	demoTopic         = "ledger.events"
	demoEventTimeout  = 30 * time.Second
	demoTransfersMax  = 2_000_000
	demoTransfersSeed = 1404
)

func runDemo(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "demo", "demo [--transfers N] [--seed N] [--serve]")
	transfers := fs.Int("transfers", 100_000, "transfers in the ledger burst")
	seed := fs.Uint64("seed", demoTransfersSeed, "seed of the simulated traffic")
	serve := fs.Bool("serve", false, "leave the demo's server up afterwards (until Ctrl-C)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || *transfers < 1 || *transfers > demoTransfersMax {
		return usageError(env, "usage: tasvieh demo [--transfers 1..%d] [--seed N]", demoTransfersMax)
	}
	w := env.Stdout
	fmt.Fprintln(w, "tasvieh demo — what is built so far: identifiers, the bank registry, the Jalali calendar, the")
	fmt.Fprintln(w, "rulebook, the durable double-entry ledger with its outbox to Kafka, and the switch (`tasvieh serve`)")
	fmt.Fprintln(w, "with its simulated banks and its three rails, SATNA, PAYA and SHAHAB (card-to-card), over the days around")
	fmt.Fprintln(w, "Nowruz 1404 on a simulated clock; two audits recompute every balance from the stored transfers.")
	demoIdentifiers(w)
	demoCalendar(w)
	if err := demoLedger(ctx, env, *transfers, *seed); err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh demo:", err)
		return exitInvalid
	}
	if err := demoSwitch(ctx, env, *seed, *serve); err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh demo:", err)
		return exitInvalid
	}
	return exitOK
}

func section(w io.Writer, title string) { fmt.Fprintf(w, "\n== %s ==\n", title) }

func demoIdentifiers(w io.Writer) {
	reg := banks.Default()
	section(w, "1. SHEBA numbers (real published ones, then typical mistakes)")
	merged, _ := sheba.Generate("063", 0, "123456789")
	orphan, _ := sheba.Generate("296", 0, "1")
	for _, in := range []string{
		"IR820540102680020817909002",
		"ir55 0570 0220 8001 3447 3701 01",
		"IR۲۶۰۲۲۰۱۷۰۰۰۱۰۱۰۰۰۱۱۰۱۰۰۱",
		"IR820540102680020817909003",
		"IR8205401026800208179090",
		"IR82054010268002081790900#",
		merged.String(),
		orphan.String(),
	} {
		x, err := sheba.Parse(in, reg)
		if err != nil {
			var e *sheba.Error
			errors.As(err, &e)
			fmt.Fprintf(w, "  %-36q invalid  %-13s %s\n", in, e.Code, e.Message)
			continue
		}
		b, _ := reg.ByCode(x.BankCode())
		fmt.Fprintf(w, "  %-36q valid    %s — %s (%s), account %s\n", in, x, b.NameEN, b.NameFA, x.Account())
	}

	section(w, "2. Bank cards: Luhn, BIN routing, merged banks routing to their successor")
	melli, _ := card.Generate("603799", 123456789)
	ansar, _ := card.Generate("627381", 42)
	ayandeh, _ := card.Generate("636214", 7)
	bad := []byte(melli.String())
	bad[15] = '0' + (bad[15]-'0'+1)%10
	for _, in := range []string{melli.String(), ansar.String(), ayandeh.String(), string(bad), "6037 9900 0600 0000"} {
		p, bank, err := card.Parse(in, reg)
		if err != nil {
			var e *card.Error
			errors.As(err, &e)
			fmt.Fprintf(w, "  %-22s invalid  %-13s %s\n", in, e.Code, e.Message)
			continue
		}
		fmt.Fprintf(w, "  %-22s valid    BIN %s routes to %s %s\n", p.Masked(), p.BIN(), bank.Code, bank.Name)
	}
	var active, gone int
	for _, b := range reg.All() {
		if b.Active() {
			active++
		} else {
			gone++
		}
	}
	fmt.Fprintf(w, "  registry: %d banks and credit institutions, %d active (with the CBI), %d merged or dissolved\n", reg.Len(), active, gone)
}

func demoCalendar(w io.Writer) {
	section(w, "3. Calendar: business days of 1404 (Friday weekend, official holidays)")
	cal := calendar.Default()
	for _, s := range []string{"1404/01/01", "1404/01/11", "1404/03/16", "1404/04/14", "2025-07-10", "2025-07-11"} {
		d, _ := calendar.ParseDate(s)
		ok, why, err := cal.IsBusinessDay(d)
		next, _ := cal.NextBusinessDay(d)
		switch {
		case err != nil:
			fmt.Fprintf(w, "  %s: %v\n", d.Display(), err)
		case ok:
			fmt.Fprintf(w, "  %s %-9s business day\n", d.Display(), d.Weekday())
		default:
			fmt.Fprintf(w, "  %s %-9s closed (%s); next business day %s\n", d.Display(), d.Weekday(), why, next.Display())
		}
	}
	hs, _ := cal.Holidays(1404)
	fmt.Fprintf(w, "  1404 has %d official holidays; a date in 1406 is an error until its table is published:\n", len(hs))
	d, _ := calendar.ParseDate("1406/01/05")
	if _, _, err := cal.IsBusinessDay(d); err != nil {
		fmt.Fprintf(w, "  %v\n", err)
	}
}

// demoLedger opens the settlement accounts of every active bank at the CBI, funds them by recorded issuance,
// runs a burst of transfers through the batched writer, shows idempotency, an all-or-nothing chain and a
// remembered rejection, relays the events to Kafka and ends with the audit.
func demoLedger(ctx context.Context, env Env, n int, seed uint64) error {
	w := env.Stdout
	cfg := DefaultConfig(env.Getenv)
	log := cfg.logger(env.Stderr)
	section(w, "4. Ledger: PostgreSQL (private cluster unless DATABASE_URL is set)")
	const schema = "demo"
	pool, err := cfg.openDB(ctx, log, schema)
	if err != nil {
		return err
	}
	defer pool.Close()
	// A fresh world each run, so the demo replays.
	if err := postgres.DropSchema(ctx, pool, schema); err != nil {
		return err
	}
	pool.Close()
	if pool, err = cfg.openDB(ctx, log, schema); err != nil {
		return err
	}
	defer pool.Close()

	// The simulated clock stands at 1404/09/01 09:00 Tehran for the whole run: the ledger still gives every
	// transfer a strictly later timestamp, and the seeded id source counts on within the millisecond, so a
	// run's ids and times depend only on --seed and on the order its concurrent callers happen to run in.
	clk := clock.NewSimulated(calendar.Date{Year: 2025, Month: time.November, Day: 22}.At(9, 0))
	src := ids.NewSource(clk, seed)
	newID := func() ledger.ID { return ledger.ID(src.New()) }
	store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: clk, Log: log})
	if err != nil {
		return err
	}
	defer store.Close()

	reg := banks.Default()
	issuance := newID()
	accts := []ledger.Account{{ID: issuance, Ledger: ledger.LedgerCBI, Kind: ledger.KindIssuance,
		Flags: ledger.FlagNegativeAllowed, Name: "CBI issuance"}}
	var settle []ledger.ID
	var codes []string
	for _, b := range reg.All() {
		if b.Status != banks.StatusActive {
			continue
		}
		id := newID()
		settle = append(settle, id)
		codes = append(codes, b.Code)
		// No flags: the account has the floor of zero.
		accts = append(accts, ledger.Account{ID: id, Ledger: ledger.LedgerCBI, Kind: ledger.KindSettlement,
			Name: b.Code + " " + b.NameEN + " settlement", ExternalKey: "bank:" + b.Code})
	}
	res, err := store.CreateAccounts(ctx, accts)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r != ledger.AccountOK {
			return fmt.Errorf("account %s: %v", accts[i].Name, r)
		}
	}
	var funding postgres.Submission
	for i, id := range settle {
		t := ledger.Transfer{ID: newID(), DebitAccountID: issuance, CreditAccountID: id, Amount: demoFundingRial,
			Ledger: ledger.LedgerCBI, Code: 1, Reference: "opening issuance"}
		body, _ := json.Marshal(map[string]any{"bank": codes[i], "amount_rial": demoFundingRial})
		funding.Transfers = append(funding.Transfers, t)
		funding.Events = append(funding.Events, postgres.Event{Transfer: t.ID, Topic: demoTopic, Key: codes[i],
			Type: "ledger.funded", Payload: body})
	}
	if err := mustAllOK(store.Submit(ctx, funding)); err != nil {
		return fmt.Errorf("funding: %w", err)
	}
	fmt.Fprintf(w, "  opened %d settlement accounts at the CBI and issued %s rial to each (recorded issuance, with an event per bank)\n",
		len(settle), groupDigits(demoFundingRial))

	// The burst: demoCallers concurrent callers, one transfer per request, like banks' back offices would.
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	before := store.Stats()
	wall := clock.Real() // the burst's rate is measured on the wall clock; the ledger runs on the simulated one
	began := wall.Now()
	for c := 0; c < demoCallers; c++ {
		wg.Add(1)
		go func(c uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, c))
			for next.Add(1) <= int64(n) {
				i, j := rng.IntN(len(settle)), rng.IntN(len(settle)-1)
				if j >= i {
					j++
				}
				t := ledger.Transfer{ID: newID(), DebitAccountID: settle[i], CreditAccountID: settle[j],
					Amount: int64(1+rng.IntN(1_000_000)) * 1_000, Ledger: ledger.LedgerCBI, Code: 2}
				if err := mustAllOK(store.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{t}})); err != nil {
					failed.Add(1)
				}
			}
		}(uint64(c))
	}
	wg.Wait()
	took := wall.Now().Sub(began)
	st := store.Stats()
	batches := max(st.Batches-before.Batches, 1)
	fmt.Fprintf(w, "  burst: %d interbank transfers from %d concurrent callers in %s — %.0f durable transfers/s, %d per batch on average (failed %d)\n",
		n, demoCallers, took.Round(time.Millisecond), float64(n)/took.Seconds(), (st.Transfers-before.Transfers)/batches, failed.Load())

	// Idempotency, all-or-nothing, and a rejection that stays a rejection.
	submit := func(ts ...ledger.Transfer) ([]ledger.Result, error) {
		return store.Submit(ctx, postgres.Submission{Transfers: ts})
	}
	t := ledger.Transfer{ID: newID(), DebitAccountID: settle[0], CreditAccountID: settle[1], Amount: 5_000_000, Ledger: ledger.LedgerCBI, Code: 2}
	r1, err := submit(t)
	if err != nil {
		return err
	}
	r2, err := submit(t)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  the same transfer sent twice: %v, then %v — applied once\n", r1[0], r2[0])
	// The payer's balance as the writer sees it, read inside the writer so nothing moves under it.
	var payer ledger.Account
	if err := store.Decide(ctx, func(d *postgres.Decision) { payer, _ = d.Account(settle[2]) }); err != nil {
		return err
	}
	chain := []ledger.Transfer{
		{ID: newID(), DebitAccountID: settle[1], CreditAccountID: settle[2], Amount: 1_000, Ledger: ledger.LedgerCBI, Code: 2, Flags: ledger.FlagLinked},
		{ID: newID(), DebitAccountID: settle[2], CreditAccountID: settle[3], Amount: payer.Available() + 1_000_000, Ledger: ledger.LedgerCBI, Code: 2},
	}
	rc, err := submit(chain...)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  a linked pair whose second leg overdraws: %v, %v — neither applied\n", rc[0], rc[1])
	// Fund the payer so the pair would fit now, then send the very same pair again.
	topUp := ledger.Transfer{ID: newID(), DebitAccountID: issuance, CreditAccountID: settle[2], Amount: 2_000_000,
		Ledger: ledger.LedgerCBI, Code: 1, Reference: "top-up"}
	if err := mustAllOK(submit(topUp)); err != nil {
		return fmt.Errorf("top-up: %w", err)
	}
	rr, err := submit(chain...)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  the same pair again once its payer could cover it: %v, %v — a rejected id keeps its answer\n", rr[0], rr[1])

	// Kafka: relay the outbox to the embedded broker (or KAFKA_BROKERS) and read it back with a consumer group.
	section(w, "5. Outbox → Kafka → consumer group")
	cluster, err := kafka.Start(ctx, kafka.Config{Brokers: cfg.KafkaBrokers, Topics: []string{demoTopic}, Partitions: 8}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer cluster.Close()
	ob := postgres.NewOutbox(pool)
	relay, err := kafka.NewRelay(ob, cluster.NewPublisher(), kafka.RelayConfig{Now: clk.Now}, log)
	if err != nil {
		return err
	}
	relayed := 0
	for {
		k, err := relay.RunOnce(ctx)
		if err != nil {
			return err
		}
		if k == 0 {
			break
		}
		relayed += k
	}
	var seen atomic.Int64
	cctx, cancel := context.WithTimeout(ctx, demoEventTimeout)
	defer cancel()
	go func() {
		_ = cluster.Consume(cctx, "demo-auditor", demoTopic, func(ctx context.Context, ev outbox.Event) error {
			if seen.Add(1) == int64(relayed) {
				cancel()
			}
			return nil
		})
	}()
	<-cctx.Done()
	where := "the embedded broker"
	if !cluster.Embedded() {
		where = fmt.Sprint(cluster.Brokers())
	}
	fmt.Fprintf(w, "  relayed %d events to %s; consumer group read back %d\n", relayed, where, seen.Load())

	section(w, "6. Audit: every balance recomputed from the stored transfers")
	rep, err := postgres.Audit(ctx, pool)
	if err != nil {
		return err
	}
	for _, line := range splitLines(rep.String()) {
		fmt.Fprintln(w, "  "+line)
	}
	if !rep.Clean() {
		return errors.New("audit failed")
	}
	return nil
}

func mustAllOK(res []ledger.Result, err error) error {
	if err != nil {
		return err
	}
	for i, r := range res {
		if r != ledger.OK {
			return fmt.Errorf("transfer %d: %v", i, r)
		}
	}
	return nil
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	out := ""
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(c)
	}
	return out
}

func splitLines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }
