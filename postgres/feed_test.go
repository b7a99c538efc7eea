package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/postgres"
)

var noticeNo atomic.Int64

var noticeCreated = time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC)

// querier is what a notice is inserted through: a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// notice is one outbox row as a test writes it, with what it was given back.
type notice struct {
	seq     int64
	id      string
	typ     string
	payload string
	created time.Time
}

// insertNotice writes one outbox row by a plain INSERT, as a writer would, and returns it with its seq.
func insertNotice(t *testing.T, ctx context.Context, q querier, topic, key, payload string) notice {
	t.Helper()
	n, err := tryInsertNotice(ctx, q, topic, key, payload)
	if err != nil {
		t.Fatalf("insert %s/%s: %v", topic, key, err)
	}
	return n
}

func tryInsertNotice(ctx context.Context, q querier, topic, key, payload string) (notice, error) {
	i := noticeNo.Add(1)
	n := notice{id: fmt.Sprintf("0190f3c2-0000-7000-9000-%012x", i), typ: fmt.Sprintf("satna.order.%d", i), payload: payload,
		created: noticeCreated.Add(time.Duration(i) * time.Second)}
	err := q.QueryRow(ctx, `INSERT INTO outbox (id, topic, key, type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING seq`, n.id, topic, key, n.typ, []byte(payload), n.created).Scan(&n.seq)
	return n, err
}

func feedSeqs(events []postgres.FeedEvent) []int64 {
	seqs := make([]int64, len(events))
	for i, e := range events {
		seqs[i] = e.Seq
	}
	return seqs
}

func TestFeedReturnsOnlyTheBanksNotificationsInSeqOrder(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ob := postgres.NewOutbox(pool)
	ctx := context.Background()
	var mine []notice
	for i := range 5 {
		mine = append(mine, insertNotice(t, ctx, pool, postgres.TopicNotifications, "017", fmt.Sprintf(`{"n":%d}`, i)))
		insertNotice(t, ctx, pool, postgres.TopicNotifications, "012", `{"other":"bank"}`)
		insertNotice(t, ctx, pool, "paya.credit", "017", `{"other":"topic"}`)
	}

	got, err := ob.Feed(ctx, "017", 0, postgres.FeedPageMax)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(mine) {
		t.Fatalf("got %d events %v, want %d", len(got), feedSeqs(got), len(mine))
	}
	for i, e := range got {
		w := mine[i]
		if e.Seq != w.seq || e.ID != w.id || e.Type != w.typ || string(e.Payload) != w.payload || !e.CreatedAt.Equal(w.created) {
			t.Errorf("event %d: got {%d %s %s %s %v}, want {%d %s %s %s %v}", i, e.Seq, e.ID, e.Type, e.Payload, e.CreatedAt,
				w.seq, w.id, w.typ, w.payload, w.created)
		}
	}

	// Paging by cursor, two at a time, walks the same events once each.
	var walked []int64
	after := int64(0)
	for range 10 {
		page, err := ob.Feed(ctx, "017", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d, asked for 2", len(page))
		}
		walked = append(walked, feedSeqs(page)...)
		after = page[len(page)-1].Seq
	}
	if fmt.Sprint(walked) != fmt.Sprint(feedSeqs(got)) {
		t.Errorf("paged walk: got %v, want %v", walked, feedSeqs(got))
	}

	none, err := ob.Feed(ctx, "054", 0, 10)
	if err != nil || len(none) != 0 {
		t.Errorf("bank without notifications: got %v, %v; want none", feedSeqs(none), err)
	}
}

func TestFeedLimit(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ob := postgres.NewOutbox(pool)
	for _, tc := range []struct {
		limit int
		ok    bool
	}{{0, false}, {-1, false}, {1, true}, {postgres.FeedPageMax, true}, {postgres.FeedPageMax + 1, false}} {
		_, err := ob.Feed(context.Background(), "017", 0, tc.limit)
		if got := err == nil; got != tc.ok {
			t.Errorf("limit %d: got err %v, want ok %v", tc.limit, err, tc.ok)
		}
	}
}

