package ach

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// header is the header of the tests' files, in the usual order.
const header = "sheba,amount,name,description,reference\n"

// readAll reads every row of a file: the rows, the row errors in order, and the error that ended it (nil
// for io.EOF).
func readAll(t testing.TB, data string, opts CSVOptions) ([]Row, []*RowError, error) {
	t.Helper()
	r, err := NewCSVReader(strings.NewReader(data), opts)
	if err != nil {
		return nil, nil, err
	}
	return drain(r)
}

func drain(r *CSVReader) ([]Row, []*RowError, error) {
	var rows []Row
	var errs []*RowError
	for {
		row, err := r.Next()
		var re *RowError
		switch {
		case err == io.EOF:
			return rows, errs, nil
		case errors.As(err, &re):
			errs = append(errs, re)
		case err != nil:
			return rows, errs, err
		default:
			rows = append(rows, row)
		}
	}
}

// col returns the 1-based character position in line of the first occurrence of sub, plus k characters.
func col(t testing.TB, line, sub string, k int) int {
	t.Helper()
	i := strings.Index(line, sub)
	if i < 0 {
		t.Fatalf("%q not in %q", sub, line)
	}
	return utf8.RuneCountInString(line[:i]) + 1 + k
}

func TestCSVReadsRows(t *testing.T) {
	melli, mellat := account(t, "017", "1"), account(t, "012", "2")
	data := "\ufeffReference, AMOUNT ,Sheba,name,Description\r\n" + // any order, any case, white space around
		"R-1,\"۱۲۰٬۰۰۰٬۰۰۰\"," + melli + ",مریم احمدی,حقوق فروردین\r\n" + // line 2
		"R-2, \"1,500,000\" , " + mellat + " ,\"کریمی, علی\",\"دو خط\r\nاست\"\r\n" + // lines 3–4
		"\r\n" + // line 5: blank
		",,, ,\r\n" + // line 6: blank, as spreadsheets export
		"R-3,42," + melli + ",\"او گفت \"\"سلام\"\"\",\r\n" + // line 7: escaped quotes, empty description
		"R-4,٧," + melli + ",x,y" // line 8: no line break at the end
	rows, errs, err := readAll(t, data, CSVOptions{})
	if err != nil || len(errs) > 0 {
		t.Fatalf("read: %v, %v", errs, err)
	}
	want := []Row{
		{Line: 2, SHEBA: melli, AmountRial: 120_000_000, Name: "مریم احمدی", Description: "حقوق فروردین", Reference: "R-1"},
		{Line: 3, SHEBA: mellat, AmountRial: 1_500_000, Name: "کریمی, علی", Description: "دو خط\nاست", Reference: "R-2"},
		{Line: 7, SHEBA: melli, AmountRial: 42, Name: `او گفت "سلام"`, Reference: "R-3"},
		{Line: 8, SHEBA: melli, AmountRial: 7, Name: "x", Description: "y", Reference: "R-4"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n%+v\nwant\n%+v", rows, want)
	}
	r, _ := NewCSVReader(strings.NewReader(data), CSVOptions{})
	drain(r)
	if r.Blank() != 2 || r.Rows() != 4 {
		t.Errorf("blank %d, rows %d; want 2 and 4", r.Blank(), r.Rows())
	}
}

// TestCSVSourcesAgree reads the same files through readers that hand over their bytes differently (one at a
// time, half of what is asked, the last bytes with io.EOF) and through LF, CRLF and mixed line endings.
func TestCSVSourcesAgree(t *testing.T) {
	fixture, err := os.ReadFile("../testdata/payroll/payroll-1404-01.csv")
	if err != nil {
		t.Fatal(err)
	}
	melli := account(t, "017", "1")
	lf := header + melli + ",1000,a,\"b\nc\",R1\n" + melli + ",\"1,50\",a,b,R2\n\n" + melli + ",3,\"x\"y,b,R3\n" + melli + ",4,a,b,R4\n"
	files := map[string]string{
		"fixture": string(fixture),
		"lf":      lf,
		"crlf":    strings.ReplaceAll(lf, "\n", "\r\n"),
		"mixed":   strings.Replace(lf, "\n", "\r\n", 3),
	}
	type result struct {
		Rows []Row
		Errs []*RowError
	}
	read := func(name string, r io.Reader) result {
		c, err := NewCSVReader(r, CSVOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows, errs, err := drain(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return result{rows, errs}
	}
	var lfResult result
	for _, name := range []string{"lf", "crlf", "mixed", "fixture"} {
		data := files[name]
		want := read(name, strings.NewReader(data))
		if name == "lf" {
			lfResult = want
		} else if name != "fixture" {
			// Line endings change no value and no line number; only a column at a line's end could move, and
			// none of these errors is there.
			if !reflect.DeepEqual(want, lfResult) {
				t.Errorf("%s reads as\n%+v\nLF as\n%+v", name, want, lfResult)
			}
		}
		for kind, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(strings.NewReader(data)),
			"half":     iotest.HalfReader(strings.NewReader(data)),
			"data+EOF": iotest.DataErrReader(strings.NewReader(data)),
		} {
			if got := read(name+" "+kind, r); !reflect.DeepEqual(got, want) {
				t.Errorf("%s read %s at a time:\n%+v\nwant\n%+v", name, kind, got, want)
			}
		}
	}
	if len(lfResult.Rows) != 2 || len(lfResult.Errs) != 2 {
		t.Errorf("lf: %d rows and %d errors, want 2 and 2", len(lfResult.Rows), len(lfResult.Errs))
	}
}

func TestCSVHeader(t *testing.T) {
	long := strings.Repeat("x", 300)
	many := header[:len(header)-1] + strings.Repeat(",x", 30) + "\n"
	for _, c := range []struct {
		name   string
		data   string
		opts   CSVOptions
		err    error
		line   int
		column int
		words  string
	}{
		{"empty", "", CSVOptions{}, ErrHeader, 0, 0, "empty"},
		{"a BOM alone", "\ufeff", CSVOptions{}, ErrHeader, 0, 0, "empty"},
		{"blank first line", "\n" + header, CSVOptions{}, ErrHeader, 1, 0, "first line"},
		{"no reference", "sheba,amount,name,description\n", CSVOptions{}, ErrHeader, 1, 0, "missing column reference"},
		{"two missing", "amount,name,reference\n", CSVOptions{}, ErrHeader, 1, 0, "missing column sheba, description"},
		{"unknown column", "sheba,amount,name,description,reference,currency\n", CSVOptions{}, ErrHeader, 1, 41, `unknown column "currency"`},
		{"twice", "sheba,amount,name,description,reference,Amount\n", CSVOptions{IgnoreUnknownColumns: true}, ErrHeader, 1, 41, `"amount" appears twice, as columns 2 and 6`},
		{"no name", "sheba,,amount,name,description,reference\n", CSVOptions{}, ErrHeader, 1, 7, "column 2 has no name"},
		{"UTF-16", "\xff\xfes\x00h\x00", CSVOptions{}, ErrEncoding, 1, 0, "UTF-16"},
		{"not UTF-8", "sheba,amo\xe9unt,name,description,reference\n", CSVOptions{}, ErrEncoding, 1, 10, "0xe9"},
		{"bare quote", "sheba,am\"ount,name,description,reference\n", CSVOptions{}, ErrHeader, 1, 9, "quote"},
		{"quote never closes", "sheba,\"amount,name,description,reference\n", CSVOptions{}, ErrHeader, 1, 7, "never closes"},
		{"CR line endings", "sheba,amount,name,description,reference\rIR1,2,3,4,5\r", CSVOptions{}, ErrHeader, 1, 0, "carriage return"},
		{"too long", long + "," + header, CSVOptions{RecordBytesMax: 256}, ErrHeader, 1, 0, "longer than 256"},
		{"too many columns", many, CSVOptions{IgnoreUnknownColumns: true}, ErrHeader, 1, 0, "35 columns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewCSVReader(strings.NewReader(c.data), c.opts)
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, c.err) {
				t.Fatalf("got %v, want a *FileError wrapping %v", err, c.err)
			}
			if fe.Line != c.line || fe.Column != c.column || !strings.Contains(fe.Message, c.words) {
				t.Errorf("got line %d, character %d, %q; want line %d, character %d, saying %q", fe.Line, fe.Column, fe.Message, c.line, c.column, c.words)
			}
		})
	}
}

