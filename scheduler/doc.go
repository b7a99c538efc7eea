// Package scheduler runs the rails' timed jobs — SATNA open, cut-offs and end of day, PAYA cycles,
// card-switch windows, ledger expiry — from cron specs written in Tehran wall time, optionally only on
// business days, on the injected clock.Clock, and records every run through a small Runs store
// (postgres.JobRuns in the wiring).
//
// It owns: parsing the specs (robfig/cron/v3's standard five-field parser and its descriptors, @every and
// @hourly included), deciding which occurrence runs when, running the jobs one at a time in scheduled-time
// order, retrying failures, and the catch-up rule below. It uses robfig/cron only for parsing and
// Schedule.Next: robfig's own runner reads the wall clock, and nothing here may.
//
// # Catch-up
//
// Runs.Since tells, per job, from when its occurrences count: the scheduled time of its last finished ("ok"
// or "skipped") run, or, for a job never run, when it was first registered. At Start, every job with one or
// more occurrences due since then runs once, at the latest of them, marked as a catch-up; then it keeps its
// schedule. So:
//
//   - a first start of a new server fires nothing from the past (the job was registered just now);
//   - a restart after a miss runs the missed job, once: a SATNA end of day missed while the server was down
//     must still happen, and a PAYA cycle missed three times is one cycle that takes every entry accepted
//     since, not three cycles in a row at the same instant;
//   - a finished run is never repeated: its scheduled time is Since, and only later occurrences count;
//   - a run that failed does not move Since, so after a restart it is caught up like a missed one.
//
// The latest occurrence is the one whose effects are still wanted: a cut-off at 12:45 stands for everything
// accepted until then, including what an 09:45 cut-off missed while down would have taken. Catch-ups across
// jobs run in scheduled-time order, so a day's open still runs before that day's close.
//
// # Order and the simulated clock
//
// Runs never overlap, across all jobs, and go in scheduled-time order (equal times in registration order). On
// a clock.Simulated (or a clock.Switch in simulated mode), Advance fires every due occurrence inside the
// Advance, in time order, each job seeing its own scheduled time both as its argument and as the clock's Now,
// and every run it fires is recorded (when the store takes it) before Advance returns. On the real clock each
// job runs on time in the clock's timer goroutine.
//
// A failed handler (an error or a panic) is recorded "failed" and retried after Config.RetryAfter, unless its
// next occurrence comes first, which then runs instead (the same rule as catch-up: the latest occurrence
// stands for the earlier ones). Retries of one occurrence stop after 60 (an hour at the default RetryAfter):
// the fault then needs an operator, and since the occurrence never finished, the next start catches it up. An
// occurrence whose business day cannot be known (its Jalali year has no holiday table) is recorded "failed"
// with that error and not retried, since no retry can answer it until the binary has the table; it is never
// taken as "no holiday". A run that cannot be recorded is logged and its recording retried after RetryAfter,
// before the job runs again: a run is never silently dropped. A business-day job on a non-business day
// records nothing and simply moves to its next occurrence. The scheduler writes only "ok" and "failed";
// "skipped" is for an occurrence passed over on purpose through the store, and moves Since.
//
// It must never: read the wall clock or start a timer of its own; run two jobs at once; run an occurrence
// twice once it was recorded ok; skip an occurrence without recording or logging it; import another adapter
// (the store is the Runs interface, which postgres.JobRuns satisfies by method shape).
package scheduler
