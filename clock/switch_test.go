package clock

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// The tests stand a Simulated clock in for the real one, so that "real" time moves only when a test says so
// and every assertion is about order, never about wall time.

// log collects what callbacks saw: which timer fired and the Switch's Now while it ran, as an offset from
// start.
type swLog struct {
	mu  sync.Mutex
	got []firing
}

func (l *swLog) fn(s *Switch, name string) func() {
	return func() {
		now := s.Now()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.got = append(l.got, firing{name, now.Sub(start)})
	}
}

func (l *swLog) take() []firing {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

func TestNewSwitch(t *testing.T) {
	real := NewSimulated(start)
	simStart := start.Add(-48 * time.Hour) // a simulated day in the past, as a scenario replays one
	tests := []struct {
		mode    Mode
		wantNow time.Time
	}{
		{ModeReal, start},
		{ModeSimulated, simStart},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			s := NewSwitch(real, tt.mode, simStart)
			if got := s.Mode(); got != tt.mode {
				t.Errorf("Mode() = %q, want %q", got, tt.mode)
			}
			if got := s.Now(); !got.Equal(tt.wantNow) {
				t.Errorf("Now() = %v, want %v", got, tt.wantNow)
			}
		})
	}
}

func TestNewSwitchUnknownModePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewSwitch with mode \"fast\" did not panic")
		}
	}()
	NewSwitch(NewSimulated(start), "fast", start)
}

func TestSwitchMovesOnlyWhenSimulated(t *testing.T) {
	tests := []struct {
		name    string
		mode    Mode
		move    func(s *Switch) error
		wantErr error
		wantNow time.Duration // from start, when the move is allowed
	}{
		{"advance real", ModeReal, func(s *Switch) error { return s.Advance(time.Hour) }, ErrMode, 0},
		{"set real", ModeReal, func(s *Switch) error { return s.Set(start.Add(time.Hour)) }, ErrMode, 0},
		{"advance simulated", ModeSimulated, func(s *Switch) error { return s.Advance(time.Hour) }, nil, time.Hour},
		{"set simulated", ModeSimulated, func(s *Switch) error { return s.Set(start.Add(2 * time.Hour)) }, nil, 2 * time.Hour},
		{"advance back", ModeSimulated, func(s *Switch) error { return s.Advance(-time.Second) }, ErrBackwards, 0},
		{"set back", ModeSimulated, func(s *Switch) error { return s.Set(start.Add(-time.Second)) }, ErrBackwards, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSwitch(NewSimulated(start), tt.mode, start)
			err := tt.move(s)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got := s.Now().Sub(start); got != tt.wantNow {
				t.Errorf("Now() = start+%v, want start+%v", got, tt.wantNow)
			}
		})
	}
}

func TestSetMode(t *testing.T) {
	tests := []struct {
		name     string
		from     Mode
		simStart time.Duration // from start; the real stand-in reads start
		to       Mode
		wantErr  error
		wantMode Mode
		wantNow  time.Duration
	}{
		{"real to simulated starts at the real now", ModeReal, -time.Hour, ModeSimulated, nil, ModeSimulated, 0},
		{"simulated behind real goes real", ModeSimulated, -time.Hour, ModeReal, nil, ModeReal, 0},
		{"simulated equal to real goes real", ModeSimulated, 0, ModeReal, nil, ModeReal, 0},
		{"simulated ahead of real stays", ModeSimulated, time.Hour, ModeReal, ErrBackwards, ModeSimulated, time.Hour},
		{"same mode does nothing", ModeSimulated, time.Hour, ModeSimulated, nil, ModeSimulated, time.Hour},
		{"unknown mode", ModeReal, 0, "fast", ErrMode, ModeReal, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSwitch(NewSimulated(start), tt.from, start.Add(tt.simStart))
			err := s.SetMode(tt.to)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("SetMode(%q) = %v, want %v", tt.to, err, tt.wantErr)
			}
			if got := s.Mode(); got != tt.wantMode {
				t.Errorf("Mode() = %q, want %q", got, tt.wantMode)
			}
			if got := s.Now().Sub(start); got != tt.wantNow {
				t.Errorf("Now() = start+%v, want start+%v", got, tt.wantNow)
			}
		})
	}
}

