package clock

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Mode is which clock a Switch follows: the real one, or a simulated one that only the operator moves.
type Mode string

// The modes of a Switch, spelt as `tasvieh serve --clock` and the operator's API spell them.
const (
	ModeReal      Mode = "real"
	ModeSimulated Mode = "simulated"
)

// ErrMode is returned when a Switch is asked for something its mode does not allow (moving the real clock),
// or for a mode that does not exist.
var ErrMode = errors.New("clock: not allowed in this mode")

// Switch is a Clock whose mode the operator can change at run time: in ModeReal it follows the real Clock it
// was given, in ModeSimulated a Simulated clock that moves only through Advance and Set. It is safe for
// concurrent use.
//
// Its timers keep their absolute deadline across a change of mode: a timer armed for 16:00 still fires at
// 16:00, on whichever clock the Switch then follows. Stop and Reset behave as clock.Timer documents, whatever
// the mode was when the timer was armed. A change of mode never moves the time backwards: real → simulated
// starts the simulated clock at the real Now; simulated → real is refused while the simulated time is ahead
// of the real one.
//
// In ModeSimulated the Switch fires timers as Simulated does (synchronously inside Advance and Set, in
// deadline order, each seeing its own deadline as Now). A callback fired that way must not call Advance, Set
// or SetMode on the same Switch: moves and mode changes are serialised, so it would wait for itself. A timer
// whose deadline has passed when the Switch goes simulated fires at the next Advance or Set, even Advance(0).
type Switch struct {
	step sync.Mutex // held for a whole Advance, Set or SetMode: moves and mode changes are serialised

	mu      sync.Mutex // guards all below; never held while a caller's callback runs
	real    Clock
	mode    Mode
	sim     *Simulated // the clock followed in ModeSimulated; nil in ModeReal
	pending map[*switchTimer]struct{}
	seq     uint64 // timers created so far: the tie-break among equal deadlines when re-arming
}

var _ Clock = (*Switch)(nil)

// NewSwitch returns a Switch in mode following real, or, in ModeSimulated, a simulated clock reading start
// (start is ignored in ModeReal). It panics on a mode other than ModeReal and ModeSimulated: the caller
// validates what the operator typed before it gets here.
func NewSwitch(real Clock, mode Mode, start time.Time) *Switch {
	if real == nil {
		panic("clock: NewSwitch with a nil real clock")
	}
	s := &Switch{real: real, mode: mode, pending: make(map[*switchTimer]struct{})}
	switch mode {
	case ModeReal:
	case ModeSimulated:
		s.sim = NewSimulated(start)
	default:
		panic(fmt.Sprintf("clock: NewSwitch with mode %q, want %q or %q", mode, ModeReal, ModeSimulated))
	}
	return s
}

// backing is the clock the Switch follows now. s.mu is held.
func (s *Switch) backing() Clock {
	if s.sim != nil {
		return s.sim
	}
	return s.real
}

// Now returns the time of the clock the Switch follows.
func (s *Switch) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backing().Now()
}

