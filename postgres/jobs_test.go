package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/postgres"
)

var jobsT0 = time.Date(2025, 3, 25, 6, 0, 0, 0, calendar.Tehran) // 1404/01/05 06:00, a business day

func jobRun(job string, scheduled time.Duration, outcome string) postgres.JobRun {
	at := jobsT0.Add(scheduled)
	r := postgres.JobRun{Job: job, Scheduled: at, Started: at, Finished: at.Add(time.Second), Outcome: outcome}
	if outcome == postgres.JobOutcomeFailed {
		r.Err = "cycle: database down"
	}
	return r
}

func mustSince(t *testing.T, j *postgres.JobRuns, job string, now time.Time) time.Time {
	t.Helper()
	got, err := j.Since(context.Background(), job, now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestJobRunsSince(t *testing.T) {
	tests := []struct {
		name string
		runs []postgres.JobRun // recorded after the job's registration at jobsT0
		want time.Duration     // Since, from jobsT0
	}{
		{"never run: its registration", nil, 0},
		{"last ok run", []postgres.JobRun{jobRun("j", time.Hour, "ok"), jobRun("j", 2*time.Hour, "ok")}, 2 * time.Hour},
		{"failed runs do not move it", []postgres.JobRun{jobRun("j", time.Hour, "ok"), jobRun("j", 2*time.Hour, "failed")}, time.Hour},
		{"only failed runs: still its registration", []postgres.JobRun{jobRun("j", time.Hour, "failed")}, 0},
		{"skipped moves it", []postgres.JobRun{jobRun("j", time.Hour, "ok"), jobRun("j", 3*time.Hour, "skipped")}, 3 * time.Hour},
		{"the latest scheduled, not the latest recorded", []postgres.JobRun{jobRun("j", 5*time.Hour, "ok"), jobRun("j", 4*time.Hour, "ok")}, 5 * time.Hour},
		{"other jobs do not count", []postgres.JobRun{jobRun("other", 9*time.Hour, "ok")}, 0},
	}
	pool, _ := pgtest.Schema(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if _, err := pool.Exec(ctx, "TRUNCATE job_runs, job_registrations"); err != nil {
				t.Fatal(err)
			}
			j := postgres.NewJobRuns(pool)
			if got := mustSince(t, j, "j", jobsT0); !got.Equal(jobsT0) {
				t.Fatalf("first Since = %v, want the registration %v", got, jobsT0)
			}
			for _, r := range tt.runs {
				if err := j.Record(ctx, r); err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
			}
			got := mustSince(t, j, "j", jobsT0.Add(24*time.Hour)) // a later now does not register again
			if want := jobsT0.Add(tt.want); !got.Equal(want) {
				t.Errorf("Since = %v, want %v", got, want)
			}
			if got.Location() != calendar.Tehran {
				t.Errorf("Since in %v, want Tehran", got.Location())
			}
		})
	}
}

