package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SHAHAB's own tables (migration 011): a card-to-card transfer per row of shahab_transfers, written by the
// writer with its money through the statements ShahabInsert and ShahabUpdate build, and the switch's record
// of wrong second PINs per card (ShahabCards).

// ShahabRowsMax bounds one statement's rows: a batch of the switch's decisions.
const ShahabRowsMax = RowsPerRequestMax

// ShahabRow is one transfer's row. Times are unix nanoseconds, 0 for not yet.
type ShahabRow struct {
	ID, SubmittingBank, Reference, Status, Code, Route string
	SourceBank, DestinationBank, SourcePAN, DestPAN    string
	DestName                                           string
	AmountRial, FeeRial, FeeHeldRial                   int64
	Day, Window                                        string
	CreatedAt, AnsweredAt, Deadline                    int64
	LateResult                                         string
	LateAt                                             int64
	LateAction                                         string
	// LateDue is when a slow simulated destination's credit will arrive after the refund (its reversal is
	// then recorded); 0 for none.
	LateDue int64
}

// ShahabInsert is the statement that stores new transfers.
func ShahabInsert(rs []ShahabRow) (Statement, error) {
	if len(rs) == 0 || len(rs) > ShahabRowsMax {
		return Statement{}, fmt.Errorf("postgres: shahab insert of %d transfers, want 1..%d", len(rs), ShahabRowsMax)
	}
	n := len(rs)
	cols := make([][]string, 13)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	nums := make([][]int64, 6)
	for i := range nums {
		nums[i] = make([]int64, n)
	}
	for i, r := range rs {
		if r.ID == "" || r.AmountRial <= 0 || r.Day == "" {
			return Statement{}, fmt.Errorf("postgres: shahab insert: transfer %d (%q) malformed", i, r.ID)
		}
		for j, v := range []string{r.ID, r.SubmittingBank, r.Reference, r.Status, r.Code, r.Route, r.SourceBank,
			r.DestinationBank, r.SourcePAN, r.DestPAN, r.DestName, r.Day, r.Window} {
			cols[j][i] = v
		}
		for j, v := range []int64{r.AmountRial, r.FeeRial, r.FeeHeldRial, r.CreatedAt, r.AnsweredAt, r.Deadline} {
			nums[j][i] = v
		}
	}
	args := make([]any, 0, 19)
	for _, c := range cols {
		args = append(args, c)
	}
	for _, c := range nums {
		args = append(args, c)
	}
	return Statement{SQL: `INSERT INTO shahab_transfers (id, submitting_bank, reference, status, code, route, source_bank,
			destination_bank, source_pan, destination_pan, destination_name, day, window_id, amount, fee, fee_held,
			created_at, answered_at, deadline)
		SELECT * FROM unnest($1::text[]::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int8[], $15::int8[], $16::int8[],
			$17::int8[], $18::int8[], $19::int8[])`, Args: args, Rows: n}, nil
}

// ShahabUpdate is the statement that records answers: status, code, fee, window, times and a late answer.
func ShahabUpdate(rs []ShahabRow) (Statement, error) {
	if len(rs) == 0 || len(rs) > ShahabRowsMax {
		return Statement{}, fmt.Errorf("postgres: shahab update of %d transfers, want 1..%d", len(rs), ShahabRowsMax)
	}
	n := len(rs)
	id, st, code, win, lr, la := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	fee, at, lat, due := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range rs {
		id[i], st[i], code[i], win[i], lr[i], la[i] = r.ID, r.Status, r.Code, r.Window, r.LateResult, r.LateAction
		fee[i], at[i], lat[i], due[i] = r.FeeRial, r.AnsweredAt, r.LateAt, r.LateDue
	}
	return Statement{SQL: `UPDATE shahab_transfers t SET status = u.st, code = u.code, window_id = u.win, fee = u.fee,
			answered_at = u.at, late_result = u.lr, late_at = u.lat, late_action = u.la, late_due = u.due
		FROM unnest($1::text[]::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[], $8::int8[], $9::text[],
			$10::int8[]) AS u(id, st, code, win, fee, at, lr, lat, la, due)
		WHERE t.id = u.id`, Args: []any{id, st, code, win, fee, at, lr, lat, la, due}, Rows: n}, nil
}

// ShahabCard is the switch's record of a card's wrong second PINs.
type ShahabCard struct {
	PAN       string
	WrongPIN2 int
	Blocked   bool
}

// ShahabCardsUpsert is the statement that records cards' wrong second PINs.
func ShahabCardsUpsert(cs []ShahabCard) (Statement, error) {
	if len(cs) == 0 || len(cs) > ShahabRowsMax {
		return Statement{}, fmt.Errorf("postgres: shahab cards: %d cards, want 1..%d", len(cs), ShahabRowsMax)
	}
	pan, wrong, blocked := make([]string, len(cs)), make([]int32, len(cs)), make([]bool, len(cs))
	for i, c := range cs {
		pan[i], wrong[i], blocked[i] = c.PAN, int32(c.WrongPIN2), c.Blocked
	}
	return Statement{SQL: `INSERT INTO shahab_cards (pan, wrong_pin2, blocked)
		SELECT * FROM unnest($1::text[], $2::int4[], $3::bool[])
		ON CONFLICT (pan) DO UPDATE SET wrong_pin2 = excluded.wrong_pin2, blocked = excluded.blocked`,
		Args: []any{pan, wrong, blocked}, Rows: len(cs)}, nil
}

