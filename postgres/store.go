package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
)

// Limits of the batched writer.
const (
	// BatchTransfersMax caps the transfers decided and written in one database transaction. The prototype in
	// ARCHITECTURE.md peaked between 1,000 and 10,000 rows per COPY on 2 cores; past that, latency grows with no
	// gain in throughput.
	BatchTransfersMax = 8192
	// RequestTransfersMax caps one caller's request (a PAYA file is split by its caller); it keeps one request
	// within one batch.
	RequestTransfersMax = BatchTransfersMax
	// QueueRequestsMax bounds the requests waiting for the writer: past it, Submit blocks (back-pressure) until
	// its context ends.
	QueueRequestsMax = 65536
	// pipelineDepth is how many decided batches may wait for the database at once. The committer writes all
	// that wait in one transaction, so a request waits for at most the write in progress and its own, however
	// many batches the writer decided meanwhile; the bound keeps one transaction within a few BatchTransfersMax.
	pipelineDepth = 16
	// expiryTick is how often an idle writer commits an empty batch so that pending transfers expire on time.
	expiryTick = time.Second
)

// Errors of the store.
var (
	ErrClosed         = errors.New("postgres: store closed")
	ErrRequestTooLong = fmt.Errorf("postgres: request longer than %d transfers", RequestTransfersMax)
)

// Store is the durable ledger: one writer goroutine owns a ledger.Ledger in memory, decides queued requests in
// batches and writes each batch to PostgreSQL in one transaction before it answers any caller of that batch.
// The batch is one request when the writer is idle and grows with the queue, up to BatchTransfersMax.
type Store struct {
	pool  *pgxpool.Pool
	led   *ledger.Ledger
	now   func() time.Time
	log   *slog.Logger
	reqs  chan *request
	stop  chan struct{}
	done  chan struct{}
	close sync.Once

	// The pipeline: the writer decides batch n+1 while the committer writes batch n. inflight holds the decided
	// batches not yet confirmed, oldest first; only the writer goroutine touches it and the ledger.
	pipe     chan *decided
	outcomes chan outcome
	inflight []*decided
	epoch    uint64

	// onBatch, when set (tests), observes each persisted batch's size.
	onBatch func(transfers int)
}

type request struct {
	transfers []ledger.Transfer
	events    []outbox.Event
	accounts  []ledger.Account
	flags     *accountFlags
	reply     chan reply
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

// OpenStore restores the ledger from the database (accounts with their balances, every transfer for
// idempotency, the state of every pending transfer), checks its invariants and starts the writer.
func OpenStore(ctx context.Context, pool *pgxpool.Pool, now func() time.Time, log *slog.Logger) (*Store, error) {
	led, err := restore(ctx, pool)
	if err != nil {
		return nil, err
	}
	if err := led.CheckInvariants(); err != nil {
		return nil, fmt.Errorf("postgres: restored ledger: %w", err)
	}
	s := &Store{
		pool: pool, led: led, now: now, log: log,
		reqs: make(chan *request, QueueRequestsMax),
		stop: make(chan struct{}), done: make(chan struct{}),
		pipe: make(chan *decided, pipelineDepth), outcomes: make(chan outcome, pipelineDepth+1), epoch: 1,
	}
	go s.commit()
	go s.run()
	return s, nil
}

// Close stops the writer after the batch in flight; queued requests get ErrClosed.
func (s *Store) Close() {
	s.close.Do(func() { close(s.stop) })
	<-s.done
}

// Account reads an account's durable state from the database: the in-memory ledger belongs to the writer
// goroutine alone, and what it holds may not be written yet.
func (s *Store) Account(ctx context.Context, id ledger.ID) (ledger.Account, bool, error) {
	var a ledger.Account
	var uid pgtype.UUID
	err := s.pool.QueryRow(ctx, `SELECT id, ledger, kind, flags, name, debits_pending, debits_posted,
		credits_pending, credits_posted FROM accounts WHERE id = $1`, pgtype.UUID{Bytes: id, Valid: true}).Scan(
		&uid, &a.Ledger, &a.Kind, &a.Flags, &a.Name, &a.DebitsPending, &a.DebitsPosted, &a.CreditsPending, &a.CreditsPosted)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	a.ID = uid.Bytes
	return a, err == nil, err
}

// Submit queues transfers as one request and waits until they are decided and durable. Results are one per
// transfer, in order. The events are written in the same database transaction, and only when every transfer of
// the request is ledger.OK: a repeat (ledger.Exists) wrote its events the first time. A request must close its
// own linked chain.
func (s *Store) Submit(ctx context.Context, transfers []ledger.Transfer, events []outbox.Event) ([]ledger.Result, error) {
	if len(transfers) > RequestTransfersMax {
		return nil, ErrRequestTooLong
	}
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return nil, fmt.Errorf("postgres: event %d: %w", i, err)
		}
	}
	r, err := s.call(ctx, &request{transfers: transfers, events: events})
	return r.results, err
}

