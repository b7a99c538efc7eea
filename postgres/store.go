package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ledger"
)

// Limits and defaults of the batched writer.
const (
	// BatchTransfersMax caps the transfers decided in one ledger batch. The prototype in ARCHITECTURE.md peaked
	// between 1,000 and 10,000 rows per COPY on 2 cores; past that, latency grows with no gain in throughput.
	// One request may be longer than the room left in a batch: a batch closes when it reaches this figure, so
	// it holds at most BatchTransfersMax + RequestTransfersMax - 1 transfers.
	BatchTransfersMax = 8192
	// RequestTransfersMax caps one caller's request (a PAYA file is split by its caller).
	RequestTransfersMax = 8192
	// QueueRequestsMax bounds the requests waiting for the writer: past it, a caller blocks (back-pressure)
	// until its context ends.
	QueueRequestsMax = 65536
	// pipelineDepth is how many decided batches may wait for the database at once. The persister writes all
	// that wait in one transaction, so a request waits for at most the write in progress and its own.
	pipelineDepth = 16
	// RetentionDefault is how long transfer ids and remembered rejections stay in memory. Its only job is
	// speed: an id older than the window is answered from the tables at the cost of one indexed read. Five
	// minutes covers every retry a caller makes within one request's life (the API's deadline is seconds, a
	// Kafka redelivery after a rebalance well under a minute) with room to spare.
	RetentionDefault = 5 * time.Minute
	// RetainedMaxDefault caps the ids in memory whatever the window: about 200 bytes each, 2,000,000 is
	// some 400 MB, which keeps the process within 1 GiB under a sustained 6,600 transfers/s.
	RetainedMaxDefault = 2_000_000
	// WriteTimeoutDefault bounds one write transaction. A batch writes in tens of milliseconds; ten seconds
	// means the database is hung (a lock held, a full disk), and then the writer crash-stops rather than hang
	// every caller with it.
	WriteTimeoutDefault = 10 * time.Second
	// recoverBackoffMin and recoverBackoffMax bound the pause between attempts to reconnect and reload.
	recoverBackoffMin = 50 * time.Millisecond
	recoverBackoffMax = 400 * time.Millisecond
	// ExpiryTopic is where the store publishes a pending transfer's expiry, keyed by its ledger.
	ExpiryTopic = "ledger.events"
)

// Errors of the store. ErrOutcomeUnknown and ErrNotApplied are distinct from each other and from a
// rejection (a ledger.Result): callers must tell them apart.
var (
	ErrClosed         = errors.New("postgres: store closed")
	ErrRequestTooLong = fmt.Errorf("postgres: request longer than %d transfers", RequestTransfersMax)
	// ErrOutcomeUnknown: the request's write was sent and its outcome is not known (the connection broke, the
	// write timed out, COMMIT got no answer, the caller stopped waiting). It may or may not be applied. The
	// store reloads from the database and resumes by itself; submit the same ids again to learn the answer.
	ErrOutcomeUnknown = errors.New("postgres: outcome unknown")
	// ErrNotApplied: nothing of the request was written (it was decided on a state that a failed write
	// discarded, or its look-up failed). Retry it.
	ErrNotApplied = errors.New("postgres: not applied")
	// ErrLocked: another writer holds the ledger of this schema.
	ErrLocked = errors.New("postgres: another writer holds the ledger")
)

// Config configures a Store. Zero fields take the defaults given.
type Config struct {
	Clock        clock.Clock   // the injected clock: batch times and expiry timers. Default clock.Real().
	Log          *slog.Logger  // default: discard
	Retention    time.Duration // default RetentionDefault
	RetainedMax  int           // default RetainedMaxDefault
	WriteTimeout time.Duration // default WriteTimeoutDefault
}

