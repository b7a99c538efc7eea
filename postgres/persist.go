package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/ledger"
)

var transferColumns = []string{"id", "debit_account_id", "credit_account_id", "amount", "ledger", "code", "flags",
	"pending_id", "timeout_s", "reference", "ts", "user_data"}

// persist writes decided batches, in order, in one transaction on the write connection, within WriteTimeout:
// new accounts, flag changes, the transfers by COPY, the pending states, the balances of every touched
// account, the remembered rejections, the events by COPY and the rail rows. Any error means the outcome is
// unknown: the caller crash-stops.
func (s *Store) persist(batches []*decided) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
	defer cancel()
	conn := batches[len(batches)-1].conn
	m := merge(batches)
	h := s.hooks.Load()
	if m.pipelinable() {
		return persistPipelined(ctx, conn, m, h)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit it is a no-op; on error the writer reconnects
	if err := writeBatch(ctx, tx, m); err != nil {
		return err
	}
	if h != nil && h.beforeCommit != nil {
		h.beforeCommit(conn.PgConn().PID())
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if h != nil && h.afterCommit != nil {
		if err := h.afterCommit(); err != nil {
			return fmt.Errorf("commit (test hook): %w", err)
		}
	}
	return nil
}

// merged is several decided batches as one write.
type merged struct {
	created  []ledger.Account
	flags    []accountFlags
	applied  []ledger.Transfer
	expired  []ledger.ID
	rejected []ledger.Rejection
	accounts []ledger.Account // each once, with its latest balances
	events   []eventRow
	rows     []objectRow // each (kind, id) once, its latest version
	stmts    []Statement // in the order their submissions were applied
}

// merge joins decided batches: an UPDATE … FROM or an upsert may touch a row only once per statement, so
// accounts and rows keep their latest version.
func merge(batches []*decided) merged {
	var m merged
	latest := map[ledger.ID]int{}
	type rowKey struct{ kind, id string }
	latestRow := map[rowKey]int{}
	for _, d := range batches {
		m.created = append(m.created, d.created...)
		m.flags = append(m.flags, d.flags...)
		m.applied = append(m.applied, d.b.Applied...)
		m.expired = append(m.expired, d.b.Expired...)
		m.rejected = append(m.rejected, d.b.Rejected...)
		m.events = append(m.events, d.events...)
		m.stmts = append(m.stmts, d.stmts...)
		for _, a := range d.b.Accounts {
			if i, ok := latest[a.ID]; ok {
				m.accounts[i] = a
				continue
			}
			latest[a.ID] = len(m.accounts)
			m.accounts = append(m.accounts, a)
		}
		for _, r := range d.rows {
			k := rowKey{r.kind, r.id}
			if i, ok := latestRow[k]; ok {
				m.rows[i] = r
				continue
			}
			latestRow[k] = len(m.rows)
			m.rows = append(m.rows, r)
		}
	}
	return m
}

func writeBatch(ctx context.Context, tx pgx.Tx, m merged) error {
	if len(m.created) > 0 {
		rows := make([][]any, len(m.created))
		for i, a := range m.created {
			rows[i] = []any{pgUUID(a.ID), int32(a.Ledger), int16(a.Kind), int32(a.Flags), a.Name, nullText(a.ExternalKey)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"id", "ledger", "kind", "flags", "name", "external_key"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("create accounts: %w", err)
		}
	}
	for _, f := range m.flags {
		if _, err := tx.Exec(ctx, "UPDATE accounts SET flags = $2 WHERE id = $1", pgUUID(f.id), int32(f.flags)); err != nil {
			return fmt.Errorf("account flags: %w", err)
		}
	}
	if len(m.applied) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"transfers"}, transferColumns, &transferRows{ts: m.applied, i: -1}); err != nil {
			return fmt.Errorf("copy transfers: %w", err)
		}
	}
	if len(m.applied) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"account_batches"}, []string{"account_id", "ts_first", "ts_last"},
			pgx.CopyFromRows(accountRanges(m.applied))); err != nil {
			return fmt.Errorf("copy account ranges: %w", err)
		}
	}
	if ids, states := pendingChanges(m); len(ids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO pending_transfers (id, state)
			SELECT * FROM unnest($1::uuid[], $2::int2[])
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state`, ids, states); err != nil {
			return fmt.Errorf("pending states: %w", err)
		}
	}
	if n := len(m.accounts); n > 0 {
		sql, args := balancesUpdate(m.accounts)
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("balances: %w", err)
		}
		if tag.RowsAffected() != int64(n) {
			return fmt.Errorf("balances: updated %d accounts, want %d", tag.RowsAffected(), n)
		}
	}
	if len(m.rejected) > 0 {
		rows := make([][]any, len(m.rejected))
		for i, r := range m.rejected {
			rows[i] = []any{pgUUID(r.ID), r.Result.String(), r.At}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rejected_transfers"}, []string{"id", "result", "at"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy rejections: %w", err)
		}
	}
	if len(m.events) > 0 {
		rows := make([][]any, len(m.events))
		for i, e := range m.events {
			rows[i] = []any{e.ID, e.Topic, e.Key, e.Type, e.Payload, e.CreatedAt}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"id", "topic", "key", "type", "payload", "created_at"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy outbox: %w", err)
		}
	}
	if len(m.rows) > 0 {
		sql, args := railRowsUpsert(m.rows)
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("rail rows: %w", err)
		}
	}
	for i, st := range m.stmts {
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("rail statement %d: %w", i, err)
		}
	}
	return nil
}

// pipelinedTransfersMax is the largest write sent as one pipelined round trip of INSERT … SELECT FROM unnest
// statements instead of BEGIN, COPY, COPY, UPDATE, COMMIT. A small write's time is its round trips, and on a
// shared 2-core machine each is a wake-up of the server's backend and of the persister that may wait behind
// other work for milliseconds: at 5,000 transfers/s offered (writes of some 10 transfers) five round trips
// per write put the p99 at 20–30 ms. COPY costs less per row, so large writes keep it; 512 is well under the
// writes at saturation (2,000–8,000 transfers) and well over those at 5,000/s.
const pipelinedTransfersMax = 512

// pipelinable reports whether the write may go as one pipelined round trip: small, and without new accounts
// (rare, and kept on the one path that writes them).
func (m *merged) pipelinable() bool {
	return len(m.applied) <= pipelinedTransfersMax && len(m.created) == 0 && len(m.rejected) <= pipelinedTransfersMax &&
		len(m.events) <= pipelinedTransfersMax
}

// persistPipelined writes m as one pipeline ending in a single Sync: PostgreSQL runs the statements up to a
// Sync as one implicit transaction, committed at the Sync or, on any error, rolled back whole — the same
// all-or-nothing as BEGIN … COMMIT, in one round trip. The test hook before COMMIT runs before the pipeline
// is sent, the last moment the write is not yet on its way.
func persistPipelined(ctx context.Context, conn *pgx.Conn, m merged, h *hooks) error {
	b := &pgx.Batch{}
	var checks []func(pgconn.CommandTag) error
	queue := func(what string, check func(pgconn.CommandTag) error, sql string, args ...any) {
		b.Queue(sql, args...)
		checks = append(checks, func(tag pgconn.CommandTag) error {
			if check != nil {
				if err := check(tag); err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
			}
			return nil
		})
	}
	names := make([]string, 0, 8)
	add := func(what string, check func(pgconn.CommandTag) error, sql string, args ...any) {
		names = append(names, what)
		queue(what, check, sql, args...)
	}
	for _, f := range m.flags {
		add("account flags", nil, "UPDATE accounts SET flags = $2 WHERE id = $1", pgUUID(f.id), int32(f.flags))
	}
	if n := len(m.applied); n > 0 {
		ids, debits, credits, pendings, users := make([]pgtype.UUID, n), make([]pgtype.UUID, n), make([]pgtype.UUID, n),
			make([]pgtype.UUID, n), make([]pgtype.UUID, n)
		amounts, timeouts, tss := make([]int64, n), make([]int64, n), make([]int64, n)
		ledgers, codes := make([]int32, n), make([]int32, n)
		flags := make([]int16, n)
		refs := make([]string, n)
		for i := range m.applied {
			t := &m.applied[i]
			ids[i], debits[i], credits[i] = pgUUID(t.ID), pgUUID(t.DebitAccountID), pgUUID(t.CreditAccountID)
			pendings[i], users[i] = nullUUID(t.PendingID), nullUUID(t.UserData)
			amounts[i], timeouts[i], tss[i] = t.Amount, t.Timeout, t.Timestamp
			ledgers[i], codes[i], flags[i], refs[i] = int32(t.Ledger), int32(t.Code), int16(t.Flags), t.Reference
		}
		add("insert transfers", wantRows(n), `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger,
				code, flags, pending_id, timeout_s, reference, ts, user_data)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::int4[], $6::int4[], $7::int2[],
				$8::uuid[], $9::int8[], $10::text[], $11::int8[], $12::uuid[])`,
			ids, debits, credits, amounts, ledgers, codes, flags, pendings, timeouts, refs, tss, users)
		ranges := accountRanges(m.applied)
		aids, firsts, lasts := make([]pgtype.UUID, len(ranges)), make([]int64, len(ranges)), make([]int64, len(ranges))
		for i, r := range ranges {
			aids[i], firsts[i], lasts[i] = r[0].(pgtype.UUID), r[1].(int64), r[2].(int64)
		}
		add("insert account ranges", wantRows(len(ranges)), `INSERT INTO account_batches (account_id, ts_first, ts_last)
			SELECT * FROM unnest($1::uuid[], $2::int8[], $3::int8[])`, aids, firsts, lasts)
	}
	if ids, states := pendingChanges(m); len(ids) > 0 {
		add("pending states", nil, `INSERT INTO pending_transfers (id, state)
			SELECT * FROM unnest($1::uuid[], $2::int2[])
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state`, ids, states)
	}
	if n := len(m.accounts); n > 0 {
		sql, args := balancesUpdate(m.accounts)
		add("balances", wantRows(n), sql, args...)
	}
	if n := len(m.rejected); n > 0 {
		ids, results, ats := make([]pgtype.UUID, n), make([]string, n), make([]int64, n)
		for i, r := range m.rejected {
			ids[i], results[i], ats[i] = pgUUID(r.ID), r.Result.String(), r.At
		}
		add("insert rejections", wantRows(n), `INSERT INTO rejected_transfers (id, result, at)
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[])`, ids, results, ats)
	}
	if n := len(m.events); n > 0 {
		ids, topics, keys, types := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		payloads, ats := make([][]byte, n), make([]time.Time, n)
		for i, e := range m.events {
			ids[i], topics[i], keys[i], types[i], payloads[i], ats[i] = e.ID, e.Topic, e.Key, e.Type, e.Payload, e.CreatedAt
		}
		// In the order given, as COPY would: the identity seq is the relay's order.
		add("insert outbox", wantRows(n), `INSERT INTO outbox (id, topic, key, type, payload, created_at)
			SELECT id, topic, key, type, payload, created_at
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[])
				WITH ORDINALITY AS e(id, topic, key, type, payload, created_at, ord)
			ORDER BY ord`, ids, topics, keys, types, payloads, ats)
	}
	if len(m.rows) > 0 {
		sql, args := railRowsUpsert(m.rows)
		add("rail rows", nil, sql, args...)
	}
	for i, st := range m.stmts {
		add(fmt.Sprintf("rail statement %d", i), nil, st.SQL, st.Args...)
	}
	if b.Len() == 0 {
		return nil
	}
	if h != nil && h.beforeCommit != nil {
		h.beforeCommit(conn.PgConn().PID())
	}
	br := conn.SendBatch(ctx, b)
	for i, check := range checks {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return fmt.Errorf("pipelined write: %s: %w", names[i], err)
		}
		if err := check(tag); err != nil {
			br.Close()
			return fmt.Errorf("pipelined write: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("pipelined write: commit: %w", err)
	}
	if h != nil && h.afterCommit != nil {
		if err := h.afterCommit(); err != nil {
			return fmt.Errorf("commit (test hook): %w", err)
		}
	}
	return nil
}

// wantRows checks that a statement wrote exactly n rows.
func wantRows(n int) func(pgconn.CommandTag) error {
	return func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != int64(n) {
			return fmt.Errorf("wrote %d rows, want %d", tag.RowsAffected(), n)
		}
		return nil
	}
}

// balancesUpdate is the statement that sets every touched account's balances.
func balancesUpdate(accounts []ledger.Account) (string, []any) {
	n := len(accounts)
	ids := make([]pgtype.UUID, n)
	dp, dpo, cp, cpo := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, a := range accounts {
		ids[i] = pgUUID(a.ID)
		dp[i], dpo[i], cp[i], cpo[i] = a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted
	}
	return `UPDATE accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo,
				credits_pending = v.cp, credits_posted = v.cpo
			FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) AS v(id, dp, dpo, cp, cpo)
			WHERE a.id = v.id`, []any{ids, dp, dpo, cp, cpo}
}

// railRowsUpsert is the statement that upserts the rail rows, each (kind, id) once.
func railRowsUpsert(rows []objectRow) (string, []any) {
	n := len(rows)
	kinds, ids, statuses, bodies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	transfers, ats := make([]pgtype.UUID, n), make([]int64, n)
	for i, r := range rows {
		kinds[i], ids[i], statuses[i], ats[i] = r.kind, r.id, r.status, r.at
		bodies[i] = "{}"
		if len(r.body) > 0 {
			bodies[i] = string(r.body)
		}
		transfers[i] = nullUUID(r.transfer)
	}
	return `INSERT INTO rail_objects (kind, id, status, body, transfer_id, updated_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::uuid[], $6::int8[])
			ON CONFLICT (kind, id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body,
				transfer_id = EXCLUDED.transfer_id, updated_at = EXCLUDED.updated_at`,
		[]any{kinds, ids, statuses, bodies, transfers, ats}
}

// accountRanges gives, for each account the applied transfers touch, the first and last timestamp of its
// transfers among them: the rows of account_batches that lead a look-up to them.
func accountRanges(applied []ledger.Transfer) [][]any {
	type span struct{ first, last int64 }
	spans := make(map[ledger.ID]*span, len(applied))
	var order []ledger.ID
	note := func(id ledger.ID, ts int64) {
		if sp, ok := spans[id]; ok {
			sp.first, sp.last = min(sp.first, ts), max(sp.last, ts)
			return
		}
		spans[id] = &span{ts, ts}
		order = append(order, id)
	}
	for i := range applied {
		note(applied[i].DebitAccountID, applied[i].Timestamp)
		note(applied[i].CreditAccountID, applied[i].Timestamp)
	}
	rows := make([][]any, len(order))
	for i, id := range order {
		sp := spans[id]
		rows[i] = []any{pgUUID(id), sp.first, sp.last}
	}
	return rows
}

// pendingChanges lists the pending transfers the batch created, posted, voided or expired, with their new state.
func pendingChanges(m merged) ([]pgtype.UUID, []int16) {
	var ids []pgtype.UUID
	var states []int16
	for _, id := range m.expired {
		ids = append(ids, pgUUID(id))
		states = append(states, int16(ledger.PendingExpired))
	}
	for _, t := range m.applied {
		switch {
		case t.Flags&ledger.FlagPending != 0:
			ids = append(ids, pgUUID(t.ID))
			states = append(states, int16(ledger.PendingActive))
		case t.Flags&ledger.FlagPostPending != 0:
			ids = append(ids, pgUUID(t.PendingID))
			states = append(states, int16(ledger.PendingPosted))
		case t.Flags&ledger.FlagVoidPending != 0:
			ids = append(ids, pgUUID(t.PendingID))
			states = append(states, int16(ledger.PendingVoided))
		}
	}
	// ON CONFLICT DO UPDATE may not touch one row twice in a statement: keep the last state of each id.
	seen := make(map[[16]byte]int, len(ids))
	outIDs, outStates := ids[:0], states[:0]
	for i, id := range ids {
		if j, ok := seen[id.Bytes]; ok {
			outStates[j] = states[i]
			continue
		}
		seen[id.Bytes] = len(outIDs)
		outIDs = append(outIDs, id)
		outStates = append(outStates, states[i])
	}
	return outIDs, outStates
}

// transferRows feeds COPY without building a [][]any for the whole batch.
type transferRows struct {
	ts  []ledger.Transfer
	i   int
	row [12]any
}

func (r *transferRows) Next() bool { r.i++; return r.i < len(r.ts) }
func (r *transferRows) Err() error { return nil }
func (r *transferRows) Values() ([]any, error) {
	t := &r.ts[r.i]
	r.row = [12]any{pgUUID(t.ID), pgUUID(t.DebitAccountID), pgUUID(t.CreditAccountID), t.Amount, int32(t.Ledger),
		int32(t.Code), int16(t.Flags), nullUUID(t.PendingID), t.Timeout, t.Reference, t.Timestamp, nullUUID(t.UserData)}
	return r.row[:], nil
}

// querier is what restore and the look-ups read through: the write connection or the pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const transferSelect = `SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code, t.flags,
	t.pending_id, t.timeout_s, t.reference, t.ts, t.user_data, coalesce(p.state, 0)
	FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id`

// scanTransfers reads rows of transferSelect, handing each transfer and its pending state to f.
func scanTransfers(rows pgx.Rows, f func(ledger.Transfer, ledger.PendingState)) error {
	var t ledger.Transfer
	var id, debit, credit, pending, user pgtype.UUID
	var code int32
	var state int16
	_, err := pgx.ForEachRow(rows, []any{&id, &debit, &credit, &t.Amount, &t.Ledger, &code, &t.Flags, &pending,
		&t.Timeout, &t.Reference, &t.Timestamp, &user, &state}, func() error {
		if code < 0 || code > math.MaxUint16 {
			return fmt.Errorf("transfer %s: code %d out of range", ledger.ID(id.Bytes), code)
		}
		t.ID, t.DebitAccountID, t.CreditAccountID = id.Bytes, debit.Bytes, credit.Bytes
		t.Code = uint16(code)
		t.PendingID, t.UserData = ledger.ID{}, ledger.ID{}
		if pending.Valid {
			t.PendingID = pending.Bytes
		}
		if user.Valid {
			t.UserData = user.Bytes
		}
		f(t, ledger.PendingState(state))
		return nil
	})
	return err
}

// restore rebuilds the in-memory ledger from the database in one snapshot: every account with its balances,
// every active pending transfer, and the transfers and rejections of the retention window (applied or
// rejected since now - window, or whose UUIDv7 time is that recent) — not every transfer ever stored.
func restore(ctx context.Context, conn *pgx.Conn, now int64, window time.Duration, retainedMax int) (*ledger.Ledger, error) {
	led := ledger.New()
	led.SetRetention(now, int64(window), retainedMax)
	cutoff := now - int64(window)
	err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, ledger, kind, flags, name, coalesce(external_key, ''), debits_pending,
			debits_posted, credits_pending, credits_posted FROM accounts`)
		if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		var id pgtype.UUID
		var a ledger.Account
		if _, err := pgx.ForEachRow(rows, []any{&id, &a.Ledger, &a.Kind, &a.Flags, &a.Name, &a.ExternalKey, &a.DebitsPending,
			&a.DebitsPosted, &a.CreditsPending, &a.CreditsPosted}, func() error {
			a.ID = id.Bytes
			led.RestoreAccount(a)
			return nil
		}); err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		// Three disjoint index scans rather than one OR, which would read the whole table: the window by ts,
		// UUIDv7 ids of the window applied earlier (a far-dated id), and the active pending transfers.
		floor := pgUUID(uuidFloor(cutoff))
		for _, q := range []struct {
			where string
			args  []any
		}{
			{"WHERE t.ts >= $1", []any{cutoff}},
			{"WHERE t.id >= $2 AND " + isV7 + " AND t.ts < $1", []any{cutoff, floor}},
			{"WHERE p.state = $3 AND t.ts < $1 AND NOT (t.id >= $2 AND " + isV7 + ")", []any{cutoff, floor, int16(ledger.PendingActive)}},
		} {
			rows, err := tx.Query(ctx, transferSelect+" "+q.where, q.args...)
			if err != nil {
				return fmt.Errorf("transfers: %w", err)
			}
			if err := scanTransfers(rows, led.RestoreTransfer); err != nil {
				return fmt.Errorf("transfers: %w", err)
			}
		}
		var last int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(ts), 0) FROM transfers").Scan(&last); err != nil {
			return fmt.Errorf("last timestamp: %w", err)
		}
		led.RestoreLast(last)
		rows, err = tx.Query(ctx, "SELECT id, result, at FROM rejected_transfers t WHERE at >= $1 OR id >= $2 AND "+isV7, cutoff, floor)
		if err != nil {
			return fmt.Errorf("rejections: %w", err)
		}
		return scanRejections(rows, led)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: restore: %w", err)
	}
	return led, nil
}

