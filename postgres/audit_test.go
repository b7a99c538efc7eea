package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// auditIDs name the rows of the audit's data set; {name} in the SQL and texts below stands for them.
var auditIDs = map[string]string{
	"I":  "0190a000-0000-7000-8000-000000000001", // CBI issuance, ledger 1, allowed negative
	"A":  "0190a000-0000-7000-8000-000000000002", // bank A settlement, ledger 1
	"B":  "0190a000-0000-7000-8000-000000000003", // bank B settlement, ledger 1
	"M":  "0190a000-0000-7000-8000-000000000004", // bank A's mirror in its book, ledger 1017, allowed negative
	"C1": "0190a000-0000-7000-8000-000000000005", // customers of bank A, ledger 1017
	"C2": "0190a000-0000-7000-8000-000000000006",
	"X":  "0190a000-0000-7000-8000-00000000000f", // names nothing

	"T1":     "0190a000-0000-7000-8000-000000000011", // I → A 1000, plain
	"T2":     "0190a000-0000-7000-8000-000000000012", // I → B 1000, plain
	"T3":     "0190a000-0000-7000-8000-000000000013", // A → B 100, plain
	"P1":     "0190a000-0000-7000-8000-000000000014", // A → B 200, pending, posted by POST1
	"P2":     "0190a000-0000-7000-8000-000000000015", // A → B 50, pending, voided by VOID2
	"P3":     "0190a000-0000-7000-8000-000000000016", // B → A 70, pending, active
	"P4":     "0190a000-0000-7000-8000-000000000017", // A → B 30, pending, expired
	"POST1":  "0190a000-0000-7000-8000-000000000018", // posts 150 of P1
	"VOID2":  "0190a000-0000-7000-8000-000000000019", // voids P2
	"T4":     "0190a000-0000-7000-8000-00000000001a", // M → C1 500, plain
	"T5":     "0190a000-0000-7000-8000-00000000001b", // C1 → C2 100, plain, code 40000 (above int16)
	"POST1B": "0190a000-0000-7000-8000-00000000001c", // not in the data set: a second post of P1
	"R1":     "0190a000-0000-7000-8000-000000000021", // a remembered rejection
}

// auditSeed is a small consistent ledger: balances are the sums of the transfers, worked by hand
// (A: debits posted 100 + 150, credits posted 1000, credits pending 70; B: credits posted 1000 + 100 + 150,
// debits pending 70), every ledger balanced, no floor broken, every pending state matching its resolvers.
const auditSeed = `
INSERT INTO accounts (id, ledger, kind, flags, name, debits_pending, debits_posted, credits_pending, credits_posted) VALUES
	({I},  1,    {issuance},   {negative}, 'CBI issuance',      0,  2000, 0,  0),
	({A},  1,    {settlement}, 0,          'bank A settlement', 0,  250,  70, 1000),
	({B},  1,    {settlement}, 0,          'bank B settlement', 70, 0,    0,  1250),
	({M},  1017, {mirror},     {negative}, 'bank A mirror',     0,  500,  0,  0),
	({C1}, 1017, {customer},   0,          'customer 1',        0,  100,  0,  500),
	({C2}, 1017, {customer},   0,          'customer 2',        0,  0,    0,  100);
INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, ts) VALUES
	({T1},    {I},  {A},  1000, 1,    1,     0,         NULL, 1),
	({T2},    {I},  {B},  1000, 1,    1,     0,         NULL, 2),
	({T3},    {A},  {B},  100,  1,    2,     0,         NULL, 3),
	({P1},    {A},  {B},  200,  1,    3,     {pending}, NULL, 4),
	({P2},    {A},  {B},  50,   1,    3,     {pending}, NULL, 5),
	({P3},    {B},  {A},  70,   1,    3,     {pending}, NULL, 6),
	({P4},    {A},  {B},  30,   1,    3,     {pending}, NULL, 7),
	({POST1}, {A},  {B},  150,  1,    3,     {post},    {P1}, 8),
	({VOID2}, {A},  {B},  50,   1,    3,     {void},    {P2}, 9),
	({T4},    {M},  {C1}, 500,  1017, 1,     0,         NULL, 10),
	({T5},    {C1}, {C2}, 100,  1017, 40000, 0,         NULL, 11);
INSERT INTO pending_transfers (id, state) VALUES
	({P1}, {posted}), ({P2}, {voided}), ({P3}, {active}), ({P4}, {expired});
INSERT INTO rejected_transfers (id, result, at) VALUES ({R1}, 'exceeds_balance', 12);`

