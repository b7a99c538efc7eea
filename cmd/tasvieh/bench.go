package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/bench"
	"github.com/tasvieh/tasvieh/postgres"
)

const benchHelp = `usage: tasvieh bench ledger [--duration D] [--latency-duration D] [--accounts N] [--callers N] [--k N] [--multi-callers N] [--json] [--keep] [--cpuprofile FILE]
       tasvieh bench restore [--transfers N] [--accounts N] [--pending N] [--runs N] [--json] [--keep] [--schema NAME]
       tasvieh bench api [--connections N] [--requests N] [--duration D] [--json]
       tasvieh bench rtgs [--duration D] [--callers N] [--gridlock N] [--json]
       tasvieh bench paya [--rows N] [--json] [--cpuprofile FILE]
       tasvieh bench shahab [--transfers N] [--duration D] [--callers N] [--connections N] [--json] [--cpuprofile FILE]`

func runBench(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 {
		return usageError(env, benchHelp)
	}
	switch args[0] {
	case "ledger":
		return benchLedger(ctx, env, args[1:])
	case "restore":
		return benchRestore(ctx, env, args[1:])
	case "api":
		return benchAPI(ctx, env, args[1:])
	case "rtgs":
		return benchRTGS(ctx, env, args[1:])
	case "paya":
		return benchPAYA(ctx, env, args[1:])
	case "shahab":
		return benchShahab(ctx, env, args[1:])
	case "-h", "--help":
		fmt.Fprintln(env.Stdout, benchHelp)
		return exitOK
	}
	return usageError(env, "bench: unknown benchmark %q\n%s", args[0], benchHelp)
}

// benchSchema opens a pool on the named schema, or on a fresh one, and returns how to let go of it: the
// schema is dropped unless keep is set.
func benchSchema(ctx context.Context, env Env, cfg Config, schema string, keep bool) (*pgxpool.Pool, string, func(), error) {
	if schema == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		schema = "bench_" + hex.EncodeToString(b[:])
	}
	pool, err := cfg.openDB(ctx, cfg.logger(env.Stderr), schema)
	if err != nil {
		return nil, "", nil, err
	}
	release := func() {
		if !keep {
			_ = postgres.DropSchema(context.WithoutCancel(ctx), pool, schema)
		}
		pool.Close()
	}
	return pool, schema, release, nil
}

func benchLedger(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "bench ledger", "bench ledger [--duration D] [--latency-duration D] [--accounts N] [--callers N] [--k N] [--multi-callers N] [--json] [--keep] [--cpuprofile FILE]")
	o := bench.DefaultBenchOptions()
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each throughput phase (each naive worker count, each saturation run)")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", o.LatencyDuration, "length of the latency phase at 5,000/s offered, a CHECKPOINT issued halfway")
	fs.IntVar(&o.Accounts, "accounts", o.Accounts, "accounts the transfers move between")
	fs.IntVar(&o.Callers, "callers", o.Callers, "concurrent callers at saturation submitting one transfer per request")
	fs.IntVar(&o.RequestTransfers, "k", o.RequestTransfers, "transfers per request in the headline saturation phase")
	fs.IntVar(&o.MultiCallers, "multi-callers", o.MultiCallers, "concurrent callers at saturation submitting k transfers per request")
	asJSON := fs.Bool("json", false, "print one JSON object")
	keep := fs.Bool("keep", false, "keep the bench schema afterwards")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || o.Duration <= 0 || o.LatencyDuration <= 0 || o.Accounts < 2 || o.Callers < 1 || o.MultiCallers < 1 ||
		o.RequestTransfers < 1 || o.RequestTransfers > postgres.RequestTransfersMax {
		return usageError(env, benchHelp)
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	defer stop()
	cfg := DefaultConfig(env.Getenv)
	pool, schema, release, err := benchSchema(ctx, env, cfg, "", *keep)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	defer release()
	o.Log = cfg.logger(env.Stderr)
	if !*asJSON {
		o.Progress = func(format string, a ...any) { fmt.Fprintf(env.Stdout, format+"\n", a...) }
		fmt.Fprintf(env.Stdout, "bench ledger: schema %s, %d accounts, %s per phase\n", schema, o.Accounts, o.Duration)
	}
	wall := clock.Real()
	start := wall.Now()
	res, err := bench.BenchLedger(ctx, pool, o)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	if *asJSON {
		_ = json.NewEncoder(env.Stdout).Encode(res)
		return exitOK
	}
	w := env.Stdout
	fmt.Fprintf(w, "\nnaive (one transaction per transfer, best of workers): %.0f transfers/s (%d workers)\n", res.NaivePerSec, res.NaiveWorkers)
	fmt.Fprintf(w, "batched, one transfer per request (%d callers):     %.0f transfers/s (mean batch %.0f), %.1f× naive\n",
		res.OnePerRequestCallers, res.OnePerRequestPerSec, res.MeanBatchOnePerRequest, res.RatioOnePerRequest)
	fmt.Fprintf(w, "batched, %d transfers per request (%d callers):      %.0f transfers/s (mean batch %.0f), %.1f× naive\n",
		res.TransfersPerRequest, res.MultiCallers, res.BatchedPerSec, res.MeanBatch, res.Ratio)
	fmt.Fprintf(w, "at %d/s offered for %.0f s (achieved %.0f/s):          p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
		res.OfferedPerSec, res.LatencySeconds, res.AchievedPerSec, res.P50MsAt5000, res.P99MsAt5000, res.P999MsAt5000, res.MaxMsAt5000)
	fmt.Fprintf(w, "  CHECKPOINT at %.1f s took %.0f ms; p99 from it to 5 s after: %.2f ms; checkpoints %d -> %d\n",
		res.CheckpointAtSeconds, res.CheckpointMs, res.P99MsAroundCheckpoint, res.CheckpointsBefore, res.CheckpointsAfter)
	fmt.Fprintf(env.Stdout, "audit: clean, %d transfers stored; took %s\n", res.TransfersStored, wall.Now().Sub(start).Round(time.Second))
	return exitOK
}

