package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// advBlockFirstCommit makes the next write wait just before COMMIT until release is closed; entered is closed
// once it waits.
func advBlockFirstCommit(s *postgres.Store) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	postgres.SetFaults(s, func(uint32) {
		if once.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	}, nil)
	return entered, release
}

type advAnswer struct {
	res []ledger.Result
	err error
}

func advSubmitAsync(s *postgres.Store, ts ...ledger.Transfer) chan advAnswer {
	ch := make(chan advAnswer, 1)
	go func() {
		r, err := s.Submit(context.Background(), postgres.Submission{Transfers: ts})
		ch <- advAnswer{r, err}
	}()
	return ch
}

// advConserved is a check of our own, independent of audit.go: per ledger debits = credits, and every account's
// stored balances recomputed from the stored transfers.
func advConserved(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if n := count(t, pool, `SELECT count(*) FROM (SELECT ledger FROM accounts GROUP BY ledger
		HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)) x`); n != 0 {
		t.Errorf("ledgers whose debits differ from credits: %d", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM accounts a WHERE a.debits_posted <> coalesce((SELECT sum(amount) FROM transfers t
		WHERE t.debit_account_id = a.id AND t.flags & 10 = 0), 0) OR a.credits_posted <> coalesce((SELECT sum(amount)
		FROM transfers t WHERE t.credit_account_id = a.id AND t.flags & 10 = 0), 0)`); n != 0 {
		t.Errorf("accounts whose posted balances differ from their transfers: %d", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM transfers t JOIN rejected_transfers r ON r.id = t.id`); n != 0 {
		t.Errorf("ids both applied and remembered as rejected: %d", n)
	}
}

// ---- 1. Eviction while the first write is still in flight ----

// Regression (the adversary's defects 1–3): while a write waits for COMMIT, the simulated clock moves past the
// retention window and the same id (or a second post of the same pending) comes again. The evicted id used to
// be looked up in the database, which cannot see the uncommitted write: a second post of one pending panicked
// the writer ("balances out of range"), a remembered rejection was applied, an applied id was applied again
// and the next write crash-stopped on the primary key, failing an innocent caller. The writer now pins the ids
// of writes in flight in memory.
func TestAdversaryRepeatAcrossEvictionWhileFirstWriteInFlight(t *testing.T) {
	cases := []struct {
		name   string
		first  func(e *env, w world, p ledger.Transfer) ledger.Transfer
		repeat func(e *env, first ledger.Transfer) ledger.Transfer
		want   [2]ledger.Result
	}{
		{"second post of one pending",
			func(e *env, _ world, p ledger.Transfer) ledger.Transfer {
				return ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: p.ID}
			},
			func(e *env, first ledger.Transfer) ledger.Transfer {
				return ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: first.PendingID}
			},
			[2]ledger.Result{ledger.OK, ledger.PendingAlreadyPosted}},
		{"remembered rejection repeated with an amount that fits",
			func(e *env, w world, _ ledger.Transfer) ledger.Transfer {
				return e.plain(w.banks[0], w.banks[1], 1_000_000)
			},
			func(_ *env, first ledger.Transfer) ledger.Transfer { first.Amount = 5; return first },
			[2]ledger.Result{ledger.ExceedsBalance, ledger.ExceedsBalance}},
		{"applied id repeated",
			func(e *env, w world, _ ledger.Transfer) ledger.Transfer { return e.plain(w.banks[0], w.banks[1], 10) },
			func(_ *env, first ledger.Transfer) ledger.Transfer { return first },
			[2]ledger.Result{ledger.OK, ledger.Exists}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool, _ := pgtest.Schema(t)
			e := newEnv(t, pool)
			e.cfg.Retention = time.Second
			s := e.open()
			defer s.Close()
			w := e.setup(s, 2, 1_000)
			p := e.plain(w.banks[0], w.banks[1], 100)
			p.Flags = ledger.FlagPending
			wantResults(t, "pending", submit(t, s, p), ledger.OK)

			entered, release := advBlockFirstCommit(s)
			first := c.first(e, w, p)
			a1 := advSubmitAsync(s, first)
			<-entered
			if err := e.clock.Advance(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			a2 := advSubmitAsync(s, c.repeat(e, first))
			time.Sleep(100 * time.Millisecond)
			a3 := advSubmitAsync(s, e.plain(w.banks[1], w.banks[0], 1)) // an innocent caller behind them
			time.Sleep(200 * time.Millisecond)
			close(release)
			for i, a := range []advAnswer{<-a1, <-a2} {
				if a.err != nil || a.res[0] != c.want[i] {
					t.Errorf("answer %d: %v %v, want %v", i+1, a.res, a.err, c.want[i])
				}
			}
			if a := <-a3; a.err != nil || a.res[0] != ledger.OK {
				t.Errorf("innocent caller: %v %v, want ok", a.res, a.err)
			}
			if n := s.Stats().Recoveries; n != 0 {
				t.Errorf("the store crash-stopped %d times", n)
			}
			advConserved(t, pool)
		})
	}
}

