package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
)

const (
	// jobNameLenMax is job_runs.job's CHECK: the scheduler's own limit on a job's name.
	jobNameLenMax = 64
	// jobErrLenMax is job_runs.error's CHECK, in characters: the scheduler keeps at most 4096 bytes of a
	// run's error, which is never more characters than that.
	jobErrLenMax = 4096
	// jobRunsRecentMax bounds Recent: an operator's page of runs, a few days of every rail's jobs.
	jobRunsRecentMax = 1000
)

// ErrJobRun is returned, wrapped with the field at fault, for a run JobRuns refuses to store.
var ErrJobRun = errors.New("postgres: bad job run")

// JobRun is one run of a scheduled job, as job_runs keeps it. It is an alias of the same unnamed struct type
// as scheduler.Run, so that JobRuns satisfies scheduler.Runs by method shape without this adapter importing
// that one (adapters never import each other); its fields must stay the same as scheduler.Run's.
type JobRun = struct {
	Job       string    // the job's name
	Scheduled time.Time // the occurrence the run stands for
	Started   time.Time // clock time the handler was called
	Finished  time.Time // clock time it returned
	Outcome   string    // OutcomeOK, OutcomeFailed or OutcomeSkipped
	Err       string    // the error, empty when ok
	CatchUp   bool      // the run stands for occurrences missed while the scheduler was down or busy
}

// Outcomes of a job run, as job_runs.outcome spells them (the same words as the scheduler's).
const (
	JobOutcomeOK      = "ok"
	JobOutcomeFailed  = "failed"
	JobOutcomeSkipped = "skipped"
)

// JobRuns is the scheduler's store (scheduler.Runs) and the operator's saved clock, in the tables of
// migration 006. Times are stored as timestamptz, to the microsecond, and returned in calendar.Tehran.
type JobRuns struct{ pool *pgxpool.Pool }

// NewJobRuns returns the job runs of the pool's schema.
func NewJobRuns(pool *pgxpool.Pool) *JobRuns { return &JobRuns{pool: pool} }

// Since returns the time from which job's occurrences count: the scheduled time of its last run that ended
// "ok" or "skipped", or, for a job with none, the time it was first registered, registering it at now if it
// is new. So a new server's first start fires nothing from the past, and a restart after a miss catches up.
func (j *JobRuns) Since(ctx context.Context, job string, now time.Time) (time.Time, error) {
	if err := checkJobName(job); err != nil {
		return time.Time{}, err
	}
	// Registered even when the job has runs, so that the row exists for every job seen; the CTE's insert is
	// invisible to the rest of the statement, hence the union with the row already there. A registration
	// committed by another server between this statement's snapshot and its insert is visible to neither
	// part: the statement then finds nothing, and once more sees that row.
	for range 2 {
		var since *time.Time
		err := j.pool.QueryRow(ctx, `
			WITH reg AS (
				INSERT INTO job_registrations (job, registered_at) VALUES ($1, $2)
				ON CONFLICT (job) DO NOTHING
				RETURNING registered_at
			), registered AS (
				SELECT registered_at FROM reg
				UNION ALL
				SELECT registered_at FROM job_registrations WHERE job = $1
			)
			SELECT coalesce(
				(SELECT scheduled_at FROM job_runs WHERE job = $1 AND outcome IN ('ok', 'skipped')
					ORDER BY scheduled_at DESC LIMIT 1),
				(SELECT registered_at FROM registered LIMIT 1))`, job, now).Scan(&since)
		if err != nil {
			return time.Time{}, fmt.Errorf("postgres: job %s: since: %w", job, err)
		}
		if since != nil {
			return since.In(calendar.Tehran), nil
		}
	}
	return time.Time{}, fmt.Errorf("postgres: job %s: since: no registration found after registering", job)
}