func benchRestore(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "bench restore", "bench restore [--transfers N] [--accounts N] [--pending N] [--runs N] [--json] [--keep] [--schema NAME]")
	o := bench.DefaultRestoreOptions()
	fs.IntVar(&o.Transfers, "transfers", o.Transfers, "stored transfers to seed by SQL")
	fs.IntVar(&o.Accounts, "accounts", o.Accounts, "accounts they move between (created through the store)")
	fs.IntVar(&o.Pending, "pending", o.Pending, "of the seeded transfers, how many are active pending transfers")
	fs.IntVar(&o.Runs, "runs", o.Runs, "start-ups to time")
	asJSON := fs.Bool("json", false, "print one JSON object")
	keep := fs.Bool("keep", false, "keep the bench schema afterwards")
	schema := fs.String("schema", "", "use this schema (kept afterwards); one that holds transfers already is measured as it is, unseeded")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || o.Transfers < 0 || o.Accounts < 2 || o.Pending < 0 || o.Pending > o.Transfers || o.Runs < 1 {
		return usageError(env, benchHelp)
	}
	cfg := DefaultConfig(env.Getenv)
	pool, name, release, err := benchSchema(ctx, env, cfg, *schema, *keep || *schema != "")
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	defer release()
	o.Log = cfg.logger(env.Stderr)
	if !*asJSON {
		o.Progress = func(format string, a ...any) { fmt.Fprintf(env.Stdout, "  "+format+"\n", a...) }
		fmt.Fprintf(env.Stdout, "bench restore: schema %s, %d transfers between %d accounts, %d of them pending, %d start-ups\n",
			name, o.Transfers, o.Accounts, o.Pending, o.Runs)
	}
	res, err := bench.BenchRestore(ctx, pool, o)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	if *asJSON {
		_ = json.NewEncoder(env.Stdout).Encode(res)
		return exitOK
	}
	w := env.Stdout
	if res.Seeded {
		fmt.Fprintf(w, "\nseeding: %.0f s\n", res.SeedSeconds)
	}
	fmt.Fprintf(w, "start-up (OpenStore) with %d stored transfers, %d accounts, %d active pending:\n",
		res.TransfersStored, res.Accounts, res.PendingActive)
	for i, r := range res.Runs {
		fmt.Fprintf(w, "  run %d: %.3f s\n", i+1, r.Seconds)
	}
	fmt.Fprintf(w, "  best %.3f s, worst %.3f s (goal ≤ %.0f s)\n", res.BestSeconds, res.WorstSeconds, res.GoalSeconds)
	fmt.Fprintf(w, "peak RSS of the whole bench process (VmHWM): %.1f MiB (goal ≤ %.0f MiB)\n",
		float64(res.PeakRSSBytes)/(1<<20), float64(res.GoalRSSBytes)/(1<<20))
	fmt.Fprintf(w, "store stats after start-up: %d batches, %d transfers written, %d recoveries, %d queued\n",
		res.Stats.Batches, res.Stats.Transfers, res.Stats.Recoveries, res.Stats.Queued)
	verdict := "met"
	if !res.GoalMet {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "goal (start-up ≤ %.0f s and RSS ≤ %.0f MiB): %s\n", res.GoalSeconds, float64(res.GoalRSSBytes)/(1<<20), verdict)
	fmt.Fprintf(w, "audit: clean, %d transfers; took %.1f s\n", res.TransfersStored, res.AuditSeconds)
	return exitOK
}

// startCPUProfile writes a CPU profile to path until stop is called; an empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