// TestTimersKeepTheirDeadlineAcrossModes arms timers on each clock, switches, and checks that each fires at
// its own deadline on the clock followed at the time, and never on the clock left behind.
func TestTimersKeepTheirDeadlineAcrossModes(t *testing.T) {
	real := NewSimulated(start)
	s := NewSwitch(real, ModeReal, start)
	var l swLog
	s.AfterFunc(10*time.Minute, l.fn(s, "a10"))
	s.AfterFunc(30*time.Minute, l.fn(s, "c30"))
	ch := s.NewTimer(20 * time.Minute)
	if err := s.SetMode(ModeSimulated); err != nil {
		t.Fatal(err)
	}
	// The real stand-in moving past every deadline fires nothing now: the timers left it.
	if err := real.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := l.take(); len(got) != 0 {
		t.Fatalf("after the real clock moved while simulated: fired %v, want nothing", got)
	}
	if err := s.Advance(15 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := l.take(), []firing{{"a10", 10 * time.Minute}}; !slices.Equal(got, want) {
		t.Fatalf("simulated advance to +15m: fired %v, want %v", got, want)
	}
	s.AfterFunc(25*time.Minute, l.fn(s, "d40")) // armed at +15m on the simulated clock: due at +40m
	// The real stand-in is at +60m, past the simulated +15m: going real is allowed, and the timers whose
	// deadlines have passed on the real clock fire at its next move.
	if err := s.SetMode(ModeReal); err != nil {
		t.Fatal(err)
	}
	if err := real.Advance(0); err != nil {
		t.Fatal(err)
	}
	if got, want := l.take(), []firing{{"c30", time.Hour}, {"d40", time.Hour}}; !slices.Equal(got, want) {
		t.Errorf("back on the real clock at +60m: fired %v, want %v", got, want)
	}
	select {
	case v := <-ch.C():
		if got, want := v.Sub(start), time.Hour; got != want {
			t.Errorf("channel timer sent start+%v, want start+%v", got, want)
		}
	default:
		t.Error("the +20m channel timer sent nothing once the real clock had passed it")
	}
	if _, ok := s.NextTimer(); ok {
		t.Error("NextTimer reports a timer pending after all fired")
	}
}

func TestSwitchFiresInDeadlineOrderWithOwnNow(t *testing.T) {
	s := NewSwitch(NewSimulated(start), ModeSimulated, start)
	var l swLog
	s.AfterFunc(3*time.Second, l.fn(s, "c"))
	s.AfterFunc(time.Second, l.fn(s, "a"))
	s.AfterFunc(time.Second, l.fn(s, "a2"))
	s.AfterFunc(2*time.Second, func() {
		l.fn(s, "b")()
		s.AfterFunc(500*time.Millisecond, l.fn(s, "b+")) // armed inside the step, fires within it
	})
	if next, ok := s.NextTimer(); !ok || next.Sub(start) != time.Second {
		t.Errorf("NextTimer() = start+%v, %v; want start+1s, true", next.Sub(start), ok)
	}
	if err := s.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	want := []firing{{"a", time.Second}, {"a2", time.Second}, {"b", 2 * time.Second},
		{"b+", 2500 * time.Millisecond}, {"c", 3 * time.Second}}
	if got := l.take(); !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v", got, want)
	}
}

