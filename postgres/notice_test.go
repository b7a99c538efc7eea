package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
)

// TestNoticeWhileWritesOnlyWhileTheRowHasTheStatus: an event guarded by a row's status is written while the
// row has it, and dropped once a later change (committed first, with its own event) has moved the row on —
// the "queued after settled" inversion a pipelined rail would otherwise show a bank. Repeats are skipped.
func TestNoticeWhileWritesOnlyWhileTheRowHasTheStatus(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	now := time.Date(2025, 4, 21, 9, 0, 0, 0, time.UTC)
	row := func(id, status string) postgres.Row {
		return postgres.Row{Kind: "satna.order", ID: id, Status: status, Body: []byte(`{}`)}
	}
	event := func(id, typ string) outbox.Event {
		return outbox.Event{ID: id, Topic: postgres.TopicNotifications, Key: "017", Type: typ, Payload: []byte(`{}`), CreatedAt: now}
	}
	if err := postgres.Notice(ctx, pool, now, []postgres.Row{row("a", "queued"), row("b", "settled")}, nil); err != nil {
		t.Fatal(err)
	}
	guarded := []postgres.GuardedEvent{
		{Event: event("00000000-0000-7000-8000-00000000000a", "satna.order.queued"), Kind: "satna.order", ID: "a", Status: "queued"},
		{Event: event("00000000-0000-7000-8000-00000000000b", "satna.order.queued"), Kind: "satna.order", ID: "b", Status: "queued"},
	}
	for range 2 { // the second time: a repeat of the same ids
		if err := postgres.NoticeWhile(ctx, pool, now, guarded); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE id = '00000000-0000-7000-8000-00000000000a'"); n != 1 {
		t.Errorf("the event of the row still queued: %d rows, want 1", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM outbox WHERE id = '00000000-0000-7000-8000-00000000000b'"); n != 0 {
		t.Errorf("the event of the row settled since: %d rows, want 0 (stale)", n)
	}
}
