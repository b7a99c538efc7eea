package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tasvieh/tasvieh/internal/bench"
)

// benchShahabFundingRial is every bank's opening settlement balance in the bench, as bench rtgs funds its
// banks: the card rail moves the CBI accounts only when a window settles, which the bench does not run, so
// this is headroom, not a figure the run depends on.
const benchShahabFundingRial int64 = 1_000_000_000_000_000

// benchShahab boots a server in this process on a fresh schema (simulated clock at 1404/02/01 12:30 Tehran,
// every bank simulated, online, no latency), measures two-phase interbank card transfers through the backend
// and then over HTTP on loopback, and ends with the audit.
func benchShahab(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "bench shahab", "bench shahab [--transfers N] [--duration D] [--callers N] [--connections N] [--json] [--cpuprofile FILE]")
	o := bench.DefaultShahabOptions()
	fs.IntVar(&o.Transfers, "transfers", o.Transfers, "transfers to send at most, per phase")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "longest each phase runs")
	fs.IntVar(&o.Callers, "callers", o.Callers, "concurrent callers of the backend (engine phase)")
	fs.IntVar(&o.Connections, "connections", o.Connections, "keep-alive connections of the load generator (HTTP phase)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || o.Transfers < 1 || o.Transfers > bench.ShahabTransfersMax || o.Duration <= 0 || o.Duration > bench.LoadDurationMax ||
		o.Callers < 1 || o.Callers > bench.ShahabCallersMax || o.Connections < 1 || o.Connections > bench.LoadConnectionsMax {
		return usageError(env, benchHelp)
	}
	fail := func(err error) int {
		fmt.Fprintln(env.Stderr, "tasvieh bench shahab:", err)
		return exitInvalid
	}
	srv, pool, _, release, err := benchSwitch(ctx, env, benchShahabFundingRial)
	if err != nil {
		return fail(err)
	}
	defer release()
	r, rep, err := benchMeasured(ctx, pool, *cpuProfile, func() (bench.ShahabResult, error) { return bench.Shahab(ctx, srv, o) })
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	} else {
		w := env.Stdout
		fmt.Fprintf(w, "engine: %.0f interbank card transfers/s succeeded, durable (%d in %.1f s, %d callers, %d errors); a caller waits p50 %.2f ms, p99 %.2f ms\n",
			r.EnginePerSec, r.EngineTransfers, r.EngineSeconds, r.Callers, r.EngineErrors, r.EngineP50Ms, r.EngineP99Ms)
		fmt.Fprintf(w, "rows per transfer: %.2f %v; the writer committed %d batches of %.0f ledger transfers on average\n",
			r.RowsPerTransfer, r.RowsByTable, r.WriterBatches, r.TransfersPerBatch)
		fmt.Fprintf(w, "HTTP:   %.0f transfers/s (%d in %.1f s, %d connections, %d errors); p50 %.2f ms, p99 %.2f ms, max %.1f ms\n",
			r.HTTPPerSec, r.HTTPTransfers, r.HTTPSeconds, r.Connections, r.HTTPErrors, r.HTTPP50Ms, r.HTTPP99Ms, r.HTTPMaxMs)
		fmt.Fprintf(w, "cores (%d CPUs, GOMAXPROCS %d, nothing pinned): engine phase %s; HTTP phase %s\n", r.CPUs, r.GOMAXPROCS, cpuLine(r.EngineCPU), cpuLine(r.HTTPCPU))
		if r.FirstError != "" {
			fmt.Fprintln(w, "first error:", r.FirstError)
		}
	}
	if !rep.Clean() {
		fmt.Fprint(env.Stderr, rep.String())
		return exitInvalid
	}
	return exitOK
}

func cpuLine(c bench.CPUSplit) string {
	if c.Source != "proc" {
		return c.Source
	}
	return fmt.Sprintf("this process %.2f, PostgreSQL %.2f, other %.2f, idle %.2f", c.Process, c.Postgres, c.Other, c.Idle)
}
