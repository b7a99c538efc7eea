package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/ledger"
)

// AuditFindingsMax bounds how many discrepancies an audit lists; the counts stay exact.
const AuditFindingsMax = 100

// AuditReport is what an audit found. Clean reports whether no discrepancy was found.
type AuditReport struct {
	Accounts  int64
	Transfers int64
	Pending   int64 // pending transfers still active
	Ledgers   []LedgerTotals
	Findings  []string
	Count     int64 // all findings, listed or not
}

// LedgerTotals are one ledger's sums over its accounts.
type LedgerTotals struct {
	Ledger         ledger.LedgerID
	Accounts       int64
	DebitsPosted   int64
	CreditsPosted  int64
	DebitsPending  int64
	CreditsPending int64
}

// Clean reports whether the audit found nothing wrong.
func (r AuditReport) Clean() bool { return r.Count == 0 }

func (r *AuditReport) find(format string, args ...any) {
	r.Count++
	if len(r.Findings) < AuditFindingsMax {
		r.Findings = append(r.Findings, fmt.Sprintf(format, args...))
	}
}

// String renders the report for people.
func (r AuditReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "accounts %d, transfers %d, pending %d\n", r.Accounts, r.Transfers, r.Pending)
	for _, l := range r.Ledgers {
		fmt.Fprintf(&b, "ledger %d: %d accounts, posted debits %d = credits %d rial, pending debits %d = credits %d rial\n",
			l.Ledger, l.Accounts, l.DebitsPosted, l.CreditsPosted, l.DebitsPending, l.CreditsPending)
	}
	if r.Clean() {
		b.WriteString("audit clean: every balance recomputed from its transfers, every ledger balanced, no floor broken\n")
		return b.String()
	}
	fmt.Fprintf(&b, "audit FAILED: %d discrepancies\n", r.Count)
	for _, f := range r.Findings {
		b.WriteString("  " + f + "\n")
	}
	if int64(len(r.Findings)) < r.Count {
		fmt.Fprintf(&b, "  … and %d more\n", r.Count-int64(len(r.Findings)))
	}
	return b.String()
}

