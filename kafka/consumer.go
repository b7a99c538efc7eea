package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tasvieh/tasvieh/outbox"
)

// Defaults and limits of a consumer.
const (
	// fetchBytesMax is the most a consumer asks for in one fetch: two of the publisher's largest
	// batches, so a fetch is never too small for the batch at its offset.
	fetchBytesMax = 2 * writerBatchBytes
	// commitTimeout bounds committing one offset. The commit is attempted even when a consumer is being
	// stopped, so that an event whose handler finished is not needlessly redelivered.
	commitTimeout = 5 * time.Second
	// consumeBackoffMinDefault and consumeBackoffMaxDefault bound the pause after a failed fetch, a failed
	// handler or a failed dead-letter write: it doubles with each failure in a row and then stays at the
	// cap. kafka-go heals broken connections and group sessions itself, so an error reaches us only after
	// its own retries; five seconds is the cap of kafka-go's own reconnects.
	consumeBackoffMinDefault = 100 * time.Millisecond
	consumeBackoffMaxDefault = 5 * time.Second
	// fetchDeadlineMargin is added to FetchWait to make kafka-go's MaxWait. kafka-go uses MaxWait as
	// the socket read deadline of a fetch and asks the broker to wait MaxWait minus min(1 s, MaxWait/4)
	// for data. With a MaxWait under a second the broker's answer to an idle long-poll has only a
	// quarter of it to arrive before the deadline, and a busy broker (the embedded one answers from a
	// single loop) misses it: kafka-go logs an i/o timeout and reconnects. A MaxWait of FetchWait + 1 s
	// makes the broker wait exactly FetchWait and leaves its answer a full second.
	fetchDeadlineMargin = time.Second
	// deadLetterSuffix names a topic's dead-letter topic: "paya.credit" → "paya.credit.dlq".
	deadLetterSuffix = ".dlq"
	// deadLetterReasonBytesMax bounds the reason header: one error message, which names the field and
	// the offset; a longer one is cut, so that a huge invalid value cannot bloat the header.
	deadLetterReasonBytesMax = 1024
	// deadLetterBytesMax bounds a dead letter's key, value and headers together, as publishChunkBytesMax
	// bounds a write: under kafka-go's batch limit and a real broker's default message.max.bytes
	// whatever the framing. A message that would be larger is dead-lettered without its value (a header
	// says so); the original stays at its offset in the source topic, which the headers name.
	deadLetterBytesMax = publishChunkBytesMax
)

// Headers a dead letter carries besides the original message's own headers.
const (
	// HeaderDeadLetterReason says why the message was dead-lettered: the decoding or handler error.
	HeaderDeadLetterReason = "tasvieh-dlq-reason"
	// HeaderDeadLetterTopic, HeaderDeadLetterPartition and HeaderDeadLetterOffset say where the original
	// message is, partition and offset in decimal.
	HeaderDeadLetterTopic     = "tasvieh-dlq-topic"
	HeaderDeadLetterPartition = "tasvieh-dlq-partition"
	HeaderDeadLetterOffset    = "tasvieh-dlq-offset"
	// HeaderDeadLetterGroup names the consumer group that gave up on it.
	HeaderDeadLetterGroup = "tasvieh-dlq-group"
	// HeaderDeadLetterValueDropped is present, with the value's size in bytes, when the value was left
	// out because the dead letter would have been larger than a broker accepts.
	HeaderDeadLetterValueDropped = "tasvieh-dlq-value-dropped"
)

// ErrMalformed marks a message that is not a valid outbox event: missing or bad headers, an invalid id,
// a payload that is not JSON, and so on. A consumer dead-letters such a message instead of handing it to
// its Handler; a Handler that finds a payload it can never apply returns an error wrapping ErrMalformed
// to have the message dead-lettered too.
var ErrMalformed = errors.New("kafka: malformed message")

// DeadLetterTopic returns the topic where consumers of topic put the messages they cannot handle.
// Start creates it with every configured topic.
func DeadLetterTopic(topic string) string { return topic + deadLetterSuffix }

// Handler applies one event. It must be idempotent by event ID: Kafka delivers at least once, so the
// same event can arrive again after a crash, a rebalance or a relay retry. Deduplication is the
// handler's job, done in PostgreSQL in the same transaction as the event's effect (record the ID in the
// inbox table; if it is already there, do nothing and return nil).
//
// Returning nil lets the consumer commit the event's offset. Any other error is retried: the consumer
// backs off and hands the same event to the handler again, for as long as it runs, without committing,
// and the partition waits behind it — order per key is kept. An error wrapping ErrMalformed instead says
// no retry can help: the message goes to the dead-letter topic and the consumer goes on. The context is
// the consumer's Run context.
type Handler func(ctx context.Context, ev outbox.Event) error

