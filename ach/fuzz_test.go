package ach

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/tasvieh/tasvieh/rulebook"
)

// FuzzCSVReader reads any bytes as a payroll file and checks:
//   - nothing panics, and every error is a *FileError or a *RowError;
//   - rows and row errors come in file order, each named by a line ≥ 2 (the header is line 1), a fault's
//     line at or after its row's, the field one of the header's columns;
//   - DryRunCSV counts every row once: rows = accepted + rejected = what Next returned;
//   - round trip: the well-formed rows, written back as CSV and read again, read as the same values;
//   - oracle: when encoding/csv reads the same bytes without error and this reader finds no fault of CSV
//     structure, both see the same records, starting on the same lines, with the same values.
func FuzzCSVReader(f *testing.F) {
	fixture, err := os.ReadFile("../testdata/payroll/payroll-1404-01.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	melli := account(f, "017", "1")
	for _, s := range []string{
		header + melli + ",1000,n,d,R\n",
		header + melli + ",\"1,500,000\",\"a\nb\",\"x \"\"y\"\"\",R\r\n\r\n,,,,\n",
		header + melli + ",1000,\"never closed,d,R\n" + melli + ",1,n,d,R\n",
		header + melli + ",1000,a\"b,d,R\n\"x\"y,1,2,3,4\n",
		"\ufeffReference,Sheba,AMOUNT,name,description\r\nR," + melli + ",۱۴۹٬۹۹۹٬۹۹۹,علی,\xff\r",
		header + strings.Repeat("x", 600) + "\n" + melli + ",1,n,d,R",
		"sheba,amount\n",
		"",
	} {
		f.Add([]byte(s))
	}
	env := testEnv(f, "seed")
	f.Fuzz(func(t *testing.T, data []byte) { checkCSVReader(t, data, env) })
}

// checkCSVReader is FuzzCSVReader's check of one input.
func checkCSVReader(t *testing.T, data []byte, env Env) {
	opts := CSVOptions{RecordBytesMax: 512, RowsMax: 2000}
	{
		r, err := NewCSVReader(bytes.NewReader(data), opts)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Line < 0 || fe.Column < 0 || fe.Message == "" {
				t.Fatalf("NewCSVReader: %#v", err)
			}
			return
		}
		type record struct {
			line int
			vals [colCount]string
		}
		var (
			good       []Row
			records    []record // every record but those with a fault of structure
			structural bool
			n          int
			prev       = 1
		)
		for {
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			var re *RowError
			var fe *FileError
			switch {
			case errors.As(err, &re):
				if re.Row != row.Line || re.Row <= prev || re.Line < re.Row || re.Column < 0 || re.Code < CodeQuoteUnterminated || re.Code > CodeAmountInvalid || re.Message == "" {
					t.Fatalf("row error %+v after line %d (row %+v)", re, prev, row)
				}
				if re.Field != "" && !contains(r.names, re.Field) {
					t.Fatalf("row error %+v names a field not in the header %q", re, r.names)
				}
				if re.Code < CodeUTF8Invalid {
					structural = true
				} else {
					records = append(records, record{row.Line, [colCount]string{row.SHEBA, "", row.Name, row.Description, row.Reference}})
				}
				prev = re.Row
			case errors.As(err, &fe):
				structural = true
			case err != nil:
				t.Fatalf("Next: %#v", err)
			default:
				if row.Line <= prev || row.AmountRial < 0 || row.AmountRial > rulebook.AmountRialMax {
					t.Fatalf("row %+v after line %d", row, prev)
				}
				for _, v := range []string{row.SHEBA, row.Name, row.Description, row.Reference} {
					if strings.TrimFunc(v, unicode.IsSpace) != v {
						t.Fatalf("row %+v: value %q is not trimmed", row, v)
					}
				}
				good = append(good, row)
				records = append(records, record{row.Line, [colCount]string{row.SHEBA, "", row.Name, row.Description, row.Reference}})
				prev = row.Line
			}
			if fe != nil {
				break
			}
			n++
		}
		if n != r.Rows() {
			t.Fatalf("Next returned %d rows, Rows() says %d", n, r.Rows())
		}

		rep, err := DryRunCSV(bytes.NewReader(data), opts, employer, env)
		var fe *FileError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("DryRunCSV: %v", err)
		}
		if rep.Rows != rep.Accepted+rep.Rejected || rep.Rows != n {
			t.Fatalf("report: %d rows, %d accepted, %d rejected; Next returned %d", rep.Rows, rep.Accepted, rep.Rejected, n)
		}
		for _, e := range rep.Errors {
			if e.Row < 2 || e.Line < e.Row || e.Column < 0 {
				t.Fatalf("report error %+v", e)
			}
		}

		// Round trip.
		again, errs, err := readAll(t, writeCSV(good), CSVOptions{})
		if err != nil || len(errs) > 0 || len(again) != len(good) {
			t.Fatalf("written back, %d rows read as %d, %v, %v", len(good), len(again), errs, err)
		}
		for i := range good {
			a, b := good[i], again[i]
			a.Line, b.Line = 0, 0
			if a != b {
				t.Fatalf("row %d written back reads as\n%+v\nwas\n%+v", good[i].Line, b, a)
			}
		}

		// Oracle.
		if structural {
			return
		}
		oracle, ok := readOracle(bytes.TrimPrefix(data, []byte("\ufeff")))
		if !ok || len(oracle) == 0 || oracle[0].line != 1 {
			return
		}
		var rest []oracleRecord
		for _, o := range oracle[1:] {
			if !o.blank() {
				rest = append(rest, o)
			}
		}
		if len(rest) != len(records) {
			t.Fatalf("encoding/csv reads %d records after the header, this reader %d", len(rest), len(records))
		}
		for i, o := range rest {
			if o.line != records[i].line || len(o.fields) != len(r.names) {
				t.Fatalf("record %d: encoding/csv at line %d with %d fields, this reader at line %d", i, o.line, len(o.fields), records[i].line)
			}
			for k, v := range records[i].vals {
				if k == colAmount {
					continue
				}
				if want := strings.TrimFunc(o.fields[r.header[k]], unicode.IsSpace); v != want {
					t.Fatalf("record at line %d, %s: %q, encoding/csv %q", o.line, columns[k], v, want)
				}
			}
		}
	}
}