// ---- 2. Bad input that the ledger accepts and PostgreSQL refuses ----

// Regression (the adversary's defect 4): a ledger id >= 2^31 was accepted by ledger.CreateAccounts (LedgerID is
// uint32) but written as int32: negative, refused by CHECK (ledger > 0), so the whole write failed and every
// caller in it heard outcome unknown, again on every retry (a poison pill). Now it is ledger_invalid, alone.
func TestAdversaryLedgerIDAbove2p31PoisonsTheBatch(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	ctx := context.Background()

	entered, release := advBlockFirstCommit(s)
	a0 := advSubmitAsync(s, e.plain(w.banks[0], w.banks[1], 1)) // holds the persister
	<-entered
	innocent := advSubmitAsync(s, e.plain(w.banks[0], w.banks[1], 2))
	time.Sleep(50 * time.Millisecond)
	var accRes []ledger.AccountResult
	var accErr error
	done := make(chan struct{})
	poison := ledger.Account{ID: e.id(), Ledger: 1 << 31, Kind: ledger.KindCustomer, Name: "poison"}
	go func() {
		defer close(done)
		accRes, accErr = s.CreateAccounts(ctx, []ledger.Account{poison})
	}()
	time.Sleep(100 * time.Millisecond)
	close(release)
	<-done
	r0, r1 := <-a0, <-innocent
	t.Logf("blocker %v %v; innocent %v %v; poison account %v %v", r0.res, r0.err, r1.res, r1.err, accRes, accErr)
	if r1.err != nil {
		t.Errorf("innocent caller failed by another's account: %v", r1.err)
	}
	if accErr != nil || len(accRes) != 1 || accRes[0] != ledger.AccountLedgerInvalid {
		t.Errorf("account with ledger 2^31: %v %v, want ledger_invalid", accRes, accErr)
	}
	if n := s.Stats().Recoveries; n != 0 {
		t.Errorf("the store crash-stopped %d times", n)
	}
	advConserved(t, pool)
}

