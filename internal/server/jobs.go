package server

import (
	"context"
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/scheduler"
)

// Job names: stable, recorded in job_runs.
const (
	JobDayOpen      = "day.open"
	JobDayClose     = "day.close"
	JobLedgerExpiry = "ledger.expiry"
	JobPAYACycle    = "paya.cycle"    // and the cut-off, HHMM: paya.cycle.0945
	JobShahabWindow = "shahab.window" // and the cut-off, HHMM: shahab.window.1000
)

// ExpirySpec is the ledger expiry job's schedule: hourly. The store expires each pending transfer at its own
// deadline on the injected clock already; the job is the recorded backstop that makes a batch (and so an
// expiry pass) happen at least hourly even when nothing else writes.
const ExpirySpec = "0 * * * *"

// DayHook is what a rail runs when a business day opens or closes, at the scheduled time.
type DayHook func(ctx context.Context, day calendar.Date, at time.Time) error

// profile is the rulebook profile in force at t: the named one, or for "dated" the one in force on t's Tehran date.
func (s *Server) profile(t time.Time) (rulebook.Profile, error) {
	if s.cfg.Rules == "dated" {
		return s.cfg.Rulebook.At(calendar.DateOf(t.In(calendar.Tehran)))
	}
	return s.cfg.Rulebook.Profile(s.cfg.Rules)
}

func cronAt(c rulebook.ClockTime) string {
	m := c.Minutes()
	return fmt.Sprintf("%d %d * * *", m%60, m/60)
}

func (s *Server) jobs() []scheduler.Job {
	p, err := s.profile(s.clk.Now())
	if err != nil {
		p, _ = s.cfg.Rulebook.Profile(rulebook.DefaultName)
	}
	jobs := []scheduler.Job{
		{Name: JobDayOpen, Spec: cronAt(p.SATNAOpen), BusinessDays: true, Run: func(ctx context.Context, at time.Time) error {
			return s.dayEvent(ctx, at, "open", "day.opened", s.openHooks)
		}},
		{Name: JobDayClose, Spec: cronAt(p.SATNAEndOfDay), BusinessDays: true, Run: func(ctx context.Context, at time.Time) error {
			return s.dayEvent(ctx, at, "closed", "day.closed", s.closeHooks)
		}},
		{Name: JobLedgerExpiry, Spec: ExpirySpec, Run: func(ctx context.Context, _ time.Time) error {
			return s.store.Decide(ctx, func(*postgres.Decision) {})
		}},
	}
	// PAYA's cycles: one job per cut-off of the rulebook, every day; a run on a day without that cycle (a
	// holiday, unless the rulebook runs one there) does nothing.
	for _, c := range p.PAYACycles {
		jobs = append(jobs, scheduler.Job{Name: JobPAYACycle + "." + fmt.Sprintf("%02d%02d", c.Hour, c.Minute), Spec: cronAt(c),
			Run: func(ctx context.Context, at time.Time) error {
				ok, err := s.paya.isSlot(at)
				if err != nil || !ok {
					return err
				}
				_, err = s.paya.runCycle(ctx, at)
				return err
			}})
	}
	// The card switch's settlement windows: every day (the card switch does not stop for holidays).
	for _, c := range p.CardWindows {
		jobs = append(jobs, scheduler.Job{Name: JobShahabWindow + "." + fmt.Sprintf("%02d%02d", c.Hour, c.Minute), Spec: cronAt(c),
			Run: func(ctx context.Context, at time.Time) error {
				_, err := s.shahab.closeWindow(ctx, at, false)
				return err
			}})
	}
	return jobs
}

// dayEvent runs a day's hooks, then records the day's status and tells every member bank. The events' ids
// come from the day and the bank, so a run repeated after a crash tells nobody twice.
func (s *Server) dayEvent(ctx context.Context, at time.Time, status, typ string, hooks []DayHook) error {
	day := calendar.DateOf(at.In(calendar.Tehran))
	for _, h := range hooks {
		if err := h(ctx, day, at); err != nil {
			return err
		}
	}
	data := map[string]any{"date": day.String(), "jalali": day.Jalali().String(), "at": at.In(calendar.Tehran)}
	var events = s.forMembers(func(code string) any { return data }, typ, at, day.String())
	row := postgres.Row{Kind: kindDay, ID: day.String(), Status: status, Body: mustJSON(data)}
	if err := postgres.Notice(ctx, s.pool, at, []postgres.Row{row}, events); err != nil {
		return err
	}
	s.deliver.Kick()
	return nil
}

// onRun collects the runs of a clock move in progress, for the advance's answer.
func (s *Server) onRun(r scheduler.Run) {
	s.firedMu.Lock()
	if s.fired != nil {
		*s.fired = append(*s.fired, r)
	}
	s.firedMu.Unlock()
	// The simulated time is saved with each run, not only when a move ends: a server killed in the middle of a
	// long advance restarts no earlier than the last run it recorded, so its clock never reads before what it
	// already did.
	if s.clk.Mode() == clock.ModeSimulated {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.runs.SaveClock(ctx, string(clock.ModeSimulated), r.Scheduled); err != nil {
			s.log.Warn("server: saving the simulated clock", "err", err)
		}
	}
}
