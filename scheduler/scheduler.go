package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
)

const (
	// nameLenMax bounds a job's name: it is an id in logs, the API and job_runs.job, and the longest the rails
	// need ("card.settlement.window.close") is well under it.
	nameLenMax = 64
	// specLenMax bounds a cron spec: five fields with lists and ranges fit in well under 100 characters.
	specLenMax = 256
	// jobsMax bounds the jobs of one Scheduler: the rails schedule a few dozen (four PAYA cycles per core,
	// SATNA's open, cut-offs and end of day, the card windows); each run scans every job for the next due.
	jobsMax = 256
	// retryAfterDefault is Config.RetryAfter's default. A minute lets a database restart or a short network
	// fault pass, and is still short next to the gaps between the rails' jobs (hours, and never less than the
	// 15 minutes between a SATNA cut-off and the next), so a retried job still lands before the one after it.
	retryAfterDefault = time.Minute
	// upcomingMax bounds Next: a week of every rail's jobs is a few hundred occurrences, which is as far as an
	// operator's screen looks ahead.
	upcomingMax = 1000
	// errTextMax bounds the error text kept with a run: a wrapped error chain is a few hundred bytes; a
	// handler that returns a whole response body must not bloat job_runs.
	errTextMax = 4096
	// skipDaysMax bounds the days a business-day job's search passes over in one go. The longest run of
	// non-business days in the tables is under a week (Nowruz: 1–4 Farvardin, a Friday, 12–13 Farvardin
	// close by); a year's worth means a calendar that closes every day, a configuration error.
	skipDaysMax = 366
	// retriesMax bounds the retries of one failed occurrence: an hour of retries at the default RetryAfter. A
	// fault that outlasts it needs an operator; the occurrence stays unfinished (Since does not move), so the
	// next start catches it up, and the job's next occurrence runs as usual meanwhile.
	retriesMax = 60
	// scanOccurrencesMax bounds the occurrences enumerated in one window while looking for the latest missed
	// one. The windows grow only when the smaller one held none, so a window holds few occurrences; a million
	// would be a per-minute job down for two years, and is reported rather than scanned.
	scanOccurrencesMax = 1 << 20
)

// scanWindows are the look-back windows, smallest first, in which the latest missed occurrence is sought; the
// last, zero, means "back to Since". Small ones first keep the scan short for frequent jobs: the latest
// occurrence of an hourly job is in the last hour, whatever the length of the outage.
var scanWindows = []time.Duration{time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 0}

// Outcomes of a run, as Run.Outcome and job_runs.outcome spell them.
const (
	OutcomeOK     = "ok"     // the handler returned nil
	OutcomeFailed = "failed" // the handler returned an error or panicked, or the day's status was unknown
	// OutcomeSkipped is an occurrence deliberately passed over (by an operator, through the store), which
	// moves Since like an ok run. The scheduler itself never writes it: a business-day job on a
	// non-business day records nothing.
	OutcomeSkipped = "skipped"
)

// Errors of this package; returned errors wrap them with the job at fault.
var (
	ErrConfig  = errors.New("scheduler: bad configuration")
	ErrJob     = errors.New("scheduler: bad job")
	ErrStarted = errors.New("scheduler: already started")
	ErrClosed  = errors.New("scheduler: closed")
	// ErrPanic: a job's handler panicked; the run is recorded failed with the panic's value.
	ErrPanic = errors.New("scheduler: job panicked")
)

var namePattern = regexp.MustCompile(`^[a-z0-9._-]+$`)

// Job is one scheduled job.
type Job struct {
	Name         string // stable id, e.g. "day.open": [a-z0-9._-], at most 64 characters
	Spec         string // cron spec in Tehran wall time, e.g. "0 6 * * *", or a descriptor ("@hourly", "@every 1h")
	BusinessDays bool   // fire only on business days (the Tehran date of the occurrence)
	// Run does the job for the occurrence scheduled at at (in Tehran). It runs synchronously, one job at a
	// time; a non-nil error is recorded and retried.
	Run func(ctx context.Context, at time.Time) error
}

