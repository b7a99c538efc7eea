package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
)

// fakeClock is the injected clock: tests move it by hand.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func openStore(t *testing.T, pool *pgxpool.Pool, c *fakeClock) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenStore(context.Background(), pool, c.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type world struct {
	issuance ledger.ID
	banks    []ledger.ID
}

// setup creates an issuance account and n settlement accounts that must not go negative, each funded.
func setup(t *testing.T, s *postgres.Store, n int, funding int64) world {
	t.Helper()
	ctx := context.Background()
	w := world{issuance: postgres.NewID()}
	accts := []ledger.Account{{ID: w.issuance, Ledger: ledger.LedgerCBI, Kind: ledger.KindIssuance, Name: "CBI issuance"}}
	for i := 0; i < n; i++ {
		id := postgres.NewID()
		w.banks = append(w.banks, id)
		accts = append(accts, ledger.Account{ID: id, Ledger: ledger.LedgerCBI, Kind: ledger.KindSettlement,
			Flags: ledger.FlagNoNegative, Name: fmt.Sprintf("bank %03d settlement", i)})
	}
	res, err := s.CreateAccounts(ctx, accts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r != ledger.AccountOK {
			t.Fatalf("account %d: %v", i, r)
		}
	}
	if funding > 0 {
		var ts []ledger.Transfer
		for _, b := range w.banks {
			ts = append(ts, ledger.Transfer{ID: postgres.NewID(), DebitAccountID: w.issuance, CreditAccountID: b,
				Amount: funding, Ledger: ledger.LedgerCBI, Code: 1, Reference: "issuance"})
		}
		mustOK(t, s, ts, nil)
	}
	return w
}

func mustOK(t *testing.T, s *postgres.Store, ts []ledger.Transfer, events []outbox.Event) {
	t.Helper()
	res, err := s.Submit(context.Background(), ts, events)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r != ledger.OK {
			t.Fatalf("transfer %d: got %v, want ok", i, r)
		}
	}
}

func mustAudit(t *testing.T, pool *pgxpool.Pool) postgres.AuditReport {
	t.Helper()
	rep, err := postgres.Audit(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("audit:\n%s", rep)
	}
	return rep
}

func balance(t *testing.T, s *postgres.Store, id ledger.ID) int64 {
	t.Helper()
	a, ok, err := s.Account(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("account %s: found %v, err %v", id, ok, err)
	}
	return a.Balance()
}

func plain(from, to ledger.ID, amount int64) ledger.Transfer {
	return ledger.Transfer{ID: postgres.NewID(), DebitAccountID: from, CreditAccountID: to, Amount: amount, Ledger: ledger.LedgerCBI, Code: 2}
}

func event(key string) outbox.Event {
	return outbox.Event{ID: uuid.Must(uuid.NewV7()).String(), Topic: "ledger.transfers", Key: key, Type: "test.event",
		Payload: []byte(`{"k":"` + key + `"}`), CreatedAt: time.Unix(1700000000, 0)}
}

func TestStoreSurvivesRestartWithBalancesAndIdempotency(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	clock := newClock()
	s := openStore(t, pool, clock)
	w := setup(t, s, 2, 1_000_000)
	a, b := w.banks[0], w.banks[1]
	tr := plain(a, b, 250_000)
	mustOK(t, s, []ledger.Transfer{tr}, []outbox.Event{event("017")})
	s.Close()

	s = openStore(t, pool, clock)
	defer s.Close()
	if got := balance(t, s, a); got != 750_000 {
		t.Errorf("balance of a after restart: got %d, want 750000", got)
	}
	if got := balance(t, s, b); got != 1_250_000 {
		t.Errorf("balance of b after restart: got %d, want 1250000", got)
	}
	// The same transfer again, after the restart: idempotent, nothing moves, no second event.
	res, err := s.Submit(context.Background(), []ledger.Transfer{tr}, []outbox.Event{event("017")})
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != ledger.Exists {
		t.Errorf("repeat after restart: got %v, want exists", res[0])
	}
	changed := tr
	changed.Amount++
	res, _ = s.Submit(context.Background(), []ledger.Transfer{changed}, nil)
	if res[0] != ledger.ExistsWithDifferentFields {
		t.Errorf("repeat with another amount: got %v, want exists_with_different_fields", res[0])
	}
	if got := balance(t, s, a); got != 750_000 {
		t.Errorf("balance of a after repeats: got %d, want 750000", got)
	}
	var events int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("outbox rows: got %d, want 1 (the repeat must not write its event again)", events)
	}
	mustAudit(t, pool)
}

