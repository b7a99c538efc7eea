package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// TestAdvanceOverNowruzFiresDayOpenOnBusinessDaysOnly is the acceptance case: from 1403/12/30 10:00 to
// 1404/01/07 00:00 day open fires exactly at 06:00 Tehran on 1404/01/05 and 1404/01/06 and on no other day,
// in order with the day closes. The expectation is computed from the calendar, then checked against the two
// dates the issue names.
func TestAdvanceOverNowruzFiresDayOpenOnBusinessDaysOnly(t *testing.T) {
	w := boot(t, "1403/12/30 10:00")
	from, to := jalali(t, "1403/12/30 10:00"), jalali(t, "1404/01/07 00:00")
	cal := calendar.Default()
	var want []string // "job at", in time order
	for d := calendar.DateOf(from.In(calendar.Tehran)); !d.At(0, 0).After(to); d = d.AddDays(1) {
		ok, _, err := cal.IsBusinessDay(d)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		for _, j := range []struct {
			name string
			h    int
		}{{server.JobDayOpen, 6}, {server.JobDayClose, 16}} {
			if at := d.At(j.h, 0); at.After(from) && !at.After(to) {
				want = append(want, j.name+" "+tehran(at))
			}
		}
	}
	var opens []string
	for _, s := range want {
		if s[:len(server.JobDayOpen)] == server.JobDayOpen {
			opens = append(opens, s)
		}
	}
	if wantOpens := []string{server.JobDayOpen + " " + tehran(jalali(t, "1404/01/05 06:00")),
		server.JobDayOpen + " " + tehran(jalali(t, "1404/01/06 06:00"))}; fmt.Sprint(opens) != fmt.Sprint(wantOpens) {
		t.Fatalf("the calendar gives day opens %v, the issue says %v", opens, wantOpens)
	}

	var res api.AdvanceResult
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/01/07 00:00"}, &res)
	var got []string
	var last time.Time
	for _, r := range res.Fired {
		if r.Scheduled.Before(last) {
			t.Errorf("fired out of order: %s at %s after %s", r.Job, tehran(r.Scheduled), tehran(last))
		}
		last = r.Scheduled
		if r.Outcome != "ok" {
			t.Errorf("%s at %s: %s %s", r.Job, tehran(r.Scheduled), r.Outcome, r.Error)
		}
		if r.Job == server.JobDayOpen || r.Job == server.JobDayClose {
			got = append(got, r.Job+" "+tehran(r.Scheduled))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fired\n  %v\nwant\n  %v", got, want)
	}
	if !res.Clock.Now.Equal(to) {
		t.Errorf("clock at %s after the advance, want %s", tehran(res.Clock.Now), tehran(to))
	}

	// Every bank heard of each day opening, once.
	var feed api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank("017"), nil, &feed)
	n := 0
	for _, e := range feed.Events {
		if e.Type == "day.opened" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("bank 017 got %d day.opened events, want 2", n)
	}
}

func TestClockNeverMovesBackwards(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	status, body := w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/01/20 09:00"})
	if status != http.StatusConflict || !contains(body, `"code":"clock_backwards"`) {
		t.Errorf("advance backwards: %d %s, want 409 clock_backwards", status, body)
	}
	// The simulated clock is in 2025; the real one later: switching to real moves forward, then back is refused.
	var c api.ClockInfo
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/mode", w.operator(), api.ModeRequest{Mode: "real"}, &c)
	if c.Mode != "real" {
		t.Fatalf("mode %s after switching to real", c.Mode)
	}
	status, body = w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "1h"})
	if status != http.StatusConflict || !contains(body, `"code":"clock_mode"`) {
		t.Errorf("advance on the real clock: %d %s, want 409 clock_mode", status, body)
	}
	status, body = w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "-1h", To: ""})
	if status != http.StatusConflict && status != http.StatusUnprocessableEntity {
		t.Errorf("negative advance: %d %s", status, body)
	}
}

// TestRestartCatchesUpAMissedJobOnce: the server stops after a day opened and before it closed, stays down past
// the close and the next day's open, and comes back: each missed job runs once (a catch-up at its latest
// occurrence), and the open it had finished is not repeated.
func TestRestartCatchesUpAMissedJobOnce(t *testing.T) {
	w := boot(t, "1404/02/01 05:00") // Monday 2025-04-21, a business day
	var res api.AdvanceResult
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/02/01 07:00"}, &res)
	if len(res.Fired) == 0 {
		t.Fatal("nothing fired by 07:00")
	}
	w.restart(func(c *server.Config) { c.Start = jalali(t, "1404/02/02 12:00") })
	// Every run recorded, from the table: the clock's answer shows only the last ten, and the card switch's
	// four windows a day fill them.
	runs, err := postgres.NewJobRuns(w.pool).Recent(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range runs {
		count[r.Job+" "+tehran(r.Scheduled)]++
		if r.Job != server.JobLedgerExpiry && !r.CatchUp && r.Scheduled.After(jalali(t, "1404/02/01 07:00")) {
			t.Errorf("%s at %s ran while down, not as a catch-up", r.Job, tehran(r.Scheduled))
		}
	}
	for job, at := range map[string]string{server.JobDayClose: "1404/02/01 16:00", server.JobDayOpen: "1404/02/02 06:00"} {
		if n := count[job+" "+tehran(jalali(t, at))]; n != 1 {
			t.Errorf("%s at %s ran %d times, want once: %v", job, at, n, count)
		}
	}
	if n := count[server.JobDayOpen+" "+tehran(jalali(t, "1404/02/01 06:00"))]; n != 1 {
		t.Errorf("the finished open of 1404/02/01 ran %d times", n)
	}
}
