package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tasvieh/tasvieh/outbox"
)

// Defaults and limits of a relay.
const (
	// relayBatchDefault is how many events a relay round moves by default: large enough to amortise a
	// round trip to PostgreSQL and one to the brokers, small enough to keep a round well under a second.
	relayBatchDefault = 500
	// relayBatchMax bounds RelayConfig.BatchSize at what the publisher writes in one go.
	relayBatchMax = publishChunkEventsMax
	// relayPollDefault is how long an idle relay waits before looking again without a Notify.
	relayPollDefault = 50 * time.Millisecond
	// relayBackoffMinDefault and relayBackoffMaxDefault bound the pause after a failed round; it doubles
	// with each consecutive failure and then stays at the cap for as long as the failures last. Five
	// seconds is the cap kafka-go's own reader uses between reconnects, and keeps a relay that has been
	// failing for an hour within five seconds of noticing the brokers are back.
	relayBackoffMinDefault = 50 * time.Millisecond
	relayBackoffMaxDefault = 5 * time.Second
	// markTimeout bounds MarkSent. It runs even when Run is being stopped, so that events already
	// published are not published again on the next start.
	markTimeout = 5 * time.Second
)

// Source is the outbox the relay drains. The postgres adapter implements it over the outbox table.
type Source interface {
	// Pending returns up to limit unsent events in increasing Seq order, oldest first. Every unsent event
	// it leaves out must have a higher Seq than every one it returns, also events that become visible
	// later (a writer's transaction still open): the relay only moves up, and per key Kafka keeps the order
	// it publishes in. The postgres outbox guarantees this by making writers take turns.
	Pending(ctx context.Context, limit int) ([]outbox.Event, error)
	// MarkSent records that the events with these sequences reached Kafka, so Pending skips them. seqs are
	// what Pending returned (a prefix of the unsent events): a Source may keep only the highest, as a cursor.
	MarkSent(ctx context.Context, seqs []int64) error
	// Lag counts the events Pending would still return, and gives the CreatedAt of the oldest of them
	// (the zero time when there are none).
	Lag(ctx context.Context) (unsent int64, oldest time.Time, err error)
}

// Sink is where the relay publishes; *Publisher is the real one.
type Sink interface {
	Publish(ctx context.Context, events []outbox.Event) error
}

var _ Sink = (*Publisher)(nil)

// RelayConfig tunes a Relay. Every zero field takes the default given with it.
type RelayConfig struct {
	// BatchSize is the most events one round moves. Default 500, at most 1000.
	BatchSize int
	// PollInterval is how long an idle relay waits for a Notify before looking again. Default 50 ms.
	PollInterval time.Duration
	// BackoffMin and BackoffMax bound the pause after a failed round: BackoffMin after the first
	// failure, doubling with each failure in a row, capped at BackoffMax. Default 50 ms and 5 s.
	// There is no limit on the number of failures: Run retries for as long as it runs.
	BackoffMin, BackoffMax time.Duration
	// Now is the clock against which Stats measures the age of the oldest unsent event: the writers'
	// injected clock, since an event's CreatedAt is on it. Default time.Now.
	Now func() time.Time
}

// RelayStats is a snapshot of a relay's state, for an operator's dashboard or a health check.
type RelayStats struct {
	// Relayed counts the events this Relay published and then marked sent. An event published but not
	// marked (MarkSent failed) is counted when a later round publishes and marks it.
	Relayed int64
	// LastSeq is the Seq of the last event marked sent; zero before the first.
	LastSeq int64
	// FailuresInRow counts the rounds failed in a row; zero once a round succeeds.
	FailuresInRow int
	// LastError is the error of the latest failed round, kept after the relay recovers (FailuresInRow
	// says whether it still fails); nil if no round has failed. LastErrorAt is when it failed, on Now.
	LastError   error
	LastErrorAt time.Time
	// Unsent counts the events in the outbox not yet marked sent, and OldestUnsent is the CreatedAt of
	// the oldest of them (zero when there are none), both read from the Source by Stats. UnsentAge is
	// how long that event has waited: Now minus OldestUnsent, zero when there is none.
	Unsent       int64
	OldestUnsent time.Time
	UnsentAge    time.Duration
}

// Relay moves events from an outbox Source to Kafka: it fetches pending events, publishes them, then
// marks them sent. An event is marked only after the brokers acknowledged it, so none is ever dropped;
// a failure between publishing and marking publishes it again, so consumers must deduplicate. Events
// are published in Seq order, and the Source never makes an event pending below a Seq already relayed
// (see Source.Pending), so one key's events reach its partition in the order they were stored.
//
// Run exactly one Relay per outbox: two would interleave and break that order.
type Relay struct {
	src    Source
	sink   Sink
	cfg    RelayConfig
	log    *slog.Logger
	notify chan struct{}

	mu    sync.Mutex
	stats RelayStats // Unsent, OldestUnsent and UnsentAge stay zero here: Stats reads them fresh
}

