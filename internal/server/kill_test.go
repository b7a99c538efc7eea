package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// TestMain runs a server as a child process when asked to (the kill test re-runs this binary): it prints its
// URL and serves until it is killed.
func TestMain(m *testing.M) {
	if os.Getenv("TASVIEH_SERVE_CHILD") == "" {
		os.Exit(m.Run())
	}
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), os.Getenv("TASVIEH_SCHEMA"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start, _ := server.ParseTime(os.Getenv("TASVIEH_START"))
	srv, err := server.Open(ctx, server.Config{Pool: pool, Home: os.Getenv("TASVIEH_HOME"), Addr: "127.0.0.1:0",
		ClockMode: clock.ModeSimulated, Start: start, Seed: 7, Customers: testCustomers, Log: testLog()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if stage := os.Getenv("TASVIEH_PAYA_DIE_AT"); stage != "" {
		// Killed at the worst moment: the process dies (SIGKILL, no shutdown) when a PAYA cycle reaches stage.
		server.SetPAYAFault(srv, func(s string) error {
			if s == stage {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
			return nil
		})
	}
	url, err := srv.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("URL " + url)
	select {}
}

// TestKilledBetweenTwoJobsRunsTheMissedOneOnce: a server process is killed (SIGKILL, no shutdown) after the
// day opened and before it closed; a new server started later on the same database runs the missed close
// once, as a catch-up, and does not run the open again.
func TestKilledBetweenTwoJobsRunsTheMissedOneOnce(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	home := t.TempDir()
	cmd, url := startChild(t, schema, home, "1404/02/01 05:00")
	defer cmd.Process.Kill()
	child := &world{t: t, url: url}
	keys, err := server.LoadKeys(home+"/keys.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var res api.AdvanceResult
	child.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", keys.Operator, api.AdvanceRequest{To: "1404/02/01 07:00"}, &res)
	opened := false
	for _, r := range res.Fired {
		opened = opened || (r.Job == server.JobDayOpen && r.Outcome == "ok")
	}
	if !opened {
		t.Fatalf("the day did not open: %+v", res.Fired)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	w := &world{t: t, pool: pool, cfg: server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: jalali(t, "1404/02/01 18:00"), Seed: 7, Customers: testCustomers, Log: testLog()}}
	w.open()
	defer func() { w.audit(); w.srv.Close() }()
	var c api.ClockInfo
	w.must(http.StatusOK, http.MethodGet, "/v1/clock", keys.Operator, nil, &c)
	n := map[string]int{}
	for _, r := range c.RecentRuns {
		n[r.Job+" "+tehran(r.Scheduled)]++
		if r.Job == server.JobDayClose && !r.CatchUp {
			t.Errorf("the missed close ran, but not as a catch-up: %+v", r)
		}
	}
	if got := n[server.JobDayClose+" "+tehran(jalali(t, "1404/02/01 16:00"))]; got != 1 {
		t.Errorf("the missed close ran %d times, want once: %v", got, n)
	}
	if got := n[server.JobDayOpen+" "+tehran(jalali(t, "1404/02/01 06:00"))]; got != 1 {
		t.Errorf("the finished open ran %d times, want once: %v", got, n)
	}
}

// startChild runs a server as a child process (this test binary, TestMain's child mode) on schema and home,
// its simulated clock at start, and answers it and its URL once it listens (waiting at most 3 minutes).
func startChild(t *testing.T, schema, home, start string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TASVIEH_SERVE_CHILD=1", "TASVIEH_SCHEMA="+schema, "DATABASE_URL="+pgtest.URL(t),
		"TASVIEH_HOME="+home, "TASVIEH_START="+start)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URL "); ok {
				urlc <- u
			}
		}
		close(urlc)
	}()
	select {
	case url := <-urlc:
		if url == "" {
			_ = cmd.Process.Kill()
			t.Fatal("the child server exited")
		}
		return cmd, url
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the child server did not start")
	}
	return nil, ""
}
