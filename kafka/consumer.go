package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tasvieh/tasvieh/outbox"
)

// Limits of a consumer.
const (
	// fetchBytesMax is the most a consumer asks for in one fetch: two of the publisher's largest
	// batches, so a fetch is never too small for the batch at its offset.
	fetchBytesMax = 2 * writerBatchBytes
	// commitTimeout bounds committing one offset. The commit is attempted even when Consume is being
	// stopped, so that an event whose handler finished is not needlessly redelivered.
	commitTimeout = 5 * time.Second
	// consumeFailuresMax is how many consecutive failed fetches Consume tolerates before it returns.
	// kafka-go heals broken connections and group sessions itself; an error reaches us only after its
	// own retries.
	consumeFailuresMax = 10
	// consumeBackoffMin and consumeBackoffMax bound the pause after a failed fetch.
	consumeBackoffMin = 100 * time.Millisecond
	consumeBackoffMax = 5 * time.Second
	// fetchDeadlineMargin is added to FetchWait to make kafka-go's MaxWait. kafka-go uses MaxWait as
	// the socket read deadline of a fetch and asks the broker to wait MaxWait minus min(1 s, MaxWait/4)
	// for data. With a MaxWait under a second the broker's answer to an idle long-poll has only a
	// quarter of it to arrive before the deadline, and a busy broker (the embedded one answers from a
	// single loop) misses it: kafka-go logs an i/o timeout and reconnects. A MaxWait of FetchWait + 1 s
	// makes the broker wait exactly FetchWait and leaves its answer a full second.
	fetchDeadlineMargin = time.Second
)

// ErrMalformed is wrapped by Consume's error when a message on a topic is not an outbox event.
var ErrMalformed = errors.New("kafka: malformed message")

// Handler applies one event. It must be idempotent by event ID: Kafka delivers at least once, so the
// same event can arrive again after a crash, a rebalance or a relay retry. Deduplication is the
// handler's job, done in PostgreSQL in the same transaction as the event's effect (record the ID in the
// inbox table; if it is already there, do nothing and return nil).
//
// Returning nil lets Consume commit the event's offset; returning an error stops Consume without
// committing, so the event is delivered again to the next member of the group. The context is Consume's.
type Handler func(ctx context.Context, ev outbox.Event) error

// Consume joins the consumer group named group on topic and hands each event, in partition order, to h,
// committing its offset only after h returns nil. A new group starts from the oldest message.
//
// Consume blocks until ctx is done, and then returns nil; or until h fails, a message is not an outbox
// event (ErrMalformed), or the brokers stay unreachable, and then returns the error. It leaves the group
// when it returns, so the remaining members take over its partitions at once. Run one Consume per member;
// several in one process share the topic's partitions.
func (c *Cluster) Consume(ctx context.Context, group, topic string, h Handler) error {
	if group == "" {
		return errors.New("kafka: consume: empty group")
	}
	if err := outbox.ValidateTopic(topic); err != nil {
		return fmt.Errorf("kafka: consume: %w", err)
	}
	log := c.log.With("component", "kafka.consumer", "group", group, "topic", topic)
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:           c.brokers,
		GroupID:           group,
		Topic:             topic,
		Dialer:            c.dialer,
		MinBytes:          1,
		MaxBytes:          fetchBytesMax,
		MaxWait:           c.cfg.FetchWait + fetchDeadlineMargin,
		HeartbeatInterval: c.cfg.HeartbeatInterval,
		SessionTimeout:    c.cfg.SessionTimeout,
		RebalanceTimeout:  c.cfg.RebalanceTimeout,
		JoinGroupBackoff:  c.cfg.HeartbeatInterval,
		ReadBackoffMin:    c.cfg.FetchWait / 5,
		ReadBackoffMax:    c.cfg.FetchWait,
		CommitInterval:    c.cfg.CommitInterval,
		StartOffset:       kafkago.FirstOffset,
		Logger:            slogPrintf(log, slog.LevelDebug),
		ErrorLogger:       slogErrors(log),
	})
	defer func() {
		if cerr := r.Close(); cerr != nil {
			log.Warn("closing kafka reader", "err", cerr)
		}
	}()

	failures := 0
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			if failures >= consumeFailuresMax {
				return fmt.Errorf("kafka: consume group %q topic %q: %d failed fetches in a row: %w", group, topic, failures, err)
			}
			log.Warn("kafka fetch failed", "err", err, "failures", failures)
			if !sleep(ctx, backoff(failures, consumeBackoffMin, consumeBackoffMax)) {
				return nil
			}
			continue
		}
		failures = 0

		ev, err := decode(m)
		if err != nil {
			return fmt.Errorf("kafka: consume group %q: %w", group, err)
		}
		if err := h(ctx, ev); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while handling: not committed, so redelivered
			}
			return fmt.Errorf("kafka: consume group %q: handle event %s (topic %s, partition %d, offset %d): %w",
				group, ev.ID, m.Topic, m.Partition, m.Offset, err)
		}

		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		err = r.CommitMessages(cctx, m)
		cancel()
		if err != nil {
			// Not fatal: the offset stays where it was, the event comes again (to this member or the one
			// that now owns the partition) and the handler skips it as a duplicate.
			log.Warn("kafka commit failed; the event will be redelivered",
				"err", err, "partition", m.Partition, "offset", m.Offset, "event_id", ev.ID)
		}
	}
}

// decode turns a message written by Publisher back into its event, and checks it.
func decode(m kafkago.Message) (outbox.Event, error) {
	ev := outbox.Event{
		Topic:     m.Topic,
		Key:       string(m.Key),
		Payload:   m.Value,
		CreatedAt: m.Time.UTC(),
	}
	where := func(err error) error {
		return fmt.Errorf("%w: topic %s, partition %d, offset %d: %w", ErrMalformed, m.Topic, m.Partition, m.Offset, err)
	}
	for _, h := range m.Headers {
		switch h.Key {
		case outbox.HeaderID:
			ev.ID = string(h.Value)
		case outbox.HeaderType:
			ev.Type = string(h.Value)
		case outbox.HeaderSeq:
			seq, err := strconv.ParseInt(string(h.Value), 10, 64)
			if err != nil {
				return outbox.Event{}, where(fmt.Errorf("header %s: %w", outbox.HeaderSeq, err))
			}
			ev.Seq = seq
		}
	}
	if err := ev.Validate(); err != nil {
		return outbox.Event{}, where(err)
	}
	return ev, nil
}

// backoff is the pause after the given number of consecutive failures: lo, doubling, capped at hi.
func backoff(failures int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// sleep waits for d or until ctx is done, and reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