// ConsumerConfig tunes a Consumer. Every zero field takes the default given with it.
type ConsumerConfig struct {
	// BackoffMin and BackoffMax bound the pause after a failed fetch, a failed handler or a failed
	// dead-letter write: BackoffMin after the first failure, doubling with each failure in a row, capped
	// at BackoffMax. Default 100 ms and 5 s. There is no limit on the number of failures.
	BackoffMin, BackoffMax time.Duration
}

// ConsumerStats is a snapshot of a consumer's state, for an operator's dashboard or a health check.
type ConsumerStats struct {
	// Handled counts the events the handler applied (returned nil for).
	Handled int64
	// DeadLettered counts the messages published to the dead-letter topic instead.
	DeadLettered int64
	// FetchFailuresInRow counts the fetches failed in a row; zero once one succeeds.
	FetchFailuresInRow int
	// HandleFailuresInRow counts the failures in a row on the message being handled now — the handler's,
	// or the dead-letter write's; zero once it succeeds.
	HandleFailuresInRow int
	// LastError is the latest failure, kept after recovery (the counts in a row say whether it still
	// fails); nil if nothing has failed.
	LastError error
	// PartitionLag is, per partition this member reads, how many messages are not handled yet: the
	// partition's high watermark as of the latest fetch, minus the next offset to handle. It is an
	// estimate: a partition is listed from its first message after the member's latest rebalance, and
	// messages written since the latest fetch are not counted. Lag is its sum.
	PartitionLag map[int]int64
	Lag          int64
}

// Consumer is one member of a consumer group on one topic: it hands each event, in partition order, to
// its Handler and commits the event's offset only after the handler succeeded, so a crash replays rather
// than loses. A message that is not an event goes to the dead-letter topic. Failures — brokers away, the
// handler failing — are retried for as long as Run runs; only Run's context ends it.
type Consumer struct {
	c            *Cluster
	group, topic string
	dlq          string
	h            Handler
	cfg          ConsumerConfig
	log          *slog.Logger
	started      atomic.Bool

	// Run's own, when it needs one: a writer to the dead-letter topic, and whether that topic is known
	// to exist.
	dlqWriter *kafkago.Writer
	dlqReady  bool

	mu      sync.Mutex
	reader  *kafkago.Reader // set while Run runs, for Stats
	stats   ConsumerStats   // PartitionLag and Lag are kept in lag instead
	lag     map[int]int64
	current int // the partition of the message being handled, -1 between messages
}

// NewConsumer returns a member of the consumer group named group on topic, handing events to h. Start
// it with Run.
func (c *Cluster) NewConsumer(group, topic string, h Handler, cfg ConsumerConfig) (*Consumer, error) {
	if group == "" {
		return nil, errors.New("kafka: consumer: empty group")
	}
	if h == nil {
		return nil, errors.New("kafka: consumer: nil handler")
	}
	if err := outbox.ValidateTopic(topic); err != nil {
		return nil, fmt.Errorf("kafka: consumer: %w", err)
	}
	dlq := DeadLetterTopic(topic)
	if err := outbox.ValidateTopic(dlq); err != nil {
		return nil, fmt.Errorf("kafka: consumer: dead-letter topic of %q: %w", topic, err)
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = consumeBackoffMinDefault
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = max(consumeBackoffMaxDefault, cfg.BackoffMin)
	}
	switch {
	case cfg.BackoffMin < 0:
		return nil, errors.New("kafka: consumer: negative backoff")
	case cfg.BackoffMax < cfg.BackoffMin:
		return nil, fmt.Errorf("kafka: consumer: backoff max %v below min %v", cfg.BackoffMax, cfg.BackoffMin)
	}
	return &Consumer{
		c:       c,
		group:   group,
		topic:   topic,
		dlq:     dlq,
		h:       h,
		cfg:     cfg,
		log:     c.log.With("component", "kafka.consumer", "group", group, "topic", topic),
		lag:     map[int]int64{},
		current: -1,
	}, nil
}

// Consume runs a Consumer with the default ConsumerConfig until ctx is done: see Consumer.Run. It
// returns nil then, or an error at once when group, topic or h is invalid.
func (c *Cluster) Consume(ctx context.Context, group, topic string, h Handler) error {
	co, err := c.NewConsumer(group, topic, h, ConsumerConfig{})
	if err != nil {
		return err
	}
	return co.Run(ctx)
}

