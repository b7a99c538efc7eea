package crashtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
)

const (
	topic    = "ledger.crash"
	banks    = 6
	funding  = 1_000_000_000
	callers  = 16 // concurrent submitters in the child
	killsMin = 3  // the short form, in make test
	killsMax = 12 // the long form
	// retriesMax bounds how often the child submits a pair again after ErrOutcomeUnknown or ErrNotApplied to
	// learn its fate; the writer recovers within a few backoffs, so ten tries means the database is gone.
	retriesMax = 10
)

// wall is the real clock, through the injected interface: the store, the ids and the test's own timing use it.
var wall = clock.Real()

// TestMain turns the test binary into the child when asked: the same code, killed for real.
func TestMain(m *testing.M) {
	if os.Getenv("TASVIEH_CRASH_CHILD") != "" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type payload struct {
	Pair string `json:"pair"`
}

// child restores the store, runs the outbox relay to the parent's broker and submits linked pairs of transfers,
// each pair with one event, printing every acknowledged pair; it runs until it is killed. A pair is
// acknowledged only when the store answers it with results: applied now (ok, ok) or, when asked again with
// the same ids after ErrOutcomeUnknown or ErrNotApplied, applied before (exists, exists). Neither error is ever
// taken for an acknowledgement.
func child() error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), os.Getenv("TASVIEH_SCHEMA"))
	if err != nil {
		return err
	}
	store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall, Log: log})
	if err != nil {
		return err
	}
	src := ids.NewRandomSource(wall)
	var accounts []ledger.ID
	rows, _ := pool.Query(ctx, "SELECT id FROM accounts WHERE kind = $1 ORDER BY name", int16(ledger.KindSettlement))
	var id uuid.UUID
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { accounts = append(accounts, ledger.ID(id)); return nil }); err != nil {
		return err
	}
	cluster, err := kafka.Start(ctx, kafka.Config{Brokers: strings.Split(os.Getenv("KAFKA_BROKERS"), ","), Topics: []string{topic}, Partitions: 4}, log)
	if err != nil {
		return err
	}
	relay, err := kafka.NewRelay(postgres.NewOutbox(pool), cluster.NewPublisher(), kafka.RelayConfig{PollInterval: 10 * time.Millisecond}, log)
	if err != nil {
		return err
	}
	go func() {
		if err := relay.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
		}
	}()
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	fmt.Fprintln(out, "ready")
	out.Flush()
	prefix := uuid.NewString()[:8]
	var n atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(wall.Now().UnixNano())))
			for {
				pair := fmt.Sprintf("pair-%s-%d", prefix, n.Add(1))
				a, b, c := rng.IntN(banks), rng.IntN(banks), rng.IntN(banks)
				if a == b || b == c {
					continue
				}
				first := ledger.Transfer{ID: src.New(), DebitAccountID: accounts[a], CreditAccountID: accounts[b],
					Amount: int64(1 + rng.IntN(1000)), Ledger: ledger.LedgerCBI, Code: 2, Flags: ledger.FlagLinked, Reference: pair}
				second := ledger.Transfer{ID: src.New(), DebitAccountID: accounts[b], CreditAccountID: accounts[c],
					Amount: int64(1 + rng.IntN(1000)), Ledger: ledger.LedgerCBI, Code: 2, Reference: pair}
				body, _ := json.Marshal(payload{Pair: pair})
				sub := postgres.Submission{Transfers: []ledger.Transfer{first, second},
					Events: []postgres.Event{{Transfer: first.ID, Topic: topic, Key: fmt.Sprintf("%03d", a), Type: "crash.pair", Payload: body}}}
				stored, err := submitPair(ctx, store, sub)
				if err != nil {
					fmt.Fprintln(os.Stderr, "submit:", err)
					return
				}
				if stored {
					relay.Notify()
					mu.Lock()
					fmt.Fprintf(out, "ack %s %s %s\n", first.ID, second.ID, pair)
					out.Flush()
					mu.Unlock()
				}
			}
		}(uint64(c))
	}
	wg.Wait()
	return nil
}

