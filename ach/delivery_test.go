package ach

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	moov "github.com/moov-io/ach"

	"github.com/tasvieh/tasvieh/calendar"
)

const (
	testCycle  = "2025-06-01T09:45"
	testJalali = "1404/03/11 09:45"
)

func TestReturnCodeText(t *testing.T) {
	names := []string{"account_not_found", "account_closed", "account_blocked", "insufficient_funds", "no_mandate", "mandate_limit_exceeded", "mandate_revoked"}
	for i, name := range names {
		c, err := ParseReturnCode(name)
		if err != nil || c != ReturnCode(i+1) || c.String() != name || !c.Valid() {
			t.Errorf("ParseReturnCode(%s) = %d, %v", name, c, err)
		}
		b, err := c.MarshalText()
		var back ReturnCode
		if err != nil || back.UnmarshalText(b) != nil || back != c {
			t.Errorf("%s: marshals to %q, %v; reads back %s", name, b, err, back)
		}
	}
	for _, s := range []string{"", "none", "Account_Closed", "ok"} {
		if _, err := ParseReturnCode(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseReturnCode(%q): %v, want ErrSyntax", s, err)
		}
	}
	var none ReturnCode
	if b, err := none.MarshalText(); err != nil || len(b) != 0 || none.Valid() {
		t.Errorf("ReturnNone marshals to %q, %v", b, err)
	}
	if err := none.UnmarshalText(nil); err != nil || none != ReturnNone {
		t.Errorf("empty text reads as %s, %v", none, err)
	}
	if _, err := returnCodeCount.MarshalText(); !errors.Is(err, ErrSyntax) {
		t.Errorf("a value beyond the codes marshals: %v", err)
	}
}

func TestReturnCodeApplies(t *testing.T) {
	tests := []struct {
		code          ReturnCode
		credit, debit bool
	}{
		{ReturnNone, false, false},
		{ReturnAccountNotFound, true, true},
		{ReturnAccountClosed, true, true},
		{ReturnAccountBlocked, true, true},
		{ReturnInsufficientFunds, false, true},
		{ReturnNoMandate, false, true},
		{ReturnMandateLimitExceeded, false, true},
		{ReturnMandateRevoked, false, true},
		{returnCodeCount, false, false},
	}
	for _, tt := range tests {
		if got := tt.code.Applies(CoreCredit); got != tt.credit {
			t.Errorf("%s.Applies(credit) = %v, want %v", tt.code, got, tt.credit)
		}
		if got := tt.code.Applies(CoreDebit); got != tt.debit {
			t.Errorf("%s.Applies(debit) = %v, want %v", tt.code, got, tt.debit)
		}
		if tt.code.Applies(0) {
			t.Errorf("%s applies to no core", tt.code)
		}
	}
}

// delivered is a credit from a Parsian customer to a Melli one, delivered to 017.
func delivered(t testing.TB) Delivered {
	return Delivered{
		ID: "0196b1a2-7c3d-7abc-8def-0123456789ab", Core: CoreCredit, OriginatingBank: "054", ReceivingBank: "017",
		PayerSHEBA: parsianSHEBA, PayerName: "شرکت نمونه پارس",
		PayeeSHEBA: account(t, "017", "123456789"), PayeeName: "علی\u200cرضا کریمی",
		AmountRial: 50_000_000, Description: "حقوق خرداد ۱۴۰۴", Reference: "PAY-1404-03-001",
	}
}

// deliveredDebit is validDebit as delivered to 017, the payer's bank.
func deliveredDebit(t testing.TB) Delivered {
	e := validDebit(t)
	return Delivered{
		ID: "0196b1a2-7c3d-7abc-8def-00000000d001", Core: CoreDebit, OriginatingBank: "012", ReceivingBank: "017",
		PayerSHEBA: e.PayerSHEBA, PayerName: e.PayerName, PayeeSHEBA: e.PayeeSHEBA, PayeeName: e.PayeeName,
		AmountRial: e.AmountRial, Description: e.Description, Reference: e.Reference, MandateID: e.MandateID,
	}
}

