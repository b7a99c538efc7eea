package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/sim"
)

// version is tasvieh's version, shown in the OpenAPI document.
const version = "0.7.0"

// seedDefault is the default seed of the simulated banks' customers.
const seedDefault = 1404

// serveFlags are `tasvieh serve`'s flags, shared with `tasvieh demo --serve`.
type serveFlags struct {
	addr, clockMode, start, rules, external string
	home                                    string // where keys.json and serve.json go; empty: TASVIEH_HOME
	seed                                    uint64
	funding                                 int64
	customers                               int
}

func (f *serveFlags) register(fs interface {
	StringVar(*string, string, string, string)
	Uint64Var(*uint64, string, uint64, string)
	Int64Var(*int64, string, int64, string)
	IntVar(*int, string, int, string)
}) {
	fs.StringVar(&f.addr, "addr", server.AddrDefault, "HOST:PORT to listen on")
	fs.StringVar(&f.clockMode, "clock", "real", "real or simulated")
	fs.StringVar(&f.start, "start", "", "the simulated clock's start: RFC 3339 or Jalali \"YYYY/MM/DD HH:MM\" (Tehran); default where it stood, else now")
	fs.Uint64Var(&f.seed, "seed", seedDefault, "seed of the simulated banks' customers")
	fs.StringVar(&f.rules, "rules", "seed", "rulebook profile: seed, 1400, 1404, or dated (the profile in force on the clock's Tehran date)")
	fs.Int64Var(&f.funding, "funding", server.FundingDefault, "each bank's opening settlement balance, rial")
	fs.IntVar(&f.customers, "customers", sim.CustomersDefault, "test customers per simulated bank")
	fs.StringVar(&f.external, "external", "", "comma-separated CBI codes of banks played as external (under test)")
}

// config turns the flags and the environment into the server's Config (without the database).
func (f *serveFlags) config(cfg Config, log *slog.Logger) (server.Config, error) {
	home := cfg.Home
	if f.home != "" {
		home = f.home
	}
	sc := server.Config{Addr: f.addr, Home: home, KafkaBrokers: cfg.KafkaBrokers, Seed: f.seed, Customers: f.customers,
		FundingRial: f.funding, Rules: f.rules, Version: version, Log: log}
	switch f.clockMode {
	case "real":
		sc.ClockMode = clock.ModeReal
	case "simulated":
		sc.ClockMode = clock.ModeSimulated
	default:
		return sc, fmt.Errorf("--clock %q: real or simulated", f.clockMode)
	}
	if f.start != "" {
		if sc.ClockMode != clock.ModeSimulated {
			return sc, fmt.Errorf("--start needs --clock simulated")
		}
		t, err := server.ParseTime(f.start)
		if err != nil {
			return sc, fmt.Errorf("--start: %w", err)
		}
		sc.Start = t
	}
	switch f.rules {
	case "seed", "1400", "1404", "dated":
	default:
		return sc, fmt.Errorf("--rules %q: seed, 1400, 1404 or dated", f.rules)
	}
	if f.customers < 1 || f.customers > sim.CustomersMax {
		return sc, fmt.Errorf("--customers %d: 1..%d", f.customers, sim.CustomersMax)
	}
	if f.funding < 0 {
		return sc, fmt.Errorf("--funding %d: not negative", f.funding)
	}
	for _, c := range strings.Split(f.external, ",") {
		if c = strings.TrimSpace(c); c != "" {
			if _, err := strconv.Atoi(c); err != nil || len(c) != 3 {
				return sc, fmt.Errorf("--external: %q is not a 3-digit CBI code", c)
			}
			sc.External = append(sc.External, c)
		}
	}
	rb, err := loadRulebook(cfg)
	if err != nil {
		return sc, err
	}
	sc.Rulebook = rb
	return sc, nil
}

func runServe(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "serve", "serve [--addr HOST:PORT] [--clock real|simulated] [--start TIME] [--seed N] [--rules seed|1400|1404|dated] [--funding RIAL] [--customers N] [--external CODES]")
	var f serveFlags
	f.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		return usageError(env, "serve takes no arguments")
	}
	cfg := DefaultConfig(env.Getenv)
	if env.Getenv("TASVIEH_LOG") == "" {
		cfg.LogLevel = slog.LevelInfo
	}
	log := cfg.logger(env.Stderr)
	srv, err := startServer(ctx, cfg, &f, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh serve:", err)
		return exitInvalid
	}
	fmt.Fprintln(env.Stdout, srv.Banner())
	<-ctx.Done()
	fmt.Fprintln(env.Stderr, "tasvieh serve: stopping: draining requests, then closing")
	srv.Close()
	return exitOK
}

// startServer opens the database, the server, and listens.
func startServer(ctx context.Context, cfg Config, f *serveFlags, log *slog.Logger) (*server.Server, error) {
	sc, err := f.config(cfg, log)
	if err != nil {
		return nil, err
	}
	pool, err := cfg.openDB(ctx, log, "")
	if err != nil {
		return nil, err
	}
	sc.Pool = pool
	octx, cancel := context.WithTimeout(ctx, 10*time.Minute) // laying out 40 books of 100,000 customers is the longest start
	defer cancel()
	srv, err := server.Open(octx, sc)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := srv.Listen(); err != nil {
		srv.Close()
		pool.Close()
		return nil, err
	}
	srv.OnClose(pool.Close)
	return srv, nil
}