// Bad strings in every field, each from its own caller, all in one write: each bad one refused alone.
func TestAdversaryBadStringsEverywhere(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	ctx := context.Background()

	entered, release := advBlockFirstCommit(s)
	a0 := advSubmitAsync(s, e.plain(w.banks[0], w.banks[1], 1))
	<-entered
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				failures = append(failures, name+": "+err.Error())
				mu.Unlock()
			}
		}()
	}
	good := e.plain(w.banks[0], w.banks[1], 3)
	run("good", func() error {
		r, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{good}})
		if err != nil {
			return err
		}
		if r[0] != ledger.OK {
			return errors.New(r[0].String())
		}
		return nil
	})
	bads := []string{"a\x00b", "\xff", "\xed\xa0\x80", string(make([]byte, 70))}
	for _, b := range bads {
		b := b
		run("account name", func() error {
			_, err := s.CreateAccounts(ctx, []ledger.Account{{ID: e.id(), Ledger: 7, Kind: ledger.KindCustomer, Name: b}})
			return err
		})
		run("external key", func() error {
			_, err := s.CreateAccounts(ctx, []ledger.Account{{ID: e.id(), Ledger: 7, Kind: ledger.KindCustomer, Name: "n", ExternalKey: b}})
			return err
		})
		tr := e.plain(w.banks[0], w.banks[1], 1)
		tr.Reference = b
		run("reference", func() error {
			_, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{tr}})
			return err
		})
		for _, field := range []string{"kind", "id", "status", "topic", "key", "type"} {
			field := field
			tr := e.plain(w.banks[0], w.banks[1], 1)
			row := postgres.Row{Transfer: tr.ID, Kind: "k", ID: "i", Status: "s"}
			ev := postgres.Event{Transfer: tr.ID, Topic: "ledger.adv", Key: "k", Type: "t", Payload: []byte(`{}`)}
			switch field {
			case "kind":
				row.Kind = b
			case "id":
				row.ID = b
			case "status":
				row.Status = b
			case "topic":
				ev.Topic = b
			case "key":
				ev.Key = b
			case "type":
				ev.Type = b
			}
			run(field, func() error {
				_, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{tr}, Rows: []postgres.Row{row}, Events: []postgres.Event{ev}})
				var se *postgres.SubmissionError
				if err != nil && !errors.As(err, &se) && len(b) < 70 {
					return err
				}
				if errors.Is(err, postgres.ErrOutcomeUnknown) || errors.Is(err, postgres.ErrNotApplied) {
					return err
				}
				return nil
			})
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	<-a0
	for _, f := range failures {
		t.Errorf("%s", f)
	}
	advConserved(t, pool)
}

// ---- 3. Failure injection ----

