package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/postgres"
)

// outboxTestTimeout bounds every wait in these tests; each normally takes well under a second.
const outboxTestTimeout = 20 * time.Second

var outboxCreated = time.Date(2025, 3, 21, 9, 30, 0, 0, time.UTC)

var eventNo atomic.Int64

// insertEvent inserts one event for key in tx, as a writer would, and returns its seq.
func insertEvent(ctx context.Context, tx pgx.Tx, key string) (int64, error) {
	n := eventNo.Add(1)
	var seq int64
	err := tx.QueryRow(ctx, `INSERT INTO outbox (id, topic, key, type, payload, created_at)
		VALUES ($1, 'paya.credit', $2, 'paya.entry', '{}', $3) RETURNING seq`,
		fmt.Sprintf("0190f3c2-0000-7000-8000-%012x", n), key, outboxCreated.Add(time.Duration(n)*time.Millisecond)).Scan(&seq)
	return seq, err
}

// copyEvent writes one event for key in tx by COPY, the way the batched writer does (persist.go).
func copyEvent(ctx context.Context, tx pgx.Tx, key string) error {
	n := eventNo.Add(1)
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"id", "topic", "key", "type", "payload", "created_at"},
		pgx.CopyFromRows([][]any{{fmt.Sprintf("0190f3c2-0000-7000-8000-%012x", n), "paya.credit", key, "paya.entry", []byte("{}"),
			outboxCreated.Add(time.Duration(n) * time.Millisecond)}}))
	return err
}

// relayLog is what a relay published, in order. relayPass runs the relay's protocol over an Outbox —
// Pending, publish, MarkSent, until nothing is pending — as kafka.Relay does (the postgres tests may not
// import the kafka adapter), and fails the test if a seq comes at or below one already published.
type relayLog struct {
	mu        sync.Mutex
	published []int64
}

func (l *relayLog) pass(t *testing.T, ob *postgres.Outbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), outboxTestTimeout)
	defer cancel()
	for {
		events, err := ob.Pending(ctx, 100)
		if err != nil {
			t.Errorf("Pending: %v", err)
			return
		}
		if len(events) == 0 {
			return
		}
		seqs := make([]int64, len(events))
		l.mu.Lock()
		for i, ev := range events {
			if n := len(l.published); n > 0 && ev.Seq <= l.published[n-1] {
				t.Errorf("relay published seq %d after seq %d: out of seq order (published so far %v)", ev.Seq, l.published[n-1], l.published)
			}
			l.published = append(l.published, ev.Seq)
			seqs[i] = ev.Seq
		}
		l.mu.Unlock()
		if err := ob.MarkSent(ctx, seqs); err != nil {
			t.Errorf("MarkSent: %v", err)
			return
		}
	}
}