// NewRelay returns a relay from src to sink. A nil log discards.
func NewRelay(src Source, sink Sink, cfg RelayConfig, log *slog.Logger) (*Relay, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = relayBatchDefault
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = relayPollDefault
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = relayBackoffMinDefault
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = max(relayBackoffMaxDefault, cfg.BackoffMin)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.BatchSize < 1 || cfg.BatchSize > relayBatchMax:
		return nil, fmt.Errorf("kafka: relay: batch size %d not in 1..%d", cfg.BatchSize, relayBatchMax)
	case cfg.PollInterval < 0 || cfg.BackoffMin < 0:
		return nil, errors.New("kafka: relay: negative setting")
	case cfg.BackoffMax < cfg.BackoffMin:
		return nil, fmt.Errorf("kafka: relay: backoff max %v below min %v", cfg.BackoffMax, cfg.BackoffMin)
	}
	return &Relay{
		src:    src,
		sink:   sink,
		cfg:    cfg,
		log:    log.With("component", "kafka.relay"),
		notify: make(chan struct{}, 1),
	}, nil
}

// Notify wakes an idle relay at once, instead of at its next poll. Call it after committing events to
// the outbox. It never blocks, and pokes that arrive while the relay is busy merge into one.
func (r *Relay) Notify() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done, and then returns nil; nothing else ends it. After a failed round —
// brokers or database unreachable, or an invalid event — it logs the failure with the count and the
// pause, waits (BackoffMin, doubling, capped at BackoffMax) and tries again, for as long as it takes;
// the events stay pending meanwhile, in order. A failing relay is seen in Stats and in the log: a warning
// per failed round, an error when the cause is an invalid event (outbox.ErrInvalid), which no retry
// heals — the row must be corrected in the outbox, and then the relay goes on by itself — and an info
// line when it recovers.
//
// The pause has no random jitter, so tests and simulated runs replay exactly: there is one relay per
// outbox, so no herd of clients to spread out.
func (r *Relay) Run(ctx context.Context) error {
	failures := 0
	var failingSince time.Time
	for {
		n, err := r.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			if failures == 1 {
				failingSince = r.cfg.Now()
			}
			pause := backoff(failures, r.cfg.BackoffMin, r.cfg.BackoffMax)
			level := slog.LevelWarn
			if errors.Is(err, outbox.ErrInvalid) {
				level = slog.LevelError
			}
			r.log.Log(ctx, level, "relay round failed; retrying", "err", err, "failures", failures, "backoff", pause)
			if !sleep(ctx, pause) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.log.Info("relay recovered", "failures", failures, "failing_for", r.cfg.Now().Sub(failingSince))
			failures = 0
		}
		if n > 0 {
			continue // there may be more behind this batch
		}
		t := time.NewTimer(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.notify:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce makes one round: it fetches up to BatchSize pending events, publishes them and marks them
// sent. It returns how many it published; an error with a non-zero count means they were published but
// not marked, and will be published again. Stats counts its successes and failures.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	n, last, err := r.round(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil { // a stop is not a failure
			r.stats.FailuresInRow++
			r.stats.LastError = err
			r.stats.LastErrorAt = r.cfg.Now()
		}
		return n, err
	}
	r.stats.FailuresInRow = 0
	r.stats.Relayed += int64(n)
	if n > 0 {
		r.stats.LastSeq = last
	}
	return n, nil
}

// round is RunOnce without the bookkeeping; it also returns the last seq it marked sent.
func (r *Relay) round(ctx context.Context) (int, int64, error) {
	events, err := r.src.Pending(ctx, r.cfg.BatchSize)
	if err != nil {
		return 0, 0, fmt.Errorf("kafka: relay: pending: %w", err)
	}
	if len(events) == 0 {
		return 0, 0, nil
	}
	if len(events) > r.cfg.BatchSize {
		return 0, 0, fmt.Errorf("kafka: relay: source returned %d events, asked for at most %d", len(events), r.cfg.BatchSize)
	}
	seqs := make([]int64, len(events))
	for i := range events {
		seqs[i] = events[i].Seq
		if i > 0 && seqs[i] <= seqs[i-1] {
			return 0, 0, fmt.Errorf("kafka: relay: source returned seq %d after seq %d, want increasing order", seqs[i], seqs[i-1])
		}
	}
	if err := r.sink.Publish(ctx, events); err != nil {
		return 0, 0, fmt.Errorf("kafka: relay: %w", err)
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	first, last := seqs[0], seqs[len(seqs)-1]
	if err := r.src.MarkSent(mctx, seqs); err != nil {
		return len(events), 0, fmt.Errorf("kafka: relay: mark %d events sent (seq %d..%d): %w", len(events), first, last, err)
	}
	r.log.Debug("relayed", "events", len(events), "first_seq", first, "last_seq", last)
	return len(events), last, nil
}

// Stats returns the relay's counters and reads the outbox lag from the Source. When the lag cannot be
// read (the database is down), it returns the counters with Unsent, OldestUnsent and UnsentAge zero, and
// the error. It is safe to call while Run runs.
func (r *Relay) Stats(ctx context.Context) (RelayStats, error) {
	r.mu.Lock()
	s := r.stats
	r.mu.Unlock()
	unsent, oldest, err := r.src.Lag(ctx)
	if err != nil {
		return s, fmt.Errorf("kafka: relay stats: %w", err)
	}
	s.Unsent, s.OldestUnsent = unsent, oldest
	if !oldest.IsZero() {
		s.UnsentAge = max(r.cfg.Now().Sub(oldest), 0)
	}
	return s, nil
}
