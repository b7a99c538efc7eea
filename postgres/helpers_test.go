package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// env is one test's world: a fresh schema, a simulated clock and an id source on it.
type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	clock *clock.Simulated
	ids   *ids.Source
	cfg   postgres.Config
}

func newEnv(t *testing.T, pool *pgxpool.Pool) *env {
	c := clock.NewSimulated(time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC))
	level := slog.LevelError + 4
	if os.Getenv("TASVIEH_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return &env{t: t, pool: pool, clock: c, ids: ids.NewSource(c, 1),
		cfg: postgres.Config{Clock: c, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}}
}

func (e *env) id() ledger.ID { return ledger.ID(e.ids.New()) }

func (e *env) open() *postgres.Store {
	e.t.Helper()
	s, err := postgres.OpenStore(context.Background(), e.pool, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

type world struct {
	issuance ledger.ID
	banks    []ledger.ID
}

// setup creates an issuance account and n floored settlement accounts, each funded.
func (e *env) setup(s *postgres.Store, n int, funding int64) world {
	t := e.t
	t.Helper()
	w := world{issuance: e.id()}
	accts := []ledger.Account{{ID: w.issuance, Ledger: ledger.LedgerCBI, Kind: ledger.KindIssuance,
		Flags: ledger.FlagNegativeAllowed, Name: "CBI issuance"}}
	for i := 0; i < n; i++ {
		id := e.id()
		w.banks = append(w.banks, id)
		accts = append(accts, ledger.Account{ID: id, Ledger: ledger.LedgerCBI, Kind: ledger.KindSettlement,
			Name: fmt.Sprintf("bank %03d settlement", i)})
	}
	res, err := s.CreateAccounts(context.Background(), accts)
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
			ts = append(ts, ledger.Transfer{ID: e.id(), DebitAccountID: w.issuance, CreditAccountID: b,
				Amount: funding, Ledger: ledger.LedgerCBI, Code: 1, Reference: "issuance"})
		}
		mustOK(t, s, postgres.Submission{Transfers: ts})
	}
	return w
}

func (e *env) plain(from, to ledger.ID, amount int64) ledger.Transfer {
	return ledger.Transfer{ID: e.id(), DebitAccountID: from, CreditAccountID: to, Amount: amount, Ledger: ledger.LedgerCBI, Code: 2}
}

func submit(t *testing.T, s *postgres.Store, ts ...ledger.Transfer) []ledger.Result {
	t.Helper()
	res, err := s.Submit(context.Background(), postgres.Submission{Transfers: ts})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustOK(t *testing.T, s *postgres.Store, sub postgres.Submission) {
	t.Helper()
	res, err := s.Submit(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r != ledger.OK {
			t.Fatalf("transfer %d: got %v, want ok", i, r)
		}
	}
}

func wantResults(t *testing.T, what string, got []ledger.Result, want ...ledger.Result) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
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

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// lockTransfers holds an ACCESS EXCLUSIVE lock on the transfers table, so that the writer's next write
// waits; rolling the returned transaction back releases it (the test's end does too).
func lockTransfers(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Rollback(context.Background()) })
	if _, err := lock.Exec(ctx, "LOCK TABLE transfers IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return lock
}

// waitRecovered waits until the store has survived n crash-stops.
func waitRecovered(t *testing.T, s *postgres.Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats().Recoveries < n {
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isUnknownOrNotApplied reports whether err is one of the two answers of a failed write.
func isUnknownOrNotApplied(err error) bool {
	return errors.Is(err, postgres.ErrOutcomeUnknown) || errors.Is(err, postgres.ErrNotApplied)
}
