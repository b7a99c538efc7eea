package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TopicNotifications is the outbox topic of notifications to member banks. A notification for bank B is an
// outbox row with this topic and key = B's three-digit CBI code; an event that concerns two banks is written
// once for each. The feed and the webhooks read these rows, through the partial index of migration 007.
const TopicNotifications = "notifications"

// Limits of the feed.
const (
	// FeedPageMax bounds the events of one feed page: a notification is about 1 KiB of JSON, so a full page
	// is about 1 MiB, one HTTP response a client parses at once; it matches PageTransfersMax, the other
	// cursor-paged list.
	FeedPageMax = 1000
	// FeedPageBytesMax bounds the payload bytes of one page, which FeedPageMax alone does not: a payload may
	// be as large as outbox.PayloadBytesMax (512 KiB), so a page of FeedPageMax such events would be 512 MiB.
	// 4 MiB is four times the page of typical events; a page still holds at least one event, so the feed
	// always moves on.
	FeedPageBytesMax = 4 << 20
)

// FeedEvent is one notification as the feed hands it to its bank.
type FeedEvent struct {
	Seq       int64 // the outbox seq: the cursor to pass as afterSeq for the next page
	ID        string
	Type      string
	Payload   []byte // JSON
	CreatedAt time.Time
}

// feedSelect names the topic as a literal, so that the planner can match the partial index outbox_notifications.
const feedSelect = `SELECT seq, id, type, payload, created_at FROM outbox
	WHERE topic = '` + TopicNotifications + `' AND key = $1 AND seq > $2 ORDER BY seq LIMIT $3`

// Feed returns bank's notifications with a seq above afterSeq (0 for the first page), in seq order: at most
// limit (1..FeedPageMax) and, past the first, no more than FeedPageBytesMax of payload. The caller's next page
// starts after the last Seq returned; an empty page means it has read everything committed so far.
//
// A cursor never skips an event whose transaction commits late, because seq order is commit order (migration
// 004): every outbox writer holds a per-schema lock from before it draws its first seq until its commit is
// visible, so a writer that draws a higher seq can only commit after every writer holding a lower one has
// committed or aborted. The set of seqs a reader sees is therefore closed downwards (rolled-back gaps aside,
// which nothing can ever fill): a row that becomes visible after this page has a seq above every row on it,
// so it is above the cursor the caller goes on from, and the next page returns it. Without that lock a
// transaction could draw seq 10, another draw 11 and commit first; a reader would see 11, move its cursor
// past 10, and never see 10.
func (o *Outbox) Feed(ctx context.Context, bank string, afterSeq int64, limit int) ([]FeedEvent, error) {
	if limit < 1 || limit > FeedPageMax {
		return nil, fmt.Errorf("postgres: feed of bank %q: page of %d events: want 1..%d", bank, limit, FeedPageMax)
	}
	rows, err := o.pool.Query(ctx, feedSelect, bank, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: feed of bank %q after seq %d: %w", bank, afterSeq, err)
	}
	defer rows.Close()
	var (
		events []FeedEvent
		bytes  int
		e      FeedEvent
		id     pgtype.UUID
	)
	for rows.Next() {
		if err := rows.Scan(&e.Seq, &id, &e.Type, &e.Payload, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: feed of bank %q after seq %d: %w", bank, afterSeq, err)
		}
		if len(events) > 0 && bytes+len(e.Payload) > FeedPageBytesMax {
			break // the rest comes on the next page; closing the rows stops the query
		}
		bytes += len(e.Payload)
		e.ID = uuidText(id)
		events = append(events, e)
		e.Payload = nil
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: feed of bank %q after seq %d: %w", bank, afterSeq, err)
	}
	return events, nil
}