type oracleRecord struct {
	line   int
	fields []string
}

func (o oracleRecord) blank() bool {
	for _, f := range o.fields {
		if strings.TrimFunc(f, unicode.IsSpace) != "" {
			return false
		}
	}
	return true
}

// readOracle reads data with encoding/csv, reporting false on any error.
func readOracle(data []byte) ([]oracleRecord, bool) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []oracleRecord
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		line, _ := cr.FieldPos(0)
		out = append(out, oracleRecord{line, rec})
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// writeCSV writes rows as a payroll file, every field quoted, amounts in ASCII digits.
func writeCSV(rows []Row) string {
	var b strings.Builder
	b.WriteString(header)
	for _, r := range rows {
		for i, v := range []string{r.SHEBA, strconv.FormatInt(r.AmountRial, 10), r.Name, r.Description, r.Reference} {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strings.ReplaceAll(v, `"`, `""`) + `"`)
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

// FuzzParseAmount reads any text as an amount: nothing panics, a failure says where within the text, and
// an amount read is the number its digits spell, which every other accepted form of it reads as too.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1,500,000", "۱۴۹٬۹۹۹٬۹۹۹", "٧٠،٠٠٠", "1,50,000", "12.5", "-1", "\u200f۱۲", "0001", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, p, reason := parseAmount(s)
		if reason != "" {
			if p < 0 || p > len([]rune(s)) || v != 0 {
				t.Fatalf("parseAmount(%q) = %d, at %d, %q", s, v, p, reason)
			}
			return
		}
		if v < 0 || v > rulebook.AmountRialMax {
			t.Fatalf("parseAmount(%q) = %d", s, v)
		}
		var digits strings.Builder
		for _, r := range s {
			if d := digitValue(r); d >= 0 {
				digits.WriteByte(byte('0' + d))
			}
		}
		if n, err := strconv.ParseInt(digits.String(), 10, 64); err != nil || n != v {
			t.Fatalf("parseAmount(%q) = %d, its digits spell %q", s, v, digits.String())
		}
		for _, form := range amountForms(v) {
			if w, _, reason := parseAmount(form); reason != "" || w != v {
				t.Fatalf("%q reads as %d but %q as %d, %q", s, v, form, w, reason)
			}
		}
	})
}