// CreateAccounts creates accounts through the writer, so that they are ordered with the transfers around them.
func (s *Store) CreateAccounts(ctx context.Context, accts []ledger.Account) ([]ledger.AccountResult, error) {
	r, err := s.call(ctx, &request{accounts: accts})
	return r.accountResults, err
}

// SetAccountFlags blocks, closes or reopens an account.
func (s *Store) SetAccountFlags(ctx context.Context, id ledger.ID, f ledger.AccountFlags) error {
	_, err := s.call(ctx, &request{flags: &accountFlags{id: id, flags: f}})
	return err
}

func (s *Store) call(ctx context.Context, r *request) (reply, error) {
	r.reply = make(chan reply, 1)
	select {
	case <-s.stop:
		return reply{}, ErrClosed
	default:
	}
	select {
	case s.reqs <- r:
	case <-s.stop:
		return reply{}, ErrClosed
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
	// Once queued the request will be decided: waiting for the answer does not follow ctx, because a caller who
	// left could not learn whether its transfers committed. It can always ask again with the same ids.
	select {
	case rep := <-r.reply:
		return rep, rep.err
	case <-s.done:
		select {
		case rep := <-r.reply:
			return rep, rep.err
		default:
			return reply{}, ErrClosed
		}
	}
}

func (s *Store) run() {
	defer close(s.done)
	tick := time.NewTicker(expiryTick)
	defer tick.Stop()
	var batch []*request
	for {
		batch = batch[:0]
		select {
		case <-s.stop:
			s.settleAll()
			close(s.pipe)
			s.drainClosed()
			return
		case o := <-s.outcomes:
			s.settle(o)
			continue
		case <-tick.C:
			s.commitTransfers(nil)
			continue
		case r := <-s.reqs:
			batch = append(batch, r)
		}
		n := len(batch[0].transfers)
	fill:
		for n < BatchTransfersMax {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				n += len(r.transfers)
			default:
				break fill
			}
		}
		s.process(batch)
	}
}

// decided is a batch the ledger has decided and the committer must write before anyone hears of it.
type decided struct {
	b      ledger.Batch
	reqs   []*request
	events []outbox.Event
	epoch  uint64
}

type outcome struct {
	d   *decided
	err error
}

// commit is the committer goroutine: it writes decided batches in order and only then answers their callers.
// Once a batch fails, every batch of the same epoch behind it (decided on top of the failed one) is refused
// too; the writer rolls them all back and starts a new epoch.
func (s *Store) commit() {
	var failed uint64
	var group []*decided
	for d := range s.pipe {
		// Everything decided while the last write ran goes into this one transaction.
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
		var err error
		var live []*decided
		for _, d := range group {
			if d.epoch > failed {
				live = append(live, d)
			}
		}
		if len(live) > 0 {
			if err = s.persist(live); err != nil {
				failed = live[len(live)-1].epoch
				s.log.Error("ledger batch not written", "batches", len(live), "err", err)
			}
		}
		for _, d := range group {
			derr := err
			if d.epoch <= failed && derr == nil {
				derr = errors.New("an earlier batch this one was decided on failed to write")
			}
			s.answer(d, derr)
			s.outcomes <- outcome{d, derr}
		}
	}
}

// answer replies to every caller of a decided batch, once it is durable or has failed.
func (s *Store) answer(d *decided, err error) {
	if err != nil {
		for _, r := range d.reqs {
			r.reply <- reply{err: fmt.Errorf("postgres: write batch: %w", err)}
		}
		return
	}
	if s.onBatch != nil {
		s.onBatch(len(d.b.Results))
	}
	off := 0
	for _, r := range d.reqs {
		end := off + len(r.transfers)
		r.reply <- reply{results: d.b.Results[off:end:end]}
		off = end
	}
}

// settle takes one committer outcome: a success retires the oldest in-flight batch; the first failure of an
// epoch rolls back every in-flight batch, newest first, so memory matches the database again.
func (s *Store) settle(o outcome) {
	if o.d.epoch != s.epoch {
		return // already rolled back with its epoch
	}
	if o.err == nil {
		if len(s.inflight) == 0 || s.inflight[0] != o.d {
			panic("postgres: committer outcome out of order")
		}
		s.inflight = s.inflight[1:]
		return
	}
	for i := len(s.inflight) - 1; i >= 0; i-- {
		s.led.Rollback(s.inflight[i].b)
	}
	s.inflight = nil
	s.epoch++
}

