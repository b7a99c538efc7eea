package clock

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"
	"time"
)

// firesAtInstantMax bounds how many timers one Advance or Set fires at a single instant. A callback that
// re-arms itself with d <= 0 would otherwise keep an Advance busy forever (each firing is due again at once);
// a real day's schedule fires a few hundred jobs at most at any one instant, so a million means a runaway, and
// Advance stops with ErrRunaway instead of hanging the operator who asked for it.
const firesAtInstantMax = 1 << 20

// ErrBackwards is returned when asked to move a Simulated clock backwards: it never does.
var ErrBackwards = errors.New("clock: simulated time never moves backwards")

// ErrRunaway is returned when more than a million timers fire at one simulated instant during one Advance or
// Set, which only a timer that keeps re-arming itself for "now" produces. The clock stays at that instant with
// the remaining timers still pending.
var ErrRunaway = errors.New("clock: timers keep firing at the same instant")

// Simulated is a Clock that moves only when Advance or Set moves it. It is safe for concurrent use.
//
// Moving it fires, in the advancing goroutine and before the call returns, every timer whose deadline falls
// within the step (up to and including the target), in deadline order and, for equal deadlines, in the order
// the timers were created (a Reset keeps a timer's place among equals). While a timer fires, Now returns that
// timer's own deadline, so a scheduled job sees the time it was scheduled for; when no timer is left due, Now
// is the target. AfterFunc callbacks run synchronously, one after another; a NewTimer timer gets a
// non-blocking send of its deadline on its 1-buffered channel, so a value nobody received is dropped on the
// next firing, as with time.Timer. Like time.Timer since Go 1.23, Stop and Reset discard a value that was sent
// but not yet received, so no stale value is read after they return (and they report such a timer as stopped).
//
// A callback may read Now, create timers and stop or reset any timer, itself included: a timer it arms for a
// deadline within the rest of the step fires during the same Advance, in order. A timer armed with d <= 0 is
// due at once and fires at the next Advance or Set, even Advance(0). A callback must not call Advance or Set
// on its own clock: moves are serialised, so that call would wait for itself forever. Other goroutines may
// call anything at any time; while a move is in progress they see Now at the deadline of the timer firing.
// A callback that panics unwinds out of Advance or Set, leaving the clock at its deadline and the timers not
// yet fired pending.
type Simulated struct {
	step sync.Mutex // held for a whole Advance or Set: moves are serialised

	mu     sync.Mutex // guards all below; never held while a callback runs
	now    time.Time
	timers timerHeap // the pending timers, earliest first
	seq    uint64    // timers created so far: the tie-break among equal deadlines
	// firesMax is firesAtInstantMax; a field so that the package's own test can reach it cheaply.
	firesMax int
}

var _ Clock = (*Simulated)(nil)

// NewSimulated returns a simulated clock reading start (without its monotonic reading, in its location; Now
// keeps reporting times in that location).
func NewSimulated(start time.Time) *Simulated {
	return &Simulated{now: start.Round(0), firesMax: firesAtInstantMax}
}

// Now returns the simulated time: the deadline of the timer firing while a move is in progress, otherwise the
// last target reached.
func (s *Simulated) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// NewTimer returns a timer that sends its deadline on C once the clock reaches now + d.
func (s *Simulated) NewTimer(d time.Duration) Timer {
	return s.add(d, make(chan time.Time, 1), nil)
}

// AfterFunc returns a timer that calls f, in the goroutine that moves the clock, once the clock reaches
// now + d. Its C is nil.
func (s *Simulated) AfterFunc(d time.Duration, f func()) Timer {
	if f == nil {
		panic("clock: AfterFunc with a nil func")
	}
	return s.add(d, nil, f)
}

func (s *Simulated) add(d time.Duration, c chan time.Time, f func()) *simTimer {
	t := &simTimer{s: s, c: c, f: f, index: -1}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t.seq = s.seq
	s.schedule(t, d)
	return t
}

