package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/rulebook"
)

// generatedBad is what `paya generate` listed on stderr: "ROW:CODE" per bad row, in file order, and the
// payer flags it printed.
func generatedBad(t *testing.T, stderr string) (bad []string, payer []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		switch {
		case strings.HasPrefix(l, "bad "):
			f := strings.Fields(l)
			if len(f) < 4 {
				t.Fatalf("bad line %q", l)
			}
			bad = append(bad, f[1]+":"+f[3])
		case strings.HasPrefix(l, "generated "):
			_, flags, ok := strings.Cut(l, "(validate with ")
			if !ok {
				t.Fatalf("no payer in %q", l)
			}
			flags = strings.TrimSuffix(flags, ")")
			sh, name, _ := strings.Cut(strings.TrimPrefix(flags, "--payer-sheba "), " --payer-name ")
			var n string
			if err := json.Unmarshal([]byte(name), &n); err != nil {
				t.Fatalf("payer name %s: %v", name, err)
			}
			payer = []string{"--payer-sheba", sh, "--payer-name", n}
		default:
			t.Fatalf("unexpected stderr line %q", l)
		}
	}
	return bad, payer
}

// validated runs `paya validate --json` on path and returns its exit code, its report and "ROW:CODE" per
// rejected row.
func validated(t *testing.T, path string, payer []string) (int, *ach.Report, []string) {
	t.Helper()
	code, stdout, stderr := run(t, nil, append([]string{"paya", "validate", path, "--json"}, payer...)...)
	var out struct {
		Refused string      `json:"refused"`
		Report  *ach.Report `json:"report"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Report == nil {
		t.Fatalf("validate --json: %v: %s %s", err, stdout, stderr)
	}
	if out.Refused != "" {
		t.Fatalf("refused: %s", out.Refused)
	}
	var rows []string
	for _, e := range out.Report.Errors {
		rows = append(rows, fmt.Sprintf("%d:%s", e.Row, e.Code))
	}
	return code, out.Report, rows
}

// TestPAYAGenerateThenValidate: a generated file of N rows with K bad ones validates with exactly those K
// rows rejected, with the generator's codes, and N−K accepted; the exit status says whether any was.
func TestPAYAGenerateThenValidate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		format, name string
		rows, bad    int
		exit         int
	}{
		{"csv", "p.csv", 1000, 3, exitInvalid},
		{"csv", "q.csv", 500, 17, exitInvalid},
		{"csv", "clean.csv", 200, 0, exitOK},
		{"nacha", "p.ach", 1000, 3, exitInvalid},
		{"nacha", "q.ach", 300, 9, exitInvalid},
		{"nacha", "clean.ach", 50, 0, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			code, stdout, stderr := run(t, nil, "paya", "generate", "--rows", fmt.Sprint(tc.rows), "--bad", fmt.Sprint(tc.bad),
				"--format", tc.format, "--seed", "11", "-o", path)
			if code != exitOK || stdout != "" {
				t.Fatalf("generate: %d %q %q", code, stdout, stderr)
			}
			bad, payer := generatedBad(t, stderr)
			if len(bad) != tc.bad {
				t.Fatalf("generate listed %d bad rows, want %d", len(bad), tc.bad)
			}
			code, rep, rejected := validated(t, path, payer)
			if code != tc.exit || rep.Rows != tc.rows || rep.Accepted != tc.rows-tc.bad || rep.Rejected != tc.bad {
				t.Errorf("validate: exit %d, %d rows, %d accepted, %d rejected; want exit %d, %d, %d, %d",
					code, rep.Rows, rep.Accepted, rep.Rejected, tc.exit, tc.rows, tc.rows-tc.bad, tc.bad)
			}
			if fmt.Sprint(rejected) != fmt.Sprint(bad) {
				t.Errorf("rejected rows\n got %v\nwant %v", rejected, bad)
			}
			if tc.format != "nacha" {
				return
			}
			// A generated NACHA file reads back with ach.ReadNACHA: every entry, the bad ones flagged or not,
			// is there, and the file is whole.
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n := 0
			sum, err := ach.ReadNACHA(f, ach.NACHAReadOptions{}, func(ach.NACHAEntry) error { n++; return nil })
			if err != nil || n != tc.rows || sum.Entries != tc.rows || sum.Origin != "054" {
				t.Errorf("ReadNACHA: %v, %d entries (%+v), want %d from 054", err, n, sum, tc.rows)
			}
		})
	}
}

// TestPAYAValidateSummary: the human summary names the counts, the codes and the first errors with their
// rows; a file refused as a whole, a missing payer and an unknown profile say so.
func TestPAYAValidateSummary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.csv")
	_, _, stderr := run(t, nil, "paya", "generate", "--rows", "100", "--bad", "2", "--seed", "5", "-o", path)
	bad, payer := generatedBad(t, stderr)
	code, stdout, _ := run(t, nil, append([]string{"paya", "validate", path}, payer...)...)
	if code != exitInvalid {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"100 rows", "accepted  98", "rejected  2", "sheba_invalid", "amount_at_or_over_cap", "per receiving bank:",
		"row " + strings.Split(bad[0], ":")[0] + " sheba", "row " + strings.Split(bad[1], ":")[0] + " amount"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	junk := filepath.Join(dir, "junk.csv")
	if err := os.WriteFile(junk, []byte("who,what\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		exit   int
		stderr string
	}{
		{"refused", append([]string{"paya", "validate", junk}, payer...), exitInvalid, "the file is refused"},
		{"no payer", []string{"paya", "validate", path}, exitUsage, "--payer-sheba and --payer-name are required"},
		{"bad payer", []string{"paya", "validate", path, "--payer-sheba", "IR820540102680020817909003", "--payer-name", "x"}, exitUsage, "--payer-sheba"},
		{"unknown profile", append([]string{"paya", "validate", path, "--rules", "1399"}, payer...), exitUsage, "--rules"},
		{"bad format", append([]string{"paya", "validate", path, "--format", "xlsx"}, payer...), exitUsage, "--format"},
		{"generate: no rows", []string{"paya", "generate"}, exitUsage, "rows 0"},
	} {
		code, _, stderr := run(t, nil, tc.args...)
		if code != tc.exit || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d %q, want %d and %q", tc.name, code, stderr, tc.exit, tc.stderr)
		}
	}
}

// TestPAYAGenerateMillion: a million rows, streamed to a file, every one there.
func TestPAYAGenerateMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a million rows")
	}
	path := filepath.Join(t.TempDir(), "m.csv")
	code, _, stderr := run(t, nil, "paya", "generate", "--rows", "1000000", "--bad", "25", "-o", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if bad, _ := generatedBad(t, stderr); len(bad) != 25 {
		t.Errorf("%d bad rows listed", len(bad))
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
	}
	if sc.Err() != nil || lines != 1_000_001 {
		t.Errorf("%d lines (%v), want the header and 1,000,000 rows", lines, sc.Err())
	}
}

// dryRunBackend is a PAYA backend whose uploads are ach's dry run of the body: enough to drive `paya upload`
// over real HTTP through the API's own routes, before the switch serves PAYA.
type dryRunBackend struct {
	api.PAYABackend
	seen map[string]bool
}

func (b *dryRunBackend) UploadFile(_ context.Context, bank string, req api.PAYAFileRequest, body io.Reader) (api.PAYAFile, bool, error) {
	if !req.DryRun && b.seen[req.Reference] {
		return api.PAYAFile{Bank: bank, Reference: req.Reference, Status: "refused", Code: api.CodeDuplicateFile, OriginalID: "file-" + req.Reference}, false, nil
	}
	p, _ := rulebook.Default().Profile("seed")
	o := ach.Originator{Bank: bank, SHEBA: req.PayerSHEBA, Name: req.PayerName}
	rep, err := ach.DryRunCSV(body, ach.CSVOptions{}, o, ach.Env{Banks: banks.Default(), Profile: p})
	if err != nil {
		return api.PAYAFile{}, false, api.Errorf(api.CodeFileRefused, "%v", err)
	}
	f := api.PAYAFile{Bank: bank, Reference: req.Reference, Format: req.Format, Status: "validated", Report: rep}
	if !req.DryRun {
		b.seen[req.Reference] = true
		f.ID, f.Status = "file-"+req.Reference, "accepted"
	}
	return f, !req.DryRun, nil
}

// TestPAYAUploadCommand: `paya upload` streams a generated file to a server and prints its report; a
// second upload of the reference is refused with the first file's id; an oversized file is refused before
// anything is sent.
func TestPAYAUploadCommand(t *testing.T) {
	s, err := api.New(api.Config{Backend: struct{ api.Backend }{}, Keys: map[string]api.Principal{
		"operator-key-0123456789": {Role: api.RoleOperator}, "bank-054-key-0123456789": {Role: api.RoleBank, Bank: "054"}}})
	if err != nil {
		t.Fatal(err)
	}
	api.RegisterPAYA(s, &dryRunBackend{seen: map[string]bool{}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	home := t.TempDir()
	writeJSON(t, filepath.Join(home, "keys.json"), server.Keys{Operator: "operator-key-0123456789", Banks: map[string]string{"054": "bank-054-key-0123456789"}})
	writeJSON(t, filepath.Join(home, "serve.json"), server.ServeFile{URL: ts.URL})
	env := map[string]string{"TASVIEH_HOME": home}

	path := filepath.Join(home, "p.csv")
	_, _, stderr := run(t, nil, "paya", "generate", "--rows", "300", "--bad", "4", "-o", path)
	_, payer := generatedBad(t, stderr)
	args := append([]string{"paya", "--bank", "054", "upload", path, "--reference", "pay-1404-02"}, payer...)
	code, stdout, stderr := run(t, env, args...)
	if code != exitInvalid || !strings.Contains(stdout, "file file-pay-1404-02  accepted") || !strings.Contains(stdout, "accepted  296") ||
		!strings.Contains(stdout, "rejected  4") {
		t.Errorf("upload: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, env, args...)
	if code != exitInvalid || !strings.Contains(stderr, "by file file-pay-1404-02") {
		t.Errorf("the repeat: exit %d %q", code, stderr)
	}
	code, stdout, _ = run(t, env, append([]string{"paya", "--bank", "054", "upload", path, "--dry-run", "--json"}, payer...)...)
	var pf api.PAYAFile
	if err := json.Unmarshal([]byte(stdout), &pf); code != exitInvalid || err != nil || pf.Status != "validated" || pf.Report == nil || pf.Report.Accepted != 296 {
		t.Errorf("dry run --json: exit %d %v %s", code, err, stdout)
	}
	big := filepath.Join(home, "big.csv")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, api.PAYAFileBytesMax+1); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, env, "paya", "--bank", "054", "upload", big, "--reference", "big")
	if code != exitInvalid || !strings.Contains(stderr, "more than the upload limit") {
		t.Errorf("an oversized file: exit %d %q", code, stderr)
	}
	if code, _, stderr = run(t, env, "paya", "upload", path, "--reference", "x"); code != exitUsage || !strings.Contains(stderr, "--bank") {
		t.Errorf("no --bank: exit %d %q", code, stderr)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestUsageListsPAYA(t *testing.T) {
	if _, _, stderr := run(t, nil, "--help"); !strings.Contains(stderr, "paya ") {
		t.Errorf("the usage does not list paya:\n%s", stderr)
	}
}
