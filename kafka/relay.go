package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// with each consecutive failure.
	relayBackoffMinDefault = 50 * time.Millisecond
	relayBackoffMaxDefault = 5 * time.Second
	// relayFailuresMaxDefault is how many failed rounds in a row Run tolerates before returning: with
	// the default backoff, about a minute of brokers or database unreachable.
	relayFailuresMaxDefault = 20
	// markTimeout bounds MarkSent. It runs even when Run is being stopped, so that events already
	// published are not published again on the next start.
	markTimeout = 5 * time.Second
)

// Source is the outbox the relay drains. The postgres adapter implements it over the outbox table.
type Source interface {
	// Pending returns up to limit unsent events in increasing Seq order, oldest first.
	Pending(ctx context.Context, limit int) ([]outbox.Event, error)
	// MarkSent records that the events with these sequences reached Kafka, so Pending skips them.
	MarkSent(ctx context.Context, seqs []int64) error
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
	// BackoffMin and BackoffMax bound the pause after a failed round. Default 50 ms and 5 s.
	BackoffMin, BackoffMax time.Duration
	// FailuresMax is how many failed rounds in a row Run tolerates before it returns the last error.
	// Default 20.
	FailuresMax int
}

// Relay moves events from an outbox Source to Kafka: it fetches pending events, publishes them, then
// marks them sent. An event is marked only after the brokers acknowledged it, so none is ever dropped;
// a failure between publishing and marking publishes it again, so consumers must deduplicate. Events
// are published in Seq order, so one key's events reach its partition in the order they were stored.
//
// Run exactly one Relay per outbox: two would interleave and break that order.
type Relay struct {
	src    Source
	sink   Sink
	cfg    RelayConfig
	log    *slog.Logger
	notify chan struct{}
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
	if cfg.FailuresMax == 0 {
		cfg.FailuresMax = relayFailuresMaxDefault
	}
	switch {
	case cfg.BatchSize < 1 || cfg.BatchSize > relayBatchMax:
		return nil, fmt.Errorf("kafka: relay: batch size %d not in 1..%d", cfg.BatchSize, relayBatchMax)
	case cfg.PollInterval < 0 || cfg.BackoffMin < 0 || cfg.FailuresMax < 0:
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

// Run relays until ctx is done, and then returns nil. After a failed round it waits, doubling the pause
// from BackoffMin to BackoffMax, and tries again; it returns the error after FailuresMax failed rounds in
// a row, or at once if an event is invalid (outbox.ErrInvalid: retrying cannot help, and skipping would
// drop it). Either way the events stay pending in the outbox for the next Run.
func (r *Relay) Run(ctx context.Context) error {
	failures := 0
	for {
		n, err := r.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, outbox.ErrInvalid) {
				return err
			}
			failures++
			if failures >= r.cfg.FailuresMax {
				return fmt.Errorf("kafka: relay: %d failed rounds in a row: %w", failures, err)
			}
			pause := backoff(failures, r.cfg.BackoffMin, r.cfg.BackoffMax)
			r.log.Warn("relay round failed; retrying", "err", err, "failures", failures, "backoff", pause)
			if !sleep(ctx, pause) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.log.Info("relay recovered", "failures", failures)
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
// not marked, and will be published again.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	events, err := r.src.Pending(ctx, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("kafka: relay: pending: %w", err)
	}
	if len(events) == 0 {
		return 0, nil
	}
	if len(events) > r.cfg.BatchSize {
		return 0, fmt.Errorf("kafka: relay: source returned %d events, asked for at most %d", len(events), r.cfg.BatchSize)
	}
	seqs := make([]int64, len(events))
	for i := range events {
		seqs[i] = events[i].Seq
		if i > 0 && seqs[i] <= seqs[i-1] {
			return 0, fmt.Errorf("kafka: relay: source returned seq %d after seq %d, want increasing order", seqs[i], seqs[i-1])
		}
	}
	if err := r.sink.Publish(ctx, events); err != nil {
		return 0, fmt.Errorf("kafka: relay: %w", err)
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := r.src.MarkSent(mctx, seqs); err != nil {
		return len(events), fmt.Errorf("kafka: relay: mark %d events sent (seq %d..%d): %w", len(events), seqs[0], seqs[len(seqs)-1], err)
	}
	r.log.Debug("relayed", "events", len(events), "first_seq", seqs[0], "last_seq", seqs[len(seqs)-1])
	return len(events), nil
}
