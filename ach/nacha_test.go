package ach

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	moov "github.com/moov-io/ach"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/sheba"
)

var updateNACHA = flag.Bool("update-nacha", false, "rewrite ach/testdata/nacha/*.ach from WriteNACHA")

// Real SHEBAs published by their banks (testdata/sheba/valid.txt, DOMAIN.md §2).
const (
	shebaParsian  = "IR820540102680020817909002" // 054
	shebaPasargad = "IR550570022080013447370101" // 057
	shebaTosee    = "IR260220170001010001101001" // 022
)

var tehran = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Tehran")
	if err != nil {
		return time.FixedZone("IRST", 3*3600+1800)
	}
	return loc
}()

// testHeader is the header of the files these tests write: Parsian (054) uploads to the CBI.
func testHeader() NACHAHeader {
	return NACHAHeader{
		Origin: "054", Destination: "010",
		Created:     time.Date(2025, 3, 1, 9, 30, 0, 0, tehran),
		Description: "PAYROLL",
	}
}

// writeAll writes entries with WriteNACHA and returns each file's bytes.
func writeAll(t testing.TB, h NACHAHeader, es []NACHAEntry) ([][]byte, []NACHASummary) {
	t.Helper()
	var bufs []*bytes.Buffer
	next := func(i int) (io.Writer, error) {
		if i != len(bufs) {
			t.Fatalf("next(%d) after %d files", i, len(bufs))
		}
		b := &bytes.Buffer{}
		bufs = append(bufs, b)
		return b, nil
	}
	sums, err := WriteNACHA(next, h, es)
	if err != nil {
		t.Fatalf("WriteNACHA: %v", err)
	}
	if len(sums) != len(bufs) {
		t.Fatalf("WriteNACHA gave %d summaries for %d files", len(sums), len(bufs))
	}
	out := make([][]byte, len(bufs))
	for i, b := range bufs {
		out[i] = b.Bytes()
	}
	return out, sums
}

// readAll reads one file and returns its entries.
func readAllNACHA(t testing.TB, data []byte, opts NACHAReadOptions) ([]NACHAEntry, NACHASummary, error) {
	t.Helper()
	var es []NACHAEntry
	sum, err := ReadNACHA(bytes.NewReader(data), opts, func(e NACHAEntry) error {
		es = append(es, e)
		return nil
	})
	return es, sum, err
}

// mustRead reads a file that must be well formed.
func mustRead(t testing.TB, data []byte) ([]NACHAEntry, NACHASummary) {
	t.Helper()
	es, sum, err := readAllNACHA(t, data, NACHAReadOptions{Directory: banks.Default()})
	if err != nil {
		t.Fatalf("ReadNACHA: %v", err)
	}
	return es, sum
}

// sameEntry compares what a round trip must keep.
func sameEntry(got, want NACHAEntry, defaultOrigin string) error {
	origin := want.OriginBank
	if origin == "" {
		origin = defaultOrigin
	}
	switch {
	case got.Problem != nil:
		return fmt.Errorf("rejected: %v", got.Problem)
	case got.SHEBA != want.SHEBA:
		return fmt.Errorf("sheba %q, want %q", got.SHEBA, want.SHEBA)
	case got.AmountRial != want.AmountRial:
		return fmt.Errorf("amount %d, want %d", got.AmountRial, want.AmountRial)
	case got.Debit != want.Debit:
		return fmt.Errorf("debit %v, want %v", got.Debit, want.Debit)
	case got.Name != strings.TrimSpace(want.Name):
		return fmt.Errorf("name %q, want %q", got.Name, strings.TrimSpace(want.Name))
	case got.Reference != strings.TrimSpace(want.Reference):
		return fmt.Errorf("reference %q, want %q", got.Reference, want.Reference)
	case got.OriginBank != origin:
		return fmt.Errorf("origin bank %q, want %q", got.OriginBank, origin)
	}
	return nil
}

func TestNACHARouting(t *testing.T) {
	tests := []struct{ code, want string }{
		{"010", "000000107"}, // CBI: 1×3 = 3 → 7
		{"012", "000000123"}, // Mellat: 1×3 + 2×7 = 17 → 3
		{"017", "000000178"}, // Melli: 1×3 + 7×7 = 52 → 8
		{"054", "000000547"}, // Parsian: 5×3 + 4×7 = 43 → 7
		{"095", "000000958"}, // 9×3 + 5×7 = 62 → 8
		{"000", "000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := NACHARouting(tt.code)
			if err != nil || got != tt.want {
				t.Fatalf("NACHARouting(%q) = %q, %v; want %q", tt.code, got, err, tt.want)
			}
			code, err := ParseNACHARouting(got)
			if err != nil || code != tt.code {
				t.Fatalf("ParseNACHARouting(%q) = %q, %v; want %q", got, code, err, tt.code)
			}
		})
	}
}

// TestNACHACheckDigitRealABA checks the ABA arithmetic on real American routing numbers, whose
// check digits their banks computed.
func TestNACHACheckDigitRealABA(t *testing.T) {
	for _, rtn := range []string{
		"021000021", // JPMorgan Chase, New York
		"011000015", // Federal Reserve Bank of Boston
		"122105278", // Wells Fargo, California
		"111000025", // Bank of America, Texas
		"026009593", // Bank of America, New York
	} {
		if got := nachaCheckDigit(rtn[:8]); got != int(rtn[8]-'0') {
			t.Errorf("check digit of %s = %d, want %c", rtn, got, rtn[8])
		}
		if err := moov.CheckRoutingNumber(rtn); err != nil {
			t.Errorf("moov-io/ach rejects %s: %v", rtn, err)
		}
	}
}

// TestNACHARoutingEveryCode checks all 1000 codes against moov-io/ach's own check digit, and
// that each of the nine wrong check digits is reported as such.
func TestNACHARoutingEveryCode(t *testing.T) {
	for n := range 1000 {
		code := fmt.Sprintf("%03d", n)
		r, err := NACHARouting(code)
		if err != nil {
			t.Fatalf("NACHARouting(%q): %v", code, err)
		}
		if want := moov.CalculateCheckDigit(r); int(r[8]-'0') != want {
			t.Fatalf("NACHARouting(%q) = %s, moov-io/ach's check digit is %d", code, r, want)
		}
		for d := byte('0'); d <= '9'; d++ {
			if d == r[8] {
				continue
			}
			bad := r[:8] + string(d)
			_, err := ParseNACHARouting(bad)
			if !errors.Is(err, ErrNACHACheckDigit) {
				t.Fatalf("ParseNACHARouting(%s) = %v, want ErrNACHACheckDigit", bad, err)
			}
		}
	}
}

func TestNACHARoutingErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
		msg  string
	}{
		{"000000179", ErrNACHACheckDigit, "9, want 8"},
		{"00000017", ErrNACHARouting, "want 9 digits"},
		{"0000001780", ErrNACHARouting, "want 9 digits"},
		{"00000017X", ErrNACHARouting, "want 9 digits"},
		{"021000021", ErrNACHARouting, "starts with 00000"}, // a valid ABA number, but no PAYA bank
		{"", ErrNACHARouting, "want 9 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseNACHARouting(tt.in)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ParseNACHARouting(%q) = %v, want %v with %q", tt.in, err, tt.want, tt.msg)
			}
		})
	}
	for _, code := range []string{"17", "0170", "01a", ""} {
		if _, err := NACHARouting(code); !errors.Is(err, ErrNACHARouting) {
			t.Errorf("NACHARouting(%q) = %v, want ErrNACHARouting", code, err)
		}
	}
}

// payroll is a small payroll of Persian and Latin names, credits and a debit.
func payroll(t testing.TB) []NACHAEntry {
	t.Helper()
	gen := func(code, account string) string {
		x, err := sheba.Generate(code, 0, account)
		if err != nil {
			t.Fatal(err)
		}
		return x.String()
	}
	return []NACHAEntry{
		{SHEBA: shebaParsian, AmountRial: 149_999_999, Name: "علی‌رضا محمدی", Reference: "PAY-1403-12-01"}, // with a ZWNJ
		{SHEBA: shebaPasargad, AmountRial: 85_000_000, Name: "فاطمه حسینی‌نژاد"},
		{SHEBA: shebaTosee, AmountRial: 1, Name: "ACME Trading Co.", Reference: "INV 77"},
		{SHEBA: gen("017", "123456789"), AmountRial: 12_345_678, Name: "  محمد رضایی  ", Debit: true, Reference: "LOAN-9"},
		// A name of exactly NACHANameMax characters.
		{SHEBA: gen("012", "987654321012345678"), AmountRial: 9_999_999_999, Name: strings.Repeat("ن", NACHANameMax)},
		{SHEBA: gen("054", "42"), AmountRial: 700_000, Name: "0", Reference: ""}, // an ASCII name of zeros
	}
}

func TestNACHARoundTripPersian(t *testing.T) {
	in := payroll(t)
	files, sums := writeAll(t, testHeader(), in)
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	got, sum := mustRead(t, files[0])
	if len(got) != len(in) {
		t.Fatalf("read %d entries, want %d", len(got), len(in))
	}
	var credit, debit int64
	for i := range in {
		if err := sameEntry(got[i], in[i], "054"); err != nil {
			t.Errorf("entry %d: %v", i+1, err)
		}
		if want := 3 + 2*i; got[i].Line != want { // file header, batch header, then entry and addenda pairs
			t.Errorf("entry %d on line %d, want %d", i+1, got[i].Line, want)
		}
		if in[i].Debit {
			debit += in[i].AmountRial
		} else {
			credit += in[i].AmountRial
		}
	}
	want := NACHASummary{Origin: "054", Destination: "010", Lines: 20, Batches: 1, Entries: len(in), CreditRial: credit, DebitRial: debit}
	if sum != want || sums[0] != want {
		t.Errorf("summary read %+v, written %+v; want %+v", sum, sums[0], want)
	}

	lines := strings.Split(strings.TrimSuffix(string(files[0]), "\n"), "\n")
	if len(lines)%10 != 0 {
		t.Errorf("%d lines, want whole blocks of 10", len(lines))
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n != 94 {
			t.Errorf("line %d has %d characters, want 94", i+1, n)
		}
		if l[0] != '7' {
			for _, r := range l {
				if r >= utf8.RuneSelf {
					t.Errorf("line %d is not ASCII: %q", i+1, l)
					break
				}
			}
		}
	}
	// The individual name: the placeholder for Persian, the name itself for ASCII.
	individual := func(line string) string { return strings.TrimSpace(line[54:76]) }
	for i, want := range map[int]string{0: nachaPlaceholder, 2: "ACME Trading Co.", 4: nachaPlaceholder, 5: nachaPlaceholder} {
		if got := individual(lines[2+2*i]); got != want {
			t.Errorf("entry %d: individual name %q, want %q", i+1, got, want)
		}
	}
	if !strings.HasPrefix(lines[3], "705"+shebaParsian+" علی‌رضا محمدی ") {
		t.Errorf("addenda of entry 1 is %q, want 705, the SHEBA, a space and the name", lines[3])
	}

	// moov-io/ach's own reader takes the file and finds it valid (UTF-8 allowed for the addenda).
	r := moov.NewReader(bytes.NewReader(files[0]))
	r.SetValidation(&moov.ValidateOpts{AllowSpecialCharacters: true})
	f, err := r.Read()
	if err != nil {
		t.Fatalf("moov-io/ach reads the file: %v", err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("moov-io/ach validates the file: %v", err)
	}
	if f.Control.TotalCreditEntryDollarAmountInFile != int(credit) || f.Control.TotalDebitEntryDollarAmountInFile != int(debit) {
		t.Errorf("moov-io/ach reads totals %d / %d, want %d / %d", f.Control.TotalCreditEntryDollarAmountInFile, f.Control.TotalDebitEntryDollarAmountInFile, credit, debit)
	}
	if sc := f.Batches[0].GetHeader().ServiceClassCode; sc != moov.MixedDebitsAndCredits {
		t.Errorf("service class %d, want 200 for credits and a debit", sc)
	}
}

// TestNACHAGolden keeps the bytes WriteNACHA produces for the payroll: a change of layout shows
// up here. Run with -update-nacha to rewrite the fixture after a deliberate change.
func TestNACHAGolden(t *testing.T) {
	files, _ := writeAll(t, testHeader(), payroll(t))
	path := filepath.Join("testdata", "nacha", "payroll.ach")
	if *updateNACHA {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, files[0], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ach -run TestNACHAGolden -update-nacha to create it)", err)
	}
	if !bytes.Equal(files[0], want) {
		t.Errorf("WriteNACHA's output differs from %s:\n%s\nwant:\n%s", path, files[0], want)
	}
	got, _ := mustRead(t, want)
	for i, e := range payroll(t) {
		if err := sameEntry(got[i], e, "054"); err != nil {
			t.Errorf("fixture entry %d: %v", i+1, err)
		}
	}
}

// rawEntry is an entry for moovFile, which writes files with moov-io/ach alone, bypassing its
// validation, so that tests can make files the profile (or NACHA) rejects, with controls that
// moov-io/ach computed.
type rawEntry struct {
	x        string // the SHEBA the routing and account fields default to
	code     int
	rdfi     string // 9 digits; empty: the SHEBA's bank
	account  string // empty: the SHEBA's last 17 digits
	amount   int
	name     string // individual name; empty: "NAME"
	addenda  []string
	noIndic  bool // addenda indicator 0
	addendaT string
}

func good(x, name string, amount int) rawEntry {
	return rawEntry{x: x, code: NACHACredit, amount: amount, addenda: []string{x + " " + name}}
}

