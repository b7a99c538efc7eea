package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/outbox"
)

// NoticesMax bounds one Notice: a day's opening tells every member bank (about 40), with room to spare.
const NoticesMax = 1000

// Notice writes rail rows and events that move no money — a bank suspended, a business day opened — in one
// transaction, outside the ledger's writer: nothing here touches a balance, so nothing needs the writer's
// stable state. Events carry ids the caller derived from what they report, and a repeat of an id is skipped
// (ON CONFLICT DO NOTHING), so a job that runs again after a crash tells nobody twice. The outbox rows go last,
// as migration 004 asks of every outbox writer, so this transaction holds the outbox turn only at its end.
func Notice(ctx context.Context, pool *pgxpool.Pool, now time.Time, rows []Row, events []outbox.Event) error {
	if len(rows)+len(events) > NoticesMax {
		return &SubmissionError{"Events", fmt.Sprintf("%d rows and events, more than %d", len(rows)+len(events), NoticesMax)}
	}
	for i, r := range rows {
		if err := validateRow(i, r); err != nil {
			return err
		}
	}
	for i, e := range events {
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		if err := e.Validate(); err != nil {
			return &SubmissionError{fmt.Sprintf("Events[%d]", i), err.Error()}
		}
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, r := range rows {
			body := r.Body
			if len(body) == 0 {
				body = []byte("{}")
			}
			if _, err := tx.Exec(ctx, `INSERT INTO rail_objects (kind, id, status, body, transfer_id, updated_at)
				VALUES ($1, $2, $3, $4::jsonb, NULL, $5)
				ON CONFLICT (kind, id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body,
					transfer_id = NULL, updated_at = EXCLUDED.updated_at`,
				r.Kind, r.ID, r.Status, string(body), now.UnixNano()); err != nil {
				return fmt.Errorf("postgres: notice row %s/%s: %w", r.Kind, r.ID, err)
			}
		}
		for _, e := range events {
			at := e.CreatedAt
			if at.IsZero() {
				at = now
			}
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, key, type, payload, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Topic, e.Key, e.Type, e.Payload, at); err != nil {
				return fmt.Errorf("postgres: notice event %s: %w", e.ID, err)
			}
		}
		return nil
	})
}

// RailObjectsMax bounds one listing of rail rows: the switch's own state (a row per bank, a secret) is a few
// dozen rows; rails page through theirs.
const RailObjectsMax = 1000

// RailObjects lists the rail rows of one kind with ids after after (in id order), at most limit
// (≤ RailObjectsMax).
func RailObjects(ctx context.Context, pool *pgxpool.Pool, kind, after string, limit int) ([]RailObject, error) {
	return RailObjectsWhere(ctx, pool, kind, "", nil, nil, after, limit)
}

// RailObjectsWhere lists the rail rows of one kind whose body field field (a top-level JSON key) equals one
// of values and whose status is one of statuses (all when empty), in id order after after, at most limit
// (≤ RailObjectsMax). It scans the kind's rows: a rail that lists by party at volume adds an index on the
// expression it filters.
func RailObjectsWhere(ctx context.Context, pool *pgxpool.Pool, kind, field string, values, statuses []string, after string, limit int) ([]RailObject, error) {
	if limit <= 0 || limit > RailObjectsMax {
		limit = RailObjectsMax
	}
	rows, err := pool.Query(ctx, `SELECT id, status, body::text, updated_at FROM rail_objects
		WHERE kind = $1 AND id > $2 AND ($3::text = '' OR body->>$3 = ANY($4))
			AND (coalesce(cardinality($5::text[]), 0) = 0 OR status = ANY($5))
		ORDER BY id LIMIT $6`, kind, after, field, values, statuses, limit)
	var out []RailObject
	err = scanRailObjects(kind, rows, err, func(o RailObject) { out = append(out, o) })
	return out, err
}

// scanRailObjects reads rows of (id, status, body, updated_at) of one kind, as RailObjects, into f.
func scanRailObjects(kind string, rows pgx.Rows, err error, f func(RailObject)) error {
	if err != nil {
		return fmt.Errorf("postgres: rail objects %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		o := RailObject{Kind: kind}
		var body string
		if err := rows.Scan(&o.ID, &o.Status, &body, &o.UpdatedAt); err != nil {
			return fmt.Errorf("postgres: rail objects %s: %w", kind, err)
		}
		o.Body = []byte(body)
		f(o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: rail objects %s: %w", kind, err)
	}
	return nil
}

// RailObjectsByID reads the rail rows of one kind with the given ids (at most RailObjectsMax), in one query:
// a rail that decides a batch looks up all its orders at once.
func RailObjectsByID(ctx context.Context, pool *pgxpool.Pool, kind string, ids []string) (map[string]RailObject, error) {
	if len(ids) > RailObjectsMax {
		return nil, fmt.Errorf("postgres: rail objects %s: %d ids, more than %d", kind, len(ids), RailObjectsMax)
	}
	rows, err := pool.Query(ctx, `SELECT id, status, body::text, updated_at FROM rail_objects WHERE kind = $1 AND id = ANY($2)`, kind, ids)
	out := make(map[string]RailObject, len(ids))
	err = scanRailObjects(kind, rows, err, func(o RailObject) { out[o.ID] = o })
	return out, err
}

// GuardedEvent is an event to write only while a rail row still has a status: a notification of a state
// that a later decision may already have left behind.
type GuardedEvent struct {
	Event            outbox.Event
	Kind, ID, Status string // the row that must still have Status
}

// NoticeWhile writes events that move no money, each only while its row still has the status it reports,
// in the order of the changes. It takes the outbox's turn (migration 004) before it looks at any row: a
// transaction that changed a row and committed its own events before this one got the turn is seen (each
// statement reads a fresh snapshot), so a notification it made stale is dropped; one that commits after
// this one draws higher seqs. So a bank never reads "queued" after "settled" for one order. Repeats of an
// id are skipped, as with Notice.
func NoticeWhile(ctx context.Context, pool *pgxpool.Pool, now time.Time, events []GuardedEvent) error {
	if len(events) > NoticesMax {
		return &SubmissionError{"Events", fmt.Sprintf("%d events, more than %d", len(events), NoticesMax)}
	}
	for i := range events {
		e := &events[i].Event
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		if err := e.Validate(); err != nil {
			return &SubmissionError{fmt.Sprintf("Events[%d]", i), err.Error()}
		}
	}
	if len(events) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The same key as the outbox trigger's: the schema the outbox table lives in.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tasvieh.outbox'), hashtext(n.nspname))
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'outbox'::regclass`); err != nil {
			return fmt.Errorf("postgres: notice: the outbox's turn: %w", err)
		}
		for _, g := range events {
			e := g.Event
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, key, type, payload, created_at)
				SELECT $1, $2, $3, $4, $5, $6
				WHERE EXISTS (SELECT 1 FROM rail_objects WHERE kind = $7 AND id = $8 AND status = $9)
				ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Topic, e.Key, e.Type, e.Payload, e.CreatedAt, g.Kind, g.ID, g.Status); err != nil {
				return fmt.Errorf("postgres: notice event %s: %w", e.ID, err)
			}
		}
		return nil
	})
}
