package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tasvieh/tasvieh/outbox"
)

// Limits of one write to the brokers.
const (
	// publishChunkEventsMax is the most events Publish hands kafka-go in one write, and kafka-go's batch
	// size, so one write makes at most one record batch per partition.
	publishChunkEventsMax = 1000
	// publishChunkBytesMax bounds the estimated size of one write. It stays under kafka-go's batch limit
	// (writerBatchBytes) whatever kafka-go's own per-record overhead, so kafka-go never splits a
	// partition's share of a write, and under a real broker's default message.max.bytes (1,048,588).
	// It is more than one event of outbox.PayloadBytesMax, so every event fits.
	publishChunkBytesMax = 768 << 10
	// recordOverheadBytes is a generous per-record allowance for the record's framing in the size
	// estimate: length, attributes, deltas and header counts are varints of a few bytes each.
	recordOverheadBytes = 64
	// writerBatchBytes is kafka-go's batch byte limit, its default, equal to Kafka's 1 MiB.
	writerBatchBytes = 1 << 20
	// writerLinger is how long kafka-go waits for a partial batch to fill. Publish is synchronous and
	// hands over everything it has at once, so waiting longer would only add latency; kafka-go's
	// default of a second would add a second to every publish.
	writerLinger = time.Millisecond
	// writerAttemptsMax is kafka-go's own retries of one partition's batch on a retriable error. The
	// relay retries whole rounds on top, so this stays small.
	writerAttemptsMax = 3
	// writerBackoffMin and writerBackoffMax bound kafka-go's pause between those attempts.
	writerBackoffMin = 20 * time.Millisecond
	writerBackoffMax = 500 * time.Millisecond
)

// Publisher writes outbox events to Kafka. It is safe for concurrent use, but only one caller's events
// keep their relative order: run one Relay per outbox.
type Publisher struct {
	w   *kafkago.Writer
	log *slog.Logger
}

// NewPublisher returns a Publisher writing to the cluster. Close it when done.
//
// Each event goes to its Topic, to the partition chosen by hashing its Key with murmur2 — the Java
// client's default partitioner, so other clients agree on which partition holds a bank — and with
// acks from all in-sync replicas.
func (c *Cluster) NewPublisher() *Publisher {
	log := c.log.With("component", "kafka.publisher")
	return &Publisher{
		log: log,
		w: &kafkago.Writer{
			Addr:            kafkago.TCP(c.brokers...),
			Balancer:        &kafkago.Murmur2Balancer{},
			MaxAttempts:     writerAttemptsMax,
			WriteBackoffMin: writerBackoffMin,
			WriteBackoffMax: writerBackoffMax,
			BatchSize:       publishChunkEventsMax,
			BatchBytes:      writerBatchBytes,
			BatchTimeout:    writerLinger,
			RequiredAcks:    kafkago.RequireAll,
			Transport:       c.transport,
			Logger:          slogPrintf(log, slog.LevelDebug),
			ErrorLogger:     slogErrors(log),
		},
	}
}

// Publish writes events and returns once the brokers have acknowledged every one, or with an error.
// Every event is validated first; an invalid one fails the call, wrapping outbox.ErrInvalid, before
// anything is written.
//
// On error some events may have been written and others not; the caller must publish them all again,
// and consumers will see duplicates. Events are written in order, in chunks, one chunk at a time, and a
// chunk holds at most one record batch per partition, which the broker appends whole or not at all. So
// even across a failure and a retry of everything, an event is never first delivered before an earlier
// event with the same key.
func (p *Publisher) Publish(ctx context.Context, events []outbox.Event) error {
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return fmt.Errorf("kafka: publish: event %d (seq %d, id %q): %w", i, events[i].Seq, events[i].ID, err)
		}
	}
	msgs := make([]kafkago.Message, 0, min(len(events), publishChunkEventsMax))
	for start := 0; start < len(events); {
		end, size := start, 0
		for end < len(events) && end-start < publishChunkEventsMax {
			n := estimatedSize(&events[end])
			if end > start && size+n > publishChunkBytesMax {
				break
			}
			size += n
			end++
		}
		msgs = msgs[:0]
		for i := start; i < end; i++ {
			msgs = append(msgs, encode(&events[i]))
		}
		if err := p.w.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("kafka: publish events %d..%d of %d (seq %d..%d): %w",
				start, end-1, len(events), events[start].Seq, events[end-1].Seq, err)
		}
		start = end
	}
	return nil
}

// Close flushes and releases the publisher.
func (p *Publisher) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("kafka: close publisher: %w", err)
	}
	return nil
}

// encode makes the Kafka message for an event. The message timestamp is the event's CreatedAt.
func encode(ev *outbox.Event) kafkago.Message {
	return kafkago.Message{
		Topic: ev.Topic,
		Key:   []byte(ev.Key),
		Value: ev.Payload,
		Time:  ev.CreatedAt,
		Headers: []kafkago.Header{
			{Key: outbox.HeaderID, Value: []byte(ev.ID)},
			{Key: outbox.HeaderType, Value: []byte(ev.Type)},
			{Key: outbox.HeaderSeq, Value: strconv.AppendInt(nil, ev.Seq, 10)},
		},
	}
}

// estimatedSize over-estimates the bytes an event takes in a record batch.
func estimatedSize(ev *outbox.Event) int {
	const seqDigitsMax = 20
	return recordOverheadBytes + len(ev.Key) + len(ev.Payload) +
		len(outbox.HeaderID) + len(ev.ID) + len(outbox.HeaderType) + len(ev.Type) + len(outbox.HeaderSeq) + seqDigitsMax
}