// Run is one recorded run of a job. It is an alias of an unnamed struct type, not a type of its own, so that
// a store in another adapter can declare the identical type (postgres.JobRun) and satisfy Runs by method shape
// without importing this package: adapters never import each other. Its fields, their order and types must
// stay the same as postgres.JobRun's.
type Run = struct {
	Job       string    // the job's name
	Scheduled time.Time // the occurrence the run stands for
	Started   time.Time // clock time the handler was called
	Finished  time.Time // clock time it returned
	Outcome   string    // OutcomeOK, OutcomeFailed or OutcomeSkipped
	Err       string    // the error, empty when ok
	CatchUp   bool      // the run stands for occurrences missed while the scheduler was down or busy
}

// Runs is where runs are recorded; postgres.JobRuns satisfies it.
type Runs interface {
	// Since returns the time from which job's occurrences count: its last finished run's scheduled time, or,
	// for a job never run, the time it was first registered (registering it at now if new), so the first
	// start of a server does not fire every past occurrence, but a restart after a miss does catch up.
	Since(ctx context.Context, job string, now time.Time) (time.Time, error)
	// Record stores one run: scheduled time, started/finished (clock times), outcome ("ok"|"failed"|
	// "skipped"), error text, catch_up flag. A job's Since moves only with "ok" and "skipped" runs.
	Record(ctx context.Context, r Run) error
	// Recent lists the latest runs (for the API), newest first, at most limit.
	Recent(ctx context.Context, limit int) ([]Run, error)
}

// Config is what a Scheduler runs on.
type Config struct {
	Clock    clock.Clock        // required: the only source of time and timers
	Calendar *calendar.Calendar // required when a job has BusinessDays
	Runs     Runs               // required: where runs are recorded
	Log      *slog.Logger       // default: discard
	// OnRun, if set, is called after each run is recorded, in run order, before the next run starts. It must
	// not call Close.
	OnRun func(Run)
	// RetryAfter is how long after a failed run it is retried, and after a failed recording the recording;
	// default one minute (see retryAfterDefault for why).
	RetryAfter time.Duration
}

// Upcoming is one occurrence to come.
type Upcoming struct {
	Job string
	At  time.Time // in Tehran; for a retry, when the retry runs
}

// Scheduler runs jobs on a clock. Its methods are safe for concurrent use, except that a job's handler and
// Config.OnRun must not call Close.
type Scheduler struct {
	clk        clock.Clock
	cal        *calendar.Calendar
	runs       Runs
	log        *slog.Logger
	onRun      func(Run)
	retryAfter time.Duration
	jobs       []*job

	runMu sync.Mutex // held while runs are dispatched: runs never overlap

	mu      sync.Mutex // guards all below and every job's after and next; never held while a handler runs
	ctx     context.Context
	started bool
	closed  bool
	timer   clock.Timer // the one timer, armed for the earliest pending action
}

// job is a Job with its parsed schedule and its state.
type job struct {
	Job
	index int // registration order: the tie-break among equal times
	sched cron.Schedule
	every time.Duration // the period of an @every schedule; 0 for a calendar spec

	after time.Time // occurrences at or before after are dealt with (run, or given up on)
	next  action    // what the job does next
}

type actionKind int

const (
	actNone   actionKind = iota // nothing: the schedule has no further occurrence
	actRun                      // run the occurrence scheduled
	actRetry                    // run the occurrence scheduled again, after a failure
	actRecord                   // record run again: the store refused it
)

// action is a job's next step.
type action struct {
	kind      actionKind
	at        time.Time // when it is due
	scheduled time.Time // actRun, actRetry: the occurrence
	catchUp   bool      // actRun, actRetry
	failures  int       // actRetry, actRecord: how many runs of this occurrence failed so far
	dayErr    error     // actRun: the business-day question had no answer for scheduled
	run       Run       // actRecord: the run to record
	retryable bool      // actRecord: run failed and may be retried once recorded
}

