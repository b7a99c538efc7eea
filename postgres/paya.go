package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PAYA's own tables and look-ups (migration 009). The cycle processor's inbox (paya_window) is written by the
// Kafka consumer outside the writer: it holds no money, only what the processor has counted into which cycle.
// The entries themselves are rail rows (kind KindPAYAEntry), written by the writer with their money.

// KindPAYAEntry is the kind of PAYA's entry rows.
const KindPAYAEntry = "paya.entry"

// PAYAWindowMax bounds one call of PAYAWindowAdd: one Kafka event's entries.
const PAYAWindowMax = 10_000

// PAYAWindowEntry is one entry as the cycle processor counts it.
type PAYAWindowEntry struct {
	EntryID     string
	IntakeCycle string
	PayerBank   string
	PayeeBank   string
	AmountRial  int64
}

// PAYAWindowAdd records consumed entries in their intake cycle, once: an entry already there is skipped (a
// redelivery), and the answer counts the entries new to the window.
func PAYAWindowAdd(ctx context.Context, pool *pgxpool.Pool, es []PAYAWindowEntry) (int64, error) {
	if len(es) > PAYAWindowMax {
		return 0, fmt.Errorf("postgres: paya window: %d entries in one call, more than %d", len(es), PAYAWindowMax)
	}
	if len(es) == 0 {
		return 0, nil
	}
	ids, cycles, payers, payees := make([]string, len(es)), make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	amounts := make([]int64, len(es))
	for i, e := range es {
		if e.AmountRial <= 0 || e.EntryID == "" || e.IntakeCycle == "" {
			return 0, fmt.Errorf("postgres: paya window: entry %d (%q) malformed", i, e.EntryID)
		}
		ids[i], cycles[i], payers[i], payees[i], amounts[i] = e.EntryID, e.IntakeCycle, e.PayerBank, e.PayeeBank, e.AmountRial
	}
	tag, err := pool.Exec(ctx, `INSERT INTO paya_window (entry_id, intake_cycle, cycle, payer_bank, payee_bank, amount)
		SELECT e, c, c, p, q, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(e, c, p, q, a)
		ON CONFLICT (entry_id) DO NOTHING`, ids, cycles, payers, payees, amounts)
	if err != nil {
		return 0, fmt.Errorf("postgres: paya window: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PAYAIntakeCounts answers how many entries were accepted into intakeCycle (their rows) and how many of them
// the cycle processor has consumed (its window): equal once the window is complete.
func PAYAIntakeCounts(ctx context.Context, pool *pgxpool.Pool, intakeCycle string) (accepted, consumed int64, err error) {
	err = pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM rail_objects WHERE kind = 'paya.entry' AND body->>'intake_cycle' = $1),
		(SELECT count(*) FROM paya_window WHERE intake_cycle = $1)`, intakeCycle).Scan(&accepted, &consumed)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: paya counts of %s: %w", intakeCycle, err)
	}
	return accepted, consumed, nil
}

// PAYAPair is what a cycle's window moves from one bank's customers to another's.
type PAYAPair struct {
	PayerBank, PayeeBank string
	Entries              int64
	AmountRial           int64
}

// PAYAPairs sums a cycle's window by payer and payee bank, in bank order.
func PAYAPairs(ctx context.Context, pool *pgxpool.Pool, cycle string) ([]PAYAPair, error) {
	rows, err := pool.Query(ctx, `SELECT payer_bank, payee_bank, count(*), sum(amount)::bigint FROM paya_window
		WHERE cycle = $1 GROUP BY 1, 2 ORDER BY 1, 2`, cycle)
	if err != nil {
		return nil, fmt.Errorf("postgres: paya pairs of %s: %w", cycle, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PAYAPair, error) {
		var p PAYAPair
		err := r.Scan(&p.PayerBank, &p.PayeeBank, &p.Entries, &p.AmountRial)
		return p, err
	})
}

// PAYADefer moves a cycle's entries to or from any of banks to the cycle next, in the window and in their
// rows (status deferred, body cycle next), in one transaction, and answers how many entries moved. Entries
// already moved are not there any more, so a repeat moves nothing.
func PAYADefer(ctx context.Context, pool *pgxpool.Pool, now time.Time, cycle, next string, banks []string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE paya_window SET cycle = $2
			WHERE cycle = $1 AND (payer_bank = ANY($3) OR payee_bank = ANY($3))`, cycle, next, banks)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `UPDATE rail_objects SET status = 'deferred', updated_at = $4,
				body = jsonb_set(body || jsonb_build_object('status', 'deferred'), '{cycle}', to_jsonb($2::text))
			WHERE kind = 'paya.entry' AND body->>'cycle' = $1 AND status IN ('accepted', 'deferred')
				AND (body->>'payer_bank' = ANY($3) OR body->>'payee_bank' = ANY($3))`, cycle, next, banks, now.UnixNano())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: paya defer of %s to %s: %w", cycle, next, err)
	}
	return n, nil
}

// PAYAEntries reads entry rows of a cycle (its current one) with one of statuses, by id after after, at most
// limit (RailObjectsMax at most); receiver, when not empty, keeps only the entries it receives.
func PAYAEntries(ctx context.Context, pool *pgxpool.Pool, cycle, receiver string, statuses []string, after string, limit int) ([]RailObject, error) {
	if limit <= 0 || limit > RailObjectsMax {
		limit = RailObjectsMax
	}
	rows, err := pool.Query(ctx, `SELECT id, status, body::text, updated_at FROM rail_objects
		WHERE kind = 'paya.entry' AND body->>'cycle' = $1 AND id > $2 AND status = ANY($3)
			AND ($4 = '' OR body->>'receiving_bank' = $4)
		ORDER BY body->>'cycle', id LIMIT $5`, cycle, after, statuses, receiver, limit)
	var out []RailObject
	err = scanRailObjects(KindPAYAEntry, rows, err, func(o RailObject) { out = append(out, o) })
	return out, err
}

// PAYAEntriesOfFile reads a file's entry rows by id after after, at most limit.
func PAYAEntriesOfFile(ctx context.Context, pool *pgxpool.Pool, file, after string, limit int) ([]RailObject, error) {
	if limit <= 0 || limit > RailObjectsMax {
		limit = RailObjectsMax
	}
	rows, err := pool.Query(ctx, `SELECT id, status, body::text, updated_at FROM rail_objects
		WHERE kind = 'paya.entry' AND body->>'file_id' = $1 AND id > $2
		ORDER BY body->>'file_id', id LIMIT $3`, file, after, limit)
	var out []RailObject
	err = scanRailObjects(KindPAYAEntry, rows, err, func(o RailObject) { out = append(out, o) })
	return out, err
}
