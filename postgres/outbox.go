package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/outbox"
)

// Outbox is the outbox table seen as the relay's source (kafka.Source).
type Outbox struct{ pool *pgxpool.Pool }

// NewOutbox returns the outbox of the pool's schema.
func NewOutbox(pool *pgxpool.Pool) *Outbox { return &Outbox{pool: pool} }

// Pending returns up to limit unsent events, oldest first.
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
	err := o.pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE sent_at IS NULL").Scan(&n)
	return n, err
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

// ResetSent marks every relayed event unsent again, so the relay publishes it once more. The embedded broker
// keeps nothing across a restart: an event relayed before the restart but not yet consumed would otherwise be
// in neither Kafka nor the outbox. Consumers deduplicate by event id, so republishing is safe. It returns how
// many events were reset.
func (o *Outbox) ResetSent(ctx context.Context) (int64, error) {
	tag, err := o.pool.Exec(ctx, "UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL")
	if err != nil {
		return 0, fmt.Errorf("postgres: outbox reset: %w", err)
	}
	return tag.RowsAffected(), nil
}