// New checks cfg and the jobs and returns a Scheduler, not started. A bad spec, name or handler, or a
// duplicate name, is an error naming the job.
func New(cfg Config, jobs ...Job) (*Scheduler, error) {
	if cfg.Clock == nil {
		return nil, fmt.Errorf("%w: no clock", ErrConfig)
	}
	if cfg.Runs == nil {
		return nil, fmt.Errorf("%w: no runs store", ErrConfig)
	}
	if cfg.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: retry after %v is negative", ErrConfig, cfg.RetryAfter)
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = retryAfterDefault
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(jobs) > jobsMax {
		return nil, fmt.Errorf("%w: %d jobs, at most %d", ErrConfig, len(jobs), jobsMax)
	}
	s := &Scheduler{clk: cfg.Clock, cal: cfg.Calendar, runs: cfg.Runs, log: cfg.Log, onRun: cfg.OnRun,
		retryAfter: cfg.RetryAfter}
	seen := make(map[string]bool, len(jobs))
	for i, jb := range jobs {
		j, err := s.parse(jb)
		if err != nil {
			return nil, fmt.Errorf("%w: job %d %q: %w", ErrJob, i, jb.Name, err)
		}
		if seen[jb.Name] {
			return nil, fmt.Errorf("%w: job %d %q: name already used by an earlier job", ErrJob, i, jb.Name)
		}
		seen[jb.Name] = true
		j.index = i
		s.jobs = append(s.jobs, j)
	}
	return s, nil
}

// parse checks one job and parses its spec.
func (s *Scheduler) parse(jb Job) (*job, error) {
	switch {
	case jb.Name == "":
		return nil, errors.New("empty name")
	case len(jb.Name) > nameLenMax:
		return nil, fmt.Errorf("name of %d characters, at most %d", len(jb.Name), nameLenMax)
	case !namePattern.MatchString(jb.Name):
		return nil, errors.New("name may hold only a-z, 0-9, '.', '_' and '-'")
	case jb.Run == nil:
		return nil, errors.New("no Run func")
	case jb.BusinessDays && s.cal == nil:
		return nil, errors.New("business days only, but Config.Calendar is nil")
	}
	sched, err := parseSpec(jb.Spec)
	if err != nil {
		return nil, err
	}
	j := &job{Job: jb, sched: sched}
	if d, ok := sched.(cron.ConstantDelaySchedule); ok {
		j.every = d.Delay
	}
	if j.nextAfter(s.clk.Now()).IsZero() {
		return nil, fmt.Errorf("spec %q never fires", jb.Spec)
	}
	return j, nil
}

// parseSpec parses a cron spec in Tehran wall time: five fields (minute, hour, day of month, month, day of
// week) or a descriptor (@yearly, @monthly, @weekly, @daily, @hourly, @every <duration>). A TZ= or CRON_TZ=
// prefix is refused: every spec of the rails is Tehran time.
func parseSpec(spec string) (cron.Schedule, error) {
	if len(spec) > specLenMax {
		return nil, fmt.Errorf("spec of %d characters, at most %d", len(spec), specLenMax)
	}
	if t := strings.TrimSpace(spec); strings.HasPrefix(t, "TZ=") || strings.HasPrefix(t, "CRON_TZ=") {
		return nil, fmt.Errorf("spec %q names a time zone: specs are Tehran wall time", spec)
	}
	sched, err := cron.ParseStandard(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("spec %q: %w", spec, err)
	}
	if sp, ok := sched.(*cron.SpecSchedule); ok {
		sp.Location = calendar.Tehran // robfig would otherwise follow the zone of the time it is given
	}
	return sched, nil
}

// Start reads each job's Since, runs the catch-ups due (see the package doc), in scheduled-time order, before
// it returns, and arms the clock for what comes next. Runs use ctx; once ctx is done, nothing more is started.
// An error reading Since leaves the Scheduler unstarted, to Start again.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.started:
		s.mu.Unlock()
		return ErrStarted
	}
	s.started = true
	s.mu.Unlock()

	now := s.clk.Now()
	since := make([]time.Time, len(s.jobs))
	for i, j := range s.jobs {
		t, err := s.runs.Since(ctx, j.Name, now)
		if err != nil {
			s.mu.Lock()
			s.started = false
			s.mu.Unlock()
			return fmt.Errorf("scheduler: job %s: since: %w", j.Name, err)
		}
		since[i] = t.In(calendar.Tehran)
	}
	s.mu.Lock()
	s.ctx = ctx
	for i, j := range s.jobs {
		j.after = since[i]
		s.plan(j, now, true)
	}
	s.mu.Unlock()
	s.dispatch()
	return nil
}