// schedule arms t for now + d (now itself when d <= 0). s.mu is held.
func (s *Simulated) schedule(t *simTimer, d time.Duration) {
	t.when = s.now
	if d > 0 {
		t.when = s.now.Add(d)
	}
	heap.Push(&s.timers, t)
}

// NextTimer returns the deadline of the earliest pending timer, or false when none is pending: Set to it to
// advance to the next event.
func (s *Simulated) NextTimer() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.timers) == 0 {
		return time.Time{}, false
	}
	return s.timers[0].when, true
}

// Advance moves the clock forward by d, firing every timer due on the way as the type's comment describes.
// A negative d is refused with ErrBackwards and moves nothing; Advance(0) fires the timers already due.
func (s *Simulated) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: Advance(%v)", ErrBackwards, d)
	}
	s.step.Lock()
	defer s.step.Unlock()
	s.mu.Lock()
	target := s.now.Add(d)
	s.mu.Unlock()
	return s.moveTo(target)
}

// Set moves the clock forward to t, firing every timer due on the way as the type's comment describes. A t
// before Now is refused with ErrBackwards and moves nothing; t equal to Now fires the timers already due.
func (s *Simulated) Set(t time.Time) error {
	s.step.Lock()
	defer s.step.Unlock()
	s.mu.Lock()
	now := s.now
	s.mu.Unlock()
	t = t.Round(0).In(now.Location())
	if t.Before(now) {
		return fmt.Errorf("%w: Set(%s) is before Now %s", ErrBackwards, t.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	return s.moveTo(t)
}

// moveTo fires the due timers one at a time, taking s.mu only between firings so that a callback may use the
// clock, and leaves now at target. s.step is held, so now cannot move under it.
func (s *Simulated) moveTo(target time.Time) error {
	var at time.Time // the instant of the last firing
	fired := 0       // timers fired at that instant
	for {
		s.mu.Lock()
		if len(s.timers) == 0 || s.timers[0].when.After(target) {
			s.now = target
			s.mu.Unlock()
			return nil
		}
		next := s.timers[0]
		if next.when.Before(s.now) {
			s.mu.Unlock()
			panic(fmt.Sprintf("clock: bug: a pending timer is due at %v, before now %v", next.when, s.now))
		}
		if next.when.Equal(at) {
			fired++
		} else {
			at, fired = next.when, 1
		}
		if fired > s.firesMax {
			s.now = at
			s.mu.Unlock()
			return fmt.Errorf("%w: more than %d at %s", ErrRunaway, s.firesMax, at.Format(time.RFC3339Nano))
		}
		heap.Pop(&s.timers)
		s.now = next.when
		if next.c != nil {
			// Sent under s.mu so that a concurrent Stop or Reset either unschedules the timer first or
			// drains this value after: no stale value survives either.
			select {
			case next.c <- next.when:
			default:
			}
			s.mu.Unlock()
			continue
		}
		f := next.f
		s.mu.Unlock()
		f()
	}
}

// simTimer is a Simulated clock's Timer.
type simTimer struct {
	s     *Simulated
	c     chan time.Time // nil for AfterFunc timers
	f     func()         // nil for NewTimer timers
	seq   uint64         // creation order, the tie-break
	when  time.Time      // deadline while pending
	index int            // position in s.timers; -1 when not pending
}

func (t *simTimer) C() <-chan time.Time { return t.c } // nil for AfterFunc timers

func (t *simTimer) Stop() bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.unschedule()
}

func (t *simTimer) Reset(d time.Duration) bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	was := t.unschedule()
	t.s.schedule(t, d)
	return was
}

// unschedule takes t off the heap and drains an unreceived value, reporting whether either stopped something.
// s.mu is held.
func (t *simTimer) unschedule() bool {
	stopped := false
	if t.index >= 0 {
		heap.Remove(&t.s.timers, t.index)
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

// timerHeap orders pending timers by deadline, then creation; it keeps each timer's index for Stop.
type timerHeap []*simTimer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) Push(x any) {
	t := x.(*simTimer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