func TestCSVIgnoreUnknownColumns(t *testing.T) {
	melli := account(t, "017", "1")
	// An employee number, a department, and the unnamed columns a spreadsheet exports after the last one.
	data := "employee_id,Sheba,amount,name,department,description,reference,,\n" +
		"E-17," + melli + ",1000,علی,\"مالی, حسابداری\",,R-1,,\n"
	if _, err := NewCSVReader(strings.NewReader(data), CSVOptions{}); !errors.Is(err, ErrHeader) {
		t.Fatalf("unknown columns refused by default: got %v", err)
	}
	rows, errs, err := readAll(t, data, CSVOptions{IgnoreUnknownColumns: true})
	want := []Row{{Line: 2, SHEBA: melli, AmountRial: 1000, Name: "علی", Reference: "R-1"}}
	if err != nil || len(errs) > 0 || !reflect.DeepEqual(rows, want) {
		t.Errorf("got %+v, %v, %v; want %+v", rows, errs, err, want)
	}
}

// TestCSVRowErrors puts one bad row between two good ones: the bad one is reported at its row, field and
// character, and the good ones are read as if it were not there.
func TestCSVRowErrors(t *testing.T) {
	melli := account(t, "017", "1")
	good := func(ref string) string { return melli + ",1000,علی,حقوق," + ref + "\n" }
	forty := melli + strings.Repeat(",x", 39)
	for _, c := range []struct {
		name   string
		bad    string
		code   Code
		field  string
		column func(line string) int // 0 for none
		hint   bool
	}{
		{"bare quote", melli + `,1000,عل"ی,d,R`, CodeCSVSyntax, ColumnName, func(l string) int { return col(t, l, `"`, 0) }, false},
		{"after a closing quote", melli + `,"1000"x,n,d,R`, CodeCSVSyntax, ColumnAmount, func(l string) int { return col(t, l, "x", 0) }, false},
		{"four fields", melli + ",1000,n,d", CodeFieldCount, "", nil, false},
		{"an unquoted grouped amount", melli + ",1,500,000,n,d,R", CodeFieldCount, "", nil, true},
		{"too many fields", forty, CodeFieldsTooMany, "", nil, false},
		{"not UTF-8", melli + ",1000,ab\xffc,d,R", CodeUTF8Invalid, ColumnName, func(l string) int { return col(t, l, "\xff", 0) }, false},
		{"not UTF-8 in the description", melli + ",1000,n,\"x\xc3\",R", CodeUTF8Invalid, ColumnDescription, func(l string) int { return col(t, l, "\xc3", 0) }, false},
		{"lakh grouping", melli + `,"1,50,000",n,d,R`, CodeAmountInvalid, ColumnAmount, func(l string) int { return col(t, l, `"1,50,000"`, 5) }, false},
		{"no amount", melli + ",,n,d,R", CodeAmountInvalid, ColumnAmount, func(l string) int { return col(t, l, ",,", 1) }, false},
		{"a unit", melli + ",۱۵۰ ریال,n,d,R", CodeAmountInvalid, ColumnAmount, func(l string) int { return col(t, l, " ریال", 0) }, false},
		{"decimals", melli + ",  12.5,n,d,R", CodeAmountInvalid, ColumnAmount, func(l string) int { return col(t, l, ".", 0) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := header + good("R1") + c.bad + "\n" + good("R3")
			rows, errs, err := readAll(t, data, CSVOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].Line != 2 || rows[0].Reference != "R1" || rows[1].Line != 4 || rows[1].Reference != "R3" {
				t.Errorf("good rows %+v: want R1 on line 2 and R3 on line 4", rows)
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			e := errs[0]
			wantCol := 0
			if c.column != nil {
				wantCol = c.column(c.bad)
			}
			if e.Code != c.code || e.Field != c.field || e.Row != 3 || e.Line != 3 || e.Column != wantCol {
				t.Errorf("got %s on %q, row %d, line %d, character %d (%s); want %s on %q, row 3, line 3, character %d",
					e.Code, e.Field, e.Row, e.Line, e.Column, e.Message, c.code, c.field, wantCol)
			}
			if (e.Hint != "") != c.hint {
				t.Errorf("hint %q", e.Hint)
			}
			if !strings.Contains(e.Error(), "row 3") {
				t.Errorf("Error() %q does not name the row", e.Error())
			}
		})
	}
}

// TestCSVMultilineRecords: a record is named by the line it starts on, and a fault on a later line of it is
// placed on that line.
func TestCSVMultilineRecords(t *testing.T) {
	melli := account(t, "017", "1")
	data := header +
		melli + ",1000,\"نام\nدو\nسه\",d,R1\n" + // lines 2–4
		melli + ",2000,\"خط یک\nab\xffc\",d,R2\n" + // lines 5–6: the bad byte on line 6
		melli + ",3000,n,d,R3\n" // line 7
	rows, errs, err := readAll(t, data, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 2 || rows[0].Name != "نام\nدو\nسه" || rows[1].Line != 7 {
		t.Errorf("rows %+v", rows)
	}
	if len(errs) != 1 || errs[0].Row != 5 || errs[0].Line != 6 || errs[0].Column != 3 || errs[0].Code != CodeUTF8Invalid || errs[0].Field != ColumnName {
		t.Errorf("errors %+v: want utf8_invalid on name, row 5, line 6, character 3", errs)
	}
}

func TestCSVUnterminatedQuote(t *testing.T) {
	melli := account(t, "017", "1")
	data := header + melli + ",1000,n,d,R1\n" + melli + ",1000,\"n,d,R2\n" + melli + ",1000,n,d,R3\n"
	rows, errs, err := readAll(t, data, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Reference != "R1" {
		t.Errorf("rows %+v: want R1 alone", rows)
	}
	bad := melli + ",1000,\"n,d,R2"
	if len(errs) != 1 || errs[0].Code != CodeQuoteUnterminated || errs[0].Row != 3 || errs[0].Line != 3 || errs[0].Column != col(t, bad, `"`, 0) {
		t.Errorf("errors %+v: want quote_unterminated at the quote on line 3", errs)
	}
}

// TestCSVRecordTooLong: a record over the limit is refused and read to its end — through the line breaks
// of its quoted field, whose lines must never be taken for rows — and the next record is read as usual.
func TestCSVRecordTooLong(t *testing.T) {
	melli := account(t, "017", "1")
	opts := CSVOptions{RecordBytesMax: 256}
	smuggled := melli + ",1000,n,d,SMUGGLED"
	data := header +
		melli + ",1000,n," + strings.Repeat("د", 200) + ",R1\n" + // line 2: 400 bytes of description
		melli + ",1000,n,\"" + strings.Repeat("x", 100) + "\n" + smuggled + "\n" + strings.Repeat("y", 200) + "\",R2\n" + // lines 3–5
		melli + ",1000,n,d,R3\n" + // line 6
		melli + ",1000,n," + strings.Repeat("z", 5000) + ",R4\n" + // line 7: longer than the reader's buffer
		melli + ",1000,n,d,R5\n" // line 8
	rows, errs, err := readAll(t, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 6 || rows[0].Reference != "R3" || rows[1].Line != 8 || rows[1].Reference != "R5" {
		t.Errorf("rows %+v: want R3 on line 6 and R5 on line 8 only", rows)
	}
	var lines []int
	for _, e := range errs {
		if e.Code != CodeRecordTooLong {
			t.Errorf("error %v, want record_too_long", e)
		}
		lines = append(lines, e.Row)
	}
	if !reflect.DeepEqual(lines, []int{2, 3, 7}) {
		t.Errorf("too long on rows %v, want 2, 3, 7", lines)
	}
	// Under the package's limit, the same file reads every record but the 5,000-byte one.
	rows, _, _ = readAll(t, data, CSVOptions{})
	if len(rows) != 4 {
		t.Errorf("with the default limit: %d rows, want 4", len(rows))
	}
}

func TestCSVRowsMax(t *testing.T) {
	melli := account(t, "017", "1")
	row := melli + ",1000,n,d,R\n"
	data := header + row + "\n" + row + ",,,,\n" + row
	// Blank records are not rows: three rows fit a limit of three.
	if rows, _, err := readAll(t, data, CSVOptions{RowsMax: 3}); err != nil || len(rows) != 3 {
		t.Errorf("limit 3: %d rows, %v", len(rows), err)
	}
	r, err := NewCSVReader(strings.NewReader(data), CSVOptions{RowsMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := drain(r)
	var fe *FileError
	if len(rows) != 2 || !errors.As(err, &fe) || !errors.Is(err, ErrRowsTooMany) || fe.Line != 6 {
		t.Errorf("limit 2: %d rows, %v; want 2 rows, then ErrRowsTooMany on line 6", len(rows), err)
	}
	if _, again := r.Next(); again != err {
		t.Errorf("Next after the file's error: %v, want the same error", again)
	}
	if r.Rows() != 2 {
		t.Errorf("Rows() = %d, want 2", r.Rows())
	}
}

func TestCSVFileBytesMax(t *testing.T) {
	melli := account(t, "017", "1")
	data := header + melli + ",1000,n,d,R1\n" + melli + ",1000,n,d,R2\n"
	if rows, _, err := readAll(t, data, CSVOptions{FileBytesMax: int64(len(data))}); err != nil || len(rows) != 2 {
		t.Errorf("a file of exactly the limit: %d rows, %v", len(rows), err)
	}
	rows, _, err := readAll(t, data, CSVOptions{FileBytesMax: int64(len(data) - 1)})
	if !errors.Is(err, ErrFileTooLarge) || len(rows) != 1 {
		t.Errorf("a byte over: %d rows, %v; want the first row, then ErrFileTooLarge", len(rows), err)
	}
	_, _, err = readAll(t, data, CSVOptions{FileBytesMax: 10})
	if !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("a limit inside the header: %v", err)
	}
}

func TestCSVOptionsAboveLimits(t *testing.T) {
	for _, o := range []CSVOptions{
		{RowsMax: CSVRowsMax + 1}, {FileBytesMax: CSVFileBytesMax + 1}, {RecordBytesMax: CSVRecordBytesMax + 1}, {RowsMax: -1},
	} {
		if _, err := NewCSVReader(strings.NewReader(header), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
	}
}

func TestCSVSourceError(t *testing.T) {
	boom := errors.New("disk on fire")
	melli := account(t, "017", "1")
	src := io.MultiReader(strings.NewReader(header+melli+",1000,n,d,R1\n"+melli+",10"), iotest.ErrReader(boom))
	r, err := NewCSVReader(src, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := drain(r)
	var fe *FileError
	if len(rows) != 1 || !errors.As(err, &fe) || !errors.Is(err, boom) || fe.Line != 3 {
		t.Errorf("%d rows, %v; want R1, then the source's error on line 3", len(rows), err)
	}
}

// TestCSVReject places Validate's rejections in the line: the SHEBA's own character position, the start of
// a field otherwise.
func TestCSVReject(t *testing.T) {
	bad := "  IR82 0540 1026 8002 0817 9090 03" // typed with spaces, wrong check digits
	line := "R1,  \"" + bad + "\",1000,علی,"
	data := "reference,sheba,amount,name,description\n" + line + "\n"
	r, err := NewCSVReader(strings.NewReader(data), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	row, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	_, rej, err := Validate(row.Entry(employer), testEnv(t, "seed"))
	if err != nil || rej == nil || rej.Code != CodeSHEBAInvalid {
		t.Fatalf("Validate: %v, %v; want sheba_invalid", rej, err)
	}
	e := r.Reject(row, rej)
	// The check digits are the third character of the trimmed SHEBA: "82" after "IR".
	if e.Row != 2 || e.Line != 2 || e.Field != ColumnSHEBA || e.Column != col(t, line, "82 ", 0) {
		t.Errorf("got %+v; want sheba at character %d", e, col(t, line, "82 ", 0))
	}
	// A fault of a whole value is placed at the value's start.
	e = r.Reject(row, &Rejection{Code: CodeAmountAtOrOverCap, Field: FieldAmount})
	if e.Field != ColumnAmount || e.Column != col(t, line, "1000", 0) {
		t.Errorf("amount placed at %d, want %d", e.Column, col(t, line, "1000", 0))
	}
	// The description is empty: placed where it would start.
	e = r.Reject(row, &Rejection{Code: CodeDescriptionInvalid, Field: FieldDescription})
	if want := utf8.RuneCountInString(line) + 1; e.Column != want {
		t.Errorf("empty description placed at %d, want %d", e.Column, want)
	}
	for _, f := range []func(){
		func() { r.Reject(Row{Line: 9}, rej) },
		func() { r.Reject(row, &Rejection{Code: CodeBankSuspended, Field: FieldOriginatingBank}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Reject of another row, or of a field no column fills, did not panic")
				}
			}()
			f()
		}()
	}
}

func TestFileErrorText(t *testing.T) {
	for _, c := range []struct {
		e    FileError
		want string
	}{
		{FileError{Line: 1, Column: 4, Message: "m"}, "ach: csv: line 1, character 4: m"},
		{FileError{Line: 7, Message: "m"}, "ach: csv: line 7: m"},
		{FileError{Message: "m"}, "ach: csv: m"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}
