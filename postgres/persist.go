package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
)

var transferColumns = []string{"id", "debit_account_id", "credit_account_id", "amount", "ledger", "code", "flags",
	"pending_id", "timeout_s", "reference", "ts"}

// persist writes decided batches, in order, in one transaction: the transfers by COPY, the pending states and
// the balances of every touched account each in one statement, and the events by COPY.
func (s *Store) persist(batches []*decided) error {
	ctx := context.Background()
	b, events := merge(batches)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(b.Applied) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"transfers"}, transferColumns, &transferRows{ts: b.Applied, i: -1}); err != nil {
				return fmt.Errorf("copy transfers: %w", err)
			}
		}
		if ids, states := pendingChanges(b); len(ids) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO pending_transfers (id, state)
				SELECT * FROM unnest($1::uuid[], $2::int2[])
				ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state`, ids, states); err != nil {
				return fmt.Errorf("pending states: %w", err)
			}
		}
		if n := len(b.Accounts); n > 0 {
			ids := make([]pgtype.UUID, n)
			dp, dpo, cp, cpo := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			for i, a := range b.Accounts {
				ids[i] = pgUUID(a.ID)
				dp[i], dpo[i], cp[i], cpo[i] = a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted
			}
			tag, err := tx.Exec(ctx, `UPDATE accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo,
					credits_pending = v.cp, credits_posted = v.cpo
				FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) AS v(id, dp, dpo, cp, cpo)
				WHERE a.id = v.id`, ids, dp, dpo, cp, cpo)
			if err != nil {
				return fmt.Errorf("balances: %w", err)
			}
			if tag.RowsAffected() != int64(n) {
				return fmt.Errorf("balances: updated %d accounts, want %d", tag.RowsAffected(), n)
			}
		}
		if len(events) > 0 {
			rows := make([][]any, len(events))
			for i, e := range events {
				rows[i] = []any{e.ID, e.Topic, e.Key, e.Type, e.Payload, e.CreatedAt}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"id", "topic", "key", "type", "payload", "created_at"},
				pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("copy outbox: %w", err)
			}
		}
		return nil
	})
}

// merge joins decided batches into one: transfers and expiries in order, each account once with its latest
// balances (an UPDATE ... FROM would apply only one of several rows for the same account).
func merge(batches []*decided) (ledger.Batch, []outbox.Event) {
	if len(batches) == 1 {
		return batches[0].b, batches[0].events
	}
	var m ledger.Batch
	var events []outbox.Event
	latest := map[ledger.ID]int{}
	for _, d := range batches {
		m.Applied = append(m.Applied, d.b.Applied...)
		m.Expired = append(m.Expired, d.b.Expired...)
		events = append(events, d.events...)
		for _, a := range d.b.Accounts {
			if i, ok := latest[a.ID]; ok {
				m.Accounts[i] = a
				continue
			}
			latest[a.ID] = len(m.Accounts)
			m.Accounts = append(m.Accounts, a)
		}
	}
	return m, events
}

// pendingChanges lists the pending transfers the batch created, posted, voided or expired, with their new state.
func pendingChanges(b ledger.Batch) ([]pgtype.UUID, []int16) {
	var ids []pgtype.UUID
	var states []int16
	for _, id := range b.Expired {
		ids = append(ids, pgUUID(id))
		states = append(states, int16(ledger.PendingExpired))
	}
	for _, t := range b.Applied {
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
	row [11]any
}

func (r *transferRows) Next() bool { r.i++; return r.i < len(r.ts) }
func (r *transferRows) Err() error { return nil }
func (r *transferRows) Values() ([]any, error) {
	t := &r.ts[r.i]
	r.row = [11]any{pgUUID(t.ID), pgUUID(t.DebitAccountID), pgUUID(t.CreditAccountID), t.Amount, int32(t.Ledger),
		int16(t.Code), int16(t.Flags), nullUUID(t.PendingID), t.Timeout, t.Reference, t.Timestamp}
	return r.row[:], nil
}

// restore rebuilds the in-memory ledger from the database.
func restore(ctx context.Context, pool *pgxpool.Pool) (*ledger.Ledger, error) {
	led := ledger.New()
	rows, err := pool.Query(ctx, `SELECT id, ledger, kind, flags, name, debits_pending, debits_posted,
		credits_pending, credits_posted FROM accounts`)
	if err != nil {
		return nil, fmt.Errorf("postgres: restore accounts: %w", err)
	}
	var id pgtype.UUID
	var a ledger.Account
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Ledger, &a.Kind, &a.Flags, &a.Name, &a.DebitsPending, &a.DebitsPosted,
		&a.CreditsPending, &a.CreditsPosted}, func() error {
		a.ID = id.Bytes
		led.RestoreAccount(a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: restore accounts: %w", err)
	}
	rows, err = pool.Query(ctx, `SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code,
		t.flags, t.pending_id, t.timeout_s, t.reference, t.ts, coalesce(p.state, 0)
		FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id ORDER BY t.ts`)
	if err != nil {
		return nil, fmt.Errorf("postgres: restore transfers: %w", err)
	}
	var t ledger.Transfer
	var debit, credit, pending pgtype.UUID
	var state int16
	_, err = pgx.ForEachRow(rows, []any{&id, &debit, &credit, &t.Amount, &t.Ledger, &t.Code, &t.Flags, &pending,
		&t.Timeout, &t.Reference, &t.Timestamp, &state}, func() error {
		t.ID, t.DebitAccountID, t.CreditAccountID, t.PendingID = id.Bytes, debit.Bytes, credit.Bytes, pending.Bytes
		if !pending.Valid {
			t.PendingID = ledger.ID{}
		}
		led.RestoreTransfer(t, ledger.PendingState(state))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: restore transfers: %w", err)
	}
	return led, nil
}