// from is a next function over ds.
func from(ds []Delivered) func() (Delivered, bool, error) {
	i := 0
	return func() (Delivered, bool, error) {
		if i == len(ds) {
			return Delivered{}, false, nil
		}
		i++
		return ds[i-1], true, nil
	}
}

func readAllDelivered(t testing.TB, b []byte) ([]Delivered, DeliverySummary, error) {
	t.Helper()
	var got []Delivered
	sum, err := ReadDeliveryCSV(bytes.NewReader(b), func(d Delivered) error {
		got = append(got, d)
		return nil
	})
	return got, sum, err
}

// textPieces are what the generated text is made of: Persian, the zero-width non-joiner, commas, quotes,
// line breaks, tabs, the characters a spreadsheet starts a formula with, a single quote, spaces, a
// four-byte character.
var textPieces = []string{"علی", "رضا", "\u200c", "۱۴۰۴", ",", `"`, `""`, "\n", "\t", "=", "+", "-", "@", "'", " ", "Co.", "😀", "a", "٬"}

func genText(r *rand.Rand, maxRunes int, required bool) string {
	for {
		var b strings.Builder
		for n := r.IntN(8); n >= 0; n-- {
			b.WriteString(textPieces[r.IntN(len(textPieces))])
		}
		s := b.String()
		if rs := []rune(s); len(rs) > maxRunes {
			s = string(rs[:maxRunes])
		}
		if !required || strings.TrimSpace(s) != "" {
			return s
		}
	}
}

var deliveryBanks = []string{"012", "017", "054", "057", "022"}

// genDelivered is a random valid Delivered.
func genDelivered(t testing.TB, r *rand.Rand, i int) Delivered {
	d := Delivered{
		ID:              fmt.Sprintf("0196b1a2-7c3d-7abc-8def-%012x", i),
		Core:            Core(1 + r.IntN(2)),
		OriginatingBank: deliveryBanks[r.IntN(len(deliveryBanks))],
		ReceivingBank:   "017",
		PayerSHEBA:      account(t, deliveryBanks[r.IntN(len(deliveryBanks))], fmt.Sprint(r.IntN(1e9))),
		PayerName:       genText(r, NameLenMax, true),
		PayeeSHEBA:      account(t, deliveryBanks[r.IntN(len(deliveryBanks))], fmt.Sprint(r.IntN(1e9))),
		PayeeName:       genText(r, NameLenMax, true),
		AmountRial:      1 + r.Int64N(NACHAAmountMax),
		Description:     genText(r, DescriptionLenMax, false),
		Reference:       genText(r, ReferenceLenMax, true),
	}
	if d.Core == CoreDebit && r.IntN(2) == 0 {
		d.MandateID = "-" + fmt.Sprintf("%x", r.Uint32()) // a mandate id may start with '-'
	}
	if r.IntN(4) == 0 {
		d.ReturnOf = fmt.Sprintf("0196b1a2-7c3d-7abc-8def-%012x", r.IntN(1000))
		d.ReturnCode = ReturnCode(1 + r.IntN(int(returnCodeCount)-1))
	}
	return d
}