func scanRejections(rows pgx.Rows, led *ledger.Ledger) error {
	var id pgtype.UUID
	var name string
	var at int64
	_, err := pgx.ForEachRow(rows, []any{&id, &name, &at}, func() error {
		r, ok := ledger.ParseResult(name)
		if !ok {
			return fmt.Errorf("rejection %s: unknown result %q", ledger.ID(id.Bytes), name)
		}
		if !led.Holds(id.Bytes) {
			led.RestoreRejected(id.Bytes, r, at)
		}
		return nil
	})
	return err
}

// isV7 is true of a row whose id t.id is a UUIDv7: only those carry their time, so only those need loading for
// their time alone (an id of another version is looked up when it comes again).
const isV7 = "get_byte(uuid_send(t.id), 6) >> 4 = 7"

// uuidFloor is the smallest UUIDv7 of the millisecond of ns: every v7 id at or after that time is >= it.
func uuidFloor(ns int64) ledger.ID {
	var id ledger.ID
	if ns <= 0 {
		return id
	}
	ms := ns / 1_000_000
	for i := 5; i >= 0; i-- {
		id[i] = byte(ms)
		ms >>= 8
	}
	return id
}

// lookUp loads into the ledger the transfers and rejections among ids that the database holds (ids older
// than the retention window, pending transfers the ledger let go).
func lookUp(ctx context.Context, pool *pgxpool.Pool, led *ledger.Ledger, ids []ledger.ID) error {
	arg := make([]pgtype.UUID, len(ids))
	for i, id := range ids {
		arg[i] = pgUUID(id)
	}
	rows, err := pool.Query(ctx, transferSelect+" WHERE t.id = ANY($1)", arg)
	if err != nil {
		return err
	}
	if err := scanTransfers(rows, func(t ledger.Transfer, st ledger.PendingState) {
		if !led.Holds(t.ID) {
			led.RestoreTransfer(t, st)
		}
	}); err != nil {
		return err
	}
	rows, err = pool.Query(ctx, "SELECT id, result, at FROM rejected_transfers WHERE id = ANY($1)", arg)
	if err != nil {
		return err
	}
	return scanRejections(rows, led)
}

func pgUUID(id ledger.ID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

func nullUUID(id ledger.ID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: !id.IsZero()} }

func nullText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }
