package ach

// A receiving bank's delivery of one cycle (issue 9 §3, §5): the entries a cycle settled for it, as CSV
// (WriteDeliveryCSV, ReadDeliveryCSV) and as NACHA files in the PAYA profile (WriteDeliveryNACHA), and
// the codes it answers a return with (ReturnCode).
//
// The delivery CSV is UTF-8, RFC 4180 (encoding/csv: commas, LF line ends, fields quoted when they hold a
// comma, a quote or a line break), a header row of DeliveryCSVColumns and one record per entry, in the
// order given. Every record repeats the cycle's id and its Jalali cut-off, so that each row says where it
// belongs when a bank's tools split or merge files. A cell that would start a spreadsheet formula (= + -
// @, a tab, a carriage return or a line feed first) gets a leading single quote, and so does one that
// already starts with a quote: a spreadsheet shows the value as text, and dropping one leading quote
// always gives the value back (OWASP, "CSV Injection"). ReadDeliveryCSV drops it.

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/sheba"
)

// ReturnCode is why a receiving bank returns an entry it cannot post (issue 9 §3). Its names are stable:
// the API takes them (api.PAYAReturnRequest) and the store keeps them. The zero ReturnCode is none: an
// entry that is not a return.
type ReturnCode uint8

// The return codes.
const (
	ReturnNone                 ReturnCode = iota // not a return
	ReturnAccountNotFound                        // no account of that SHEBA at the receiving bank
	ReturnAccountClosed                          // the account is closed
	ReturnAccountBlocked                         // the account is blocked (a court order, a freeze)
	ReturnInsufficientFunds                      // debits: the payer's balance does not cover the debit
	ReturnNoMandate                              // debits: the payer's bank knows no mandate for it
	ReturnMandateLimitExceeded                   // debits: beyond the mandate's limits as the payer's bank counts them
	ReturnMandateRevoked                         // debits: the payer revoked the mandate
	returnCodeCount
)

var returnCodeNames = [returnCodeCount]string{
	ReturnAccountNotFound:      "account_not_found",
	ReturnAccountClosed:        "account_closed",
	ReturnAccountBlocked:       "account_blocked",
	ReturnInsufficientFunds:    "insufficient_funds",
	ReturnNoMandate:            "no_mandate",
	ReturnMandateLimitExceeded: "mandate_limit_exceeded",
	ReturnMandateRevoked:       "mandate_revoked",
}

// String returns the code's name ("account_closed"), "" for ReturnNone, or "ReturnCode(n)" beyond the codes.
func (c ReturnCode) String() string {
	if c < returnCodeCount {
		return returnCodeNames[c]
	}
	return fmt.Sprintf("ReturnCode(%d)", uint8(c))
}

// Valid reports whether c is one of the return codes (not ReturnNone).
func (c ReturnCode) Valid() bool { return c > ReturnNone && c < returnCodeCount }

// Applies reports whether a receiving bank may return an entry of core with c: the account codes apply to
// both cores; insufficient funds and the mandate codes only to debits, since a credit takes nothing from
// the receiver's customer and needs no mandate.
func (c ReturnCode) Applies(core Core) bool {
	switch c {
	case ReturnAccountNotFound, ReturnAccountClosed, ReturnAccountBlocked:
		return core.Valid()
	case ReturnInsufficientFunds, ReturnNoMandate, ReturnMandateLimitExceeded, ReturnMandateRevoked:
		return core == CoreDebit
	}
	return false
}

