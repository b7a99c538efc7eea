package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

func TestStoreSurvivesRestartWithBalancesAndIdempotency(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	w := e.setup(s, 2, 1_000_000)
	a, b := w.banks[0], w.banks[1]
	tr := e.plain(a, b, 250_000)
	wantResults(t, "first", submit(t, s, tr), ledger.OK)
	s.Close()

	s = e.open()
	defer s.Close()
	if got := balance(t, s, a); got != 750_000 {
		t.Errorf("balance of a after restart: got %d, want 750000", got)
	}
	if got := balance(t, s, b); got != 1_250_000 {
		t.Errorf("balance of b after restart: got %d, want 1250000", got)
	}
	wantResults(t, "repeat after restart", submit(t, s, tr), ledger.Exists)
	changed := tr
	changed.Amount++
	wantResults(t, "changed repeat", submit(t, s, changed), ledger.ExistsWithDifferentFields)
	mustAudit(t, pool)
}

func TestStoreLinkedChainIsAllOrNothing(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 3, 1_000)
	first := e.plain(w.banks[0], w.banks[1], 500)
	first.Flags = ledger.FlagLinked
	second := e.plain(w.banks[1], w.banks[2], 5_000) // overdraws
	wantResults(t, "chain", submit(t, s, first, second), ledger.LinkedEventFailed, ledger.ExceedsBalance)
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE ledger = 1 AND code = 2"); n != 0 {
		t.Errorf("transfers stored from a failed chain: %d", n)
	}
	mustAudit(t, pool)
}

