package ach

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
)

// TestDryRunFixture checks the report of testdata/payroll/payroll-1404-01.csv against what its README says
// of each row, worked by hand.
func TestDryRunFixture(t *testing.T) {
	data, err := os.ReadFile("../testdata/payroll/payroll-1404-01.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimPrefix(string(data), "\ufeff"), "\r\n") // lines[i] is line i+1
	rep, err := DryRunCSV(strings.NewReader(string(data)), CSVOptions{}, employer, testEnv(t, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Profile != "seed" || rep.Rows != 11 || rep.BlankRows != 1 || rep.Accepted != 6 || rep.Rejected != 5 {
		t.Errorf("profile %s, rows %d, blank %d, accepted %d, rejected %d; want seed, 11, 1, 6, 5",
			rep.Profile, rep.Rows, rep.BlankRows, rep.Accepted, rep.Rejected)
	}
	// Lines 2, 3, 4, 9, 13, 14.
	if want := int64(120_000_000 + 85_000_000 + 149_999_999 + 70_000_000 + 95_000_000 + 65_000_000); rep.AcceptedRial != want || rep.FeeRial != 0 {
		t.Errorf("accepted %d rial, fees %d; want %d and none under seed", rep.AcceptedRial, rep.FeeRial, want)
	}
	wantBanks := []BankTotal{
		{"012", 1, 149_999_999},             // line 4
		{"015", 2, 70_000_000 + 65_000_000}, // line 9 (063 Ansar, merged into Sepah) and line 14
		{"017", 2, 120_000_000 + 85_000_000},
		{"018", 1, 95_000_000},
	}
	if !reflect.DeepEqual(rep.Banks, wantBanks) {
		t.Errorf("banks %+v, want %+v", rep.Banks, wantBanks)
	}
	type where struct {
		row, line, column int
		field             string
		code              Code
	}
	wantErrs := []where{
		{5, 5, col(t, lines[4], "150000000", 0), ColumnAmount, CodeAmountAtOrOverCap},
		{7, 7, utf8.RuneCountInString(lines[6]) + 1, ColumnDescription, CodeDescriptionInvalid}, // the line break ends line 7
		{10, 10, 3, ColumnSHEBA, CodeSHEBAInvalid},
		{11, 11, col(t, lines[10], `"1,50,000"`, 5), ColumnAmount, CodeAmountInvalid},
		{12, 12, 1, ColumnSHEBA, CodeOnUs},
	}
	var gotErrs []where
	for _, e := range rep.Errors {
		gotErrs = append(gotErrs, where{e.Row, e.Line, e.Column, e.Field, e.Code})
	}
	if !reflect.DeepEqual(gotErrs, wantErrs) {
		t.Errorf("errors\n%+v\nwant\n%+v", gotErrs, wantErrs)
	}
	wantOver := []OverCapRow{{Row: 5, SHEBA: "IR320120000000004004567890", Reference: "PAY-1404-01-0004", AmountRial: 150_000_000}}
	if !reflect.DeepEqual(rep.OverCap, wantOver) || rep.OverCapRows != 1 || rep.OverCapRial != 150_000_000 {
		t.Errorf("over cap %+v (%d rows, %d rial), want %+v", rep.OverCap, rep.OverCapRows, rep.OverCapRial, wantOver)
	}
	byCode := map[Code]int{CodeAmountAtOrOverCap: 1, CodeDescriptionInvalid: 1, CodeSHEBAInvalid: 1, CodeAmountInvalid: 1, CodeOnUs: 1}
	if !reflect.DeepEqual(rep.RejectedByCode, byCode) {
		t.Errorf("by code %v, want %v", rep.RejectedByCode, byCode)
	}

	// Under 1404 the cap is 2,000,000,000: line 5 enters, and every entry pays 0.01 %, at least 2,000.
	rep, err = DryRunCSV(strings.NewReader(string(data)), CSVOptions{}, employer, testEnv(t, "1404"))
	if err != nil {
		t.Fatal(err)
	}
	fees := int64(12_000 + 8_500 + 15_000 + 15_000 + 7_000 + 9_500 + 6_500) // 149,999,999 → 14,999.9999 → 15,000
	if rep.Accepted != 7 || rep.AcceptedRial != 734_999_999 || rep.FeeRial != fees || rep.Banks[0] != (BankTotal{"012", 2, 299_999_999}) {
		t.Errorf("1404: accepted %d, %d rial, fees %d, Mellat %+v; want 7, 734,999,999, %d, 2 and 299,999,999",
			rep.Accepted, rep.AcceptedRial, rep.FeeRial, rep.Banks[0], fees)
	}
	if len(rep.OverCap) != 0 {
		t.Errorf("1404: over cap %+v", rep.OverCap)
	}
}

func TestDryRunJSON(t *testing.T) {
	melli := account(t, "017", "1")
	rep, err := DryRunCSV(strings.NewReader(header+melli+",200000000,n,d,R1\n"), CSVOptions{}, employer, testEnv(t, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"rejected_by_code":{"amount_at_or_over_cap":1}`, `"code":"amount_at_or_over_cap"`, `"field":"amount"`, `"banks":[]`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("JSON %s does not hold %s", b, w)
		}
	}
}

// TestDryRunErrorInTheMiddle: a bad row between good ones changes nothing for them.
func TestDryRunErrorInTheMiddle(t *testing.T) {
	melli, mellat := account(t, "017", "1"), account(t, "012", "2")
	good := header + melli + ",1000,a,,R1\n" + mellat + ",2000,b,,R2\n" + melli + ",3000,c,,R3\n"
	bad := header + melli + ",1000,a,,R1\n" + mellat + ",2000,b,,R2\n" + "IR00,\"1,5\",\"x\ny\",,\n" + melli + ",3000,c,,R3\n"
	env := testEnv(t, "seed")
	a, err := DryRunCSV(strings.NewReader(good), CSVOptions{}, employer, env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DryRunCSV(strings.NewReader(bad), CSVOptions{}, employer, env)
	if err != nil {
		t.Fatal(err)
	}
	if b.Accepted != a.Accepted || b.AcceptedRial != a.AcceptedRial || !reflect.DeepEqual(b.Banks, a.Banks) || b.Rejected != 1 || b.Rows != 4 {
		t.Errorf("with a bad row: %+v\nwithout: %+v", b, a)
	}
	if b.Errors[0].Row != 4 || b.Errors[0].Code != CodeAmountInvalid {
		t.Errorf("error %+v: want amount_invalid on row 4 (the amount comes first)", b.Errors[0])
	}
}

func TestDryRunFileErrors(t *testing.T) {
	melli := account(t, "017", "1")
	env := testEnv(t, "seed")
	rep, err := DryRunCSV(strings.NewReader("sheba,amount\n"), CSVOptions{}, employer, env)
	if !errors.Is(err, ErrHeader) || rep == nil || rep.Rows != 0 {
		t.Errorf("bad header: %+v, %v", rep, err)
	}
	data := header + melli + ",1000,n,,R1\n" + melli + ",1000,n,,R2\n"
	rep, err = DryRunCSV(strings.NewReader(data), CSVOptions{RowsMax: 1}, employer, env)
	if !errors.Is(err, ErrRowsTooMany) || rep.Rows != 1 || rep.Accepted != 1 {
		t.Errorf("rows over the limit: %+v, %v; want the first row counted, then ErrRowsTooMany", rep, err)
	}
	rep, err = DryRunCSV(strings.NewReader(data), CSVOptions{}, Originator{Bank: "054", SHEBA: pasargadSHEBA, Name: "x"}, env)
	var oe *OriginatorError
	if !errors.As(err, &oe) || !errors.Is(err, ErrOriginator) || oe.Rejection.Code != CodeOriginatingBankMismatch || rep.Rows != 0 {
		t.Errorf("bad originator: %+v, %v", rep, err)
	}
	if _, err := DryRunCSV(strings.NewReader(data), CSVOptions{}, employer, Env{}); !errors.Is(err, ErrEnv) {
		t.Errorf("no Env: %v", err)
	}
}

// TestReportBounded: past ReportErrorsMax and ReportOverCapMax rows the report counts without listing.
func TestReportBounded(t *testing.T) {
	rep := NewReport("seed")
	n := ReportErrorsMax + 234
	for i := range n {
		code := CodeSHEBAInvalid
		if i%2 == 0 {
			code = CodeAmountAtOrOverCap
		}
		rep.Reject(Row{Line: i + 2, AmountRial: 200_000_000}, &RowError{Row: i + 2, Code: code})
	}
	over := (n + 1) / 2
	if len(rep.Errors) != ReportErrorsMax || rep.ErrorsOmitted != n-ReportErrorsMax || rep.Rejected != n || rep.Rows != n {
		t.Errorf("errors listed %d, omitted %d, rejected %d, rows %d", len(rep.Errors), rep.ErrorsOmitted, rep.Rejected, rep.Rows)
	}
	if rep.OverCapRows != over || len(rep.OverCap) != min(over, ReportOverCapMax) || rep.OverCapRial != int64(over)*200_000_000 {
		t.Errorf("over cap: %d rows, %d listed, %d rial", rep.OverCapRows, len(rep.OverCap), rep.OverCapRial)
	}
	if rep.RejectedByCode[CodeSHEBAInvalid]+rep.RejectedByCode[CodeAmountAtOrOverCap] != n {
		t.Errorf("by code %v", rep.RejectedByCode)
	}
	if rep.Errors[len(rep.Errors)-1].Row != ReportErrorsMax+1 {
		t.Errorf("the list is not the first rows: last listed is row %d", rep.Errors[len(rep.Errors)-1].Row)
	}
}

// TestReportOverflow: a total past an int64 is refused, and the report is left as it was.
func TestReportOverflow(t *testing.T) {
	rep := NewReport("big")
	half := Decision{Entry: Entry{AmountRial: math.MaxInt64/2 + 1}, ReceivingBank: "017"}
	if err := rep.Accept(2, half); err != nil {
		t.Fatal(err)
	}
	before := *rep
	before.Banks = append([]BankTotal(nil), rep.Banks...)
	if err := rep.Accept(3, half); !errors.Is(err, ErrTotalOverflow) || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("second half: %v, want ErrTotalOverflow naming row 3", err)
	}
	if !reflect.DeepEqual(*rep, before) {
		t.Errorf("report changed by a refused row: %+v, was %+v", *rep, before)
	}
	fee := Decision{Entry: Entry{AmountRial: 1}, FeeRial: math.MaxInt64, ReceivingBank: "012"}
	if err := rep.Accept(4, fee); err != nil {
		t.Fatal(err)
	}
	if err := rep.Accept(5, Decision{Entry: Entry{AmountRial: 1}, FeeRial: 1, ReceivingBank: "012"}); !errors.Is(err, ErrTotalOverflow) {
		t.Errorf("fees past an int64: %v", err)
	}
	// Over-cap sums saturate rather than fail: they are informational.
	rep.Reject(Row{AmountRial: math.MaxInt64}, &RowError{Code: CodeAmountAtOrOverCap})
	rep.Reject(Row{AmountRial: 5}, &RowError{Code: CodeAmountAtOrOverCap})
	if rep.OverCapRial != math.MaxInt64 {
		t.Errorf("over-cap sum %d, want saturated", rep.OverCapRial)
	}
}

// TestDryRunOverflow drives an overflow through a whole file, under a profile whose cap is the rulebook's
// largest amount.
func TestDryRunOverflow(t *testing.T) {
	p := profile(t, "seed")
	p.Name, p.PAYACap.AmountRial, p.PAYACap.Inclusive = "huge", 1_000_000_000_000_000, true
	melli := account(t, "017", "1")
	var b strings.Builder
	b.WriteString(header)
	rows := int(math.MaxInt64/1_000_000_000_000_000) + 1 // 9,224 rows of 10^15
	for range rows {
		b.WriteString(melli + ",1000000000000000,n,,R\n")
	}
	rep, err := DryRunCSV(strings.NewReader(b.String()), CSVOptions{}, employer, Env{Banks: banks.Default(), Profile: p})
	if !errors.Is(err, ErrTotalOverflow) || rep.Accepted != rows-1 {
		t.Errorf("accepted %d, %v; want %d, then ErrTotalOverflow", rep.Accepted, err, rows-1)
	}
}