// Close stops the timer and waits for a run in progress to finish; nothing runs after it returns.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.runMu.Lock() // a dispatch in progress sees closed after its current run
	defer s.runMu.Unlock()
}

// Next returns the next n occurrences across jobs, in time order (equal times in registration order), with
// business-day jobs' non-business days left out. n is capped at 1000.
func (s *Scheduler) Next(n int) []Upcoming {
	n = min(n, upcomingMax)
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	type item struct {
		Upcoming
		index int
	}
	var all []item
	for _, j := range s.jobs {
		var from time.Time // occurrences after this follow the pending action
		count := 0
		add := func(at time.Time) {
			all = append(all, item{Upcoming{j.Name, at.In(calendar.Tehran)}, j.index})
			count++
		}
		switch {
		case !s.started:
			from = now
		case j.next.kind == actRun:
			add(j.next.at)
			from = j.next.scheduled
		case j.next.kind == actRetry:
			add(j.next.at)
			from = j.next.scheduled
		case j.next.kind == actRecord:
			from = j.next.run.Scheduled
		default:
			continue
		}
		for count < n {
			at, _, ok := s.nextOccurrence(j, from)
			if !ok {
				break
			}
			add(at)
			from = at
		}
	}
	slices.SortStableFunc(all, func(a, b item) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return a.index - b.index
	})
	out := make([]Upcoming, 0, min(n, len(all)))
	for _, it := range all[:min(n, len(all))] {
		out = append(out, it.Upcoming)
	}
	return out
}

// plan sets j's next action from j.after: the latest occurrence already due, if any, else the next one.
// At Start, a due occurrence before now is a catch-up; later, one that passed over an earlier occurrence
// is. s.mu is held.
func (s *Scheduler) plan(j *job, now time.Time, starting bool) {
	o, dayErr, ok, err := s.latestDue(j, j.after, now)
	if err != nil {
		// Only a schedule firing far more often than any rail does gets here: give up on the past rather
		// than spin, and say so.
		s.log.Error("scheduler: cannot find the latest missed occurrence; going on from now",
			"job", j.Name, "since", j.after, "err", err)
		j.after = now
		ok = false
	}
	if ok {
		catchUp := o.Before(now)
		if !starting {
			first, _, _ := s.nextOccurrence(j, j.after)
			catchUp = !first.Equal(o)
		}
		j.next = action{kind: actRun, at: o, scheduled: o, catchUp: catchUp, dayErr: dayErr}
		return
	}
	next, dayErr, ok := s.nextOccurrence(j, j.after)
	if !ok {
		s.log.Warn("scheduler: job has no further occurrence", "job", j.Name, "after", j.after)
		j.next = action{}
		return
	}
	j.next = action{kind: actRun, at: next, scheduled: next, dayErr: dayErr}
}

// dispatch runs every action due, one at a time, earliest first, then arms the timer for the next one. It is
// the timer's callback, so on a simulated clock it runs inside Advance.
func (s *Scheduler) dispatch() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for {
		s.mu.Lock()
		if s.closed || !s.started || s.ctx == nil {
			s.mu.Unlock()
			return
		}
		ctx := s.ctx
		if ctx.Err() != nil {
			s.log.Info("scheduler: context done; no more runs", "err", ctx.Err())
			s.mu.Unlock()
			return
		}
		now := s.clk.Now()
		j := s.due(now)
		if j == nil {
			s.arm(now)
			s.mu.Unlock()
			return
		}
		a := j.next
		j.next = action{}
		s.mu.Unlock()
		s.do(ctx, j, a)
	}
}