// An ambiguous COMMIT on a write that creates accounts, sets flags, expires pendings and carries a Decide
// proposal with rows and events; then two more failures in a row. Everything committed must be there once,
// retries answer exists, money is conserved.
func TestAdversaryAmbiguousCommitOnARichBatchThreeTimes(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 3, 1_000)
	ctx := context.Background()
	var ps []ledger.Transfer
	for i := 0; i < 20; i++ {
		p := e.plain(w.banks[0], w.banks[1], 10)
		p.Flags, p.Timeout = ledger.FlagPending, 5
		ps = append(ps, p)
	}
	wantResults(t, "pendings", submit(t, s, ps...), func() []ledger.Result { r := make([]ledger.Result, 20); return r }()...)

	var fails atomic.Int32
	postgres.SetFaults(s, nil, func() error {
		if fails.Add(1) <= 3 {
			return errors.New("answer to COMMIT lost")
		}
		return nil
	})
	// Hold the writer so that everything below lands in one write.
	lock := lockTransfers(t, pool)
	if err := e.clock.Advance(10 * time.Second); err != nil { // expires all 20 in a tick batch
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	newAcct := ledger.Account{ID: e.id(), Ledger: ledger.LedgerCBI, Kind: ledger.KindSettlement, Name: "late bank"}
	var wg sync.WaitGroup
	var accErr, flagErr, decErr error
	wg.Add(3)
	go func() { defer wg.Done(); _, accErr = s.CreateAccounts(ctx, []ledger.Account{newAcct}) }()
	go func() { defer wg.Done(); flagErr = s.SetAccountFlags(ctx, w.banks[2], ledger.FlagBlocked) }()
	prop := e.plain(w.banks[1], w.banks[0], 7)
	go func() {
		defer wg.Done()
		decErr = s.Decide(ctx, func(d *postgres.Decision) {
			_, ok, err := d.Propose(postgres.Submission{Transfers: []ledger.Transfer{prop},
				Events: []postgres.Event{{Transfer: prop.ID, Topic: "ledger.adv", Key: "1", Type: "t", Payload: []byte(`{}`)}},
				Rows:   []postgres.Row{{Transfer: prop.ID, Kind: "adv", ID: "1", Status: "settled"}}})
			if !ok || err != nil {
				t.Errorf("propose: %v %v", ok, err)
			}
		})
	}()
	time.Sleep(100 * time.Millisecond)
	_ = lock.Rollback(ctx)
	wg.Wait()
	t.Logf("account %v, flags %v, decide %v", accErr, flagErr, decErr)
	waitRecovered(t, s, 1)
	// Retry each until it is not a failed write.
	for i := 0; i < 10; i++ {
		_, err := s.CreateAccounts(ctx, []ledger.Account{newAcct})
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		if err := s.SetAccountFlags(ctx, w.banks[2], ledger.FlagBlocked); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		r, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{prop}})
		if err == nil {
			t.Logf("proposal retried as a plain submit: %v", r)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := count(t, pool, "SELECT count(*) FROM pending_transfers WHERE state = 4"); n != 20 {
		t.Errorf("expired pendings: %d, want 20", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE type = $1", postgres.EventTypePendingExpired); n != 20 {
		t.Errorf("expiry events: %d, want 20", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE topic = 'ledger.adv'"); n != 1 {
		t.Errorf("proposal events: %d, want 1", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM accounts WHERE id = $1", newAcct.ID); n != 1 {
		t.Errorf("late account rows: %d", n)
	}
	r := submit(t, s, e.plain(w.banks[0], w.banks[2], 1))
	wantResults(t, "to the blocked account", r, ledger.CreditAccountBlocked)
	advConserved(t, pool)
	s.Close()
	s = e.open()
	advConserved(t, pool)
}

// The old writer's backend is killed before COMMIT while many batches are pipelined behind it: each caller
// hears outcome unknown or not applied, retries settle every transfer exactly once.
func TestAdversaryKillBeforeCommitWithPipelinedBatches(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 4, 1_000_000)
	_ = context.Background()
	entered := make(chan struct{})
	release := make(chan struct{})
	var once atomic.Bool
	postgres.SetFaults(s, func(pid uint32) {
		if once.CompareAndSwap(false, true) {
			close(entered)
			<-release
			_, _ = pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", int32(pid))
			time.Sleep(50 * time.Millisecond)
		}
	}, nil)
	var trs []ledger.Transfer
	for i := 0; i < 40; i++ {
		trs = append(trs, e.plain(w.banks[i%4], w.banks[(i+1)%4], int64(i+1)))
	}
	chs := []chan advAnswer{advSubmitAsync(s, trs[0])}
	<-entered
	for _, tr := range trs[1:] {
		chs = append(chs, advSubmitAsync(s, tr))
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	for i, ch := range chs {
		a := <-ch
		if a.err != nil && !isUnknownOrNotApplied(a.err) {
			t.Errorf("call %d: %v", i, a.err)
		}
	}
	waitRecovered(t, s, 1)
	for i, tr := range trs {
		r := submit(t, s, tr)
		if r[0] != ledger.OK && r[0] != ledger.Exists {
			t.Errorf("retry %d: %v", i, r[0])
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE code = 2"); n != 40 {
		t.Errorf("transfers stored: %d, want 40", n)
	}
	advConserved(t, pool)
}

// The restore itself fails (accounts locked) while recovering: the store keeps trying and resumes.
func TestAdversaryFailureDuringRecovery(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.WriteTimeout = 500 * time.Millisecond
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	ctx := context.Background()
	lockTx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	postgres.SetFaults(s, nil, func() error {
		if once.CompareAndSwap(false, true) {
			if _, err := lockTx.Exec(ctx, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Error(err)
			}
			return errors.New("lost")
		}
		return nil
	})
	tr := e.plain(w.banks[0], w.banks[1], 5)
	if _, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{tr}}); !errors.Is(err, postgres.ErrOutcomeUnknown) {
		t.Fatalf("got %v", err)
	}
	// While restore cannot read, a caller waits (or times out with its own context).
	cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	_, err = s.Submit(cctx, postgres.Submission{Transfers: []ledger.Transfer{e.plain(w.banks[0], w.banks[1], 1)}})
	cancel()
	t.Logf("during failed recovery: %v", err)
	_ = lockTx.Rollback(ctx)
	waitRecovered(t, s, 1)
	wantResults(t, "retry", submit(t, s, tr), ledger.Exists)
	advConserved(t, pool)
}

// ---- 4. Two callers at once ----

func TestAdversaryTwoCallersSameIDSameBatch(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 3, 1_000)
	ctx := context.Background()
	lock := lockTransfers(t, pool)
	blk := advSubmitAsync(s, e.plain(w.banks[0], w.banks[1], 1))
	time.Sleep(100 * time.Millisecond)
	x := e.plain(w.banks[0], w.banks[1], 10)
	ev := func() []postgres.Event {
		return []postgres.Event{{Transfer: x.ID, Topic: "ledger.adv", Key: "k", Type: "t", Payload: []byte(`{}`)}}
	}
	acct := ledger.Account{ID: e.id(), Ledger: 9, Kind: ledger.KindCustomer, Name: "twice", ExternalKey: "IR1"}
	acct2 := ledger.Account{ID: e.id(), Ledger: 9, Kind: ledger.KindCustomer, Name: "other", ExternalKey: "IR1"}
	// A chain left open by one caller, next to another's complete chain.
	open1 := e.plain(w.banks[1], w.banks[2], 5)
	open1.Flags = ledger.FlagLinked
	c1 := e.plain(w.banks[2], w.banks[0], 5)
	c1.Flags = ledger.FlagLinked
	c2 := e.plain(w.banks[2], w.banks[1], 5)
	var wg sync.WaitGroup
	res := make([][]ledger.Result, 4)
	errs := make([]error, 4)
	var accRes [3][]ledger.AccountResult
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{x}, Events: ev()})
		}()
	}
	wg.Add(5)
	go func() {
		defer wg.Done()
		res[2], errs[2] = s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{open1}})
	}()
	go func() {
		defer wg.Done()
		res[3], errs[3] = s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{c1, c2}})
	}()
	go func() { defer wg.Done(); accRes[0], _ = s.CreateAccounts(ctx, []ledger.Account{acct}) }()
	go func() { defer wg.Done(); accRes[1], _ = s.CreateAccounts(ctx, []ledger.Account{acct}) }()
	go func() { defer wg.Done(); accRes[2], _ = s.CreateAccounts(ctx, []ledger.Account{acct2}) }()
	time.Sleep(200 * time.Millisecond)
	_ = lock.Rollback(ctx)
	wg.Wait()
	<-blk
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got := []ledger.Result{res[0][0], res[1][0]}
	if !(got[0] == ledger.OK && got[1] == ledger.Exists || got[0] == ledger.Exists && got[1] == ledger.OK) {
		t.Errorf("same id from two callers: %v", got)
	}
	wantResults(t, "open chain", res[2], ledger.LinkedEventChainOpen)
	wantResults(t, "closed chain", res[3], ledger.OK, ledger.OK)
	t.Logf("accounts: %v", accRes)
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE topic = 'ledger.adv'"); n != 1 {
		t.Errorf("events of the doubly submitted transfer: %d, want 1", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM accounts WHERE ledger = 9"); n != 1 {
		t.Errorf("accounts with the same key: %d, want 1", n)
	}
	advConserved(t, pool)
}