var auditName = regexp.MustCompile(`\{(\w+)\}`)

// auditExpand replaces each {name} in s: ids by their text (quoted, for SQL), the ledger's constants by
// their values.
func auditExpand(s string, quote bool) string {
	consts := map[string]int{
		"pending": int(ledger.FlagPending), "post": int(ledger.FlagPostPending), "void": int(ledger.FlagVoidPending),
		"net":    int(ledger.FlagNet),
		"active": int(ledger.PendingActive), "posted": int(ledger.PendingPosted), "voided": int(ledger.PendingVoided),
		"expired":  int(ledger.PendingExpired),
		"negative": int(ledger.FlagNegativeAllowed),
		"issuance": int(ledger.KindIssuance), "settlement": int(ledger.KindSettlement), "mirror": int(ledger.KindMirror),
		"customer": int(ledger.KindCustomer),
	}
	return auditName.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		if id, ok := auditIDs[name]; ok {
			if quote {
				return "'" + id + "'"
			}
			return id
		}
		if v, ok := consts[name]; ok {
			return strconv.Itoa(v)
		}
		panic("audit test: unknown name " + m)
	})
}

// auditCorruption is one way stored data can break, applied by SQL to the consistent data set.
type auditCorruption struct {
	name string
	sql  string
	// want is a substring of the finding that names the corruption, and names what it must name besides
	// (an id, or a ledger): both in one finding.
	want, names string
	// recompute is the format, as written in ledger/recompute.go, of the error ledger.Recompute returns on the
	// corrupted data; "" when Recompute does not check it (stored balances, rejections, codes, unknown flags).
	recompute string
	// schema says the schema refuses sql: the audit never sees it.
	schema bool
}