// The expiry runs on the injected clock: advancing the simulated clock past a pending transfer's deadline
// expires it, writes its state and an expiry event, and the rail can see it.
func TestStoreExpiryRunsOnTheInjectedClockAndWritesAnEvent(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	order := e.id()
	p := e.plain(w.banks[0], w.banks[1], 400)
	p.Flags, p.Timeout, p.UserData = ledger.FlagPending, 60, order
	wantResults(t, "pending", submit(t, s, p), ledger.OK)
	if err := e.clock.Advance(59 * time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if st, _, _ := s.PendingState(context.Background(), p.ID); st != ledger.PendingActive {
		t.Fatalf("before the deadline: state %v, want active", st)
	}
	if err := e.clock.Advance(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, err := s.PendingState(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st == ledger.PendingExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending not expired after the clock passed its deadline: %v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := balance(t, s, w.banks[0]); got != 1_000 {
		t.Errorf("payer after expiry: %d, want 1000", got)
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE type = $1 AND convert_from(payload, 'UTF8')::jsonb->>'user_data' = $2",
		postgres.EventTypePendingExpired, order.String()); n != 1 {
		t.Errorf("expiry events naming the order: %d, want 1", n)
	}
	// A post after the expiry answers pending_expired.
	post := ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: p.ID}
	wantResults(t, "post after expiry", submit(t, s, post), ledger.PendingAlreadyExpired)
	mustAudit(t, pool)
}

// Regression: "the writer panics on a failed write after an idle tick". On the old main an empty commit (the
// expiry tick, an account request) became the top of the rollback stack; a failed write then panicked in
// Rollback. Here a write waits behind an ACCESS EXCLUSIVE lock past the write deadline while timers fire and
// an account request arrives; the store must answer, recover by itself, and lose nothing.
func TestStoreFailedWriteAfterIdleTickDoesNotPanic(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.WriteTimeout = 500 * time.Millisecond
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	p := e.plain(w.banks[0], w.banks[1], 10)
	p.Flags, p.Timeout = ledger.FlagPending, 1
	wantResults(t, "pending", submit(t, s, p), ledger.OK)

	ctx := context.Background()
	lock := lockTransfers(t, pool)
	tr := e.plain(w.banks[0], w.banks[1], 1_000)
	done := make(chan error, 1)
	go func() {
		_, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{tr}})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	_ = e.clock.Advance(2 * time.Second) // the pending's expiry comes due while the write waits
	acct := ledger.Account{ID: e.id(), Ledger: ledger.LedgerCBI, Kind: ledger.KindCustomer, Name: "late"}
	accDone := make(chan error, 1)
	go func() {
		_, err := s.CreateAccounts(ctx, []ledger.Account{acct})
		accDone <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	_ = lock.Rollback(ctx)

	if err := <-done; !isUnknownOrNotApplied(err) {
		t.Fatalf("transfer behind the failed write: got %v, want outcome unknown or not applied", err)
	}
	if err := <-accDone; err != nil && !isUnknownOrNotApplied(err) {
		t.Fatalf("account request: %v", err)
	}
	waitRecovered(t, s, 1)
	// The retry learns the truth: applied exactly once.
	if r := submit(t, s, tr); r[0] != ledger.OK && r[0] != ledger.Exists {
		t.Fatalf("retry: %v", r[0])
	}
	if r, err := s.CreateAccounts(ctx, []ledger.Account{acct}); err != nil || (r[0] != ledger.AccountOK && r[0] != ledger.AccountExists) {
		t.Fatalf("account retry: %v %v", r, err)
	}
	if got := balance(t, s, w.banks[1]); got != 1_001_000 {
		t.Errorf("payee: %d, want 1001000", got)
	}
	mustAudit(t, pool)
}

// Regression: "an ambiguous COMMIT splits memory from the database". COMMIT succeeds on the server but the
// store is told it failed: callers hear outcome unknown, the store reloads from the database, and a retry of
// the same id answers exists (it was committed) — memory and database agree, restart works.
func TestStoreAmbiguousCommitReloadsFromTheDatabase(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	w := e.setup(s, 2, 1_000_000)
	var once atomic.Bool
	postgres.SetFaults(s, nil, func() error {
		if once.CompareAndSwap(false, true) {
			return errors.New("connection lost after COMMIT was sent")
		}
		return nil
	})
	tr := e.plain(w.banks[0], w.banks[1], 300_000)
	_, err := s.Submit(context.Background(), postgres.Submission{Transfers: []ledger.Transfer{tr}})
	if !errors.Is(err, postgres.ErrOutcomeUnknown) {
		t.Fatalf("ambiguous commit: got %v, want outcome unknown", err)
	}
	waitRecovered(t, s, 1)
	wantResults(t, "retry of the committed id", submit(t, s, tr), ledger.Exists)
	// The next batch writes balances on top of the committed one, not on top of a rolled-back memory.
	wantResults(t, "next", submit(t, s, e.plain(w.banks[0], w.banks[1], 700_000)), ledger.OK)
	wantResults(t, "now short", submit(t, s, e.plain(w.banks[0], w.banks[1], 1)), ledger.ExceedsBalance)
	mustAudit(t, pool)
	s.Close()
	s = e.open() // restore must accept what was stored
	defer s.Close()
	if got := balance(t, s, w.banks[0]); got != 0 {
		t.Errorf("payer: %d, want 0", got)
	}
	mustAudit(t, pool)
}

// The write connection is killed (pg_terminate_backend) just before COMMIT: outcome unknown, the store
// resumes by itself, the retry applies it once.
func TestStoreConnectionKilledBeforeCommit(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	var once atomic.Bool
	postgres.SetFaults(s, func(pid uint32) {
		if once.CompareAndSwap(false, true) {
			if _, err := pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", int32(pid)); err != nil {
				t.Errorf("terminate: %v", err)
			}
		}
	}, nil)
	tr := e.plain(w.banks[0], w.banks[1], 1_000)
	_, err := s.Submit(context.Background(), postgres.Submission{Transfers: []ledger.Transfer{tr}})
	if !errors.Is(err, postgres.ErrOutcomeUnknown) {
		t.Fatalf("killed connection: got %v, want outcome unknown", err)
	}
	waitRecovered(t, s, 1)
	wantResults(t, "retry", submit(t, s, tr), ledger.OK)
	wantResults(t, "again", submit(t, s, tr), ledger.Exists)
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE id = $1", tr.ID); n != 1 {
		t.Errorf("stored %d times", n)
	}
	mustAudit(t, pool)
}

// Regression: "two writers on one schema corrupt balances". The second writer fails at open.
func TestStoreSecondWriterOnTheSchemaIsRefused(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	e.setup(s, 1, 1_000)
	_, err := postgres.OpenStore(context.Background(), pool, e.cfg)
	if !errors.Is(err, postgres.ErrLocked) {
		t.Fatalf("second writer: got %v, want ErrLocked", err)
	}
	s.Close()
	s2, err := postgres.OpenStore(context.Background(), pool, e.cfg)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	s2.Close()
}