// Audit recomputes every account's balances from the stored transfers alone and compares them with the stored
// balances; checks that every ledger's debits equal its credits (posted and pending), that no account flagged
// must-not-go-negative is below zero, and that every transfer names existing accounts of its own ledger. It
// reads one consistent snapshot (a repeatable-read transaction) and runs in the database, so it scales with the
// tables, not with memory.
func Audit(ctx context.Context, pool *pgxpool.Pool) (AuditReport, error) {
	var r AuditReport
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM transfers),
			(SELECT count(*) FROM pending_transfers WHERE state = $1)`, int16(ledger.PendingActive)).Scan(
			&r.Accounts, &r.Transfers, &r.Pending); err != nil {
			return err
		}
		// Posted movements: plain transfers and posts of pending ones (whose amount is what was posted).
		// Pending movements: pending transfers whose state is still active.
		rows, err := tx.Query(ctx, `
			WITH moves AS (
				SELECT t.debit_account_id AS debit, t.credit_account_id AS credit, t.amount,
					(t.flags & ($1 | $2 | $3)) = 0 OR (t.flags & $2) <> 0 AS posted,
					(t.flags & $1) <> 0 AND p.state = $4 AS pending
				FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id AND (t.flags & $1) <> 0
			), sums AS (
				SELECT debit AS id, sum(amount) FILTER (WHERE posted) AS dpo, sum(amount) FILTER (WHERE pending) AS dp,
					0::numeric AS cpo, 0::numeric AS cp FROM moves GROUP BY debit
				UNION ALL
				SELECT credit, 0, 0, sum(amount) FILTER (WHERE posted), sum(amount) FILTER (WHERE pending)
				FROM moves GROUP BY credit
			), recomputed AS (
				SELECT id, coalesce(sum(dpo), 0) AS dpo, coalesce(sum(dp), 0) AS dp,
					coalesce(sum(cpo), 0) AS cpo, coalesce(sum(cp), 0) AS cp FROM sums GROUP BY id
			)
			SELECT coalesce(a.id, r.id), a.id IS NULL, a.debits_posted, a.debits_pending, a.credits_posted, a.credits_pending,
				coalesce(r.dpo, 0)::int8, coalesce(r.dp, 0)::int8, coalesce(r.cpo, 0)::int8, coalesce(r.cp, 0)::int8
			FROM accounts a FULL JOIN recomputed r ON r.id = a.id
			WHERE a.id IS NULL OR a.debits_posted <> coalesce(r.dpo, 0) OR a.debits_pending <> coalesce(r.dp, 0)
				OR a.credits_posted <> coalesce(r.cpo, 0) OR a.credits_pending <> coalesce(r.cp, 0)`,
			int16(ledger.FlagPending), int16(ledger.FlagPostPending), int16(ledger.FlagVoidPending), int16(ledger.PendingActive))
		if err != nil {
			return err
		}
		var id pgtype.UUID
		var missing bool
		var dpo, dp, cpo, cp pgtype.Int8
		var rdpo, rdp, rcpo, rcp int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &missing, &dpo, &dp, &cpo, &cp, &rdpo, &rdp, &rcpo, &rcp}, func() error {
			if missing {
				r.find("transfers name account %s, which does not exist", ledger.ID(id.Bytes))
				return nil
			}
			r.find("account %s: stored debits posted/pending %d/%d credits %d/%d, recomputed %d/%d credits %d/%d",
				ledger.ID(id.Bytes), dpo.Int64, dp.Int64, cpo.Int64, cp.Int64, rdpo, rdp, rcpo, rcp)
			return nil
		}); err != nil {
			return fmt.Errorf("recompute balances: %w", err)
		}

		rows, err = tx.Query(ctx, `SELECT ledger, count(*), coalesce(sum(debits_posted), 0)::int8, coalesce(sum(credits_posted), 0)::int8,
			coalesce(sum(debits_pending), 0)::int8, coalesce(sum(credits_pending), 0)::int8 FROM accounts GROUP BY ledger ORDER BY ledger`)
		if err != nil {
			return err
		}
		var l LedgerTotals
		if _, err := pgx.ForEachRow(rows, []any{&l.Ledger, &l.Accounts, &l.DebitsPosted, &l.CreditsPosted, &l.DebitsPending, &l.CreditsPending}, func() error {
			r.Ledgers = append(r.Ledgers, l)
			if l.DebitsPosted != l.CreditsPosted {
				r.find("ledger %d: posted debits %d <> posted credits %d", l.Ledger, l.DebitsPosted, l.CreditsPosted)
			}
			if l.DebitsPending != l.CreditsPending {
				r.find("ledger %d: pending debits %d <> pending credits %d", l.Ledger, l.DebitsPending, l.CreditsPending)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("ledger totals: %w", err)
		}

		rows, err = tx.Query(ctx, `SELECT id, credits_posted - debits_posted - debits_pending FROM accounts
			WHERE (flags & $1) = 0 AND debits_posted + debits_pending > credits_posted`, int32(ledger.FlagNegativeAllowed))
		if err != nil {
			return err
		}
		var avail int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &avail}, func() error {
			r.find("account %s must not go negative but has %d rial available", ledger.ID(id.Bytes), avail)
			return nil
		}); err != nil {
			return fmt.Errorf("floors: %w", err)
		}

		rows, err = tx.Query(ctx, `SELECT t.id FROM transfers t
			JOIN accounts d ON d.id = t.debit_account_id JOIN accounts c ON c.id = t.credit_account_id
			WHERE d.ledger <> t.ledger OR c.ledger <> t.ledger LIMIT $1`, AuditFindingsMax)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			r.find("transfer %s crosses ledgers", ledger.ID(id.Bytes))
			return nil
		}); err != nil {
			return fmt.Errorf("ledgers: %w", err)
		}
		return nil
	})
	return r, err
}