// TestDeliveryCSVRoundTrip: generated deliveries — Persian text, commas, quotes, line breaks, formula
// prefixes — read back to the same values, and no cell of the file starts a formula.
func TestDeliveryCSVRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1404))
	for round := range 50 {
		in := make([]Delivered, r.IntN(40))
		var want DeliverySummary
		want.Cycle, want.Jalali = testCycle, testJalali
		for i := range in {
			in[i] = genDelivered(t, r, i)
			want.add(in[i])
		}
		var buf bytes.Buffer
		wsum, err := WriteDeliveryCSV(&buf, testCycle, testJalali, from(in))
		if err != nil {
			t.Fatalf("round %d: WriteDeliveryCSV: %v", round, err)
		}
		got, rsum, err := readAllDelivered(t, buf.Bytes())
		if err != nil {
			t.Fatalf("round %d: ReadDeliveryCSV: %v\n%s", round, err, buf.Bytes())
		}
		if !slices.Equal(got, in) {
			for i := range min(len(got), len(in)) {
				if got[i] != in[i] {
					t.Fatalf("round %d entry %d:\n got %+v\nwant %+v", round, i+1, got[i], in[i])
				}
			}
			t.Fatalf("round %d: read %d entries, wrote %d", round, len(got), len(in))
		}
		if len(in) == 0 {
			want.Cycle, want.Jalali = "", "" // a delivery without entries is its header alone
		}
		if rsum != want || wsum.Entries != want.Entries || wsum.CreditRial != want.CreditRial || wsum.DebitRial != want.DebitRial {
			t.Errorf("round %d: summaries read %+v, written %+v; want %+v", round, rsum, wsum, want)
		}
		cr := csv.NewReader(bytes.NewReader(buf.Bytes()))
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r\n", rune(cell[0])) {
					t.Fatalf("round %d: cell %q starts a formula", round, cell)
				}
			}
		}
	}
}