// settleAll waits until every decided batch is written or rolled back.
func (s *Store) settleAll() {
	for len(s.inflight) > 0 {
		s.settle(<-s.outcomes)
	}
}

func (s *Store) drainClosed() {
	for {
		select {
		case r := <-s.reqs:
			r.reply <- reply{err: ErrClosed}
		default:
			return
		}
	}
}

// process handles the requests in arrival order: consecutive transfer requests form one ledger batch; an
// account request is applied on its own between them.
func (s *Store) process(batch []*request) {
	start := 0
	for i, r := range batch {
		if r.transfers == nil && (r.accounts != nil || r.flags != nil) {
			s.commitTransfers(batch[start:i])
			s.commitAccounts(r)
			start = i + 1
		}
	}
	s.commitTransfers(batch[start:])
}

func (s *Store) commitAccounts(r *request) {
	// Accounts are written directly: everything decided before them must be settled first.
	s.settleAll()
	if r.flags != nil {
		old, ok := s.led.Account(r.flags.id)
		if !ok {
			r.reply <- reply{err: fmt.Errorf("postgres: account %s not found", r.flags.id)}
			return
		}
		if err := s.led.SetAccountFlags(r.flags.id, r.flags.flags); err != nil {
			r.reply <- reply{err: err}
			return
		}
		_, err := s.pool.Exec(context.Background(), "UPDATE accounts SET flags = $2 WHERE id = $1",
			pgUUID(r.flags.id), int32(r.flags.flags))
		if err != nil {
			_ = s.led.SetAccountFlags(r.flags.id, old.Flags)
		}
		r.reply <- reply{err: err}
		return
	}
	results := s.led.CreateAccounts(r.accounts)
	rows := make([][]any, 0, len(r.accounts))
	for i, a := range r.accounts {
		if results[i] != ledger.AccountOK {
			continue
		}
		rows = append(rows, []any{pgUUID(a.ID), int32(a.Ledger), int16(a.Kind), int32(a.Flags), a.Name})
	}
	var err error
	if len(rows) > 0 {
		_, err = s.pool.CopyFrom(context.Background(), pgx.Identifier{"accounts"},
			[]string{"id", "ledger", "kind", "flags", "name"}, pgx.CopyFromRows(rows))
	}
	if err != nil {
		s.led.RollbackAccounts(r.accounts, results)
		r.reply <- reply{err: fmt.Errorf("postgres: create accounts: %w", err)}
		return
	}
	r.reply <- reply{accountResults: results}
}

// commitTransfers decides the requests' transfers as one ledger batch, writes it in one transaction and then
// answers every caller. If the write fails the batch is rolled back in memory, so memory never runs ahead of
// the database, and every caller of the batch gets the error. A request that leaves its linked chain open is
// decided on its own (and fails with linked_event_chain_open), so that it cannot link into the next caller's
// transfers.
func (s *Store) commitTransfers(reqs []*request) {
	closed := reqs[:0:0]
	for _, r := range reqs {
		if n := len(r.transfers); n > 0 && r.transfers[n-1].Flags&ledger.FlagLinked != 0 && len(reqs) > 1 {
			s.commitGroup([]*request{r})
			continue
		}
		closed = append(closed, r)
	}
	s.commitGroup(closed)
}

func (s *Store) commitGroup(reqs []*request) {
	var all []ledger.Transfer
	if len(reqs) == 1 {
		all = reqs[0].transfers
	} else {
		for _, r := range reqs {
			all = append(all, r.transfers...)
		}
	}
	b := s.led.Commit(s.now().UnixNano(), all)
	if len(reqs) == 0 && len(b.Expired) == 0 {
		return
	}
	var events []outbox.Event
	off := 0
	for _, r := range reqs {
		ok := true
		for _, res := range b.Results[off : off+len(r.transfers)] {
			ok = ok && res == ledger.OK
		}
		if ok {
			events = append(events, r.events...)
		}
		off += len(r.transfers)
	}
	for len(s.inflight) >= pipelineDepth {
		s.settle(<-s.outcomes)
	}
	d := &decided{b: b, reqs: reqs, events: events, epoch: s.epoch}
	s.inflight = append(s.inflight, d)
	s.pipe <- d
}

func pgUUID(id ledger.ID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

func nullUUID(id ledger.ID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: !id.IsZero()} }