// submitPair submits a linked pair and reports whether it is stored. After ErrOutcomeUnknown (it may or may
// not be applied) or ErrNotApplied it asks again with the same ids, which is how a caller learns the fate of
// a request whose answer was lost: then (exists, exists) means it was applied the first time. Any other error
// is returned, and the pair is not acknowledged.
func submitPair(ctx context.Context, store *postgres.Store, sub postgres.Submission) (bool, error) {
	for attempt := 1; ; attempt++ {
		res, err := store.Submit(ctx, sub)
		switch {
		case err == nil:
			applied := func(r ledger.Result) bool { return r == ledger.OK || (attempt > 1 && r == ledger.Exists) }
			return applied(res[0]) && applied(res[1]), nil
		case (errors.Is(err, postgres.ErrOutcomeUnknown) || errors.Is(err, postgres.ErrNotApplied)) && attempt < retriesMax:
			fmt.Fprintf(os.Stderr, "submit: %v: asking again with the same ids (attempt %d)\n", err, attempt)
		default:
			return false, err
		}
	}
}

func TestCrashKillsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts child processes")
	}
	kills := killsMin
	if os.Getenv("TASVIEH_CRASH_LONG") != "" {
		kills = killsMax
	}
	seed := uint64(wall.Now().UnixNano())
	t.Logf("seed %d, %d kills", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	pool, schema := pgtest.Schema(t)

	// The world: an issuance account and funded banks.
	store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall})
	if err != nil {
		t.Fatal(err)
	}
	src := ids.NewRandomSource(wall)
	issuance := ledger.ID(src.New())
	accts := []ledger.Account{{ID: issuance, Ledger: ledger.LedgerCBI, Kind: ledger.KindIssuance,
		Flags: ledger.FlagNegativeAllowed, Name: "issuance"}}
	var fund []ledger.Transfer
	for i := 0; i < banks; i++ {
		id := ledger.ID(src.New())
		accts = append(accts, ledger.Account{ID: id, Ledger: ledger.LedgerCBI, Kind: ledger.KindSettlement,
			Name: fmt.Sprintf("bank %d", i)}) // no flags: the floor of zero
		fund = append(fund, ledger.Transfer{ID: src.New(), DebitAccountID: issuance, CreditAccountID: id,
			Amount: funding, Ledger: ledger.LedgerCBI, Code: 1})
	}
	ares, err := store.CreateAccounts(ctx, accts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ares {
		if r != ledger.AccountOK {
			t.Fatalf("account %s: %v", accts[i].Name, r)
		}
	}
	fres, err := store.Submit(ctx, postgres.Submission{Transfers: fund})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range fres {
		if r != ledger.OK {
			t.Fatalf("funding %d: %v", i, r)
		}
	}
	store.Close()

	// The broker lives in the parent and outlives every child, as a real cluster would.
	log := slog.New(slog.DiscardHandler)
	cluster, err := kafka.Start(ctx, kafka.Config{Topics: []string{topic}, Partitions: 4, SessionTimeout: time.Second,
		HeartbeatInterval: 100 * time.Millisecond, FetchWait: 50 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	// A consumer group applies each event effectively once: inbox row and effect in one transaction.
	if _, err := pool.Exec(ctx, "CREATE TABLE crash_effects (pair text PRIMARY KEY, applied int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	var deliveries atomic.Int64
	cctx, stopConsumer := context.WithCancel(ctx)
	consumerDone := make(chan error, 1)
	go func() {
		consumerDone <- cluster.Consume(cctx, "crash-auditor", topic, func(ctx context.Context, ev outbox.Event) error {
			deliveries.Add(1)
			var p payload
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				return err
			}
			_, err := postgres.ApplyOnce(ctx, pool, "crash-auditor", ev.ID, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO crash_effects (pair, applied) VALUES ($1, 1)
					ON CONFLICT (pair) DO UPDATE SET applied = crash_effects.applied + 1`, p.Pair)
				return err
			})
			return err
		})
	}()

	acked := map[string]string{} // transfer id -> pair
	for k := 0; k < kills; k++ {
		got := runAndKill(t, schema, cluster.Brokers(), time.Duration(200+rng.IntN(1300))*time.Millisecond)
		for id, pair := range got {
			acked[id] = pair
		}
		t.Logf("run %d: %d transfers acknowledged before SIGKILL", k+1, len(got))
	}
	if len(acked) == 0 {
		t.Fatal("no transfer was acknowledged: the load never ran")
	}

	// 1. Every acknowledged transfer is stored exactly once.
	ackedIDs := make([]uuid.UUID, 0, len(acked))
	for id := range acked {
		ackedIDs = append(ackedIDs, uuid.MustParse(id))
	}
	var stored int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM transfers WHERE id = ANY($1)", ackedIDs).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != len(acked) {
		t.Errorf("acknowledged transfers stored: %d of %d", stored, len(acked))
	}
	// 2. Nothing half-applied: every pair is both its transfers and its one event, or nothing.
	var halves, orphans int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT reference FROM transfers WHERE reference LIKE 'pair-%'
		GROUP BY reference HAVING count(*) <> 2) x`).Scan(&halves); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (
			SELECT reference AS pair FROM transfers WHERE reference LIKE 'pair-%' GROUP BY reference) t
		FULL JOIN (SELECT convert_from(payload, 'UTF8')::json->>'pair' AS pair FROM outbox) o USING (pair)
		WHERE t.pair IS NULL OR o.pair IS NULL`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if halves != 0 || orphans != 0 {
		t.Errorf("half-applied pairs %d, pairs without their event or events without their pair %d", halves, orphans)
	}
	// 3. The restored ledger passes its own invariants, and the stored data passes the audit.
	store, err = postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall, Log: log})
	if err != nil {
		t.Fatalf("restore after the last kill: %v", err)
	}
	store.Close()
	rep, err := postgres.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Errorf("audit after kills:\n%s", rep)
	}
	// 4. Every event reaches Kafka (the parent finishes the relay the last child left) and is applied once.
	ob := postgres.NewOutbox(pool)
	relay, err := kafka.NewRelay(ob, cluster.NewPublisher(), kafka.RelayConfig{}, log)
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, err := relay.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var events int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&events)
	deadline := wall.Now().Add(60 * time.Second)
	var applied, maxApplied int
	for wall.Now().Before(deadline) {
		_ = pool.QueryRow(ctx, "SELECT count(*), coalesce(max(applied), 0) FROM crash_effects").Scan(&applied, &maxApplied)
		if applied >= events {
			break
		}
		<-wall.NewTimer(50 * time.Millisecond).C()
	}
	stopConsumer()
	if err := <-consumerDone; err != nil {
		t.Errorf("consumer: %v", err)
	}
	_ = pool.QueryRow(ctx, "SELECT count(*), coalesce(max(applied), 0) FROM crash_effects").Scan(&applied, &maxApplied)
	if applied != events {
		t.Errorf("events applied by the consumer: %d of %d", applied, events)
	}
	if maxApplied != 1 {
		t.Errorf("an event's effect was applied %d times, want once", maxApplied)
	}
	t.Logf("%d acknowledged transfers, %d events, %d deliveries (%d redelivered, deduplicated), audit: %d transfers",
		len(acked), events, deliveries.Load(), deliveries.Load()-int64(events), rep.Transfers)
}

// runAndKill starts the child, lets it run for d after it is ready, kills it with SIGKILL and returns the
// transfers it acknowledged.
func runAndKill(t *testing.T, schema string, brokers []string, d time.Duration) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TASVIEH_CRASH_CHILD=1", "TASVIEH_SCHEMA="+schema,
		"DATABASE_URL="+pgtest.URL(t), "KAFKA_BROKERS="+strings.Join(brokers, ","))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 1 && f[0] == "ready":
				once.Do(func() { close(ready) })
			case len(f) == 4 && f[0] == "ack":
				acked[f[1]], acked[f[2]] = f[3], f[3]
			}
		}
		once.Do(func() { close(ready) })
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-wall.NewTimer(60 * time.Second).C():
		_ = cmd.Process.Kill()
		t.Fatal("child never became ready")
	}
	<-wall.NewTimer(d).C()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	return acked
}