// TestSwitchStopReset runs the clock.Timer contract for Stop and Reset with a change of mode between arming
// and stopping, both ways.
func TestSwitchStopReset(t *testing.T) {
	tests := []struct {
		name string
		from Mode
		// act is done between arming (for +10m) and the check; it returns what Stop or Reset returned.
		act      func(s *Switch, tm Timer) bool
		wantAct  bool
		wantFire []time.Duration // offsets from start at which the timer fired, after the Switch is run to +2h
	}{
		{"stop pending", ModeReal, func(s *Switch, tm Timer) bool { return tm.Stop() }, true, nil},
		{"stop after a switch", ModeReal, func(s *Switch, tm Timer) bool {
			mustSetMode(t, s, ModeSimulated)
			return tm.Stop()
		}, true, nil},
		{"stop twice", ModeSimulated, func(s *Switch, tm Timer) bool { tm.Stop(); return tm.Stop() }, false, nil},
		{"stop after firing", ModeSimulated, func(s *Switch, tm Timer) bool {
			mustMove(t, s, 10*time.Minute)
			return tm.Stop()
		}, false, []time.Duration{10 * time.Minute}},
		{"reset pending then switch", ModeReal, func(s *Switch, tm Timer) bool {
			was := tm.Reset(time.Hour)
			mustSetMode(t, s, ModeSimulated)
			return was
		}, true, []time.Duration{time.Hour}},
		{"reset after firing", ModeSimulated, func(s *Switch, tm Timer) bool {
			mustMove(t, s, 10*time.Minute)
			return tm.Reset(30 * time.Minute) // from +10m: due at +40m
		}, false, []time.Duration{10 * time.Minute, 40 * time.Minute}},
		{"reset after stop", ModeSimulated, func(s *Switch, tm Timer) bool {
			tm.Stop()
			return tm.Reset(5 * time.Minute)
		}, false, []time.Duration{5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSwitch(NewSimulated(start), tt.from, start)
			var (
				mu  sync.Mutex
				got []time.Duration
			)
			tm := s.AfterFunc(10*time.Minute, func() {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, s.Now().Sub(start))
			})
			if act := tt.act(s, tm); act != tt.wantAct {
				t.Errorf("act returned %v, want %v", act, tt.wantAct)
			}
			if s.Mode() == ModeReal {
				mustSetMode(t, s, ModeSimulated)
			}
			if err := s.Set(start.Add(2 * time.Hour)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tt.wantFire) {
				t.Errorf("fired at %v, want %v", got, tt.wantFire)
			}
		})
	}
}

func TestSwitchChannelTimerStopDrains(t *testing.T) {
	tests := []struct {
		name     string
		act      func(tm Timer) bool
		wantAct  bool
		wantRecv bool
	}{
		{"unreceived value counts as stopped", func(tm Timer) bool { return tm.Stop() }, true, false},
		{"reset drains the old value", func(tm Timer) bool { return tm.Reset(time.Hour) }, true, false},
		{"untouched keeps its value", func(tm Timer) bool { return false }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSwitch(NewSimulated(start), ModeSimulated, start)
			tm := s.NewTimer(time.Minute)
			mustMove(t, s, time.Minute)
			if got := tt.act(tm); got != tt.wantAct {
				t.Errorf("act returned %v, want %v", got, tt.wantAct)
			}
			select {
			case <-tm.C():
				if !tt.wantRecv {
					t.Error("a stale value was received after Stop or Reset")
				}
			default:
				if tt.wantRecv {
					t.Error("no value to receive from a fired timer")
				}
			}
		})
	}
}

func TestSwitchNextTimerInRealMode(t *testing.T) {
	s := NewSwitch(NewSimulated(start), ModeReal, start)
	if _, ok := s.NextTimer(); ok {
		t.Fatal("NextTimer reports a timer before any was armed")
	}
	s.AfterFunc(time.Hour, func() {})
	early := s.NewTimer(time.Minute)
	if next, ok := s.NextTimer(); !ok || !next.Equal(start.Add(time.Minute)) {
		t.Errorf("NextTimer() = %v, %v; want start+1m, true", next, ok)
	}
	early.Stop()
	if next, ok := s.NextTimer(); !ok || !next.Equal(start.Add(time.Hour)) {
		t.Errorf("after Stop: NextTimer() = %v, %v; want start+1h, true", next, ok)
	}
}

// TestSwitchWhileRealCallbackRuns switches to simulated while a callback fired by the real clock is still
// running: the switch neither waits for it nor fires it again.
func TestSwitchWhileRealCallbackRuns(t *testing.T) {
	real := NewSimulated(start)
	s := NewSwitch(real, ModeReal, start)
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	calls := 0
	tm := s.AfterFunc(time.Minute, func() {
		mu.Lock()
		calls++
		mu.Unlock()
		close(started)
		<-release
	})
	done := make(chan error, 1)
	go func() { done <- real.Advance(time.Minute) }() // the real stand-in fires the callback in this goroutine
	<-started
	if err := s.SetMode(ModeSimulated); err != nil {
		t.Fatal(err)
	}
	if tm.Stop() {
		t.Error("Stop of a timer whose callback is running returned true")
	}
	if err := s.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("callback ran %d times, want 1", calls)
	}
}

