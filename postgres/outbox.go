package postgres

import (
	"context"
	"fmt"
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

// Pending returns up to limit unsent events in increasing seq order.
//
// Every unsent row it does not return — one beyond limit, or one whose transaction has not committed yet —
// has a higher seq than every row it returns, so a relay that publishes what Pending returns, marks it sent
// and asks again publishes each key's events in seq order: an uncommitted transaction holds the outbox lock,
// so no transaction with a higher seq can have committed either (see Outbox).
func (o *Outbox) Pending(ctx context.Context, limit int) ([]outbox.Event, error) {
	rows, err := o.pool.Query(ctx, `SELECT seq, id, topic, key, type, payload, created_at FROM outbox
		WHERE sent_at IS NULL ORDER BY seq LIMIT $1`, limit)
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

// MarkSent records that these events reached Kafka.
func (o *Outbox) MarkSent(ctx context.Context, seqs []int64) error {
	_, err := o.pool.Exec(ctx, "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1) AND sent_at IS NULL", seqs)
	if err != nil {
		return fmt.Errorf("postgres: outbox mark sent: %w", err)
	}
	return nil
}

// Unsent counts the events not yet relayed.
func (o *Outbox) Unsent(ctx context.Context) (int64, error) {
	var n int64
	if err := o.pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE sent_at IS NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: outbox unsent: %w", err)
	}
	return n, nil
}

// Lag reports how far the relay is behind: how many committed events are not yet marked sent, and the
// CreatedAt of the oldest of them (the zero time when there are none). CreatedAt is on the writer's injected
// clock, so the caller computes the age on the same clock. Events of transactions still open are not counted:
// they are not pending yet. It counts over the partial index of unsent rows, so it costs in proportion to
// the backlog, not to the table.
func (o *Outbox) Lag(ctx context.Context) (unsent int64, oldest time.Time, err error) {
	var at pgtype.Timestamptz
	if err := o.pool.QueryRow(ctx, "SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL").Scan(&unsent, &at); err != nil {
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
// Nothing calls it by itself: the relay does not, and as of this writing neither does cmd/tasvieh, so a
// restart on the embedded broker does not republish anything unless the caller does. Call it on start, when
// kafka.Cluster.Embedded reports true, before the relay runs — never while a relay runs: that relay would then
// publish old events after newer ones it had already published, and one key's events would reach Kafka out
// of seq order. It rewrites every row ever relayed, in one transaction, so its cost grows with the table.
func (o *Outbox) ResetSent(ctx context.Context) (int64, error) {
	tag, err := o.pool.Exec(ctx, "UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL")
	if err != nil {
		return 0, fmt.Errorf("postgres: outbox reset: %w", err)
	}
	return tag.RowsAffected(), nil
}