// moovFile writes one PPD batch of the given service class with moov-io/ach.
func moovFile(t testing.TB, serviceClass int, es []rawEntry) []byte {
	t.Helper()
	skip := &moov.ValidateOpts{SkipAll: true}
	fh := moov.NewFileHeader()
	fh.ImmediateDestination = "000000107"
	fh.ImmediateOrigin = "000000547"
	fh.FileCreationDate = "250301"
	fh.FileCreationTime = "0930"
	fh.ImmediateDestinationName = "Central Bank of Iran"
	fh.ImmediateOriginName = "Parsian"
	file := moov.NewFile()
	file.SetHeader(fh)
	file.SetValidation(skip)
	bh := moov.NewBatchHeader()
	bh.ServiceClassCode = serviceClass
	bh.CompanyName = "Parsian"
	bh.CompanyIdentification = "000000547"
	bh.StandardEntryClassCode = moov.PPD
	bh.CompanyEntryDescription = "PAYROLL"
	bh.EffectiveEntryDate = "250301"
	bh.ODFIIdentification = "00000054"
	batch, err := moov.NewBatch(bh)
	if err != nil {
		t.Fatal(err)
	}
	batch.SetValidation(skip)
	for i, r := range es {
		ed := moov.NewEntryDetail()
		ed.TransactionCode = r.code
		x := r.x
		if x == "" {
			x = shebaPasargad
		}
		rdfi := r.rdfi
		if rdfi == "" {
			rdfi, _ = NACHARouting(x[4:7])
		}
		ed.SetRDFI(rdfi)
		ed.DFIAccountNumber = r.account
		if ed.DFIAccountNumber == "" {
			ed.DFIAccountNumber = x[9:]
		}
		ed.Amount = r.amount
		ed.IndividualName = r.name
		if ed.IndividualName == "" {
			ed.IndividualName = "NAME"
		}
		ed.AddendaRecordIndicator = 1
		if r.noIndic || len(r.addenda) == 0 {
			ed.AddendaRecordIndicator = 0
		}
		ed.SetTraceNumber("00000054", i+1)
		for _, info := range r.addenda {
			a := moov.NewAddenda05()
			if r.addendaT != "" {
				a.TypeCode = r.addendaT
			}
			a.PaymentRelatedInformation = info
			ed.AddAddenda05(a)
		}
		batch.AddEntry(ed)
	}
	if err := batch.Create(); err != nil {
		t.Fatal(err)
	}
	file.AddBatch(batch)
	if err := file.Create(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := moov.NewWriter(&b)
	w.BypassValidation = true
	if err := w.Write(file); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// setLine replaces characters of line n (1-based) from position pos (1-based).
func setLine(data []byte, n, pos int, s string) []byte {
	lines := strings.Split(string(data), "\n")
	r := []rune(lines[n-1])
	copy(r[pos-1:], []rune(s))
	lines[n-1] = string(r)
	return []byte(strings.Join(lines, "\n"))
}

// TestNACHAEntryProblems puts one bad entry between two good ones, for each code: the bad one
// reports its code, line and field, and the others come through.
func TestNACHAEntryProblems(t *testing.T) {
	x1, x2, x3 := shebaParsian, shebaPasargad, shebaTosee
	melli, _ := NACHARouting("017")
	goodA, goodB := good(x1, "علی محمدی", 1_000_000), good(x3, "Sara Ahmadi", 2_000_000)
	tests := []struct {
		name    string
		class   int
		bad     rawEntry
		tamper  func([]byte) []byte // applied to the file; bad entry on line 5, its addenda on line 6
		code    NACHACode
		line    int
		field   string
		message string
	}{
		{name: "non-ASCII individual name", bad: rawEntry{x: x2, code: 22, amount: 5, name: "رضا", addenda: []string{x2 + " رضا"}},
			code: NACHAEntryRecord, line: 5, message: "is ASCII"},
		// Not digits, so 0 in the controls, as moov-io/ach counted it.
		{name: "amount not digits", bad: good(x2, "Reza", 0), tamper: func(b []byte) []byte { return setLine(b, 5, 30, "         0") },
			code: NACHAEntryRecord, line: 5, field: "Amount"},
		{name: "trace not digits", bad: good(x2, "Reza", 5), tamper: func(b []byte) []byte { return setLine(b, 5, 80, "00000054ABCDEFG") },
			code: NACHAEntryRecord, line: 5, field: "TraceNumber"},
		{name: "addenda indicator 2", bad: good(x2, "Reza", 5), tamper: func(b []byte) []byte { return setLine(b, 5, 79, "2") },
			code: NACHAEntryRecord, line: 5, field: "AddendaRecordIndicator"},
		{name: "unknown transaction code", bad: rawEntry{code: 99, amount: 5, addenda: []string{x2 + " Reza"}},
			code: NACHAEntryRecord, line: 5, field: "TransactionCode"},
		{name: "savings credit", bad: rawEntry{code: 32, amount: 5, addenda: []string{x2 + " Reza"}},
			code: NACHATransaction, line: 5, field: "TransactionCode", message: "reads 22 (credit) and 27 (debit)"},
		{name: "debit in a credits-only batch", class: moov.CreditsOnly, bad: rawEntry{code: 27, amount: 5, addenda: []string{x2 + " Reza"}},
			code: NACHATransaction, line: 5, field: "TransactionCode", message: "credits-only"},
		{name: "rdfi of no paya bank", bad: rawEntry{x: x2, code: 22, rdfi: "021000021", amount: 5, addenda: []string{x2 + " Reza"}},
			code: NACHARoutingBad, line: 5, field: "RDFIIdentification"},
		{name: "wrong check digit", bad: good(x2, "Reza", 5), tamper: func(b []byte) []byte { return setLine(b, 5, 12, "9") },
			code: NACHACheckDigit, line: 5, field: "CheckDigit", message: "is 9, want 6"},
		{name: "amount zero", bad: good(x2, "Reza", 0), code: NACHAAmountZero, line: 5, field: "Amount"},
		{name: "no addenda", bad: rawEntry{x: x2, code: 22, amount: 5}, code: NACHANoAddenda, line: 5, field: "AddendaRecordIndicator"},
		{name: "addenda without indicator", bad: rawEntry{x: x2, code: 22, amount: 5, noIndic: true, addenda: []string{x2 + " Reza"}},
			code: NACHAAddenda, line: 6, field: "AddendaRecordIndicator"},
		{name: "addenda type 02", bad: rawEntry{x: x2, code: 22, amount: 5, addendaT: "02", addenda: []string{x2 + " Reza"}},
			code: NACHAAddenda, line: 6, field: "TypeCode"},
		{name: "two addenda", bad: rawEntry{x: x2, code: 22, amount: 5, addenda: []string{x2 + " Reza", x2 + " Reza"}},
			code: NACHAAddenda, line: 7, message: "a second addenda"},
		{name: "addenda sequence 2", bad: good(x2, "Reza", 5), tamper: func(b []byte) []byte { return setLine(b, 6, 84, "0002") },
			code: NACHAAddenda, line: 6, field: "SequenceNumber"},
		{name: "addenda of another trace", bad: good(x2, "Reza", 5), tamper: func(b []byte) []byte { return setLine(b, 6, 88, "0000009") },
			code: NACHAAddenda, line: 6, field: "EntryDetailSequenceNumber"},
		{name: "sheba checksum", bad: good(x2[:25]+"2", "Reza", 5), code: NACHASHEBA, line: 6, field: "PaymentRelatedInformation", message: "check digits"},
		{name: "sheba lower case", bad: good("ir"+x2[2:], "Reza", 5), code: NACHASHEBA, line: 6, message: "canonical"},
		{name: "sheba of an unknown bank", bad: rawEntry{x: x2, code: 22, rdfi: "000002969", amount: 5, addenda: []string{shebaUnknownBank(t) + " Reza"}},
			code: NACHASHEBA, line: 6, message: "names no bank"},
		{name: "no sheba", bad: rawEntry{x: x2, code: 22, amount: 5, addenda: []string{"Reza Ahmadi and his account"}}, code: NACHASHEBA, line: 6},
		{name: "rdfi of another bank", bad: rawEntry{x: x2, code: 22, rdfi: melli, amount: 5, addenda: []string{x2 + " Reza"}},
			code: NACHABank, line: 5, field: "RDFIIdentification", message: "names bank 017, the sheba in the addenda on line 6 bank 057"},
		{name: "account of another sheba", bad: rawEntry{x: x2, code: 22, account: x1[9:], amount: 5, addenda: []string{x2 + " Reza"}},
			code: NACHAAccount, line: 5, field: "DFIAccountNumber"},
		{name: "no name", bad: good(x2, "", 5), code: NACHAName, line: 6, message: "no name"},
		{name: "no space before the name", bad: rawEntry{x: x2, code: 22, amount: 5, addenda: []string{x2 + "-Reza"}}, code: NACHAName, line: 6, message: "want a space"},
		{name: "control character in the name", bad: rawEntry{x: x2, code: 22, amount: 5, addenda: []string{x2 + " Re\x01za"}}, code: NACHAName, line: 6, message: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := tt.class
			if class == 0 {
				class = moov.MixedDebitsAndCredits
			}
			data := moovFile(t, class, []rawEntry{goodA, tt.bad, goodB})
			if tt.tamper != nil {
				data = tt.tamper(data)
			}
			got, sum, err := readAllNACHA(t, data, NACHAReadOptions{Directory: banks.Default()})
			if err != nil {
				t.Fatalf("ReadNACHA: %v\n%s", err, data)
			}
			if len(got) != 3 || sum.Entries != 3 || sum.Rejected != 1 {
				t.Fatalf("%d entries (summary %d, rejected %d), want 3 with 1 rejected", len(got), sum.Entries, sum.Rejected)
			}
			for _, i := range []int{0, 2} {
				if got[i].Problem != nil {
					t.Errorf("good entry on line %d rejected: %v", got[i].Line, got[i].Problem)
				}
			}
			if got[0].Line != 3 || got[1].Line != 5 {
				t.Errorf("entries on lines %d, %d, want 3, 5", got[0].Line, got[1].Line)
			}
			p := got[1].Problem
			if p == nil {
				t.Fatalf("bad entry accepted: %+v", got[1])
			}
			if p.Code != tt.code || p.Line != tt.line || (tt.field != "" && p.Field != tt.field) || !strings.Contains(p.Message, tt.message) {
				t.Errorf("problem %+v\nwant code %s, line %d, field %q, message with %q", p, tt.code, tt.line, tt.field, tt.message)
			}
			if !errors.Is(p, tt.code) {
				t.Errorf("errors.Is(problem, %s) is false", tt.code)
			}
			if !strings.Contains(p.Error(), "line "+strconv.Itoa(tt.line)) {
				t.Errorf("problem text %q does not name line %d", p.Error(), tt.line)
			}
		})
	}
}

// shebaUnknownBank is a SHEBA that passes the checksum and names bank 296, the CBI's own worked
// example, which is no bank.
func shebaUnknownBank(t testing.TB) string {
	x, err := sheba.Generate("296", 0, "1")
	if err != nil {
		t.Fatal(err)
	}
	return x.String()
}

// TestNACHABadAmongGood tampers a file written by WriteNACHA in two places that its control
// totals do not cover: the good entries come through and each bad one reports its own line.
func TestNACHABadAmongGood(t *testing.T) {
	in := payroll(t)[:5]
	files, _ := writeAll(t, testHeader(), in)
	data := setLine(files[0], 5, 12, "0")                         // entry 2's check digit (057 → 6)
	data = setLine(data, 10, 4+20, "9")                           // entry 4's addenda: a digit of the SHEBA's account
	data = []byte(strings.ReplaceAll(string(data), "\n", "\r\n")) // and CRLF line endings
	got, sum, err := readAllNACHA(t, data, NACHAReadOptions{Directory: banks.Default()})
	if err != nil {
		t.Fatalf("ReadNACHA: %v", err)
	}
	if sum.Entries != 5 || sum.Rejected != 2 {
		t.Fatalf("summary %+v, want 5 entries, 2 rejected", sum)
	}
	for i, e := range got {
		switch i {
		case 1:
			if e.Problem == nil || e.Problem.Code != NACHACheckDigit || e.Problem.Line != 5 {
				t.Errorf("entry 2: problem %v, want routing_check_digit on line 5", e.Problem)
			}
		case 3:
			if e.Problem == nil || e.Problem.Code != NACHASHEBA || e.Problem.Line != 10 || !errors.Is(e.Problem, sheba.CodeChecksum) {
				t.Errorf("entry 4: problem %v, want a sheba checksum problem on line 10", e.Problem)
			}
		default:
			if err := sameEntry(e, in[i], "054"); err != nil {
				t.Errorf("entry %d: %v", i+1, err)
			}
		}
	}
}

// TestNACHAPhysicalLines checks that lines are counted as they are in the file: blank lines
// count, short lines are padded.
func TestNACHAPhysicalLines(t *testing.T) {
	files, _ := writeAll(t, testHeader(), payroll(t)[:2])
	lines := strings.Split(string(files[0]), "\n")
	// A blank line after the file header, another inside the batch, trailing blanks stripped.
	var out []string
	for i, l := range lines {
		out = append(out, strings.TrimRight(l, " "))
		if i == 0 || i == 3 {
			out = append(out, "")
		}
	}
	got, sum := mustRead(t, []byte(strings.Join(out, "\n")))
	if got[0].Line != 4 || got[1].Line != 7 {
		t.Errorf("entries on lines %d and %d, want 4 and 7", got[0].Line, got[1].Line)
	}
	if want := len(out) - 1; sum.Lines != want { // the last element follows the final newline
		t.Errorf("summary counts %d lines, want %d", sum.Lines, want)
	}
	// No final newline: the last record still counts.
	data := bytes.TrimSuffix(files[0], []byte("\n"))
	if _, _, err := readAllNACHA(t, data, NACHAReadOptions{}); err != nil {
		t.Errorf("a file without its final newline: %v", err)
	}
}

// TestNACHAFileErrors checks the errors that refuse a whole file: each names its line, its
// record and, where one is at fault, its field.
func TestNACHAFileErrors(t *testing.T) {
	files, _ := writeAll(t, testHeader(), payroll(t)[:3])
	valid := files[0] // 1 file header, 2 batch header, 3–8 entries and addenda, 9 batch control, 10 file control
	lines := func() []string { return strings.Split(string(valid), "\n") }
	join := func(ls []string) []byte { return []byte(strings.Join(ls, "\n")) }
	long, huge := lines(), lines()
	long[3] += "x"
	huge[3] = strings.Repeat("7", 5000)
	tests := []struct {
		name   string
		data   []byte
		opts   NACHAReadOptions
		want   error
		line   int
		record string
		field  string
		msg    string
	}{
		{name: "empty", data: nil, want: ErrNACHATruncated, msg: "no file header"},
		{name: "blank lines only", data: []byte("\n  \n\n"), want: ErrNACHATruncated, line: 3},
		{name: "batch credit total", data: setLine(valid, 9, 33, "9"), want: ErrNACHAControl, line: 9, record: "BatchControl", field: "TotalCreditEntryDollarAmount"},
		{name: "batch entry count", data: setLine(valid, 9, 5, "000007"), want: ErrNACHAControl, line: 9, field: "EntryAddendaCount", msg: "count 7, the batch has 6"},
		{name: "batch entry hash", data: setLine(valid, 9, 11, "1"), want: ErrNACHAControl, line: 9, field: "EntryHash"},
		{name: "file debit total", data: setLine(valid, 10, 32, "5"), want: ErrNACHAControl, line: 10, record: "FileControl", field: "TotalDebitEntryDollarAmountInFile"},
		{name: "file block count", data: setLine(valid, 10, 8, "000002"), want: ErrNACHAControl, line: 10, field: "BlockCount"},
		{name: "file batch count", data: setLine(valid, 10, 2, "000002"), want: ErrNACHAControl, line: 10, field: "BatchCount"},
		{name: "no file control", data: join(lines()[:9]), want: ErrNACHATruncated, msg: "without a file control"},
		{name: "no batch control", data: join(lines()[:8]), want: ErrNACHATruncated, msg: "inside a batch"},
		{name: "record after the file control", data: join(append(lines()[:10], lines()[2])), want: ErrNACHAOrder, line: 11},
		{name: "padding before the file control", data: join(append(append(lines()[:9:9], strings.Repeat("9", 94)), lines()[9:]...)), want: ErrNACHAOrder, line: 10},
		{name: "entry outside a batch", data: join(append(lines()[:1:1], lines()[2:]...)), want: ErrNACHAOrder, line: 2, record: "EntryDetail"},
		{name: "second file header", data: join(append(lines()[:1:1], lines()...)), want: ErrNACHAOrder, line: 2, record: "FileHeader"},
		{name: "batch inside a batch", data: join(append(lines()[:3:3], lines()[1:]...)), want: ErrNACHAOrder, line: 4, record: "BatchHeader"},
		{name: "addenda before any entry", data: join(append(append(lines()[:2:2], lines()[3]), lines()[2:]...)), want: ErrNACHAOrder, line: 3, record: "Addenda"},
		{name: "unknown record type", data: setLine(valid, 3, 1, "4"), want: ErrNACHARecord, line: 3, msg: `"4"`},
		{name: "file header fails moov-io/ach", data: setLine(valid, 1, 34, "-"), want: ErrNACHARecord, line: 1, record: "FileHeader", field: "FileIDModifier"},
		{name: "origin of no paya bank", data: setLine(valid, 1, 15, "021000021"), want: ErrNACHAProfile, line: 1, field: "ImmediateOrigin"},
		{name: "WEB batch", data: setLine(valid, 2, 51, "WEB"), want: ErrNACHAProfile, line: 2, field: "StandardEntryClassCode"},
		{name: "odfi of no paya bank", data: setLine(valid, 2, 80, "02100002"), want: ErrNACHAProfile, line: 2, field: "ODFIIdentification"},
		{name: "line of 95 characters", data: join(long), want: ErrNACHALine, line: 4, msg: "95 characters"},
		{name: "line of 5000 bytes", data: join(huge), want: ErrNACHALine, line: 4, msg: "longer than 378 bytes"},
		{name: "not UTF-8", data: setLineBytes(valid, 4, 30, []byte{0xff}), want: ErrNACHALine, line: 4, msg: "character 30"},
		{name: "too many lines", data: valid, opts: NACHAReadOptions{LinesMax: 7}, want: ErrNACHATooLong, line: 8, msg: "more than 7 lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAllNACHA(t, tt.data, tt.opts)
			var ne *NACHAError
			if !errors.Is(err, tt.want) || !errors.As(err, &ne) {
				t.Fatalf("ReadNACHA = %v, want a *NACHAError wrapping %v", err, tt.want)
			}
			if (tt.line != 0 && ne.Line != tt.line) || (tt.record != "" && ne.Record != tt.record) ||
				(tt.field != "" && ne.Field != tt.field) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: line %d, record %q, field %q; want line %d, record %q, field %q, message with %q",
					err, ne.Line, ne.Record, ne.Field, tt.line, tt.record, tt.field, tt.msg)
			}
			if tt.line != 0 && !strings.Contains(err.Error(), "line "+strconv.Itoa(tt.line)) {
				t.Errorf("error %q does not name line %d", err, tt.line)
			}
		})
	}
}