// Record stores one run. A job's Since moves only with "ok" and "skipped" runs.
func (j *JobRuns) Record(ctx context.Context, r JobRun) error {
	if err := checkJobName(r.Job); err != nil {
		return err
	}
	switch {
	case r.Outcome != JobOutcomeOK && r.Outcome != JobOutcomeFailed && r.Outcome != JobOutcomeSkipped:
		return fmt.Errorf("%w: job %s: outcome %q, want %q, %q or %q", ErrJobRun, r.Job, r.Outcome,
			JobOutcomeOK, JobOutcomeFailed, JobOutcomeSkipped)
	case r.Scheduled.IsZero() || r.Started.IsZero() || r.Finished.IsZero():
		return fmt.Errorf("%w: job %s: scheduled, started and finished times are all required", ErrJobRun, r.Job)
	case r.Finished.Before(r.Started):
		return fmt.Errorf("%w: job %s: finished %s before it started %s", ErrJobRun, r.Job,
			r.Finished.Format(time.RFC3339Nano), r.Started.Format(time.RFC3339Nano))
	case len([]rune(r.Err)) > jobErrLenMax:
		return fmt.Errorf("%w: job %s: error text of %d characters, at most %d", ErrJobRun, r.Job,
			len([]rune(r.Err)), jobErrLenMax)
	}
	_, err := j.pool.Exec(ctx, `INSERT INTO job_runs
		(job, scheduled_at, started_at, finished_at, outcome, error, catch_up) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.Job, r.Scheduled, r.Started, r.Finished, r.Outcome, r.Err, r.CatchUp)
	if err != nil {
		return fmt.Errorf("postgres: job %s: record run scheduled %s: %w", r.Job, r.Scheduled.Format(time.RFC3339), err)
	}
	return nil
}

// Recent lists the latest runs recorded, newest first, at most limit (capped at 1000).
func (j *JobRuns) Recent(ctx context.Context, limit int) ([]JobRun, error) {
	limit = min(limit, jobRunsRecentMax)
	if limit <= 0 {
		return nil, nil
	}
	rows, err := j.pool.Query(ctx, `SELECT job, scheduled_at, started_at, finished_at, outcome, error, catch_up
		FROM job_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: recent job runs: %w", err)
	}
	var out []JobRun
	var r JobRun
	_, err = pgx.ForEachRow(rows, []any{&r.Job, &r.Scheduled, &r.Started, &r.Finished, &r.Outcome, &r.Err, &r.CatchUp},
		func() error {
			r.Scheduled, r.Started, r.Finished = r.Scheduled.In(calendar.Tehran), r.Started.In(calendar.Tehran), r.Finished.In(calendar.Tehran)
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("postgres: recent job runs: %w", err)
	}
	return out, nil
}

// SaveClock stores the clock's mode and the time it reads, replacing what was saved before, so that a
// restart resumes a simulated day where it stood.
func (j *JobRuns) SaveClock(ctx context.Context, mode string, now time.Time) error {
	if mode != string(clock.ModeReal) && mode != string(clock.ModeSimulated) {
		return fmt.Errorf("postgres: save clock: mode %q, want %q or %q", mode, clock.ModeReal, clock.ModeSimulated)
	}
	_, err := j.pool.Exec(ctx, `INSERT INTO clock_state (singleton, mode, sim_now) VALUES (true, $1, $2)
		ON CONFLICT (singleton) DO UPDATE SET mode = excluded.mode, sim_now = excluded.sim_now, updated_at = now()`,
		mode, now)
	if err != nil {
		return fmt.Errorf("postgres: save clock: %w", err)
	}
	return nil
}

// LoadClock returns the mode and time last saved by SaveClock, with ok false when none was.
func (j *JobRuns) LoadClock(ctx context.Context) (mode string, now time.Time, ok bool, err error) {
	err = j.pool.QueryRow(ctx, "SELECT mode, sim_now FROM clock_state WHERE singleton").Scan(&mode, &now)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("postgres: load clock: %w", err)
	}
	return mode, now.In(calendar.Tehran), true, nil
}

func checkJobName(job string) error {
	if job == "" || len(job) > jobNameLenMax {
		return fmt.Errorf("%w: job name %q: want 1 to %d characters", ErrJobRun, job, jobNameLenMax)
	}
	return nil
}
