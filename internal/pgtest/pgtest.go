// Package pgtest gives each test a PostgreSQL schema of its own in a real server: DATABASE_URL when set,
// otherwise the project's private cluster, started (and installed) on first use. There is no mocked database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/postgres"
)

var (
	urlOnce sync.Once
	url     string
	urlErr  error
)

// URL returns the server to test against, starting the private cluster if DATABASE_URL is unset.
func URL(t testing.TB) string {
	t.Helper()
	urlOnce.Do(func() {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			url = u
			return
		}
		root, err := ModuleRoot()
		if err != nil {
			urlErr = err
			return
		}
		url, urlErr = postgres.EnsureLocal(context.Background(),
			postgres.LocalCluster{Dir: filepath.Join(root, ".tasvieh", "pg")}, slog.New(slog.DiscardHandler))
	})
	if urlErr != nil {
		t.Fatalf("postgres for tests: %v", urlErr)
	}
	return url
}

// ModuleRoot walks up from the working directory to the folder holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

var unsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// SchemaName makes a unique schema name from the test's name.
func SchemaName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}

// Schema opens a pool whose search path is a fresh, migrated schema, dropped when the test ends (kept when
// TASVIEH_KEEP_SCHEMA is set, to look at after a failure).
func Schema(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	schema := SchemaName(t)
	pool, err := postgres.Open(ctx, URL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("TASVIEH_KEEP_SCHEMA") == "" {
			_ = postgres.DropSchema(context.Background(), pool, schema)
		}
		pool.Close()
	})
	return pool, schema
}