// Store is the durable ledger: one writer goroutine owns a ledger.Ledger in memory, decides queued requests in
// batches and a persister writes each batch to PostgreSQL in one transaction before any caller hears of it.
//
// Crash-stop: on any write error the writer never guesses. It stops deciding, the callers of the failed write
// get ErrOutcomeUnknown and those decided after it ErrNotApplied; it closes its connection, waits until the
// server has ended that connection's backend (so a COMMIT still on its way has landed or never will), takes
// a new connection and the advisory lock again, rebuilds the ledger from the tables and resumes. Memory never
// runs ahead of the database because it is rebuilt from it, never undone by hand.
//
// One writer per schema: the write connection holds a session advisory lock for its whole life, and every
// write goes through that connection, so no write can happen without the lock.
type Store struct {
	pool  *pgxpool.Pool
	cfg   Config
	clk   clock.Clock
	log   *slog.Logger
	led   *ledger.Ledger // the writer goroutine's alone
	conn  *pgx.Conn      // the write connection, holding the lock; handed to the persister with each batch
	ident backendIdent
	lock  int64

	reqs  chan *request
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
	err   atomic.Pointer[error] // why the store stopped for good, if it did

	pipe     chan *decided
	outcomes chan outcome
	inflight []*decided
	epoch    uint64
	broken   bool
	timer    clock.Timer
	timerAt  int64

	stats storeStats
	hooks atomic.Pointer[hooks]
}

// Stats are the writer's counters, for an operator's graphs and the benchmark.
type Stats struct {
	Batches    int64 // transactions written
	Transfers  int64 // transfers written
	Recoveries int64 // crash-stops survived: reconnected and reloaded
	Queued     int   // requests waiting for the writer
}

type storeStats struct{ batches, transfers, recoveries atomic.Int64 }

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.stats.batches.Load(), Transfers: s.stats.transfers.Load(),
		Recoveries: s.stats.recoveries.Load(), Queued: len(s.reqs)}
}

// hooks let tests inject faults at the worst moments.
type hooks struct {
	beforeCommit func(pid uint32)    // inside the write transaction, just before COMMIT
	afterCommit  func() error        // after COMMIT succeeded: an error makes the outcome look unknown
	onBatch      func(transfers int) // each persisted batch's size
}

// backendIdent names one server backend for ever: a pid may be reused, not with the same start time.
type backendIdent struct {
	pid   uint32
	start time.Time
}

// OpenStore takes the writer's lock on the pool's schema, restores the ledger from the database (accounts with
// their balances, every active pending transfer, the transfers and rejections of the retention window), checks
// its invariants and starts the writer. It fails with ErrLocked when another writer runs on the schema.
func OpenStore(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Retention == 0 {
		cfg.Retention = RetentionDefault
	}
	if cfg.RetainedMax == 0 {
		cfg.RetainedMax = RetainedMaxDefault
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = WriteTimeoutDefault
	}
	if cfg.Retention < 0 || cfg.RetainedMax < 0 || cfg.WriteTimeout < 0 {
		return nil, errors.New("postgres: store: negative setting")
	}
	s := &Store{
		pool: pool, cfg: cfg, clk: cfg.Clock, log: cfg.Log.With("component", "ledger.writer"),
		reqs: make(chan *request, QueueRequestsMax),
		stop: make(chan struct{}), done: make(chan struct{}),
		pipe: make(chan *decided, pipelineDepth), outcomes: make(chan outcome, pipelineDepth+1), epoch: 1,
	}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		s.conn.Close(context.Background())
		return nil, err
	}
	go s.persistLoop()
	go s.run()
	return s, nil
}