// ---- 5. Restart at the worst moment ----

// Close while a write waits behind LOCK TABLE, then reopen at once: the lock must be free, the audit clean.
func TestAdversaryCloseWhileStuckThenReopenAtOnce(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.WriteTimeout = time.Second
	s := e.open()
	w := e.setup(s, 2, 1_000)
	lock := lockTransfers(t, pool)
	x := e.plain(w.banks[0], w.banks[1], 10)
	a := advSubmitAsync(s, x)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	s.Close()
	t.Logf("close took %v", time.Since(start))
	r := <-a
	t.Logf("stuck caller: %v %v", r.res, r.err)
	_ = lock.Rollback(context.Background())
	s2, err := postgres.OpenStore(context.Background(), pool, e.cfg)
	if err != nil {
		t.Fatalf("reopen at once: %v", err)
	}
	defer s2.Close()
	rr := submit(t, s2, x)
	if r.err == nil && rr[0] != ledger.Exists {
		t.Errorf("acknowledged then lost: %v", rr)
	}
	advConserved(t, pool)
}

// ---- 6. Retention window edges ----

// Ids minted from a clock far behind and far ahead of the store's, repeated after the window and after a
// restart; a remembered rejection repeated after the window and after a restart; an old pending posted after
// the window; a post repeated after its pending left memory.
func TestAdversaryWindowEdges(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.Retention = time.Second
	s := e.open()
	w := e.setup(s, 2, 10_000)
	mint := func(at time.Time) ledger.ID {
		var id ledger.ID
		ms := at.UnixMilli()
		for i := 5; i >= 0; i-- {
			id[i] = byte(ms)
			ms >>= 8
		}
		rnd := e.id()
		copy(id[6:], rnd[6:])
		id[6] = id[6]&0x0f | 0x70
		id[8] = id[8]&0x3f | 0x80
		return id
	}
	now := e.clock.Now()
	behind := e.plain(w.banks[0], w.banks[1], 1)
	behind.ID = mint(now.Add(-24 * time.Hour))
	ahead := e.plain(w.banks[0], w.banks[1], 2)
	ahead.ID = mint(now.Add(500 * time.Millisecond)) // within the window ahead; farther is id_time_future
	farAhead := e.plain(w.banks[0], w.banks[1], 2)
	farAhead.ID = mint(now.Add(24 * time.Hour))
	wantResults(t, "far ahead", submit(t, s, farAhead), ledger.IDTimeFuture)
	v4 := e.plain(w.banks[0], w.banks[1], 3)
	v4.ID = ledger.ID{0x12, 0x34, 6: 0x40, 8: 0x80, 15: 1}
	rej := e.plain(w.banks[0], w.banks[1], 1_000_000)
	rejBehind := e.plain(w.banks[0], w.banks[1], 1_000_000)
	rejBehind.ID = mint(now.Add(-24 * time.Hour).Add(time.Millisecond))
	p := e.plain(w.banks[0], w.banks[1], 50)
	p.Flags = ledger.FlagPending
	wantResults(t, "first", submit(t, s, behind, ahead, v4, rej, rejBehind, p),
		ledger.OK, ledger.OK, ledger.OK, ledger.ExceedsBalance, ledger.ExceedsBalance, ledger.OK)
	post := ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: p.ID, Amount: 20}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			tr   ledger.Transfer
			want ledger.Result
		}{{behind, ledger.Exists}, {ahead, ledger.Exists}, {v4, ledger.Exists}, {rej, ledger.ExceedsBalance},
			{rejBehind, ledger.ExceedsBalance}} {
			c2 := c.tr
			if c.want == ledger.ExceedsBalance {
				c2.Amount = 1 // a repeat with fields that would fit must still answer the remembered code
			}
			wantResults(t, when, submit(t, s, c2), c.want)
		}
	}
	if err := e.clock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	submit(t, s, e.plain(w.banks[1], w.banks[0], 1))
	check("after the window")
	wantResults(t, "old pending posted after the window", submit(t, s, post), ledger.OK)
	if err := e.clock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	submit(t, s, e.plain(w.banks[1], w.banks[0], 1))
	wantResults(t, "post repeated after its pending left memory", submit(t, s, post), ledger.Exists)
	post2 := post
	post2.Amount = 0 // zero stands for the pending's amount: 50 ≠ 20
	wantResults(t, "post repeated with amount 0", submit(t, s, post2), ledger.ExistsWithDifferentFields)
	s.Close()
	s = e.open()
	defer s.Close()
	check("after a restart")
	if err := e.clock.Advance(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	submit(t, s, e.plain(w.banks[1], w.banks[0], 1))
	check("after the far-ahead id's time")
	advConserved(t, pool)
}