// Regression: "one caller's bad input fails everyone batched with it". A NUL byte or invalid UTF-8 in a
// reference, a NUL in an account name: the bad one is rejected alone, the innocent callers in the same write
// commit.
func TestStoreBadInputFailsOnlyItsCaller(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	ctx := context.Background()

	// Hold the write behind a lock so that every request below queues and is decided in one batch.
	lock := lockTransfers(t, pool)
	blocker := e.plain(w.banks[0], w.banks[1], 1)
	go s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{blocker}}) //nolint:errcheck // only holds the writer
	time.Sleep(100 * time.Millisecond)

	type call struct {
		t    ledger.Transfer
		want ledger.Result
	}
	nul := e.plain(w.banks[0], w.banks[1], 5)
	nul.Reference = "ref\x00"
	bad := e.plain(w.banks[0], w.banks[1], 5)
	bad.Reference = "\xff\xfe"
	calls := []call{{e.plain(w.banks[0], w.banks[1], 7), ledger.OK}, {nul, ledger.ReferenceInvalid},
		{e.plain(w.banks[1], w.banks[0], 9), ledger.OK}, {bad, ledger.ReferenceInvalid}}
	var wg sync.WaitGroup
	got := make([]ledger.Result, len(calls))
	errs := make([]error, len(calls))
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{c.t},
				Events: []postgres.Event{{Transfer: c.t.ID, Topic: "ledger.test", Key: "017", Type: "test", Payload: []byte(`{}`)}}})
			errs[i] = err
			if err == nil {
				got[i] = r[0]
			}
		}()
	}
	accts := []ledger.Account{
		{ID: e.id(), Ledger: 1017, Kind: ledger.KindCustomer, Name: "علی\x00"},
		{ID: e.id(), Ledger: 1017, Kind: ledger.KindCustomer, Name: "مریم", ExternalKey: "IR820540102680020817909002"},
	}
	var accRes []ledger.AccountResult
	var accErr error
	wg.Add(1)
	go func() { defer wg.Done(); accRes, accErr = s.CreateAccounts(ctx, accts) }()
	time.Sleep(200 * time.Millisecond)
	_ = lock.Rollback(ctx)
	wg.Wait()
	for i, c := range calls {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if got[i] != c.want {
			t.Errorf("call %d: got %v, want %v", i, got[i], c.want)
		}
	}
	if accErr != nil {
		t.Fatal(accErr)
	}
	if accRes[0] != ledger.AccountNameInvalid || accRes[1] != ledger.AccountOK {
		t.Errorf("accounts: got %v, want [name_invalid ok]", accRes)
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE topic = 'ledger.test'"); n != 2 {
		t.Errorf("events of the innocent callers: %d, want 2", n)
	}
	if a, ok, err := s.AccountByKey(ctx, 1017, "IR820540102680020817909002"); err != nil || !ok || a.ID != accts[1].ID {
		t.Errorf("account by key: %v %v %v", a, ok, err)
	}
	// Invalid events and rows are refused before anything is queued, naming the field.
	_, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{e.plain(w.banks[0], w.banks[1], 1)},
		Events: []postgres.Event{{Transfer: e.id(), Topic: "t", Key: "k", Type: "x", Payload: []byte(`{}`)}}})
	var se *postgres.SubmissionError
	if !errors.As(err, &se) || se.Field != "Events[0].Transfer" {
		t.Errorf("event tied to no transfer of the submission: %v", err)
	}
	mustAudit(t, pool)
}

// Regression: "a transfer code >= 32,768 makes the store unable to restart".
func TestStoreTransferCodeAbove32767SurvivesRestart(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	w := e.setup(s, 2, 1_000)
	tr := e.plain(w.banks[0], w.banks[1], 10)
	tr.Code = 65535
	wantResults(t, "code 65535", submit(t, s, tr), ledger.OK)
	s.Close()
	s = e.open()
	defer s.Close()
	wantResults(t, "repeat", submit(t, s, tr), ledger.Exists)
	got, ok, err := s.Transfer(context.Background(), tr.ID)
	if err != nil || !ok || got.Code != 65535 {
		t.Errorf("stored transfer: %+v %v %v", got, ok, err)
	}
}