func TestDeliveryCSVGolden(t *testing.T) {
	d := delivered(t)
	d.PayeeName = "=HYPERLINK(\"x\")"
	d.Description = "'quoted, already"
	var buf bytes.Buffer
	if _, err := WriteDeliveryCSV(&buf, testCycle, testJalali, from([]Delivered{d})); err != nil {
		t.Fatal(err)
	}
	want := "cycle,cycle_jalali,id,core,originating_bank,receiving_bank,payer_sheba,payer_name,payee_sheba,payee_name,amount_rial,description,reference,mandate_id,return_of,return_code\n" +
		testCycle + "," + testJalali + ",0196b1a2-7c3d-7abc-8def-0123456789ab,credit,054,017," + parsianSHEBA + ",شرکت نمونه پارس," + d.PayeeSHEBA +
		",\"'=HYPERLINK(\"\"x\"\")\",50000000,\"''quoted, already\",PAY-1404-03-001,,,\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestDeliveryCSVWidestRecord: the widest record the writer can make fits DeliveryCSVRecordBytesMax and
// reads back.
func TestDeliveryCSVWidestRecord(t *testing.T) {
	wide := func(n int) string { return "=" + strings.Repeat("😀", n-1) }
	d := deliveredDebit(t)
	d.ID = "-" + strings.Repeat("\"", DeliveryIDLenMax-1)
	d.PayerName, d.PayeeName, d.Description = wide(NameLenMax), wide(NameLenMax), wide(DescriptionLenMax)
	d.Reference = wide(ReferenceLenMax)
	d.MandateID = "-" + strings.Repeat("a", MandateIDLenMax-1)
	d.ReturnOf, d.ReturnCode = d.ID, ReturnMandateLimitExceeded
	cycle := "=" + strings.Repeat("😀", DeliveryCycleLenMax-1)
	var buf bytes.Buffer
	if _, err := WriteDeliveryCSV(&buf, cycle, cycle, from([]Delivered{d})); err != nil {
		t.Fatal(err)
	}
	_, header, _ := strings.Cut(buf.String(), "\n")
	if n := len(header); n > DeliveryCSVRecordBytesMax {
		t.Errorf("the widest record has %d bytes, over DeliveryCSVRecordBytesMax %d", n, DeliveryCSVRecordBytesMax)
	} else {
		t.Logf("the widest record has %d bytes", n)
	}
	got, _, err := readAllDelivered(t, buf.Bytes())
	if err != nil || len(got) != 1 || got[0] != d {
		t.Errorf("read back %+v, %v", got, err)
	}
}

func TestWriteDeliveryCSVErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Delivered)
		column string
		in     string
	}{
		{"no id", func(d *Delivered) { d.ID = "" }, "id", "missing"},
		{"id not ASCII", func(d *Delivered) { d.ID = "شناسه" }, "id", "printable ASCII"},
		{"id too long", func(d *Delivered) { d.ID = strings.Repeat("a", DeliveryIDLenMax+1) }, "id", "65 bytes"},
		{"no core", func(d *Delivered) { d.Core = 0 }, "core", "credit or debit"},
		{"originating bank", func(d *Delivered) { d.OriginatingBank = "54" }, "originating_bank", "3-digit"},
		{"receiving bank", func(d *Delivered) { d.ReceivingBank = "" }, "receiving_bank", "3-digit"},
		{"payer sheba", func(d *Delivered) { d.PayerSHEBA = breakChecksum(d.PayerSHEBA) }, "payer_sheba", "payer_sheba"},
		{"payee sheba not canonical", func(d *Delivered) { d.PayeeSHEBA = strings.ToLower(d.PayeeSHEBA) }, "payee_sheba", "canonical"},
		{"payer name missing", func(d *Delivered) { d.PayerName = "\n " }, "payer_name", "missing"},
		{"payee name too long", func(d *Delivered) { d.PayeeName = strings.Repeat("ن", NameLenMax+1) }, "payee_name", "141 characters"},
		{"description not UTF-8", func(d *Delivered) { d.Description = "\xff" }, "description", "UTF-8"},
		{"description with CR", func(d *Delivered) { d.Description = "a\r\nb" }, "description", "carriage return"},
		{"reference missing", func(d *Delivered) { d.Reference = "" }, "reference", "missing"},
		{"mandate id too long", func(d *Delivered) { d.MandateID = strings.Repeat("a", MandateIDLenMax+1) }, "mandate_id", "37 characters"},
		{"amount zero", func(d *Delivered) { d.AmountRial = 0 }, "amount_rial", "1 to"},
		{"amount over NACHA's", func(d *Delivered) { d.AmountRial = NACHAAmountMax + 1 }, "amount_rial", "1 to"},
		{"return code alone", func(d *Delivered) { d.ReturnCode = ReturnAccountClosed }, "return_code", "without return_of"},
		{"return of alone", func(d *Delivered) { d.ReturnOf = "x" }, "return_code", "says why"},
		{"return code beyond", func(d *Delivered) { d.ReturnOf, d.ReturnCode = "x", returnCodeCount }, "return_code", "not a return code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := delivered(t)
			tt.change(&d)
			_, err := WriteDeliveryCSV(io.Discard, testCycle, testJalali, from([]Delivered{delivered(t), d}))
			var de *DeliveryError
			if !errors.As(err, &de) || !errors.Is(err, ErrDeliveryEntry) {
				t.Fatalf("error %v: want a *DeliveryError wrapping ErrDeliveryEntry", err)
			}
			if de.Entry != 2 || de.Column != tt.column || !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %v: want entry 2, column %s, with %q", err, tt.column, tt.in)
			}
		})
	}
	for _, c := range []struct{ cycle, jalali, column string }{{"", testJalali, "cycle"}, {testCycle, "\t1404", "cycle_jalali"}, {strings.Repeat("9", 33), testJalali, "cycle"}} {
		_, err := WriteDeliveryCSV(io.Discard, c.cycle, c.jalali, from(nil))
		var de *DeliveryError
		if !errors.As(err, &de) || de.Column != c.column {
			t.Errorf("cycle %q %q: %v, want an error in column %s", c.cycle, c.jalali, err, c.column)
		}
	}
	boom := errors.New("boom")
	if _, err := WriteDeliveryCSV(io.Discard, testCycle, testJalali, func() (Delivered, bool, error) { return Delivered{}, false, boom }); err != boom {
		t.Errorf("next's error came back as %v", err)
	}
}