// ---- 7. Expiry on the simulated clock ----

// Many pendings expire in one batch; a post races the expiry in the same batch; the clock jumps a year.
func TestAdversaryExpiryManyAndRacingPost(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 10_000_000)
	var ps []ledger.Transfer
	for i := 0; i < 5000; i++ {
		p := e.plain(w.banks[0], w.banks[1], 1)
		p.Flags, p.Timeout = ledger.FlagPending, int64(1+i%3)
		ps = append(ps, p)
	}
	res := submit(t, s, ps...)
	for i, r := range res {
		if r != ledger.OK {
			t.Fatalf("pending %d: %v", i, r)
		}
	}
	lock := lockTransfers(t, pool)
	blk := advSubmitAsync(s, e.plain(w.banks[0], w.banks[1], 1))
	time.Sleep(100 * time.Millisecond)
	post := ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: ps[4999].ID}
	a := advSubmitAsync(s, post)
	time.Sleep(50 * time.Millisecond)
	if err := e.clock.Advance(365 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	_ = lock.Rollback(context.Background())
	<-blk
	r := <-a
	t.Logf("racing post: %v %v", r.res, r.err)
	deadline := time.Now().Add(20 * time.Second)
	for count(t, pool, "SELECT count(*) FROM pending_transfers WHERE state = 1") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still active: %d", count(t, pool, "SELECT count(*) FROM pending_transfers WHERE state = 1"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	posted := int64(0)
	if r.err == nil && r.res[0] == ledger.OK {
		posted = 1
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE type = $1", postgres.EventTypePendingExpired); n != 5000-posted {
		t.Errorf("expiry events: %d, want %d", n, 5000-posted)
	}
	advConserved(t, pool)
}

