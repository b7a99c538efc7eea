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

	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/outbox"
)

func TestPublishConsumeOrderPerKey(t *testing.T) {
	const topic, banks, n = "paya.credit", 20, 1000
	cfg := fastConfig(topic)
	c := startEmbedded(t, cfg)
	if !c.Embedded() || len(c.Brokers()) != 1 {
		t.Fatalf("Embedded() = %v, Brokers() = %v; want an embedded broker", c.Embedded(), c.Brokers())
	}
	pub := c.NewPublisher()
	defer pub.Close()

	events := makeEvents(topic, banks, n, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i := 0; i < n; i += 100 {
		if err := pub.Publish(ctx, events[i:i+100]); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}

	s := newSink()
	stop := consume(t, c, "test-order", topic, s.handle)
	s.waitFor(t, "all events", func() bool { return s.unique() == n })
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}

	got := s.snapshot()
	if len(got) != n {
		t.Errorf("got %d deliveries of %d events, want each once in the normal case", len(got), n)
	}
	want := map[string]outbox.Event{}
	for _, ev := range events {
		want[ev.ID] = ev
	}
	lastSeq := map[string]int64{}
	for _, ev := range got {
		w, ok := want[ev.ID]
		if !ok {
			t.Fatalf("unexpected event %+v", ev)
		}
		if ev.Seq != w.Seq || ev.Topic != w.Topic || ev.Key != w.Key || ev.Type != w.Type ||
			!bytes.Equal(ev.Payload, w.Payload) || !ev.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("event %s:\n got %+v\nwant %+v", ev.ID, ev, w)
		}
		if ev.Seq <= lastSeq[ev.Key] {
			t.Errorf("bank %s: seq %d arrived after seq %d", ev.Key, ev.Seq, lastSeq[ev.Key])
		}
		lastSeq[ev.Key] = ev.Seq
	}
	if len(lastSeq) != banks {
		t.Errorf("got events for %d banks, want %d", len(lastSeq), banks)
	}

	// Underneath: one bank, one partition, and the headers as documented.
	partitionOf := map[string]int{}
	used := 0
	for p, msgs := range readPartitions(t, c, topic, cfg.Partitions) {
		if len(msgs) > 0 {
			used++
		}
		for _, m := range msgs {
			bank := string(m.Key)
			if q, ok := partitionOf[bank]; ok && q != p {
				t.Errorf("bank %s is in partitions %d and %d", bank, q, p)
			}
			partitionOf[bank] = p
			h := headers(m)
			w := want[h[outbox.HeaderID]]
			if h[outbox.HeaderType] != w.Type || h[outbox.HeaderSeq] != strconv.FormatInt(w.Seq, 10) {
				t.Errorf("partition %d offset %d: headers %v, want id, type %q and seq %d", p, m.Offset, h, w.Type, w.Seq)
			}
			if !m.Time.Equal(w.CreatedAt) {
				t.Errorf("partition %d offset %d: timestamp %v, want CreatedAt %v", p, m.Offset, m.Time, w.CreatedAt)
			}
		}
	}
	if used < 2 {
		t.Errorf("%d banks used %d of %d partitions, want them spread", banks, used, cfg.Partitions)
	}
}

// readPartitions reads every message of every partition of topic directly, without a group.
func readPartitions(t *testing.T, c *kafka.Cluster, topic string, partitions int) map[int][]kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	out := map[int][]kafkago.Message{}
	for p := 0; p < partitions; p++ {
		conn, err := kafkago.DialLeader(ctx, "tcp", c.Brokers()[0], topic, p)
		if err != nil {
			t.Fatalf("dial partition %d: %v", p, err)
		}
		last, err := conn.ReadLastOffset()
		if err != nil {
			t.Fatalf("last offset of partition %d: %v", p, err)
		}
		if _, err := conn.Seek(0, kafkago.SeekAbsolute); err != nil {
			t.Fatalf("seek partition %d: %v", p, err)
		}
		for int64(len(out[p])) < last {
			conn.SetReadDeadline(time.Now().Add(testTimeout))
			batch := conn.ReadBatch(1, 8<<20)
			for {
				m, err := batch.ReadMessage()
				if err != nil {
					break
				}
				out[p] = append(out[p], m)
			}
			if err := batch.Close(); err != nil {
				t.Fatalf("read partition %d: %v", p, err)
			}
		}
		conn.Close()
	}
	return out
}

