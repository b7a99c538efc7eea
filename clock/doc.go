// Package clock owns the project's notion of time: the Clock interface that every other package is handed
// instead of reading the wall clock, the real implementation (Real) and a simulated one (Simulated) that only
// moves when told to and fires its timers in deadline order as it does.
//
// It is the only package that may call time.Now, time.NewTimer or time.AfterFunc for the wall clock; everything
// else takes a Clock (ARCHITECTURE.md, "Time and identity"). It imports only the standard library.
//
// It must never: move the simulated clock backwards; fire a simulated timer out of deadline order or before its
// deadline; hold its own lock while running a caller's callback; keep any package-level mutable state.
package clock