func setLineBytes(data []byte, n, pos int, b []byte) []byte {
	lines := bytes.Split(data, []byte("\n"))
	l := append([]byte{}, lines[n-1]...)
	copy(l[pos-1:], b)
	lines[n-1] = l
	return bytes.Join(lines, []byte("\n"))
}

// TestNACHACallbackError stops reading at the callback's error.
func TestNACHACallbackError(t *testing.T) {
	files, _ := writeAll(t, testHeader(), payroll(t))
	stop := errors.New("enough")
	n := 0
	_, err := ReadNACHA(bytes.NewReader(files[0]), NACHAReadOptions{}, func(NACHAEntry) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("ReadNACHA = %v after %d entries, want the callback's error after 2", err, n)
	}
}

// splitCheck reads every file written, checks each control total fits its field, and returns
// the entries read in order with the batches of each file.
func splitCheck(t *testing.T, files [][]byte, sums []NACHASummary) ([]NACHAEntry, []int) {
	t.Helper()
	var all []NACHAEntry
	var batches []int
	for i, f := range files {
		got, sum := mustRead(t, f)
		if sum != sums[i] {
			t.Errorf("file %d: read %+v, written %+v", i+1, sum, sums[i])
		}
		if sum.CreditRial > NACHATotalMax || sum.DebitRial > NACHATotalMax {
			t.Errorf("file %d: totals %d / %d overflow 12 digits", i+1, sum.CreditRial, sum.DebitRial)
		}
		// Every batch control, read by moov-io/ach, within its field.
		for n, l := range strings.Split(string(f), "\n") {
			if strings.HasPrefix(l, "8") {
				bc := moov.NewBatchControl()
				bc.Parse(l)
				if int64(bc.TotalCreditEntryDollarAmount) > NACHATotalMax || int64(bc.TotalDebitEntryDollarAmount) > NACHATotalMax {
					t.Errorf("file %d line %d: batch totals overflow", i+1, n+1)
				}
			}
		}
		all = append(all, got...)
		batches = append(batches, sum.Batches)
	}
	return all, batches
}

