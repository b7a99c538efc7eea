package ach

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	moov "github.com/moov-io/ach"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/sheba"
)

// The PAYA profile of NACHA files (DOMAIN.md §5).
//
// PAYA takes payroll and other bulk files in NACHA's format, read and written with
// github.com/moov-io/ach. NACHA was made for American accounts, so the profile says where an
// Iranian payment goes in each record:
//
//   - Routing numbers. A bank's routing number is "00000", its 3-digit CBI code and the ABA check
//     digit over those eight digits ([NACHARouting]): Melli (017) is 000000178. Every routing
//     field uses it: the file header's immediate origin and destination, each batch's ODFI (the
//     originating bank, first 8 digits) and each entry's RDFI (the receiving bank).
//   - Entry detail (record 6). Transaction code 22 (checking credit) is a direct credit, 27
//     (checking debit) a direct debit; no other code is read. The RDFI is the bank of the SHEBA.
//     The amount is in rial, in NACHA's 10-digit amount field, so at most [NACHAAmountMax] =
//     9,999,999,999 rial per entry, far above any PAYA cap (DOMAIN.md §9). The 17-character
//     account field holds the last 17 digits of the SHEBA (a SHEBA does not fit: the profile's
//     account is the full SHEBA in the addenda, and the reader checks that the two agree). The
//     15-character identification number carries the originator's reference. The 22-character
//     individual name is ASCII, which Persian names are not, and nothing is transliterated: it
//     holds the name itself when the name is printable ASCII (cut to 22 characters), and
//     "SEE ADDENDA 05" otherwise; the reader ignores it and takes the name from the addenda.
//   - Addenda 05 (record 7), exactly one per entry, as PPD allows. Its 80-character payment
//     related information is the SHEBA in canonical form (26 characters: "IR" and 24 digits),
//     one space, and the payee's (for a debit, the payer's) full name in UTF-8, at most
//     [NACHANameMax] = 53 characters. This record is the only place where the profile leaves
//     ASCII: a file is UTF-8 and its records are 94 characters (runes), not bytes.
//   - Batches are PPD, service class 220 (credits only), 225 (debits only) or 200 (mixed); the
//     reader also takes CCD. The company name is the originating bank's English name (cut to
//     16), its company identification its routing number, the entry description the caller's
//     (default "PAYA"). Dates are NACHA's YYMMDD, Gregorian, in the location of the times given.
//
// Reading ([ReadNACHA]) streams: it holds one line and one entry at a time, so memory does not
// grow with the size of the file. moov-io/ach's own Reader.Read builds the whole file in memory,
// and its Iterator, which streams, never compares the batch and file control totals with the
// entries (it skips the control records), counts lines without counting empty ones, and stops
// without an error on a line longer than bufio.Scanner's 64 KiB token (v1.50.0). So ReadNACHA
// drives the reading itself, one physical line at a time, and uses moov-io/ach for each record:
// its Parse and Validate methods and its field widths. It checks every control total itself.
//
// Writing ([WriteNACHA]) uses moov-io/ach's Batch.Create, File.Create and Writer, which validates
// each file against NACHA's rules before writing it. NACHA's control fields have fixed widths
// (12-digit debit and credit totals, 6-digit batch entry counts, 6-digit batch and block counts,
// an 8-digit file entry count) and moov-io/ach truncates a number that does not fit, so the
// writer splits batches and files before any of them would overflow; see [WriteNACHA].

