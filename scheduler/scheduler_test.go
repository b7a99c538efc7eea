package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/scheduler"
)

// memRuns is an in-memory scheduler.Runs: the scheduler's own interface, kept as postgres.JobRuns keeps it
// (that one is tested against PostgreSQL in the postgres package; adapters' tests never import each other).
type memRuns struct {
	mu         sync.Mutex
	registered map[string]time.Time
	runs       []scheduler.Run
	refuse     int   // refuse this many Record calls, as a database that is down
	sinceErr   error // Since fails with this while set
}

var errDown = errors.New("database down")

func newMemRuns() *memRuns { return &memRuns{registered: map[string]time.Time{}} }

func (m *memRuns) Since(_ context.Context, job string, now time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sinceErr != nil {
		return time.Time{}, m.sinceErr
	}
	var last time.Time
	for _, r := range m.runs {
		if r.Job == job && (r.Outcome == scheduler.OutcomeOK || r.Outcome == scheduler.OutcomeSkipped) && r.Scheduled.After(last) {
			last = r.Scheduled
		}
	}
	if !last.IsZero() {
		return last, nil
	}
	if t, ok := m.registered[job]; ok {
		return t, nil
	}
	m.registered[job] = now
	return now, nil
}

func (m *memRuns) Record(_ context.Context, r scheduler.Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refuse > 0 {
		m.refuse--
		return errDown
	}
	m.runs = append(m.runs, r)
	return nil
}

func (m *memRuns) Recent(_ context.Context, limit int) ([]scheduler.Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []scheduler.Run
	for i := len(m.runs) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.runs[i])
	}
	return out, nil
}

func (m *memRuns) all() []scheduler.Run {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.runs)
}

var _ scheduler.Runs = (*memRuns)(nil)

// fired is what a handler saw: its job, its at, and the clock's Now while it ran.
type fired struct {
	Job     string
	At, Now time.Time
}

func (f fired) String() string {
	return fmt.Sprintf("%s@%s(now %s)", f.Job, f.At.In(calendar.Tehran).Format("2006-01-02T15:04"), f.Now.In(calendar.Tehran).Format("15:04"))
}

// journal collects firings from every handler of a test.
type journal struct {
	mu  sync.Mutex
	got []fired
}

func (l *journal) handler(c clock.Clock, name string) func(context.Context, time.Time) error {
	return func(_ context.Context, at time.Time) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.got = append(l.got, fired{name, at, c.Now()})
		return nil
	}
}

