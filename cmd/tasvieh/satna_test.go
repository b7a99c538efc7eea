package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// bootServer starts a switch in-process on a fresh schema, on the simulated clock at start (Jalali, Tehran),
// writing keys.json and serve.json in a home of its own: the client commands find both through TASVIEH_HOME.
func bootServer(t *testing.T, start string) (*server.Server, *pgxpool.Pool, map[string]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	pool, _ := pgtest.Schema(t)
	at, err := server.ParseTime(start)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := server.Open(ctx, server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: at, Seed: 7, Customers: 12, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close) // before the schema's own clean-up, registered earlier
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	return srv, pool, map[string]string{"TASVIEH_HOME": home}
}

// oneLine fails the test unless a failed command said why on exactly one line of stderr, starting with prefix.
func oneLine(t *testing.T, what, stderr, prefix string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, prefix) {
		t.Errorf("%s: stderr %q, want one line starting %q", what, stderr, prefix)
	}
}

// TestSATNAStatementCommand drives `tasvieh satna statement` against a running server: the table, --json and
// --csv tell the same day, the CSV with its opening and closing records and its guarded, quoted references;
// a wrong command line exits 2 and an unreachable server 1, each with one line saying why.
func TestSATNAStatementCommand(t *testing.T) {
	srv, pool, env := bootServer(t, "1404/02/01 09:00") // 2025-04-21
	for _, o := range [][]string{
		{"--bank", "017", "submit", "--reference", `INV-7, "April"`, "--amount", "7,000,000", "--to", "012"},
		{"--bank", "012", "submit", "--reference", "=1+1", "--amount", "2000000", "--to", "017"},
	} {
		if code, out, errs := run(t, env, append([]string{"satna"}, o...)...); code != exitOK {
			t.Fatalf("satna %q: exit %d\n%s%s", o, code, out, errs)
		}
	}

	code, out, errs := run(t, env, "satna", "--bank", "017", "--json", "statement", "1404/02/01")
	var st api.Statement
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || len(st.Movements) != 3 || st.Date != "2025-04-21" {
		t.Fatalf("statement --json: exit %d, %d movements\n%s%s", code, len(st.Movements), out, errs)
	}

	code, out, errs = run(t, env, "satna", "--bank", "017", "statement", "2025-04-21")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != exitOK || len(lines) != 1+1+1+len(st.Movements)+1 {
		t.Fatalf("statement: exit %d, %d lines, want a title, a header, opening, %d movements, closing\n%s%s", code, len(lines), len(st.Movements), out, errs)
	}
	if !strings.HasPrefix(lines[0], "SATNA statement of 017, 1404/02/01 (2025-04-21)") ||
		!strings.Contains(lines[2], "opening") || !strings.Contains(lines[len(lines)-1], "closing") ||
		!strings.Contains(lines[len(lines)-1], groupDigits(st.ClosingRial)) {
		t.Errorf("statement table:\n%s", out)
	}
	for i, m := range st.Movements {
		amount := "+" + groupDigits(m.AmountRial)
		if m.Direction == "debit" {
			amount = "-" + groupDigits(m.AmountRial)
		}
		row := lines[3+i]
		if !strings.HasPrefix(row, m.Jalali) || !strings.Contains(row, amount) || !strings.Contains(row, groupDigits(m.BalanceRial)) ||
			!strings.HasSuffix(row, m.Reference) {
			t.Errorf("row %d %q does not show %s %s balance %d ref %q", i, row, m.Jalali, amount, m.BalanceRial, m.Reference)
		}
	}

	code, out, errs = run(t, env, "satna", "--bank", "017", "statement", "1404/02/01", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != exitOK || err != nil || len(rows) != 3+len(st.Movements) {
		t.Fatalf("statement --csv: exit %d, %d rows (%v)\n%s%s", code, len(rows), err, out, errs)
	}
	if rows[0][0] != "record" || rows[1][0] != "opening" || rows[len(rows)-1][0] != "closing" ||
		rows[1][7] != strconv.FormatInt(st.OpeningRial, 10) || rows[len(rows)-1][7] != strconv.FormatInt(st.ClosingRial, 10) {
		t.Errorf("statement --csv: %q", rows)
	}
	refs := map[string]bool{}
	for i, m := range st.Movements {
		if rows[2+i][3] != m.ID {
			t.Errorf("csv row %d is %s, the JSON's line %s", 2+i, rows[2+i][3], m.ID)
		}
		refs[rows[2+i][9]] = true
	}
	if !refs[`INV-7, "April"`] || !refs["'=1+1"] {
		t.Errorf("references in the CSV %v: want INV-7, \"April\" as one cell and =1+1 guarded", refs)
	}

	for _, c := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"statement", "21-04-2025"}, "tasvieh: satna statement: "},
		{[]string{"statement", "1404/02/01", "--csv", "--json"}, "tasvieh: satna: --csv"},
		{[]string{"list", "--csv"}, "tasvieh: satna: --csv"},
	} {
		code, _, errs := run(t, env, append([]string{"satna", "--bank", "017"}, c.args...)...)
		if code != exitUsage {
			t.Errorf("satna %q: exit %d, want %d", c.args, code, exitUsage)
		}
		oneLine(t, strings.Join(c.args, " "), errs, c.prefix)
	}
	if code, _, errs := run(t, env, "satna", "--bank", "999", "statement", "1404/02/01"); code != exitInvalid {
		t.Errorf("a bank without a key: exit %d, want 1", code)
	} else {
		oneLine(t, "a bank without a key", errs, "tasvieh satna: keys.json has no key")
	}
	if rep, err := postgres.Audit(context.Background(), pool); err != nil || !rep.Clean() {
		t.Errorf("audit: %v\n%s", err, rep)
	}
	srv.Close()
	if code, _, errs := run(t, env, "satna", "--bank", "017", "statement", "1404/02/01", "--csv"); code != exitInvalid {
		t.Errorf("no server: exit %d, want 1", code)
	} else {
		oneLine(t, "no server", errs, "tasvieh satna: no server answers at ")
	}
}