// Limits of NACHA's fixed-width fields, and of the profile.
const (
	// NACHAAmountMax is the largest amount of one entry: NACHA's amount field has 10 digits.
	NACHAAmountMax int64 = moov.NachaEntryAmountLimit
	// NACHATotalMax is the largest debit or credit total of a batch or a file: the control
	// records' total fields have 12 digits (999,999,999,999 rial, about 6,666 entries at the
	// 150,000,000-rial cap).
	NACHATotalMax int64 = moov.NachaFileDebitCreditLimit
	// NACHALinesMax is the most lines a file may have: the file control's block count has 6
	// digits and a block is 10 records. Blank lines count.
	NACHALinesMax = 999_999 * nachaBlockRecords
	// NACHANameMax is the most characters (runes) of a name: the addenda's 80 characters of
	// payment information less the SHEBA (26) and the space after it.
	NACHANameMax = nachaInfoLen - nachaSHEBALen - 1
	// NACHAReferenceMax is the most characters of a reference: the entry's identification
	// number field.
	NACHAReferenceMax = 15
	// NACHAFileEntriesDefault is how many entries WriteNACHA puts in one file at most, unless
	// NACHAHeader.FileEntriesMax says otherwise. NACHA's own limit (the block count) is near
	// five million; moov-io/ach's Writer takes a whole file in memory, about 600 bytes an entry
	// (measured: the heap grew by 60 MB building a file of 100,000), so this default keeps one
	// file's model near 60 MB.
	NACHAFileEntriesDefault = 100_000

	nachaRecordLen    = moov.RecordLength // every record is 94 characters
	nachaBlockRecords = 10                // NACHA's blocking factor
	// nachaLineBytesMax: 94 characters of at most 4 bytes each, and "\r\n".
	nachaLineBytesMax  = nachaRecordLen*utf8.UTFMax + 2
	nachaBatchCountMax = 999_999    // file control: batch count, 6 digits
	nachaBatchRecsMax  = 999_999    // batch control: entry/addenda count, 6 digits
	nachaFileRecsMax   = 99_999_999 // file control: entry/addenda count, 8 digits
	nachaHashModulus   = 10_000_000_000
	nachaInfoLen       = 80 // addenda 05: payment related information, positions 4–83
	nachaSHEBALen      = 26
	nachaAccountLen    = 17 // entry detail: DFI account number
	nachaIndividualLen = 22 // entry detail: individual name
	nachaCompanyLen    = 16 // batch header: company name
	nachaOriginNameLen = 23 // file header: immediate origin and destination names
	nachaDescLen       = 10 // batch header: company entry description
	nachaPlaceholder   = "SEE ADDENDA 05"
	nachaDescDefault   = "PAYA"
	nachaRoutingPrefix = "00000"
	// nachaFileIDModifiers are the values of the file header's file ID modifier, given to
	// the files of one WriteNACHA call in turn.
	nachaFileIDModifiers = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// Transaction codes of the profile.
const (
	NACHACredit = moov.CheckingCredit // 22: direct credit
	NACHADebit  = moov.CheckingDebit  // 27: direct debit
)

// Sentinel errors. A *NACHAError wraps one of them, so errors.Is(err, ErrNACHAControl) tells a
// file whose control totals disagree with its entries.
var (
	ErrNACHARouting    = errors.New("not a paya routing number")         // wrong length, not digits, or not "00000" and a bank code
	ErrNACHACheckDigit = errors.New("routing number check digit wrong")  // the ABA check digit does not match
	ErrNACHALine       = errors.New("line is not a record")              // too long, not UTF-8
	ErrNACHATooLong    = errors.New("file too long")                     // more lines than the limit
	ErrNACHARecord     = errors.New("record fails nacha's field checks") // moov-io/ach rejects a header or control, or an unknown record type
	ErrNACHAOrder      = errors.New("record out of place")               // e.g. an entry outside a batch, a second file header
	ErrNACHATruncated  = errors.New("file ends early")                   // no file header, or no control before the end
	ErrNACHAControl    = errors.New("control total disagrees")           // a count, hash or total in a control record
	ErrNACHAProfile    = errors.New("outside the paya profile")          // e.g. a WEB batch, a routing number of no bank
	ErrNACHAEntry      = errors.New("entry cannot be written")           // WriteNACHA: an entry breaks the profile
	ErrNACHAHeader     = errors.New("header cannot be written")          // WriteNACHA: a header field breaks the profile
)

// NACHAError is a file that cannot be read, or an entry or header that cannot be written: where,
// and why. Err wraps one of the sentinels.
type NACHAError struct {
	Line   int    // reading: 1-based physical line; 0 when it is about the whole input
	Entry  int    // writing: 1-based index of the entry; 0 when it is about the header or a file
	Record string // moov-io/ach's name of the record: FileHeader, BatchHeader, EntryDetail, Addenda, BatchControl, FileControl
	Field  string // moov-io/ach's name of the field, when one is at fault
	Err    error
}

func (e *NACHAError) Error() string {
	var b strings.Builder
	b.WriteString("ach: nacha")
	if e.Line > 0 {
		b.WriteString(" line " + strconv.Itoa(e.Line))
	}
	if e.Entry > 0 {
		b.WriteString(" entry " + strconv.Itoa(e.Entry))
	}
	if e.Record != "" {
		b.WriteString(" (" + e.Record + ")")
	}
	if e.Field != "" {
		b.WriteString(" field " + e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *NACHAError) Unwrap() error { return e.Err }

// NACHACode is why the PAYA profile rejects one entry of a NACHA file. Codes are stable strings,
// safe to show in an API. A NACHACode is also an error, so errors.Is(problem, NACHASHEBA) works.
type NACHACode string

// The codes, in their order of precedence: an entry is reported with the first that applies.
const (
	NACHAEntryRecord NACHACode = "record"              // the entry detail record fails NACHA's field checks (moov-io/ach's, and ASCII only, a 10-digit amount, an addenda indicator of 0 or 1)
	NACHATransaction NACHACode = "transaction_code"    // not 22 or 27, or against the batch's service class
	NACHARoutingBad  NACHACode = "routing"             // the RDFI is not "00000" and a bank code
	NACHACheckDigit  NACHACode = "routing_check_digit" // the RDFI's check digit is wrong
	NACHAAmountZero  NACHACode = "amount_zero"         // an amount of 0
	NACHANoAddenda   NACHACode = "addenda_missing"     // no addenda 05 follows the entry
	NACHAAddenda     NACHACode = "addenda"             // the addenda is broken, not 05, unannounced or not the only one
	NACHASHEBA       NACHACode = "sheba"               // the addenda's first 26 characters are not a valid SHEBA in canonical form
	NACHABank        NACHACode = "bank_mismatch"       // the SHEBA's bank is not the RDFI's
	NACHAAccount     NACHACode = "account_mismatch"    // the account field is not the SHEBA's last 17 digits
	NACHAName        NACHACode = "name"                // no name after the SHEBA, a name with control characters, or no space between
)

// Error returns the code itself, so that a NACHACode can be a target of errors.Is.
func (c NACHACode) Error() string { return string(c) }

// NACHAProblem is why one entry of a file is rejected: a result, not a failure of the read; the
// rest of the file goes on.
type NACHAProblem struct {
	Code    NACHACode
	Line    int    // 1-based physical line of the record at fault: the entry, or its addenda
	Field   string // moov-io/ach's name of the field, e.g. "CheckDigit", "PaymentRelatedInformation"
	Message string // lower case, for people
	Err     error  // the cause, when there is one: a *sheba.Error, a moov-io/ach field error
}

func (p *NACHAProblem) Error() string {
	s := "ach: nacha line " + strconv.Itoa(p.Line)
	if p.Field != "" {
		s += " field " + p.Field
	}
	return s + ": " + p.Message
}

// Unwrap returns the code and the cause, for errors.Is and errors.As.
func (p *NACHAProblem) Unwrap() []error {
	if p.Err != nil {
		return []error{p.Code, p.Err}
	}
	return []error{p.Code}
}

// NACHAEntry is one PAYA entry as the profile carries it in a NACHA file. It is this file's own
// type, to be mapped to the rail's entry by the intake.
type NACHAEntry struct {
	// Line is the 1-based physical line of the entry detail record in the file read; 0 for an
	// entry not read from a file. WriteNACHA ignores it.
	Line int
	// SHEBA is the payee's SHEBA for a credit, the payer's for a debit, in canonical form. When
	// read, it is the text found in the addenda, which is not a valid SHEBA if Problem says so.
	SHEBA string
	// AmountRial is the amount in rial, 1 to NACHAAmountMax.
	AmountRial int64
	// Debit is true for a direct debit (transaction code 27), false for a direct credit (22).
	Debit bool
	// Name is the full name of the SHEBA's holder in UTF-8, at most NACHANameMax characters;
	// WriteNACHA trims spaces around it and the reader returns it trimmed.
	Name string
	// Reference is the originator's reference, printable ASCII, at most NACHAReferenceMax
	// characters, trimmed; it may be empty.
	Reference string
	// OriginBank is the CBI code of the originating bank, the ODFI of the entry's batch. When
	// writing, empty means the header's Origin.
	OriginBank string
	// Trace is the 15-digit trace number read from the file (the ODFI and a sequence number).
	// WriteNACHA assigns trace numbers itself and ignores this field.
	Trace string
	// Problem is why the profile rejects the entry; nil when it is accepted. Only the reader
	// sets it.
	Problem *NACHAProblem
}

// NACHASummary describes one NACHA file read or written.
type NACHASummary struct {
	Origin      string // CBI code of the file header's immediate origin
	Destination string // CBI code of the file header's immediate destination
	Lines       int    // physical lines: blank lines and the padding of the last block included
	Batches     int
	Entries     int   // entry detail records, accepted or not
	Rejected    int   // entries with a Problem; 0 for a file written
	CreditRial  int64 // total of the credit entries, accepted or not, as the file control states it
	DebitRial   int64 // total of the debit entries, likewise
}

// NACHARouting returns the PAYA routing number of the bank with the given 3-digit CBI code:
// "00000", the code, and the ABA check digit over those eight digits.
func NACHARouting(code string) (string, error) {
	if !nachaDigits(code, 3) {
		return "", fmt.Errorf("ach: bank code %q: %w: want 3 digits", code, ErrNACHARouting)
	}
	first := nachaRoutingPrefix + code
	return first + string(rune('0'+nachaCheckDigit(first))), nil
}

// ParseNACHARouting returns the CBI bank code in a 9-digit PAYA routing number. A number that
// is not 9 digits or does not start with "00000" is an ErrNACHARouting; a wrong check digit is
// an ErrNACHACheckDigit, whose message gives the right one.
func ParseNACHARouting(s string) (code string, err error) {
	if !nachaDigits(s, 9) {
		return "", fmt.Errorf("ach: routing number %q: %w: want 9 digits", s, ErrNACHARouting)
	}
	if !strings.HasPrefix(s, nachaRoutingPrefix) {
		return "", fmt.Errorf("ach: routing number %s: %w: a paya routing number starts with %s", s, ErrNACHARouting, nachaRoutingPrefix)
	}
	if want := nachaCheckDigit(s[:8]); int(s[8]-'0') != want {
		return "", fmt.Errorf("ach: routing number %s: %w: %d, want %d", s, ErrNACHACheckDigit, s[8]-'0', want)
	}
	return s[5:8], nil
}

// nachaCheckDigit is the ABA check digit of 8 digits: weights 3, 7, 1 repeating, and the
// digit that brings the weighted sum up to a multiple of 10.
func nachaCheckDigit(first8 string) int {
	weights := [8]int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i := range 8 {
		sum += int(first8[i]-'0') * weights[i]
	}
	return (10 - sum%10) % 10
}

// nachaDigits reports whether s is exactly n ASCII digits.
func nachaDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// nachaODFICode returns the bank code of an 8-digit ODFI or RDFI identification ("00000" and
// the code, without the check digit).
func nachaODFICode(s string) (string, bool) {
	if !nachaDigits(s, 8) || !strings.HasPrefix(s, nachaRoutingPrefix) {
		return "", false
	}
	return s[5:8], true
}

// NACHAReadOptions are the choices of ReadNACHA.
type NACHAReadOptions struct {
	// Directory checks the bank codes of the SHEBAs in the addenda (banks.Registry satisfies
	// it). Nil skips the bank checks of sheba.Parse.
	Directory sheba.Directory
	// LinesMax bounds the physical lines of the input; 0 or more than NACHALinesMax means
	// NACHALinesMax. An upload endpoint sets its own, smaller bound.
	LinesMax int
}

// ReadNACHA reads one NACHA file in the PAYA profile from r and calls each with every entry, in
// the order of the file, as soon as its records are complete (its addenda read). An entry the
// profile rejects comes with its Problem and the reading goes on; each decides what to keep.
// If each returns an error, reading stops and ReadNACHA returns that error as it is. A nil each
// only checks the file: the summary counts the entries and the rejected ones.
//
// A file that cannot be read as a whole gives a *NACHAError naming the line: a line that is not
// a record, a record out of place, a header or control record that fails moov-io/ach's checks,
// a batch or file control whose entry/addenda count, entry hash, debit or credit total
// disagrees with the entries, or an end before the file control. Such an error can come after
// each has seen entries of the file (a control record follows its entries), so a caller that
// commits entries keeps them aside until ReadNACHA returns nil. An error of r itself is
// returned wrapped, with the line it stopped at.
//
// Memory does not grow with the input: ReadNACHA keeps one line (at most 378 bytes; a longer
// line is an error) and one entry at a time. Lines end in "\n" or "\r\n"; a line shorter than
// 94 characters is padded with spaces, as editors strip trailing blanks; blank lines are
// skipped but counted. Lines after the file control must be padding (94 nines) or blank.
func ReadNACHA(r io.Reader, opts NACHAReadOptions, each func(NACHAEntry) error) (NACHASummary, error) {
	p := &nachaParser{opts: opts, each: each, limit: opts.LinesMax}
	if p.limit <= 0 || p.limit > NACHALinesMax {
		p.limit = NACHALinesMax
	}
	br := bufio.NewReaderSize(r, 4096)
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return p.sum, p.fail(p.line+1, "", "", ErrNACHALine, "longer than %d bytes", nachaLineBytesMax)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return p.sum, fmt.Errorf("ach: nacha: reading line %d: %w", p.line+1, err)
		}
		if len(raw) > 0 {
			if lerr := p.physical(raw); lerr != nil {
				return p.sum, lerr
			}
		}
		if err != nil { // io.EOF
			return p.sum, p.end()
		}
	}
}

// nachaParser is the state of one ReadNACHA call.
type nachaParser struct {
	opts  NACHAReadOptions
	each  func(NACHAEntry) error
	limit int // lines
	line  int // physical lines read
	recs  int // records up to and including the file control, for the block count
	sum   NACHASummary

	header      bool // the file header has been read
	fileControl bool // the file control has been read

	inBatch     bool
	batchHeader *moov.BatchHeader
	batchOrigin string
	batchNumber int // of the last batch header, for the ascending order
	batch       nachaTotals
	file        nachaTotals

	pending *nachaPending
}

// nachaTotals are the running sums a control record must match.
type nachaTotals struct {
	records int   // entry and addenda records
	hash    int64 // sum of the 8-digit RDFI identifications, mod 10^10
	debit   int64
	credit  int64
}

// nachaPending is an entry whose addenda may still follow.
type nachaPending struct {
	ed        *moov.EntryDetail
	line      int
	record    string // the entry detail record as read, padded to 94 characters
	addenda   *moov.Addenda05
	aLine     int    // line of the first addenda record
	aType     string // type code of the first addenda record
	aInfo     string // its payment related information (positions 4–83), untrimmed
	extraLine int    // line of a second addenda record; 0 when there is none
}

func (p *nachaParser) fail(line int, record, field string, err error, format string, args ...any) error {
	return &NACHAError{Line: line, Record: record, Field: field, Err: fmt.Errorf("%w: %s", err, fmt.Sprintf(format, args...))}
}

// physical takes one physical line, with its line ending.
func (p *nachaParser) physical(raw []byte) error {
	p.line++
	p.sum.Lines = p.line
	if p.line > p.limit {
		return p.fail(p.line, "", "", ErrNACHATooLong, "more than %d lines", p.limit)
	}
	b := bytes.TrimSuffix(raw, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > nachaLineBytesMax {
		return p.fail(p.line, "", "", ErrNACHALine, "%d bytes long, more than a record of 94 characters can take", len(b))
	}
	if !utf8.Valid(b) {
		col := 1 + utf8.RuneCount(b[:nachaInvalidAt(b)])
		return p.fail(p.line, "", "", ErrNACHALine, "not valid UTF-8 at character %d", col)
	}
	n := utf8.RuneCount(b)
	if n > nachaRecordLen {
		return p.fail(p.line, "", "", ErrNACHALine, "%d characters long, a record has 94 (one record per line)", n)
	}
	if len(bytes.TrimFunc(b, unicode.IsSpace)) == 0 {
		return nil // a blank line
	}
	rec := string(b) + strings.Repeat(" ", nachaRecordLen-n)
	return p.record(rec)
}

// nachaInvalidAt returns the offset of the first byte of b that is not valid UTF-8.
func nachaInvalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

var nachaPadding = strings.Repeat("9", nachaRecordLen)

// record takes one record of 94 characters.
func (p *nachaParser) record(rec string) error {
	if p.fileControl {
		if rec == nachaPadding {
			return nil
		}
		return p.fail(p.line, "", "", ErrNACHAOrder, "a record after the file control (only padding of 94 nines may follow it)")
	}
	p.recs++
	if rec[0] != '7' && p.pending != nil {
		if err := p.finish(); err != nil {
			return err
		}
	}
	switch rec[0] {
	case '1':
		return p.fileHeader(rec)
	case '5':
		return p.batchHeaderRecord(rec)
	case '6':
		return p.entry(rec)
	case '7':
		return p.addenda(rec)
	case '8':
		return p.batchControl(rec)
	case '9':
		if rec == nachaPadding {
			return p.fail(p.line, "", "", ErrNACHAOrder, "padding before the file control")
		}
		return p.fileControlRecord(rec)
	}
	return p.fail(p.line, "", "", ErrNACHARecord, "unknown record type %q", string([]rune(rec)[0]))
}

// moovFailure turns a moov-io/ach validation error into a *NACHAError with its field.
func (p *nachaParser) moovFailure(record string, err error) error {
	field := ""
	var fe *moov.FieldError
	if errors.As(err, &fe) {
		field = fe.FieldName
	}
	return &NACHAError{Line: p.line, Record: record, Field: field, Err: fmt.Errorf("%w: %v", ErrNACHARecord, err)}
}

func (p *nachaParser) fileHeader(rec string) error {
	const name = "FileHeader"
	if p.header {
		return p.fail(p.line, name, "", ErrNACHAOrder, "a second file header")
	}
	if p.recs != 1 {
		return p.fail(p.line, name, "", ErrNACHAOrder, "the file header must be the first record")
	}
	fh := moov.NewFileHeader()
	fh.Parse(rec)
	if err := fh.Validate(); err != nil {
		return p.moovFailure(name, err)
	}
	origin, err := ParseNACHARouting(strings.TrimSpace(fh.ImmediateOrigin))
	if err != nil {
		return &NACHAError{Line: p.line, Record: name, Field: "ImmediateOrigin", Err: fmt.Errorf("%w: %w", ErrNACHAProfile, err)}
	}
	dest, err := ParseNACHARouting(strings.TrimSpace(fh.ImmediateDestination))
	if err != nil {
		return &NACHAError{Line: p.line, Record: name, Field: "ImmediateDestination", Err: fmt.Errorf("%w: %w", ErrNACHAProfile, err)}
	}
	p.header = true
	p.sum.Origin, p.sum.Destination = origin, dest
	return nil
}

func (p *nachaParser) batchHeaderRecord(rec string) error {
	const name = "BatchHeader"
	switch {
	case !p.header:
		return p.fail(p.line, name, "", ErrNACHAOrder, "a batch header before the file header")
	case p.inBatch:
		return p.fail(p.line, name, "", ErrNACHAOrder, "a batch header inside a batch (its batch control is missing)")
	}
	bh := moov.NewBatchHeader()
	bh.Parse(rec)
	if err := bh.Validate(); err != nil {
		return p.moovFailure(name, err)
	}
	if sec := bh.StandardEntryClassCode; sec != moov.PPD && sec != moov.CCD {
		return p.fail(p.line, name, "StandardEntryClassCode", ErrNACHAProfile, "standard entry class %s, the paya profile reads PPD and CCD", sec)
	}
	switch bh.ServiceClassCode {
	case moov.MixedDebitsAndCredits, moov.CreditsOnly, moov.DebitsOnly:
	default:
		return p.fail(p.line, name, "ServiceClassCode", ErrNACHAProfile, "service class %d, the paya profile reads 200, 220 and 225", bh.ServiceClassCode)
	}
	origin, ok := nachaODFICode(bh.ODFIIdentification)
	if !ok {
		return p.fail(p.line, name, "ODFIIdentification", ErrNACHAProfile, "odfi %q is not %s and a bank code", bh.ODFIIdentification, nachaRoutingPrefix)
	}
	if bh.BatchNumber <= p.batchNumber {
		return p.fail(p.line, name, "BatchNumber", ErrNACHAOrder, "batch number %d after batch number %d: batch numbers ascend", bh.BatchNumber, p.batchNumber)
	}
	if p.sum.Batches >= nachaBatchCountMax {
		return p.fail(p.line, name, "", ErrNACHAControl, "more than %d batches, more than the file control can count", nachaBatchCountMax)
	}
	p.batchNumber = bh.BatchNumber
	p.inBatch, p.batchHeader, p.batchOrigin = true, bh, origin
	p.batch = nachaTotals{}
	p.sum.Batches++
	return nil
}

func (p *nachaParser) entry(rec string) error {
	if !p.inBatch {
		return p.fail(p.line, "EntryDetail", "", ErrNACHAOrder, "an entry outside a batch")
	}
	ed := moov.NewEntryDetail()
	ed.Parse(rec)
	p.pending = &nachaPending{ed: ed, line: p.line, record: rec}
	// The controls count what the records say, whatever the profile makes of the entry: a
	// field that is not digits counts 0, as in moov-io/ach's own sums.
	hash, _ := strconv.ParseUint(nachaRunes(rec, 3, 11), 10, 64)
	amount, _ := strconv.ParseUint(nachaRunes(rec, 29, 39), 10, 64)
	p.batch.records++
	p.batch.hash = (p.batch.hash + int64(hash)) % nachaHashModulus // at most 8 digits
	switch nachaDirection(ed.TransactionCode) {
	case 'C':
		p.batch.credit += int64(amount) // at most 10 digits
	case 'D':
		p.batch.debit += int64(amount)
	}
	return nil
}

// nachaDirection tells which control total a transaction code counts in: 'C' credits, 'D'
// debits, 0 neither. These are the codes moov-io/ach's batch sums count (Batch's
// calculateBatchAmounts), so that a file moov-io/ach wrote checks here as it checks there.
func nachaDirection(code int) byte {
	switch code {
	case moov.CheckingCredit, moov.CheckingReturnNOCCredit, moov.CheckingPrenoteCredit, moov.CheckingZeroDollarRemittanceCredit,
		moov.SavingsCredit, moov.SavingsReturnNOCCredit, moov.SavingsPrenoteCredit, moov.SavingsZeroDollarRemittanceCredit,
		moov.GLCredit, moov.GLReturnNOCCredit, moov.GLPrenoteCredit, moov.GLZeroDollarRemittanceCredit,
		moov.LoanCredit, moov.LoanReturnNOCCredit, moov.LoanPrenoteCredit, moov.LoanZeroDollarRemittanceCredit:
		return 'C'
	case moov.CheckingDebit, moov.CheckingReturnNOCDebit, moov.CheckingPrenoteDebit, moov.CheckingZeroDollarRemittanceDebit,
		moov.SavingsDebit, moov.SavingsReturnNOCDebit, moov.SavingsPrenoteDebit, moov.SavingsZeroDollarRemittanceDebit,
		moov.GLDebit, moov.GLReturnNOCDebit, moov.GLPrenoteDebit, moov.GLZeroDollarRemittanceDebit,
		moov.LoanDebit, moov.LoanReturnNOCDebit:
		return 'D'
	}
	return 0
}

func (p *nachaParser) addenda(rec string) error {
	if p.pending == nil {
		return p.fail(p.line, "Addenda", "", ErrNACHAOrder, "an addenda record that follows no entry")
	}
	p.batch.records++
	e := p.pending
	switch {
	case e.aLine == 0:
		e.aLine = p.line
		e.aType = nachaRunes(rec, 1, 3)
		e.aInfo = nachaRunes(rec, 3, 3+nachaInfoLen)
		if e.aType == "05" {
			a := moov.NewAddenda05()
			a.SetValidation(&moov.ValidateOpts{AllowSpecialCharacters: true})
			a.Parse(rec)
			e.addenda = a
		}
	case e.extraLine == 0:
		e.extraLine = p.line
	}
	return nil
}

// finish decides the pending entry and hands it to each.
func (p *nachaParser) finish() error {
	e := p.pending
	p.pending = nil
	out := NACHAEntry{
		Line:       e.line,
		AmountRial: int64(e.ed.Amount),
		Debit:      e.ed.TransactionCode == NACHADebit,
		Reference:  strings.TrimSpace(e.ed.IdentificationNumber),
		OriginBank: p.batchOrigin,
		Trace:      e.ed.TraceNumber,
	}
	if e.addenda != nil {
		out.SHEBA = strings.TrimSpace(nachaRunes(e.aInfo, 0, nachaSHEBALen))
		out.Name = strings.TrimSpace(nachaRunes(e.aInfo, nachaSHEBALen, nachaInfoLen))
	}
	out.Problem = p.judge(e)
	p.sum.Entries++
	if out.Problem != nil {
		p.sum.Rejected++
	}
	if p.each == nil {
		return nil
	}
	return p.each(out)
}

// judge applies the profile's checks to an entry, in the order of precedence of the codes.
func (p *nachaParser) judge(e *nachaPending) *NACHAProblem {
	ed := e.ed
	at := func(line int, code NACHACode, field string, cause error, format string, args ...any) *NACHAProblem {
		return &NACHAProblem{Code: code, Line: line, Field: field, Message: fmt.Sprintf(format, args...), Err: cause}
	}
	// record
	rec := e.record
	for i := 0; i < len(rec); i++ {
		if rec[i] >= utf8.RuneSelf {
			r, _ := utf8.DecodeRuneInString(rec[i:])
			return at(e.line, NACHAEntryRecord, "", nil, "character %q at position %d: an entry detail record is ASCII", r, utf8.RuneCountInString(rec[:i])+1)
		}
	}
	// ASCII from here on: bytes are characters.
	if !nachaDigits(rec[29:39], 10) {
		return at(e.line, NACHAEntryRecord, "Amount", nil, "amount %q is not 10 digits", rec[29:39])
	}
	if c := rec[78]; c != '0' && c != '1' {
		return at(e.line, NACHAEntryRecord, "AddendaRecordIndicator", nil, "addenda indicator %q must be 0 or 1", string(c))
	}
	trace := rec[79:94]
	if !nachaDigits(trace, 15) {
		return at(e.line, NACHAEntryRecord, "TraceNumber", nil, "trace number %q is not 15 digits", trace)
	}
	ed.SetValidation(&moov.ValidateOpts{AllowInvalidCheckDigit: true}) // the profile checks it below, with its own code
	if err := ed.Validate(); err != nil {
		field := ""
		var fe *moov.FieldError
		if errors.As(err, &fe) {
			field = fe.FieldName
		}
		return at(e.line, NACHAEntryRecord, field, err, "%v", err)
	}
	// transaction_code
	switch ed.TransactionCode {
	case NACHACredit:
		if p.batchHeader.ServiceClassCode == moov.DebitsOnly {
			return at(e.line, NACHATransaction, "TransactionCode", nil, "credit (22) in a debits-only batch (service class 225)")
		}
	case NACHADebit:
		if p.batchHeader.ServiceClassCode == moov.CreditsOnly {
			return at(e.line, NACHATransaction, "TransactionCode", nil, "debit (27) in a credits-only batch (service class 220)")
		}
	default:
		return at(e.line, NACHATransaction, "TransactionCode", nil, "transaction code %d: the paya profile reads 22 (credit) and 27 (debit)", ed.TransactionCode)
	}
	// routing, routing_check_digit
	rdfi := rec[3:12]
	code, err := ParseNACHARouting(rdfi)
	switch {
	case errors.Is(err, ErrNACHACheckDigit):
		return at(e.line, NACHACheckDigit, "CheckDigit", err, "check digit of rdfi routing number %s is %c, want %d", rdfi, rdfi[8], nachaCheckDigit(rdfi[:8]))
	case err != nil:
		return at(e.line, NACHARoutingBad, "RDFIIdentification", err, "rdfi routing number %q is not %s, a bank code and a check digit", rdfi, nachaRoutingPrefix)
	}
	// amount_zero
	if ed.Amount == 0 {
		return at(e.line, NACHAAmountZero, "Amount", nil, "amount is 0")
	}
	// addenda_missing
	if e.aLine == 0 {
		return at(e.line, NACHANoAddenda, "AddendaRecordIndicator", nil, "no addenda 05 follows: the paya profile carries the sheba there")
	}
	// addenda
	switch {
	case ed.AddendaRecordIndicator != 1:
		return at(e.aLine, NACHAAddenda, "AddendaRecordIndicator", nil, "an addenda record follows an entry (line %d) whose addenda indicator is 0", e.line)
	case e.aType != "05":
		return at(e.aLine, NACHAAddenda, "TypeCode", nil, "addenda type %q: the paya profile carries only addenda 05", e.aType)
	}
	a := e.addenda
	if err := a.Validate(); err != nil {
		field := ""
		var fe *moov.FieldError
		if errors.As(err, &fe) {
			field = fe.FieldName
		}
		return at(e.aLine, NACHAAddenda, field, err, "%v", err)
	}
	if a.SequenceNumber != 1 {
		return at(e.aLine, NACHAAddenda, "SequenceNumber", nil, "addenda sequence number %d, want 1", a.SequenceNumber)
	}
	if seq, _ := strconv.Atoi(trace[8:]); a.EntryDetailSequenceNumber != seq {
		return at(e.aLine, NACHAAddenda, "EntryDetailSequenceNumber", nil, "entry detail sequence number %07d does not end the entry's trace number %s", a.EntryDetailSequenceNumber, trace)
	}
	if e.extraLine != 0 {
		return at(e.extraLine, NACHAAddenda, "", nil, "a second addenda record for the entry on line %d: a PPD entry carries one", e.line)
	}
	// sheba
	info := e.aInfo
	shebaText := nachaRunes(info, 0, nachaSHEBALen)
	x, err := sheba.Parse(shebaText, p.opts.Directory)
	if err != nil {
		return at(e.aLine, NACHASHEBA, "PaymentRelatedInformation", err, "the sheba %q in the addenda: %v", shebaText, err)
	}
	if x.String() != shebaText {
		return at(e.aLine, NACHASHEBA, "PaymentRelatedInformation", nil, "the sheba %q in the addenda is not in canonical form (%s)", shebaText, x)
	}
	// bank_mismatch
	if x.BankCode() != code {
		return at(e.line, NACHABank, "RDFIIdentification", nil, "the rdfi names bank %s, the sheba in the addenda on line %d bank %s", code, e.aLine, x.BankCode())
	}
	// account_mismatch
	if acct := strings.TrimSpace(ed.DFIAccountNumber); acct != x.String()[nachaSHEBALen-nachaAccountLen:] {
		return at(e.line, NACHAAccount, "DFIAccountNumber", nil, "account %q is not the last %d digits of the sheba %s in the addenda on line %d", acct, nachaAccountLen, x, e.aLine)
	}
	// name
	rest := nachaRunes(info, nachaSHEBALen, nachaInfoLen)
	if strings.TrimSpace(rest) == "" {
		return at(e.aLine, NACHAName, "PaymentRelatedInformation", nil, "no name after the sheba")
	}
	if r, _ := utf8.DecodeRuneInString(rest); r != ' ' {
		return at(e.aLine, NACHAName, "PaymentRelatedInformation", nil, "character %q after the sheba, want a space before the name", r)
	}
	if err := nachaCheckName(rest); err != nil {
		return at(e.aLine, NACHAName, "PaymentRelatedInformation", nil, "%v", err)
	}
	return nil
}

// nachaCheckName reports what is wrong with a name, or nil: control characters. Length is the
// caller's business (the field bounds it when reading).
func nachaCheckName(name string) error {
	i := 0
	for _, r := range name {
		i++
		if unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("character %q at position %d of the name is a control character", r, i)
		}
	}
	return nil
}

// nachaRunes returns the characters from..to (0-based, to excluded) of s, which has at least
// to characters, without copying.
func nachaRunes(s string, from, to int) string {
	start, n := -1, 0
	for i := range s { // i runs over the byte offsets of the characters
		if n == from {
			start = i
		}
		if n == to {
			return s[start:i]
		}
		n++
	}
	if n == to {
		if start < 0 {
			start = len(s)
		}
		return s[start:]
	}
	panic("ach: nachaRunes past the end of a record") // callers pass records of 94 characters
}

func (p *nachaParser) batchControl(rec string) error {
	const name = "BatchControl"
	if !p.inBatch {
		return p.fail(p.line, name, "", ErrNACHAOrder, "a batch control outside a batch")
	}
	bc := moov.NewBatchControl()
	bc.Parse(rec)
	if err := bc.Validate(); err != nil {
		return p.moovFailure(name, err)
	}
	bh, t := p.batchHeader, p.batch
	checks := []struct {
		field     string
		got, want int64
		format    string
	}{
		{"ServiceClassCode", int64(bc.ServiceClassCode), int64(bh.ServiceClassCode), "service class %d, the batch header's %d"},
		{"BatchNumber", int64(bc.BatchNumber), int64(bh.BatchNumber), "batch number %d, the batch header's %d"},
		{"EntryAddendaCount", int64(bc.EntryAddendaCount), int64(t.records), "entry/addenda count %d, the batch has %d such records"},
		{"EntryHash", int64(bc.EntryHash), t.hash, "entry hash %d, the batch's rdfi numbers sum to %d"},
		{"TotalDebitEntryDollarAmount", int64(bc.TotalDebitEntryDollarAmount), t.debit, "debit total %d, the batch's debits sum to %d"},
		{"TotalCreditEntryDollarAmount", int64(bc.TotalCreditEntryDollarAmount), t.credit, "credit total %d, the batch's credits sum to %d"},
	}
	for _, c := range checks {
		if c.got != c.want {
			return p.fail(p.line, name, c.field, ErrNACHAControl, c.format, c.got, c.want)
		}
	}
	if strings.TrimSpace(bc.CompanyIdentification) != strings.TrimSpace(bh.CompanyIdentification) {
		return p.fail(p.line, name, "CompanyIdentification", ErrNACHAControl, "company identification %q, the batch header's %q", bc.CompanyIdentification, bh.CompanyIdentification)
	}
	if bc.ODFIIdentification != bh.ODFIIdentification {
		return p.fail(p.line, name, "ODFIIdentification", ErrNACHAControl, "odfi %q, the batch header's %q", bc.ODFIIdentification, bh.ODFIIdentification)
	}
	p.file.records += t.records
	p.file.hash = (p.file.hash + t.hash) % nachaHashModulus
	p.file.debit += t.debit
	p.file.credit += t.credit
	p.inBatch, p.batchHeader = false, nil
	return nil
}

func (p *nachaParser) fileControlRecord(rec string) error {
	const name = "FileControl"
	switch {
	case !p.header:
		return p.fail(p.line, name, "", ErrNACHAOrder, "a file control before the file header")
	case p.inBatch:
		return p.fail(p.line, name, "", ErrNACHAOrder, "a file control inside a batch (its batch control is missing)")
	}
	fc := moov.NewFileControl()
	fc.Parse(rec)
	if err := fc.Validate(); err != nil {
		return p.moovFailure(name, err)
	}
	blocks := (p.recs + nachaBlockRecords - 1) / nachaBlockRecords
	t := p.file
	checks := []struct {
		field     string
		got, want int64
		format    string
	}{
		{"BatchCount", int64(fc.BatchCount), int64(p.sum.Batches), "batch count %d, the file has %d batches"},
		{"BlockCount", int64(fc.BlockCount), int64(blocks), "block count %d, the file's records fill %d blocks of 10"},
		{"EntryAddendaCount", int64(fc.EntryAddendaCount), int64(t.records), "entry/addenda count %d, the file has %d such records"},
		{"EntryHash", int64(fc.EntryHash), t.hash, "entry hash %d, the file's rdfi numbers sum to %d"},
		{"TotalDebitEntryDollarAmountInFile", int64(fc.TotalDebitEntryDollarAmountInFile), t.debit, "debit total %d, the file's debits sum to %d"},
		{"TotalCreditEntryDollarAmountInFile", int64(fc.TotalCreditEntryDollarAmountInFile), t.credit, "credit total %d, the file's credits sum to %d"},
	}
	for _, c := range checks {
		if c.got != c.want {
			return p.fail(p.line, name, c.field, ErrNACHAControl, c.format, c.got, c.want)
		}
	}
	if p.sum.Batches == 0 {
		return p.fail(p.line, name, "BatchCount", ErrNACHAProfile, "a file of no batches")
	}
	p.fileControl = true
	p.sum.CreditRial, p.sum.DebitRial = t.credit, t.debit
	return nil
}

// end checks the state at the end of the input.
func (p *nachaParser) end() error {
	if p.pending != nil {
		if err := p.finish(); err != nil {
			return err
		}
	}
	switch {
	case !p.header:
		return &NACHAError{Line: p.line, Err: fmt.Errorf("%w: no file header (%d lines read)", ErrNACHATruncated, p.line)}
	case p.inBatch:
		return &NACHAError{Line: p.line, Err: fmt.Errorf("%w: the input ends inside a batch, without its batch control", ErrNACHATruncated)}
	case !p.fileControl:
		return &NACHAError{Line: p.line, Err: fmt.Errorf("%w: the input ends without a file control", ErrNACHATruncated)}
	}
	return nil
}

// NACHAHeader is what WriteNACHA needs besides the entries.
type NACHAHeader struct {
	// Origin is the CBI code of the bank the files come from: the file header's immediate
	// origin, and the ODFI and company of every batch whose entries name no OriginBank. The
	// CBI itself (010) is the origin of a cycle's delivery to a receiving bank.
	Origin string
	// Destination is the CBI code of the bank the files go to: the immediate destination.
	Destination string
	// Created is the files' creation date and time (YYMMDD, HHMM in Created's location). The
	// caller's clock gives it: this package reads none.
	Created time.Time
	// Effective is every batch's effective entry date; zero means Created's date.
	Effective time.Time
	// Description is every batch's company entry description, printable ASCII, at most 10
	// characters; empty means "PAYA".
	Description string
	// Banks names the banks (English names for the headers); nil means banks.Default().
	Banks *banks.Registry
	// FileEntriesMax bounds the entries of one file; 0 means NACHAFileEntriesDefault. It may
	// not raise the NACHA limits, which always apply.
	FileEntriesMax int
}

// WriteNACHA writes entries in the PAYA profile as NACHA files, through moov-io/ach's Writer,
// and returns a summary of each file. It calls next(0), next(1), … for the writer of each file,
// just before writing it; the caller closes each one (next(i+1) or WriteNACHA's return says
// file i is complete). No entries, no files: it returns nil and never calls next.
//
// Every entry and the header are checked before anything is written, so a bad entry leaves no
// file behind: the error is a *NACHAError naming the entry (1-based) and the field, wrapping
// ErrNACHAEntry or ErrNACHAHeader.
//
// Entries go into batches and files in their order. A new batch starts when an entry's
// originating bank differs from the batch's (sort the entries by OriginBank for one batch per
// bank), or when the entry would take the batch past a NACHA field: its debit or credit total
// past 12 digits (NACHATotalMax) or its entry/addenda count past 6 digits (999,999 records,
// that is 499,999 entries of two records each). A new file starts when the entry would take
// the file past its own limits: its debit or credit total past 12 digits, its entry/addenda
// count past 8 digits, its batch count or block count past 6 digits (a block is 10 records, so
// at most 9,999,990 records), or FileEntriesMax entries. Because a file's totals have the
// same 12 digits as a batch's, an amount that would overflow a batch also overflows its file,
// so large sums split into files, each well formed on its own; the sums over the files are the
// sums of the entries. Files of one call get the file ID modifiers A–Z, 0–9 in turn (repeating
// after 36) and their number, from 00000001, in the file header's reference code.
//
// Memory is that of one file at a time: moov-io/ach's Writer takes a whole file.
func WriteNACHA(next func(file int) (io.Writer, error), h NACHAHeader, entries []NACHAEntry) ([]NACHASummary, error) {
	reg := h.Banks
	if reg == nil {
		reg = banks.Default()
	}
	hdr, err := nachaPrepareHeader(h, reg)
	if err != nil {
		return nil, err
	}
	prepared := make([]nachaOut, len(entries))
	for i, e := range entries {
		out, err := nachaPrepareEntry(e, hdr, reg)
		if err != nil {
			err.Entry = i + 1
			return nil, err
		}
		prepared[i] = out
	}
	if len(prepared) == 0 {
		return nil, nil
	}
	plan := nachaPlan(prepared, hdr.fileEntriesMax)
	sums := make([]NACHASummary, 0, len(plan))
	for i, f := range plan {
		file, sum := nachaBuild(hdr, prepared, f, i)
		w, err := next(i)
		if err != nil {
			return sums, fmt.Errorf("ach: nacha: opening file %d: %w", i+1, err)
		}
		if err := moov.NewWriter(w).Write(file); err != nil {
			return sums, fmt.Errorf("ach: nacha: writing file %d: %w", i+1, err)
		}
		sums = append(sums, sum)
	}
	return sums, nil
}

// nachaHeaderOut is a checked NACHAHeader.
type nachaHeaderOut struct {
	origin, destination  banks.Bank
	originRouting        string
	destinationRouting   string
	created, effective   time.Time
	description          string
	fileEntriesMax       int
	companyNames, routes map[string]string // bank code -> company name, routing number
}

// nachaOut is a checked entry, ready for a record.
type nachaOut struct {
	sheba      string // canonical
	bank       string // the SHEBA's bank code: the RDFI
	amount     int64
	debit      bool
	name       string // trimmed
	reference  string
	origin     string // originating bank code
	routing    string // the RDFI's routing number
	originODFI string // "00000" and the origin's code
}

func nachaHeaderError(field string, format string, args ...any) *NACHAError {
	return &NACHAError{Record: "FileHeader", Field: field, Err: fmt.Errorf("%w: %s", ErrNACHAHeader, fmt.Sprintf(format, args...))}
}

func nachaPrepareHeader(h NACHAHeader, reg *banks.Registry) (*nachaHeaderOut, error) {
	out := &nachaHeaderOut{companyNames: map[string]string{}, routes: map[string]string{}}
	var ok bool
	if out.origin, ok = reg.ByCode(h.Origin); !ok {
		return nil, nachaHeaderError("ImmediateOrigin", "origin %q names no bank", h.Origin)
	}
	if out.destination, ok = reg.ByCode(h.Destination); !ok {
		return nil, nachaHeaderError("ImmediateDestination", "destination %q names no bank", h.Destination)
	}
	for _, b := range []banks.Bank{out.origin, out.destination} {
		if !nachaPrintableASCII(b.NameEN) {
			return nil, nachaHeaderError("ImmediateOriginName", "bank %s's English name %q is not printable ASCII", b.Code, b.NameEN)
		}
	}
	out.originRouting, _ = NACHARouting(out.origin.Code) // a registry code is 3 digits
	out.destinationRouting, _ = NACHARouting(out.destination.Code)
	if h.Created.IsZero() {
		return nil, nachaHeaderError("FileCreationDate", "no creation time")
	}
	out.created, out.effective = h.Created, h.Effective
	if out.effective.IsZero() {
		out.effective = h.Created
	}
	if y := out.created.Year(); y < 2000 || y > 2099 {
		return nil, nachaHeaderError("FileCreationDate", "year %d does not fit NACHA's two-digit year", y)
	}
	if y := out.effective.Year(); y < 2000 || y > 2099 {
		return nil, &NACHAError{Record: "BatchHeader", Field: "EffectiveEntryDate", Err: fmt.Errorf("%w: year %d does not fit NACHA's two-digit year", ErrNACHAHeader, y)}
	}
	out.description = strings.TrimSpace(h.Description)
	if out.description == "" {
		out.description = nachaDescDefault
	}
	if len(out.description) > nachaDescLen || !nachaPrintableASCII(out.description) || strings.Trim(out.description, "0") == "" {
		return nil, &NACHAError{Record: "BatchHeader", Field: "CompanyEntryDescription",
			Err: fmt.Errorf("%w: description %q is not 1 to %d printable ASCII characters (not all zeros)", ErrNACHAHeader, h.Description, nachaDescLen)}
	}
	out.fileEntriesMax = h.FileEntriesMax
	if out.fileEntriesMax <= 0 {
		out.fileEntriesMax = NACHAFileEntriesDefault
	}
	return out, nil
}

// company returns the company name and routing number of an originating bank, or false.
func (h *nachaHeaderOut) company(code string, reg *banks.Registry) (name, routing string, ok bool) {
	if name, ok := h.companyNames[code]; ok {
		return name, h.routes[code], true
	}
	b, found := reg.ByCode(code)
	if !found || !nachaPrintableASCII(b.NameEN) {
		return "", "", false
	}
	name = nachaCut(b.NameEN, nachaCompanyLen)
	routing, _ = NACHARouting(code)
	h.companyNames[code], h.routes[code] = name, routing
	return name, routing, true
}

func nachaPrepareEntry(e NACHAEntry, h *nachaHeaderOut, reg *banks.Registry) (nachaOut, *NACHAError) {
	bad := func(record, field, format string, args ...any) *NACHAError {
		return &NACHAError{Record: record, Field: field, Err: fmt.Errorf("%w: %s", ErrNACHAEntry, fmt.Sprintf(format, args...))}
	}
	x, err := sheba.Parse(e.SHEBA, nil)
	if err != nil {
		return nachaOut{}, &NACHAError{Record: "Addenda", Field: "PaymentRelatedInformation", Err: fmt.Errorf("%w: %w", ErrNACHAEntry, err)}
	}
	if e.AmountRial < 1 || e.AmountRial > NACHAAmountMax {
		return nachaOut{}, bad("EntryDetail", "Amount", "amount %d rial is not 1 to %d", e.AmountRial, NACHAAmountMax)
	}
	name := strings.TrimSpace(e.Name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return nachaOut{}, bad("Addenda", "PaymentRelatedInformation", "name is not valid UTF-8")
	case n == 0:
		return nachaOut{}, bad("Addenda", "PaymentRelatedInformation", "no name")
	case n > NACHANameMax:
		return nachaOut{}, bad("Addenda", "PaymentRelatedInformation", "name of %d characters, at most %d fit after the sheba", n, NACHANameMax)
	}
	if err := nachaCheckName(name); err != nil {
		return nachaOut{}, bad("Addenda", "PaymentRelatedInformation", "%v", err)
	}
	ref := strings.TrimSpace(e.Reference)
	if len(ref) > NACHAReferenceMax || !nachaPrintableASCII(ref) {
		return nachaOut{}, bad("EntryDetail", "IdentificationNumber", "reference %q is not at most %d printable ASCII characters", e.Reference, NACHAReferenceMax)
	}
	origin := e.OriginBank
	if origin == "" {
		origin = h.origin.Code
	}
	if _, _, ok := h.company(origin, reg); !ok {
		return nachaOut{}, bad("BatchHeader", "ODFIIdentification", "originating bank %q names no bank with an ASCII name", origin)
	}
	routing, _ := NACHARouting(x.BankCode()) // a SHEBA's bank code is 3 digits
	return nachaOut{
		sheba: x.String(), bank: x.BankCode(), amount: e.AmountRial, debit: e.Debit, name: name,
		reference: ref, origin: origin, routing: routing, originODFI: nachaRoutingPrefix + origin,
	}, nil
}

// nachaPrintableASCII reports whether s is made of printable ASCII characters (space to ~).
func nachaPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// nachaCut returns the first n bytes of the ASCII string s.
func nachaCut(s string, n int) string {
	if len(s) > n {
		return strings.TrimSpace(s[:n])
	}
	return s
}

// nachaIndividualName is the entry's individual name: the name itself when it is printable
// ASCII with something besides zeros (PPD wants a name that is not all zeros), cut to 22
// characters; the placeholder otherwise.
func nachaIndividualName(name string) string {
	if nachaPrintableASCII(name) && strings.Trim(name, "0 ") != "" {
		return nachaCut(name, nachaIndividualLen)
	}
	return nachaPlaceholder
}

// nachaPlanBatch is a run of entries [from, to) in one batch.
type nachaPlanBatch struct {
	from, to      int
	origin        string
	credit, debit bool // whether the batch holds credits, debits
}

// nachaFileLimits are the limits WriteNACHA packs files and batches under. They are NACHA's
// field widths, except in tests, which lower them to reach the splits with few entries.
type nachaFileLimits struct {
	totalMax       int64 // debit or credit total of a batch or a file
	batchRecsMax   int   // entry/addenda records of a batch
	fileRecsMax    int   // entry/addenda records of a file
	fileLinesMax   int   // records of a file, headers and controls included (block count × 10)
	batchesMax     int   // batches of a file
	fileEntriesMax int
}

var nachaLimits = nachaFileLimits{
	totalMax:     NACHATotalMax,
	batchRecsMax: nachaBatchRecsMax,
	fileRecsMax:  nachaFileRecsMax,
	fileLinesMax: NACHALinesMax,
	batchesMax:   nachaBatchCountMax,
}

func nachaPlan(es []nachaOut, fileEntriesMax int) [][]nachaPlanBatch {
	l := nachaLimits
	l.fileEntriesMax = fileEntriesMax
	return nachaPlanWith(es, l)
}

// nachaPlanWith packs entries into files of batches under the limits l (see WriteNACHA).
func nachaPlanWith(es []nachaOut, l nachaFileLimits) [][]nachaPlanBatch {
	const recsPerEntry = 2 // the entry and its addenda 05
	var (
		files [][]nachaPlanBatch
		cur   []nachaPlanBatch
		// running sums of the current batch and file
		bCredit, bDebit, fCredit, fDebit int64
		bRecs, fRecs, fLines, fEntries   int
	)
	for i, e := range es {
		var bSum, fSum int64 = bCredit, fCredit
		if e.debit {
			bSum, fSum = bDebit, fDebit
		}
		n := len(cur)
		newBatch := n == 0 || cur[n-1].origin != e.origin ||
			bSum+e.amount > l.totalMax || bRecs+recsPerEntry > l.batchRecsMax
		lines := recsPerEntry
		if newBatch {
			lines += 2 // its header and control
		}
		newFile := n == 0 || fSum+e.amount > l.totalMax || fRecs+recsPerEntry > l.fileRecsMax ||
			fLines+lines > l.fileLinesMax || (newBatch && n+1 > l.batchesMax) || fEntries+1 > l.fileEntriesMax
		if newFile {
			if n > 0 {
				files = append(files, cur)
			}
			cur, n = nil, 0
			fCredit, fDebit, fRecs, fEntries = 0, 0, 0, 0
			fLines = 2 + 2 // file header and control, batch header and control
			newBatch = true
		} else if newBatch {
			fLines += 2
		}
		if newBatch {
			cur = append(cur, nachaPlanBatch{from: i, origin: e.origin})
			n++
			bCredit, bDebit, bRecs = 0, 0, 0
		}
		b := &cur[n-1]
		b.to = i + 1
		if e.debit {
			b.debit = true
			bDebit += e.amount
			fDebit += e.amount
		} else {
			b.credit = true
			bCredit += e.amount
			fCredit += e.amount
		}
		bRecs += recsPerEntry
		fRecs += recsPerEntry
		fLines += recsPerEntry
		fEntries++
	}
	if len(cur) > 0 {
		files = append(files, cur)
	}
	return files
}

// nachaBuild makes file number i of the plan as a moov-io/ach File, its controls computed by
// moov-io/ach, and its summary.
func nachaBuild(h *nachaHeaderOut, es []nachaOut, batches []nachaPlanBatch, i int) (*moov.File, NACHASummary) {
	fh := moov.NewFileHeader()
	fh.ImmediateDestination = h.destinationRouting
	fh.ImmediateOrigin = h.originRouting
	fh.FileCreationDate = h.created.Format("060102")
	fh.FileCreationTime = h.created.Format("1504")
	fh.FileIDModifier = string(nachaFileIDModifiers[i%len(nachaFileIDModifiers)])
	fh.ImmediateDestinationName = nachaCut(h.destination.NameEN, nachaOriginNameLen)
	fh.ImmediateOriginName = nachaCut(h.origin.NameEN, nachaOriginNameLen)
	fh.ReferenceCode = fmt.Sprintf("%08d", i+1)
	file := moov.NewFile()
	file.SetHeader(fh)
	addendaOpts := &moov.ValidateOpts{AllowSpecialCharacters: true} // the UTF-8 name; addenda only
	sum := NACHASummary{Origin: h.origin.Code, Destination: h.destination.Code}
	for k, pb := range batches {
		bh := moov.NewBatchHeader()
		switch {
		case pb.credit && pb.debit:
			bh.ServiceClassCode = moov.MixedDebitsAndCredits
		case pb.debit:
			bh.ServiceClassCode = moov.DebitsOnly
		default:
			bh.ServiceClassCode = moov.CreditsOnly
		}
		name, routing := h.companyNames[pb.origin], h.routes[pb.origin]
		bh.CompanyName = name
		bh.CompanyIdentification = routing
		bh.StandardEntryClassCode = moov.PPD
		bh.CompanyEntryDescription = h.description
		bh.EffectiveEntryDate = h.effective.Format("060102")
		bh.ODFIIdentification = nachaRoutingPrefix + pb.origin
		bh.BatchNumber = k + 1
		batch, err := moov.NewBatch(bh)
		if err != nil {
			panic(fmt.Sprintf("ach: nacha: moov-io/ach refuses a PPD batch header: %v", err))
		}
		for j := pb.from; j < pb.to; j++ {
			e := es[j]
			ed := moov.NewEntryDetail()
			ed.TransactionCode = NACHACredit
			if e.debit {
				ed.TransactionCode = NACHADebit
				sum.DebitRial += e.amount
			} else {
				sum.CreditRial += e.amount
			}
			ed.SetRDFI(e.routing)
			ed.DFIAccountNumber = e.sheba[nachaSHEBALen-nachaAccountLen:]
			ed.Amount = int(e.amount)
			ed.IdentificationNumber = e.reference
			ed.IndividualName = nachaIndividualName(e.name)
			ed.AddendaRecordIndicator = 1
			ed.SetTraceNumber(bh.ODFIIdentification, j-pb.from+1)
			a := moov.NewAddenda05()
			a.SetValidation(addendaOpts)
			a.PaymentRelatedInformation = e.sheba + " " + e.name
			ed.AddAddenda05(a)
			batch.AddEntry(ed)
			sum.Entries++
		}
		if err := batch.Create(); err != nil {
			panic(fmt.Sprintf("ach: nacha: moov-io/ach refuses batch %d of file %d, which WriteNACHA checked: %v", k+1, i+1, err))
		}
		c := batch.GetControl()
		if int64(c.TotalCreditEntryDollarAmount) > NACHATotalMax || int64(c.TotalDebitEntryDollarAmount) > NACHATotalMax || c.EntryAddendaCount > nachaBatchRecsMax {
			panic(fmt.Sprintf("ach: nacha: batch %d of file %d overflows its control: %+v", k+1, i+1, *c))
		}
		file.AddBatch(batch)
	}
	if err := file.Create(); err != nil {
		panic(fmt.Sprintf("ach: nacha: moov-io/ach refuses file %d, which WriteNACHA checked: %v", i+1, err))
	}
	c := file.Control
	if int64(c.TotalCreditEntryDollarAmountInFile) > NACHATotalMax || int64(c.TotalDebitEntryDollarAmountInFile) > NACHATotalMax ||
		c.EntryAddendaCount > nachaFileRecsMax || c.BatchCount > nachaBatchCountMax || c.BlockCount > NACHALinesMax/nachaBlockRecords ||
		int64(c.TotalCreditEntryDollarAmountInFile) != sum.CreditRial || int64(c.TotalDebitEntryDollarAmountInFile) != sum.DebitRial {
		panic(fmt.Sprintf("ach: nacha: file %d's control is wrong or overflows: %+v (entries: credit %d, debit %d)", i+1, c, sum.CreditRial, sum.DebitRial))
	}
	sum.Batches = len(batches)
	sum.Lines = c.BlockCount * nachaBlockRecords
	return file, sum
}
