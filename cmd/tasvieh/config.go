package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/postgres"
)

// Config is everything the binary reads from the environment, with its documented defaults.
type Config struct {
	// DatabaseURL is DATABASE_URL; empty means the private cluster under Home.
	DatabaseURL string
	// Home is TASVIEH_HOME, the project-local folder for the private cluster; default ./.tasvieh.
	Home string
	// Schema is TASVIEH_SCHEMA, the PostgreSQL schema tasvieh keeps its tables in; default public.
	Schema string
	// KafkaBrokers is KAFKA_BROKERS (comma-separated); empty means the embedded broker.
	KafkaBrokers []string
	// RulesFile is TASVIEH_RULES, a JSON file overriding rulebook figures; empty means the embedded rulebook.
	RulesFile string
	// LogLevel is TASVIEH_LOG (debug, info, warn, error); default warn for tools, so their output stays clean.
	LogLevel slog.Level
}

// DefaultConfig reads the environment.
func DefaultConfig(getenv func(string) string) Config {
	c := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		Home:        getenv("TASVIEH_HOME"),
		Schema:      getenv("TASVIEH_SCHEMA"),
		RulesFile:   getenv("TASVIEH_RULES"),
		LogLevel:    slog.LevelWarn,
	}
	if c.Home == "" {
		c.Home = ".tasvieh"
	}
	if b := getenv("KAFKA_BROKERS"); b != "" {
		for _, s := range strings.Split(b, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.KafkaBrokers = append(c.KafkaBrokers, s)
			}
		}
	}
	_ = c.LogLevel.UnmarshalText([]byte(getenv("TASVIEH_LOG")))
	return c
}

func (c Config) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: c.LogLevel}))
}

// databaseURL is DATABASE_URL, or the private cluster's URL after making sure it runs.
func (c Config) databaseURL(ctx context.Context, log *slog.Logger) (string, error) {
	if c.DatabaseURL != "" {
		return c.DatabaseURL, nil
	}
	return postgres.EnsureLocal(ctx, postgres.LocalCluster{Dir: filepath.Join(c.Home, "pg")}, log)
}

// openDB connects to the database (schema as configured, or the one given) and applies the migrations.
func (c Config) openDB(ctx context.Context, log *slog.Logger, schema string) (*pgxpool.Pool, error) {
	url, err := c.databaseURL(ctx, log)
	if err != nil {
		return nil, err
	}
	if schema == "" {
		schema = c.Schema
	}
	pool, err := postgres.Open(ctx, url, schema)
	if err != nil {
		return nil, err
	}
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// parseFlags parses flags that may stand before, between or after the positional arguments
// (`calendar holidays 1404 --json`), and returns the positional ones.
// A negative number ("-5000", "-5,000") is an argument, never a flag: `op liquidity 017 -5000` withdraws.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for i, a := range args {
		if len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' {
			before, err := parseFlags(fs, args[:i])
			if err != nil {
				return nil, err
			}
			after, err := parseFlags(fs, args[i+1:])
			if err != nil {
				return nil, err
			}
			return append(append(before, a), after...), nil
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlags makes a FlagSet that reports to stderr and does not exit.
func newFlags(env Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: tasvieh %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// flagExit turns a flag parse error into an exit code (help is not an error).
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