// TestJobRunsSinceRegistersOnce: servers starting at once each register the job; all see one registration.
func TestJobRunsSinceRegistersOnce(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	j := postgres.NewJobRuns(pool)
	const starters = 8
	got := make([]time.Time, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			got[i], err = j.Since(context.Background(), "day.open", jobsT0.Add(time.Duration(i)*time.Minute))
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, g := range got {
		if !g.Equal(got[0]) {
			t.Errorf("starter %d saw registration %v, starter 0 %v", i, g, got[0])
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM job_registrations"); n != 1 {
		t.Errorf("%d registrations, want 1", n)
	}
}

func TestJobRunsRecordAndRecent(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	j := postgres.NewJobRuns(pool)
	utc := time.Date(2025, 3, 25, 2, 30, 0, 0, time.UTC) // 06:00 Tehran, given in UTC
	want := []postgres.JobRun{
		{Job: "day.open", Scheduled: utc, Started: utc.Add(time.Minute), Finished: utc.Add(2 * time.Minute), Outcome: "ok", CatchUp: true},
		{Job: "paya.cycle.1", Scheduled: utc.Add(time.Hour), Started: utc.Add(time.Hour), Finished: utc.Add(time.Hour), Outcome: "failed",
			Err: "paya: net settlement: رد شد"},
		{Job: "day.close", Scheduled: utc.Add(10 * time.Hour), Started: utc.Add(10 * time.Hour), Finished: utc.Add(10*time.Hour + 1500*time.Microsecond), Outcome: "skipped"},
	}
	for _, r := range want {
		if err := j.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		limit int
		want  []postgres.JobRun
	}{
		{10, []postgres.JobRun{want[2], want[1], want[0]}},
		{2, []postgres.JobRun{want[2], want[1]}},
		{0, nil},
		{-1, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
			got, err := j.Recent(ctx, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d runs, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Job != w.Job || !g.Scheduled.Equal(w.Scheduled) || !g.Started.Equal(w.Started) || !g.Finished.Equal(w.Finished) ||
					g.Outcome != w.Outcome || g.Err != w.Err || g.CatchUp != w.CatchUp {
					t.Errorf("run %d: got %+v, want %+v", i, g, w)
				}
				for _, at := range []time.Time{g.Scheduled, g.Started, g.Finished} {
					if at.Location() != calendar.Tehran {
						t.Errorf("run %d: time %v not in Tehran", i, at)
					}
				}
			}
		})
	}
}

func TestJobRunsRecentIsBounded(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO job_runs (job, scheduled_at, started_at, finished_at, outcome)
		SELECT 'tick', t, t, t, 'ok' FROM generate_series(now(), now() + interval '1200 minutes', interval '1 minute') t`); err != nil {
		t.Fatal(err)
	}
	got, err := postgres.NewJobRuns(pool).Recent(ctx, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 {
		t.Errorf("Recent(5000) returned %d runs, want the cap of 1000", len(got))
	}
}

func TestJobRunsRecordRefuses(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	j := postgres.NewJobRuns(pool)
	ok := jobRun("j", 0, "ok")
	tests := []struct {
		name   string
		change func(r *postgres.JobRun)
		wantIn string
	}{
		{"unknown outcome", func(r *postgres.JobRun) { r.Outcome = "done" }, `"done"`},
		{"empty job", func(r *postgres.JobRun) { r.Job = "" }, "job name"},
		{"long job", func(r *postgres.JobRun) { r.Job = strings.Repeat("j", 65) }, "job name"},
		{"no scheduled time", func(r *postgres.JobRun) { r.Scheduled = time.Time{} }, "required"},
		{"finished before started", func(r *postgres.JobRun) { r.Finished = r.Started.Add(-time.Second) }, "before it started"},
		{"error too long", func(r *postgres.JobRun) { r.Outcome, r.Err = "failed", strings.Repeat("خ", 4097) }, "4097"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.change(&r)
			err := j.Record(context.Background(), r)
			if !errors.Is(err, postgres.ErrJobRun) || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("Record: got %v, want %v naming %q", err, postgres.ErrJobRun, tt.wantIn)
			}
		})
	}
	if n := count(t, pool, "SELECT count(*) FROM job_runs"); n != 0 {
		t.Errorf("%d refused runs were stored", n)
	}
	longest := ok
	longest.Outcome, longest.Err = "failed", strings.Repeat("خ", 4096) // the limit itself is fine
	if err := j.Record(context.Background(), longest); err != nil {
		t.Errorf("Record with a 4096-character error: %v", err)
	}
}

func TestJobRunsClock(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	j := postgres.NewJobRuns(pool)
	if mode, now, ok, err := j.LoadClock(ctx); err != nil || ok {
		t.Fatalf("LoadClock before any save = %q, %v, %v, %v; want nothing saved", mode, now, ok, err)
	}
	steps := []struct {
		mode string
		now  time.Time
	}{
		{"simulated", jobsT0},
		{"simulated", jobsT0.Add(10 * time.Hour)},
		{"real", time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)}, // microseconds survive
	}
	for _, st := range steps {
		if err := j.SaveClock(ctx, st.mode, st.now); err != nil {
			t.Fatal(err)
		}
		mode, now, ok, err := j.LoadClock(ctx)
		if err != nil || !ok || mode != st.mode || !now.Equal(st.now) || now.Location() != calendar.Tehran {
			t.Errorf("after SaveClock(%q, %v): LoadClock = %q, %v, %v, %v", st.mode, st.now, mode, now, ok, err)
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM clock_state"); n != 1 {
		t.Errorf("clock_state holds %d rows, want 1", n)
	}
	if err := j.SaveClock(ctx, "fast", jobsT0); err == nil || !strings.Contains(err.Error(), `"fast"`) {
		t.Errorf("SaveClock with mode \"fast\": got %v, want an error naming it", err)
	}
}