// TestFeedPageBytes fills pages with the largest payloads the outbox takes: a page stops before
// FeedPageBytesMax, and a page of one event larger than that (which only a plain INSERT can write) still
// comes, so the feed never sticks.
func TestFeedPageBytes(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ob := postgres.NewOutbox(pool)
	ctx := context.Background()
	const payloadBytes = 512 << 10 // outbox.PayloadBytesMax
	big := `"` + strings.Repeat("a", payloadBytes-2) + `"`
	perPage := postgres.FeedPageBytesMax / payloadBytes
	for range perPage + 1 {
		insertNotice(t, ctx, pool, postgres.TopicNotifications, "017", big)
	}
	huge := insertNotice(t, ctx, pool, postgres.TopicNotifications, "017", `"`+strings.Repeat("b", postgres.FeedPageBytesMax)+`"`)

	var sizes []int
	after := int64(0)
	for range 10 {
		page, err := ob.Feed(ctx, "017", after, postgres.FeedPageMax)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		after = page[len(page)-1].Seq
	}
	if want := fmt.Sprint([]int{perPage, 1, 1}); fmt.Sprint(sizes) != want {
		t.Errorf("page sizes: got %v, want %s", sizes, want)
	}
	if after != huge.seq {
		t.Errorf("last seq read: got %d, want the huge event's %d", after, huge.seq)
	}
}

// TestFeedCursorNeverSkipsLateCommit is the feed's side of migration 004: transaction T1 draws the lower seq
// and commits late; T2 writes the same bank's notification meanwhile. A reader that polls while T1 is open
// and moves its cursor past what it saw must still, in the end, have read both events, in seq order. The
// control case drops 004's trigger and shows the skip the lock prevents, so the test can fail.
func TestFeedCursorNeverSkipsLateCommit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noLock   bool // drop migration 004's trigger: the control
		wantSeen int
	}{
		{name: "writers take turns", wantSeen: 2},
		{name: "control: without the outbox lock the cursor skips T1's event", noLock: true, wantSeen: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, _ := pgtest.Schema(t)
			ob := postgres.NewOutbox(pool)
			ctx, cancel := context.WithTimeout(context.Background(), outboxTestTimeout)
			defer cancel()
			if tc.noLock {
				if _, err := pool.Exec(ctx, "DROP TRIGGER outbox_writers_take_turns ON outbox"); err != nil {
					t.Fatal(err)
				}
			}
			var seen []int64
			cursor := int64(0)
			poll := func() {
				t.Helper()
				page, err := ob.Feed(ctx, "017", cursor, postgres.FeedPageMax)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					if e.Seq <= cursor {
						t.Errorf("feed returned seq %d at or below the cursor %d", e.Seq, cursor)
					}
					seen = append(seen, e.Seq)
					cursor = e.Seq
				}
			}

			t1, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer t1.Rollback(context.WithoutCancel(ctx))
			a := insertNotice(t, ctx, t1, postgres.TopicNotifications, "017", `{"t":1}`)

			t2, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer t2.Rollback(context.WithoutCancel(ctx))
			pid2 := backendPID(t, ctx, t2)
			inserted, committed := make(chan struct{}), make(chan error, 1)
			var b notice
			go func() {
				var err error
				b, err = tryInsertNotice(ctx, t2, postgres.TopicNotifications, "017", `{"t":2}`)
				close(inserted)
				if err == nil {
					err = t2.Commit(ctx)
				}
				committed <- err
			}()
			blocked := waitInsertedOrBlocked(t, pool, pid2, inserted)
			if blocked == tc.noLock {
				t.Fatalf("T2 blocked on the outbox lock: %v, want %v", blocked, !tc.noLock)
			}
			if !blocked {
				if err := <-committed; err != nil {
					t.Fatal(err)
				}
			}
			poll() // T1 is still open, holding the lower seq
			if err := t1.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			poll()
			if blocked {
				if err := <-committed; err != nil {
					t.Fatal(err)
				}
			}
			poll()
			poll()

			if b.seq <= a.seq {
				t.Fatalf("T2's seq %d is not above T1's %d", b.seq, a.seq)
			}
			if len(seen) != tc.wantSeen {
				t.Errorf("reader saw %v (T1 %d, T2 %d), want %d events", seen, a.seq, b.seq, tc.wantSeen)
			}
			if !tc.noLock && fmt.Sprint(seen) != fmt.Sprint([]int64{a.seq, b.seq}) {
				t.Errorf("reader saw %v, want [%d %d]: T1's then T2's", seen, a.seq, b.seq)
			}
		})
	}
}