// ---- 8. Look-ups ----

func TestAdversaryAccountTransfersPaging(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	ctx := context.Background()
	for _, l := range []int{0, -1, postgres.PageTransfersMax + 1} {
		if _, err := s.AccountTransfers(ctx, w.banks[0], 0, l); err == nil {
			t.Errorf("limit %d accepted", l)
		}
	}
	var ts []ledger.Transfer
	for i := 0; i < 2500; i++ {
		if i%2 == 0 {
			ts = append(ts, e.plain(w.banks[0], w.banks[1], 1))
		} else {
			ts = append(ts, e.plain(w.banks[1], w.banks[0], 1))
		}
	}
	submit(t, s, ts...)
	for _, limit := range []int{1, 7, postgres.PageTransfersMax} {
		seen := map[ledger.ID]bool{}
		after, last := int64(0), int64(0)
		for {
			page, err := s.AccountTransfers(ctx, w.banks[0], after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("page of %d with limit %d", len(page), limit)
			}
			if len(page) == 0 {
				break
			}
			for _, tr := range page {
				if tr.Timestamp <= last || seen[tr.ID] {
					t.Fatalf("limit %d: out of order or repeated %s", limit, tr.ID)
				}
				last = tr.Timestamp
				seen[tr.ID] = true
			}
			after = last
		}
		if len(seen) != 2501 {
			t.Errorf("limit %d: %d transfers, want 2501", limit, len(seen))
		}
	}
	if page, err := s.AccountTransfers(ctx, w.banks[0], -1<<62, 1); err != nil || len(page) != 1 {
		t.Errorf("negative after: %v %v", page, err)
	}
	if page, err := s.AccountTransfers(ctx, e.id(), 0, 10); err != nil || len(page) != 0 {
		t.Errorf("unknown account: %v %v", page, err)
	}
}

// ---- 9. Decide misbehaving ----

