package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jackc/pgx/v5/pgxpool"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/bench"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// benchSwitch opens a switch in this process on a fresh bench schema, as the rail benches run it: the simulated
// clock at 1404/02/01 12:30 Tehran (a business day, in SATNA's hours, before PAYA's 12:45 cycle), 200 customers
// in each simulated bank, funding rial in each settlement account. release closes the switch and drops the
// schema; home is the switch's own directory.
func benchSwitch(ctx context.Context, env Env, funding int64) (srv *server.Server, pool *pgxpool.Pool, home string, release func(), err error) {
	cfg := DefaultConfig(env.Getenv)
	pool, schema, drop, err := benchSchema(ctx, env, cfg, "", false)
	if err != nil {
		return nil, nil, "", nil, err
	}
	home = filepath.Join(cfg.Home, schema)
	srv, err = server.Open(ctx, server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0",
		ClockMode: clock.ModeSimulated, Start: time.Date(2025, 4, 21, 9, 0, 0, 0, time.UTC), Seed: seedDefault, Customers: 200,
		FundingRial: funding, KafkaBrokers: cfg.KafkaBrokers, Log: slog.New(slog.DiscardHandler), Version: version})
	if err != nil {
		drop()
		_ = os.RemoveAll(home)
		return nil, nil, "", nil, err
	}
	// The home (keys.json, serve.json, spooled files) is the bench's own, named after its schema: it goes with it.
	return srv, pool, home, func() { srv.Close(); drop(); _ = os.RemoveAll(home) }, nil
}

// benchMeasured runs a rail's bench under the CPU profile (when a file is named), then the audit of its schema.
func benchMeasured[R any](ctx context.Context, pool *pgxpool.Pool, cpuProfile string, run func() (R, error)) (R, postgres.AuditReport, error) {
	var zero R
	stop, err := startCPUProfile(cpuProfile)
	if err != nil {
		return zero, postgres.AuditReport{}, err
	}
	r, err := run()
	stop()
	if err != nil {
		return zero, postgres.AuditReport{}, err
	}
	rep, err := postgres.Audit(ctx, pool)
	return r, rep, err
}

// benchRTGS boots a server in this process on a fresh schema (simulated clock at 1404/02/01 12:30 Tehran, a
// business day in SATNA's hours), and measures SATNA gross settlement through the engine and the durable
// ledger, then a gridlock queued in the rail, decided and committed in the writer; it ends with the audit.
func benchRTGS(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "bench rtgs", "bench rtgs [--duration D] [--callers N] [--gridlock N] [--json] [--cpuprofile FILE]")
	o := bench.DefaultRTGSOptions()
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each measured phase")
	fs.IntVar(&o.Callers, "callers", o.Callers, "concurrent submitters")
	fs.IntVar(&o.GridlockOrders, "gridlock", o.GridlockOrders, "orders in the gridlock")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || o.Duration <= 0 || o.Callers < 1 || o.Callers > 100_000 || o.GridlockOrders < 2 || o.GridlockOrders > 1_000_000 {
		return usageError(env, benchHelp)
	}
	fail := func(err error) int {
		fmt.Fprintln(env.Stderr, "tasvieh bench rtgs:", err)
		return exitInvalid
	}
	srv, pool, _, release, err := benchSwitch(ctx, env, 1_000_000_000_000_000)
	if err != nil {
		return fail(err)
	}
	defer release()
	r, rep, err := benchMeasured(ctx, pool, *cpuProfile, func() (bench.RTGSResult, error) { return bench.RTGS(ctx, srv, o) })
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	} else {
		fmt.Fprintf(env.Stdout, "interbank orders: %.0f/s; customer orders between simulated banks: %.0f/s (%d callers, %s each, durable, %d errors)\n",
			r.OrdersPerSec, r.CustomerOrdersPerSec, o.Callers, o.Duration, r.Errors)
		fmt.Fprintf(env.Stdout, "rows per order settled: %.2f interbank, %.2f customer (transfers, events and rail rows written)\n",
			r.RowsPerOrder, r.CustomerRowsPerOrder)
		commit := 0.0
		if r.GridlockCommitMs != nil {
			commit = *r.GridlockCommitMs
		}
		fmt.Fprintf(env.Stdout, "gridlock: %d queued orders among %d banks decided in the writer in %.1f ms (the engine alone %.1f ms); %d settle, committed in %.1f ms\n",
			r.GridlockOrders, len(srv.Members()), r.GridlockMs, r.GridlockEngineMs, r.GridlockSettled, commit)
	}
	if !rep.Clean() {
		fmt.Fprint(env.Stderr, rep.String())
		return exitInvalid
	}
	return exitOK
}