// backendPID returns the server process of a transaction's connection.
func backendPID(t *testing.T, ctx context.Context, tx pgx.Tx) int32 {
	t.Helper()
	var pid int32
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitInsertedOrBlocked waits until the writer has inserted (inserted is closed) or its server process is
// waiting on an advisory lock, and reports whether it was blocked.
func waitInsertedOrBlocked(t *testing.T, pool *pgxpool.Pool, pid int32, inserted <-chan struct{}) bool {
	t.Helper()
	deadline := time.Now().Add(outboxTestTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-inserted:
			return false
		default:
		}
		var waiting bool
		err := pool.QueryRow(context.Background(), `SELECT coalesce(wait_event_type = 'Lock' AND wait_event = 'advisory', false)
			FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("writer neither inserted nor waited on the outbox lock within %v", outboxTestTimeout)
	return false
}

// TestOutboxLaterSeqCommittedFirstIsNotRelayedFirst is the regression test for relaying by seq while
// writers commit out of seq order: T1 draws a seq and stays open while T2 writes the same key and commits.
// Before migration 004, T2's row (the higher seq) was pending and relayed at once, and T1's row after it:
// the key's events reached Kafka out of seq order.
func TestOutboxLaterSeqCommittedFirstIsNotRelayedFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		// t1Again makes T1 write a second event after T2 has tried to write: without the lock, T1's second
		// seq is above T2's though T1 commits first.
		t1Again bool
		copyT2  bool // T2 writes by COPY, as the batched writer does
	}{
		{name: "later seq commits first"},
		{name: "later seq commits first, by COPY", copyT2: true},
		{name: "earlier transaction writes again and commits first", t1Again: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, _ := pgtest.Schema(t)
			ob := postgres.NewOutbox(pool)
			ctx, cancel := context.WithTimeout(context.Background(), outboxTestTimeout)
			defer cancel()
			var relay relayLog

			t1, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer t1.Rollback(context.WithoutCancel(ctx))
			seqA, err := insertEvent(ctx, t1, "017")
			if err != nil {
				t.Fatal(err)
			}

			t2, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer t2.Rollback(context.WithoutCancel(ctx))
			pid2 := backendPID(t, ctx, t2)
			inserted, committed := make(chan struct{}), make(chan error, 1)
			commitT2 := make(chan struct{})
			go func() {
				var err error
				if tc.copyT2 {
					err = copyEvent(ctx, t2, "017")
				} else {
					_, err = insertEvent(ctx, t2, "017")
				}
				close(inserted)
				if err == nil && tc.t1Again {
					<-commitT2 // T2 commits last in this case: T1 commits first
				}
				if err == nil {
					err = t2.Commit(ctx)
				}
				committed <- err
			}()

			blocked := waitInsertedOrBlocked(t, pool, pid2, inserted)
			if !tc.t1Again {
				// T2 commits as soon as its write returns: wait for that, unless the write is held back.
				if !blocked {
					if err := <-committed; err != nil {
						t.Fatal(err)
					}
				}
			}
			relay.pass(t, ob) // T1 still open: nothing of T2 may go out ahead of T1's seq
			if tc.t1Again {
				if _, err := insertEvent(ctx, t1, "017"); err != nil {
					t.Fatal(err)
				}
			}
			if err := t1.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			relay.pass(t, ob)
			close(commitT2)
			if !tc.t1Again || blocked {
				<-inserted
			}
			if tc.t1Again || blocked {
				if err := <-committed; err != nil {
					t.Fatal(err)
				}
			}
			relay.pass(t, ob)

			if !blocked {
				t.Errorf("T2's outbox write did not wait for T1, which holds seq %d: want writers to take turns", seqA)
			}
			want := 2
			if tc.t1Again {
				want = 3
			}
			if len(relay.published) != want {
				t.Errorf("published %v, want %d events, each once", relay.published, want)
			}
			if len(relay.published) > 0 && relay.published[0] != seqA {
				t.Errorf("published %v, want T1's seq %d first", relay.published, seqA)
			}
		})
	}
}

// TestOutboxConcurrentWritersRelayInSeqOrder runs writers that hold their transactions open for random
// times, some rolling back, against a relay polling all the while: the relay must see the seqs of committed
// rows in strictly increasing order and, in the end, all of them.
func TestOutboxConcurrentWritersRelayInSeqOrder(t *testing.T) {
	const writers, txPerWriter = 6, 15
	pool, _ := pgtest.Schema(t)
	ob := postgres.NewOutbox(pool)
	ctx, cancel := context.WithTimeout(context.Background(), outboxTestTimeout)
	defer cancel()

	var mu sync.Mutex
	committed := map[int64]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 4))
			fail := func(err error) {
				if ctx.Err() == nil { // after a failure elsewhere the test cancels ctx: not news
					t.Error(err)
				}
			}
			for range txPerWriter {
				tx, err := pool.Begin(ctx)
				if err != nil {
					fail(err)
					return
				}
				var seqs []int64
				for range 1 + rng.IntN(3) {
					seq, err := insertEvent(ctx, tx, fmt.Sprintf("%03d", 10+w%3))
					if err != nil {
						fail(err)
						tx.Rollback(context.WithoutCancel(ctx))
						return
					}
					seqs = append(seqs, seq)
					time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				}
				if rng.IntN(5) == 0 {
					tx.Rollback(ctx)
					continue
				}
				if err := tx.Commit(ctx); err != nil {
					fail(err)
					return
				}
				mu.Lock()
				for _, s := range seqs {
					committed[s] = true
				}
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var relay relayLog
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		relay.pass(t, ob)
		if t.Failed() {
			cancel()
			<-done
			return
		}
	}
	relay.pass(t, ob)

	if len(relay.published) != len(committed) {
		t.Errorf("relay published %d events, want the %d committed", len(relay.published), len(committed))
	}
	for _, s := range relay.published {
		if !committed[s] {
			t.Errorf("relay published seq %d, which no writer committed", s)
		}
	}
}

// TestOutboxWritersOfOtherSchemasDoNotWait checks that the outbox lock is per schema: parallel tests, each
// in its own schema, must not queue behind each other.
func TestOutboxWritersOfOtherSchemasDoNotWait(t *testing.T) {
	poolA, _ := pgtest.Schema(t)
	poolB, _ := pgtest.Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), outboxTestTimeout)
	defer cancel()
	ta, err := poolA.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Rollback(ctx)
	if _, err := insertEvent(ctx, ta, "017"); err != nil {
		t.Fatal(err)
	}
	tb, err := poolB.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Rollback(ctx)
	if _, err := tb.Exec(ctx, "SET LOCAL lock_timeout = '2s'"); err != nil {
		t.Fatal(err)
	}
	if _, err := insertEvent(ctx, tb, "017"); err != nil {
		t.Fatalf("a writer in another schema waited for the outbox lock: %v", err)
	}
}

func TestOutboxLag(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ob := postgres.NewOutbox(pool)
	ctx := context.Background()

	n, oldest, err := ob.Lag(ctx)
	if err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("Lag of an empty outbox = %d, %v, %v; want 0, zero time, nil", n, oldest, err)
	}

	var seqs []int64
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for range 3 {
			seq, err := insertEvent(ctx, tx, "017")
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var first, second time.Time
	if err := pool.QueryRow(ctx, "SELECT created_at FROM outbox WHERE seq = $1", seqs[0]).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "SELECT created_at FROM outbox WHERE seq = $1", seqs[1]).Scan(&second); err != nil {
		t.Fatal(err)
	}

	// A transaction still open does not count: its events are not pending yet.
	open, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Rollback(ctx)
	if _, err := insertEvent(ctx, open, "017"); err != nil {
		t.Fatal(err)
	}

	n, oldest, err = ob.Lag(ctx)
	if err != nil || n != 3 || !oldest.Equal(first) {
		t.Errorf("Lag = %d, %v, %v; want 3, %v, nil", n, oldest, err, first)
	}
	if err := ob.MarkSent(ctx, seqs[:1]); err != nil {
		t.Fatal(err)
	}
	n, oldest, err = ob.Lag(ctx)
	if err != nil || n != 2 || !oldest.Equal(second) {
		t.Errorf("Lag after one sent = %d, %v, %v; want 2, %v, nil", n, oldest, err, second)
	}
	if u, err := ob.Unsent(ctx); err != nil || u != n {
		t.Errorf("Unsent = %d, %v; want %d as Lag says", u, err, n)
	}
}