// ParseReturnCode reads a return code's name; "" and any other text are errors wrapping ErrSyntax.
func ParseReturnCode(s string) (ReturnCode, error) {
	for c := ReturnNone + 1; c < returnCodeCount; c++ {
		if returnCodeNames[c] == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("ach: return code %q names no return code: %w", s, ErrSyntax)
}

// MarshalText writes c's name, and nothing for ReturnNone; a value beyond the codes is an error.
func (c ReturnCode) MarshalText() ([]byte, error) {
	if c >= returnCodeCount {
		return nil, fmt.Errorf("ach: %s is not a return code: %w", c, ErrSyntax)
	}
	return []byte(returnCodeNames[c]), nil
}

// UnmarshalText reads what ParseReturnCode reads, and "" as ReturnNone, so that MarshalText round-trips.
func (c *ReturnCode) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = ReturnNone
		return nil
	}
	v, err := ParseReturnCode(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Delivered is one entry as a cycle delivers it to its receiving bank: what the bank needs to post it or
// return it. A return delivered back to the original originator is a Delivered too, with ReturnOf and
// ReturnCode set; its parties are those of the return as it travels.
type Delivered struct {
	// ID is the switch's id of the entry: what the bank names when it returns it.
	ID   string `json:"id"`
	Core Core   `json:"core"`
	// OriginatingBank and ReceivingBank are 3-digit CBI codes.
	OriginatingBank string `json:"originating_bank"`
	ReceivingBank   string `json:"receiving_bank"`
	// PayerSHEBA and PayeeSHEBA are in canonical form ("IR" and 24 digits).
	PayerSHEBA  string `json:"payer_sheba"`
	PayerName   string `json:"payer_name"`
	PayeeSHEBA  string `json:"payee_sheba"`
	PayeeName   string `json:"payee_name"`
	AmountRial  int64  `json:"amount_rial"`
	Description string `json:"description,omitempty"`
	Reference   string `json:"reference"`
	// MandateID is the mandate a debit is collected under, for the payer's bank to check; empty on a credit.
	MandateID string `json:"mandate_id,omitempty"`
	// ReturnOf is, on a return, the id of the entry it sends back; ReturnCode why. Both or neither.
	ReturnOf   string     `json:"return_of,omitempty"`
	ReturnCode ReturnCode `json:"return_code,omitempty"`
}

// Limits of a delivery.
const (
	// DeliveryIDLenMax bounds an entry id (ID, ReturnOf): the project's ids are UUIDs, 36 characters;
	// room to spare for a bank's own, printable ASCII.
	DeliveryIDLenMax = 64
	// DeliveryCycleLenMax bounds the cycle's id and its Jalali cut-off ("2025-06-01T09:45",
	// "1404/03/11 09:45": 16 characters each), with room to spare.
	DeliveryCycleLenMax = 32
	// DeliveryCSVRecordBytesMax bounds one record of a delivery CSV. The widest the writer makes is
	// under 2,500 bytes: two names of NameLenMax characters and a description of DescriptionLenMax, at
	// most 4 bytes each (a quote, doubled when quoted, is 2), a reference of ReferenceLenMax, the ids,
	// SHEBAs, codes and amount, each with a guard quote and quotes around it (TestDeliveryCSVWidestRecord
	// measures it). A longer record is no delivery of ours.
	DeliveryCSVRecordBytesMax = 4 << 10
	// DeliveryCSVRowsMax bounds the records of one delivery CSV: five times the bench's 1,000,000-entry
	// cycle (issue 9 §7) delivered to a single bank.
	DeliveryCSVRowsMax = 5_000_000
	// DeliveryOrigin is the CBI's code: the origin of every delivery file, the switch being the CBI's.
	DeliveryOrigin = "010"

	// csvBufferBytes is encoding/csv's read-ahead (its bufio.Reader's default size).
	csvBufferBytes = 4096
)

// DeliveryCSVColumns are the columns of a delivery CSV, in order: its header row.
var DeliveryCSVColumns = []string{
	"cycle", "cycle_jalali", "id", "core", "originating_bank", "receiving_bank",
	"payer_sheba", "payer_name", "payee_sheba", "payee_name", "amount_rial",
	"description", "reference", "mandate_id", "return_of", "return_code",
}

const (
	dcCycle = iota
	dcJalali
	dcID
	dcCore
	dcOriginatingBank
	dcReceivingBank
	dcPayerSHEBA
	dcPayerName
	dcPayeeSHEBA
	dcPayeeName
	dcAmount
	dcDescription
	dcReference
	dcMandateID
	dcReturnOf
	dcReturnCode
	deliveryColumnCount
)

// Sentinel errors of deliveries; a *DeliveryError wraps one.
var (
	ErrDeliveryEntry    = errors.New("delivered entry is malformed")    // a field breaks the rules of a Delivered, writing or reading
	ErrDeliveryCSV      = errors.New("delivery csv is malformed")       // its header, its CSV syntax, its field count, a second cycle
	ErrDeliveryTooLarge = errors.New("delivery csv is over its limits") // a record over DeliveryCSVRecordBytesMax, more than DeliveryCSVRowsMax rows
)

// DeliveryError is a delivery that cannot be written or read: where, and why. Err wraps one of the
// sentinels (and, for CSV syntax, encoding/csv's *csv.ParseError).
type DeliveryError struct {
	Line   int    // reading: the 1-based physical line the record starts on; 0 when it is about the whole input
	Entry  int    // writing: the 1-based index of the entry; 0 when it is about the cycle
	Column string // the column (DeliveryCSVColumns' name) at fault, when one is
	Err    error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("ach: delivery")
	if e.Line > 0 {
		b.WriteString(" line " + strconv.Itoa(e.Line))
	}
	if e.Entry > 0 {
		b.WriteString(" entry " + strconv.Itoa(e.Entry))
	}
	if e.Column != "" {
		b.WriteString(" column " + e.Column)
	}
	return b.String() + ": " + e.Err.Error()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// DeliverySummary describes a delivery written or read.
type DeliverySummary struct {
	Cycle      string // the cycle's id; empty for a CSV read with no records
	Jalali     string // its Jalali cut-off
	Entries    int
	CreditRial int64 // the total of the credit entries
	DebitRial  int64 // the total of the debit entries
}

func (s *DeliverySummary) add(d Delivered) {
	s.Entries++
	if d.Core == CoreDebit {
		s.DebitRial += d.AmountRial
	} else {
		s.CreditRial += d.AmountRial
	}
}

// fieldError is a fault of one field of a Delivered: its column and what is wrong.
type fieldError struct {
	column int
	err    error
}

func badField(column int, format string, args ...any) *fieldError {
	return &fieldError{column, fmt.Errorf("%w: %s: %s", ErrDeliveryEntry, DeliveryCSVColumns[column], fmt.Sprintf(format, args...))}
}

// check applies the rules of a Delivered, the same for writing and reading, so that whatever is written
// reads back: ids printable ASCII of 1..DeliveryIDLenMax bytes; a core; 3-digit bank codes; SHEBAs valid
// and canonical; names (required), description, reference (required) and mandate id valid UTF-8 within
// entry.go's limits and without a carriage return (encoding/csv reads CRLF inside a quoted field as LF, so
// one would not come back); an amount of 1..NACHAAmountMax, so that the entry also fits a NACHA file;
// ReturnOf and ReturnCode both or neither.
func (d Delivered) check() *fieldError {
	if fe := checkDeliveryID(dcID, d.ID, true); fe != nil {
		return fe
	}
	if !d.Core.Valid() {
		return badField(dcCore, "%s: want credit or debit", d.Core)
	}
	if !bankCodeSyntax(d.OriginatingBank) {
		return badField(dcOriginatingBank, "%q: want a 3-digit bank code", d.OriginatingBank)
	}
	if !bankCodeSyntax(d.ReceivingBank) {
		return badField(dcReceivingBank, "%q: want a 3-digit bank code", d.ReceivingBank)
	}
	for _, f := range []struct {
		col int
		s   string
	}{{dcPayerSHEBA, d.PayerSHEBA}, {dcPayeeSHEBA, d.PayeeSHEBA}} {
		x, err := sheba.Parse(f.s, nil)
		if err != nil {
			return &fieldError{f.col, fmt.Errorf("%w: %s: %w", ErrDeliveryEntry, DeliveryCSVColumns[f.col], err)}
		}
		if x.String() != f.s {
			return badField(f.col, "%q is not in canonical form, %s", f.s, x)
		}
	}
	for _, f := range []struct {
		col      int
		s        string
		required bool
		max      int
	}{
		{dcPayerName, d.PayerName, true, NameLenMax},
		{dcPayeeName, d.PayeeName, true, NameLenMax},
		{dcDescription, d.Description, false, DescriptionLenMax},
		{dcReference, d.Reference, true, ReferenceLenMax},
		{dcMandateID, d.MandateID, false, MandateIDLenMax},
	} {
		if fe := checkDeliveryText(f.col, f.s, f.required, f.max); fe != nil {
			return fe
		}
	}
	if d.AmountRial < 1 || d.AmountRial > NACHAAmountMax {
		return badField(dcAmount, "%d: want 1 to %d rial", d.AmountRial, NACHAAmountMax)
	}
	if fe := checkDeliveryID(dcReturnOf, d.ReturnOf, false); fe != nil {
		return fe
	}
	switch {
	case d.ReturnCode >= returnCodeCount:
		return badField(dcReturnCode, "%s is not a return code", d.ReturnCode)
	case d.ReturnOf == "" && d.ReturnCode != ReturnNone:
		return badField(dcReturnCode, "%s without return_of: a return names the entry it sends back", d.ReturnCode)
	case d.ReturnOf != "" && d.ReturnCode == ReturnNone:
		return badField(dcReturnCode, "missing: a return (return_of %s) says why", d.ReturnOf)
	}
	return nil
}

func checkDeliveryID(col int, s string, required bool) *fieldError {
	switch {
	case s == "" && required:
		return badField(col, "missing")
	case len(s) > DeliveryIDLenMax:
		return badField(col, "%d bytes, more than %d", len(s), DeliveryIDLenMax)
	case !nachaPrintableASCII(s):
		return badField(col, "%q: want printable ASCII", s)
	}
	return nil
}

func checkDeliveryText(col int, s string, required bool, max int) *fieldError {
	switch {
	case required && strings.TrimSpace(s) == "":
		return badField(col, "missing")
	case !utf8.ValidString(s):
		return badField(col, "not UTF-8")
	case strings.IndexByte(s, '\r') >= 0:
		return badField(col, "a carriage return, which CSV cannot carry")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return badField(col, "%d characters, more than %d", n, max)
	}
	return nil
}

// checkCycle checks the cycle's id or its Jalali cut-off: 1..DeliveryCycleLenMax characters of text.
func checkCycle(col int, s string) *fieldError {
	if fe := checkDeliveryText(col, s, true, DeliveryCycleLenMax); fe != nil {
		return fe
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return badField(col, "%q: a control character", s)
	}
	return nil
}

// csvGuard guards a cell against formula injection: a leading single quote before a value a spreadsheet
// would run as a formula, or one that already starts with a quote (so that csvUnguard is its inverse).
func csvGuard(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r', '\n', '\'':
			return "'" + s
		}
	}
	return s
}