// connect takes a connection of the pool's configuration out of the pool for good and the writer's lock on
// it.
func (s *Store) connect(ctx context.Context) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: writer connection: %w", err)
	}
	conn := pc.Hijack()
	var schema string
	var ok bool
	var id backendIdent
	err = conn.QueryRow(ctx, `SELECT current_schema(), hashtextextended('tasvieh.ledger.' || current_schema(), 0),
		pg_try_advisory_lock(hashtextextended('tasvieh.ledger.' || current_schema(), 0)),
		pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())`).Scan(
		&schema, &s.lock, &ok, &id.pid, &id.start)
	if err != nil {
		conn.Close(context.Background())
		return fmt.Errorf("postgres: writer lock: %w", err)
	}
	if !ok {
		var holder int64
		_ = conn.QueryRow(ctx, `SELECT coalesce((SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND ((classid::int8 << 32) | objid::int8) = $1 LIMIT 1), 0)`, s.lock).Scan(&holder)
		conn.Close(context.Background())
		return fmt.Errorf("%w of schema %s (server process %d): one writer per schema", ErrLocked, schema, holder)
	}
	s.conn, s.ident = conn, id
	return nil
}

// reload rebuilds the ledger from the database, through the write connection, in one snapshot.
func (s *Store) reload(ctx context.Context) error {
	now := s.clk.Now().UnixNano()
	led, err := restore(ctx, s.conn, now, s.cfg.Retention, s.cfg.RetainedMax)
	if err != nil {
		return err
	}
	if err := led.CheckInvariants(); err != nil {
		return fmt.Errorf("postgres: restored ledger: %w", err)
	}
	s.led = led
	s.timerAt = 0
	return nil
}

// Err says why the store stopped for good (another writer took the lock while it recovered), or nil.
func (s *Store) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Close stops accepting requests, finishes the writes in flight, answers queued requests with ErrClosed and
// closes the write connection, releasing the lock. Writes are bounded by WriteTimeout, so Close is too.
func (s *Store) Close() {
	s.close.Do(func() { close(s.stop) })
	<-s.done
}

// Submit queues a submission as one request and waits until it is decided and durable. Results are one per
// transfer, in order; each event and row is written in the same transaction as the transfer it is tied to,
// and only if that transfer was applied (see Submission). The error is ErrOutcomeUnknown, ErrNotApplied,
// ErrClosed, the context's, or an invalid submission's (then nothing was queued).
func (s *Store) Submit(ctx context.Context, sub Submission) ([]ledger.Result, error) {
	if err := sub.validate(); err != nil {
		return nil, err
	}
	if len(sub.Statements) > 0 {
		// A statement belongs to a decision, which knows whether its submission applied as a whole.
		return nil, &SubmissionError{"Statements", "only a decision's submission (Decision.Propose) may carry statements"}
	}
	r, err := s.call(ctx, &request{kind: kindSubmit, sub: sub})
	return r.results, err
}

// CreateAccounts creates accounts through the writer, in order with the transfers around them, and answers
// once they are durable.
func (s *Store) CreateAccounts(ctx context.Context, accts []ledger.Account) ([]ledger.AccountResult, error) {
	if len(accts) > RequestTransfersMax {
		return nil, fmt.Errorf("postgres: %d accounts in one request, more than %d", len(accts), RequestTransfersMax)
	}
	r, err := s.call(ctx, &request{kind: kindAccounts, accounts: accts})
	return r.accountResults, err
}

// SetAccountFlags blocks, closes or reopens an account, in order with the transfers around it.
func (s *Store) SetAccountFlags(ctx context.Context, id ledger.ID, f ledger.AccountFlags) error {
	_, err := s.call(ctx, &request{kind: kindFlags, flags: accountFlags{id: id, flags: f}})
	return err
}

// Decide runs d inside the writer, against the ledger's current state — the stable balances a rail's decision
// needs (the SATNA queue's releases, gridlock offsetting, a PAYA cycle's nets) — and commits what it proposes
// in that batch, atomically with the transfers around it. Decide returns once that is durable. d runs on the
// writer's goroutine: it must be quick, do no I/O and keep no reference to the Decision after it returns.
func (s *Store) Decide(ctx context.Context, d func(*Decision)) error {
	_, err := s.call(ctx, &request{kind: kindDecide, decide: d})
	return err
}

