package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PAYA's own tables and look-ups (migration 009). The cycle processor's inbox (paya_window) is written by the
// Kafka consumer outside the writer: it holds no money, only what the processor has counted into which cycle.
// The entries themselves are rows of paya_entries (migration 010), written by the writer with their money
// through the statements PAYAInsert and PAYAUpdate build.

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

// PAYAIntakeCounts answers how many entries were accepted into intakeCycle and how many of them the cycle
// processor has consumed (its window): equal once the window is complete.
func PAYAIntakeCounts(ctx context.Context, pool *pgxpool.Pool, intakeCycle string) (accepted, consumed int64, err error) {
	err = pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM paya_entries WHERE intake_cycle = $1),
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

// PAYAEntryRow is one entry as paya_entries keeps it: what a cycle changes in columns of their own, the rest
// (the rail's record as accepted) in Body. Times are unix nanoseconds, 0 for none.
type PAYAEntryRow struct {
	ID, Status, Cycle, IntakeCycle, FileID string
	OriginatingBank, ReceivingBank         string
	PayerBank, PayeeBank                   string
	AmountRial                             int64
	PayerDone, PayeeDone                   bool
	SettledAt, AnsweredAt, ReturnDeadline  int64
	ReturnedBy, ReturnCode                 string
	Body                                   []byte // JSON
}

// PAYARowsMax bounds the rows of one PAYAInsert or PAYAUpdate: a submission's statements' bound.
const PAYARowsMax = StatementRowsMax

// PAYAPageMax bounds one read of entries: a cycle's chunk, and some.
const PAYAPageMax = 4096

// PAYAInsert is the statement that stores new entries, for a decision's submission: an id already stored fails
// the batch (the rail looks its ids up first, under its own claim).
func PAYAInsert(rs []PAYAEntryRow) (Statement, error) {
	if len(rs) > PAYARowsMax {
		return Statement{}, fmt.Errorf("postgres: paya insert of %d entries, more than %d", len(rs), PAYARowsMax)
	}
	n := len(rs)
	ids, st, cy, ic, file := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n)
	ob, rb, pb, qb := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	amt, sa, aa, rd := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	pd, qd := make([]bool, n), make([]bool, n)
	by, code, body := make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rs {
		if r.ID == "" || r.AmountRial <= 0 || !json.Valid(r.Body) || !jsonbSafe(r.Body) {
			return Statement{}, fmt.Errorf("postgres: paya insert: entry %d (%q) malformed", i, r.ID)
		}
		ids[i], st[i], cy[i], ic[i] = r.ID, r.Status, r.Cycle, r.IntakeCycle
		if r.FileID != "" {
			f := r.FileID
			file[i] = &f
		}
		ob[i], rb[i], pb[i], qb[i] = r.OriginatingBank, r.ReceivingBank, r.PayerBank, r.PayeeBank
		amt[i], pd[i], qd[i], sa[i], aa[i], rd[i] = r.AmountRial, r.PayerDone, r.PayeeDone, r.SettledAt, r.AnsweredAt, r.ReturnDeadline
		by[i], code[i], body[i] = r.ReturnedBy, r.ReturnCode, string(r.Body)
	}
	return Statement{SQL: `INSERT INTO paya_entries (id, status, cycle, intake_cycle, file_id, originating_bank, receiving_bank,
			payer_bank, payee_bank, amount, payer_done, payee_done, settled_at, answered_at, return_deadline, returned_by, return_code, body)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::int8[], $11::bool[], $12::bool[], $13::int8[], $14::int8[], $15::int8[], $16::text[], $17::text[], $18::jsonb[])`,
		Args: []any{ids, st, cy, ic, file, ob, rb, pb, qb, amt, pd, qd, sa, aa, rd, by, code, body}, Rows: n}, nil
}

// PAYAUpdate is the statement that records what a cycle did to entries stored: their status, legs, times and
// return — columns no index holds, so each row's new version is HOT.
func PAYAUpdate(rs []PAYAEntryRow) (Statement, error) {
	if len(rs) > PAYARowsMax {
		return Statement{}, fmt.Errorf("postgres: paya update of %d entries, more than %d", len(rs), PAYARowsMax)
	}
	n := len(rs)
	ids, st := make([]string, n), make([]string, n)
	pd, qd := make([]bool, n), make([]bool, n)
	sa, aa, rd := make([]int64, n), make([]int64, n), make([]int64, n)
	by, code := make([]string, n), make([]string, n)
	for i, r := range rs {
		ids[i], st[i], pd[i], qd[i], sa[i], aa[i], rd[i], by[i], code[i] = r.ID, r.Status, r.PayerDone, r.PayeeDone,
			r.SettledAt, r.AnsweredAt, r.ReturnDeadline, r.ReturnedBy, r.ReturnCode
	}
	return Statement{SQL: `UPDATE paya_entries e SET status = u.st, payer_done = u.pd, payee_done = u.qd, settled_at = u.sa,
			answered_at = u.aa, return_deadline = u.rd, returned_by = u.rby, return_code = u.code
		FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[], $5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[])
			AS u(id, st, pd, qd, sa, aa, rd, rby, code)
		WHERE e.id = u.id`, Args: []any{ids, st, pd, qd, sa, aa, rd, by, code}, Rows: n}, nil
}

