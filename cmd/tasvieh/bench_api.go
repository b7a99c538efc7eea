package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/bench"
	"github.com/tasvieh/tasvieh/internal/server"
)

// benchAPI boots a server in this process on a fresh schema (simulated clock, small books), then drives GET
// /v1/settlement-account over loopback with every bank's key, closed loop. Server and generator share the
// machine's cores (GOMAXPROCS is printed): the figure is what one box serves while also generating the load.
func benchAPI(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "bench api", "bench api [--connections N] [--requests N] [--duration D] [--json] [--cpuprofile FILE]")
	conns := fs.Int("connections", 64, "concurrent keep-alive clients")
	requests := fs.Int("requests", 300_000, "requests to send at most")
	dur := fs.Duration("duration", 20*time.Second, "longest the load runs")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load phase (server and generator) to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		return usageError(env, "bench api takes no arguments")
	}
	cfg := DefaultConfig(env.Getenv)
	pool, schema, release, err := benchSchema(ctx, env, cfg, "", false)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench api:", err)
		return exitInvalid
	}
	defer release()
	home := filepath.Join(cfg.Home, schema)
	srv, err := server.Open(ctx, server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: time.Date(2025, 4, 21, 9, 0, 0, 0, time.UTC), Seed: seedDefault, Customers: 50, KafkaBrokers: cfg.KafkaBrokers,
		Log: slog.New(slog.DiscardHandler), Version: version})
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench api:", err)
		return exitInvalid
	}
	defer srv.Close()
	url, err := srv.Listen()
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench api:", err)
		return exitInvalid
	}
	var keys []string
	for _, k := range srv.Keys().Banks {
		keys = append(keys, k)
	}
	fmt.Fprintf(env.Stderr, "bench api: %d connections, GET /v1/settlement-account with %d bank keys, for at most %s or %d requests\n",
		*conns, len(keys), *dur, *requests)
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench:", err)
		return exitInvalid
	}
	defer stop()
	r, err := bench.LoadHTTP(ctx, bench.LoadOptions{URL: url, Path: "/v1/settlement-account?limit=10", Keys: keys,
		Connections: *conns, Requests: *requests, Duration: *dur})
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh bench api:", err)
		return exitInvalid
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "GET /v1/settlement-account: %d requests in %.1f s = %.0f requests/s; p50 %.2f ms, p99 %.2f ms, max %.1f ms; %d errors\n",
		r.Requests, r.Seconds, r.PerSec, r.P50Ms, r.P99Ms, r.MaxMs, r.Errors)
	fmt.Fprintf(env.Stdout, "server and generator in one process on %d CPUs (GOMAXPROCS %d), %d connections over loopback\n", r.CPUs, r.GOMAXPROCS, r.Connections)
	if r.Errors > 0 {
		return exitInvalid
	}
	return exitOK
}
