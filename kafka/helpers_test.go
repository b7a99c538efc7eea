package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/outbox"
)

// testTimeout bounds every wait in these tests; each normally finishes in well under a second.
const testTimeout = 20 * time.Second

// fastConfig is a Config for tests: short group timings that the embedded broker accepts.
func fastConfig(topics ...string) kafka.Config {
	return kafka.Config{
		Topics:            topics,
		Partitions:        8,
		SessionTimeout:    2 * time.Second,
		HeartbeatInterval: 100 * time.Millisecond,
		RebalanceTimeout:  2 * time.Second,
		FetchWait:         100 * time.Millisecond,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("KAFKA_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// startEmbedded starts an embedded cluster for one test.
func startEmbedded(t testing.TB, cfg kafka.Config) *kafka.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := kafka.Start(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var created = time.Date(2025, 3, 21, 9, 30, 0, 0, time.UTC)

// makeEvents returns n valid events on topic spread round-robin over banks keys, with seqs from firstSeq.
func makeEvents(topic string, banks, n int, firstSeq int64) []outbox.Event {
	events := make([]outbox.Event, n)
	for i := range events {
		seq := firstSeq + int64(i)
		bank := fmt.Sprintf("%03d", 10+i%banks)
		events[i] = outbox.Event{
			Seq:       seq,
			ID:        fmt.Sprintf("0190f3c2-%04x-7000-8000-%012x", len(topic), seq),
			Topic:     topic,
			Key:       bank,
			Type:      "paya.entry",
			Payload:   fmt.Appendf(nil, `{"seq":%d,"bank":%q,"amount_rial":%d}`, seq, bank, 1000*seq),
			CreatedAt: created.Add(time.Duration(seq) * time.Millisecond),
		}
	}
	return events
}

// sink collects what a consumer receives.
type sink struct {
	mu     sync.Mutex
	got    []outbox.Event
	byID   map[string]int // deliveries per ID
	change chan struct{}
}

func newSink() *sink {
	return &sink{byID: map[string]int{}, change: make(chan struct{}, 1)}
}

func (s *sink) handle(_ context.Context, ev outbox.Event) error {
	s.mu.Lock()
	s.got = append(s.got, ev)
	s.byID[ev.ID]++
	s.mu.Unlock()
	select {
	case s.change <- struct{}{}:
	default:
	}
	return nil
}

// unique returns how many distinct IDs arrived.
func (s *sink) unique() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *sink) snapshot() []outbox.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]outbox.Event(nil), s.got...)
}

// waitFor polls cond on every delivery, until it holds or the deadline passes.
func (s *sink) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(testTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-s.change:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", testTimeout, what)
		}
	}
}

// consume runs Consume in the background and returns a stop function that cancels it and returns its
// error.
func consume(t testing.TB, c *kafka.Cluster, group, topic string, h kafka.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Consume(ctx, group, topic, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(testTimeout):
				err = fmt.Errorf("Consume did not return within %v of cancel", testTimeout)
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// runConsumer runs co in the background and returns a stop function that cancels it and returns Run's
// error.
func runConsumer(t testing.TB, co *kafka.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(testTimeout):
				err = fmt.Errorf("Run did not return within %v of cancel", testTimeout)
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// fastBackoff makes retries quick in tests; the defaults would make a dozen failures take half a minute.
var fastBackoff = kafka.ConsumerConfig{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", testTimeout, what)
		}
		<-tick.C
	}
}

// memSource is an in-memory outbox for the relay's own logic: the postgres adapter is the real one.
type memSource struct {
	mu        sync.Mutex
	events    []outbox.Event // in seq order
	sent      map[int64]int  // times each seq was marked sent
	markCalls int
	markFails int // fail this many MarkSent calls, then succeed
	pendCalls int
	lagErr    error // Lag fails with it when set
}

func newMemSource() *memSource { return &memSource{sent: map[int64]int{}} }

func (s *memSource) add(events ...outbox.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
}

func (s *memSource) Pending(_ context.Context, limit int) ([]outbox.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendCalls++
	var out []outbox.Event
	for _, ev := range s.events {
		if len(out) == limit {
			break
		}
		if s.sent[ev.Seq] == 0 {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (s *memSource) MarkSent(_ context.Context, seqs []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markCalls++
	if s.markFails > 0 {
		s.markFails--
		return errInjected
	}
	for _, seq := range seqs {
		s.sent[seq]++
	}
	return nil
}

func (s *memSource) Lag(context.Context) (int64, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lagErr != nil {
		return 0, time.Time{}, s.lagErr
	}
	var n int64
	var oldest time.Time
	for _, ev := range s.events {
		if s.sent[ev.Seq] == 0 {
			if n == 0 || ev.CreatedAt.Before(oldest) {
				oldest = ev.CreatedAt
			}
			n++
		}
	}
	return n, oldest, nil
}

// replace swaps in ev for the stored event with the same seq, as an operator correcting a row would.
func (s *memSource) replace(ev outbox.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.events {
		if s.events[i].Seq == ev.Seq {
			s.events[i] = ev
		}
	}
}

// unsent counts events not yet marked.
func (s *memSource) unsent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range s.events {
		if s.sent[ev.Seq] == 0 {
			n++
		}
	}
	return n
}

// markedTwice lists seqs marked more than once.
func (s *memSource) markedTwice() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for seq, n := range s.sent {
		if n > 1 {
			out = append(out, seq)
		}
	}
	return out
}

var errInjected = errors.New("injected failure")

// relayRun is a Relay running in the background.
type relayRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returns
	err    error         // Run's result, set before done closes
}

// runRelay runs r in the background until the test ends or stop is called.
func runRelay(t testing.TB, r *kafka.Relay) *relayRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &relayRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		run.err = r.Run(ctx)
		close(run.done)
	}()
	t.Cleanup(func() { run.stop() })
	return run
}

// stop cancels Run and returns its error.
func (run *relayRun) stop() error {
	run.cancel()
	select {
	case <-run.done:
		return run.err
	case <-time.After(testTimeout):
		return fmt.Errorf("Run did not return within %v of cancel", testTimeout)
	}
}