func (l *journal) take() []fired {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// jalali returns hour:minute in Tehran on a Jalali date.
func jalali(t *testing.T, y, m, d, hour, minute int) time.Time {
	t.Helper()
	g, err := calendar.JalaliDate{Year: y, Month: m, Day: d}.Gregorian()
	if err != nil {
		t.Fatal(err)
	}
	return g.At(hour, minute)
}

func businessDay(t *testing.T, cal *calendar.Calendar, at time.Time) bool {
	t.Helper()
	open, _, err := cal.IsBusinessDay(calendar.DateOf(at))
	if err != nil {
		t.Fatal(err)
	}
	return open
}

func newScheduler(t *testing.T, cfg scheduler.Config, jobs ...scheduler.Job) *scheduler.Scheduler {
	t.Helper()
	if cfg.Calendar == nil {
		cfg.Calendar = calendar.Default()
	}
	s, err := scheduler.New(cfg, jobs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func start(t *testing.T, s *scheduler.Scheduler) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func set(t *testing.T, c *clock.Simulated, to time.Time) {
	t.Helper()
	if err := c.Set(to); err != nil {
		t.Fatal(err)
	}
}

func sameFirings(t *testing.T, what string, got, want []fired) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d firings, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if got[i].Job != want[i].Job || !got[i].At.Equal(want[i].At) || !got[i].Now.Equal(want[i].Now) {
			t.Errorf("%s: firing %d: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestAcceptanceNowruz is the acceptance case: across Nowruz, day.open fires at 06:00 Tehran on 1404/01/05
// and 1404/01/06 only, interleaved in time order with the day closes and an hourly job, each seeing its own
// scheduled time as Now.
func TestAcceptanceNowruz(t *testing.T) {
	cal := calendar.Default()
	from, to := jalali(t, 1403, 12, 30, 10, 0), jalali(t, 1404, 1, 7, 0, 0)
	c := clock.NewSimulated(from)
	var l journal
	runs := newMemRuns()
	var observed []scheduler.Run
	s := newScheduler(t, scheduler.Config{Clock: c, Calendar: cal, Runs: runs,
		OnRun: func(r scheduler.Run) { observed = append(observed, r) }},
		scheduler.Job{Name: "day.open", Spec: "0 6 * * *", BusinessDays: true, Run: l.handler(c, "day.open")},
		scheduler.Job{Name: "day.close", Spec: "0 16 * * *", BusinessDays: true, Run: l.handler(c, "day.close")},
		scheduler.Job{Name: "clock.hourly", Spec: "@hourly", Run: l.handler(c, "clock.hourly")},
	)
	start(t, s)
	if got := l.take(); len(got) != 0 {
		t.Fatalf("first start fired %v, want nothing: the jobs were registered just now", got)
	}
	set(t, c, to)

	// Expected, from the calendar: every whole hour in (from, to]; at 06:00 and 16:00 on business days the
	// day's open and close, before the hourly job (registration order).
	var want []fired
	for at := from.Add(time.Hour); !at.After(to); at = at.Add(time.Hour) {
		if businessDay(t, cal, at) {
			switch at.Hour() {
			case 6:
				want = append(want, fired{"day.open", at, at})
			case 16:
				want = append(want, fired{"day.close", at, at})
			}
		}
		want = append(want, fired{"clock.hourly", at, at})
	}
	got := l.take()
	sameFirings(t, "across Nowruz", got, want)

	var opens []time.Time
	for _, f := range got {
		if f.Job == "day.open" {
			opens = append(opens, f.At)
		}
	}
	wantOpens := []time.Time{jalali(t, 1404, 1, 5, 6, 0), jalali(t, 1404, 1, 6, 6, 0)}
	if !slices.EqualFunc(opens, wantOpens, time.Time.Equal) {
		t.Errorf("day.open fired at %v, want exactly %v", opens, wantOpens)
	}

	recorded := runs.all()
	if len(recorded) != len(want) {
		t.Fatalf("recorded %d runs, want %d", len(recorded), len(want))
	}
	for i, r := range recorded {
		if r.Job != want[i].Job || !r.Scheduled.Equal(want[i].At) || r.Outcome != scheduler.OutcomeOK || r.CatchUp ||
			!r.Started.Equal(want[i].At) || !r.Finished.Equal(want[i].At) {
			t.Errorf("run %d: got %+v, want %s ok at %v, no catch-up", i, r, want[i].Job, want[i].At)
		}
	}
	if !slices.Equal(observed, recorded) {
		t.Errorf("OnRun saw %d runs, not the %d recorded, in order", len(observed), len(recorded))
	}
}

// TestRestartCatchesUpOnce: a scheduler closed between two jobs and started again days later runs each
// missed job once, at its latest missed occurrence, in scheduled-time order, and repeats nothing finished.
func TestRestartCatchesUpOnce(t *testing.T) {
	cal := calendar.Default()
	c := clock.NewSimulated(jalali(t, 1404, 1, 5, 5, 0))
	runs := newMemRuns()
	var l journal
	jobs := func() []scheduler.Job {
		return []scheduler.Job{
			{Name: "day.open", Spec: "0 6 * * *", BusinessDays: true, Run: l.handler(c, "day.open")},
			{Name: "day.close", Spec: "0 16 * * *", BusinessDays: true, Run: l.handler(c, "day.close")},
			{Name: "clock.hourly", Spec: "30 * * * *", Run: l.handler(c, "clock.hourly")},
		}
	}
	first := newScheduler(t, scheduler.Config{Clock: c, Runs: runs}, jobs()...)
	start(t, first)
	set(t, c, jalali(t, 1404, 1, 5, 7, 0))
	sameFirings(t, "before the stop", l.take(), []fired{
		{"clock.hourly", jalali(t, 1404, 1, 5, 5, 30), jalali(t, 1404, 1, 5, 5, 30)},
		{"day.open", jalali(t, 1404, 1, 5, 6, 0), jalali(t, 1404, 1, 5, 6, 0)},
		{"clock.hourly", jalali(t, 1404, 1, 5, 6, 30), jalali(t, 1404, 1, 5, 6, 30)},
	})
	first.Close()

	// Down over several occurrences of each job, Friday 1404/01/08 included.
	restart := jalali(t, 1404, 1, 9, 10, 0)
	set(t, c, restart)
	if got := l.take(); len(got) != 0 {
		t.Fatalf("a closed scheduler fired %v", got)
	}
	// The latest missed occurrence of each: walk back from the restart over the calendar.
	latest := func(hour, minute int, businessOnly bool) time.Time {
		for d := calendar.DateOf(restart); ; d = d.AddDays(-1) {
			at := d.At(hour, minute)
			if !at.After(restart) && (!businessOnly || businessDay(t, cal, at)) {
				return at
			}
		}
	}
	wantCatchUps := []fired{
		{"clock.hourly", restart.Add(-30 * time.Minute), restart},
		{"day.open", latest(6, 0, true), restart},
		{"day.close", latest(16, 0, true), restart},
	}
	slices.SortStableFunc(wantCatchUps, func(a, b fired) int { return a.At.Compare(b.At) })

	second := newScheduler(t, scheduler.Config{Clock: c, Runs: runs}, jobs()...)
	start(t, second)
	sameFirings(t, "catch-up at restart", l.take(), wantCatchUps)
	recorded := runs.all()
	for _, r := range recorded[len(recorded)-len(wantCatchUps):] {
		if !r.CatchUp || r.Outcome != scheduler.OutcomeOK {
			t.Errorf("catch-up run %+v: want ok and marked catch-up", r)
		}
	}
	for _, r := range recorded[:len(recorded)-len(wantCatchUps)] {
		if r.CatchUp {
			t.Errorf("run on time %+v is marked catch-up", r)
		}
	}

	// Then each keeps its schedule: no second catch-up, the next occurrences on time.
	set(t, c, jalali(t, 1404, 1, 9, 16, 0))
	var want []fired
	for at := restart.Add(30 * time.Minute); !at.After(jalali(t, 1404, 1, 9, 16, 0)); at = at.Add(time.Hour) {
		want = append(want, fired{"clock.hourly", at, at})
	}
	want = append(want, fired{"day.close", jalali(t, 1404, 1, 9, 16, 0), jalali(t, 1404, 1, 9, 16, 0)})
	sameFirings(t, "after the catch-up", l.take(), want)

	// A restart with nothing missed runs nothing: the finished runs are not repeated.
	second.Close()
	third := newScheduler(t, scheduler.Config{Clock: c, Runs: runs}, jobs()...)
	start(t, third)
	if got := l.take(); len(got) != 0 {
		t.Errorf("a restart with nothing missed fired %v", got)
	}
}

// TestCatchUpRunsLatestOnce: whatever the schedule and the outage, a restart runs a missed job once, at
// its latest missed occurrence (found here by brute force, minute by minute), and then keeps its schedule.
func TestCatchUpRunsLatestOnce(t *testing.T) {
	cal := calendar.Default()
	t0 := jalali(t, 1403, 12, 27, 8, 3) // registered then; 1403/12/29 and Nowruz follow
	tests := []struct {
		name         string
		spec         string
		businessDays bool
		down         time.Duration // from t0 to the restart
		occurs       func(at time.Time) bool
	}{
		{"every ten minutes, hours down", "*/10 * * * *", false, 3*time.Hour + 5*time.Minute,
			func(at time.Time) bool { return at.Minute()%10 == 0 }},
		{"every 7m keeps its phase", "@every 7m", false, 100 * time.Minute,
			func(at time.Time) bool { return at.Sub(t0)%(7*time.Minute) == 0 }},
		{"three a day, two days down", "45 9,12,18 * * *", false, 50 * time.Hour,
			func(at time.Time) bool {
				return at.Minute() == 45 && (at.Hour() == 9 || at.Hour() == 12 || at.Hour() == 18)
			}},
		{"business days, down over Nowruz", "0 6 * * *", true, 9 * 24 * time.Hour,
			func(at time.Time) bool { return at.Hour() == 6 && at.Minute() == 0 && businessDay(t, cal, at) }},
		{"business days, several a day", "0 * * * *", true, 5*24*time.Hour + 30*time.Minute,
			func(at time.Time) bool { return at.Minute() == 0 && businessDay(t, cal, at) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock.NewSimulated(t0)
			runs := newMemRuns()
			var l journal
			job := func() scheduler.Job {
				return scheduler.Job{Name: "job", Spec: tt.spec, BusinessDays: tt.businessDays, Run: l.handler(c, "job")}
			}
			first := newScheduler(t, scheduler.Config{Clock: c, Calendar: cal, Runs: runs}, job())
			start(t, first) // registers the job at t0
			first.Close()
			restart := t0.Add(tt.down)
			set(t, c, restart)
			var latest, next time.Time
			for at := restart.Truncate(time.Minute); at.After(t0); at = at.Add(-time.Minute) {
				if tt.occurs(at.In(calendar.Tehran)) {
					latest = at
					break
				}
			}
			for at := restart.Truncate(time.Minute).Add(time.Minute); next.IsZero(); at = at.Add(time.Minute) {
				if tt.occurs(at.In(calendar.Tehran)) {
					next = at
				}
			}
			if latest.IsZero() || !latest.Before(restart) {
				t.Fatalf("bad case: latest missed occurrence %v", latest)
			}
			second := newScheduler(t, scheduler.Config{Clock: c, Calendar: cal, Runs: runs}, job())
			start(t, second)
			sameFirings(t, "catch-up", l.take(), []fired{{"job", latest, restart}})
			if got := runs.all(); len(got) != 1 || !got[0].CatchUp {
				t.Errorf("runs %+v: want one, marked catch-up", got)
			}
			set(t, c, next)
			sameFirings(t, "next on time", l.take(), []fired{{"job", next, next}})
		})
	}
}

func TestFailureIsRetried(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		retryAfter time.Duration
		fails      func(call int) bool // call counts from 1
		until      time.Duration       // how far past 09:00 to run the clock
		want       []string            // "outcome scheduled started", as offsets from 09:00
	}{
		{
			name: "retried after RetryAfter, same occurrence", spec: "45 9 * * *", retryAfter: 5 * time.Minute,
			fails: func(call int) bool { return call == 1 }, until: 25 * time.Hour,
			want: []string{"failed 45m0s 45m0s", "ok 45m0s 50m0s", "ok 24h45m0s 24h45m0s"},
		},
		{
			name: "retried until it works", spec: "45 9 * * *", retryAfter: time.Minute,
			fails: func(call int) bool { return call <= 3 }, until: time.Hour,
			want: []string{"failed 45m0s 45m0s", "failed 45m0s 46m0s", "failed 45m0s 47m0s", "ok 45m0s 48m0s"},
		},
		{
			name: "the next occurrence comes first and stands for it", spec: "0 * * * *", retryAfter: 2 * time.Hour,
			fails: func(call int) bool { return call == 1 }, until: 3*time.Hour + 30*time.Minute,
			want: []string{"failed 1h0m0s 1h0m0s", "ok 2h0m0s 2h0m0s", "ok 3h0m0s 3h0m0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := jalali(t, 1404, 1, 5, 9, 0)
			c := clock.NewSimulated(base)
			runs := newMemRuns()
			calls := 0
			s := newScheduler(t, scheduler.Config{Clock: c, Runs: runs, RetryAfter: tt.retryAfter},
				scheduler.Job{Name: "paya.cycle", Spec: tt.spec, Run: func(context.Context, time.Time) error {
					calls++
					if tt.fails(calls) {
						return fmt.Errorf("cycle %d: %w", calls, errDown)
					}
					return nil
				}})
			start(t, s)
			set(t, c, base.Add(tt.until))
			var got []string
			for _, r := range runs.all() {
				got = append(got, fmt.Sprintf("%s %v %v", r.Outcome, r.Scheduled.Sub(base), r.Started.Sub(base)))
				if (r.Outcome == scheduler.OutcomeFailed) != strings.Contains(r.Err, errDown.Error()) {
					t.Errorf("run %+v: error text does not match its outcome", r)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("runs:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestFailureRetriesAreBounded: a job that always fails is retried RetriesMax times, then left for the next
// occurrence (and a restart), not retried forever.
func TestFailureRetriesAreBounded(t *testing.T) {
	base := jalali(t, 1404, 1, 5, 0, 0)
	c := clock.NewSimulated(base)
	runs := newMemRuns()
	s := newScheduler(t, scheduler.Config{Clock: c, Runs: runs, RetryAfter: time.Minute},
		scheduler.Job{Name: "end.of.day", Spec: "0 1 * * *", Run: func(context.Context, time.Time) error { return errDown }})
	start(t, s)
	set(t, c, base.Add(25*time.Hour+30*time.Minute)) // the first occurrence, its retries, the next occurrence
	perOccurrence := map[time.Time]int{}
	for _, r := range runs.all() {
		if r.Outcome != scheduler.OutcomeFailed {
			t.Fatalf("run %+v: want failed", r)
		}
		perOccurrence[r.Scheduled]++
	}
	first, second := base.Add(time.Hour), base.Add(25*time.Hour)
	if got, want := perOccurrence[first], scheduler.RetriesMax+1; got != want {
		t.Errorf("first occurrence ran %d times, want %d (once and %d retries)", got, want, scheduler.RetriesMax)
	}
	if got := perOccurrence[second]; got == 0 {
		t.Error("the next occurrence did not run after the retries were given up")
	}
}

func TestPanicIsRecordedFailed(t *testing.T) {
	base := jalali(t, 1404, 1, 5, 9, 0)
	c := clock.NewSimulated(base)
	runs := newMemRuns()
	var l journal
	s := newScheduler(t, scheduler.Config{Clock: c, Runs: runs, RetryAfter: time.Hour},
		scheduler.Job{Name: "broken", Spec: "0 10 * * *", Run: func(context.Context, time.Time) error { panic("nil map") }},
		scheduler.Job{Name: "fine", Spec: "0 10 * * *", Run: l.handler(c, "fine")})
	start(t, s)
	set(t, c, base.Add(90*time.Minute))
	got := runs.all()
	if len(got) != 2 || got[0].Job != "broken" || got[0].Outcome != scheduler.OutcomeFailed ||
		!strings.Contains(got[0].Err, scheduler.ErrPanic.Error()) || !strings.Contains(got[0].Err, "nil map") {
		t.Fatalf("runs %+v: want broken failed with the panic, then fine", got)
	}
	if len(l.take()) != 1 {
		t.Error("the job after the panicking one did not run")
	}
}

// TestUnrecordableRunIsRetriedNotRepeated: with the store down, a run that finished is recorded later, its
// handler not run again, and the job's next run waits for that record.
func TestUnrecordableRunIsRetriedNotRepeated(t *testing.T) {
	base := jalali(t, 1404, 1, 5, 5, 0)
	c := clock.NewSimulated(base)
	runs := newMemRuns()
	var logs bytes.Buffer
	var l journal
	var observed []scheduler.Run
	s := newScheduler(t, scheduler.Config{Clock: c, Runs: runs, RetryAfter: time.Minute,
		Log:   slog.New(slog.NewTextHandler(&logs, nil)),
		OnRun: func(r scheduler.Run) { observed = append(observed, r) }},
		scheduler.Job{Name: "day.open", Spec: "0 6 * * *", Run: l.handler(c, "day.open")})
	start(t, s)
	runs.mu.Lock()
	runs.refuse = 2
	runs.mu.Unlock()

	steps := []struct {
		to          time.Duration // from 05:00
		wantFired   int
		wantRecords int
	}{
		{time.Hour, 1, 0},                 // ran at 06:00, record refused
		{time.Hour + time.Minute, 0, 0},   // record refused again, not run again
		{time.Hour + 2*time.Minute, 0, 1}, // recorded
		{25 * time.Hour, 1, 2},            // next day, as usual
	}
	for _, st := range steps {
		set(t, c, base.Add(st.to))
		if got := len(l.take()); got != st.wantFired {
			t.Errorf("at +%v: fired %d times, want %d", st.to, got, st.wantFired)
		}
		if got := len(runs.all()); got != st.wantRecords {
			t.Errorf("at +%v: %d runs recorded, want %d", st.to, got, st.wantRecords)
		}
	}
	got := runs.all()
	if len(got) == 2 && (!got[0].Scheduled.Equal(base.Add(time.Hour)) || !got[0].Finished.Equal(base.Add(time.Hour))) {
		t.Errorf("late record %+v: want the run as it happened at 06:00", got[0])
	}
	if len(observed) != 2 {
		t.Errorf("OnRun called %d times, want once per recorded run (2)", len(observed))
	}
	if n := strings.Count(logs.String(), "cannot record run"); n != 2 {
		t.Errorf("logged %d refused records, want 2:\n%s", n, logs.String())
	}
}

func TestBusinessDays(t *testing.T) {
	cal := calendar.Default()
	tests := []struct {
		name string
		spec string
		from time.Time // Tehran
		n    int
	}{
		{"nowruz and a friday", "0 6 * * *", jalali(t, 1403, 12, 27, 12, 0), 8},
		{"12 and 13 farvardin", "30 9 * * *", jalali(t, 1404, 1, 9, 12, 0), 6},
		{"every 7h keeps its phase over skipped days", "@every 7h", jalali(t, 1404, 1, 7, 1, 0), 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock.NewSimulated(tt.from)
			var l journal
			s := newScheduler(t, scheduler.Config{Clock: c, Calendar: cal, Runs: newMemRuns()},
				scheduler.Job{Name: "bd", Spec: tt.spec, BusinessDays: true, Run: l.handler(c, "bd")})
			start(t, s)
			// Expected by brute force: every candidate instant from the spec, kept on business days.
			var want []time.Time
			step := time.Minute
			if strings.HasPrefix(tt.spec, "@every") {
				step = 7 * time.Hour
			}
			for at := tt.from.Add(step); len(want) < tt.n; at = at.Add(step) {
				if !businessDay(t, cal, at) {
					continue
				}
				if step == time.Minute && !matches(tt.spec, at) {
					continue
				}
				want = append(want, at)
			}
			var gotNext []time.Time
			for _, u := range s.Next(tt.n) {
				gotNext = append(gotNext, u.At)
			}
			if !slices.EqualFunc(gotNext, want, time.Time.Equal) {
				t.Errorf("Next(%d):\ngot  %v\nwant %v", tt.n, gotNext, want)
			}
			set(t, c, want[len(want)-1])
			var gotRuns []time.Time
			for _, f := range l.take() {
				gotRuns = append(gotRuns, f.At)
			}
			if !slices.EqualFunc(gotRuns, want, time.Time.Equal) {
				t.Errorf("runs:\ngot  %v\nwant %v", gotRuns, want)
			}
		})
	}
}

// matches reports whether at matches a "M H * * *" spec, for the brute-force expectations.
func matches(spec string, at time.Time) bool {
	var m, h int
	if _, err := fmt.Sscanf(spec, "%d %d * * *", &m, &h); err != nil {
		panic(err)
	}
	at = at.In(calendar.Tehran)
	return at.Minute() == m && at.Hour() == h
}

// TestYearWithoutTable: a business-day job's occurrence in a year with no holiday table is recorded failed
// with that error, once (no retry can answer it), never taken as a business day or silently passed.
func TestYearWithoutTable(t *testing.T) {
	cal := calendar.Default()
	years := cal.Years()
	noTable := years[len(years)-1] + 1
	base := jalali(t, noTable, 1, 15, 0, 0)
	c := clock.NewSimulated(base)
	runs := newMemRuns()
	var l journal
	s := newScheduler(t, scheduler.Config{Clock: c, Calendar: cal, Runs: runs, RetryAfter: time.Minute},
		scheduler.Job{Name: "day.open", Spec: "0 6 * * *", BusinessDays: true, Run: l.handler(c, "day.open")})
	start(t, s)
	if next := s.Next(1); len(next) != 1 || !next[0].At.Equal(base.Add(6*time.Hour)) {
		t.Errorf("Next(1) = %v, want the 06:00 occurrence: it will run (and fail)", next)
	}
	set(t, c, base.Add(30*time.Hour))
	if got := l.take(); len(got) != 0 {
		t.Errorf("the handler ran (%v) on days whose status is unknown", got)
	}
	got := runs.all()
	if len(got) != 2 {
		t.Fatalf("recorded %d runs, want one per day (2): %+v", len(got), got)
	}
	for i, r := range got {
		if r.Outcome != scheduler.OutcomeFailed || !strings.Contains(r.Err, calendar.ErrNoTable.Error()) ||
			!r.Scheduled.Equal(base.Add(time.Duration(6+24*i)*time.Hour)) {
			t.Errorf("run %d: %+v, want failed at 06:00 with %q", i, r, calendar.ErrNoTable)
		}
	}
}

func TestNext(t *testing.T) {
	cal := calendar.Default()
	from := jalali(t, 1404, 1, 6, 12, 0) // Wednesday; Thursday is open, Friday not
	c := clock.NewSimulated(from)
	noop := func(context.Context, time.Time) error { return nil }
	s := newScheduler(t, scheduler.Config{Clock: c, Calendar: cal, Runs: newMemRuns()},
		scheduler.Job{Name: "satna.cutoff", Spec: "30 14 * * *", BusinessDays: true, Run: noop},
		scheduler.Job{Name: "day.close", Spec: "0 16 * * *", BusinessDays: true, Run: noop},
		scheduler.Job{Name: "paya.every", Spec: "0 16 * * *", Run: noop}, // ties day.close: after it
	)
	d := func(jd, h, m int) time.Time { return jalali(t, 1404, 1, jd, h, m) }
	want := []scheduler.Upcoming{
		{Job: "satna.cutoff", At: d(6, 14, 30)}, {Job: "day.close", At: d(6, 16, 0)}, {Job: "paya.every", At: d(6, 16, 0)},
		{Job: "satna.cutoff", At: d(7, 14, 30)}, {Job: "day.close", At: d(7, 16, 0)}, {Job: "paya.every", At: d(7, 16, 0)},
		{Job: "paya.every", At: d(8, 16, 0)}, // Friday: only the job that ignores the calendar
		{Job: "satna.cutoff", At: d(9, 14, 30)},
	}
	check := func(when string) {
		t.Helper()
		got := s.Next(len(want))
		if !slices.EqualFunc(got, want, func(a, b scheduler.Upcoming) bool { return a.Job == b.Job && a.At.Equal(b.At) }) {
			t.Errorf("%s: Next(%d):\ngot  %v\nwant %v", when, len(want), got, want)
		}
	}
	check("before Start")
	start(t, s)
	check("after Start")
	if got := s.Next(0); len(got) != 0 {
		t.Errorf("Next(0) = %v, want nothing", got)
	}
	if got := s.Next(1 << 30); len(got) != 1000 {
		t.Errorf("Next(huge) returned %d, want the cap of 1000", len(got))
	}
}

func TestNew(t *testing.T) {
	c := clock.NewSimulated(jalali(t, 1404, 1, 5, 0, 0))
	noop := func(context.Context, time.Time) error { return nil }
	ok := scheduler.Config{Clock: c, Runs: newMemRuns(), Calendar: calendar.Default()}
	tests := []struct {
		name    string
		cfg     scheduler.Config
		jobs    []scheduler.Job
		wantErr error
		wantIn  string // the error names this
	}{
		{"fine", ok, []scheduler.Job{{Name: "a", Spec: "@every 1h", Run: noop}, {Name: "b.c-d_9", Spec: "0 6 * * 0-4", Run: noop}}, nil, ""},
		{"no clock", scheduler.Config{Runs: newMemRuns()}, nil, scheduler.ErrConfig, "clock"},
		{"no runs", scheduler.Config{Clock: c}, nil, scheduler.ErrConfig, "runs"},
		{"negative retry", scheduler.Config{Clock: c, Runs: newMemRuns(), RetryAfter: -time.Second}, nil, scheduler.ErrConfig, "retry"},
		{"bad spec", ok, []scheduler.Job{{Name: "day.open", Spec: "0 25 * * *", Run: noop}}, scheduler.ErrJob, "day.open"},
		{"six fields", ok, []scheduler.Job{{Name: "x", Spec: "0 0 6 * * *", Run: noop}}, scheduler.ErrJob, `"x"`},
		{"empty spec", ok, []scheduler.Job{{Name: "x", Spec: "", Run: noop}}, scheduler.ErrJob, `"x"`},
		{"time zone", ok, []scheduler.Job{{Name: "x", Spec: "CRON_TZ=UTC 0 6 * * *", Run: noop}}, scheduler.ErrJob, "Tehran"},
		{"never fires", ok, []scheduler.Job{{Name: "x", Spec: "0 0 30 2 *", Run: noop}}, scheduler.ErrJob, "never fires"},
		{"duplicate", ok, []scheduler.Job{{Name: "a", Spec: "@hourly", Run: noop}, {Name: "a", Spec: "@daily", Run: noop}}, scheduler.ErrJob, `job 1 "a"`},
		{"upper case name", ok, []scheduler.Job{{Name: "Day", Spec: "@hourly", Run: noop}}, scheduler.ErrJob, "Day"},
		{"empty name", ok, []scheduler.Job{{Spec: "@hourly", Run: noop}}, scheduler.ErrJob, "empty name"},
		{"long name", ok, []scheduler.Job{{Name: strings.Repeat("a", 65), Spec: "@hourly", Run: noop}}, scheduler.ErrJob, "65"},
		{"no handler", ok, []scheduler.Job{{Name: "a", Spec: "@hourly"}}, scheduler.ErrJob, "Run"},
		{"business days, no calendar", scheduler.Config{Clock: c, Runs: newMemRuns()},
			[]scheduler.Job{{Name: "day.open", Spec: "0 6 * * *", BusinessDays: true, Run: noop}}, scheduler.ErrJob, "day.open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := scheduler.New(tt.cfg, tt.jobs...)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("New: got error %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("New: error %q does not name %q", err, tt.wantIn)
			}
			if err == nil {
				s.Close()
			}
		})
	}
}

func TestStartAndClose(t *testing.T) {
	c := clock.NewSimulated(jalali(t, 1404, 1, 5, 0, 0))
	runs := newMemRuns()
	var l journal
	s := newScheduler(t, scheduler.Config{Clock: c, Runs: runs},
		scheduler.Job{Name: "tick", Spec: "@hourly", Run: l.handler(c, "tick")})

	runs.sinceErr = errDown
	if err := s.Start(context.Background()); !errors.Is(err, errDown) || !strings.Contains(err.Error(), "tick") {
		t.Fatalf("Start with the store down: got %v, want an error naming the job and wrapping %v", err, errDown)
	}
	runs.sinceErr = nil
	start(t, s) // again, once the store is back
	if err := s.Start(context.Background()); !errors.Is(err, scheduler.ErrStarted) {
		t.Errorf("second Start: got %v, want %v", err, scheduler.ErrStarted)
	}
	set(t, c, c.Now().Add(time.Hour))
	if got := len(l.take()); got != 1 {
		t.Errorf("fired %d times in an hour, want 1", got)
	}
	s.Close()
	set(t, c, c.Now().Add(5*time.Hour))
	if got := l.take(); len(got) != 0 {
		t.Errorf("fired %v after Close", got)
	}
	if err := s.Start(context.Background()); !errors.Is(err, scheduler.ErrClosed) {
		t.Errorf("Start after Close: got %v, want %v", err, scheduler.ErrClosed)
	}
}

func TestCanceledContextStopsRuns(t *testing.T) {
	c := clock.NewSimulated(jalali(t, 1404, 1, 5, 0, 0))
	var l journal
	s := newScheduler(t, scheduler.Config{Clock: c, Runs: newMemRuns()},
		scheduler.Job{Name: "tick", Spec: "@hourly", Run: l.handler(c, "tick")})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	set(t, c, c.Now().Add(3*time.Hour))
	if got := l.take(); len(got) != 0 {
		t.Errorf("fired %v after the context was canceled", got)
	}
}

// TestConcurrentNextDuringAdvance is for the race detector: Next and Close from other goroutines while
// Advance fires runs, and a handler that calls Next itself.
func TestConcurrentNextDuringAdvance(t *testing.T) {
	c := clock.NewSimulated(jalali(t, 1404, 1, 5, 0, 0))
	var s *scheduler.Scheduler
	var calls atomic.Int64
	s = newScheduler(t, scheduler.Config{Clock: c, Runs: newMemRuns()},
		scheduler.Job{Name: "minute", Spec: "* * * * *", Run: func(context.Context, time.Time) error {
			calls.Add(1)
			s.Next(3)
			return nil
		}})
	start(t, s)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 200 {
			s.Next(10)
		}
	}()
	go func() {
		defer wg.Done()
		if err := c.Advance(3 * time.Hour); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	if got := calls.Load(); got != 180 {
		t.Errorf("ran %d times in three hours of a per-minute job, want 180", got)
	}
	s.Close()
}

// TestRealClock: on the wall clock an @every job fires and runs never overlap. No assertion on timing
// beyond "it ran"; the wait is bounded so a broken scheduler fails rather than hangs.
func TestRealClock(t *testing.T) {
	var inFlight, overlaps atomic.Int64
	ran := make(chan scheduler.Run, 16)
	slow := func(context.Context, time.Time) error {
		if inFlight.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer inFlight.Add(-1)
		time.Sleep(5 * time.Millisecond) // widen the window in which an overlap would show
		return nil
	}
	s := newScheduler(t, scheduler.Config{Clock: clock.Real(), Runs: newMemRuns(),
		OnRun: func(r scheduler.Run) {
			select {
			case ran <- r:
			default:
			}
		}},
		scheduler.Job{Name: "a", Spec: "@every 1s", Run: slow},
		scheduler.Job{Name: "b", Spec: "@every 1s", Run: slow})
	start(t, s)
	deadline := time.After(time.Minute)
	for seen := 0; seen < 4; seen++ {
		select {
		case r := <-ran:
			if r.Outcome != scheduler.OutcomeOK || r.Scheduled.Nanosecond() != 0 {
				t.Errorf("run %+v: want ok, on a whole second", r)
			}
		case <-deadline:
			t.Fatalf("only %d runs on the real clock within a minute", seen)
		}
	}
	s.Close()
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d runs overlapped", n)
	}
}

// FuzzSpec: any spec either is refused by New or yields strictly increasing occurrences after Now; New never
// panics.
func FuzzSpec(f *testing.F) {
	for _, seed := range []string{"0 6 * * *", "*/15 9-17 * * 0-4", "@every 90m", "@hourly", "@weekly", "TZ=UTC",
		"CRON_TZ=Asia/Tehran 0 6 * * *", "0 0 29 2 *", "60 * * * *", "@every -1s", "* * * * * *", "0 6 ? * MON"} {
		f.Add(seed, false)
	}
	now := time.Date(2025, 3, 24, 12, 0, 0, 0, calendar.Tehran)
	cal := calendar.Default()
	f.Fuzz(func(t *testing.T, spec string, businessDays bool) {
		c := clock.NewSimulated(now)
		s, err := scheduler.New(scheduler.Config{Clock: c, Calendar: cal, Runs: newMemRuns()},
			scheduler.Job{Name: "fuzz", Spec: spec, BusinessDays: businessDays, Run: func(context.Context, time.Time) error { return nil }})
		if err != nil {
			if !errors.Is(err, scheduler.ErrJob) {
				t.Fatalf("New(%q): error %v does not wrap ErrJob", spec, err)
			}
			return
		}
		defer s.Close()
		last := now
		for _, u := range s.Next(5) {
			if !u.At.After(last) {
				t.Fatalf("spec %q: occurrence %v not after %v", spec, u.At, last)
			}
			last = u.At
		}
	})
}