// TestNACHASplitTotals writes sums past NACHA's 12-digit totals with the real limits: the files
// split, each control total fits, and the totals over the files are the input's.
func TestNACHASplitTotals(t *testing.T) {
	x := func(n int) string {
		s, err := sheba.Generate([]string{"054", "057", "017", "012"}[n%4], 0, strconv.Itoa(n+1))
		if err != nil {
			t.Fatal(err)
		}
		return s.String()
	}
	cases := []struct {
		name      string
		entries   func() []NACHAEntry
		wantFiles int
	}{
		{"7000 credits at the 150M cap", func() []NACHAEntry {
			es := make([]NACHAEntry, 7000)
			for i := range es {
				es[i] = NACHAEntry{SHEBA: x(i), AmountRial: 149_999_999, Name: "کارمند " + strconv.Itoa(i)}
			}
			return es // 1,049,999,993,000 rial: 6,666 entries fit in 999,999,999,999
		}, 2},
		{"101 entries of 10 digits", func() []NACHAEntry {
			es := make([]NACHAEntry, 101)
			for i := range es {
				es[i] = NACHAEntry{SHEBA: x(i), AmountRial: NACHAAmountMax, Name: "Payee"}
			}
			return es
		}, 2},
		{"credits and debits, each side past 10^12", func() []NACHAEntry {
			var es []NACHAEntry
			for i := range 250 {
				es = append(es, NACHAEntry{SHEBA: x(i), AmountRial: 9_000_000_000, Name: "بستانکار"},
					NACHAEntry{SHEBA: x(i + 1), AmountRial: 8_000_000_000, Name: "بدهکار", Debit: true})
			}
			return es // credits 2.25×10^12, debits 2×10^12
		}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.entries()
			var credit, debit int64
			for _, e := range in {
				if e.Debit {
					debit += e.AmountRial
				} else {
					credit += e.AmountRial
				}
			}
			if credit <= NACHATotalMax && debit <= NACHATotalMax {
				t.Fatalf("the case does not pass 10^12: credit %d, debit %d", credit, debit)
			}
			files, sums := writeAll(t, testHeader(), in)
			if len(files) != c.wantFiles {
				t.Errorf("%d files, want %d", len(files), c.wantFiles)
			}
			got, _ := splitCheck(t, files, sums)
			var gotCredit, gotDebit int64
			for _, s := range sums {
				gotCredit += s.CreditRial
				gotDebit += s.DebitRial
			}
			if gotCredit != credit || gotDebit != debit {
				t.Errorf("files total %d / %d, entries %d / %d", gotCredit, gotDebit, credit, debit)
			}
			if len(got) != len(in) {
				t.Fatalf("read %d entries, want %d", len(got), len(in))
			}
			for i := range in {
				if err := sameEntry(got[i], in[i], "054"); err != nil {
					t.Fatalf("entry %d: %v", i+1, err)
				}
			}
			// Files of one call are told apart by the file ID modifier and the reference code.
			for i, f := range files {
				if mod, ref := string(f[33]), string(f[86:94]); mod != string(nachaFileIDModifiers[i]) || ref != fmt.Sprintf("%08d", i+1) {
					t.Errorf("file %d: modifier %q, reference %q", i+1, mod, ref)
				}
			}
		})
	}
}