func headers(m kafkago.Message) map[string]string {
	h := map[string]string{}
	for _, x := range m.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

func TestPublishRejectsInvalidEventBeforeWriting(t *testing.T) {
	const topic = "paya.debit"
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	events := makeEvents(topic, 3, 10, 1)
	events[7].Key = ""
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err := pub.Publish(ctx, events)
	if !errors.Is(err, outbox.ErrInvalid) {
		t.Fatalf("Publish = %v, want outbox.ErrInvalid", err)
	}
	for p, msgs := range readPartitions(t, c, topic, 8) {
		if len(msgs) > 0 {
			t.Errorf("partition %d holds %d messages, want nothing written", p, len(msgs))
		}
	}
}

func TestPublishLargeEventsInChunks(t *testing.T) {
	// Events near the payload limit force several writes per call; order per key must survive.
	const topic, n = "notifications", 12
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	events := makeEvents(topic, 2, n, 1)
	for i := range events {
		events[i].Payload = fmt.Appendf(nil, `{"seq":%d,"pad":"%s"}`, events[i].Seq, bytes.Repeat([]byte("x"), outbox.PayloadBytesMax-100))
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := pub.Publish(ctx, events); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	s := newSink()
	stop := consume(t, c, "test-large", topic, s.handle)
	s.waitFor(t, "all events", func() bool { return s.unique() == n })
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	last := map[string]int64{}
	for _, ev := range s.snapshot() {
		if ev.Seq <= last[ev.Key] {
			t.Errorf("bank %s: seq %d after %d", ev.Key, ev.Seq, last[ev.Key])
		}
		last[ev.Key] = ev.Seq
		if len(ev.Payload) < outbox.PayloadBytesMax-100 {
			t.Errorf("event %d: payload of %d bytes, want it whole", ev.Seq, len(ev.Payload))
		}
	}
}

func TestRelayPublishesEachEventOnce(t *testing.T) {
	const topic, banks, wave, waves = "paya.credit", 10, 200, 3
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	src := newMemSource()
	// An hour-long poll: only Notify can wake the relay in time, so this also tests Notify.
	r, err := kafka.NewRelay(src, pub, kafka.RelayConfig{BatchSize: 64, PollInterval: time.Hour}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	relay := runRelay(t, r)
	s := newSink()
	consume(t, c, "test-relay", topic, s.handle)

	var all []outbox.Event
	for w := range waves {
		events := makeEvents(topic, banks, wave, int64(1+w*wave))
		all = append(all, events...)
		src.add(events...)
		r.Notify()
		s.waitFor(t, fmt.Sprintf("wave %d", w), func() bool { return s.unique() == len(all) })
	}
	eventually(t, "every event marked sent", func() bool { return src.unsent() == 0 })
	if err := relay.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got := len(s.snapshot()); got != len(all) {
		t.Errorf("consumer got %d deliveries of %d events, want each exactly once", got, len(all))
	}
	if twice := src.markedTwice(); len(twice) > 0 {
		t.Errorf("seqs marked sent more than once: %v", twice)
	}
	last := map[string]int64{}
	for _, ev := range s.snapshot() {
		if ev.Seq <= last[ev.Key] {
			t.Errorf("bank %s: seq %d after %d", ev.Key, ev.Seq, last[ev.Key])
		}
		last[ev.Key] = ev.Seq
	}
}

func TestRelayRepublishesWhenMarkSentFails(t *testing.T) {
	const topic, n, batch = "paya.debit", 300, 100
	c := startEmbedded(t, fastConfig(topic))
	pub := c.NewPublisher()
	defer pub.Close()
	src := newMemSource()
	src.markFails = 1
	src.add(makeEvents(topic, 20, n, 1)...)
	r, err := kafka.NewRelay(src, pub, kafka.RelayConfig{BatchSize: batch, BackoffMin: time.Millisecond}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	relay := runRelay(t, r)

	// The consumer deduplicates by ID, as the inbox table does, and counts effects applied.
	var mu sync.Mutex
	applied := map[string]bool{}
	deliveries, effects := 0, 0
	s := newSink()
	consume(t, c, "test-dedupe", topic, func(ctx context.Context, ev outbox.Event) error {
		mu.Lock()
		deliveries++
		if !applied[ev.ID] {
			applied[ev.ID] = true
			effects++
		}
		mu.Unlock()
		return s.handle(ctx, ev)
	})
	s.waitFor(t, "all events", func() bool { return s.unique() == n })
	eventually(t, "every event marked sent", func() bool { return src.unsent() == 0 })
	// The republished first batch arrives after the first copy of every one of its events.
	s.waitFor(t, "the republished batch", func() bool { return len(s.snapshot()) >= n+batch })
	if err := relay.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if effects != n {
		t.Errorf("applied %d effects, want %d: each event effectively once", effects, n)
	}
	if deliveries != n+batch {
		t.Errorf("%d deliveries, want %d: the batch whose MarkSent failed published twice", deliveries, n+batch)
	}
	if twice := src.markedTwice(); len(twice) > 0 {
		t.Errorf("seqs marked sent more than once: %v", twice)
	}
	if src.markCalls != n/batch+1 {
		t.Errorf("MarkSent called %d times, want %d", src.markCalls, n/batch+1)
	}
}

func TestConsumerRestartLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name           string
		commitInterval time.Duration
	}{
		{"sync commits", 0},
		{"interval commits", 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const topic, n, half = "paya.credit", 200, 100
			cfg := fastConfig(topic)
			cfg.CommitInterval = tc.commitInterval
			c := startEmbedded(t, cfg)
			pub := c.NewPublisher()
			defer pub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := pub.Publish(ctx, makeEvents(topic, 20, n, 1)); err != nil {
				t.Fatal(err)
			}

			// First member: handles half, then "crashes" while handling the next one.
			first := newSink()
			ctx1, stop1 := context.WithCancel(ctx)
			defer stop1()
			err := c.Consume(ctx1, "test-restart", topic, func(ctx context.Context, ev outbox.Event) error {
				if first.unique() == half {
					stop1()
					return ctx.Err()
				}
				return first.handle(ctx, ev)
			})
			if err != nil {
				t.Fatalf("first Consume: %v", err)
			}
			if first.unique() != half {
				t.Fatalf("first member handled %d, want %d", first.unique(), half)
			}

			// Second member of the same group: the rest arrive, nothing is lost.
			second := newSink()
			stop2 := consume(t, c, "test-restart", topic, second.handle)
			handled := func() int {
				ids := map[string]bool{}
				for _, ev := range append(first.snapshot(), second.snapshot()...) {
					ids[ev.ID] = true
				}
				return len(ids)
			}
			second.waitFor(t, "every event handled by one member or the other", func() bool { return handled() == n })
			if err := stop2(); err != nil {
				t.Fatalf("second Consume: %v", err)
			}
			// Offsets committed before the stop hold: the second member starts where the first stopped.
			if got := len(second.snapshot()); got != n-half {
				t.Errorf("second member got %d deliveries, want %d (the first member's commits lost?)", got, n-half)
			}
		})
	}
}

func TestTwoConsumersSplitPartitions(t *testing.T) {
	const topic, group, banks, n = "paya.credit", "test-split", 20, 400
	cfg := fastConfig(topic)
	c := startEmbedded(t, cfg)
	a, b := newSink(), newSink()
	stopA := consume(t, c, group, topic, a.handle)
	consume(t, c, group, topic, b.handle)
	waitGroupStable(t, c, group, 2)

	pub := c.NewPublisher()
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := pub.Publish(ctx, makeEvents(topic, banks, n, 1)); err != nil {
		t.Fatal(err)
	}
	total := func() int { return a.unique() + b.unique() }
	eventually(t, "every event at one member", func() bool { return total() >= n })
	if total() != n || len(a.snapshot())+len(b.snapshot()) != n {
		t.Errorf("members got %d + %d deliveries of %d events, want each once", len(a.snapshot()), len(b.snapshot()), n)
	}
	banksOf := func(s *sink) map[string]bool {
		m := map[string]bool{}
		for _, ev := range s.snapshot() {
			m[ev.Key] = true
		}
		return m
	}
	ba, bb := banksOf(a), banksOf(b)
	if len(ba) == 0 || len(bb) == 0 {
		t.Fatalf("members got events of %d and %d banks, want both to share the work", len(ba), len(bb))
	}
	for bank := range ba {
		if bb[bank] {
			t.Errorf("bank %s reached both members, want one partition owner", bank)
		}
	}

	// A leaves; B takes over all partitions.
	if err := stopA(); err != nil {
		t.Fatalf("Consume A: %v", err)
	}
	waitGroupStable(t, c, group, 1)
	if err := pub.Publish(ctx, makeEvents(topic, banks, 100, n+1)); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "B to get the events of every bank", func() bool { return len(banksOf(b)) == banks })
}

