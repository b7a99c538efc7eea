-- The scheduler's memory (scheduler.Runs through postgres.JobRuns) and the operator's clock.
--
-- A job's occurrences count from its Since: the scheduled time of its last run that finished "ok" or
-- "skipped", or, for a job that never did, when it was first registered. Registration is kept apart from the
-- runs so that a new server's first start fires nothing from the past, while a restart after a miss catches
-- up (scheduler/doc.go has the rule). Every run is kept, failed ones included: they are the operator's record
-- of what happened, and they do not move Since, so a failed occurrence is caught up after a restart.

CREATE TABLE job_registrations (
	job           text        PRIMARY KEY CHECK (job <> '' AND length(job) <= 64),
	registered_at timestamptz NOT NULL
);

CREATE TABLE job_runs (
	id           bigserial   PRIMARY KEY, -- record order: Recent lists newest first by it
	job          text        NOT NULL CHECK (job <> '' AND length(job) <= 64),
	scheduled_at timestamptz NOT NULL,
	started_at   timestamptz NOT NULL,
	finished_at  timestamptz NOT NULL CHECK (finished_at >= started_at),
	outcome      text        NOT NULL CHECK (outcome IN ('ok', 'failed', 'skipped')),
	error        text        NOT NULL DEFAULT '' CHECK (length(error) <= 4096),
	catch_up     boolean     NOT NULL DEFAULT false
);

-- Since reads one job's latest finished run: a backward scan of this index, failed runs left out.
CREATE INDEX job_runs_since ON job_runs (job, scheduled_at DESC) WHERE outcome IN ('ok', 'skipped');

-- The clock the operator left: its mode and the time it read, so that a restart of `tasvieh serve` resumes a
-- simulated day where it stood. One row at most.
CREATE TABLE clock_state (
	singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
	mode       text        NOT NULL CHECK (mode IN ('real', 'simulated')),
	sim_now    timestamptz NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now() -- the database's wall time of the save, for people only
);