// TestNACHASplitCounts lowers the count limits so that the batch and file splits by count
// happen with few entries; the reader, which knows nothing of these limits, checks every
// control of the files written.
func TestNACHASplitCounts(t *testing.T) {
	saved := nachaLimits
	t.Cleanup(func() { nachaLimits = saved })
	in := make([]NACHAEntry, 23)
	for i := range in {
		x, _ := sheba.Generate("054", 0, strconv.Itoa(i+1))
		in[i] = NACHAEntry{SHEBA: x.String(), AmountRial: int64(i + 1), Name: "نام " + strconv.Itoa(i)}
	}
	cases := []struct {
		name        string
		limits      func(*nachaFileLimits)
		fileEntries int
		batches     []int // batches per file
	}{
		{"batch records", func(l *nachaFileLimits) { l.batchRecsMax = 10 }, 0, []int{5}},                               // 5 entries a batch: 5+5+5+5+3
		{"file lines", func(l *nachaFileLimits) { l.fileLinesMax = 30 }, 0, []int{1, 1}},                               // 4 + 2×13 = 30
		{"batches and lines", func(l *nachaFileLimits) { l.batchRecsMax = 4; l.batchesMax = 3 }, 0, []int{3, 3, 3, 3}}, // batches of 2 entries, 3 a file
		{"file records", func(l *nachaFileLimits) { l.fileRecsMax = 20 }, 0, []int{1, 1, 1}},                           // 10 entries a file
		{"file totals", func(l *nachaFileLimits) { l.totalMax = 100 }, 0, []int{1, 1, 1}},                              // 1..13 = 91, 14..19 = 99, 20..23 = 86
		{"FileEntriesMax", func(*nachaFileLimits) {}, 10, []int{1, 1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nachaLimits = saved
			c.limits(&nachaLimits)
			h := testHeader()
			h.FileEntriesMax = c.fileEntries
			files, sums := writeAll(t, h, in)
			got, batches := splitCheck(t, files, sums)
			if fmt.Sprint(batches) != fmt.Sprint(c.batches) {
				t.Errorf("batches per file %v, want %v", batches, c.batches)
			}
			if len(got) != len(in) {
				t.Fatalf("read %d entries, want %d", len(got), len(in))
			}
			for i := range in {
				if err := sameEntry(got[i], in[i], "054"); err != nil {
					t.Fatalf("entry %d: %v", i+1, err)
				}
			}
		})
	}
}

