package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tasvieh/tasvieh/ledger"
)

// PageTransfersMax bounds one page of an account's transfers.
const PageTransfersMax = 1000

// The look-ups below read the durable state from the database, through the pool: the in-memory ledger belongs
// to the writer goroutine alone, and what it holds may not be written yet. Each is backed by an index.

const accountSelect = `SELECT id, ledger, kind, flags, name, coalesce(external_key, ''), debits_pending, debits_posted,
	credits_pending, credits_posted FROM accounts`

func scanAccount(row pgx.Row) (ledger.Account, bool, error) {
	var a ledger.Account
	var id pgtype.UUID
	err := row.Scan(&id, &a.Ledger, &a.Kind, &a.Flags, &a.Name, &a.ExternalKey, &a.DebitsPending, &a.DebitsPosted,
		&a.CreditsPending, &a.CreditsPosted)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	a.ID = id.Bytes
	return a, err == nil, err
}

// Account reads an account and its durable balances by id (primary key).
func (s *Store) Account(ctx context.Context, id ledger.ID) (ledger.Account, bool, error) {
	return scanAccount(s.pool.QueryRow(ctx, accountSelect+" WHERE id = $1", pgUUID(id)))
}

// AccountByKey reads the account of a ledger with the given external key (a SHEBA, a PAN), by the unique index
// on (ledger, external_key).
func (s *Store) AccountByKey(ctx context.Context, l ledger.LedgerID, key string) (ledger.Account, bool, error) {
	if key == "" {
		return ledger.Account{}, false, nil
	}
	return scanAccount(s.pool.QueryRow(ctx, accountSelect+" WHERE ledger = $1 AND external_key = $2", int32(l), key))
}

// Transfer reads an applied transfer by id (primary key).
func (s *Store) Transfer(ctx context.Context, id ledger.ID) (ledger.Transfer, bool, error) {
	var out ledger.Transfer
	found := false
	rows, err := s.pool.Query(ctx, transferSelect+" WHERE t.id = $1", pgUUID(id))
	if err != nil {
		return out, false, err
	}
	err = scanTransfers(rows, func(t ledger.Transfer, _ ledger.PendingState) { out, found = t, true })
	return out, found, err
}

// PendingState reads the state of a pending transfer (active, posted, voided, expired); false when id names no
// pending transfer.
func (s *Store) PendingState(ctx context.Context, id ledger.ID) (ledger.PendingState, bool, error) {
	var st int16
	err := s.pool.QueryRow(ctx, "SELECT state FROM pending_transfers WHERE id = $1", pgUUID(id)).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return ledger.PendingState(st), err == nil, err
}

// Rejection reads the remembered rejection of an id; false when it was never rejected.
func (s *Store) Rejection(ctx context.Context, id ledger.ID) (ledger.Result, bool, error) {
	var name string
	err := s.pool.QueryRow(ctx, "SELECT result FROM rejected_transfers WHERE id = $1", pgUUID(id)).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	r, ok := ledger.ParseResult(name)
	if !ok {
		return 0, false, fmt.Errorf("postgres: rejection %s: unknown result %q", id, name)
	}
	return r, true, nil
}

// AccountTransfers reads one page of an account's transfers, debits and credits, in time order: those with a
// timestamp after `after` (0 for the first page), at most limit (1..PageTransfersMax). The next page starts
// after the last one's Timestamp (timestamps are unique). It walks the account's rows of account_batches (its
// first and last timestamp in each write, by primary key) from the one holding `after`, and reads each range
// through the transfers_ts index.
func (s *Store) AccountTransfers(ctx context.Context, account ledger.ID, after int64, limit int) ([]ledger.Transfer, error) {
	if limit < 1 || limit > PageTransfersMax {
		return nil, fmt.Errorf("postgres: page of %d transfers: want 1..%d", limit, PageTransfersMax)
	}
	rows, err := s.pool.Query(ctx, accountTransfersSQL, pgUUID(account), after, limit)
	if err != nil {
		return nil, err
	}
	var out []ledger.Transfer
	err = scanTransfers(rows, func(t ledger.Transfer, _ ledger.PendingState) { out = append(out, t) })
	return out, err
}

// accountTransfersSQL pages an account's transfers through its account_batches ranges ($1 account, $2 after
// ts, $3 limit).
const accountTransfersSQL = `SELECT x.* FROM account_batches b CROSS JOIN LATERAL (
			` + transferSelect + ` WHERE t.ts >= b.ts_first AND t.ts <= b.ts_last AND t.ts > $2
				AND (t.debit_account_id = $1 OR t.credit_account_id = $1)) x
		WHERE b.account_id = $1 AND b.ts_last > $2
			AND b.ts_first >= coalesce((SELECT max(ts_first) FROM account_batches WHERE account_id = $1 AND ts_first <= $2), 0)
		ORDER BY b.ts_first, x.ts LIMIT $3`

// AccountPage reads an account and a page of its transfers (as Account and AccountTransfers) in one round
// trip to the server, both in one snapshot (a repeatable-read, read-only transaction): a statement's
// balance always agrees with its page. A statement page is the API's most frequent read.
func (s *Store) AccountPage(ctx context.Context, id ledger.ID, after int64, limit int) (ledger.Account, bool, []ledger.Transfer, error) {
	if limit < 1 || limit > PageTransfersMax {
		return ledger.Account{}, false, nil, fmt.Errorf("postgres: page of %d transfers: want 1..%d", limit, PageTransfersMax)
	}
	var b pgx.Batch
	b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	b.Queue(accountSelect+" WHERE id = $1", pgUUID(id))
	b.Queue(accountTransfersSQL, pgUUID(id), after, limit)
	b.Queue("COMMIT")
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return ledger.Account{}, false, nil, err
	}
	defer conn.Release()
	br := conn.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return ledger.Account{}, false, nil, err
	}
	a, ok, err := scanAccount(br.QueryRow())
	if err != nil {
		return a, ok, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return a, ok, nil, err
	}
	var out []ledger.Transfer
	if err := scanTransfers(rows, func(t ledger.Transfer, _ ledger.PendingState) { out = append(out, t) }); err != nil {
		return a, ok, nil, err
	}
	if _, err := br.Exec(); err != nil {
		return a, ok, nil, err
	}
	return a, ok, out, br.Close()
}

// RailObject is a rail's row as stored.
type RailObject struct {
	Kind, ID, Status string
	Body             []byte
	Transfer         ledger.ID // the transfer whose application wrote this version; zero when untied
	UpdatedAt        int64     // unix ns
}

// RailObject reads a rail's row by (kind, id).
func (s *Store) RailObject(ctx context.Context, kind, id string) (RailObject, bool, error) {
	o := RailObject{Kind: kind, ID: id}
	var tr pgtype.UUID
	err := s.pool.QueryRow(ctx, "SELECT status, body::text, transfer_id, updated_at FROM rail_objects WHERE kind = $1 AND id = $2",
		kind, id).Scan(&o.Status, &o.Body, &tr, &o.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, false, nil
	}
	if tr.Valid {
		o.Transfer = tr.Bytes
	}
	return o, err == nil, err
}