// TestSetModeWaitsForSimulatedStep: a change of mode asked for while an Advance is firing callbacks happens
// after that Advance, so the step completes on the clock it began on.
func TestSetModeWaitsForSimulatedStep(t *testing.T) {
	real := NewSimulated(start.Add(time.Hour))
	s := NewSwitch(real, ModeSimulated, start)
	started, release := make(chan struct{}), make(chan struct{})
	var l swLog
	s.AfterFunc(time.Minute, func() {
		close(started)
		<-release
	})
	s.AfterFunc(2*time.Minute, l.fn(s, "after"))
	advanced := make(chan error, 1)
	go func() { advanced <- s.Advance(5 * time.Minute) }()
	<-started
	switched := make(chan error, 1)
	go func() { switched <- s.SetMode(ModeReal) }()
	select {
	case err := <-switched:
		t.Fatalf("SetMode returned (%v) while the Advance was still firing", err)
	default:
	}
	close(release)
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	if err := <-switched; err != nil {
		t.Fatal(err)
	}
	if got, want := l.take(), []firing{{"after", 2 * time.Minute}}; !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v: the step should finish on the simulated clock", got, want)
	}
	if got := s.Mode(); got != ModeReal {
		t.Errorf("Mode() = %q, want %q", got, ModeReal)
	}
}

// TestSwitchConcurrentUse is for the race detector: goroutines arm, stop and reset timers, others switch the
// mode back and forth and move the clocks. At the end every timer not stopped has fired exactly once.
func TestSwitchConcurrentUse(t *testing.T) {
	const (
		workers = 4
		each    = 200
	)
	real := NewSimulated(start)
	s := NewSwitch(real, ModeReal, start)
	var (
		mu    sync.Mutex
		fired int
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
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
				s.NextTimer()
			}
		}()
	}
	wg.Add(2)
	go func() { // the real stand-in keeps moving
		defer wg.Done()
		for i := 0; i < each; i++ {
			if err := real.Advance(time.Millisecond); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() { // the operator switches and moves the simulated clock
		defer wg.Done()
		for i := 0; i < each; i++ {
			m := ModeSimulated
			if i%2 == 1 {
				m = ModeReal
			}
			if err := s.SetMode(m); err != nil && !errors.Is(err, ErrBackwards) {
				t.Error(err)
			}
			if err := s.Advance(0); err != nil && !errors.Is(err, ErrMode) {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	// Drain: run whichever clock is followed until nothing is pending.
	for {
		next, ok := s.NextTimer()
		if !ok {
			break
		}
		if s.Mode() == ModeReal {
			if err := real.Set(next); err != nil && !errors.Is(err, ErrBackwards) {
				t.Fatal(err)
			}
			if err := real.Advance(0); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := s.Set(next); err != nil && !errors.Is(err, ErrBackwards) {
			t.Fatal(err)
		}
		if err := s.Advance(0); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fired != workers*each {
		t.Errorf("fired %d timers, want %d", fired, workers*each)
	}
}

// TestSwitchOnTheRealClock: on the wall clock a timer fires; no assertion on when.
func TestSwitchOnTheRealClock(t *testing.T) {
	s := NewSwitch(Real(), ModeReal, time.Time{})
	done := make(chan struct{})
	s.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	tm := s.NewTimer(time.Millisecond)
	<-tm.C()
	if tm.Stop() {
		t.Error("Stop after the value was received returned true")
	}
}

func mustSetMode(t *testing.T, s *Switch, m Mode) {
	t.Helper()
	if err := s.SetMode(m); err != nil {
		t.Fatal(err)
	}
}

func mustMove(t *testing.T, s *Switch, d time.Duration) {
	t.Helper()
	if err := s.Advance(d); err != nil {
		t.Fatal(err)
	}
}