// auditCorruptions are every corruption the audit names. Every error case of ledger.Recompute is one of them
// (TestAuditCoversRecompute): the two are one set of checks.
var auditCorruptions = []auditCorruption{{
	name: "debit account not found", sql: "UPDATE transfers SET debit_account_id = {X} WHERE id = {T3}",
	want: "debit account {X} not found", names: "{T3}", recompute: "debit account %s not found",
}, {
	name: "credit account not found", sql: "UPDATE transfers SET credit_account_id = {X} WHERE id = {T3}",
	want: "credit account {X} not found", names: "{T3}", recompute: "credit account %s not found",
}, {
	name: "accounts same", sql: "UPDATE transfers SET credit_account_id = debit_account_id WHERE id = {T3}",
	want: "debits and credits the same account", names: "{T3}", recompute: "debits and credits the same account",
}, {
	name: "ledger differs from its accounts'", sql: "UPDATE transfers SET ledger = 1017 WHERE id = {T3}",
	want: "crosses ledgers: ledger 1017, accounts in 1 and 1", names: "{T3}", recompute: "ledger %d, accounts in %d and %d",
}, {
	name: "amount zero", sql: "UPDATE transfers SET amount = 0 WHERE id = {T3}",
	want: "amount 0 is not positive", names: "{T3}", recompute: "amount %d",
}, {
	name: "amount negative", sql: "UPDATE transfers SET amount = -1 WHERE id = {T3}",
	recompute: "amount %d", schema: true,
}, {
	name: "pending transfer without a state", sql: "DELETE FROM pending_transfers WHERE id = {P3}",
	want: "has no state row", names: "{P3}", recompute: "pending transfer without a state",
}, {
	name: "state for a plain transfer", sql: "INSERT INTO pending_transfers VALUES ({T3}, {active})",
	want: "which is not a pending transfer", names: "{T3}", recompute: "pending state for %s, which is not a pending transfer",
}, {
	name: "state for no transfer", sql: "INSERT INTO pending_transfers VALUES ({X}, {expired})",
	want: "which is not a pending transfer", names: "{X}", recompute: "pending state for %s, which is not a pending transfer",
}, {
	name: "state zero", sql: "UPDATE pending_transfers SET state = 0 WHERE id = {P3}",
	want: "state 0 out of range", names: "{P3}", recompute: "pending state %d",
}, {
	name: "state above expired", sql: "UPDATE pending_transfers SET state = 5 WHERE id = {P4}",
	want: "state 5 out of range", names: "{P4}", recompute: "pending state %d",
}, {
	name: "post of a missing pending", sql: "UPDATE transfers SET pending_id = {X} WHERE id = {POST1}",
	want: "pending transfer {X} not found", names: "{POST1}", recompute: "pending transfer %s not found",
}, {
	name: "post of a plain transfer", sql: "UPDATE transfers SET pending_id = {T3} WHERE id = {POST1}",
	want: "pending transfer {T3} not found", names: "{POST1}", recompute: "pending transfer %s not found",
}, {
	name: "void without pending_id", sql: "UPDATE transfers SET pending_id = NULL WHERE id = {VOID2}",
	want: "resolves a pending transfer but names none", names: "{VOID2}", recompute: "pending transfer %s not found",
}, {
	name: "post accounts differ", sql: "UPDATE transfers SET credit_account_id = {I} WHERE id = {POST1}",
	want: "accounts differ from pending transfer {P1}", names: "{POST1}", recompute: "accounts differ from pending transfer %s",
}, {
	name: "post exceeds pending", sql: "UPDATE transfers SET amount = 201 WHERE id = {POST1}",
	want: "posts 201 of pending transfer {P1}, which reserved 200", names: "{POST1}",
	recompute: "posts %d of pending transfer %s, which reserved %d",
}, {
	name: "void amount differs", sql: "UPDATE transfers SET amount = 49 WHERE id = {VOID2}",
	want: "voids 49 of pending transfer {P2}, which reserved 50", names: "{VOID2}",
	recompute: "voids %d of pending transfer %s, which reserved %d",
}, {
	name: "post of an active pending", sql: "UPDATE pending_transfers SET state = {active} WHERE id = {P1}",
	want: "posts pending transfer {P1}, whose state is active", names: "{POST1}",
	recompute: "posts pending transfer %s, whose state is %s",
}, {
	name: "void of an expired pending", sql: "UPDATE pending_transfers SET state = {expired} WHERE id = {P2}",
	want: "voids pending transfer {P2}, whose state is expired", names: "{VOID2}",
	recompute: "voids pending transfer %s, whose state is %s",
}, {
	name: "pending resolved twice",
	sql: `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, ts)
		VALUES ({POST1B}, {A}, {B}, 10, 1, 3, {post}, {P1}, 20)`,
	want: "resolves pending transfer {P1}, which {POST1} resolved already", names: "{POST1B}",
	recompute: "resolves pending transfer %s, which %s resolved already",
}, {
	name: "posted with no post", sql: "DELETE FROM transfers WHERE id = {POST1}",
	want: "is posted, but no transfer resolves it", names: "{P1}", recompute: "pending transfer %s is %s, but no transfer resolves it",
}, {
	name: "voided with no void", sql: "DELETE FROM transfers WHERE id = {VOID2}",
	want: "is voided, but no transfer resolves it", names: "{P2}", recompute: "pending transfer %s is %s, but no transfer resolves it",
}, {
	name: "flags pending and post", sql: "UPDATE transfers SET flags = {pending} | {post} WHERE id = {T3}",
	want: "flags 0x6 invalid", names: "{T3}", recompute: "flags %#x",
}, {
	name: "flags unknown bit", sql: "UPDATE transfers SET flags = 256 WHERE id = {T3}",
	want: "flags 0x100 invalid", names: "{T3}",
}, {
	name: "flags top bit", sql: "UPDATE transfers SET flags = -32768 WHERE id = {T3}",
	want: "flags 0x8000 invalid", names: "{T3}",
}, {
	name: "flags net on a pending", sql: "UPDATE transfers SET flags = {pending} | {net} WHERE id = {P3}",
	want: "flags 0x12 invalid", names: "{P3}",
}, {
	name: "recomputed balance passes int64", sql: "UPDATE transfers SET amount = 9223372036854775807 WHERE id = {T3}",
	want: "recomputed balance passes int64", names: "{B}", recompute: "transfer %s: balance of account %s passes int64",
}, {
	name: "recomputed posted + pending passes int64", sql: "UPDATE transfers SET amount = 9223372036854775307 WHERE id = {P3}",
	want: "recomputed posted + pending passes int64", names: "{A}", recompute: "account %s: posted + pending passes int64",
}, {
	name: "stored balance differs", sql: "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = {C2}",
	want: "stored debits posted/pending 0/0 credits 101/0, recomputed 0/0 credits 100/0", names: "{C2}",
}, {
	name: "ledger posted unbalanced", sql: "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = {C2}",
	want: "posted debits 600 <> posted credits 601", names: "ledger 1017:",
}, {
	name: "ledger pending unbalanced", sql: "UPDATE accounts SET debits_pending = debits_pending + 5 WHERE id = {B}",
	want: "pending debits 75 <> pending credits 70", names: "ledger 1:",
}, {
	name: "floor broken", sql: "UPDATE accounts SET flags = 0 WHERE id = {I}",
	want: "must not go negative but has -2000 rial available", names: "{I}",
}, {
	name: "rejection of an applied id", sql: "INSERT INTO rejected_transfers VALUES ({T3}, 'exceeds_balance', 13)",
	want: "names an applied transfer", names: "{T3}",
}, {
	name: "rejection result unknown", sql: "UPDATE rejected_transfers SET result = 'no_such_result' WHERE id = {R1}",
	want: "result 'no_such_result' is not a rejection", names: "{R1}",
}, {
	name: "rejection result ok", sql: "UPDATE rejected_transfers SET result = 'ok' WHERE id = {R1}",
	want: "result 'ok' is not a rejection", names: "{R1}",
}, {
	name: "code above uint16",
	sql:  "ALTER TABLE transfers DROP CONSTRAINT transfers_code_uint16; UPDATE transfers SET code = 65536 WHERE id = {T5}",
	want: "code 65536 outside 0..65535", names: "{T5}",
}, {
	name: "code negative",
	sql:  "ALTER TABLE transfers DROP CONSTRAINT transfers_code_uint16; UPDATE transfers SET code = -1 WHERE id = {T5}",
	want: "code -1 outside 0..65535", names: "{T5}",
}, {
	name: "code refused by the schema", sql: "UPDATE transfers SET code = 65536 WHERE id = {T5}", schema: true,
}, {
	name: "account listed twice", sql: "INSERT INTO accounts (id, ledger, kind, flags, name) VALUES ({A}, 1, {settlement}, 0, 'again')",
	recompute: "account %s listed twice", schema: true,
}, {
	name: "transfer listed twice",
	sql: `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, ts)
		VALUES ({P3}, {B}, {A}, 70, 1, 3, {pending}, NULL, 20)`,
	recompute: "transfer %s listed twice", schema: true,
}}