// DecideStart is Decide without waiting: it queues d for the writer and returns what waits for the answer
// (Decide's), which the caller must call once. A caller may start several decisions before it waits for the
// first: the writer runs them in the order they were started, each on the state the previous ones decided,
// and its persister writes them in that order — so if one does not commit, none after it in the same
// epoch does either (they answer ErrNotApplied or ErrOutcomeUnknown). That is how a rail keeps its own
// decisions flowing while each waits to be durable. An error of the start itself (the store closed, ctx
// done) means d will never run.
func (s *Store) DecideStart(ctx context.Context, d func(*Decision)) (wait func() error, err error) {
	r := &request{kind: kindDecide, decide: d}
	if err := s.send(ctx, r); err != nil {
		return nil, err
	}
	return func() error { _, err := s.wait(ctx, r); return err }, nil
}

// requestKind tells what a request asks of the writer.
type requestKind uint8

const (
	kindSubmit requestKind = 1 + iota
	kindAccounts
	kindFlags
	kindDecide
)

// Request states: a caller may leave a queued request; once the writer takes it, the caller must wait.
const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

type request struct {
	kind     requestKind
	sub      Submission       // kindSubmit
	accounts []ledger.Account // kindAccounts
	flags    accountFlags     // kindFlags
	decide   func(*Decision)  // kindDecide

	state atomic.Int32
	reply chan reply
}

func (r *request) transfers() int {
	switch r.kind {
	case kindSubmit:
		return len(r.sub.Transfers)
	case kindAccounts:
		return len(r.accounts)
	}
	return 1
}

type accountFlags struct {
	id    ledger.ID
	flags ledger.AccountFlags
}

type reply struct {
	results        []ledger.Result
	accountResults []ledger.AccountResult
	err            error
}

func (s *Store) call(ctx context.Context, r *request) (reply, error) {
	if err := s.send(ctx, r); err != nil {
		return reply{}, err
	}
	return s.wait(ctx, r)
}

// send queues r for the writer.
func (s *Store) send(ctx context.Context, r *request) error {
	r.reply = make(chan reply, 1)
	select {
	case <-s.stop:
		return s.closedErr()
	default:
	}
	select {
	case s.reqs <- r:
		return nil
	case <-s.stop:
		return s.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for the answer to a request sent.
func (s *Store) wait(ctx context.Context, r *request) (reply, error) {
	select {
	case rep := <-r.reply:
		return rep, rep.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return reply{}, ctx.Err() // never decided: nothing happened
		}
		// The writer has it: it may be written. The caller can ask again with the same ids.
		select {
		case rep := <-r.reply:
			return rep, rep.err
		default:
			return reply{}, fmt.Errorf("%w: stopped waiting: %w", ErrOutcomeUnknown, ctx.Err())
		}
	case <-s.done:
		select {
		case rep := <-r.reply:
			return rep, rep.err
		default:
			return reply{}, s.closedErr()
		}
	}
}

func (s *Store) closedErr() error {
	if err := s.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return ErrClosed
}

// run is the writer goroutine: it owns the ledger, decides batches and hands them to the persister.
func (s *Store) run() {
	defer close(s.done)
	defer s.release()
	var batch []*request
	for {
		if s.broken && !s.recover() {
			s.shutdown()
			return
		}
		s.armTimer()
		var tick <-chan time.Time
		if s.timer != nil {
			tick = s.timer.C()
		}
		batch = batch[:0]
		select {
		case <-s.stop:
			s.shutdown()
			return
		case o := <-s.outcomes:
			s.retire(o)
			continue
		case <-tick:
			s.timerAt = 0
			s.decideBatch(nil)
			continue
		case r := <-s.reqs:
			batch = append(batch, r)
		}
		n := batch[0].transfers()
	fill:
		for n < BatchTransfersMax {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				n += r.transfers()
			default:
				break fill
			}
		}
		s.decideBatch(batch)
	}
}