// TestNACHASplitOrigins starts a batch for each run of entries of one originating bank: a
// cycle's delivery to a receiving bank comes from the CBI, its batches from the senders.
func TestNACHASplitOrigins(t *testing.T) {
	var in []NACHAEntry
	for i, origin := range []string{"017", "017", "012", "", "017"} {
		in = append(in, NACHAEntry{SHEBA: shebaParsian, AmountRial: int64(1000 + i), Name: "دریافت‌کننده", OriginBank: origin})
	}
	h := testHeader()
	h.Origin, h.Destination = "010", "054"
	files, _ := writeAll(t, h, in)
	got, sum := mustRead(t, files[0])
	if sum.Batches != 4 || sum.Origin != "010" || sum.Destination != "054" {
		t.Errorf("summary %+v, want 4 batches from 010 to 054", sum)
	}
	for i := range in {
		if err := sameEntry(got[i], in[i], "010"); err != nil {
			t.Errorf("entry %d: %v", i+1, err)
		}
	}
	if !strings.Contains(string(files[0]), "5220Melli") {
		t.Errorf("no credits-only batch of Melli in\n%s", files[0])
	}
}

func TestNACHAWriteErrors(t *testing.T) {
	ok := NACHAEntry{SHEBA: shebaParsian, AmountRial: 5, Name: "نام"}
	tests := []struct {
		name   string
		h      func(*NACHAHeader)
		e      func(*NACHAEntry)
		want   []error
		record string
		field  string
	}{
		{"bad sheba", nil, func(e *NACHAEntry) { e.SHEBA = shebaParsian[:25] + "3" }, []error{ErrNACHAEntry, sheba.CodeChecksum}, "Addenda", "PaymentRelatedInformation"},
		{"amount zero", nil, func(e *NACHAEntry) { e.AmountRial = 0 }, []error{ErrNACHAEntry}, "EntryDetail", "Amount"},
		{"amount of 11 digits", nil, func(e *NACHAEntry) { e.AmountRial = NACHAAmountMax + 1 }, []error{ErrNACHAEntry}, "EntryDetail", "Amount"},
		{"no name", nil, func(e *NACHAEntry) { e.Name = "   " }, []error{ErrNACHAEntry}, "Addenda", "PaymentRelatedInformation"},
		{"name too long", nil, func(e *NACHAEntry) { e.Name = strings.Repeat("ن", NACHANameMax+1) }, []error{ErrNACHAEntry}, "Addenda", ""},
		{"name with a newline", nil, func(e *NACHAEntry) { e.Name = "a\nb" }, []error{ErrNACHAEntry}, "Addenda", ""},
		{"name not UTF-8", nil, func(e *NACHAEntry) { e.Name = "a\xffb" }, []error{ErrNACHAEntry}, "Addenda", ""},
		{"reference not ASCII", nil, func(e *NACHAEntry) { e.Reference = "مرجع" }, []error{ErrNACHAEntry}, "EntryDetail", "IdentificationNumber"},
		{"reference too long", nil, func(e *NACHAEntry) { e.Reference = strings.Repeat("R", 16) }, []error{ErrNACHAEntry}, "EntryDetail", "IdentificationNumber"},
		{"origin of no bank", nil, func(e *NACHAEntry) { e.OriginBank = "999" }, []error{ErrNACHAEntry}, "BatchHeader", "ODFIIdentification"},
		{"header origin of no bank", func(h *NACHAHeader) { h.Origin = "999" }, nil, []error{ErrNACHAHeader}, "FileHeader", "ImmediateOrigin"},
		{"header destination of no bank", func(h *NACHAHeader) { h.Destination = "1" }, nil, []error{ErrNACHAHeader}, "FileHeader", "ImmediateDestination"},
		{"no creation time", func(h *NACHAHeader) { h.Created = time.Time{} }, nil, []error{ErrNACHAHeader}, "FileHeader", "FileCreationDate"},
		{"year 2100", func(h *NACHAHeader) { h.Effective = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }, nil, []error{ErrNACHAHeader}, "BatchHeader", "EffectiveEntryDate"},
		{"long description", func(h *NACHAHeader) { h.Description = "MONTHLY PAYROLL" }, nil, []error{ErrNACHAHeader}, "BatchHeader", "CompanyEntryDescription"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHeader()
			if tt.h != nil {
				tt.h(&h)
			}
			bad := ok
			if tt.e != nil {
				tt.e(&bad)
			}
			called := false
			next := func(int) (io.Writer, error) { called = true; return io.Discard, nil }
			_, err := WriteNACHA(next, h, []NACHAEntry{ok, bad, ok})
			var ne *NACHAError
			if !errors.As(err, &ne) {
				t.Fatalf("WriteNACHA = %v, want a *NACHAError", err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("WriteNACHA = %v, want it to wrap %v", err, w)
				}
			}
			if tt.e != nil && ne.Entry != 2 {
				t.Errorf("error names entry %d, want 2: %v", ne.Entry, err)
			}
			if ne.Record != tt.record || (tt.field != "" && ne.Field != tt.field) {
				t.Errorf("error record %q field %q, want %q %q: %v", ne.Record, ne.Field, tt.record, tt.field, err)
			}
			if called {
				t.Error("a file was opened before the error")
			}
		})
	}
	// No entries, no files.
	sums, err := WriteNACHA(func(int) (io.Writer, error) { t.Fatal("next called"); return nil, nil }, testHeader(), nil)
	if sums != nil || err != nil {
		t.Errorf("WriteNACHA of no entries = %v, %v; want nil, nil", sums, err)
	}
	// The writer's errors come back.
	broken := errors.New("disk full")
	_, err = WriteNACHA(func(int) (io.Writer, error) { return nil, broken }, testHeader(), []NACHAEntry{ok})
	if !errors.Is(err, broken) {
		t.Errorf("WriteNACHA with a failing next = %v, want %v", err, broken)
	}
}

// nachaStream generates a valid NACHA file of n entries line by line with moov-io/ach's record
// types, without holding it: for the memory test.
type nachaStream struct {
	n, i      int
	buf       bytes.Buffer
	stage     int
	hash      int64
	credit    int64
	recs      int
	xs        []string
	lineCount int
}

func (s *nachaStream) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.stage < 4 {
		s.fill()
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	return s.buf.Read(p)
}

func (s *nachaStream) line(rec string) {
	s.buf.WriteString(rec)
	s.buf.WriteByte('\n')
	s.lineCount++
}