// Regression (the adversary's defect 6): a Decide callback that panics used to unwind the writer goroutine and
// take the process down. Now its batch is dropped unwritten — including what it proposed before panicking —
// its caller hears ErrDecisionPanicked, and the writer reloads and goes on.
func TestAdversaryDecidePanics(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	half := e.plain(w.banks[0], w.banks[1], 300)
	err := s.Decide(context.Background(), func(d *postgres.Decision) {
		if _, ok, _ := d.Propose(postgres.Submission{Transfers: []ledger.Transfer{half}}); !ok {
			t.Error("proposal before the panic did not apply in memory")
		}
		panic("rail bug")
	})
	if !errors.Is(err, postgres.ErrDecisionPanicked) {
		t.Fatalf("decide: got %v, want ErrDecisionPanicked", err)
	}
	waitRecovered(t, s, 1)
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE id = $1", half.ID); n != 0 {
		t.Errorf("the panicking decision's proposal was written")
	}
	wantResults(t, "after the panic", submit(t, s, e.plain(w.banks[0], w.banks[1], 1_000)), ledger.OK)
	advConserved(t, pool)
}

// A Decide callback that proposes invalid things: each refused, nothing written, the batch's others commit.
func TestAdversaryDecideProposesInvalid(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	ctx := context.Background()
	x := e.plain(w.banks[0], w.banks[1], 10)
	err := s.Decide(ctx, func(d *postgres.Decision) {
		if _, ok, err := d.Propose(postgres.Submission{Transfers: []ledger.Transfer{x, x}}); ok {
			t.Errorf("duplicate ids proposed: ok (%v)", err)
		}
		y := x
		y.Reference = "\x00"
		if _, ok, _ := d.Propose(postgres.Submission{Transfers: []ledger.Transfer{y}}); ok {
			t.Error("NUL reference proposed: ok")
		}
		if err := d.Write(postgres.Row{Kind: "k", ID: "i", Status: "s", Body: []byte(`{"a":"\u0000"}`)}); err == nil {
			t.Error("row with \\u0000 written")
		}
		if err := d.Write(postgres.Row{Kind: "k\x00", ID: "i", Status: "s"}); err == nil {
			t.Error("row with NUL kind written")
		}
		big := make([]ledger.Transfer, postgres.RequestTransfersMax+1)
		if _, ok, err := d.Propose(postgres.Submission{Transfers: big}); ok || err == nil {
			t.Errorf("oversized proposal: %v %v", ok, err)
		}
		if _, ok, err := d.Propose(postgres.Submission{Transfers: []ledger.Transfer{x}}); !ok || err != nil {
			t.Errorf("valid proposal: %v %v", ok, err)
		}
		// The same id again in a second proposal of the same decision.
		if r, ok, _ := d.Propose(postgres.Submission{Transfers: []ledger.Transfer{x}}); ok || r[0] != ledger.Exists {
			t.Errorf("second proposal of the same id: %v %v", r, ok)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE id = $1", x.ID); n != 1 {
		t.Errorf("proposed transfer rows: %d", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM rejected_transfers"); n != 0 {
		t.Errorf("rejections remembered from proposals: %d", n)
	}
	advConserved(t, pool)
}

// Row bodies that encoding/json accepts: each alone, so the one jsonb refuses is named.
func TestAdversaryRowBodiesJsonbRefuses(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	ctx := context.Background()
	for _, body := range []string{`{"a":"\u0000"}`, `"\\u0000"`, `{"a":"\ud800"}`, `{"a":"\udc00x"}`, `{"\u0000":1}`, `1e999999`, `{"a":1,"a":2}`} {
		tr := e.plain(w.banks[0], w.banks[1], 1)
		rec := s.Stats().Recoveries
		_, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{tr},
			Rows: []postgres.Row{{Transfer: tr.ID, Kind: "k", ID: body, Status: "s", Body: []byte(body)}}})
		if isUnknownOrNotApplied(err) {
			t.Errorf("body %s: accepted by validate, refused by PostgreSQL: %v", body, err)
			waitRecovered(t, s, rec+1)
		} else {
			t.Logf("body %s: %v", body, err)
		}
	}
	advConserved(t, pool)
}
