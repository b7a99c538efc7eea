package postgres_test

// Review of 54e8936: the outbox relay's one cursor (migration 008). Attacks that held, kept as regressions.

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/postgres"
)

// TestReviewMigration008KeepsEveryUnsentEvent: a schema at migration 007 with sent and unsent rows, some sent
// above the first unsent one (the old relay marked rows one by one), is migrated to 008. Every unsent event is
// pending afterwards, in seq order; sent ones above the first unsent come again (consumers dedupe); none
// below it does. Then MarkSent moves the cursor and ResetSent puts it back to zero. Held.
func TestReviewMigration008KeepsEveryUnsentEvent(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.SchemaName(t)
	pool, err := postgres.Open(ctx, pgtest.URL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropSchema(context.Background(), pool, schema); pool.Close() })
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		v, _ := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if v >= 8 {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, base); err != nil {
			t.Fatal(err)
		}
	}
	// seq 1..8: sent, sent, unsent, sent, unsent, unsent, sent, unsent.
	sent := []bool{true, true, false, true, false, false, true, false}
	for i, s := range sent {
		var at any
		if s {
			at = "2026-01-01T00:00:00Z"
		}
		if _, err := pool.Exec(ctx, `INSERT INTO outbox (id, topic, key, type, payload, created_at, sent_at)
			VALUES (gen_random_uuid(), 't', 'k', 'x', '\x7b7d', now(), $1)`, at); err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
	}
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	ob := postgres.NewOutbox(pool)
	evs, err := ob.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, e := range evs {
		got = append(got, e.Seq)
	}
	want := []int64{3, 4, 5, 6, 7, 8}
	if len(got) != len(want) {
		t.Fatalf("pending after 008: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pending after 008: %v, want %v", got, want)
		}
	}
	if err := ob.MarkSent(ctx, []int64{3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := ob.MarkSent(ctx, []int64{2}); err != nil { // an old mark never moves the cursor back
		t.Fatal(err)
	}
	if n, err := ob.Unsent(ctx); err != nil || n != 3 {
		t.Errorf("unsent after marking up to 5: %d %v, want 3", n, err)
	}
	if n, err := ob.ResetSent(ctx); err != nil || n != 5 {
		t.Errorf("ResetSent: %d %v, want 5 (seqs 1..5 relayed)", n, err)
	}
	if n, err := ob.Unsent(ctx); err != nil || n != 8 {
		t.Errorf("unsent after ResetSent: %d %v, want 8", n, err)
	}
}
