package clock

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

var start = time.Date(2025, 3, 21, 8, 0, 0, 0, time.UTC) // 1 Farvardin 1404; any fixed instant will do

// firing is what a callback saw: which timer fired and what Now said while it ran.
type firing struct {
	name string
	at   time.Duration // Now() - start
}

func (f firing) String() string { return fmt.Sprintf("%s@%v", f.name, f.at) }

// recorder collects firings; callbacks run in the advancing goroutine, but the race test calls from many.
type recorder struct {
	mu  sync.Mutex
	got []firing
}

func (r *recorder) fn(s *Simulated, name string) func() {
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, firing{name, s.Now().Sub(start)})
	}
}

func (r *recorder) take() []firing {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func TestAdvanceFiresInDeadlineOrder(t *testing.T) {
	type timer struct {
		name string
		d    time.Duration
	}
	tests := []struct {
		name    string
		timers  []timer         // created in this order
		advance []time.Duration // successive Advance calls
		want    []firing
		wantNow time.Duration
	}{
		{
			name:    "out of creation order",
			timers:  []timer{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}},
			advance: []time.Duration{time.Minute},
			want:    []firing{{"a", time.Second}, {"b", 2 * time.Second}, {"c", 3 * time.Second}},
			wantNow: time.Minute,
		},
		{
			name:    "ties in creation order",
			timers:  []timer{{"x", time.Second}, {"y", time.Second}, {"early", time.Millisecond}, {"z", time.Second}},
			advance: []time.Duration{time.Second},
			want:    []firing{{"early", time.Millisecond}, {"x", time.Second}, {"y", time.Second}, {"z", time.Second}},
			wantNow: time.Second,
		},
		{
			name:    "deadline equal to the target fires, one past it does not",
			timers:  []timer{{"at", 10 * time.Second}, {"after", 10*time.Second + 1}},
			advance: []time.Duration{10 * time.Second},
			want:    []firing{{"at", 10 * time.Second}},
			wantNow: 10 * time.Second,
		},
		{
			name:    "spread over several advances",
			timers:  []timer{{"a", time.Second}, {"b", 5 * time.Second}, {"c", 9 * time.Second}},
			advance: []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second},
			want:    []firing{{"a", time.Second}, {"b", 5 * time.Second}, {"c", 9 * time.Second}},
			wantNow: 10 * time.Second,
		},
		{
			name:    "zero and negative durations are due at the next Advance(0)",
			timers:  []timer{{"zero", 0}, {"negative", -time.Hour}, {"later", time.Nanosecond}},
			advance: []time.Duration{0},
			want:    []firing{{"zero", 0}, {"negative", 0}},
			wantNow: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSimulated(start)
			var r recorder
			for _, tm := range tt.timers {
				s.AfterFunc(tm.d, r.fn(s, tm.name))
			}
			for _, d := range tt.advance {
				if err := s.Advance(d); err != nil {
					t.Fatalf("Advance(%v): %v", d, err)
				}
			}
			if got := r.take(); !slices.Equal(got, tt.want) {
				t.Errorf("fired %v, want %v", got, tt.want)
			}
			if got := s.Now().Sub(start); got != tt.wantNow {
				t.Errorf("Now after = start+%v, want start+%v", got, tt.wantNow)
			}
		})
	}
}

func TestTimerDueNowWaitsForAnAdvance(t *testing.T) {
	s := NewSimulated(start)
	var r recorder
	s.AfterFunc(0, r.fn(s, "zero"))
	tm := s.NewTimer(-time.Second)
	if got := r.take(); len(got) != 0 {
		t.Fatalf("fired %v before any Advance, want nothing", got)
	}
	select {
	case v := <-tm.C():
		t.Fatalf("channel timer delivered %v before any Advance", v)
	default:
	}
	if err := s.Advance(0); err != nil {
		t.Fatal(err)
	}
	if got, want := r.take(), []firing{{"zero", 0}}; !slices.Equal(got, want) {
		t.Errorf("after Advance(0) fired %v, want %v", got, want)
	}
	select {
	case v := <-tm.C():
		if !v.Equal(start) {
			t.Errorf("channel timer sent %v, want %v", v, start)
		}
	default:
		t.Error("channel timer with d < 0 did not fire at Advance(0)")
	}
}