// Run joins the group and consumes until ctx is done, and then returns nil; nothing else ends it. A new
// group starts from the oldest message.
//
// A failed fetch is logged (a warning with the count and the pause) and retried after a pause that
// doubles from BackoffMin to BackoffMax. A handler error is retried the same way, on the same event,
// which is not committed meanwhile. A malformed message, or one whose handler returns an error wrapping
// ErrMalformed, is published as it came to the topic's dead-letter topic with headers saying why and
// where from (HeaderDeadLetterReason and the others), logged, committed and passed over, so it stalls
// nothing. Recovery from a run of failures is logged too. Stats shows all of it while Run runs.
//
// The pauses have no random jitter, so tests and simulated runs replay exactly: a group has a handful of
// members, no herd to spread out.
//
// Run leaves the group when it returns, so the remaining members take over its partitions at once. A
// Consumer runs once: a second Run returns an error. Run one Consumer per member; several in one process
// share the topic's partitions.
func (co *Consumer) Run(ctx context.Context) error {
	if !co.started.CompareAndSwap(false, true) {
		return fmt.Errorf("kafka: consumer group %q topic %q: Run called twice", co.group, co.topic)
	}
	cfg := co.c.cfg
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:           co.c.brokers,
		GroupID:           co.group,
		Topic:             co.topic,
		Dialer:            co.c.dialer,
		MinBytes:          1,
		MaxBytes:          fetchBytesMax,
		MaxWait:           cfg.FetchWait + fetchDeadlineMargin,
		HeartbeatInterval: cfg.HeartbeatInterval,
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		JoinGroupBackoff:  cfg.HeartbeatInterval,
		ReadBackoffMin:    cfg.FetchWait / 5,
		ReadBackoffMax:    cfg.FetchWait,
		CommitInterval:    cfg.CommitInterval,
		StartOffset:       kafkago.FirstOffset,
		Logger:            slogPrintf(co.log, slog.LevelDebug),
		ErrorLogger:       slogErrors(co.log),
	})
	co.mu.Lock()
	co.reader = r
	co.mu.Unlock()
	defer func() {
		if err := r.Close(); err != nil {
			co.log.Warn("closing kafka reader", "err", err)
		}
		if co.dlqWriter != nil {
			if err := co.dlqWriter.Close(); err != nil {
				co.log.Warn("closing kafka dead-letter writer", "err", err)
			}
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
			pause := backoff(failures, co.cfg.BackoffMin, co.cfg.BackoffMax)
			co.update(func(s *ConsumerStats) { s.FetchFailuresInRow, s.LastError = failures, err })
			co.log.Warn("kafka fetch failed; retrying", "err", err, "failures", failures, "backoff", pause)
			if !sleep(ctx, pause) {
				return nil
			}
			continue
		}
		if failures > 0 {
			co.log.Info("kafka fetch recovered", "failures", failures)
			failures = 0
			co.update(func(s *ConsumerStats) { s.FetchFailuresInRow = 0 })
		}

		co.observe(m, false)
		if !co.handle(ctx, m) {
			return nil // stopped while handling: not committed, so redelivered
		}
		co.observe(m, true)

		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		err = r.CommitMessages(cctx, m)
		cancel()
		if err != nil {
			// Not fatal: the offset stays where it was, the event comes again (to this member or the one
			// that now owns the partition) and the handler skips it as a duplicate.
			co.log.Warn("kafka commit failed; the event will be redelivered",
				"err", err, "partition", m.Partition, "offset", m.Offset)
		}
	}
}

// handle hands m to the handler, or to the dead-letter topic, until one of them succeeds, and reports
// true; it reports false when ctx ended first.
func (co *Consumer) handle(ctx context.Context, m kafkago.Message) bool {
	ev, reason := decode(m)
	for failures := 0; ; {
		var err error
		what := "kafka handler"
		if reason == nil {
			if err = co.h(ctx, ev); err == nil {
				co.update(func(s *ConsumerStats) { s.Handled++; s.HandleFailuresInRow = 0 })
				if failures > 0 {
					co.log.Info("kafka handler recovered", "failures", failures,
						"partition", m.Partition, "offset", m.Offset, "event_id", ev.ID)
				}
				return true
			}
			if ctx.Err() != nil {
				return false
			}
			if errors.Is(err, ErrMalformed) {
				reason = fmt.Errorf("kafka: handler: event %s (topic %s, partition %d, offset %d): %w",
					ev.ID, m.Topic, m.Partition, m.Offset, err)
				continue // no retry can help: dead-letter it
			}
		} else {
			what = "kafka dead-letter write"
			if err = co.deadLetter(ctx, m, reason); err == nil {
				co.update(func(s *ConsumerStats) { s.DeadLettered++; s.HandleFailuresInRow = 0 })
				co.log.Warn("kafka message dead-lettered", "reason", reason, "dead_letter_topic", co.dlq,
					"partition", m.Partition, "offset", m.Offset)
				return true
			}
			if ctx.Err() != nil {
				return false
			}
		}
		failures++
		pause := backoff(failures, co.cfg.BackoffMin, co.cfg.BackoffMax)
		co.update(func(s *ConsumerStats) { s.HandleFailuresInRow, s.LastError = failures, err })
		co.log.Warn(what+" failed; retrying the same message", "err", err, "failures", failures, "backoff", pause,
			"partition", m.Partition, "offset", m.Offset, "event_id", ev.ID)
		if !sleep(ctx, pause) {
			return false
		}
	}
}