// payaColumns are a PAYAEntryRow's columns, in scanPAYA's order.
const payaColumns = `id, status, cycle, intake_cycle, coalesce(file_id, ''), originating_bank, receiving_bank, payer_bank,
	payee_bank, amount, payer_done, payee_done, settled_at, answered_at, return_deadline, returned_by, return_code, body::text`

func scanPAYA(rows pgx.Rows, err error) ([]PAYAEntryRow, error) {
	if err != nil {
		return nil, fmt.Errorf("postgres: paya entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PAYAEntryRow, error) {
		var e PAYAEntryRow
		var body string
		err := r.Scan(&e.ID, &e.Status, &e.Cycle, &e.IntakeCycle, &e.FileID, &e.OriginatingBank, &e.ReceivingBank, &e.PayerBank,
			&e.PayeeBank, &e.AmountRial, &e.PayerDone, &e.PayeeDone, &e.SettledAt, &e.AnsweredAt, &e.ReturnDeadline,
			&e.ReturnedBy, &e.ReturnCode, &body)
		e.Body = []byte(body)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: paya entries: %w", err)
	}
	return out, nil
}

// PAYAEntry reads one entry.
func PAYAEntry(ctx context.Context, pool *pgxpool.Pool, id string) (PAYAEntryRow, bool, error) {
	rows, err := scanPAYA(pool.Query(ctx, `SELECT `+payaColumns+` FROM paya_entries WHERE id = $1`, id))
	if err != nil || len(rows) == 0 {
		return PAYAEntryRow{}, false, err
	}
	return rows[0], true, nil
}

// PAYAEntriesByID reads the entries of ids (at most PAYAPageMax) that are stored, by id.
func PAYAEntriesByID(ctx context.Context, pool *pgxpool.Pool, ids []string) (map[string]PAYAEntryRow, error) {
	if len(ids) > PAYAPageMax {
		return nil, fmt.Errorf("postgres: paya entries: %d ids, more than %d", len(ids), PAYAPageMax)
	}
	rows, err := scanPAYA(pool.Query(ctx, `SELECT `+payaColumns+` FROM paya_entries WHERE id = ANY($1)`, ids))
	out := make(map[string]PAYAEntryRow, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, err
}

// PAYADefer moves a cycle's entries to or from any of banks to the cycle next, in the window and in their rows
// (status deferred), in one transaction, and answers how many entries moved. Entries moved already are not in
// the cycle any more, so a repeat moves nothing.
func PAYADefer(ctx context.Context, pool *pgxpool.Pool, cycle, next string, banks []string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE paya_window SET cycle = $2
			WHERE cycle = $1 AND (payer_bank = ANY($3) OR payee_bank = ANY($3))`, cycle, next, banks)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `UPDATE paya_entries SET status = 'deferred', cycle = $2
			WHERE cycle = $1 AND status IN ('accepted', 'deferred') AND (payer_bank = ANY($3) OR payee_bank = ANY($3))`,
			cycle, next, banks)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: paya defer of %s to %s: %w", cycle, next, err)
	}
	return n, nil
}

// PAYAEntries reads entries of a cycle (its current one) with one of statuses, by id after after, at most
// limit (PAYAPageMax at most); receiver, when not empty, keeps only the entries it receives.
func PAYAEntries(ctx context.Context, pool *pgxpool.Pool, cycle, receiver string, statuses []string, after string, limit int) ([]PAYAEntryRow, error) {
	if limit <= 0 || limit > PAYAPageMax {
		limit = PAYAPageMax
	}
	return scanPAYA(pool.Query(ctx, `SELECT `+payaColumns+` FROM paya_entries
		WHERE cycle = $1 AND id > $2 AND status = ANY($3) AND ($4 = '' OR receiving_bank = $4)
		ORDER BY cycle, id LIMIT $5`, cycle, after, statuses, receiver, limit))
}

// PAYAEntriesOfFile reads a file's entries by id after after, at most limit.
func PAYAEntriesOfFile(ctx context.Context, pool *pgxpool.Pool, file, after string, limit int) ([]PAYAEntryRow, error) {
	if limit <= 0 || limit > PAYAPageMax {
		limit = PAYAPageMax
	}
	return scanPAYA(pool.Query(ctx, `SELECT `+payaColumns+` FROM paya_entries
		WHERE file_id = $1 AND id > $2 ORDER BY file_id, id LIMIT $3`, file, after, limit))
}

// PAYATally counts a cycle's entries by receiving bank and status.
func PAYATally(ctx context.Context, pool *pgxpool.Pool, cycle string) (map[[2]string]int, error) {
	rows, err := pool.Query(ctx, `SELECT receiving_bank, status, count(*) FROM paya_entries WHERE cycle = $1 GROUP BY 1, 2`, cycle)
	if err != nil {
		return nil, fmt.Errorf("postgres: paya tally of %s: %w", cycle, err)
	}
	out := map[[2]string]int{}
	var bank, status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&bank, &status, &n}, func() error {
		out[[2]string{bank, status}] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: paya tally of %s: %w", cycle, err)
	}
	return out, nil
}