// due returns the job whose action is due first at now, or nil. s.mu is held.
func (s *Scheduler) due(now time.Time) *job {
	var first *job
	for _, j := range s.jobs {
		a := j.next
		if a.kind == actNone || a.at.After(now) {
			continue
		}
		if first == nil || before(a, first.next) {
			first = j
		}
	}
	return first
}

// before orders due actions: by due time, then by occurrence; equal ones keep registration order because
// due scans the jobs in that order and keeps the first.
func before(a, b action) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.scheduled.Before(b.scheduled)
}

// arm sets the timer for the earliest pending action, or stops it when none is pending. s.mu is held.
func (s *Scheduler) arm(now time.Time) {
	var next time.Time
	found := false
	for _, j := range s.jobs {
		if j.next.kind != actNone && (!found || j.next.at.Before(next)) {
			next, found = j.next.at, true
		}
	}
	switch {
	case !found:
		if s.timer != nil {
			s.timer.Stop()
		}
	case s.timer == nil:
		s.timer = s.clk.AfterFunc(next.Sub(now), s.dispatch)
	default:
		s.timer.Reset(next.Sub(now))
	}
}

// do carries out one action of j. It holds runMu, not mu.
func (s *Scheduler) do(ctx context.Context, j *job, a action) {
	if a.kind == actRecord {
		s.record(ctx, j, a.run, a.retryable, a.failures)
		return
	}
	run := Run{Job: j.Name, Scheduled: a.scheduled, Started: s.clk.Now(), Outcome: OutcomeOK, CatchUp: a.catchUp}
	retryable := true
	if a.dayErr != nil {
		run.Outcome, run.Err, retryable = OutcomeFailed, a.dayErr.Error(), false
	} else if err := s.call(ctx, j, a.scheduled); err != nil {
		run.Outcome, run.Err = OutcomeFailed, err.Error()
	}
	failures := a.failures
	if run.Outcome == OutcomeFailed {
		failures++
	}
	run.Finished = s.clk.Now()
	run.Err = truncate(run.Err, errTextMax)
	level := slog.LevelInfo
	if run.Outcome != OutcomeOK {
		level = slog.LevelError
	}
	s.log.Log(ctx, level, "scheduler: run", "job", j.Name, "scheduled", run.Scheduled, "outcome", run.Outcome,
		"catch_up", run.CatchUp, "retry", a.kind == actRetry, "err", run.Err)
	s.record(ctx, j, run, run.Outcome == OutcomeFailed && retryable, failures)
}