// deadLetter publishes m as it came to the dead-letter topic, with headers saying why and where from.
func (co *Consumer) deadLetter(ctx context.Context, m kafkago.Message, reason error) error {
	if !co.dlqReady {
		// Start created it with the configured topics, but the consumed topic need not be one of them.
		// A failure here is not final: the topic may exist and creating it be forbidden; the write says.
		if err := co.c.ensureTopics(ctx, []string{co.dlq}); err != nil {
			co.log.Debug("kafka dead-letter topic not confirmed", "err", err, "dead_letter_topic", co.dlq)
		} else {
			co.dlqReady = true
		}
	}
	if co.dlqWriter == nil {
		co.dlqWriter = &kafkago.Writer{
			Addr:            kafkago.TCP(co.c.brokers...),
			Balancer:        &kafkago.Murmur2Balancer{},
			MaxAttempts:     writerAttemptsMax,
			WriteBackoffMin: writerBackoffMin,
			WriteBackoffMax: writerBackoffMax,
			BatchSize:       1,
			BatchBytes:      writerBatchBytes,
			BatchTimeout:    writerLinger,
			RequiredAcks:    kafkago.RequireAll,
			Transport:       co.c.transport,
			Logger:          slogPrintf(co.log, slog.LevelDebug),
			ErrorLogger:     slogErrors(co.log),
		}
	}
	if err := co.dlqWriter.WriteMessages(ctx, deadLetterMessage(co.dlq, co.group, m, reason)); err != nil {
		return fmt.Errorf("kafka: dead-letter topic %s, partition %d offset %d to %s: %w", m.Topic, m.Partition, m.Offset, co.dlq, err)
	}
	return nil
}

// deadLetterMessage is m addressed to topic dlq, keeping its key, value, time and headers, with the dead
// letter's own headers added.
func deadLetterMessage(dlq, group string, m kafkago.Message, reason error) kafkago.Message {
	why := reason.Error()
	if len(why) > deadLetterReasonBytesMax {
		why = why[:deadLetterReasonBytesMax]
	}
	headers := append(make([]kafkago.Header, 0, len(m.Headers)+6), m.Headers...)
	headers = append(headers,
		kafkago.Header{Key: HeaderDeadLetterReason, Value: []byte(why)},
		kafkago.Header{Key: HeaderDeadLetterTopic, Value: []byte(m.Topic)},
		kafkago.Header{Key: HeaderDeadLetterPartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
		kafkago.Header{Key: HeaderDeadLetterOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
		kafkago.Header{Key: HeaderDeadLetterGroup, Value: []byte(group)},
	)
	value := m.Value
	size := recordOverheadBytes + len(m.Key) + len(value)
	for _, h := range headers {
		size += len(h.Key) + len(h.Value)
	}
	if size > deadLetterBytesMax {
		headers = append(headers, kafkago.Header{Key: HeaderDeadLetterValueDropped, Value: strconv.AppendInt(nil, int64(len(value)), 10)})
		value = nil
	}
	return kafkago.Message{Topic: dlq, Key: m.Key, Value: value, Time: m.Time, Headers: headers}
}

// observe records the partition lag at m: m itself included while it is being handled, not once done.
func (co *Consumer) observe(m kafkago.Message, done bool) {
	lag := m.HighWaterMark - m.Offset
	if done {
		lag--
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	co.lag[m.Partition] = max(lag, 0)
	co.current = m.Partition
	if done {
		co.current = -1
	}
}

func (co *Consumer) update(f func(*ConsumerStats)) {
	co.mu.Lock()
	defer co.mu.Unlock()
	f(&co.stats)
}

// Stats returns a snapshot of the consumer's counters and lag. It is safe to call while Run runs.
func (co *Consumer) Stats() ConsumerStats {
	co.mu.Lock()
	defer co.mu.Unlock()
	if co.reader != nil && co.reader.Stats().Rebalances > 0 {
		// The member may have lost partitions: forget all but the one being handled; the others come
		// back with their next message. kafka-go's counters count since its previous Stats call.
		for p := range co.lag {
			if p != co.current {
				delete(co.lag, p)
			}
		}
	}
	s := co.stats
	s.PartitionLag = maps.Clone(co.lag)
	for _, n := range co.lag {
		s.Lag += n
	}
	return s
}

// decode turns a message written by Publisher back into its event, and checks it. Its errors wrap
// ErrMalformed and, when a field is invalid, outbox.ErrInvalid.
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

// backoff is the pause after the given number of consecutive failures: lo, doubling, capped at hi. It
// stays at hi however many failures follow.
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
