package postgres

import (
	"context"
	"fmt"
	"math"
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

// LedgerTotals are one ledger's sums over its accounts' stored balances (saturating at math.MaxInt64, which
// no sound ledger comes near).
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

func (r *AuditReport) add(finding string) {
	r.Count++
	if len(r.Findings) < AuditFindingsMax {
		r.Findings = append(r.Findings, finding)
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
		b.WriteString("audit clean: every transfer and pending state consistent, every balance recomputed from its transfers, every ledger balanced, no floor broken\n")
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

// Audit checks the stored ledger in the database. It and ledger.Recompute are one set of checks, on two
// representations: Recompute over transfers in memory, Audit in SQL over the tables, and Audit checks
// everything Recompute does (the table at auditSources maps each of Recompute's errors to its SQL; a test,
// TestAuditCoversRecompute, fails when Recompute gains an error case that no audit check names). On top of
// those it checks what only stored data can break: the stored balances against the ones recomputed from the
// transfers, every ledger's debits against its credits (posted and pending), the floor of every account
// without ledger.FlagNegativeAllowed, unknown transfer flag bits and FlagNet off a plain transfer, transfer codes
// outside uint16, and the remembered rejections (an id also applied, a result that is no rejection's name).
//
// Where Recompute stops at the first error, Audit reports every finding, in the report's capped list with an
// exact Count. It reads one consistent snapshot (a repeatable-read, read-only transaction), and every check is
// a scan or a hash join or sort in the database, so it scales with the tables, not with memory.
func Audit(ctx context.Context, pool *pgxpool.Pool) (AuditReport, error) {
	var r AuditReport
	args := auditArgs()
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM transfers),
			(SELECT count(*) FROM pending_transfers WHERE state = @active)`, args).Scan(
			&r.Accounts, &r.Transfers, &r.Pending); err != nil {
			return err
		}
		for _, s := range append(auditSources[:len(auditSources):len(auditSources)], bookSources...) {
			if err := r.check(ctx, tx, s, args); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		return r.ledgers(ctx, tx, args)
	})
	if err != nil {
		return AuditReport{}, fmt.Errorf("postgres: audit: %w", err)
	}
	return r, nil
}

// transferFlagsKnown are the transfer flags the ledger defines (ledger's own set is unexported); a flag added
// there must be added here, or the audit reports every transfer carrying it.
const transferFlagsKnown = ledger.FlagLinked | ledger.FlagPending | ledger.FlagPostPending | ledger.FlagVoidPending | ledger.FlagNet

// auditArgs are the values the checks' SQL names: flags, states and limits, taken from package ledger so
// that the SQL cannot drift from the Go.
func auditArgs() pgx.NamedArgs {
	var results []string // every result a remembered rejection may carry: ledger.ParseResult's names, less ok
	for i := range math.MaxUint8 + 1 {
		name := ledger.Result(i).String()
		if res, ok := ledger.ParseResult(name); ok && res == ledger.Result(i) && res != ledger.OK {
			results = append(results, name)
		}
	}
	var states []string // indexed from 1 in SQL, like the states
	for s := ledger.PendingActive; s <= ledger.PendingExpired; s++ {
		states = append(states, s.String())
	}
	return pgx.NamedArgs{
		"pending":  int16(ledger.FlagPending),
		"post":     int16(ledger.FlagPostPending),
		"void":     int16(ledger.FlagVoidPending),
		"net":      int16(ledger.FlagNet),
		"kinds":    int16(ledger.FlagPending | ledger.FlagPostPending | ledger.FlagVoidPending),
		"unknown":  ^int16(transferFlagsKnown),
		"active":   int16(ledger.PendingActive),
		"posted":   int16(ledger.PendingPosted),
		"voided":   int16(ledger.PendingVoided),
		"expired":  int16(ledger.PendingExpired),
		"states":   states,
		"negative": int32(ledger.FlagNegativeAllowed),
		"codemax":  int32(math.MaxUint16),
		"max":      int64(math.MaxInt64),
		"results":  results,
	}
}

// auditSource is one scan of the audit: a FROM clause and the checks made on each of its rows.
type auditSource struct {
	name   string
	from   string
	checks []auditCheck
}

// auditCheck is one check: bad is an SQL condition true of a row that breaks it, finding an SQL text naming
// the row and what is wrong, evaluated for bad rows only.
type auditCheck struct {
	bad     string
	finding string
}

// kind is a transfer's kind: 0 (plain), @pending, @post or @void, or a combination, which flags forbid.
const kind = "(t.flags & @kinds)"

// stateName names the pending state in column col, which may be NULL (no state row) or out of range.
func stateName(col string) string {
	return "CASE WHEN " + col + " IS NULL THEN 'missing' ELSE coalesce((@states::text[])[" + col + "], 'invalid ' || " + col + ") END"
}

// moves are the transfers as Recompute counts them: posted is the amount of a plain transfer or a post
// (whose amount is what was posted), pending the amount of a pending transfer whose state is still active;
// voids, expiries and resolved pending transfers move nothing.
const moves = `(SELECT t.debit_account_id, t.credit_account_id,
		CASE WHEN ` + kind + ` IN (0, @post) THEN t.amount ELSE 0 END AS posted,
		CASE WHEN ` + kind + ` = @pending AND s.state = @active THEN t.amount ELSE 0 END AS pending
	FROM transfers t LEFT JOIN pending_transfers s ON s.id = t.id) m`

// auditSources are the audit's checks, by the table they scan. Each of ledger.Recompute's errors is checked
// here; the comment "Recompute:" on a check quotes the error it corresponds to. Recompute's remaining errors
// cannot happen in the tables: "account %s listed twice" and "transfer %s listed twice" are the primary keys
// of accounts and transfers. Checks without a "Recompute:" comment are of stored data alone.
var auditSources = []auditSource{{
	name: "transfers",
	from: `transfers t
		LEFT JOIN accounts d ON d.id = t.debit_account_id
		LEFT JOIN accounts c ON c.id = t.credit_account_id
		LEFT JOIN pending_transfers s ON s.id = t.id
		LEFT JOIN transfers p ON p.id = t.pending_id AND (p.flags & @pending) <> 0 AND ` + kind + ` IN (@post, @void)
		LEFT JOIN pending_transfers ps ON ps.id = p.id`,
	checks: []auditCheck{{
		// Recompute: "debit account %s not found"
		bad:     "d.id IS NULL",
		finding: "format('transfer %s: debit account %s not found', t.id, t.debit_account_id)",
	}, {
		// Recompute: "credit account %s not found"
		bad:     "c.id IS NULL",
		finding: "format('transfer %s: credit account %s not found', t.id, t.credit_account_id)",
	}, {
		// Recompute: "debits and credits the same account"
		bad:     "t.debit_account_id = t.credit_account_id",
		finding: "format('transfer %s debits and credits the same account %s', t.id, t.debit_account_id)",
	}, {
		// Recompute: "ledger %d, accounts in %d and %d"
		bad:     "d.ledger <> t.ledger OR c.ledger <> t.ledger",
		finding: "format('transfer %s crosses ledgers: ledger %s, accounts in %s and %s', t.id, t.ledger, d.ledger, c.ledger)",
	}, {
		// Recompute: "amount %d"
		bad:     "t.amount <= 0",
		finding: "format('transfer %s: amount %s is not positive', t.id, t.amount)",
	}, {
		// Recompute: "flags %#x" (more than one of pending, post and void). Unknown bits and FlagNet off a plain
		// transfer are what the ledger answers FlagsInvalid to, and only the audit sees them in stored rows.
		bad:     "(t.flags & @unknown) <> 0 OR " + kind + " NOT IN (0, @pending, @post, @void) OR (t.flags & @net) <> 0 AND " + kind + " <> 0",
		finding: "format('transfer %s: flags 0x%s invalid', t.id, to_hex(t.flags & 65535))",
	}, {
		bad:     "t.code NOT BETWEEN 0 AND @codemax",
		finding: "format('transfer %s: code %s outside 0..65535', t.id, t.code)",
	}, {
		// Recompute: "pending transfer without a state"
		bad:     kind + " = @pending AND s.id IS NULL",
		finding: "format('pending transfer %s has no state row', t.id)",
	}, {
		// Recompute: "pending transfer %s not found" (no pending_id, one naming nothing, or a transfer not pending)
		bad: kind + " IN (@post, @void) AND p.id IS NULL",
		finding: `CASE WHEN t.pending_id IS NULL THEN format('transfer %s resolves a pending transfer but names none', t.id)
			ELSE format('transfer %s: pending transfer %s not found', t.id, t.pending_id) END`,
	}, {
		// Recompute: "accounts differ from pending transfer %s"
		bad:     kind + " IN (@post, @void) AND (p.debit_account_id <> t.debit_account_id OR p.credit_account_id <> t.credit_account_id)",
		finding: "format('transfer %s: accounts differ from pending transfer %s', t.id, p.id)",
	}, {
		// Recompute: "posts %d of pending transfer %s, which reserved %d"
		bad:     kind + " = @post AND t.amount > p.amount",
		finding: "format('transfer %s posts %s of pending transfer %s, which reserved %s', t.id, t.amount, p.id, p.amount)",
	}, {
		// Recompute: "voids %d of pending transfer %s, which reserved %d"
		bad:     kind + " = @void AND t.amount <> p.amount",
		finding: "format('transfer %s voids %s of pending transfer %s, which reserved %s', t.id, t.amount, p.id, p.amount)",
	}, {
		// Recompute: "posts pending transfer %s, whose state is %s"
		bad:     kind + " = @post AND p.id IS NOT NULL AND ps.state IS DISTINCT FROM @posted",
		finding: "format('transfer %s posts pending transfer %s, whose state is %s', t.id, p.id, " + stateName("ps.state") + ")",
	}, {
		// Recompute: "voids pending transfer %s, whose state is %s"
		bad:     kind + " = @void AND p.id IS NOT NULL AND ps.state IS DISTINCT FROM @voided",
		finding: "format('transfer %s voids pending transfer %s, whose state is %s', t.id, p.id, " + stateName("ps.state") + ")",
	}},
}, {
	name: "pending states",
	from: "pending_transfers s LEFT JOIN transfers t ON t.id = s.id",
	checks: []auditCheck{{
		// Recompute: "pending state for %s, which is not a pending transfer"
		bad:     "t.id IS NULL OR (t.flags & @pending) = 0",
		finding: "format('pending state for %s, which is not a pending transfer', s.id)",
	}, {
		// Recompute: "pending state %d"
		bad:     "s.state NOT BETWEEN @active AND @expired",
		finding: "format('pending transfer %s: state %s out of range', s.id, s.state)",
	}},
}, {
	// Recompute: "resolves pending transfer %s, which %s resolved already". The first resolver in time is the
	// one that stands, as in Recompute, which reads transfers in the order they were applied.
	name: "resolutions",
	from: `(SELECT t.id, t.pending_id, first_value(t.id) OVER w AS first, row_number() OVER w AS n
		FROM transfers t WHERE ` + kind + ` IN (@post, @void) AND t.pending_id IS NOT NULL
		WINDOW w AS (PARTITION BY t.pending_id ORDER BY t.ts, t.id)) r`,
	checks: []auditCheck{{
		bad:     "r.n > 1",
		finding: "format('transfer %s resolves pending transfer %s, which %s resolved already', r.id, r.pending_id, r.first)",
	}},
}, {
	// Recompute: "pending transfer %s is %s, but no transfer resolves it". A posted pending needs a post and a
	// voided one a void (a resolver of the other kind is reported above, as in the wrong state).
	name: "unresolved",
	from: `pending_transfers s LEFT JOIN transfers t ON t.pending_id = s.id
		AND ` + kind + ` = CASE s.state WHEN @posted THEN @post::int2 WHEN @voided THEN @void::int2 END`,
	checks: []auditCheck{{
		bad:     "s.state IN (@posted, @voided) AND t.id IS NULL",
		finding: "format('pending transfer %s is %s, but no transfer resolves it', s.id, " + stateName("s.state") + ")",
	}},
}, {
	name: "rejections",
	from: "rejected_transfers j LEFT JOIN transfers t ON t.id = j.id",
	checks: []auditCheck{{
		bad:     "t.id IS NOT NULL",
		finding: "format('rejection %s (%s) names an applied transfer', j.id, j.result)",
	}, {
		bad:     "j.result <> ALL (@results::text[])",
		finding: "format('rejection %s: result %L is not a rejection''s ledger.Result name', j.id, j.result)",
	}},
}, {
	// Balances recomputed from the moves, as Recompute does, summed by debit and by credit account apart (two
	// hash aggregates; one scan with two rows a transfer costs three times as much). Sums are numeric, so that
	// a sum past int64 is a finding, not an error.
	name: "balances",
	from: `(SELECT a.id, a.flags, a.debits_posted, a.debits_pending, a.credits_posted, a.credits_pending,
			coalesce(r.dpo, 0) AS rdpo, coalesce(r.dp, 0) AS rdp, coalesce(r.cpo, 0) AS rcpo, coalesce(r.cp, 0) AS rcp
		FROM accounts a LEFT JOIN (
			SELECT id, sum(dpo) AS dpo, sum(dp) AS dp, sum(cpo) AS cpo, sum(cp) AS cp FROM (
				SELECT m.debit_account_id AS id, sum(m.posted) AS dpo, sum(m.pending) AS dp, 0 AS cpo, 0 AS cp
				FROM ` + moves + ` GROUP BY m.debit_account_id
				UNION ALL
				SELECT m.credit_account_id, 0, 0, sum(m.posted), sum(m.pending)
				FROM ` + moves + ` GROUP BY m.credit_account_id) sides
			GROUP BY id) r ON r.id = a.id) b`,
	checks: []auditCheck{{
		bad: "b.debits_posted <> b.rdpo OR b.debits_pending <> b.rdp OR b.credits_posted <> b.rcpo OR b.credits_pending <> b.rcp",
		finding: `format('account %s: stored debits posted/pending %s/%s credits %s/%s, recomputed %s/%s credits %s/%s', b.id,
			b.debits_posted, b.debits_pending, b.credits_posted, b.credits_pending, b.rdpo, b.rdp, b.rcpo, b.rcp)`,
	}, {
		// Recompute: "transfer %s: balance of account %s passes int64"
		bad:     "greatest(b.rdpo, b.rdp, b.rcpo, b.rcp) > @max::int8",
		finding: "format('account %s: recomputed balance passes int64: debits posted/pending %s/%s credits %s/%s', b.id, b.rdpo, b.rdp, b.rcpo, b.rcp)",
	}, {
		// Recompute: "account %s: posted + pending passes int64"
		bad:     "greatest(b.rdpo, b.rdp, b.rcpo, b.rcp) <= @max::int8 AND (b.rdpo + b.rdp > @max::int8 OR b.rcpo + b.rcp > @max::int8)",
		finding: "format('account %s: recomputed posted + pending passes int64: debits %s + %s, credits %s + %s', b.id, b.rdpo, b.rdp, b.rcpo, b.rcp)",
	}, {
		bad:     "(b.flags & @negative) = 0 AND b.debits_posted::numeric + b.debits_pending > b.credits_posted",
		finding: "format('account %s must not go negative but has %s rial available', b.id, b.credits_posted::numeric - b.debits_posted - b.debits_pending)",
	}},
}}

// check runs one source: a single scan whose rows are those breaking at least one check, with one column per
// check holding its finding or NULL.
func (r *AuditReport) check(ctx context.Context, tx pgx.Tx, s auditSource, args pgx.NamedArgs) error {
	cols, conds := make([]string, len(s.checks)), make([]string, len(s.checks))
	for i, c := range s.checks {
		cols[i] = "CASE WHEN " + c.bad + " THEN " + c.finding + " END"
		conds[i] = "(" + c.bad + ")"
	}
	rows, err := tx.Query(ctx, "SELECT "+strings.Join(cols, ",\n")+"\nFROM "+s.from+"\nWHERE "+strings.Join(conds, " OR "), args)
	if err != nil {
		return err
	}
	found := make([]pgtype.Text, len(s.checks))
	dest := make([]any, len(s.checks))
	for i := range found {
		dest[i] = &found[i]
	}
	_, err = pgx.ForEachRow(rows, dest, func() error {
		for _, f := range found {
			if f.Valid {
				r.add(f.String)
			}
		}
		return nil
	})
	return err
}

// ledgers sums every ledger's stored balances: debits must equal credits, posted and pending.
func (r *AuditReport) ledgers(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs) error {
	rows, err := tx.Query(ctx, `SELECT ledger, count(*),
			least(sum(debits_posted), @max::int8)::int8, least(sum(credits_posted), @max::int8)::int8,
			least(sum(debits_pending), @max::int8)::int8, least(sum(credits_pending), @max::int8)::int8,
			CASE WHEN sum(debits_posted) <> sum(credits_posted) THEN
				format('ledger %s: posted debits %s <> posted credits %s', ledger, sum(debits_posted), sum(credits_posted)) END,
			CASE WHEN sum(debits_pending) <> sum(credits_pending) THEN
				format('ledger %s: pending debits %s <> pending credits %s', ledger, sum(debits_pending), sum(credits_pending)) END
		FROM accounts GROUP BY ledger ORDER BY ledger`, args)
	if err != nil {
		return fmt.Errorf("ledger totals: %w", err)
	}
	var l LedgerTotals
	var posted, pending pgtype.Text
	if _, err := pgx.ForEachRow(rows, []any{&l.Ledger, &l.Accounts, &l.DebitsPosted, &l.CreditsPosted,
		&l.DebitsPending, &l.CreditsPending, &posted, &pending}, func() error {
		r.Ledgers = append(r.Ledgers, l)
		for _, f := range []pgtype.Text{posted, pending} {
			if f.Valid {
				r.add(f.String)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("ledger totals: %w", err)
	}
	return nil
}
