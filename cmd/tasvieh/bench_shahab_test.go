package main

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/tasvieh/tasvieh/internal/bench"
	"github.com/tasvieh/tasvieh/internal/pgtest"
)

func TestBenchShahabUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "shahab", "--transfers", "0"},
		{"bench", "shahab", "--transfers", strconv.Itoa(bench.ShahabTransfersMax + 1)},
		{"bench", "shahab", "--duration", "0s"},
		{"bench", "shahab", "--duration", "11m"},
		{"bench", "shahab", "--callers", "0"},
		{"bench", "shahab", "--connections", "0"},
		{"bench", "shahab", "--connections", strconv.Itoa(bench.LoadConnectionsMax + 1)},
		{"bench", "shahab", "now"},
	} {
		if got, _, errs := run(t, nil, args...); got != exitUsage {
			t.Errorf("tasvieh %v: exit %d, want %d\nstderr: %s", args, got, exitUsage, errs)
		}
	}
}

// TestBenchShahabSmall runs `tasvieh bench shahab` end to end at 200 transfers a phase (counts, not times):
// every transfer of both phases answered succeeded, the rows counted per transfer, the audit clean (the exit
// code).
func TestBenchShahabSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	const n = 200
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "TASVIEH_HOME": t.TempDir()}
	// A duration far beyond what 200 transfers take: the count bounds the run, so the counts are exact.
	code, out, errs := run(t, env, "bench", "shahab", "--transfers", strconv.Itoa(n), "--duration", "2m",
		"--callers", "64", "--connections", "16", "--json")
	if code != exitOK {
		t.Fatalf("bench shahab: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	var res bench.ShahabResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench shahab --json: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"engine_transfers", int64(res.EngineTransfers), n},
		{"engine_errors", res.EngineErrors, 0},
		{"http_transfers", int64(res.HTTPTransfers), n},
		{"http_errors", int64(res.HTTPErrors), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d (first error %q)", c.name, c.got, c.want, res.FirstError)
		}
	}
	// Each interbank transfer: its row, its hold's pending record, and three ledger transfers (the hold, its
	// post, the destination's credit; the fees are one transfer per book per batch, a little more).
	if res.RowsByTable["shahab_transfers"] != 1 || res.RowsByTable["pending_transfers"] != 1 ||
		res.RowsByTable["transfers"] < 3 || res.RowsByTable["transfers"] >= 4 || res.RowsPerTransfer < 5 {
		t.Errorf("rows per transfer %.2f %v: want one row, one pending record and three to four ledger transfers each", res.RowsPerTransfer, res.RowsByTable)
	}
	if res.EnginePerSec <= 0 || res.HTTPPerSec <= 0 || res.HTTPP99Ms < res.HTTPP50Ms {
		t.Errorf("engine %.0f/s, HTTP %.0f/s, p50 %.2f ms, p99 %.2f ms: want rates measured and p99 ≥ p50",
			res.EnginePerSec, res.HTTPPerSec, res.HTTPP50Ms, res.HTTPP99Ms)
	}
}
