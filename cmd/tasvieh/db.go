package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/tasvieh/tasvieh/postgres"
)

func runDB(ctx context.Context, env Env, args []string) int {
	cfg := DefaultConfig(env.Getenv)
	if len(args) != 1 {
		return usageError(env, "usage: tasvieh db up|down|url\n  up    start the private cluster (installing PostgreSQL if needed), migrate, print DATABASE_URL\n  down  stop the private cluster\n  url   print the database URL in use")
	}
	log := cfg.logger(env.Stderr)
	switch args[0] {
	case "up":
		pool, err := cfg.openDB(ctx, log, "")
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh db up:", err)
			return exitInvalid
		}
		pool.Close()
		url, _ := cfg.databaseURL(ctx, log)
		fmt.Fprintln(env.Stdout, url)
		return exitOK
	case "down":
		if cfg.DatabaseURL != "" {
			fmt.Fprintln(env.Stderr, "tasvieh db down: DATABASE_URL is set; tasvieh stops only its private cluster")
			return exitInvalid
		}
		if err := postgres.StopLocal(ctx, postgres.LocalCluster{Dir: filepath.Join(cfg.Home, "pg")}); err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh db down:", err)
			return exitInvalid
		}
		return exitOK
	case "url":
		url, err := cfg.databaseURL(ctx, log)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh db url:", err)
			return exitInvalid
		}
		fmt.Fprintln(env.Stdout, url)
		return exitOK
	}
	return usageError(env, "db: unknown action %q (want up, down or url)", args[0])
}

func runAudit(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "audit", "audit [--schema NAME]")
	schema := fs.String("schema", "", "PostgreSQL schema to audit (default TASVIEH_SCHEMA, else public)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		return usageError(env, "audit takes no arguments")
	}
	cfg := DefaultConfig(env.Getenv)
	log := cfg.logger(env.Stderr)
	pool, err := cfg.openDB(ctx, log, *schema)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh audit:", err)
		return exitInvalid
	}
	defer pool.Close()
	rep, err := postgres.Audit(ctx, pool)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh audit:", err)
		return exitInvalid
	}
	fmt.Fprint(env.Stdout, rep.String())
	if !rep.Clean() {
		return exitInvalid
	}
	return exitOK
}