// csvLine is one record in the delivery CSV's columns, built from d as WriteDeliveryCSV would, then changed.
func csvLine(t testing.TB, d Delivered, change func([]string)) string {
	var buf bytes.Buffer
	if _, err := WriteDeliveryCSV(&buf, testCycle, testJalali, from([]Delivered{d})); err != nil {
		t.Fatal(err)
	}
	rec, err := csv.NewReader(strings.NewReader(strings.SplitN(buf.String(), "\n", 2)[1])).Read()
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(rec)
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	_ = w.Write(rec)
	w.Flush()
	return out.String()
}

func TestReadDeliveryCSVErrors(t *testing.T) {
	header := strings.Join(DeliveryCSVColumns, ",") + "\n"
	good := csvLine(t, delivered(t), nil)
	set := func(col int, v string) string { return csvLine(t, delivered(t), func(r []string) { r[col] = v }) }
	tests := []struct {
		name   string
		input  string
		err    error
		line   int
		column string
		in     string
	}{
		{"empty", "", ErrDeliveryCSV, 0, "", "no header"},
		{"header misspelt", strings.Replace(header, "payee_name", "payee", 1) + good, ErrDeliveryCSV, 1, "payee_name", "header column 10"},
		{"header short", "cycle,id\n", ErrDeliveryCSV, 1, "", "wrong number of fields"},
		{"field count", header + good + "a,b\n", ErrDeliveryCSV, 3, "", "wrong number of fields"},
		{"bare quote", header + good + strings.Replace(good, "PAY-", "PA\"Y-", 1), ErrDeliveryCSV, 3, "", "bare \""},
		{"unterminated quote", header + good + "\"" + good, ErrDeliveryCSV, 3, "", "extraneous or missing"},
		{"another cycle", header + good + set(dcCycle, "2025-06-01T12:45"), ErrDeliveryCSV, 3, "cycle", "2025-06-01T12:45"},
		{"another jalali", header + good + set(dcJalali, "1404/03/11 12:45"), ErrDeliveryCSV, 3, "cycle_jalali", "12:45"},
		{"no cycle", header + set(dcCycle, ""), ErrDeliveryEntry, 2, "cycle", "missing"},
		{"core", header + set(dcCore, "Credit"), ErrDeliveryEntry, 2, "core", "credit or debit"},
		{"amount with a sign", header + set(dcAmount, "+5"), ErrDeliveryEntry, 2, "amount_rial", `"+5"`},
		{"amount grouped", header + set(dcAmount, "50,000,000"), ErrDeliveryEntry, 2, "amount_rial", "digits"},
		{"amount 11 digits", header + set(dcAmount, "10000000000"), ErrDeliveryEntry, 2, "amount_rial", "digits"},
		{"amount zero", header + set(dcAmount, "0"), ErrDeliveryEntry, 2, "amount_rial", "1 to"},
		{"return code", header + set(dcReturnCode, "closed"), ErrDeliveryEntry, 2, "return_code", "names no return code"},
		{"sheba", header + good + good + set(dcPayeeSHEBA, "IR00"), ErrDeliveryEntry, 4, "payee_sheba", "payee_sheba"},
		{"after blank lines", header + "\n\n" + set(dcReference, ""), ErrDeliveryEntry, 4, "reference", "missing"},
		{"a long record", header + good + `"` + strings.Repeat("x", DeliveryCSVRecordBytesMax) + `"` + good[strings.IndexByte(good, ','):], ErrDeliveryTooLarge, 3, "", "longer than 4096"},
		{"a huge quoted field", header + good + `"` + strings.Repeat("x\n", 1<<20) + `"` + good[strings.IndexByte(good, ','):], ErrDeliveryTooLarge, 3, "", "longer than 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAllDelivered(t, []byte(tt.input))
			var de *DeliveryError
			if !errors.As(err, &de) || !errors.Is(err, tt.err) {
				t.Fatalf("error %v: want a *DeliveryError wrapping %v", err, tt.err)
			}
			if de.Line != tt.line || de.Column != tt.column || !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %v: want line %d, column %q, with %q", err, tt.line, tt.column, tt.in)
			}
		})
	}
}

