package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/outbox"
)

// Outbox is the outbox table seen as the relay's source (kafka.Source).
//
// Its order is seq order, and seq order is commit order: migration 004 makes every transaction that inserts
// into the outbox (INSERT or COPY) take a per-schema advisory lock before it draws its first seq, and hold it
// until it commits or aborts. So a transaction's events never become visible after those of a transaction
// with higher seqs, and Pending never has to hand out a row below a seq it already handed out. The migration
// carries the proof and the trade-off (outbox writers take turns, from their first outbox insert to their
// commit: write the outbox last in a transaction).
type Outbox struct{ pool *pgxpool.Pool }

// NewOutbox returns the outbox of the pool's schema.
func NewOutbox(pool *pgxpool.Pool) *Outbox { return &Outbox{pool: pool} }

// Pending returns up to limit unsent events in increasing seq order: those above the relay's cursor
// (migration 008).
//
// Every unsent row it does not return — one beyond limit, or one whose transaction has not committed yet —
// has a higher seq than every row it returns, so a relay that publishes what Pending returns, marks it sent
// and asks again publishes each key's events in seq order: an uncommitted transaction holds the outbox lock,
// so no transaction with a higher seq can have committed either (see Outbox).
func (o *Outbox) Pending(ctx context.Context, limit int) ([]outbox.Event, error) {
	rows, err := o.pool.Query(ctx, `SELECT seq, id, topic, key, type, payload, created_at FROM outbox
		WHERE seq > (SELECT seq FROM outbox_relay) ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox pending: %w", err)
	}
	var events []outbox.Event
	var e outbox.Event
	var id pgtype.UUID
	_, err = pgx.ForEachRow(rows, []any{&e.Seq, &id, &e.Topic, &e.Key, &e.Type, &e.Payload, &e.CreatedAt}, func() error {
		e.ID = uuidText(id)
		events = append(events, e)
		e.Payload = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox pending: %w", err)
	}
	return events, nil
}

// MarkSent records that these events reached Kafka, and with them every event below the highest of seqs:
// the relay marks what Pending returned, a prefix of what is unsent, so the outbox keeps one cursor
// (migration 008) rather than a mark on every row. The cursor only moves up.
func (o *Outbox) MarkSent(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	top := slices.Max(seqs)
	_, err := o.pool.Exec(ctx, "UPDATE outbox_relay SET seq = $1 WHERE seq < $1", top)
	if err != nil {
		return fmt.Errorf("postgres: outbox mark sent: %w", err)
	}
	return nil
}

// Unsent counts the events not yet relayed.
func (o *Outbox) Unsent(ctx context.Context) (int64, error) {
	var n int64
	if err := o.pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE seq > (SELECT seq FROM outbox_relay)").Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: outbox unsent: %w", err)
	}
	return n, nil
}

// Lag reports how far the relay is behind: how many committed events are not yet marked sent, and the
// CreatedAt of the oldest of them (the zero time when there are none). CreatedAt is on the writer's injected
// clock, so the caller computes the age on the same clock. Events of transactions still open are not counted:
// they are not pending yet. It costs in proportion to
// the backlog, not to the table (a range of the primary key above the cursor).
func (o *Outbox) Lag(ctx context.Context) (unsent int64, oldest time.Time, err error) {
	var at pgtype.Timestamptz
	if err := o.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM outbox
		WHERE seq > (SELECT seq FROM outbox_relay)`).Scan(&unsent, &at); err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: outbox lag: %w", err)
	}
	if at.Valid {
		oldest = at.Time
	}
	return unsent, oldest, nil
}

// ApplyOnce runs effect in one transaction with recording (consumer, event id) in the inbox, unless the inbox
// already has it: a consumer built on it applies each event effectively once however often Kafka delivers it.
// It reports whether the effect ran.
func ApplyOnce(ctx context.Context, pool *pgxpool.Pool, consumer, eventID string, effect func(pgx.Tx) error) (bool, error) {
	var applied bool
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", consumer, eventID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		applied = true
		return effect(tx)
	})
	if err != nil {
		return false, fmt.Errorf("postgres: apply event %s for %s: %w", eventID, consumer, err)
	}
	return applied, nil
}

func uuidText(u pgtype.UUID) string {
	b := u.Bytes
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ResetSent marks every relayed event unsent again, so the relay publishes it once more, and returns how many
// events it reset. It exists for a start on the embedded broker, which keeps nothing across a restart: an
// event relayed before the restart but not yet consumed is then in neither Kafka nor the outbox's pending
// rows. Consumers deduplicate by event id, so republishing is safe.
//
// Nothing calls it by itself: the relay does not. internal/server calls it on start, when
// kafka.Cluster.Embedded reports true, before the relay runs — never call it while a relay runs: that relay
// would then publish old events after newer ones it had already published, and one key's events would reach
// Kafka out of seq order. It moves the cursor back to zero (migration 008); the count reads the primary key.
func (o *Outbox) ResetSent(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		var top int64
		if err := tx.QueryRow(ctx, "SELECT seq FROM outbox_relay FOR UPDATE").Scan(&top); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE seq <= $1", top).Scan(&n); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE outbox_relay SET seq = 0")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: outbox reset: %w", err)
	}
	return n, nil
}