// ShahabCards reads every card the switch has a record of.
func ShahabCards(ctx context.Context, pool *pgxpool.Pool) ([]ShahabCard, error) {
	rows, err := pool.Query(ctx, `SELECT pan, wrong_pin2, blocked FROM shahab_cards`)
	if err != nil {
		return nil, fmt.Errorf("postgres: shahab cards: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ShahabCard, error) {
		var c ShahabCard
		return c, r.Scan(&c.PAN, &c.WrongPIN2, &c.Blocked)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: shahab cards: %w", err)
	}
	return out, nil
}

const shahabColumns = `id::text, submitting_bank, reference, status, code, route, source_bank, destination_bank, source_pan,
	destination_pan, destination_name, amount, fee, fee_held, day, window_id, created_at, answered_at, deadline,
	late_result, late_at, late_action, late_due`

func scanShahab(rows pgx.Rows, err error) ([]ShahabRow, error) {
	if err != nil {
		return nil, fmt.Errorf("postgres: shahab transfers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ShahabRow, error) {
		var t ShahabRow
		err := r.Scan(&t.ID, &t.SubmittingBank, &t.Reference, &t.Status, &t.Code, &t.Route, &t.SourceBank,
			&t.DestinationBank, &t.SourcePAN, &t.DestPAN, &t.DestName, &t.AmountRial, &t.FeeRial, &t.FeeHeldRial,
			&t.Day, &t.Window, &t.CreatedAt, &t.AnsweredAt, &t.Deadline, &t.LateResult, &t.LateAt, &t.LateAction, &t.LateDue)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: shahab transfers: %w", err)
	}
	return out, nil
}

// ShahabByIDs reads the transfers of ids that exist (at most ShahabRowsMax ids).
func ShahabByIDs(ctx context.Context, pool *pgxpool.Pool, ids []string) ([]ShahabRow, error) {
	if len(ids) > ShahabRowsMax {
		return nil, fmt.Errorf("postgres: shahab look-up of %d ids, more than %d", len(ids), ShahabRowsMax)
	}
	rows, err := pool.Query(ctx, `SELECT `+shahabColumns+` FROM shahab_transfers WHERE id = ANY($1::text[]::uuid[])`, ids)
	return scanShahab(rows, err)
}

// ShahabPending reads every transfer still pending (a scan: only at start).
func ShahabPending(ctx context.Context, pool *pgxpool.Pool) ([]ShahabRow, error) {
	rows, err := pool.Query(ctx, `SELECT `+shahabColumns+` FROM shahab_transfers WHERE status = 'pending'`)
	return scanShahab(rows, err)
}

// ShahabLateDue reads the refunded transfers whose slow destination's credit is still to come (a scan: only
// at start).
func ShahabLateDue(ctx context.Context, pool *pgxpool.Pool) ([]ShahabRow, error) {
	rows, err := pool.Query(ctx, `SELECT `+shahabColumns+` FROM shahab_transfers WHERE late_due > 0 AND late_at = 0`)
	return scanShahab(rows, err)
}

// ShahabUsage sums, per source card, what its pending and succeeded transfers created in [from, to) (unix
// ns: a Tehran day) hold.
func ShahabUsage(ctx context.Context, pool *pgxpool.Pool, from, to int64) (map[string]int64, error) {
	day := fmt.Sprintf("[%d, %d)", from, to)
	rows, err := pool.Query(ctx, `SELECT source_pan, sum(amount)::bigint FROM shahab_transfers
		WHERE created_at >= $1 AND created_at < $2 AND status IN ('pending', 'succeeded') GROUP BY 1`, from, to)
	if err != nil {
		return nil, fmt.Errorf("postgres: shahab usage of %s: %w", day, err)
	}
	out := map[string]int64{}
	var pan string
	var sum int64
	_, err = pgx.ForEachRow(rows, []any{&pan, &sum}, func() error { out[pan] = sum; return nil })
	if err != nil {
		return nil, fmt.Errorf("postgres: shahab usage of %s: %w", day, err)
	}
	return out, nil
}

// ShahabLate reads the transfers with a late answer: of day (a Tehran date) or, day empty, of every day,
// newest answer first, at most limit.
func ShahabLate(ctx context.Context, pool *pgxpool.Pool, day string, limit int) ([]ShahabRow, error) {
	rows, err := pool.Query(ctx, `SELECT `+shahabColumns+` FROM shahab_transfers
		WHERE late_at > 0 AND ($1 = '' OR day = $1) ORDER BY late_at DESC LIMIT $2`, day, limit)
	return scanShahab(rows, err)
}

// ShahabList reads a bank's transfers, newest first, after the cursor (before, beforeID: the last one of the
// previous page; 0 and "" for the first page) — a batch's transfers share a time, so the id breaks ties: direction
// submitted, outgoing (its cards the source), incoming (the destination) or all; status empty for any.
func ShahabList(ctx context.Context, pool *pgxpool.Pool, bank, direction, status string, before int64, beforeID string, limit int) ([]ShahabRow, error) {
	if before <= 0 || beforeID == "" {
		before, beforeID = 1<<63-1, "ffffffff-ffff-ffff-ffff-ffffffffffff"
	}
	where := map[string]string{
		"submitted": "submitting_bank = $1",
		"outgoing":  "source_bank = $1",
		"incoming":  "destination_bank = $1",
		"all":       "(submitting_bank = $1 OR source_bank = $1 OR destination_bank = $1)",
	}[direction]
	if where == "" {
		return nil, fmt.Errorf("postgres: shahab list: direction %q", direction)
	}
	rows, err := pool.Query(ctx, `SELECT `+shahabColumns+` FROM shahab_transfers WHERE `+where+`
		AND (created_at < $2 OR created_at = $2 AND id < $5::uuid) AND ($3 = '' OR status = $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`, bank, before, status, limit, beforeID)
	return scanShahab(rows, err)
}