func TestNestedTimers(t *testing.T) {
	s := NewSimulated(start)
	var r recorder
	// a (1s) arms a child for +2s (3s) and one for +0 (1s, after a's own tie group); b (4s) fires later;
	// the child at 3s arms a grandchild at 7s, inside the step; the one at 20s lies beyond it.
	s.AfterFunc(time.Second, func() {
		r.fn(s, "a")()
		s.AfterFunc(2*time.Second, func() {
			r.fn(s, "a.child")()
			s.AfterFunc(4*time.Second, r.fn(s, "a.child.child"))
			s.AfterFunc(17*time.Second, r.fn(s, "beyond"))
		})
		s.AfterFunc(0, r.fn(s, "a.now"))
	})
	s.AfterFunc(time.Second, r.fn(s, "tie"))
	s.AfterFunc(4*time.Second, r.fn(s, "b"))
	if err := s.Advance(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	want := []firing{
		{"a", time.Second}, {"tie", time.Second}, {"a.now", time.Second},
		{"a.child", 3 * time.Second}, {"b", 4 * time.Second}, {"a.child.child", 7 * time.Second},
	}
	if got := r.take(); !slices.Equal(got, want) {
		t.Errorf("fired %v\nwant  %v", got, want)
	}
	next, ok := s.NextTimer()
	if want := start.Add(20 * time.Second); !ok || !next.Equal(want) {
		t.Errorf("NextTimer() = %v, %v; want %v, true", next, ok, want)
	}
	if err := s.Set(next); err != nil {
		t.Fatal(err)
	}
	if got, want := r.take(), []firing{{"beyond", 20 * time.Second}}; !slices.Equal(got, want) {
		t.Errorf("after Set(NextTimer) fired %v, want %v", got, want)
	}
	if _, ok := s.NextTimer(); ok {
		t.Error("NextTimer() reports a pending timer after all fired")
	}
}

func TestCallbackReArmsItself(t *testing.T) {
	s := NewSimulated(start)
	var r recorder
	var tick Timer
	n := 0
	tick = s.AfterFunc(time.Hour, func() {
		r.fn(s, "tick")()
		if n++; n < 5 {
			if tick.Reset(time.Hour) {
				t.Error("Reset from its own callback returned true: the timer was not pending")
			}
		}
	})
	if err := s.Advance(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	var want []firing
	for h := 1; h <= 5; h++ {
		want = append(want, firing{"tick", time.Duration(h) * time.Hour})
	}
	if got := r.take(); !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v", got, want)
	}
}

func TestStopReset(t *testing.T) {
	tests := []struct {
		name      string
		op        func(s *Simulated, tm Timer) bool // returns what Stop or Reset returned
		wantOp    bool
		advance   time.Duration
		wantFired []time.Duration // the Now each firing saw
	}{
		{"stop pending", func(s *Simulated, tm Timer) bool { return tm.Stop() }, true, time.Hour, nil},
		{"stop twice", func(s *Simulated, tm Timer) bool { tm.Stop(); return tm.Stop() }, false, time.Hour, nil},
		{"stop after firing", func(s *Simulated, tm Timer) bool { _ = s.Advance(time.Minute); return tm.Stop() }, false, time.Hour, []time.Duration{time.Minute}},
		{"reset later", func(s *Simulated, tm Timer) bool { return tm.Reset(2 * time.Minute) }, true, time.Hour, []time.Duration{2 * time.Minute}},
		{"reset earlier", func(s *Simulated, tm Timer) bool { return tm.Reset(time.Second) }, true, time.Hour, []time.Duration{time.Second}},
		{"reset after stop", func(s *Simulated, tm Timer) bool { tm.Stop(); return tm.Reset(time.Second) }, false, time.Hour, []time.Duration{time.Second}},
		{"reset after firing fires again", func(s *Simulated, tm Timer) bool { _ = s.Advance(time.Minute); return tm.Reset(time.Minute) }, false, time.Hour, []time.Duration{time.Minute, 2 * time.Minute}},
		{"reset is relative to now", func(s *Simulated, tm Timer) bool { _ = s.Advance(30 * time.Second); return tm.Reset(time.Minute) }, true, time.Hour, []time.Duration{90 * time.Second}},
		{"reset beyond the step stays pending", func(s *Simulated, tm Timer) bool { return tm.Reset(2 * time.Hour) }, true, time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSimulated(start)
			var fired []time.Duration
			tm := s.AfterFunc(time.Minute, func() { fired = append(fired, s.Now().Sub(start)) })
			if got := tt.op(s, tm); got != tt.wantOp {
				t.Errorf("op returned %v, want %v", got, tt.wantOp)
			}
			if err := s.Advance(tt.advance); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fired, tt.wantFired) {
				t.Errorf("fired at %v, want %v", fired, tt.wantFired)
			}
		})
	}
}

func TestChannelTimer(t *testing.T) {
	s := NewSimulated(start)
	tm := s.NewTimer(time.Minute)
	if tm.C() == nil {
		t.Fatal("NewTimer's C() is nil")
	}
	if err := s.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-tm.C():
		if want := start.Add(time.Minute); !got.Equal(want) {
			t.Errorf("timer sent %v, want its deadline %v", got, want)
		}
	default:
		t.Fatal("timer due within the step sent nothing")
	}

	// Fired but never received: Stop discards the value and reports the timer stopped, as time.Timer does.
	tm.Reset(time.Minute)
	if err := s.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	if !tm.Stop() {
		t.Error("Stop of a timer whose value was not received returned false, want true")
	}
	select {
	case v := <-tm.C():
		t.Errorf("received stale %v after Stop", v)
	default:
	}

	// A full buffer never blocks the advancing goroutine: the second value is dropped.
	tm.Reset(time.Second)
	if err := s.Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	tm.Reset(time.Second) // drains the first value
	other := s.NewTimer(time.Second)
	if err := s.Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Timer{tm, other} {
		select {
		case <-c.C():
		default:
			t.Error("a timer due within the step sent nothing")
		}
	}
	if got := s.AfterFunc(time.Second, func() {}).C(); got != nil {
		t.Errorf("AfterFunc's C() = %v, want nil", got)
	}
}