func (s *nachaStream) fill() {
	switch s.stage {
	case 0:
		fh := moov.NewFileHeader()
		fh.ImmediateDestination, fh.ImmediateOrigin = "000000107", "000000547"
		fh.FileCreationDate, fh.FileCreationTime = "250301", "0930"
		fh.ImmediateDestinationName, fh.ImmediateOriginName = "Central Bank of Iran", "Parsian"
		s.line(fh.String())
		bh := moov.NewBatchHeader()
		bh.ServiceClassCode, bh.CompanyName, bh.CompanyIdentification = moov.CreditsOnly, "Parsian", "000000547"
		bh.StandardEntryClassCode, bh.CompanyEntryDescription, bh.EffectiveEntryDate = moov.PPD, "PAYROLL", "250301"
		bh.ODFIIdentification = "00000054"
		s.line(bh.String())
		s.stage = 1
	case 1:
		if s.i == s.n {
			s.stage = 2
			return
		}
		x := s.xs[s.i%len(s.xs)]
		ed := moov.NewEntryDetail()
		ed.TransactionCode = NACHACredit
		routing, _ := NACHARouting(x[4:7])
		ed.SetRDFI(routing)
		ed.DFIAccountNumber = x[9:]
		ed.Amount = 1_000 + s.i%1_000_000
		ed.IndividualName = nachaPlaceholder
		ed.AddendaRecordIndicator = 1
		ed.SetTraceNumber("00000054", s.i+1)
		a := moov.NewAddenda05()
		a.PaymentRelatedInformation = x + " کارمند شماره " + strconv.Itoa(s.i)
		a.SequenceNumber = 1
		a.EntryDetailSequenceNumber = s.i + 1
		s.line(ed.String())
		s.line(a.String())
		h, _ := strconv.ParseInt(routing[:8], 10, 64)
		s.hash += h
		s.credit += int64(ed.Amount)
		s.recs += 2
		s.i++
	case 2:
		bc := moov.NewBatchControl()
		bc.ServiceClassCode, bc.CompanyIdentification, bc.ODFIIdentification = moov.CreditsOnly, "000000547", "00000054"
		bc.EntryAddendaCount, bc.EntryHash, bc.TotalCreditEntryDollarAmount = s.recs, int(s.hash%nachaHashModulus), int(s.credit)
		s.line(bc.String())
		fc := moov.NewFileControl()
		fc.BatchCount, fc.EntryAddendaCount, fc.EntryHash = 1, s.recs, int(s.hash%nachaHashModulus)
		fc.BlockCount = (s.lineCount + 1 + 9) / 10
		fc.TotalCreditEntryDollarAmountInFile = int(s.credit)
		s.line(fc.String())
		s.stage = 4
	}
}

// TestNACHAReadMemoryBounded reads a file of 200,000 entries (about 38 MB, several hundred MB
// as a moov-io/ach File) from a generator and samples the heap as it goes: it stays small.
func TestNACHAReadMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 400,000 lines")
	}
	const n = 200_000
	s := &nachaStream{n: n, xs: []string{shebaParsian, shebaPasargad, shebaTosee}}
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	count := 0
	sum, err := ReadNACHA(s, NACHAReadOptions{Directory: banks.Default()}, func(e NACHAEntry) error {
		if e.Problem != nil {
			return e.Problem
		}
		count++
		if count%10_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadNACHA: %v", err)
	}
	if count != n || sum.Entries != n {
		t.Fatalf("%d entries (summary %d), want %d", count, sum.Entries, n)
	}
	const heapMax = 32 << 20
	if peak > heapMax {
		t.Errorf("heap reached %d MB reading %d entries, want under %d MB", peak>>20, n, heapMax>>20)
	}
	t.Logf("%d lines, heap at most %.1f MB", sum.Lines, float64(peak)/(1<<20))
}

// FuzzReadNACHA checks that ReadNACHA never panics, that what it reports is consistent, and
// that a file it reads without error round-trips: its accepted entries, written again by
// WriteNACHA, read back the same.
func FuzzReadNACHA(f *testing.F) {
	ok := NACHAEntry{SHEBA: shebaParsian, AmountRial: 5, Name: "نام"}
	files, _ := writeAll(f, testHeader(), payroll(f))
	f.Add(files[0])
	f.Add(bytes.ReplaceAll(files[0], []byte("\n"), []byte("\r\n")))
	two, _ := writeAll(f, testHeader(), []NACHAEntry{ok, {SHEBA: shebaTosee, AmountRial: 7, Name: "X", Debit: true}})
	f.Add(two[0])
	f.Add(setLine(files[0], 5, 12, "0"))
	f.Add(moovFile(f, moov.MixedDebitsAndCredits, []rawEntry{good(shebaPasargad, "Reza", 5), {code: 22, amount: 5}}))
	f.Add([]byte{})
	f.Add([]byte("1\n5\n6\n7\n8\n9\n"))
	reg := banks.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []NACHAEntry
		sum, err := ReadNACHA(bytes.NewReader(data), NACHAReadOptions{Directory: reg, LinesMax: 2000}, func(e NACHAEntry) error {
			got = append(got, e)
			return nil
		})
		if sum.Entries != len(got) {
			t.Fatalf("summary counts %d entries, the callback saw %d", sum.Entries, len(got))
		}
		rejected := 0
		for _, e := range got {
			if e.Line < 1 || e.Line > sum.Lines {
				t.Fatalf("entry on line %d of %d", e.Line, sum.Lines)
			}
			if e.Problem != nil {
				rejected++
				if e.Problem.Line < e.Line || e.Problem.Line > sum.Lines || e.Problem.Code == "" || e.Problem.Message == "" {
					t.Fatalf("entry on line %d: malformed problem %+v", e.Line, e.Problem)
				}
			}
		}
		if rejected != sum.Rejected {
			t.Fatalf("summary counts %d rejected, entries %d", sum.Rejected, rejected)
		}
		if err != nil {
			var ne *NACHAError
			if !errors.As(err, &ne) {
				t.Fatalf("ReadNACHA error %v is not a *NACHAError", err)
			}
			if ne.Line < 0 || ne.Line > sum.Lines {
				t.Fatalf("error on line %d of %d: %v", ne.Line, sum.Lines, err)
			}
			return
		}
		// Round trip of what was accepted, when the file's banks can write it.
		var in []NACHAEntry
		var credit, debit int64
		for _, e := range got {
			if e.Problem != nil {
				continue
			}
			if _, known := reg.ByCode(e.OriginBank); !known {
				return
			}
			in = append(in, e)
			if e.Debit {
				debit += e.AmountRial
			} else {
				credit += e.AmountRial
			}
		}
		if len(got) == len(in) && (credit != sum.CreditRial || debit != sum.DebitRial) {
			t.Fatalf("every entry accepted, totals %d / %d, summary %d / %d", credit, debit, sum.CreditRial, sum.DebitRial)
		}
		h := testHeader()
		h.Origin, h.Destination = sum.Origin, sum.Destination
		if _, ok := reg.ByCode(h.Origin); !ok {
			return
		}
		if _, ok := reg.ByCode(h.Destination); !ok {
			return
		}
		out, sums := writeAll(t, h, in)
		var again []NACHAEntry
		for i, f := range out {
			es, s := mustRead(t, f)
			if s != sums[i] {
				t.Fatalf("file %d: read %+v, written %+v", i+1, s, sums[i])
			}
			again = append(again, es...)
		}
		if len(again) != len(in) {
			t.Fatalf("round trip gave %d entries, want %d", len(again), len(in))
		}
		for i := range in {
			if err := sameEntry(again[i], in[i], ""); err != nil {
				t.Fatalf("round trip of entry on line %d: %v", in[i].Line, err)
			}
		}
	})
}