// armTimer sets the expiry timer on the injected clock to the ledger's next expiry.
func (s *Store) armTimer() {
	at, ok := s.led.NextExpiry()
	if !ok || at == s.timerAt {
		return
	}
	d := time.Duration(at - s.clk.Now().UnixNano())
	if s.timer == nil {
		s.timer = s.clk.NewTimer(d)
	} else {
		s.timer.Stop()
		s.timer.Reset(d)
	}
	s.timerAt = at
}

// release gives the lock back and closes the write connection, so that the next writer may open at once.
func (s *Store) release() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
	defer cancel()
	unlocked := false
	if s.conn != nil {
		_, err := s.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", s.lock)
		unlocked = err == nil
		s.conn.Close(ctx)
		s.conn = nil
	}
	if !unlocked {
		// The connection broke (a write timed out, say) while its backend may live on, stuck, holding the
		// lock: end it, so that the next writer can open at once.
		if err := s.endOldBackend(ctx); err != nil {
			s.log.Warn("ending the writer's backend at close", "err", err)
		}
	}
}

// shutdown waits for the writes in flight, stops the persister and answers whatever is still queued.
func (s *Store) shutdown() {
	for len(s.inflight) > 0 {
		s.retire(<-s.outcomes)
	}
	close(s.pipe)
	for range s.outcomes {
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	for {
		select {
		case r := <-s.reqs:
			r.reply <- reply{err: s.closedErr()}
		default:
			return
		}
	}
}

// retire takes one persister outcome: a success retires the oldest batch in flight; a failure breaks the
// writer, which then recovers before it decides anything else.
func (s *Store) retire(o outcome) {
	if len(s.inflight) == 0 || s.inflight[0] != o.d {
		panic("postgres: persister outcome out of order")
	}
	s.inflight = s.inflight[1:]
	if o.err != nil {
		s.broken = true
	}
}

// recover waits for every batch in flight to be answered, then reconnects and reloads until it succeeds or the
// store is closed (false). A batch decided before the failure and not yet written is answered ErrNotApplied by
// the persister, which refuses every batch of the failed epoch.
func (s *Store) recover() bool {
	for len(s.inflight) > 0 {
		s.retire(<-s.outcomes)
	}
	s.epoch++
	for attempt := 1; ; attempt++ {
		err := s.reconnect()
		if err == nil {
			s.broken = false
			s.stats.recoveries.Add(1)
			s.log.Warn("ledger writer resumed after a write error", "attempts", attempt)
			return true
		}
		if errors.Is(err, ErrLocked) {
			s.err.Store(&err)
			s.log.Error("ledger writer stopped for good", "err", err)
			return false
		}
		pause := min(recoverBackoffMin<<min(attempt-1, 10), recoverBackoffMax)
		s.log.Warn("ledger writer recovering", "err", err, "attempt", attempt, "backoff", pause)
		t := time.NewTimer(pause) // a real pause: the database's recovery is not on the injected clock
		select {
		case <-s.stop:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// reconnect closes the write connection, waits until the server has ended its backend, connects anew with
// the lock and reloads the ledger.
func (s *Store) reconnect() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
	defer cancel()
	if s.conn != nil {
		s.conn.Close(ctx)
		s.conn = nil
	}
	// The old backend may still be finishing a COMMIT; only once it is gone is the database final.
	if err := s.endOldBackend(ctx); err != nil {
		return err
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	if err := s.reload(ctx); err != nil {
		s.conn.Close(context.Background())
		s.conn = nil
		return err
	}
	return nil
}

// endOldBackend waits until the server has ended the write connection's backend, terminating it if it is
// still there (stuck behind a lock, say), so that its transaction and its lock are gone.
func (s *Store) endOldBackend(ctx context.Context) error {
	for {
		// Terminate it only when it is that very backend (pid and start time): a pid may have been reused.
		var alive int
		err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE pid = $1 AND backend_start = $2) AS old`, int32(s.ident.pid), s.ident.start).Scan(&alive)
		if err != nil {
			return fmt.Errorf("postgres: wait for the old writer backend: %w", err)
		}
		if alive == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: old writer backend %d still alive: %w", s.ident.pid, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// decided is a batch the ledger has decided and the persister must write before anyone hears of it.
type decided struct {
	b        ledger.Batch
	reqs     []*request
	results  [][]ledger.Result // per request, for kindSubmit
	accounts [][]ledger.AccountResult
	errs     []error // per request: an error decided before the write (the request is not part of it)
	created  []ledger.Account
	flags    []accountFlags
	events   []eventRow
	rows     []objectRow
	stmts    []Statement
	epoch    uint64
	at       int64 // the batch's time
	conn     *pgx.Conn
}

type outcome struct {
	d   *decided
	err error
}

// decideBatch decides the requests as one ledger batch and hands it to the persister.
func (s *Store) decideBatch(reqs []*request) {
	now := s.clk.Now().UnixNano()
	d := &decided{reqs: reqs[:0:0], epoch: s.epoch, conn: s.conn}
	for _, r := range reqs {
		if r.state.CompareAndSwap(stateQueued, stateTaken) {
			d.reqs = append(d.reqs, r)
		}
	}
	n := len(d.reqs)
	d.results, d.accounts, d.errs = make([][]ledger.Result, n), make([][]ledger.AccountResult, n), make([]error, n)
	if len(s.inflight) > 0 {
		s.led.Pin(s.inflight[0].at) // ids of writes still on their way stay in memory
	} else {
		s.led.Pin(0)
	}
	d.at = now
	s.led.Begin(now)
	if !s.decideAll(d, now) {
		return
	}
	b := s.led.End()
	d.b = b
	for _, id := range b.Expired {
		if t, ok := s.led.Transfer(id); ok {
			d.events = append(d.events, expiryEvent(t, now))
		}
	}
	if len(d.reqs) == 0 && len(b.Expired) == 0 && len(b.Accounts) == 0 {
		return // nothing to write: an expiry tick that found nothing
	}
	for len(s.inflight) >= pipelineDepth {
		s.retire(<-s.outcomes)
	}
	s.inflight = append(s.inflight, d)
	s.pipe <- d
}

// runDecider runs a rail's decider on a goroutine of its own while the writer waits for it, so that neither a
// panic nor runtime.Goexit (a test's t.Fatal inside a decider) can end the writer's goroutine; it returns what
// stopped the decider, or nil when it returned. The ledger passes between the two goroutines through the
// channel, never at once.
func runDecider(f func(*Decision), d *Decision) (stopped any) {
	done := make(chan struct{})
	go func() {
		finished := false
		defer close(done)
		defer func() {
			if !finished {
				if stopped = recover(); stopped == nil {
					stopped = "the decider ended its goroutine (runtime.Goexit)"
				}
			}
		}()
		f(d)
		finished = true
	}()
	<-done
	return stopped
}

// ErrDecisionPanicked is a Decide caller's answer when its decider panicked: nothing of the batch was
// written, and the writer rebuilt its state from the database.
var ErrDecisionPanicked = errors.New("postgres: decision panicked")

// decideAll decides each request of d in the open batch. A decider that panics (a bug in a rail) must not take
// the ledger down: the half-decided batch is dropped unwritten, its callers are answered (the decider's with
// ErrDecisionPanicked, the others ErrNotApplied), and the writer reloads from the database. It reports
// whether the batch may go on to be written.
func (s *Store) decideAll(d *decided, now int64) (ok bool) {
	culprit := -1
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		s.log.Error("a decision panicked: the batch is dropped and the writer reloads", "panic", p)
		for i, r := range d.reqs {
			err := fmt.Errorf("%w: a decision in the same batch panicked", ErrNotApplied)
			if i == culprit {
				err = fmt.Errorf("%w: %v", ErrDecisionPanicked, p)
			}
			r.reply <- reply{err: err}
		}
		s.broken = true
		ok = false
	}()
	s.prefetch(d)
	for i, r := range d.reqs {
		culprit = i
		if d.errs[i] != nil {
			continue
		}
		switch r.kind {
		case kindSubmit:
			res := s.led.Submit(r.sub.Transfers)
			d.results[i] = res
			d.tie(r.sub, res, now)
		case kindAccounts:
			res := s.led.CreateAccounts(r.accounts)
			d.accounts[i] = res
			for k, a := range r.accounts {
				if res[k] == ledger.AccountOK {
					d.created = append(d.created, a)
				}
			}
		case kindFlags:
			if err := s.led.SetAccountFlags(r.flags.id, r.flags.flags); err != nil {
				d.errs[i] = err
				continue
			}
			d.flags = append(d.flags, r.flags)
		case kindDecide:
			dec := &Decision{led: s.led, now: now, d: d}
			if p := runDecider(r.decide, dec); p != nil {
				panic(p) // handled below, like a panic of the writer's own
			}
			dec.led = nil
		}
	}
	return true
}

// prefetch looks up, before deciding, the ids the ledger cannot answer for from memory (ids older than the
// retention window, pending transfers it no longer holds) and loads what it finds. A request whose look-up
// fails is not decided: it is answered ErrNotApplied.
func (s *Store) prefetch(d *decided) {
	var missing []ledger.ID // duplicates across requests are harmless: the look-up loads each id once
	for _, r := range d.reqs {
		if r.kind == kindSubmit {
			missing = append(missing, s.led.Missing(r.sub.Transfers)...)
		}
	}
	if len(missing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
	defer cancel()
	if err := lookUp(ctx, s.pool, s.led, missing); err != nil {
		s.log.Warn("look-up of ids older than the window failed", "ids", len(missing), "err", err)
		for i, r := range d.reqs {
			if r.kind == kindSubmit && len(s.led.Missing(r.sub.Transfers)) > 0 {
				d.errs[i] = fmt.Errorf("%w: look-up of older ids: %w", ErrNotApplied, err)
			}
		}
	}
}

// persistLoop is the persister goroutine: it writes decided batches in order and only then answers their callers.
// Everything decided while the last write ran goes into one transaction. Once a write fails, every batch of
// the same epoch behind it (decided on top of the failed one) is refused unwritten; the writer recovers and
// starts a new epoch.
func (s *Store) persistLoop() {
	defer close(s.outcomes)
	var failed uint64
	var group []*decided
	for d := range s.pipe {
		group = append(group[:0], d)
	more:
		for len(group) < pipelineDepth {
			select {
			case d, ok := <-s.pipe:
				if !ok {
					break more
				}
				group = append(group, d)
			default:
				break more
			}
		}
		var live []*decided
		for _, d := range group {
			if d.epoch > failed {
				live = append(live, d)
			}
		}
		var err error
		if len(live) > 0 {
			if err = s.persist(live); err == nil {
				s.stats.batches.Add(1)
				for _, d := range live {
					s.stats.transfers.Add(int64(len(d.b.Applied)))
				}
			} else {
				failed = live[len(live)-1].epoch
				s.log.Error("ledger write failed: outcome unknown; the writer reloads from the database",
					"batches", len(live), "err", err)
				err = fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
		}
		for _, d := range group {
			derr := err
			if d.epoch <= failed && derr == nil {
				derr = fmt.Errorf("%w: a write before it failed", ErrNotApplied)
			}
			s.answer(d, derr)
			s.outcomes <- outcome{d, derr}
		}
	}
}

// answer replies to every caller of a decided batch, once it is durable or has failed.
func (s *Store) answer(d *decided, err error) {
	for i, r := range d.reqs {
		switch {
		case d.errs[i] != nil:
			r.reply <- reply{err: d.errs[i]}
		case err != nil:
			r.reply <- reply{err: err}
		default:
			r.reply <- reply{results: d.results[i], accountResults: d.accounts[i]}
		}
	}
}
