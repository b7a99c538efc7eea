package clock

import (
	"time"
)

// Clock tells the time and schedules work on it. Every package that needs the time or a timer takes a Clock
// rather than calling the time package, so that a run can be driven by a Simulated clock and replayed.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a Timer that sends the time on its channel once d has passed, like time.NewTimer.
	NewTimer(d time.Duration) Timer
	// AfterFunc returns a Timer that calls f once d has passed, like time.AfterFunc. Its C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a single pending event on a Clock, like *time.Timer.
type Timer interface {
	// C returns the channel a NewTimer timer delivers on; it is nil for an AfterFunc timer.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It returns true if the call stopped the timer, false if the timer
	// had already fired (and its value, if any, been received) or been stopped. For AfterFunc timers, Stop does
	// not wait for a callback that has already started.
	Stop() bool
	// Reset makes the timer fire d from now instead, whatever state it was in. It returns true if the timer
	// was still pending (as Stop would have), false if it had fired or been stopped.
	Reset(d time.Duration) bool
}

// Real returns the wall clock: the time package itself, behind the Clock interface.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

// realTimer wraps a *time.Timer; since Go 1.23 its Stop and Reset already guarantee that no stale value is
// received afterwards, which the simulated timer matches.
type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C } // nil for AfterFunc, as the time package makes it

func (r realTimer) Stop() bool { return r.t.Stop() }

func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
