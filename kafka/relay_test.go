package kafka_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/outbox"
)

// flakySink stands in for the brokers in tests of the relay's own retry logic: it fails its first
// fails calls, then records what it is given.
type flakySink struct {
	mu    sync.Mutex
	fails int
	calls int
	got   []outbox.Event
}

func (s *flakySink) Publish(_ context.Context, events []outbox.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fails > 0 {
		s.fails--
		return errInjected
	}
	s.got = append(s.got, events...)
	return nil
}

func (s *flakySink) published() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func TestRelayRetriesBrokerErrors(t *testing.T) {
	src := newMemSource()
	src.add(makeEvents("paya.credit", 5, 50, 1)...)
	sink := &flakySink{fails: 3}
	r, err := kafka.NewRelay(src, sink, kafka.RelayConfig{BatchSize: 20, BackoffMin: time.Millisecond, FailuresMax: 4}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	relay := runRelay(t, r)
	eventually(t, "every event marked sent", func() bool { return src.unsent() == 0 })
	if err := relay.stop(); err != nil {
		t.Fatalf("Run = %v, want nil after recovering", err)
	}
	if got := sink.published(); got != 50 {
		t.Errorf("published %d events, want 50, each once: failed publishes are not marked", got)
	}
	if sink.calls != 3+3 {
		t.Errorf("Publish called %d times, want 3 failures + 3 batches", sink.calls)
	}
	if twice := src.markedTwice(); len(twice) > 0 {
		t.Errorf("seqs marked twice: %v", twice)
	}
}

func TestRelayGivesUpAfterFailuresMax(t *testing.T) {
	src := newMemSource()
	src.add(makeEvents("paya.credit", 5, 10, 1)...)
	sink := &flakySink{fails: 1 << 30}
	r, err := kafka.NewRelay(src, sink, kafka.RelayConfig{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, FailuresMax: 5}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err = r.Run(ctx)
	if !errors.Is(err, errInjected) {
		t.Fatalf("Run = %v, want the sink's error", err)
	}
	if sink.calls != 5 {
		t.Errorf("Publish called %d times, want FailuresMax = 5", sink.calls)
	}
	if src.unsent() != 10 {
		t.Errorf("%d events unsent, want all 10 still in the outbox", src.unsent())
	}
}

func TestRelayRunOnce(t *testing.T) {
	ctx := context.Background()
	src := newMemSource()
	sink := &flakySink{}
	r, err := kafka.NewRelay(src, sink, kafka.RelayConfig{BatchSize: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("RunOnce on an empty outbox = %d, %v; want 0, nil", n, err)
	}
	src.add(makeEvents("paya.credit", 2, 6, 1)...)
	for _, want := range []int{4, 2, 0} {
		if n, err := r.RunOnce(ctx); n != want || err != nil {
			t.Fatalf("RunOnce = %d, %v; want %d, nil", n, err, want)
		}
	}

	src.markFails = 1
	src.add(makeEvents("paya.credit", 2, 1, 7)...)
	if n, err := r.RunOnce(ctx); n != 1 || !errors.Is(err, errInjected) {
		t.Fatalf("RunOnce with MarkSent failing = %d, %v; want 1 published and the error", n, err)
	}
}

// badSource returns events out of order, or more than asked for.
type badSource struct{ events []outbox.Event }

func (s badSource) Pending(context.Context, int) ([]outbox.Event, error) { return s.events, nil }
func (s badSource) MarkSent(context.Context, []int64) error              { return nil }

func TestRelayRejectsBrokenSource(t *testing.T) {
	events := makeEvents("paya.credit", 2, 3, 1)
	for _, tc := range []struct {
		name   string
		batch  int
		events []outbox.Event
	}{
		{"out of order", 3, []outbox.Event{events[0], events[2], events[1]}},
		{"repeated seq", 3, []outbox.Event{events[0], events[0]}},
		{"more than asked", 2, events},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &flakySink{}
			r, err := kafka.NewRelay(badSource{tc.events}, sink, kafka.RelayConfig{BatchSize: tc.batch}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.RunOnce(context.Background()); err == nil {
				t.Fatal("RunOnce = nil, want an error")
			}
			if sink.calls != 0 {
				t.Errorf("published %d times, want nothing from a broken source", sink.calls)
			}
		})
	}
}

func TestNewRelayRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  kafka.RelayConfig
	}{
		{"batch too big", kafka.RelayConfig{BatchSize: 1 << 20}},
		{"negative batch", kafka.RelayConfig{BatchSize: -1}},
		{"negative poll", kafka.RelayConfig{PollInterval: -time.Second}},
		{"backoff max under min", kafka.RelayConfig{BackoffMin: time.Second, BackoffMax: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := kafka.NewRelay(newMemSource(), &flakySink{}, tc.cfg, nil); err == nil {
				t.Fatal("NewRelay succeeded, want an error")
			}
		})
	}
}

func BenchmarkPublish(b *testing.B) {
	const topic, batch = "paya.credit", 500
	c := startEmbedded(b, kafka.Config{Topics: []string{topic}})
	pub := c.NewPublisher()
	defer pub.Close()
	events := makeEvents(topic, 30, batch, 1)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	sent := 0
	for sent < b.N {
		n := min(batch, b.N-sent)
		if err := pub.Publish(ctx, events[:n]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "events/s")
}