// auditSeeded is a fresh schema holding the consistent data set.
func auditSeeded(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, _ := pgtest.Schema(t)
	if _, err := pool.Exec(context.Background(), auditExpand(auditSeed, true)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return pool
}

func auditRun(t *testing.T, pool *pgxpool.Pool) postgres.AuditReport {
	t.Helper()
	rep, err := postgres.Audit(context.Background(), pool)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return rep
}

// auditLoad reads the tables into what ledger.Recompute takes.
func auditLoad(t *testing.T, pool *pgxpool.Pool) ([]ledger.Account, []ledger.Transfer, map[ledger.ID]ledger.PendingState) {
	t.Helper()
	ctx := context.Background()
	var accounts []ledger.Account
	rows, err := pool.Query(ctx, `SELECT id, ledger, kind, flags, name, debits_pending, debits_posted, credits_pending,
		credits_posted FROM accounts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a ledger.Account
		var id pgtype.UUID
		var led int64
		var kind int16
		var flags int32
		if err := rows.Scan(&id, &led, &kind, &flags, &a.Name, &a.DebitsPending, &a.DebitsPosted, &a.CreditsPending,
			&a.CreditsPosted); err != nil {
			t.Fatal(err)
		}
		a.ID, a.Ledger, a.Kind, a.Flags = id.Bytes, ledger.LedgerID(led), ledger.AccountKind(kind), ledger.AccountFlags(flags)
		accounts = append(accounts, a)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var transfers []ledger.Transfer
	rows, err = pool.Query(ctx, `SELECT id, debit_account_id, credit_account_id, amount, ledger, flags, pending_id, ts
		FROM transfers ORDER BY ts, id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tr ledger.Transfer
		var id, debit, credit, pending pgtype.UUID
		var led int64
		var flags int16
		if err := rows.Scan(&id, &debit, &credit, &tr.Amount, &led, &flags, &pending, &tr.Timestamp); err != nil {
			t.Fatal(err)
		}
		tr.ID, tr.DebitAccountID, tr.CreditAccountID = id.Bytes, debit.Bytes, credit.Bytes
		tr.Ledger, tr.Flags = ledger.LedgerID(led), ledger.TransferFlags(uint16(flags))
		if pending.Valid {
			tr.PendingID = pending.Bytes
		}
		transfers = append(transfers, tr)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	states := make(map[ledger.ID]ledger.PendingState)
	rows, err = pool.Query(ctx, "SELECT id, state FROM pending_transfers")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id pgtype.UUID
		var state int16
		if err := rows.Scan(&id, &state); err != nil {
			t.Fatal(err)
		}
		states[id.Bytes] = ledger.PendingState(uint8(state))
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return accounts, transfers, states
}

func TestAuditCleanOnConsistentData(t *testing.T) {
	pool := auditSeeded(t)
	rep := auditRun(t, pool)
	if !rep.Clean() || len(rep.Findings) != 0 {
		t.Fatalf("audit of the consistent data set:\n%s", rep)
	}
	if rep.Accounts != 6 || rep.Transfers != 11 || rep.Pending != 1 {
		t.Errorf("counts: got accounts %d, transfers %d, pending %d; want 6, 11, 1", rep.Accounts, rep.Transfers, rep.Pending)
	}
	want := []postgres.LedgerTotals{
		{Ledger: 1, Accounts: 3, DebitsPosted: 2250, CreditsPosted: 2250, DebitsPending: 70, CreditsPending: 70},
		{Ledger: 1017, Accounts: 3, DebitsPosted: 600, CreditsPosted: 600},
	}
	if !slices.Equal(rep.Ledgers, want) {
		t.Errorf("ledgers: got %+v, want %+v", rep.Ledgers, want)
	}
	// The hand-worked balances are what Recompute makes of the transfers, too.
	accounts, transfers, states := auditLoad(t, pool)
	got, err := ledger.Recompute(accounts, transfers, states)
	if err != nil {
		t.Fatalf("Recompute of the consistent data set: %v", err)
	}
	for _, a := range accounts {
		if got[a.ID] != a {
			t.Errorf("account %s: stored %+v, Recompute %+v", a.ID, a, got[a.ID])
		}
	}
}

// TestAuditNamesEveryCorruption applies each corruption to the consistent data set, in a schema of its own,
// and checks that the audit names it, and that ledger.Recompute returns the error the table maps it to.
func TestAuditNamesEveryCorruption(t *testing.T) {
	for _, c := range auditCorruptions {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool := auditSeeded(t)
			_, err := pool.Exec(context.Background(), auditExpand(c.sql, true))
			if c.schema {
				var pg *pgconn.PgError
				if !errors.As(err, &pg) || !strings.HasPrefix(pg.Code, "23") {
					t.Fatalf("%s: got %v, want the schema to refuse it (an integrity constraint violation)", c.sql, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			rep := auditRun(t, pool)
			want, names := auditExpand(c.want, false), auditExpand(c.names, false)
			if !slices.ContainsFunc(rep.Findings, func(f string) bool {
				return strings.Contains(f, want) && strings.Contains(f, names)
			}) {
				t.Errorf("audit: no finding with %q naming %q:\n%s", want, names, rep)
			}
			if rep.Count != int64(len(rep.Findings)) {
				t.Errorf("count %d, findings %d", rep.Count, len(rep.Findings))
			}

			accounts, transfers, states := auditLoad(t, pool)
			_, err = ledger.Recompute(accounts, transfers, states)
			switch {
			case c.recompute == "" && err != nil:
				t.Errorf("Recompute: %v; the table says Recompute does not check this: name its error in recompute", err)
			case c.recompute != "" && (!errors.Is(err, ledger.ErrAudit) || !auditFormat(c.recompute).MatchString(err.Error()) ||
				!strings.Contains(err.Error(), names)):
				t.Errorf("Recompute: got %v, want ErrAudit with %q naming %s", err, c.recompute, names)
			}
		})
	}
}

// auditFormat matches the text a Printf format makes.
func auditFormat(format string) *regexp.Regexp {
	verbs := strings.NewReplacer("%s", ".+", "%d", ".+", "%#x", ".+")
	return regexp.MustCompile(verbs.Replace(regexp.QuoteMeta(format)))
}

// recomputeErrors lists the formats of the errors ledger.Recompute returns, as written in its source: the
// first argument of each call of its bad helper, and of each fmt.Errorf("%w: …") outside that helper (whose
// own format only wraps the others), without the "%w: ".
func recomputeErrors(t *testing.T) []string {
	t.Helper()
	root, err := pgtest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "ledger", "recompute.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	helpers := map[*ast.FuncLit]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if a, ok := n.(*ast.AssignStmt); ok && len(a.Lhs) == 1 && len(a.Rhs) == 1 {
			if id, ok := a.Lhs[0].(*ast.Ident); ok && id.Name == "bad" {
				if f, ok := a.Rhs[0].(*ast.FuncLit); ok {
					helpers[f] = true
				}
			}
		}
		return true
	})
	var formats []string
	literal := func(call *ast.CallExpr) string {
		if len(call.Args) == 0 {
			t.Fatalf("recompute.go: %s without arguments", call.Fun)
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Fatalf("recompute.go: an error whose format is not a literal: list its cases in auditCorruptions by hand")
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if f, ok := n.(*ast.FuncLit); ok && helpers[f] {
			return false
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch fun := call.Fun.(type) {
		case *ast.Ident:
			if fun.Name == "bad" {
				formats = append(formats, literal(call))
			}
		case *ast.SelectorExpr:
			if x, ok := fun.X.(*ast.Ident); ok && x.Name == "fmt" && fun.Sel.Name == "Errorf" {
				if s := literal(call); strings.HasPrefix(s, "%w: ") {
					formats = append(formats, strings.TrimPrefix(s, "%w: "))
				}
			}
		}
		return true
	})
	return formats
}

// TestAuditCoversRecompute keeps the audit and ledger.Recompute one set of checks: every error Recompute can
// return is a corruption the audit is tested to name (or one the schema refuses), and the table names no
// error Recompute has dropped. A new error case in Recompute fails here until the audit checks it too.
func TestAuditCoversRecompute(t *testing.T) {
	formats := recomputeErrors(t)
	if len(formats) < 20 {
		t.Fatalf("found only %d error formats in recompute.go: %q; has its shape changed?", len(formats), formats)
	}
	mapped := map[string]bool{}
	for _, c := range auditCorruptions {
		if c.recompute != "" {
			mapped[c.recompute] = true
		}
	}
	for _, f := range formats {
		if !mapped[f] {
			t.Errorf("ledger.Recompute returns %q, which no audit corruption names: add the check to postgres.Audit "+
				"and a corruption to auditCorruptions", f)
		}
		delete(mapped, f)
	}
	for f := range mapped {
		t.Errorf("auditCorruptions names Recompute error %q, which recompute.go no longer has", f)
	}
}

// TestAuditCountPastFindingsMax breaks more rows than the report lists, across two checks: the list stops at
// AuditFindingsMax and the count stays exact.
func TestAuditCountPastFindingsMax(t *testing.T) {
	pool := auditSeeded(t)
	const rejections, states = postgres.AuditFindingsMax + 17, postgres.AuditFindingsMax / 2
	_, err := pool.Exec(context.Background(), fmt.Sprintf(`
		INSERT INTO rejected_transfers (id, result, at)
			SELECT gen_random_uuid(), 'no_such_result', 20 FROM generate_series(1, %d);
		INSERT INTO pending_transfers (id, state)
			SELECT gen_random_uuid(), %d FROM generate_series(1, %d)`, rejections, ledger.PendingActive, states))
	if err != nil {
		t.Fatal(err)
	}
	rep := auditRun(t, pool)
	if want := int64(rejections + states); rep.Count != want {
		t.Errorf("count: got %d, want %d", rep.Count, want)
	}
	if len(rep.Findings) != postgres.AuditFindingsMax {
		t.Errorf("findings listed: got %d, want %d", len(rep.Findings), postgres.AuditFindingsMax)
	}
	if more := fmt.Sprintf("… and %d more", rejections+states-postgres.AuditFindingsMax); !strings.Contains(rep.String(), more) {
		t.Errorf("report does not say %q:\n%s", more, rep)
	}
}

// auditBenchTransfers is the size of BenchmarkAudit's generated ledger: big enough that the plans are those
// of a large table (hash joins, sorts), small enough to seed in seconds.
const auditBenchTransfers = 200_000

// BenchmarkAudit audits a generated consistent ledger of auditBenchTransfers transfers over 1,000 accounts:
// one in ten pending, a quarter of those in each state, with a post or void for every posted or voided one.
// The balances are set by SQL from the transfers, so this measures the audit, not the checks' truth; it must
// still come out clean.
func BenchmarkAudit(b *testing.B) {
	pool, _ := pgtest.Schema(b)
	ctx := context.Background()
	_, err := pool.Exec(ctx, auditExpand(fmt.Sprintf(`
		CREATE FUNCTION pg_temp.id(prefix int, i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
			$$ SELECT (lpad(to_hex(prefix), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid $$;
		INSERT INTO accounts (id, ledger, kind, flags, name)
			SELECT pg_temp.id(1, i), 1, {settlement}, {negative}, 'bank ' || i FROM generate_series(1, 1000) i;
		INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, ts)
			SELECT pg_temp.id(2, i), pg_temp.id(1, i %% 1000 + 1), pg_temp.id(1, (i + 1 + i / 1000 %% 999) %% 1000 + 1),
				1 + i %% 1000, 1, 0, CASE WHEN i %% 10 = 0 THEN {pending} ELSE 0 END, i
			FROM generate_series(1, %[1]d) i;
		INSERT INTO pending_transfers (id, state)
			SELECT pg_temp.id(2, i), 1 + (i / 10) %% 4 FROM generate_series(10, %[1]d, 10) i;
		INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, ts)
			SELECT pg_temp.id(3, i), t.debit_account_id, t.credit_account_id, t.amount, 1, 0,
				CASE WHEN s.state = {posted} THEN {post} ELSE {void} END, t.id, %[1]d + i
			FROM generate_series(10, %[1]d, 10) i JOIN transfers t ON t.id = pg_temp.id(2, i)
			JOIN pending_transfers s ON s.id = t.id WHERE s.state IN ({posted}, {voided});
		UPDATE accounts a SET debits_posted = r.dpo, debits_pending = r.dp, credits_posted = r.cpo, credits_pending = r.cp
		FROM (SELECT id, sum(dpo) dpo, sum(dp) dp, sum(cpo) cpo, sum(cp) cp FROM (
				SELECT t.debit_account_id id, CASE WHEN t.flags IN (0, {post}) THEN t.amount ELSE 0 END dpo,
					CASE WHEN s.state = {active} THEN t.amount ELSE 0 END dp, 0 cpo, 0 cp
				FROM transfers t LEFT JOIN pending_transfers s ON s.id = t.id
				UNION ALL
				SELECT t.credit_account_id, 0, 0, CASE WHEN t.flags IN (0, {post}) THEN t.amount ELSE 0 END,
					CASE WHEN s.state = {active} THEN t.amount ELSE 0 END
				FROM transfers t LEFT JOIN pending_transfers s ON s.id = t.id) m GROUP BY id) r
		WHERE r.id = a.id;
		ANALYZE`, auditBenchTransfers), true))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := postgres.Audit(ctx, pool)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Clean() {
			b.Fatalf("audit of the generated ledger:\n%s", rep)
		}
	}
}
