package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// ---- (1) AccountTransfers against a brute-force SQL ----

// adv2Brute is every transfer of an account with ts > after, in ts order, straight from the transfers table.
func adv2Brute(t *testing.T, e *env, acct ledger.ID, after int64) []ledger.ID {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT id FROM transfers WHERE (debit_account_id = $1 OR
		credit_account_id = $1) AND ts > $2 ORDER BY ts`, pgtype.UUID{Bytes: acct, Valid: true}, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledger.ID
	for rows.Next() {
		var id pgtype.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id.Bytes)
	}
	return out
}

func adv2Pages(t *testing.T, s *postgres.Store, acct ledger.ID, after int64, limit int) []ledger.ID {
	t.Helper()
	var out []ledger.ID
	for {
		page, err := s.AccountTransfers(context.Background(), acct, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		for _, tr := range page {
			if tr.DebitAccountID != acct && tr.CreditAccountID != acct {
				t.Fatalf("transfer %s of another account on %s's page", tr.ID, acct)
			}
			out = append(out, tr.ID)
		}
		after = page[len(page)-1].Timestamp
	}
}

func TestAdversary2AccountTransfersBruteForce(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 5, 1_000_000)
	b := w.banks
	ctx := context.Background()
	// Several writes of assorted shapes.
	for round := 0; round < 6; round++ {
		var ts []ledger.Transfer
		for i := 0; i < 7; i++ {
			ts = append(ts, e.plain(b[(round+i)%5], b[(round+i+1)%5], int64(1+i)))
		}
		submit(t, s, ts...)
		submit(t, s, e.plain(b[4], b[0], 3)) // b[4] and b[0] in a write of their own
	}
	// Pendings: one posted, one voided, one expired (no transfer row for the expiry), each in its own write.
	pend := func(from, to ledger.ID, timeout int64) ledger.Transfer {
		p := e.plain(from, to, 50)
		p.Flags, p.Timeout = ledger.FlagPending, timeout
		wantResults(t, "pending", submit(t, s, p), ledger.OK)
		return p
	}
	p1, p2, p3 := pend(b[0], b[1], 0), pend(b[1], b[2], 0), pend(b[2], b[3], 1)
	wantResults(t, "post", submit(t, s, ledger.Transfer{ID: e.id(), Flags: ledger.FlagPostPending, PendingID: p1.ID, Amount: 20}), ledger.OK)
	wantResults(t, "void", submit(t, s, ledger.Transfer{ID: e.id(), Flags: ledger.FlagVoidPending, PendingID: p2.ID}), ledger.OK)
	if err := e.clock.Advance(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, _ := s.PendingState(ctx, p3.ID)
		if st == ledger.PendingExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pending never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Merged writes: the first write waits for COMMIT while separate requests queue behind it; the persister
	// merges them into one transaction.
	entered, release := advBlockFirstCommit(s)
	first := advSubmitAsync(s, e.plain(b[0], b[3], 1))
	<-entered
	var as []chan advAnswer
	for i := 0; i < 20; i++ {
		as = append(as, advSubmitAsync(s, e.plain(b[i%5], b[(i+2)%5], 1), e.plain(b[(i+3)%5], b[i%5], 1)))
		time.Sleep(2 * time.Millisecond)
	}
	// A linked chain that fails: nothing applied.
	bad := e.plain(b[0], b[1], 1)
	bad.Flags = ledger.FlagLinked
	as = append(as, advSubmitAsync(s, bad, e.plain(b[1], b[2], 1<<40)))
	time.Sleep(50 * time.Millisecond)
	close(release)
	if a := <-first; a.err != nil {
		t.Fatal(a.err)
	}
	for _, a := range as {
		if a := <-a; a.err != nil {
			t.Fatal(a.err)
		}
	}
	postgres.SetFaults(s, nil, nil)
	t.Logf("writes %d, account_batches rows %d, transfers %d", s.Stats().Batches,
		count(t, pool, "SELECT count(*) FROM account_batches"), count(t, pool, "SELECT count(*) FROM transfers"))

	for _, acct := range append([]ledger.ID{w.issuance}, b...) {
		want := adv2Brute(t, e, acct, 0)
		for _, limit := range []int{1, 2, 3, 1000} {
			if got := adv2Pages(t, s, acct, 0, limit); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("account %s limit %d: got %d transfers, want %d", acct, limit, len(got), len(want))
			}
		}
		// after exactly at each range's edges, and one either side
		rows, err := pool.Query(ctx, "SELECT ts_first, ts_last FROM account_batches WHERE account_id = $1", pgtype.UUID{Bytes: acct, Valid: true})
		if err != nil {
			t.Fatal(err)
		}
		var edges []int64
		for rows.Next() {
			var f, l int64
			if err := rows.Scan(&f, &l); err != nil {
				t.Fatal(err)
			}
			edges = append(edges, f-1, f, f+1, l-1, l, l+1)
		}
		rows.Close()
		for _, after := range edges {
			want := adv2Brute(t, e, acct, after)
			for _, limit := range []int{1, 1000} {
				if got := adv2Pages(t, s, acct, after, limit); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("account %s after %d limit %d: got %d, want %d", acct, after, limit, len(got), len(want))
				}
			}
		}
	}
	// A post's legs are the pending's accounts.
	page, err := s.AccountTransfers(ctx, b[1], 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var posts int
	for _, tr := range page {
		if tr.Flags&ledger.FlagPostPending != 0 && tr.PendingID == p1.ID {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("post of p1 on the credit account's page: %d times", posts)
	}
	mustAudit(t, pool)
}

// ---- (2) Panic recovery ----

// adv2Hold runs a decider that blocks the writer goroutine until released, so requests queue into one batch.
func adv2Hold(t *testing.T, s *postgres.Store) (entered, release chan struct{}, done chan error) {
	entered, release, done = make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Decide(context.Background(), func(*postgres.Decision) { close(entered); <-release })
	}()
	<-entered
	return
}

func adv2WaitQueued(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Queued < n {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", s.Stats().Queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAdversary2PanicSharesBatch(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 3, 1_000)
	_, release, held := adv2Hold(t, s)
	a := e.plain(w.banks[0], w.banks[1], 10)
	b := e.plain(w.banks[1], w.banks[2], 10)
	ch1 := advSubmitAsync(s, a)
	adv2WaitQueued(t, s, 1)
	panicked := make(chan error, 2)
	go func() {
		panicked <- s.Decide(context.Background(), func(d *postgres.Decision) {
			d.Propose(postgres.Submission{Transfers: []ledger.Transfer{e.plain(w.banks[2], w.banks[0], 5)}})
			panic("first")
		})
	}()
	adv2WaitQueued(t, s, 2)
	go func() { // a second panicking decider in the same batch: it must never run
		panicked <- s.Decide(context.Background(), func(d *postgres.Decision) { panic("second") })
	}()
	adv2WaitQueued(t, s, 3)
	ch2 := advSubmitAsync(s, b)
	adv2WaitQueued(t, s, 4)
	close(release)
	if err := <-held; err != nil {
		t.Fatalf("holding decision: %v", err)
	}
	errs := []error{<-panicked, <-panicked}
	var np, nn int
	for _, err := range errs {
		switch {
		case errors.Is(err, postgres.ErrDecisionPanicked):
			np++
		case errors.Is(err, postgres.ErrNotApplied):
			nn++
		}
	}
	if np != 1 || nn != 1 {
		t.Errorf("panicking deciders answered %v, want one ErrDecisionPanicked and one ErrNotApplied", errs)
	}
	for i, ch := range []chan advAnswer{ch1, ch2} {
		if r := <-ch; !errors.Is(r.err, postgres.ErrNotApplied) {
			t.Errorf("sharer %d: %v %v, want ErrNotApplied", i, r.res, r.err)
		}
	}
	waitRecovered(t, s, 1)
	if n := count(t, pool, "SELECT count(*) FROM transfers WHERE id = ANY($1)", []pgtype.UUID{{Bytes: a.ID, Valid: true}, {Bytes: b.ID, Valid: true}}); n != 0 {
		t.Errorf("%d transfers of the dropped batch written", n)
	}
	wantResults(t, "retry", submit(t, s, a, b), ledger.OK, ledger.OK)
	// Twice in a row, and with a write in flight when it panics.
	entered, rel := advBlockFirstCommit(s)
	inflight := advSubmitAsync(s, e.plain(w.banks[0], w.banks[2], 1))
	<-entered
	for i := 0; i < 2; i++ {
		if i == 1 {
			close(rel)
		}
		if err := s.Decide(context.Background(), func(*postgres.Decision) { panic(i) }); !errors.Is(err, postgres.ErrDecisionPanicked) {
			t.Fatalf("panic %d: %v", i, err)
		}
	}
	if r := <-inflight; r.err != nil || r.res[0] != ledger.OK {
		t.Errorf("write in flight during the panic: %v %v, want ok", r.res, r.err)
	}
	waitRecovered(t, s, 3)
	wantResults(t, "after two panics", submit(t, s, e.plain(w.banks[2], w.banks[0], 1)), ledger.OK)
	advConserved(t, pool)
	mustAudit(t, pool)
}

// Regression (second adversarial pass): a decider that ended its goroutine with runtime.Goexit (t.FailNow,
// t.Fatal or t.SkipNow inside a decider) was not a panic: decideAll's recover returned nil, nobody was
// answered, and the writer goroutine unwound — the store dead for good, Err() silent. Deciders now run on a
// goroutine of their own; a Goexit is handled like a panic (ErrDecisionPanicked, reload, go on).
func TestAdversary2DeciderGoexit(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000)
	err := s.Decide(context.Background(), func(*postgres.Decision) { runtime.Goexit() })
	if !errors.Is(err, postgres.ErrDecisionPanicked) {
		t.Errorf("goexiting decider answered %v, want ErrDecisionPanicked", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{e.plain(w.banks[0], w.banks[1], 1)}})
	if err != nil {
		t.Errorf("store after a decider's Goexit: %v (Err() = %v), want it to go on", err, s.Err())
	} else {
		wantResults(t, "after goexit", res, ledger.OK)
	}
}

// ---- (3) Pin with many pipelined batches and the clock far past the window ----

func TestAdversary2PinManyBatchesInFlight(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	e.cfg.Retention = time.Second
	e.cfg.RetainedMax = 50
	s := e.open()
	w := e.setup(s, 3, 1_000)
	b := w.banks
	entered, release := advBlockFirstCommit(s)
	type sent struct {
		tr   ledger.Transfer
		want ledger.Result
		ch   chan advAnswer
	}
	var all []sent
	var firsts []sent
	send := func(tr ledger.Transfer, want ledger.Result) sent {
		x := sent{tr, want, advSubmitAsync(s, tr)}
		all = append(all, x)
		return x
	}
	firsts = append(firsts, send(e.plain(b[0], b[1], 1), ledger.OK))
	<-entered
	for i := 0; i < 60; i++ {
		if err := e.clock.Advance(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			firsts = append(firsts, send(e.plain(b[i%3], b[(i+1)%3], 1), ledger.OK))
		case 1:
			firsts = append(firsts, send(e.plain(b[0], b[2], 1_000_000), ledger.ExceedsBalance))
		case 2:
			p := e.plain(b[1], b[0], 1)
			p.Flags = ledger.FlagPending
			firsts = append(firsts, send(p, ledger.OK))
		}
		// repeats of earlier ones, throughout
		if len(firsts) > 3 { // not the latest ones: their goroutines may not have queued yet
			old := firsts[(i*7)%(len(firsts)-3)]
			want := old.want
			if want == ledger.OK {
				want = ledger.Exists
			}
			send(old.tr, want)
		}
		time.Sleep(3 * time.Millisecond)
		if i == 20 {
			go func() { time.Sleep(20 * time.Millisecond); close(release) }()
		}
	}
	for i, x := range all {
		a := <-x.ch
		if a.err != nil || len(a.res) != 1 || a.res[0] != x.want {
			t.Errorf("request %d (%s): %v %v, want %v", i, x.tr.ID, a.res, a.err, x.want)
		}
	}
	if n := s.Stats().Recoveries; n != 0 {
		t.Errorf("crash-stops: %d", n)
	}
	postgres.SetFaults(s, nil, nil)
	s.Close()
	// Restart at once, the clock far past everything: every repeat answered from the tables.
	if err := e.clock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	s = e.open()
	defer s.Close()
	for i, x := range firsts {
		want := x.want
		if want == ledger.OK {
			want = ledger.Exists
		}
		res, err := s.Submit(context.Background(), postgres.Submission{Transfers: []ledger.Transfer{x.tr}})
		if err != nil || res[0] != want {
			t.Errorf("after restart, repeat %d: %v %v, want %v", i, res, err, want)
		}
	}
	advConserved(t, pool)
	mustAudit(t, pool)
}

// ---- (4) The outbox trigger: the persister and a plain SQL writer concurrently ----

func TestAdversary2OutboxTwoWritersSeqOrder(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	e := newEnv(t, pool)
	s := e.open()
	defer s.Close()
	w := e.setup(s, 2, 1_000_000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ledgerEvents, plainEvents int
	var failures []error
	var fmu sync.Mutex
	fail := func(err error) { fmu.Lock(); failures = append(failures, err); fmu.Unlock() }
	wg.Add(3)
	go func() { // the store's persister, through many small writes with events
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tr := e.plain(w.banks[i%2], w.banks[(i+1)%2], 1)
			_, err := s.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{tr},
				Events: []postgres.Event{{Transfer: tr.ID, Topic: "t", Key: "k", Type: "x", Payload: []byte(`{}`)}}})
			if err != nil {
				fail(fmt.Errorf("ledger write %d: %w", i, err))
				return
			}
			ledgerEvents++
		}
	}()
	go func() { // a plain SQL writer: outbox rows in a transaction that lingers a little after its insert
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				fail(err)
				return
			}
			_, err = tx.Exec(ctx, `INSERT INTO outbox (id, topic, key, type, payload, created_at)
				VALUES (gen_random_uuid(), 't', 'k', 'plain', '\x7b7d', now())`)
			if err == nil {
				_, err = tx.Exec(ctx, "SELECT pg_sleep(0.002)")
			}
			if err == nil {
				err = tx.Commit(ctx)
			}
			if err != nil {
				_ = tx.Rollback(ctx)
				fail(fmt.Errorf("plain write %d: %w", i, err))
				return
			}
			plainEvents++
		}
	}()
	var order []int64
	go func() { // the relay's half: Pending, then MarkSent, never going back
		defer wg.Done()
		ob := postgres.NewOutbox(pool)
		for {
			select {
			case <-stop:
				return
			default:
			}
			evs, err := ob.Pending(ctx, 7)
			if err != nil {
				fail(err)
				return
			}
			var seqs []int64
			for _, ev := range evs {
				order = append(order, ev.Seq)
				seqs = append(seqs, ev.Seq)
			}
			if len(seqs) > 0 {
				if err := ob.MarkSent(ctx, seqs); err != nil {
					fail(err)
					return
				}
			}
		}
	}()
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Errorf("relay saw seq %d after %d", order[i], order[i-1])
			break
		}
	}
	t.Logf("ledger events %d, plain %d, relayed %d, crash-stops %d", ledgerEvents, plainEvents, len(order), s.Stats().Recoveries)
	if n := s.Stats().Recoveries; n != 0 {
		t.Errorf("crash-stops: %d", n)
	}
}
