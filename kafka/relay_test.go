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
	r, err := kafka.NewRelay(src, sink, kafka.RelayConfig{BatchSize: 20, BackoffMin: time.Millisecond}, testLogger(t))
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

// TestRelayOutlastsMoreFailedRoundsThanTheOldLimit is the regression test for a relay that gave up after
// 20 failed rounds in a row (about 70 s of broker outage with the default backoff) and was never
// restarted: now it retries for as long as it runs, and delivers every event once the sink is back.
func TestRelayOutlastsMoreFailedRoundsThanTheOldLimit(t *testing.T) {
	const oldLimit, n = 20, 50
	src := newMemSource()
	src.add(makeEvents("paya.credit", 5, n, 1)...)
	sink := &flakySink{fails: oldLimit + 5}
	r, err := kafka.NewRelay(src, sink, kafka.RelayConfig{BatchSize: 20, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	relay := runRelay(t, r)
	eventually(t, "every event marked sent, or Run giving up", func() bool {
		select {
		case <-relay.done:
			return true
		default:
			return src.unsent() == 0
		}
	})
	select {
	case <-relay.done:
		t.Fatalf("Run returned %v after %d failed rounds, want it to go on until stopped", relay.err, sink.calls)
	default:
	}
	if err := relay.stop(); err != nil {
		t.Fatalf("Run = %v, want nil when stopped", err)
	}
	if got := sink.published(); got != n {
		t.Errorf("published %d events, want %d", got, n)
	}
	for i, ev := range sink.got {
		if ev.Seq != int64(i+1) {
			t.Fatalf("published seq %d at position %d, want every event in seq order", ev.Seq, i)
		}
	}
	st, err := r.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Relayed != n || st.LastSeq != n || st.FailuresInRow != 0 || !errors.Is(st.LastError, errInjected) || st.Unsent != 0 {
		t.Errorf("Stats = %+v, want %d relayed up to seq %d, no failure in a row now, the last error kept, nothing unsent", st, n, n)
	}
}

func TestRelayStats(t *testing.T) {
	ctx := context.Background()
	now := created.Add(time.Hour)
	src := newMemSource()
	events := makeEvents("paya.credit", 2, 6, 1)
	src.add(events...)
	sink := &flakySink{fails: 2}
	r, err := kafka.NewRelay(src, sink, kafka.RelayConfig{BatchSize: 4, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}

	st, err := r.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := kafka.RelayStats{Unsent: 6, OldestUnsent: events[0].CreatedAt, UnsentAge: now.Sub(events[0].CreatedAt)}
	if st != want {
		t.Errorf("Stats before any round = %+v, want %+v", st, want)
	}

	for range 2 {
		if _, err := r.RunOnce(ctx); !errors.Is(err, errInjected) {
			t.Fatalf("RunOnce = %v, want the sink's error", err)
		}
	}
	st, _ = r.Stats(ctx)
	if st.FailuresInRow != 2 || !errors.Is(st.LastError, errInjected) || !st.LastErrorAt.Equal(now) || st.Relayed != 0 || st.Unsent != 6 {
		t.Errorf("Stats after 2 failed rounds = %+v, want 2 failures in a row, the error at %v, 6 unsent", st, now)
	}

	if n, err := r.RunOnce(ctx); n != 4 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 4, nil", n, err)
	}
	st, _ = r.Stats(ctx)
	if st.FailuresInRow != 0 || st.Relayed != 4 || st.LastSeq != 4 || st.Unsent != 2 || !st.OldestUnsent.Equal(events[4].CreatedAt) ||
		st.UnsentAge != now.Sub(events[4].CreatedAt) || !errors.Is(st.LastError, errInjected) {
		t.Errorf("Stats after a good round = %+v, want 4 relayed up to seq 4, 2 unsent from seq 5, the last error kept", st)
	}

	src.lagErr = errors.New("database down")
	st, err = r.Stats(ctx)
	if !errors.Is(err, src.lagErr) || st.Relayed != 4 || st.Unsent != 0 {
		t.Errorf("Stats with the outbox unreadable = %+v, %v; want the counters and the error", st, err)
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
func (s badSource) Lag(context.Context) (int64, time.Time, error)        { return 0, time.Time{}, nil }

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
