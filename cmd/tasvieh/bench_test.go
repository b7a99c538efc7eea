package main

import (
	"encoding/json"
	"testing"

	"github.com/tasvieh/tasvieh/internal/bench"
	"github.com/tasvieh/tasvieh/internal/pgtest"
)

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no benchmark", []string{"bench"}},
		{"unknown benchmark", []string{"bench", "disk"}},
		{"restore, no runs", []string{"bench", "restore", "--runs", "0"}},
		{"restore, more pending than transfers", []string{"bench", "restore", "--transfers", "10", "--pending", "11"}},
		{"restore, one account", []string{"bench", "restore", "--accounts", "1"}},
		{"ledger, stray argument", []string{"bench", "ledger", "now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _, errs := run(t, nil, tc.args...); got != exitUsage {
				t.Errorf("tasvieh %v: exit %d, want %d\nstderr: %s", tc.args, got, exitUsage, errs)
			}
		})
	}
}

// TestBenchRestoreSmall runs the start-up benchmark end to end on a small history: what it seeds must be what
// it says, none of it in the retention window, and the audit clean.
func TestBenchRestoreSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	env := map[string]string{"DATABASE_URL": pgtest.URL(t)}
	code, out, errs := run(t, env, "bench", "restore", "--transfers", "3000", "--accounts", "20", "--pending", "100",
		"--runs", "2", "--json")
	if code != exitOK {
		t.Fatalf("bench restore: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	var res bench.RestoreResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench restore --json: %v\n%s", err, out)
	}
	if !res.Seeded || res.TransfersStored != 3000+20 || res.Accounts != 20+1 || res.PendingActive != 100 {
		t.Errorf("seeded %v: %d transfers, %d accounts, %d active pending; want 3020, 21, 100",
			res.Seeded, res.TransfersStored, res.Accounts, res.PendingActive)
	}
	if res.InWindow != 0 {
		t.Errorf("%d seeded transfers in the retention window, want none", res.InWindow)
	}
	if len(res.Runs) != 2 || res.PeakRSSBytes <= 0 || res.Runs[0].RSSBytes <= 0 {
		t.Errorf("runs %+v, peak RSS %d: want 2 runs with memory read", res.Runs, res.PeakRSSBytes)
	}
	if !res.AuditClean {
		t.Error("audit not clean")
	}
}