func TestStoreRejectedTransferWritesNothing(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	s := openStore(t, pool, newClock())
	defer s.Close()
	w := setup(t, s, 2, 1_000)
	res, err := s.Submit(context.Background(), []ledger.Transfer{plain(w.banks[0], w.banks[1], 1_001)}, []outbox.Event{event("012")})
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != ledger.ExceedsBalance {
		t.Fatalf("got %v, want exceeds_balance", res[0])
	}
	var transfers, events int
	_ = pool.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM transfers), (SELECT count(*) FROM outbox)").Scan(&transfers, &events)
	if transfers != 2 || events != 0 {
		t.Errorf("stored transfers %d (want the 2 fundings), events %d (want 0)", transfers, events)
	}
	mustAudit(t, pool)
}

func TestStoreLinkedChainIsAllOrNothing(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	s := openStore(t, pool, newClock())
	defer s.Close()
	w := setup(t, s, 3, 100)
	a, b, c := w.banks[0], w.banks[1], w.banks[2]
	first := plain(a, b, 60)
	first.Flags = ledger.FlagLinked
	second := plain(b, c, 500) // b has 160 after the first: short
	res, err := s.Submit(context.Background(), []ledger.Transfer{first, second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != ledger.LinkedEventFailed || res[1] != ledger.ExceedsBalance {
		t.Fatalf("got %v, want [linked_event_failed exceeds_balance]", res)
	}
	for _, id := range w.banks {
		if got := balance(t, s, id); got != 100 {
			t.Errorf("balance %s: got %d, want 100 (nothing of the chain applied)", id, got)
		}
	}
	// A request that leaves its chain open fails alone, whatever else is in the batch.
	open := plain(a, b, 1)
	open.Flags = ledger.FlagLinked
	res, _ = s.Submit(context.Background(), []ledger.Transfer{open}, nil)
	if res[0] != ledger.LinkedEventChainOpen {
		t.Errorf("open chain: got %v, want linked_event_chain_open", res[0])
	}
	mustAudit(t, pool)
}

func TestStorePendingPostVoidExpirySurviveRestart(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	clock := newClock()
	s := openStore(t, pool, clock)
	w := setup(t, s, 2, 1_000)
	a, b := w.banks[0], w.banks[1]
	mk := func(amount, timeout int64) ledger.Transfer {
		t := plain(a, b, amount)
		t.Flags, t.Timeout = ledger.FlagPending, timeout
		return t
	}
	toPost, toVoid, toExpire := mk(100, 0), mk(200, 0), mk(300, 60)
	mustOK(t, s, []ledger.Transfer{toPost, toVoid, toExpire}, nil)
	acct, _, _ := s.Account(context.Background(), a)
	if acct.Available() != 400 || acct.DebitsPending != 600 {
		t.Fatalf("after reserving: available %d pending %d, want 400 and 600", acct.Available(), acct.DebitsPending)
	}
	post := ledger.Transfer{ID: postgres.NewID(), PendingID: toPost.ID, Flags: ledger.FlagPostPending, Ledger: ledger.LedgerCBI, Code: 2}
	void := ledger.Transfer{ID: postgres.NewID(), PendingID: toVoid.ID, Flags: ledger.FlagVoidPending, Ledger: ledger.LedgerCBI, Code: 2}
	mustOK(t, s, []ledger.Transfer{post, void}, nil)
	s.Close()

	clock.advance(61 * time.Second)
	s = openStore(t, pool, clock)
	defer s.Close()
	// Any commit expires what is due; this one also proves the expired reservation can no longer be posted.
	late := ledger.Transfer{ID: postgres.NewID(), PendingID: toExpire.ID, Flags: ledger.FlagPostPending, Ledger: ledger.LedgerCBI, Code: 2}
	res, err := s.Submit(context.Background(), []ledger.Transfer{late}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != ledger.PendingAlreadyExpired {
		t.Errorf("post after expiry: got %v, want pending_already_expired", res[0])
	}
	acct, _, _ = s.Account(context.Background(), a)
	if acct.Balance() != 900 || acct.DebitsPending != 0 {
		t.Errorf("a: balance %d pending %d, want 900 and 0", acct.Balance(), acct.DebitsPending)
	}
	var states []int16
	rows, _ := pool.Query(context.Background(), "SELECT state FROM pending_transfers WHERE id = ANY($1) ORDER BY state",
		[]uuid.UUID{uuid.UUID(toPost.ID), uuid.UUID(toVoid.ID), uuid.UUID(toExpire.ID)})
	for rows.Next() {
		var st int16
		_ = rows.Scan(&st)
		states = append(states, st)
	}
	want := []int16{int16(ledger.PendingPosted), int16(ledger.PendingVoided), int16(ledger.PendingExpired)}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("stored pending states: got %v, want %v", states, want)
	}
	mustAudit(t, pool)
}

// A batch the database refuses (here: a NUL byte, which PostgreSQL text cannot hold) is rolled back in memory,
// so the next batch and a restart both see exactly what the database has.
func TestStoreWriteFailureRollsBackMemory(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	clock := newClock()
	s := openStore(t, pool, clock)
	w := setup(t, s, 2, 1_000)
	bad := plain(w.banks[0], w.banks[1], 700)
	bad.Reference = "nul\x00byte"
	if _, err := s.Submit(context.Background(), []ledger.Transfer{bad}, nil); err == nil {
		t.Fatal("submit with a NUL byte: got no error")
	}
	// Had memory kept the failed 700, this 700 would be exceeds_balance.
	mustOK(t, s, []ledger.Transfer{plain(w.banks[0], w.banks[1], 700)}, nil)
	bad.Reference = "retried"
	res, _ := s.Submit(context.Background(), []ledger.Transfer{bad}, nil)
	if res[0] != ledger.ExceedsBalance {
		t.Errorf("retry of the refused transfer: got %v, want exceeds_balance (300 left)", res[0])
	}
	s.Close()
	s = openStore(t, pool, clock)
	defer s.Close()
	if got := balance(t, s, w.banks[0]); got != 300 {
		t.Errorf("balance after restart: got %d, want 300", got)
	}
	mustAudit(t, pool)
}

// Many concurrent callers, with repeats of each other's ids: every transfer is applied exactly once, balances
// are conserved, and the writer really batched.
func TestStoreConcurrentCallersConserveMoney(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	s := openStore(t, pool, newClock())
	defer s.Close()
	const callers, each, banks = 32, 100, 8
	const funding = 10_000
	w := setup(t, s, banks, funding)
	shared := make([]ledger.Transfer, callers*each)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range shared {
		from, to := rng.IntN(banks), rng.IntN(banks-1)
		if to >= from {
			to++
		}
		shared[i] = plain(w.banks[from], w.banks[to], int64(1+rng.IntN(500)))
	}
	var oks, exists, short atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 9))
			for i := 0; i < each; i++ {
				// Half the time, submit someone else's transfer: a duplicate across callers.
				tr := shared[c*each+i]
				if r.IntN(2) == 0 {
					tr = shared[r.IntN(len(shared))]
				}
				res, err := s.Submit(context.Background(), []ledger.Transfer{tr}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				switch res[0] {
				case ledger.OK:
					oks.Add(1)
				case ledger.Exists:
					exists.Add(1)
				case ledger.ExceedsBalance:
					short.Add(1)
				default:
					t.Errorf("unexpected result %v", res[0])
				}
			}
		}(c)
	}
	wg.Wait()
	rep := mustAudit(t, pool)
	if rep.Transfers != int64(banks)+oks.Load() {
		t.Errorf("stored transfers %d, want fundings %d + ok %d", rep.Transfers, banks, oks.Load())
	}
	if exists.Load() == 0 {
		t.Error("no duplicate was ever submitted: the test did not exercise idempotency")
	}
	var total int64
	for _, b := range w.banks {
		total += balance(t, s, b)
	}
	if total != banks*funding {
		t.Errorf("sum of bank balances %d, want %d (money created or destroyed)", total, banks*funding)
	}
	t.Logf("ok %d, exists %d, exceeds_balance %d", oks.Load(), exists.Load(), short.Load())
}

func TestAuditFindsTamperedBalance(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	s := openStore(t, pool, newClock())
	w := setup(t, s, 2, 1_000)
	s.Close()
	mustAudit(t, pool)
	if _, err := pool.Exec(context.Background(), "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = $1",
		uuid.UUID(w.banks[0])); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Audit(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clean() {
		t.Fatal("audit of a tampered balance: clean, want findings")
	}
	// One account no longer matches its transfers, and the ledger no longer balances.
	if rep.Count != 2 {
		t.Errorf("findings: got %d, want 2:\n%s", rep.Count, rep)
	}
}