// Mode returns the mode the Switch is in.
func (s *Switch) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// NewTimer returns a timer that sends the time on C once d has passed on the clock the Switch follows.
func (s *Switch) NewTimer(d time.Duration) Timer {
	t := &switchTimer{s: s, c: make(chan time.Time, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t.seq = s.seq
	s.arm(t, d)
	return t
}

// AfterFunc returns a timer that calls f once d has passed on the clock the Switch follows: in its own
// goroutine in ModeReal, in the goroutine that moves the clock in ModeSimulated. Its C is nil.
func (s *Switch) AfterFunc(d time.Duration, f func()) Timer {
	if f == nil {
		panic("clock: AfterFunc with a nil func")
	}
	t := &switchTimer{s: s, f: f}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t.seq = s.seq
	s.arm(t, d)
	return t
}

// SetMode switches to mode m, re-arming every pending timer for its own deadline on the clock followed from
// now on. Going simulated starts the simulated clock at the real Now. Going real is refused with ErrBackwards
// while the real Now is before the simulated Now, since the clock never moves back: the operator waits, or
// stays simulated. Setting the mode the Switch is already in does nothing. An unknown mode is refused with
// ErrMode.
func (s *Switch) SetMode(m Mode) error {
	if m != ModeReal && m != ModeSimulated {
		return fmt.Errorf("%w: unknown mode %q, want %q or %q", ErrMode, m, ModeReal, ModeSimulated)
	}
	s.step.Lock()
	defer s.step.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == s.mode {
		return nil
	}
	realNow := s.real.Now()
	if m == ModeReal {
		if simNow := s.sim.Now(); realNow.Before(simNow) {
			return fmt.Errorf("%w: cannot go real, the real time %s is before the simulated time %s",
				ErrBackwards, realNow.Format(time.RFC3339Nano), simNow.Format(time.RFC3339Nano))
		}
		s.sim = nil
	} else {
		s.sim = NewSimulated(realNow)
	}
	s.mode = m
	// Re-armed in deadline order, then creation order, so that timers whose deadlines the new clock has
	// already passed (all due at once on it) still fire in the order they were due.
	timers := make([]*switchTimer, 0, len(s.pending))
	for t := range s.pending {
		timers = append(timers, t)
	}
	slices.SortFunc(timers, func(a, b *switchTimer) int {
		if c := a.deadline.Compare(b.deadline); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, t := range timers {
		t.backing.Stop() // a callback of the old clock already started finds its generation stale
		s.rearm(t)
	}
	return nil
}

// Advance moves the simulated clock forward by d, as Simulated.Advance does. It is refused with ErrMode in
// ModeReal, and with ErrBackwards for a negative d.
func (s *Switch) Advance(d time.Duration) error {
	s.step.Lock()
	defer s.step.Unlock()
	sim, err := s.simulated("Advance")
	if err != nil {
		return err
	}
	return sim.Advance(d) // without s.mu: the callbacks it fires use the Switch
}

// Set moves the simulated clock forward to t, as Simulated.Set does. It is refused with ErrMode in ModeReal,
// and with ErrBackwards for a t before Now.
func (s *Switch) Set(t time.Time) error {
	s.step.Lock()
	defer s.step.Unlock()
	sim, err := s.simulated("Set")
	if err != nil {
		return err
	}
	return sim.Set(t)
}

// simulated returns the simulated clock, or ErrMode in ModeReal. s.step is held, so the mode cannot change
// before the caller is done with it.
func (s *Switch) simulated(op string) (*Simulated, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sim == nil {
		return nil, fmt.Errorf("%w: %s on the real clock; switch to %q first", ErrMode, op, ModeSimulated)
	}
	return s.sim, nil
}

// NextTimer returns the deadline of the earliest pending timer, or false when none is pending, in either mode:
// in ModeSimulated, Set to it to advance to the next event.
func (s *Switch) NextTimer() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	found := false
	for t := range s.pending {
		if !found || t.deadline.Before(next) {
			next, found = t.deadline, true
		}
	}
	return next, found
}

// arm makes t pending for Now + d (Now itself when d <= 0). s.mu is held.
func (s *Switch) arm(t *switchTimer, d time.Duration) {
	t.deadline = s.backing().Now()
	if d > 0 {
		t.deadline = t.deadline.Add(d)
	}
	s.pending[t] = struct{}{}
	s.rearm(t)
}

// rearm puts pending t on the clock followed now, for its deadline, under a new generation. s.mu is held.
func (s *Switch) rearm(t *switchTimer) {
	t.gen++
	gen := t.gen
	b := s.backing()
	t.backing = b.AfterFunc(t.deadline.Sub(b.Now()), func() { t.fire(gen) })
}

// unschedule takes t off its clock and drains an unreceived value, reporting whether either stopped
// something, as Stop reports it. s.mu is held.
func (s *Switch) unschedule(t *switchTimer) bool {
	stopped := false
	if _, ok := s.pending[t]; ok {
		delete(s.pending, t)
		t.backing.Stop()
		t.gen++ // a callback of the backing timer already started does nothing
		stopped = true
	}
	if t.c != nil {
		select {
		case <-t.c:
			stopped = true
		default:
		}
	}
	return stopped
}

// switchTimer is a Switch's Timer. It rides an AfterFunc timer of the clock followed when it was (re-)armed;
// its generation tells that timer's callback whether it still speaks for it, so that Stop, Reset and a change
// of mode never race a callback that already started. Every field but s, c and f is guarded by s.mu.
type switchTimer struct {
	s        *Switch
	c        chan time.Time // nil for AfterFunc timers; the same channel across re-arming
	f        func()         // nil for NewTimer timers
	seq      uint64         // creation order
	deadline time.Time      // while pending
	gen      uint64         // bumped by every re-arm, Stop and Reset
	backing  Timer          // the timer on the clock followed, while pending
}

// fire is the backing timer's callback for generation gen.
func (t *switchTimer) fire(gen uint64) {
	s := t.s
	s.mu.Lock()
	if gen != t.gen {
		s.mu.Unlock()
		return
	}
	delete(s.pending, t)
	t.gen++
	if t.c != nil {
		// Sent under s.mu so that a concurrent Stop or Reset either stops the timer first or drains this
		// value after: no stale value survives either.
		select {
		case t.c <- s.backing().Now():
		default:
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	t.f()
}

func (t *switchTimer) C() <-chan time.Time { return t.c } // nil for AfterFunc timers

func (t *switchTimer) Stop() bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.s.unschedule(t)
}

func (t *switchTimer) Reset(d time.Duration) bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	was := t.s.unschedule(t)
	t.s.arm(t, d)
	return was
}
