package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/postgres"
)

func runBench(ctx context.Context, env Env, args []string) int {
	const help = "usage: tasvieh bench ledger [--duration D] [--json] [--keep]"
	if len(args) == 0 || args[0] != "ledger" {
		return usageError(env, help)
	}
	fs := newFlags(env, "bench ledger", "bench ledger [--duration D] [--json] [--keep]")
	o := postgres.DefaultBenchOptions()
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each measured phase")
	fs.IntVar(&o.Accounts, "accounts", o.Accounts, "accounts the transfers move between")
	fs.IntVar(&o.Callers, "callers", o.Callers, "concurrent callers driving the batched writer at saturation")
	asJSON := fs.Bool("json", false, "print one JSON object")
	keep := fs.Bool("keep", false, "keep the bench schema afterwards")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || o.Duration <= 0 || o.Accounts < 2 || o.Callers < 1 {
		return usageError(env, help)
	}
	cfg := DefaultConfig(env.Getenv)
	log := cfg.logger(env.Stderr)
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	pool, err := cfg.openDB(ctx, log, schema)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	defer func() {
		if !*keep {
			_ = postgres.DropSchema(context.WithoutCancel(ctx), pool, schema)
		}
		pool.Close()
	}()
	o.Log = log
	if !*asJSON {
		o.Progress = func(format string, a ...any) { fmt.Fprintf(env.Stdout, format+"\n", a...) }
		fmt.Fprintf(env.Stdout, "bench ledger: schema %s, %d accounts, %s per phase\n", schema, o.Accounts, o.Duration)
	}
	start := time.Now()
	res, err := postgres.BenchLedger(ctx, pool, o)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	if *asJSON {
		_ = json.NewEncoder(env.Stdout).Encode(res)
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "\nnaive (one transaction per transfer, best of workers): %.0f transfers/s (%d workers)\n", res.NaivePerSec, res.NaiveWorkers)
	fmt.Fprintf(env.Stdout, "batched writer at saturation:                         %.0f transfers/s (mean batch %.0f)\n", res.BatchedPerSec, res.MeanBatch)
	fmt.Fprintf(env.Stdout, "ratio:                                                %.1f×\n", res.Ratio)
	fmt.Fprintf(env.Stdout, "at %d/s offered (achieved %.0f/s):                  p50 %.2f ms, p99 %.2f ms\n", res.OfferedPerSec, res.AchievedPerSec, res.P50MsAt5000, res.P99MsAt5000)
	fmt.Fprintf(env.Stdout, "audit: clean, %d transfers stored; took %s\n", res.TransfersStored, time.Since(start).Round(time.Second))
	return exitOK
}
