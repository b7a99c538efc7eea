package main

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/tasvieh/tasvieh/internal/bench"
	"github.com/tasvieh/tasvieh/internal/pgtest"
)

func TestBenchPAYAUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "paya", "--rows", "0"},
		{"bench", "paya", "--rows", strconv.Itoa(bench.PAYARowsMax + 1)},
		{"bench", "paya", "now"},
	} {
		if got, _, errs := run(t, nil, args...); got != exitUsage {
			t.Errorf("tasvieh %v: exit %d, want %d\nstderr: %s", args, got, exitUsage, errs)
		}
	}
}

// TestBenchPAYASmall runs `tasvieh bench paya` end to end at 2,000 rows (counts, not times): both files
// accepted whole, the one cycle settling and posting every entry of both, rows counted, the audit clean (the
// exit code).
func TestBenchPAYASmall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	const rows = 2000
	// The server's home (keys, the upload spool) in the test's own directory, not the package's.
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "TASVIEH_HOME": t.TempDir()}
	code, out, errs := run(t, env, "bench", "paya", "--rows", strconv.Itoa(rows), "--json")
	if code != exitOK {
		t.Fatalf("bench paya: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	var res bench.PAYAResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench paya --json: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"file_entries", res.FileEntries, rows},
		{"nacha_entries", res.NACHAEntries, rows},
		{"nacha_files", res.NACHAFiles, 1},
		{"cycle_entries", res.CycleEntries, 2 * rows},
		{"posted", res.Posted, 2 * rows},
		{"returned", res.Returned, 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	// Each entry: its row, its window row and at least its payee's credit (a payer's debits go in one transfer
	// per chunk: a little more than one transfer an entry in all).
	if res.RowsPerEntry < 3 || res.RowsByTable["paya_entries"] != 1 || res.RowsByTable["paya_window"] != 1 ||
		res.RowsByTable["transfers"] < 1 || res.RowsByTable["transfers"] >= 2 {
		t.Errorf("rows per entry %.2f %v: want at least 3, one entry row, one window row and one to two transfers each", res.RowsPerEntry, res.RowsByTable)
	}
	if res.FileRSSMiB <= 0 || res.NACHARSSMiB <= 0 || res.RSSSource == "" {
		t.Errorf("peak RSS %.1f / %.1f MiB (%q): want both read", res.FileRSSMiB, res.NACHARSSMiB, res.RSSSource)
	}
}
