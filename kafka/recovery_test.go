package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/outbox"
)

// TestRelayHoldsInvalidEventUntilFixed: an invalid event in the outbox is a bug no retry heals, but the
// relay used to return on it and stay dead. Now it holds the event (and those behind it: skipping would
// drop it, and publishing past it would break the order), retries, and goes on by itself once the row is
// corrected.
func TestRelayHoldsInvalidEventUntilFixed(t *testing.T) {
	const topic = "paya.credit"
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	src := newMemSource()
	events := makeEvents(topic, 3, 5, 1)
	good := events[2]
	events[2].Payload = []byte("not json")
	src.add(events...)
	r, err := kafka.NewRelay(src, pub, kafka.RelayConfig{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	relay := runRelay(t, r)
	ctx := context.Background()
	eventually(t, "the relay to fail a few rounds on the invalid event", func() bool {
		st, _ := r.Stats(ctx)
		return st.FailuresInRow >= 3
	})
	st, _ := r.Stats(ctx)
	if !errors.Is(st.LastError, outbox.ErrInvalid) || st.Relayed != 0 || st.Unsent != int64(len(events)) {
		t.Errorf("Stats while held = %+v, want outbox.ErrInvalid, nothing relayed, all %d unsent", st, len(events))
	}
	select {
	case <-relay.done:
		t.Fatalf("Run returned %v on an invalid event, want it to go on", relay.err)
	default:
	}

	src.replace(good)
	s := newSink()
	consume(t, c, "test-invalid", topic, s.handle)
	s.waitFor(t, "every event once the row is fixed", func() bool { return s.unique() == len(events) })
	if err := relay.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestRelaySurvivesBrokerOutage fails every produce request on the embedded broker for more relay rounds
// than the relay used to tolerate (20), then lets them through: every event arrives, in order per key.
func TestRelaySurvivesBrokerOutage(t *testing.T) {
	const topic, n, oldLimit = "paya.credit", 100, 20
	c := startEmbedded(t, fastConfig(topic))
	outage := kafka.Fake(c).Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
	pub := c.NewPublisher()
	defer pub.Close()
	src := newMemSource()
	src.add(makeEvents(topic, 10, n, 1)...)
	r, err := kafka.NewRelay(src, pub, kafka.RelayConfig{BatchSize: 30, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	relay := runRelay(t, r)
	ctx := context.Background()
	eventually(t, "more failed rounds than the old limit", func() bool {
		st, _ := r.Stats(ctx)
		return st.FailuresInRow > oldLimit
	})
	outage.Remove()

	s := newSink()
	consume(t, c, "test-outage", topic, s.handle)
	s.waitFor(t, "every event after the outage", func() bool { return s.unique() == n })
	eventually(t, "every event marked sent", func() bool { return src.unsent() == 0 })
	if err := relay.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	last := map[string]int64{}
	for _, ev := range s.snapshot() {
		if ev.Seq <= last[ev.Key] {
			t.Errorf("bank %s: seq %d after %d", ev.Key, ev.Seq, last[ev.Key])
		}
		last[ev.Key] = ev.Seq
	}
	st, err := r.Stats(ctx)
	if err != nil || st.FailuresInRow != 0 || st.Relayed != n || st.LastSeq != n || st.LastError == nil {
		t.Errorf("Stats after the outage = %+v, %v; want recovered, %d relayed up to seq %d, the outage's error kept", st, err, n, n)
	}
}

// TestConsumerRetriesFailingHandlerForEver is the regression test for a consumer that returned at the
// first handler error, and was never restarted: now it retries the same event, uncommitted, until the
// handler succeeds, and the partition goes on in order.
func TestConsumerRetriesFailingHandlerForEver(t *testing.T) {
	const topic, n, failSeq, fails = "paya.debit", 5, 2, 12 // more failures than the old fetch limit of 10, too
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := pub.Publish(ctx, makeEvents(topic, 1, n, 1)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("database down")
	var mu sync.Mutex
	attempts := 0
	release := make(chan struct{})
	s := newSink()
	co, err := c.NewConsumer("test-handler-error", topic, func(ctx context.Context, ev outbox.Event) error {
		if ev.Seq == failSeq {
			mu.Lock()
			attempts++
			a := attempts
			mu.Unlock()
			if a <= fails {
				if a == fails {
					<-release // hold the last failure until the test has looked at Stats
				}
				return boom
			}
		}
		return s.handle(ctx, ev)
	}, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, co)

	eventually(t, "the handler to fail a few times", func() bool { return co.Stats().HandleFailuresInRow >= fails/2 })
	st := co.Stats()
	if st.Handled != failSeq-1 || !errors.Is(st.LastError, boom) || st.Lag != n-failSeq+1 {
		t.Errorf("Stats while failing = %+v, want %d handled, the handler's error, lag %d (the failing event and those behind it)",
			st, failSeq-1, n-failSeq+1)
	}
	close(release)
	s.waitFor(t, "every event", func() bool { return s.unique() == n })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil when stopped", err)
	}
	for i, ev := range s.snapshot() {
		if ev.Seq != int64(i+1) {
			t.Fatalf("handled seq %d at position %d, want the failing event retried in place", ev.Seq, i)
		}
	}
	if attempts != fails+1 {
		t.Errorf("handler tried the failing event %d times, want %d", attempts, fails+1)
	}
	st = co.Stats()
	if st.Handled != n || st.HandleFailuresInRow != 0 || st.Lag != 0 || st.DeadLettered != 0 {
		t.Errorf("Stats after recovery = %+v, want %d handled, no failure in a row, lag 0", st, n)
	}
}

// TestConsumerSurvivesFetchFailures is the regression test for a consumer that returned after 10 failed
// fetches: every fetch of the topic fails on the embedded broker for longer than that, then the broker
// answers again, and the consumer goes on.
func TestConsumerSurvivesFetchFailures(t *testing.T) {
	const topic, n, oldLimit = "paya.credit", 40, 10
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := pub.Publish(ctx, makeEvents(topic, 4, n/2, 1)); err != nil {
		t.Fatal(err)
	}
	outage := kafka.Fake(c).Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: topic, Err: kerr.UnknownServerError, Count: -1})
	s := newSink()
	co, err := c.NewConsumer("test-fetch-outage", topic, s.handle, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, co)
	eventually(t, "more failed fetches than the old limit", func() bool { return co.Stats().FetchFailuresInRow > oldLimit })
	if s.unique() != 0 {
		t.Errorf("%d events handled while every fetch failed", s.unique())
	}
	outage.Remove()
	if err := pub.Publish(ctx, makeEvents(topic, 4, n/2, n/2+1)); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "every event after the outage", func() bool { return s.unique() == n })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil when stopped", err)
	}
	st := co.Stats()
	if st.FetchFailuresInRow != 0 || st.LastError == nil || st.Handled != n {
		t.Errorf("Stats after the outage = %+v, want recovered, the outage's error kept, %d handled", st, n)
	}
}

// deadLetters reads every message of topic's dead-letter topic, sorted by the original offset.
func deadLetters(t *testing.T, c *kafka.Cluster, topic string, partitions int) []kafkago.Message {
	t.Helper()
	var dead []kafkago.Message
	for _, msgs := range readPartitions(t, c, kafka.DeadLetterTopic(topic), partitions) {
		dead = append(dead, msgs...)
	}
	offset := func(m kafkago.Message) int64 {
		o, _ := strconv.ParseInt(headers(m)[kafka.HeaderDeadLetterOffset], 10, 64)
		return o
	}
	slices.SortFunc(dead, func(a, b kafkago.Message) int { return int(offset(a) - offset(b)) })
	return dead
}

// TestConsumerDeadLettersMalformedMessage is the regression test for a malformed message stalling its
// partition for good (Consume returned ErrMalformed at it, and again at every restart). Now it goes to the
// dead-letter topic with its reason and origin, its offset is committed, and the events behind it are
// handled in order.
func TestConsumerDeadLettersMalformedMessage(t *testing.T) {
	const topic, group = "notifications", "test-malformed"
	cfg := fastConfig(topic)
	c := startEmbedded(t, cfg)
	pub := c.NewPublisher()
	defer pub.Close()
	// Raw messages on the same key, so in the same partition as the events around them.
	raw := &kafkago.Writer{Addr: kafkago.TCP(c.Brokers()...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{}, BatchTimeout: time.Millisecond}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	events := makeEvents(topic, 1, 6, 1)
	key := events[0].Key
	headersOf := func(ev outbox.Event) []kafkago.Header {
		return []kafkago.Header{
			{Key: outbox.HeaderID, Value: []byte(ev.ID)},
			{Key: outbox.HeaderType, Value: []byte(ev.Type)},
			{Key: outbox.HeaderSeq, Value: []byte(strconv.FormatInt(ev.Seq, 10))},
		}
	}
	badID := headersOf(makeEvents(topic, 1, 1, 100)[0])
	badID[0].Value = []byte("not-a-uuid")
	bad := []struct {
		what   string
		msg    kafkago.Message
		reason string // expected in the dead letter's reason header
	}{
		{"no headers", kafkago.Message{Key: []byte(key), Value: []byte(`{}`)}, "ID"},
		{"invalid id", kafkago.Message{Key: []byte(key), Value: []byte(`{}`), Headers: badID}, "not-a-uuid"},
		{"payload not JSON", kafkago.Message{Key: []byte(key), Value: []byte(`not json`), Headers: headersOf(makeEvents(topic, 1, 1, 101)[0])}, "not valid JSON"},
		{"bad seq header", kafkago.Message{Key: []byte(key), Value: []byte(`{}`), Headers: []kafkago.Header{{Key: outbox.HeaderSeq, Value: []byte("x")}}}, outbox.HeaderSeq},
	}
	if err := pub.Publish(ctx, events[:3]); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		if err := raw.WriteMessages(ctx, b.msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, events[3:]); err != nil {
		t.Fatal(err)
	}

	s := newSink()
	co, err := c.NewConsumer(group, topic, s.handle, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, co)
	s.waitFor(t, "the events behind the malformed messages", func() bool { return s.unique() == len(events) })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil when stopped", err)
	}
	for i, ev := range s.snapshot() {
		if ev.Seq != int64(i+1) {
			t.Fatalf("handled seq %d at position %d, want the good events in order", ev.Seq, i)
		}
	}
	if st := co.Stats(); st.DeadLettered != int64(len(bad)) || st.Handled != int64(len(events)) || st.Lag != 0 {
		t.Errorf("Stats = %+v, want %d dead-lettered, %d handled, lag 0", st, len(bad), len(events))
	}

	// Where the malformed messages are in the source topic: offsets 3..6 of the key's partition.
	var srcPartition int
	for p, msgs := range readPartitions(t, c, topic, cfg.Partitions) {
		if len(msgs) > 0 {
			srcPartition = p
		}
	}
	dead := deadLetters(t, c, topic, cfg.Partitions)
	if len(dead) != len(bad) {
		t.Fatalf("dead-letter topic holds %d messages, want the %d malformed ones", len(dead), len(bad))
	}
	for i, d := range dead {
		h := headers(d)
		reason := h[kafka.HeaderDeadLetterReason]
		if !strings.Contains(reason, bad[i].reason) || !strings.Contains(reason, kafka.ErrMalformed.Error()) {
			t.Errorf("dead letter %d (%s): reason %q, want it to name %q", i, bad[i].what, reason, bad[i].reason)
		}
		if h[kafka.HeaderDeadLetterTopic] != topic || h[kafka.HeaderDeadLetterPartition] != strconv.Itoa(srcPartition) ||
			h[kafka.HeaderDeadLetterOffset] != strconv.Itoa(3+i) || h[kafka.HeaderDeadLetterGroup] != group {
			t.Errorf("dead letter %d (%s): headers %v, want topic %s, partition %d, offset %d, group %s",
				i, bad[i].what, h, topic, srcPartition, 3+i, group)
		}
		if string(d.Key) != key || !bytes.Equal(d.Value, bad[i].msg.Value) || len(d.Headers) != len(bad[i].msg.Headers)+5 {
			t.Errorf("dead letter %d (%s): key %q, value %q, %d headers; want the original's %q, %q and its %d headers + 5",
				i, bad[i].what, d.Key, d.Value, len(d.Headers), key, bad[i].msg.Value, len(bad[i].msg.Headers))
		}
	}

	// The offsets were committed: the next member of the group starts after them, with nothing to redo.
	again := newSink()
	co2, err := c.NewConsumer(group, topic, again.handle, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	runConsumer(t, co2)
	next := makeEvents(topic, 1, 1, 7)
	if err := pub.Publish(ctx, next); err != nil {
		t.Fatal(err)
	}
	again.waitFor(t, "the next event", func() bool { return again.unique() == 1 })
	if got := again.snapshot(); len(got) != 1 || got[0].ID != next[0].ID {
		t.Errorf("the next member got %d events, want only the new one", len(got))
	}
	if st := co2.Stats(); st.DeadLettered != 0 {
		t.Errorf("the next member dead-lettered %d messages again, want their offsets committed", st.DeadLettered)
	}
}

// TestConsumerDeadLettersWhatHandlerRejects: a handler that can never apply an event says so with
// ErrMalformed, and the event goes to the dead-letter topic instead of being retried for ever.
func TestConsumerDeadLettersWhatHandlerRejects(t *testing.T) {
	const topic = "paya.credit"
	cfg := fastConfig(topic)
	c := startEmbedded(t, cfg)
	pub := c.NewPublisher()
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	events := makeEvents(topic, 1, 3, 1)
	if err := pub.Publish(ctx, events); err != nil {
		t.Fatal(err)
	}
	s := newSink()
	co, err := c.NewConsumer("test-rejects", topic, func(ctx context.Context, ev outbox.Event) error {
		if ev.Seq == 2 {
			return fmt.Errorf("payload has no amount_rial: %w", kafka.ErrMalformed)
		}
		return s.handle(ctx, ev)
	}, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, co)
	s.waitFor(t, "the events around the rejected one", func() bool { return s.unique() == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dead := deadLetters(t, c, topic, cfg.Partitions)
	if len(dead) != 1 {
		t.Fatalf("dead-letter topic holds %d messages, want the rejected event", len(dead))
	}
	h := headers(dead[0])
	if h[outbox.HeaderID] != events[1].ID || !strings.Contains(h[kafka.HeaderDeadLetterReason], "no amount_rial") {
		t.Errorf("dead letter headers %v, want the event's own and the handler's reason", h)
	}
	if st := co.Stats(); st.DeadLettered != 1 || st.Handled != 2 {
		t.Errorf("Stats = %+v, want 1 dead-lettered, 2 handled", st)
	}
}

// TestConsumerDeadLettersOversizedMessageWithoutValue: a dead letter that would be larger than a broker
// takes by default goes without its value, and says so.
func TestConsumerDeadLettersOversizedMessageWithoutValue(t *testing.T) {
	const topic, key = "notifications", "017"
	cfg := fastConfig(topic)
	c := startEmbedded(t, cfg)
	raw := &kafkago.Writer{Addr: kafkago.TCP(c.Brokers()...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{},
		BatchTimeout: time.Millisecond, BatchBytes: 2 << 20}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	big := bytes.Repeat([]byte("x"), 900<<10) // over the dead letter limit, under the fetch limit
	if err := raw.WriteMessages(ctx, kafkago.Message{Key: []byte(key), Value: big}); err != nil {
		t.Fatal(err)
	}
	co, err := c.NewConsumer("test-oversized", topic, newSink().handle, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, co)
	eventually(t, "the message dead-lettered", func() bool { return co.Stats().DeadLettered == 1 })
	stop()
	dead := deadLetters(t, c, topic, cfg.Partitions)
	if len(dead) != 1 || len(dead[0].Value) != 0 || headers(dead[0])[kafka.HeaderDeadLetterValueDropped] != strconv.Itoa(len(big)) {
		t.Fatalf("dead letters %d, want one without its value and a header saying %d bytes were dropped", len(dead), len(big))
	}
}

func TestNewConsumerRejects(t *testing.T) {
	c := startEmbedded(t, fastConfig())
	h := newSink().handle
	for _, tc := range []struct {
		name, group, topic string
		h                  kafka.Handler
		cfg                kafka.ConsumerConfig
	}{
		{"empty group", "", "paya.credit", h, kafka.ConsumerConfig{}},
		{"bad topic", "g", "paya credit", h, kafka.ConsumerConfig{}},
		{"no room for the dead-letter suffix", "g", strings.Repeat("t", outbox.TopicLenMax-2), h, kafka.ConsumerConfig{}},
		{"nil handler", "g", "paya.credit", nil, kafka.ConsumerConfig{}},
		{"negative backoff", "g", "paya.credit", h, kafka.ConsumerConfig{BackoffMin: -time.Second}},
		{"backoff max under min", "g", "paya.credit", h, kafka.ConsumerConfig{BackoffMin: time.Second, BackoffMax: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.NewConsumer(tc.group, tc.topic, tc.h, tc.cfg); err == nil {
				t.Fatal("NewConsumer succeeded, want an error")
			}
		})
	}
	t.Run("Run twice", func(t *testing.T) {
		co, err := c.NewConsumer("g", "paya.credit", h, kafka.ConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := co.Run(ctx); err != nil {
			t.Fatalf("first Run = %v, want nil on a done context", err)
		}
		if err := co.Run(ctx); err == nil {
			t.Fatal("second Run = nil, want an error")
		}
	})
}

func TestStartCreatesDeadLetterTopics(t *testing.T) {
	c := startEmbedded(t, fastConfig("paya.credit", "paya.debit"))
	client := &kafkago.Client{Addr: kafkago.TCP(c.Brokers()...)}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	want := []string{"paya.credit.dlq", "paya.debit.dlq"}
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: want})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != len(want) {
		t.Errorf("metadata for %d topics, want %v", len(md.Topics), want)
	}
	for _, tp := range md.Topics {
		if tp.Error != nil || len(tp.Partitions) != 8 {
			t.Errorf("topic %s: %d partitions, error %v; want 8 and none", tp.Name, len(tp.Partitions), tp.Error)
		}
	}
}