// byteCounter counts the bytes read from it.
type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadDeliveryCSVBounded: a 64 MB quoted field is refused after reading little more than one record's
// limit of it, not held whole.
func TestReadDeliveryCSVBounded(t *testing.T) {
	header := strings.Join(DeliveryCSVColumns, ",") + "\n"
	huge := io.MultiReader(strings.NewReader(header+`"`), io.LimitReader(repeatReader('x'), 64<<20))
	cr := &byteCounter{r: huge}
	_, err := ReadDeliveryCSV(cr, func(Delivered) error { return nil })
	if !errors.Is(err, ErrDeliveryTooLarge) {
		t.Fatalf("error %v, want ErrDeliveryTooLarge", err)
	}
	if bound := int64(len(header) + DeliveryCSVRecordBytesMax + 2*csvBufferBytes); cr.n > bound {
		t.Errorf("read %d bytes of the input before refusing it, want at most %d", cr.n, bound)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestReadDeliveryCSVCallbackError(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteDeliveryCSV(&buf, testCycle, testJalali, from([]Delivered{delivered(t), deliveredDebit(t)})); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	sum, err := ReadDeliveryCSV(&buf, func(Delivered) error { n++; return stop })
	if err != stop || n != 1 || sum.Entries != 0 {
		t.Errorf("got %v after %d calls, summary %+v; want stop after 1", err, n, sum)
	}
}

// nachaDelivery is a delivery to 017 Melli from three banks, credits and debits, with names longer than
// the profile's 53 characters and references that do not fit its 15 ASCII characters.
func nachaDelivery(t testing.TB) []Delivered {
	long := strings.Repeat("نام ", 20) // 80 characters
	c1 := delivered(t)
	c2 := delivered(t)
	c2.ID, c2.OriginatingBank, c2.PayerSHEBA = "0196b1a2-7c3d-7abc-8def-0000000000c2", "057", pasargadSHEBA
	c2.PayeeName, c2.Reference = long, "حقوق-۱۴۰۴-۰۳" // Persian: not ASCII
	d1 := deliveredDebit(t)
	d1.Reference = "WTR-1403-12-778-LONGER" // ASCII, but 22 characters
	c3 := delivered(t)
	c3.ID, c3.PayeeName, c3.AmountRial = "0196b1a2-7c3d-7abc-8def-0000000000c3", "Acme Trading Co.", 7
	r := delivered(t) // a return of a debit 017 had originated, travelling back as a credit
	r.ID, r.OriginatingBank, r.ReturnOf, r.ReturnCode = "0196b1a2-7c3d-7abc-8def-0000000000r1", "012", "0196b1a2-7c3d-7abc-8def-000000000099", ReturnAccountClosed
	r.PayerSHEBA = account(t, "012", "900100200")
	return []Delivered{c2, d1, c1, r, c3}
}

// TestDeliveryNACHARoundTrip: a delivery written as NACHA reads back, with ReadNACHA and with moov-io/ach's
// own reader, to the same entries: amounts, SHEBAs, names, debit or credit, originating banks.
func TestDeliveryNACHARoundTrip(t *testing.T) {
	in := nachaDelivery(t)
	cutOff := time.Date(2025, 6, 1, 6, 15, 0, 0, time.UTC) // 09:45 Tehran
	var files []*bytes.Buffer
	sums, err := WriteDeliveryNACHA(func(int) (io.Writer, error) {
		files = append(files, new(bytes.Buffer))
		return files[len(files)-1], nil
	}, cutOff, "017", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || len(sums) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	// What the profile carries of each entry, in the file's order: by originating bank, stably.
	type carried struct {
		SHEBA, Name, Reference, Origin string
		Amount                         int64
		Debit                          bool
	}
	want := []carried{
		{in[1].PayerSHEBA, in[1].PayerName, "LONGER", "012", in[1].AmountRial, true}, // the id's tail: 8def00000000d001 → last 15
		{in[3].PayeeSHEBA, in[3].PayeeName, in[3].Reference, "012", in[3].AmountRial, false},
		{in[2].PayeeSHEBA, in[2].PayeeName, in[2].Reference, "054", in[2].AmountRial, false},
		{in[4].PayeeSHEBA, "Acme Trading Co.", in[4].Reference, "054", 7, false},
		{in[0].PayeeSHEBA, strings.TrimSpace(string([]rune(in[0].PayeeName)[:NACHANameMax])), "", "057", in[0].AmountRial, false},
	}
	want[0].Reference = strings.ReplaceAll(in[1].ID, "-", "")[32-15:]
	want[4].Reference = strings.ReplaceAll(in[0].ID, "-", "")[32-15:]

	var got []carried
	sum, err := ReadNACHA(bytes.NewReader(files[0].Bytes()), NACHAReadOptions{}, func(e NACHAEntry) error {
		if e.Problem != nil {
			t.Errorf("line %d: %v", e.Line, e.Problem)
		}
		got = append(got, carried{e.SHEBA, e.Name, e.Reference, e.OriginBank, e.AmountRial, e.Debit})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadNACHA:\n got %+v\nwant %+v", got, want)
	}
	if sum.Origin != "010" || sum.Destination != "017" || sum.Batches != 3 || sums[0] != sum {
		t.Errorf("summary read %+v, written %+v; want 010 → 017 in 3 batches", sum, sums[0])
	}

	r := moov.NewReader(bytes.NewReader(files[0].Bytes()))
	r.SetValidation(&moov.ValidateOpts{AllowSpecialCharacters: true})
	f, err := r.Read()
	if err != nil {
		t.Fatalf("moov-io/ach reads the file: %v", err)
	}
	if o, _ := ParseNACHARouting(strings.TrimSpace(f.Header.ImmediateOrigin)); o != "010" {
		t.Errorf("immediate origin %q, want 010's routing number", f.Header.ImmediateOrigin)
	}
	if d, _ := ParseNACHARouting(strings.TrimSpace(f.Header.ImmediateDestination)); d != "017" {
		t.Errorf("immediate destination %q, want 017's routing number", f.Header.ImmediateDestination)
	}
	var moovGot []carried
	for _, b := range f.Batches {
		origin := strings.TrimPrefix(b.GetHeader().ODFIIdentification, "00000")
		for _, e := range b.GetEntries() {
			if e.Addenda05 == nil || len(e.Addenda05) != 1 {
				t.Fatalf("entry %s: addenda %v", e.TraceNumber, e.Addenda05)
			}
			info := e.Addenda05[0].PaymentRelatedInformation
			sh, name, _ := strings.Cut(info, " ")
			moovGot = append(moovGot, carried{sh, strings.TrimSpace(name), strings.TrimSpace(e.IdentificationNumber), origin, int64(e.Amount), e.TransactionCode == moov.CheckingDebit})
		}
	}
	if !slices.Equal(moovGot, want) {
		t.Errorf("moov-io/ach:\n got %+v\nwant %+v", moovGot, want)
	}
	if f.Header.FileCreationDate != "250601" || f.Header.FileCreationTime != "0945" {
		t.Errorf("created %s %s, want 250601 0945 (the cut-off, Tehran)", f.Header.FileCreationDate, f.Header.FileCreationTime)
	}
}

func TestWriteDeliveryNACHAErrors(t *testing.T) {
	cutOff := calendar.DateOf(time.Date(2025, 6, 1, 6, 15, 0, 0, time.UTC)).At(9, 45)
	never := func(int) (io.Writer, error) {
		t.Error("a file was opened for a delivery that cannot be written")
		return io.Discard, nil
	}
	wrong := delivered(t)
	wrong.ReceivingBank = "012"
	if _, err := WriteDeliveryNACHA(never, cutOff, "017", []Delivered{delivered(t), wrong}); !errors.Is(err, ErrDeliveryEntry) || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("another bank's entry: %v", err)
	}
	bad := delivered(t)
	bad.AmountRial = 0
	if _, err := WriteDeliveryNACHA(never, cutOff, "017", []Delivered{bad}); !errors.Is(err, ErrDeliveryEntry) || !strings.Contains(err.Error(), "amount_rial") {
		t.Errorf("a bad entry: %v", err)
	}
	if sums, err := WriteDeliveryNACHA(never, cutOff, "017", nil); err != nil || sums != nil {
		t.Errorf("no entries: %v, %v; want no files", sums, err)
	}
}

func TestDeliveryNACHAName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"علی\u200cرضا", "علی\u200cرضا"},
		{"  Acme \n Co. ", "Acme   Co."},
		{"\n\t", "-"},
		{"a\uFFFDb", "a b"},
		{strings.Repeat("ب", 52) + " x", strings.Repeat("ب", 52)},
		{strings.Repeat("ب", 60), strings.Repeat("ب", 53)},
	}
	for _, tt := range tests {
		got := DeliveryNACHAName(tt.in)
		if got != tt.want || utf8.RuneCountInString(got) > NACHANameMax {
			t.Errorf("DeliveryNACHAName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDeliveryNACHAReference(t *testing.T) {
	id := "0196b1a2-7c3d-7abc-8def-0123456789ab"
	tests := []struct{ ref, want string }{
		{"PAY-1", "PAY-1"},
		{"  PAY-1  ", "PAY-1"},
		{"123456789012345", "123456789012345"},
		{"PAY-1404-03-0001", "def0123456789ab"}, // 16 characters
		{"1234567890123456", "def0123456789ab"},
		{"حقوق", "def0123456789ab"},
	}
	for _, tt := range tests {
		if got := DeliveryNACHAReference(Delivered{ID: id, Reference: tt.ref}); got != tt.want {
			t.Errorf("DeliveryNACHAReference(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

// FuzzReadDeliveryCSV checks that ReadDeliveryCSV never panics, that its errors say where, and that what it
// reads without error round-trips: written again and read again, the same entries.
func FuzzReadDeliveryCSV(f *testing.F) {
	var buf bytes.Buffer
	if _, err := WriteDeliveryCSV(&buf, testCycle, testJalali, from(nachaDelivery(f))); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(bytes.ReplaceAll(buf.Bytes(), []byte("\n"), []byte("\r\n")))
	f.Add([]byte(strings.Join(DeliveryCSVColumns, ",") + "\n"))
	f.Add([]byte(strings.Join(DeliveryCSVColumns, ",") + "\n" + csvLine(f, delivered(f), func(r []string) { r[dcPayeeName] = "'=1\n2" })))
	f.Add([]byte{})
	f.Add([]byte("\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, sum, err := readAllDelivered(t, data)
		if sum.Entries != len(got) {
			t.Fatalf("summary counts %d entries, the callback saw %d", sum.Entries, len(got))
		}
		if err != nil {
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DeliveryError", err)
			}
			if de.Line < 0 || (de.Line == 0 && !strings.Contains(err.Error(), "no header")) {
				t.Fatalf("error %v says no line", err)
			}
			return
		}
		cycle, jalali := sum.Cycle, sum.Jalali
		if len(got) == 0 {
			cycle, jalali = testCycle, testJalali
		}
		var again bytes.Buffer
		if _, err := WriteDeliveryCSV(&again, cycle, jalali, from(got)); err != nil {
			t.Fatalf("what was read cannot be written: %v", err)
		}
		back, sum2, err := readAllDelivered(t, again.Bytes())
		if err != nil || !slices.Equal(back, got) || (len(got) > 0 && (sum2 != sum)) {
			t.Fatalf("read again: %v, %+v vs %+v; summaries %+v vs %+v", err, back, got, sum2, sum)
		}
	})
}