// Regression: "events are lost when a request succeeds over two attempts". [ok, exceeds_balance], then the
// retry [exists, ok]: both transfers applied and each one's event written once.
func TestStoreEventsWrittenWhenRequestSucceedsOverTwoAttempts(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 3, 1_000)
	a := e.plain(w.banks[0], w.banks[1], 600)
	b := e.plain(w.banks[2], w.banks[1], 1_500) // bank 2 holds 1,000
	events := func() []postgres.Event {
		return []postgres.Event{
			{Transfer: a.ID, Topic: "ledger.test", Key: "017", Type: "test", Payload: []byte(`{"leg":"a"}`)},
			{Transfer: b.ID, Topic: "ledger.test", Key: "017", Type: "test", Payload: []byte(`{"leg":"b"}`)},
		}
	}
	r, err := s.Submit(context.Background(), postgres.Submission{Transfers: []ledger.Transfer{a, b}, Events: events()})
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, "first attempt", r, ledger.OK, ledger.ExceedsBalance)
	// Remembered: b can never succeed under this id; the retry uses a new id for the second leg.
	b2 := b
	b2.ID = e.id()
	b2.Amount = 900
	ev := events()
	ev[1].Transfer = b2.ID
	r, err = s.Submit(context.Background(), postgres.Submission{Transfers: []ledger.Transfer{a, b2}, Events: ev})
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, "retry", r, ledger.Exists, ledger.OK)
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8')::jsonb->>'leg' = 'a'"); n != 1 {
		t.Errorf("events of a: %d, want 1", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8')::jsonb->>'leg' = 'b'"); n != 1 {
		t.Errorf("events of b: %d, want 1", n)
	}
	mustAudit(t, pool)
}

// Rejections are remembered and persisted: a repeat answers the original rejection, also after a restart,
// and never succeeds later even when it would now fit.
func TestStoreRemembersRejectionsAcrossRestart(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	w := e.setup(s, 2, 1_000)
	tr := e.plain(w.banks[0], w.banks[1], 5_000)
	wantResults(t, "first", submit(t, s, tr), ledger.ExceedsBalance)
	mustOK(t, s, postgres.Submission{Transfers: []ledger.Transfer{e.plain(w.issuance, w.banks[0], 10_000)}})
	wantResults(t, "repeat once funded", submit(t, s, tr), ledger.ExceedsBalance)
	s.Close()
	s = e.open()
	defer s.Close()
	wantResults(t, "repeat after restart", submit(t, s, tr), ledger.ExceedsBalance)
	if r, ok, err := s.Rejection(context.Background(), tr.ID); err != nil || !ok || r != ledger.ExceedsBalance {
		t.Errorf("stored rejection: %v %v %v", r, ok, err)
	}
	if n := count(t, pool, "SELECT count(*) FROM rejected_transfers"); n != 1 {
		t.Errorf("rejections stored: %d, want 1", n)
	}
	mustAudit(t, pool)
}

// Ids older than the retention window leave memory; a repeat of one is answered from the tables, and a new id
// is decided with no look-up.
func TestStoreAnswersIDsOlderThanTheWindowFromTheTables(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.Retention = time.Minute
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	old := e.plain(w.banks[0], w.banks[1], 100)
	wantResults(t, "old", submit(t, s, old), ledger.OK)
	rejected := e.plain(w.banks[0], w.banks[1], 100_000)
	wantResults(t, "rejected", submit(t, s, rejected), ledger.ExceedsBalance)
	p := e.plain(w.banks[0], w.banks[1], 50)
	p.Flags = ledger.FlagPending
	wantResults(t, "pending", submit(t, s, p), ledger.OK)
	post := ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: p.ID}
	wantResults(t, "post", submit(t, s, post), ledger.OK)

	if err := e.clock.Advance(5 * time.Minute); err != nil {
		t.Fatal(err)
	}
	submit(t, s, e.plain(w.banks[1], w.banks[0], 1)) // a batch at the new time evicts the old ids
	wantResults(t, "old repeat", submit(t, s, old), ledger.Exists)
	wantResults(t, "old rejection", submit(t, s, rejected), ledger.ExceedsBalance)
	wantResults(t, "old post repeat", submit(t, s, post), ledger.Exists)
	wantResults(t, "old pending posted again", submit(t, s, ledger.Transfer{ID: e.id(), Flags: ledger.FlagVoidPending, PendingID: p.ID}),
		ledger.PendingAlreadyPosted)
	changed := old
	changed.Amount = 99
	wantResults(t, "old changed", submit(t, s, changed), ledger.ExistsWithDifferentFields)
	mustAudit(t, pool)
}