// waitGroupStable waits until group is stable with the given number of members, each assigned partitions.
func waitGroupStable(t *testing.T, c *kafka.Cluster, group string, members int) {
	t.Helper()
	client := &kafkago.Client{Addr: kafkago.TCP(c.Brokers()...)}
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("group %s last seen: %s", group, last)
		}
	})
	eventually(t, fmt.Sprintf("group %s stable with %d members", group, members), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res, err := client.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil || len(res.Groups) != 1 {
			last = fmt.Sprint(err)
			return false
		}
		g := res.Groups[0]
		last = fmt.Sprintf("state %s, %d members", g.GroupState, len(g.Members))
		if g.GroupState != "Stable" || len(g.Members) != members {
			return false
		}
		for _, m := range g.Members {
			if len(m.MemberAssignments.Topics) == 0 {
				return false
			}
		}
		return true
	})
}

func TestStartWithBrokersUsesExistingCluster(t *testing.T) {
	// The embedded broker stands in for a real cluster: a second Cluster given its address takes the
	// KAFKA_BROKERS path — connect, create what is missing, leave what exists.
	embedded := startEmbedded(t, fastConfig("paya.credit"))
	cfg := fastConfig("paya.credit", "paya.debit")
	cfg.Brokers = embedded.Brokers()
	real := startEmbedded(t, cfg)
	if real.Embedded() {
		t.Fatal("Embedded() = true with Brokers set")
	}
	if !slices.Equal(real.Brokers(), embedded.Brokers()) {
		t.Fatalf("Brokers() = %v, want %v", real.Brokers(), embedded.Brokers())
	}
	pub := real.NewPublisher()
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := pub.Publish(ctx, makeEvents("paya.debit", 2, 10, 1)); err != nil {
		t.Fatalf("Publish to the created topic: %v", err)
	}
	s := newSink()
	consume(t, embedded, "test-real", "paya.debit", s.handle)
	s.waitFor(t, "events through the other Cluster", func() bool { return s.unique() == 10 })
}

func TestStartRejects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, tc := range []struct {
		name string
		edit func(*kafka.Config)
	}{
		{"bad topic", func(c *kafka.Config) { c.Topics = []string{"paya credit"} }},
		{"too many partitions", func(c *kafka.Config) { c.Partitions = 100_000 }},
		{"negative partitions", func(c *kafka.Config) { c.Partitions = -1 }},
		{"heartbeat not under session", func(c *kafka.Config) { c.HeartbeatInterval = c.SessionTimeout }},
		{"broker without port", func(c *kafka.Config) { c.Brokers = []string{"localhost"} }},
		{"no room for the dead-letter suffix", func(c *kafka.Config) { c.Topics = []string{strings.Repeat("t", outbox.TopicLenMax-2)} }},
		{"unreachable broker", func(c *kafka.Config) { c.Brokers = []string{"127.0.0.1:1"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastConfig("paya.credit")
			tc.edit(&cfg)
			c, err := kafka.Start(ctx, cfg, testLogger(t))
			if err == nil {
				c.Close()
				t.Fatal("Start succeeded, want an error")
			}
		})
	}
}