// call runs j's handler, turning a panic into an error so that one broken job does not stop the rest.
func (s *Scheduler) call(ctx context.Context, j *job, at time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("scheduler: job panicked", "job", j.Name, "scheduled", at, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	return j.Run(ctx, at)
}

// record stores run and plans j's next action: the retry of a failed run, or the schedule from the run on.
// A store that refuses is retried after retryAfter, before j runs again. failures counts the failed runs of
// run's occurrence, run included.
func (s *Scheduler) record(ctx context.Context, j *job, run Run, retryable bool, failures int) {
	if err := s.runs.Record(ctx, run); err != nil {
		retryAt := s.clk.Now().Add(s.retryAfter)
		s.log.Error("scheduler: cannot record run; will retry", "job", j.Name, "scheduled", run.Scheduled,
			"outcome", run.Outcome, "retry_at", retryAt, "err", err)
		s.mu.Lock()
		j.next = action{kind: actRecord, at: retryAt, run: run, retryable: retryable, failures: failures}
		s.mu.Unlock()
		return
	}
	if s.onRun != nil {
		s.onRun(run)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if retryable && failures > retriesMax {
		s.log.Error("scheduler: giving up retrying; the occurrence stays unfinished until a restart catches it up",
			"job", j.Name, "scheduled", run.Scheduled, "failures", failures)
		retryable = false
	}
	if retryable {
		retryAt := run.Finished.Add(s.retryAfter)
		if next, _, ok := s.nextOccurrence(j, run.Scheduled); !ok || next.After(retryAt) {
			j.next = action{kind: actRetry, at: retryAt, scheduled: run.Scheduled, catchUp: run.CatchUp,
				failures: failures}
			return
		}
		// The next occurrence comes before the retry would: it runs instead, standing for this one too.
	}
	if run.Scheduled.After(j.after) {
		j.after = run.Scheduled
	}
	s.plan(j, s.clk.Now(), false)
}

// nextAfter returns the first occurrence of j strictly after t, in Tehran, or the zero time when the
// schedule has none within robfig's five-year horizon.
func (j *job) nextAfter(t time.Time) time.Time {
	next := j.sched.Next(t.In(calendar.Tehran))
	if next.IsZero() {
		return next
	}
	return next.In(calendar.Tehran)
}

// nextOccurrence returns the first occurrence of j after t that is to run: any, or for a business-day job
// the first on a business day or on a day whose status is unknown (dayErr says why). ok is false when
// there is none.
func (s *Scheduler) nextOccurrence(j *job, t time.Time) (at time.Time, dayErr error, ok bool) {
	for range skipDaysMax {
		o := j.nextAfter(t)
		if o.IsZero() {
			return time.Time{}, nil, false
		}
		if !j.BusinessDays {
			return o, nil, true
		}
		d := calendar.DateOf(o)
		open, _, err := s.cal.IsBusinessDay(d)
		if err != nil {
			return o, err, true
		}
		if open {
			return o, nil, true
		}
		t = j.skipDay(o, d)
	}
	return time.Time{}, nil, false
}

// skipDay returns the time from which j's next occurrence is on the day after d, o being one of its
// occurrences on d.
func (j *job) skipDay(o time.Time, d calendar.Date) time.Time {
	midnight := d.AddDays(1).At(0, 0)
	if j.every > 0 {
		// An @every job keeps its phase: jump whole periods to the last occurrence before midnight.
		k := midnight.Sub(o) / j.every
		if midnight.Sub(o)%j.every == 0 {
			k--
		}
		return o.Add(k * j.every)
	}
	return midnight.Add(-time.Second) // a calendar spec's Next looks from the next whole second: midnight
}

// latestDue returns the latest occurrence of j in (after, now] that is to run (see nextOccurrence), with
// ok false when there is none.
func (s *Scheduler) latestDue(j *job, after, now time.Time) (at time.Time, dayErr error, ok bool, err error) {
	hi := now
	for range skipDaysMax {
		o, found, err := j.latestIn(after, hi)
		if err != nil || !found {
			return time.Time{}, nil, false, err
		}
		if !j.BusinessDays {
			return o, nil, true, nil
		}
		d := calendar.DateOf(o)
		open, _, derr := s.cal.IsBusinessDay(d)
		if derr != nil {
			return o, derr, true, nil
		}
		if open {
			return o, nil, true, nil
		}
		hi = d.At(0, 0).Add(-time.Nanosecond) // look before that day
	}
	return time.Time{}, nil, false, nil
}

// latestIn returns the latest occurrence of j in (after, hi], the occurrences counted from after as Next
// counts them.
func (j *job) latestIn(after, hi time.Time) (time.Time, bool, error) {
	if !hi.After(after) {
		return time.Time{}, false, nil
	}
	if j.every > 0 {
		// @every counts whole periods from after, from its whole second (as ConstantDelaySchedule.Next).
		base := after.Add(-time.Duration(after.Nanosecond()))
		k := hi.Sub(base) / j.every
		if k < 1 {
			return time.Time{}, false, nil
		}
		return base.Add(k * j.every).In(calendar.Tehran), true, nil
	}
	for _, w := range scanWindows {
		lo := after
		if w > 0 && hi.Add(-w).After(after) {
			lo = hi.Add(-w)
		}
		var last time.Time
		n := 0
		for o := j.nextAfter(lo); !o.IsZero() && !o.After(hi); o = j.nextAfter(o) {
			if n++; n > scanOccurrencesMax {
				return time.Time{}, false, fmt.Errorf("more than %d occurrences between %s and %s",
					scanOccurrencesMax, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
			}
			last = o
		}
		if !last.IsZero() {
			return last, true, nil
		}
		if lo.Equal(after) {
			break
		}
	}
	return time.Time{}, false, nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