// csvUnguard drops the guard quote of a cell, if any.
func csvUnguard(s string) string { return strings.TrimPrefix(s, "'") }

// WriteDeliveryCSV writes the delivery of cycle (its id; jalali its cut-off as people read it, "1404/03/11
// 09:45") to w as CSV: the header row, then one record for each entry next gives, until next returns false
// or an error (returned as it is). It holds one entry at a time, so memory does not grow with the delivery.
// An entry that breaks the rules of a Delivered (see ReadDeliveryCSV) is a *DeliveryError naming it and its
// column, wrapping ErrDeliveryEntry; what was written before it stays written, so a caller that must not
// leave half a file checks the entries first or writes to a buffer it can drop.
func WriteDeliveryCSV(w io.Writer, cycle, jalali string, next func() (Delivered, bool, error)) (DeliverySummary, error) {
	sum := DeliverySummary{Cycle: cycle, Jalali: jalali}
	if fe := checkCycle(dcCycle, cycle); fe != nil {
		return sum, &DeliveryError{Column: DeliveryCSVColumns[fe.column], Err: fe.err}
	}
	if fe := checkCycle(dcJalali, jalali); fe != nil {
		return sum, &DeliveryError{Column: DeliveryCSVColumns[fe.column], Err: fe.err}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(DeliveryCSVColumns); err != nil {
		return sum, fmt.Errorf("ach: delivery: writing the header: %w", err)
	}
	rec := make([]string, deliveryColumnCount)
	for {
		d, ok, err := next()
		if err != nil {
			return sum, err
		}
		if !ok {
			break
		}
		if fe := d.check(); fe != nil {
			return sum, &DeliveryError{Entry: sum.Entries + 1, Column: DeliveryCSVColumns[fe.column], Err: fe.err}
		}
		rec[dcCycle], rec[dcJalali] = cycle, jalali
		rec[dcID], rec[dcCore] = d.ID, d.Core.String()
		rec[dcOriginatingBank], rec[dcReceivingBank] = d.OriginatingBank, d.ReceivingBank
		rec[dcPayerSHEBA], rec[dcPayerName] = d.PayerSHEBA, d.PayerName
		rec[dcPayeeSHEBA], rec[dcPayeeName] = d.PayeeSHEBA, d.PayeeName
		rec[dcAmount] = strconv.FormatInt(d.AmountRial, 10)
		rec[dcDescription], rec[dcReference], rec[dcMandateID] = d.Description, d.Reference, d.MandateID
		rec[dcReturnOf], rec[dcReturnCode] = d.ReturnOf, d.ReturnCode.String()
		for i := range rec {
			rec[i] = csvGuard(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return sum, fmt.Errorf("ach: delivery: writing entry %d: %w", sum.Entries+1, err)
		}
		sum.add(d)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return sum, fmt.Errorf("ach: delivery: %w", err)
	}
	return sum, nil
}

// boundedReader stops a CSV reader from holding more than one record's worth of input: it refuses to read
// further than DeliveryCSVRecordBytesMax (and encoding/csv's read-ahead) past the end of the last record
// read, since encoding/csv itself keeps reading a line, or a quoted field, however long it is.
type boundedReader struct {
	r     io.Reader
	start int64 // the input offset of the end of the last record read
	read  int64
}

var errRecordTooLong = fmt.Errorf("%w: a record (with the blank lines before it) longer than %d bytes", ErrDeliveryTooLarge, DeliveryCSVRecordBytesMax)

func (b *boundedReader) Read(p []byte) (int, error) {
	room := b.start + DeliveryCSVRecordBytesMax + csvBufferBytes - b.read
	if room <= 0 {
		return 0, errRecordTooLong
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// ReadDeliveryCSV reads a delivery CSV from r and calls each with every entry, in order. If each returns an
// error, reading stops and ReadDeliveryCSV returns it as it is. The summary gives the cycle (from the first
// record) and counts the entries read.
//
// The file must be what WriteDeliveryCSV writes: the header row exactly (DeliveryCSVColumns, in order),
// then records of as many fields, every one of the same cycle and Jalali cut-off. A cell's leading guard
// quote is dropped. Each record's fields follow the rules of a Delivered: ids printable ASCII of
// 1..DeliveryIDLenMax bytes (return_of may be empty); core credit or debit; bank codes of 3 digits; SHEBAs
// valid and canonical; payer_name, payee_name and reference required, with description and mandate_id at
// most entry.go's lengths, valid UTF-8, no carriage return; amount_rial digits, 1..NACHAAmountMax;
// return_of and return_code (a ReturnCode's name) both or neither. Blank lines are skipped.
//
// A fault is a *DeliveryError naming the physical line the record starts on and the column, wrapping
// ErrDeliveryEntry (a field), ErrDeliveryCSV (the header, the CSV syntax — then also a *csv.ParseError —,
// the field count, another cycle) or ErrDeliveryTooLarge. Memory does not grow with the input: a record
// longer than DeliveryCSVRecordBytesMax stops the reading without being held, and at most
// DeliveryCSVRowsMax records are read.
func ReadDeliveryCSV(r io.Reader, each func(Delivered) error) (DeliverySummary, error) {
	var sum DeliverySummary
	br := &boundedReader{r: r}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = deliveryColumnCount
	cr.ReuseRecord = true
	end := 0 // the last line of the last record read: the next record starts after it
	fail := func(line int, column int, err error) (DeliverySummary, error) {
		e := &DeliveryError{Line: line, Err: err}
		if column >= 0 {
			e.Column = DeliveryCSVColumns[column]
		}
		return sum, e
	}
	readErr := func(err error) (DeliverySummary, error) {
		if errors.Is(err, ErrDeliveryTooLarge) {
			return fail(end+1, -1, err)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fail(pe.StartLine, -1, fmt.Errorf("%w: %w", ErrDeliveryCSV, err))
		}
		return sum, fmt.Errorf("ach: delivery: reading after line %d: %w", end, err)
	}
	// record reads the next record, or io.EOF, and checks its size.
	record := func() ([]string, error) {
		rec, err := cr.Read()
		if err != nil {
			return nil, err
		}
		if cr.InputOffset()-br.start > DeliveryCSVRecordBytesMax {
			return nil, errRecordTooLong
		}
		br.start = cr.InputOffset()
		// The last field of a valid record is a code on one line: where it starts, the record ends.
		end, _ = cr.FieldPos(len(rec) - 1)
		return rec, nil
	}
	header, err := record()
	if errors.Is(err, io.EOF) {
		return fail(0, -1, fmt.Errorf("%w: no header row", ErrDeliveryCSV))
	}
	if err != nil {
		return readErr(err)
	}
	for i, h := range header {
		if h != DeliveryCSVColumns[i] {
			return fail(1, i, fmt.Errorf("%w: header column %d is %q, want %q", ErrDeliveryCSV, i+1, h, DeliveryCSVColumns[i]))
		}
	}
	for {
		start := end + 1
		rec, err := record()
		if errors.Is(err, io.EOF) {
			return sum, nil
		}
		if err != nil {
			if errors.Is(err, ErrDeliveryTooLarge) {
				return fail(start, -1, err)
			}
			return readErr(err)
		}
		line, _ := cr.FieldPos(0)
		if sum.Entries == DeliveryCSVRowsMax {
			return fail(line, -1, fmt.Errorf("%w: more than %d records", ErrDeliveryTooLarge, DeliveryCSVRowsMax))
		}
		for i := range rec {
			rec[i] = csvUnguard(rec[i])
		}
		if sum.Entries == 0 {
			if fe := checkCycle(dcCycle, rec[dcCycle]); fe != nil {
				return fail(line, fe.column, fe.err)
			}
			if fe := checkCycle(dcJalali, rec[dcJalali]); fe != nil {
				return fail(line, fe.column, fe.err)
			}
			sum.Cycle, sum.Jalali = strings.Clone(rec[dcCycle]), strings.Clone(rec[dcJalali])
		}
		if rec[dcCycle] != sum.Cycle {
			return fail(line, dcCycle, fmt.Errorf("%w: cycle %q, but the delivery is of %q", ErrDeliveryCSV, rec[dcCycle], sum.Cycle))
		}
		if rec[dcJalali] != sum.Jalali {
			return fail(line, dcJalali, fmt.Errorf("%w: cycle_jalali %q, but the delivery's is %q", ErrDeliveryCSV, rec[dcJalali], sum.Jalali))
		}
		d, fe := parseDelivered(rec)
		if fe != nil {
			return fail(line, fe.column, fe.err)
		}
		if err := each(d); err != nil {
			return sum, err
		}
		sum.add(d)
	}
}

// parseDelivered reads a record's fields into a Delivered and checks it.
func parseDelivered(rec []string) (Delivered, *fieldError) {
	d := Delivered{
		ID: rec[dcID], OriginatingBank: rec[dcOriginatingBank], ReceivingBank: rec[dcReceivingBank],
		PayerSHEBA: rec[dcPayerSHEBA], PayerName: rec[dcPayerName],
		PayeeSHEBA: rec[dcPayeeSHEBA], PayeeName: rec[dcPayeeName],
		Description: rec[dcDescription], Reference: rec[dcReference], MandateID: rec[dcMandateID],
		ReturnOf: rec[dcReturnOf],
	}
	var err error
	if d.Core, err = ParseCore(rec[dcCore]); err != nil {
		return Delivered{}, badField(dcCore, "%q: want credit or debit", rec[dcCore])
	}
	amount := rec[dcAmount]
	if amount == "" || len(amount) > 10 || strings.Trim(amount, "0123456789") != "" {
		return Delivered{}, badField(dcAmount, "%q: want 1 to %d, in digits", amount, NACHAAmountMax)
	}
	d.AmountRial, _ = strconv.ParseInt(amount, 10, 64) // at most 10 digits: it fits
	if err := d.ReturnCode.UnmarshalText([]byte(rec[dcReturnCode])); err != nil {
		return Delivered{}, badField(dcReturnCode, "%q names no return code", rec[dcReturnCode])
	}
	if fe := d.check(); fe != nil {
		return Delivered{}, fe
	}
	// The strings are the reader's own when records are reused: copy them out.
	d.ID, d.OriginatingBank, d.ReceivingBank = strings.Clone(d.ID), strings.Clone(d.OriginatingBank), strings.Clone(d.ReceivingBank)
	d.PayerSHEBA, d.PayerName = strings.Clone(d.PayerSHEBA), strings.Clone(d.PayerName)
	d.PayeeSHEBA, d.PayeeName = strings.Clone(d.PayeeSHEBA), strings.Clone(d.PayeeName)
	d.Description, d.Reference = strings.Clone(d.Description), strings.Clone(d.Reference)
	d.MandateID, d.ReturnOf = strings.Clone(d.MandateID), strings.Clone(d.ReturnOf)
	return d, nil
}

// WriteDeliveryNACHA writes the delivery of a cycle to receivingBank as NACHA files in the PAYA profile
// (WriteNACHA): the CBI (DeliveryOrigin, 010) is the immediate origin, receivingBank the destination, each
// entry's batch the originating bank's (one batch per originating bank: the entries are sorted by it,
// stably), the files' creation time cycleCutOff in Tehran. next gives the writer of each file, as for
// WriteNACHA. Every entry must follow the rules of a Delivered and have receivingBank as its ReceivingBank;
// otherwise nothing is written and the error is a *DeliveryError naming the entry (1-based, in the order
// given).
//
// An entry's NACHA record carries the receiving bank's customer: the payee's SHEBA and name on a credit,
// the payer's on a debit. The profile's fields are narrower than an entry's, and every accepted entry must
// still go out, so:
//
//   - the name is cut to NACHANameMax (53) characters, its control characters (none in an entry PAYA
//     accepted) made spaces, and "-" when nothing is left;
//   - the reference is the entry's own when it is at most NACHAReferenceMax (15) characters of printable
//     ASCII, else the last 15 characters of the entry's id without its hyphens (the random tail of a
//     UUIDv7), which the bank matches against the CSV delivery or the API;
//   - the description, the mandate id, the other party and a return's return_of and return_code have no
//     field in the profile: the CSV delivery carries them.
func WriteDeliveryNACHA(next func(file int) (io.Writer, error), cycleCutOff time.Time, receivingBank string, entries []Delivered) ([]NACHASummary, error) {
	out := make([]NACHAEntry, len(entries))
	for i, d := range entries {
		if fe := d.check(); fe != nil {
			return nil, &DeliveryError{Entry: i + 1, Column: DeliveryCSVColumns[fe.column], Err: fe.err}
		}
		if d.ReceivingBank != receivingBank {
			return nil, &DeliveryError{Entry: i + 1, Column: DeliveryCSVColumns[dcReceivingBank],
				Err: fmt.Errorf("%w: entry %s is received by %s, not by %s, whose delivery this is", ErrDeliveryEntry, d.ID, d.ReceivingBank, receivingBank)}
		}
		out[i] = deliveryNACHAEntry(d)
	}
	slices.SortStableFunc(out, func(a, b NACHAEntry) int { return cmp.Compare(a.OriginBank, b.OriginBank) })
	h := NACHAHeader{Origin: DeliveryOrigin, Destination: receivingBank, Created: cycleCutOff.In(calendar.Tehran)}
	return WriteNACHA(next, h, out)
}

// deliveryNACHAEntry maps a checked Delivered to its NACHA entry (see WriteDeliveryNACHA).
func deliveryNACHAEntry(d Delivered) NACHAEntry {
	e := NACHAEntry{AmountRial: d.AmountRial, Debit: d.Core == CoreDebit, OriginBank: d.OriginatingBank}
	e.SHEBA, e.Name = d.PayeeSHEBA, d.PayeeName
	if e.Debit {
		e.SHEBA, e.Name = d.PayerSHEBA, d.PayerName
	}
	e.Name = DeliveryNACHAName(e.Name)
	e.Reference = DeliveryNACHAReference(d)
	return e
}

// DeliveryNACHAName is the name a delivery's NACHA file carries for name: control characters (and the
// replacement character) made spaces, trimmed, cut to NACHANameMax characters and trimmed again; "-" when
// nothing is left.
func DeliveryNACHAName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > NACHANameMax {
		name = strings.TrimSpace(string([]rune(name)[:NACHANameMax]))
	}
	if name == "" {
		return "-"
	}
	return name
}

// DeliveryNACHAReference is the reference a delivery's NACHA file carries for d: its own when it fits the
// profile (at most NACHAReferenceMax characters of printable ASCII, trimmed), else the last
// NACHAReferenceMax characters of its id without hyphens.
func DeliveryNACHAReference(d Delivered) string {
	ref := strings.TrimSpace(d.Reference)
	if len(ref) <= NACHAReferenceMax && nachaPrintableASCII(ref) {
		return ref
	}
	id := strings.ReplaceAll(d.ID, "-", "")
	return strings.TrimSpace(id[max(0, len(id)-NACHAReferenceMax):])
}