// The look-ups the rails and the API need: by external key, by id, an account's transfers paged in time order,
// a pending's state.
func TestStoreLookUps(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	ctx := context.Background()
	w := e.setup(s, 3, 1_000_000)
	var mine []ledger.ID
	for i := 0; i < 7; i++ {
		tr := e.plain(w.banks[0], w.banks[1+i%2], int64(10+i))
		if i%3 == 0 {
			tr = e.plain(w.banks[1], w.banks[0], int64(10+i))
		}
		tr.UserData = e.id()
		wantResults(t, "transfer", submit(t, s, tr), ledger.OK)
		mine = append(mine, tr.ID)
	}
	wantResults(t, "other", submit(t, s, e.plain(w.banks[1], w.banks[2], 1)), ledger.OK)
	var got []ledger.ID
	after := int64(0)
	for {
		page, err := s.AccountTransfers(ctx, w.banks[0], after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, tr := range page {
			if tr.DebitAccountID != w.banks[0] && tr.CreditAccountID != w.banks[0] {
				t.Fatalf("page holds another account's transfer %s", tr.ID)
			}
			if tr.Code == 1 {
				continue // the funding
			}
			got = append(got, tr.ID)
		}
		after = page[len(page)-1].Timestamp
	}
	if len(got) != len(mine) {
		t.Fatalf("paged transfers: got %d, want %d", len(got), len(mine))
	}
	for i := range got {
		if got[i] != mine[i] {
			t.Fatalf("page order: transfer %d is %s, want %s", i, got[i], mine[i])
		}
	}
	tr, ok, err := s.Transfer(ctx, mine[0])
	if err != nil || !ok || tr.UserData.IsZero() {
		t.Errorf("transfer by id: %+v %v %v", tr, ok, err)
	}
	if _, ok, _ := s.Transfer(ctx, e.id()); ok {
		t.Error("unknown transfer found")
	}
}

// A submission's rail rows commit in the same transaction as the transfers they are tied to; an untied row is
// written whatever the results.
func TestStoreRailRowsCommitWithTheirTransfer(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	ctx := context.Background()
	w := e.setup(s, 2, 1_000)
	ok := e.plain(w.banks[0], w.banks[1], 100)
	short := e.plain(w.banks[0], w.banks[1], 100_000)
	r, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{ok, short}, Rows: []postgres.Row{
		{Transfer: ok.ID, Kind: "satna.order", ID: "o1", Status: "settled", Body: []byte(`{"amount_rial":100}`)},
		{Transfer: short.ID, Kind: "satna.order", ID: "o2", Status: "settled"},
		{Kind: "satna.order", ID: "o2", Status: "queued"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, "submit", r, ledger.OK, ledger.ExceedsBalance)
	o1, found, err := s.RailObject(ctx, "satna.order", "o1")
	if err != nil || !found || o1.Status != "settled" || o1.Transfer != ok.ID {
		t.Errorf("o1: %+v %v %v", o1, found, err)
	}
	o2, found, err := s.RailObject(ctx, "satna.order", "o2")
	if err != nil || !found || o2.Status != "queued" {
		t.Errorf("o2: %+v %v %v (the tied 'settled' row must not be written)", o2, found, err)
	}
}

// Decisions on stable balances: a cyclic gridlock A→B→C→A between banks with nothing on account settles as
// one FlagNet set inside the writer, with its rail rows; a set that would leave any floor broken applies not
// at all and leaves no remembered rejection.
func TestStoreDecideSettlesACyclicGridlockOnItsNet(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	ctx := context.Background()
	w := e.setup(s, 3, 0)
	a, b, c := w.banks[0], w.banks[1], w.banks[2]
	cycle := func(amounts ...int64) []ledger.Transfer {
		legs := []ledger.Transfer{e.plain(a, b, amounts[0]), e.plain(b, c, amounts[1]), e.plain(c, a, amounts[2])}
		for i := range legs {
			legs[i].Flags = ledger.FlagNet | ledger.FlagLinked
		}
		legs[2].Flags = ledger.FlagNet
		return legs
	}
	// Gross, one by one, the first leg cannot settle.
	gross := cycle(100, 100, 100)[0]
	gross.Flags = 0
	wantResults(t, "gross", submit(t, s, gross), ledger.ExceedsBalance)

	short := cycle(100, 150, 100) // B would end at -50
	var shortOK bool
	if err := s.Decide(ctx, func(d *postgres.Decision) {
		_, shortOK, _ = d.Propose(postgres.Submission{Transfers: short})
	}); err != nil {
		t.Fatal(err)
	}
	if shortOK {
		t.Fatal("a set leaving B below its floor applied")
	}
	set := cycle(100, 100, 100)
	var res []ledger.Result
	var okSet bool
	var seen int64
	if err := s.Decide(ctx, func(d *postgres.Decision) {
		acct, _ := d.Account(b)
		seen = acct.Balance()
		res, okSet, _ = d.Propose(postgres.Submission{Transfers: set, Rows: []postgres.Row{
			{Transfer: set[0].ID, Kind: "satna.offset", ID: "set-1", Status: "settled"}}})
	}); err != nil {
		t.Fatal(err)
	}
	if !okSet || seen != 0 {
		t.Fatalf("cyclic set: %v ok=%v (B seen at %d)", res, okSet, seen)
	}
	for _, id := range []ledger.ID{a, b, c} {
		if got := balance(t, s, id); got != 0 {
			t.Errorf("balance after the netted cycle: %d, want 0", got)
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE code = 2"); n != 3 {
		t.Errorf("stored legs: %d, want 3", n)
	}
	if o, found, _ := s.RailObject(ctx, "satna.offset", "set-1"); !found || o.Status != "settled" {
		t.Errorf("offset row: %+v %v", o, found)
	}
	// The failed proposal remembered nothing: its ids are still free.
	for _, tr := range short {
		if _, found, _ := s.Rejection(ctx, tr.ID); found {
			t.Errorf("proposal left a remembered rejection for %s", tr.ID)
		}
	}
	mustAudit(t, pool)
}

// A queued caller that gives up before the writer takes its request leaves with its context's error and its
// transfer is never applied; Close is bounded even while the database hangs.
func TestStoreQueuedCallerFollowsItsContextAndCloseIsBounded(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.WriteTimeout = 300 * time.Millisecond
	s := e.open()
	w := e.setup(s, 2, 1_000)
	ctx := context.Background()
	lock := lockTransfers(t, pool)
	go s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{e.plain(w.banks[0], w.banks[1], 1)}}) //nolint:errcheck
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	late := e.plain(w.banks[0], w.banks[1], 2)
	_, err := s.Submit(cctx, postgres.Submission{Transfers: []ledger.Transfer{late}})
	if err == nil {
		t.Fatal("a caller stuck behind a hung database got an answer")
	}
	s.Close() // returns: the write deadline ends the hung write, recovery gives up on Close
	_ = lock.Rollback(ctx)
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE id = $1", late.ID); n != 0 && !errors.Is(err, postgres.ErrOutcomeUnknown) {
		t.Errorf("abandoned transfer stored (err %v)", err)
	}
	mustAudit(t, pool)
}

func TestStoreConcurrentCallersConserveMoney(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	w := e.setup(s, 8, 10_000)
	var wg sync.WaitGroup
	var okN, shortN atomic.Int64
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				from, to := w.banks[(c+i)%8], w.banks[(c+i+1+c%7)%8]
				r, err := s.Submit(context.Background(), postgres.Submission{Transfers: []ledger.Transfer{e.plain(from, to, int64(1+(c*i)%700))}})
				if err != nil {
					t.Error(err)
					return
				}
				switch r[0] {
				case ledger.OK:
					okN.Add(1)
				case ledger.ExceedsBalance:
					shortN.Add(1)
				default:
					t.Errorf("result %v", r[0])
				}
			}
		}(c)
	}
	wg.Wait()
	var total int64
	for _, b := range w.banks {
		total += balance(t, s, b)
	}
	if total != 80_000 {
		t.Errorf("money across banks: %d, want 80000", total)
	}
	if okN.Load() == 0 {
		t.Error("no transfer applied")
	}
	s.Close()
	s = e.open()
	s.Close()
	mustAudit(t, pool)
}