func TestBackwardsRefused(t *testing.T) {
	tests := []struct {
		name string
		move func(s *Simulated) error
	}{
		{"Advance negative", func(s *Simulated) error { return s.Advance(-time.Nanosecond) }},
		{"Set earlier", func(s *Simulated) error { return s.Set(start.Add(time.Minute - 1)) }},
		{"Set far earlier", func(s *Simulated) error { return s.Set(time.Time{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSimulated(start)
			if err := s.Advance(time.Minute); err != nil {
				t.Fatal(err)
			}
			fired := false
			s.AfterFunc(0, func() { fired = true })
			if err := tt.move(s); !errors.Is(err, ErrBackwards) {
				t.Errorf("got error %v, want ErrBackwards", err)
			}
			if got, want := s.Now(), start.Add(time.Minute); !got.Equal(want) {
				t.Errorf("Now = %v after a refused move, want %v", got, want)
			}
			if fired {
				t.Error("a refused move fired a timer")
			}
		})
	}
}

func TestSetToNowFiresDue(t *testing.T) {
	s := NewSimulated(start)
	fired := false
	s.AfterFunc(0, func() { fired = true })
	if err := s.Set(start); err != nil {
		t.Fatal(err)
	}
	if !fired {
		t.Error("Set(Now) did not fire a timer already due")
	}
}

func TestLocationAndMonotonicKept(t *testing.T) {
	tehran := time.FixedZone("IRST", 3*3600+1800)
	s := NewSimulated(time.Now().In(tehran)) // the wall reading only as an arbitrary start
	if err := s.Set(s.Now().UTC().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := s.Now().Location(); got != tehran {
		t.Errorf("Now's location = %v, want the start's %v", got, tehran)
	}
	if now := s.Now(); now != now.Round(0) {
		t.Error("Now carries a monotonic clock reading")
	}
}

func TestRunawayStops(t *testing.T) {
	s := NewSimulated(start)
	s.firesMax = 100
	var tm Timer
	n := 0
	tm = s.AfterFunc(time.Second, func() { n++; tm.Reset(0) })
	err := s.Advance(time.Hour)
	if !errors.Is(err, ErrRunaway) {
		t.Fatalf("got error %v, want ErrRunaway", err)
	}
	if n != 100 {
		t.Errorf("fired %d times, want the limit 100", n)
	}
	if got, want := s.Now(), start.Add(time.Second); !got.Equal(want) {
		t.Errorf("Now = %v after the runaway, want the runaway instant %v", got, want)
	}
	if tm.Stop() != true {
		t.Error("the runaway timer is not left pending")
	}
	if err := s.Advance(time.Hour); err != nil {
		t.Errorf("Advance after stopping the runaway: %v", err)
	}
}

// TestConcurrentUse is for the race detector: goroutines create, stop and reset timers and read Now while
// others advance; every timer not stopped fires once, and Now never goes backwards.
func TestConcurrentUse(t *testing.T) {
	const (
		workers = 8
		each    = 200
	)
	s := NewSimulated(start)
	var (
		mu    sync.Mutex
		fired int
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() { // schedules and, for a third of them, stops
			defer wg.Done()
			last := s.Now()
			for i := 0; i < each; i++ {
				tm := s.AfterFunc(time.Duration(i%7)*time.Millisecond, func() {
					mu.Lock()
					fired++
					mu.Unlock()
				})
				if i%3 == 0 && tm.Stop() {
					tm.Reset(time.Duration(i%5) * time.Millisecond) // armed again: it still fires once
				}
				if now := s.Now(); now.Before(last) {
					t.Errorf("Now went back from %v to %v", last, now)
				} else {
					last = now
				}
			}
		}()
		go func() { // advances
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Advance(time.Millisecond); err != nil {
					t.Error(err)
				}
				s.NextTimer()
			}
		}()
	}
	wg.Wait()
	for {
		next, ok := s.NextTimer()
		if !ok {
			break
		}
		if err := s.Set(next); err != nil {
			t.Fatal(err)
		}
	}
	if fired != workers*each {
		t.Errorf("fired %d timers, want %d", fired, workers*each)
	}
}

func TestReal(t *testing.T) {
	c := Real()
	if c.Now().IsZero() {
		t.Error("Real().Now() is the zero time")
	}
	tm := c.NewTimer(time.Millisecond)
	if tm.C() == nil {
		t.Fatal("Real NewTimer's C() is nil")
	}
	<-tm.C() // no assertion on how long it took: tests never assert on wall time
	done := make(chan struct{})
	af := c.AfterFunc(time.Millisecond, func() { close(done) })
	if af.C() != nil {
		t.Error("Real AfterFunc's C() is not nil")
	}
	<-done
	if af.Stop() {
		t.Error("Stop after the callback ran returned true")
	}
	stopped := c.AfterFunc(time.Hour, func() { t.Error("a stopped real timer fired") })
	if !stopped.Stop() {
		t.Error("Stop of a pending real timer returned false")
	}
}
