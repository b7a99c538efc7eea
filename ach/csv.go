package ach

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The columns of a payroll CSV file, as its header names them (case-insensitive, in any order).
const (
	ColumnSHEBA       = "sheba"       // the payee's SHEBA
	ColumnAmount      = "amount"      // whole rial
	ColumnName        = "name"        // the payee's name
	ColumnDescription = "description" // optional remittance text; the column is required, its values may be empty
	ColumnReference   = "reference"   // the originator's reference for the row
)

// columns are the known columns, in the order a header usually lists them.
var columns = [...]string{ColumnSHEBA, ColumnAmount, ColumnName, ColumnDescription, ColumnReference}

const (
	colSHEBA = iota
	colAmount
	colName
	colDescription
	colReference
	colCount
)

// Limits of a CSV file. Each bounds memory or work whatever the file holds; CSVOptions may lower them.
const (
	// CSVRecordBytesMax bounds one record: a line, or the lines of a record whose quoted field holds line
	// breaks, line endings included. The five columns at their limits take at most 256 (a SHEBA as typed,
	// sheba's input limit) + 64 (an amount) + 3 × 140 × 4 (a name, a description, their worst UTF-8) + 35 × 4
	// (a reference) = 2,140 bytes before quoting; 4 KiB leaves room for quoting and a few short columns that
	// CSVOptions.IgnoreUnknownColumns skips.
	CSVRecordBytesMax = 4 << 10
	// CSVFieldsMax bounds the fields of a record: the five columns and room for the ignored ones.
	CSVFieldsMax = 32
	// CSVRowsMax bounds the data rows of a file: DOMAIN.md §1's payroll uploader sends "thousands to a
	// million credits", and a million is also rtgs.NetObligationsMax, the most obligations one net
	// settlement takes.
	CSVRowsMax = 1_000_000
	// CSVFileBytesMax bounds a file: a million rows of 512 bytes each, about three times a typical row (a
	// SHEBA, a 9-digit amount, a Persian name, a description and a reference take some 170 bytes).
	CSVFileBytesMax = 512 << 20
)

// Errors of a CSV file as a whole: a *FileError wraps one of them, or the reader's own error.
var (
	// ErrHeader: the first line is not a header the reader accepts.
	ErrHeader = errors.New("ach: csv header")
	// ErrEncoding: the file is not UTF-8 (a UTF-16 byte-order mark, or a header that is not UTF-8).
	ErrEncoding = errors.New("ach: csv encoding")
	// ErrFileTooLarge: the file is longer than the reader's FileBytesMax.
	ErrFileTooLarge = errors.New("ach: csv file too large")
	// ErrRowsTooMany: the file has more data rows than the reader's RowsMax.
	ErrRowsTooMany = errors.New("ach: csv too many rows")
	// ErrOptions: CSVOptions asks for a limit above the package's.
	ErrOptions = errors.New("ach: csv options")
)

// FileError is a fault of a CSV file as a whole: its header, its encoding, its size, its reading. The reader
// stops at it; rows it returned before stand as they were reported.
type FileError struct {
	// Line and Column say where, when it is one place: a 1-based physical line and character within it.
	Line, Column int
	// Message says what is wrong, lower case, for people.
	Message string
	// Err is one of ErrHeader, ErrEncoding, ErrFileTooLarge, ErrRowsTooMany, or the underlying reader's
	// error.
	Err error
}

func (e *FileError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("ach: csv: line %d, character %d: %s", e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("ach: csv: line %d: %s", e.Line, e.Message)
	}
	return "ach: csv: " + e.Message
}

// Unwrap returns e.Err.
func (e *FileError) Unwrap() error { return e.Err }

// RowError is a fault of one data row. The reader goes on with the next row.
type RowError struct {
	// Row is the 1-based physical line where the record starts; the header is line 1, so a data row is 2 or
	// more. A record whose quoted field holds line breaks spans several lines and is named by its first.
	Row int `json:"row"`
	// Line is the physical line of the fault itself: Row, or a later line of the same record.
	Line int `json:"line"`
	// Column is the 1-based character position of the fault within Line (an invalid byte counts as one
	// character), or of the start of the field at fault when the fault is its whole value; 0 when the fault
	// is about the whole record.
	Column int `json:"column,omitempty"`
	// Field is the column at fault as the header names it (ColumnAmount, ColumnSHEBA, …), "" when none.
	Field   string `json:"field,omitempty"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Hint says what to do instead, when there is something.
	Hint string `json:"hint,omitempty"`
}

func (e *RowError) Error() string {
	where := fmt.Sprintf("row %d", e.Row)
	if e.Field != "" {
		where += ", " + e.Field
	}
	if e.Column > 0 {
		where += fmt.Sprintf(" (line %d, character %d)", e.Line, e.Column)
	}
	return "ach: csv: " + where + ": " + e.Code.String() + ": " + e.Message
}

// CSVOptions tune a CSVReader. The zero value reads with the package's limits and refuses unknown columns.
type CSVOptions struct {
	// IgnoreUnknownColumns makes the reader skip columns it does not know (an employee number, a department,
	// the unnamed columns a spreadsheet may export after the last named one) instead of refusing the file. Off by default: a column the reader would not read — a "currency" saying
	// toman, a payment date — must not be paid as if it were not there.
	IgnoreUnknownColumns bool
	// RowsMax, FileBytesMax and RecordBytesMax lower the package's limits (CSVRowsMax, CSVFileBytesMax,
	// CSVRecordBytesMax); 0 keeps them. A value above the package's limit is an error (ErrOptions); a
	// RecordBytesMax below 16 is taken as 16, bufio's smallest buffer.
	RowsMax        int
	FileBytesMax   int64
	RecordBytesMax int
}

// Row is one data row of a payroll file. Its values are trimmed of surrounding white space, otherwise as
// written: SHEBA as typed (Validate normalises it), Name, Description and Reference with any line break a
// quoted field holds as "\n".
type Row struct {
	// Line is the 1-based physical line where the record starts; the header is line 1.
	Line        int    `json:"line"`
	SHEBA       string `json:"sheba"`
	AmountRial  int64  `json:"amount_rial"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Reference   string `json:"reference"`
}

// Entry is the credit the row asks for, from o: o pays the row's payee.
func (r Row) Entry(o Originator) Entry {
	return Entry{
		Core:            CoreCredit,
		OriginatingBank: o.Bank,
		PayerSHEBA:      o.SHEBA,
		PayerName:       o.Name,
		PayeeSHEBA:      r.SHEBA,
		PayeeName:       r.Name,
		AmountRial:      r.AmountRial,
		Description:     r.Description,
		Reference:       r.Reference,
	}
}

// columnOfField maps the Entry fields that a row of a payroll file fills to their columns.
var columnOfField = map[string]string{
	FieldPayeeSHEBA:  ColumnSHEBA,
	FieldAmount:      ColumnAmount,
	FieldPayeeName:   ColumnName,
	FieldDescription: ColumnDescription,
	FieldReference:   ColumnReference,
}

// CSVReader reads a payroll CSV file one row at a time, holding one record in memory at a time: its memory
// is bounded by CSVRecordBytesMax and CSVFieldsMax, whatever the file's size. It is not safe for concurrent
// use.
type CSVReader struct {
	br      *bufio.Reader
	src     *countingReader
	rowsMax int
	recMax  int
	ignore  bool
	line    int   // physical lines begun so far: the current line's number
	offset  int64 // file offset of the next byte to read
	col     int   // characters read of the current line
	header  [colCount]int
	names   []string // the header's column names, lower case, by field index
	rows    int      // data rows returned
	blank   int      // blank records skipped
	err     error    // sticky: a *FileError or io.EOF
	rec     record
}

// record is the record being read: its values unquoted into val, each byte's place in pos.
type record struct {
	start   int       // line where it starts
	val     []byte    // the values of its fields, unquoted, one after the other
	pos     []charPos // where each byte of val was read
	fields  []span    // the first CSVFieldsMax fields
	nfields int       // fields seen, which may exceed CSVFieldsMax
	bytes   int       // bytes read, line endings included

	tooLong      bool
	unterminated bool
	quoteAt      charPos // where the open quote of the quoted field in progress is
	syntax       *fault  // the first quoting fault
	badUTF8      *fault  // the first byte that is not UTF-8
	syntaxF      fault   // storage for syntax
	badUTF8F     fault   // storage for badUTF8
}

// charPos is where a character was read: physical line and character within it, both 1-based.
type charPos struct{ line, col int32 }

// span is one field of a record: its value is val[start:end]; at is where the field starts.
type span struct {
	start, end int
	at         charPos
}

// fault is a place in the file and what is wrong there.
type fault struct {
	at     charPos
	offset int64 // file offset of the byte at fault
	field  int   // index of the field it is in
	msg    string
}

func (rec *record) reset(line int) {
	rec.start = line
	rec.val, rec.pos, rec.fields = rec.val[:0], rec.pos[:0], rec.fields[:0]
	rec.nfields, rec.bytes = 0, 0
	rec.tooLong, rec.unterminated = false, false
	rec.syntax, rec.badUTF8 = nil, nil
}

// NewCSVReader reads the header of a payroll file from r and returns a reader of its rows. The header must
// be line 1 (after an optional UTF-8 byte-order mark) and name each of the five columns once; an error is a
// *FileError wrapping ErrHeader or ErrEncoding (or ErrOptions for opts above the limits, ErrFileTooLarge,
// or r's own error).
func NewCSVReader(r io.Reader, opts CSVOptions) (*CSVReader, error) {
	rowsMax, fileMax, recMax := CSVRowsMax, int64(CSVFileBytesMax), CSVRecordBytesMax
	switch {
	case opts.RowsMax < 0 || opts.RowsMax > CSVRowsMax:
		return nil, fmt.Errorf("%w: RowsMax %d outside 0..%d", ErrOptions, opts.RowsMax, CSVRowsMax)
	case opts.FileBytesMax < 0 || opts.FileBytesMax > CSVFileBytesMax:
		return nil, fmt.Errorf("%w: FileBytesMax %d outside 0..%d", ErrOptions, opts.FileBytesMax, CSVFileBytesMax)
	case opts.RecordBytesMax < 0 || opts.RecordBytesMax > CSVRecordBytesMax:
		return nil, fmt.Errorf("%w: RecordBytesMax %d outside 0..%d", ErrOptions, opts.RecordBytesMax, CSVRecordBytesMax)
	}
	if opts.RowsMax > 0 {
		rowsMax = opts.RowsMax
	}
	if opts.FileBytesMax > 0 {
		fileMax = opts.FileBytesMax
	}
	if opts.RecordBytesMax > 0 {
		recMax = max(opts.RecordBytesMax, minRecordBytes)
	}
	src := &countingReader{r: r, max: fileMax}
	c := &CSVReader{
		br:      bufio.NewReaderSize(src, recMax),
		src:     src,
		rowsMax: rowsMax,
		recMax:  recMax,
		ignore:  opts.IgnoreUnknownColumns,
		rec: record{
			val:    make([]byte, 0, recMax),
			pos:    make([]charPos, 0, recMax),
			fields: make([]span, 0, CSVFieldsMax),
		},
	}
	if err := c.readHeader(); err != nil {
		c.err = err
		return nil, err
	}
	return c, nil
}

// minRecordBytes is the least RecordBytesMax the reader works with: bufio's smallest buffer.
const minRecordBytes = 16

// Blank returns how many blank records the reader has skipped: empty lines, and records whose every field is
// empty or white space (a spreadsheet's ",,,," rows). They are not rows.
func (c *CSVReader) Blank() int { return c.blank }

// Rows returns how many data rows Next has returned, with or without a *RowError.
func (c *CSVReader) Rows() int { return c.rows }

// Next returns the next data row. With a nil error the row is well formed and ready for Validate; with a
// *RowError the row is refused (its Line is set, its values as far as they could be read) and the reader
// goes on; io.EOF ends the file; any other error is a *FileError, which ends it too and which Next returns
// again on every later call.
func (c *CSVReader) Next() (Row, error) {
	if c.err != nil {
		return Row{}, c.err
	}
	for {
		ok, err := c.readRecord()
		if err != nil {
			c.err = err
			return Row{}, err
		}
		if !ok {
			c.err = io.EOF
			return Row{}, io.EOF
		}
		if c.rec.blank() {
			c.blank++
			continue
		}
		if c.rows == c.rowsMax {
			c.err = &FileError{Line: c.rec.start, Err: ErrRowsTooMany,
				Message: fmt.Sprintf("more than %d data rows: split the file", c.rowsMax)}
			return Row{}, c.err
		}
		c.rows++
		return c.row()
	}
}

// row turns the record just read into a Row, or a *RowError in the order of the codes.
func (c *CSVReader) row() (Row, error) {
	rec := &c.rec
	row := Row{Line: rec.start}
	rowErr := func(code Code, at charPos, field int, format string, args ...any) *RowError {
		e := &RowError{Row: rec.start, Line: int(at.line), Column: int(at.col), Code: code, Message: fmt.Sprintf(format, args...)}
		if e.Line == 0 {
			e.Line = rec.start
		}
		if field >= 0 && field < len(c.names) {
			e.Field = c.names[field]
		}
		return e
	}
	switch {
	case rec.unterminated:
		return row, rowErr(CodeQuoteUnterminated, rec.quoteAt, -1,
			"the quoted field opened at line %d, character %d never closes: the rest of the file, from line %d, was read as that one field",
			rec.quoteAt.line, rec.quoteAt.col, rec.start)
	case rec.tooLong:
		return row, rowErr(CodeRecordTooLong, charPos{}, -1, "the record is longer than %d bytes", c.recMax)
	case rec.syntax != nil:
		return row, rowErr(CodeCSVSyntax, rec.syntax.at, rec.syntax.field, "%s", rec.syntax.msg)
	case rec.nfields > CSVFieldsMax:
		return row, rowErr(CodeFieldsTooMany, charPos{}, -1, "%d fields, more than %d", rec.nfields, CSVFieldsMax)
	case rec.nfields != len(c.names):
		e := rowErr(CodeFieldCount, charPos{}, -1, "%d fields, but the header has %d columns", rec.nfields, len(c.names))
		if rec.nfields > len(c.names) {
			e.Hint = "a value with a comma in it (an amount such as 1,500,000, a name) must be quoted: \"1,500,000\""
		}
		return row, e
	}
	// One string for the row's values, sliced for each: one allocation per row.
	s := string(rec.val)
	value := func(col int) string {
		f := rec.fields[c.header[col]]
		return s[f.start:f.end]
	}
	row.SHEBA, row.Name, row.Description, row.Reference =
		value(colSHEBA), value(colName), value(colDescription), value(colReference)
	if b := rec.badUTF8; b != nil {
		return row, rowErr(CodeUTF8Invalid, b.at, b.field,
			"byte %s at line %d, character %d (file offset %d) is not UTF-8: save the file as UTF-8",
			b.msg, b.at.line, b.at.col, b.offset)
	}
	v, p, reason := parseAmount(value(colAmount))
	if reason != "" {
		at := c.locate(colAmount, p)
		return row, rowErr(CodeAmountInvalid, at, c.header[colAmount], "amount %q: %s", value(colAmount), reason)
	}
	row.AmountRial = v
	return row, nil
}

// Reject turns rej, Validate's answer on the entry of row, into the RowError of row: its column and the
// character position in the line. row must be the last row Next returned; anything else is a bug and
// panics. rej.Field must be one of the fields a row fills (CheckOriginator checks the others once, for the
// whole file); anything else panics too.
func (c *CSVReader) Reject(row Row, rej *Rejection) *RowError {
	if row.Line != c.rec.start {
		panic(fmt.Sprintf("ach: CSVReader.Reject for the row of line %d, but the last row read starts on line %d", row.Line, c.rec.start))
	}
	column, ok := columnOfField[rej.Field]
	if !ok {
		panic(fmt.Sprintf("ach: CSVReader.Reject: %s on field %q, which no column of a row fills", rej.Code, rej.Field))
	}
	col := slices.Index(columns[:], column)
	at := c.locate(col, rej.Position)
	return &RowError{Row: row.Line, Line: int(at.line), Column: int(at.col), Field: column, Code: rej.Code,
		Message: rej.Message, Hint: rej.Hint}
}

// locate returns where the character at 1-based position p of the known column col was read, in the record
// just read; p = 0 gives the start of the value (or of the field, when empty), a p past the end its last
// character.
func (c *CSVReader) locate(col, p int) charPos {
	f := c.rec.fields[c.header[col]]
	if f.start == f.end {
		return f.at
	}
	v := c.rec.val[f.start:f.end]
	i := 0
	for k := 1; k < p && i < len(v); k++ {
		_, size := utf8.DecodeRune(v[i:])
		if i+size >= len(v) {
			break
		}
		i += size
	}
	return c.rec.pos[f.start+i]
}

// blank reports whether the record has no content: every field empty after trimming, nothing wrong with it.
func (rec *record) blank() bool {
	if rec.tooLong || rec.unterminated || rec.syntax != nil || rec.badUTF8 != nil || rec.nfields > CSVFieldsMax {
		return false
	}
	for _, f := range rec.fields {
		if f.start != f.end {
			return false
		}
	}
	return true
}

// readHeader reads line 1 and indexes the columns.
func (c *CSVReader) readHeader() error {
	switch b, _ := c.br.Peek(3); {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		c.br.Discard(3)
		c.offset = 3
	case len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF):
		return &FileError{Line: 1, Err: ErrEncoding, Message: "the file starts with a UTF-16 byte-order mark: save it as UTF-8"}
	}
	ok, err := c.readRecord()
	if err != nil {
		return err
	}
	rec := &c.rec
	want := "sheba, amount, name, description, reference"
	switch {
	case !ok:
		return &FileError{Err: ErrHeader, Message: "the file is empty: it needs a header row (" + want + ")"}
	case rec.unterminated:
		return &FileError{Line: int(rec.quoteAt.line), Column: int(rec.quoteAt.col), Err: ErrHeader,
			Message: "the header's quoted field never closes"}
	case rec.tooLong:
		return &FileError{Line: 1, Err: ErrHeader, Message: fmt.Sprintf("the header is longer than %d bytes", c.recMax)}
	case rec.syntax != nil:
		return &FileError{Line: int(rec.syntax.at.line), Column: int(rec.syntax.at.col), Err: ErrHeader, Message: rec.syntax.msg}
	case rec.badUTF8 != nil:
		return &FileError{Line: int(rec.badUTF8.at.line), Column: int(rec.badUTF8.at.col), Err: ErrEncoding,
			Message: fmt.Sprintf("byte %s of the header is not UTF-8: save the file as UTF-8", rec.badUTF8.msg)}
	case rec.nfields > CSVFieldsMax:
		return &FileError{Line: 1, Err: ErrHeader, Message: fmt.Sprintf("the header has %d columns, more than %d", rec.nfields, CSVFieldsMax)}
	case rec.blank():
		return &FileError{Line: 1, Err: ErrHeader, Message: "line 1 is empty: the header row (" + want + ") must be the first line"}
	}
	for _, f := range rec.fields {
		if slices.Contains(rec.val[f.start:f.end], '\r') {
			return &FileError{Line: 1, Err: ErrHeader,
				Message: "the header holds a carriage return: lines end in CR alone (old Mac files); save the file with CRLF or LF line endings"}
		}
	}
	for i := range c.header {
		c.header[i] = -1
	}
	c.names = make([]string, len(rec.fields))
	for i, f := range rec.fields {
		name := strings.ToLower(string(rec.val[f.start:f.end]))
		c.names[i] = name
		k := slices.Index(columns[:], name)
		switch {
		case k < 0 && c.ignore:
			continue
		case name == "":
			return &FileError{Line: 1, Column: int(f.at.col), Err: ErrHeader,
				Message: fmt.Sprintf("column %d has no name (CSVOptions.IgnoreUnknownColumns skips such columns)", i+1)}
		case k < 0:
			return &FileError{Line: 1, Column: int(f.at.col), Err: ErrHeader,
				Message: fmt.Sprintf("unknown column %q: the columns are %s (CSVOptions.IgnoreUnknownColumns skips others)", name, want)}
		case c.header[k] >= 0:
			return &FileError{Line: 1, Column: int(f.at.col), Err: ErrHeader,
				Message: fmt.Sprintf("column %q appears twice, as columns %d and %d", name, c.header[k]+1, i+1)}
		}
		c.header[k] = i
	}
	var missing []string
	for k, i := range c.header {
		if i < 0 {
			missing = append(missing, columns[k])
		}
	}
	if len(missing) > 0 {
		return &FileError{Line: 1, Err: ErrHeader,
			Message: fmt.Sprintf("missing column %s: the header must name %s", strings.Join(missing, ", "), want)}
	}
	return nil
}

// States of the record scanner.
const (
	stFieldStart = iota // at the start of a field: white space skipped, a quote opens a quoted field
	stUnquoted          // inside an unquoted field
	stQuoted            // inside a quoted field
	stQuoteSeen         // a quote inside a quoted field: closes it, unless another follows (an escaped quote)
	stAfterQuote        // after a closing quote: only white space, then a comma or the line's end
	stSkipLine          // after a quoting fault: the record ends at the end of this line
)

// readRecord reads the next record into c.rec, reporting false at the end of the file. A record ends at a
// line break outside quotes; within quotes a line break belongs to the field (as "\n", whatever the file's
// line endings). A quoting fault ends the record at the end of its physical line, so that the next line is
// read afresh; a record longer than the limit is read to its end without keeping its bytes, so that a quoted
// field with line breaks is never mistaken for records. Only an error of the file as a whole is returned.
func (c *CSVReader) readRecord() (bool, error) {
	rec := &c.rec
	rec.reset(c.line + 1)
	st := stFieldStart
	fieldStart := -1 // start in val of the field in progress; -1 when none has begun
	var fieldAt charPos
	started := false // a byte of the record has been read
	beginField := func() {
		fieldStart = len(rec.val)
		fieldAt = charPos{int32(c.line), int32(c.col + 1)}
	}
	endField := func() {
		if fieldStart < 0 {
			beginField()
		}
		if rec.nfields < CSVFieldsMax && !rec.tooLong {
			start, end := trimSpan(rec.val, fieldStart, len(rec.val))
			rec.fields = append(rec.fields, span{start: start, end: end, at: fieldAt})
		}
		rec.nfields++
		fieldStart = -1
	}
	setSyntax := func(at charPos, offset int64, format string, args ...any) {
		if rec.syntax == nil {
			rec.syntaxF = fault{at: at, offset: offset, field: rec.nfields, msg: fmt.Sprintf(format, args...)}
			rec.syntax = &rec.syntaxF
		}
		st = stSkipLine
	}
	for {
		chunk, err := c.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return false, c.fileErr(err)
		}
		if len(chunk) > 0 {
			if !started {
				started = true
				c.line++
				c.col = 0
				rec.start = c.line
				beginField()
			}
			rec.bytes += len(chunk)
			if rec.bytes > c.recMax && !rec.tooLong {
				rec.tooLong = true
			}
		}
		lineEnded := false
		for i := 0; i < len(chunk); {
			b := chunk[i]
			size := 1
			if b >= utf8.RuneSelf {
				var r rune
				r, size = utf8.DecodeRune(chunk[i:])
				if r == utf8.RuneError && size == 1 && rec.badUTF8 == nil && !rec.tooLong {
					rec.badUTF8F = fault{at: charPos{int32(c.line), int32(c.col + 1)}, offset: c.offset + int64(i),
						field: rec.nfields, msg: fmt.Sprintf("%#x", b)}
					rec.badUTF8 = &rec.badUTF8F
				}
			}
			c.col++
			at := charPos{int32(c.line), int32(c.col)}
			// A line ends at LF, at CRLF, and at a CR that is the file's last byte.
			eol := b == '\n' || b == '\r' && (i+2 == len(chunk) && chunk[i+1] == '\n' || i+1 == len(chunk) && err == io.EOF)
			if eol {
				size = len(chunk) - i
				lineEnded = true
			}
			switch st {
			case stFieldStart:
				switch {
				case eol:
					endField()
				case b == ' ' || b == '\t':
					fieldAt.col++ // the field starts after the white space that precedes it
				case b == '"':
					st, rec.quoteAt = stQuoted, at
				case b == ',':
					endField()
					beginField()
				default:
					st = stUnquoted
					rec.keep(chunk[i:i+size], at)
				}
			case stUnquoted:
				switch {
				case eol:
					endField()
				case b == ',':
					endField()
					beginField()
					st = stFieldStart
				case b == '"':
					setSyntax(at, c.offset+int64(i), "a quote inside an unquoted field: quote the whole field and double the quote (\"\")")
				default:
					rec.keep(chunk[i:i+size], at)
				}
			case stQuoted:
				switch {
				case b == '"':
					st = stQuoteSeen
				case eol:
					rec.keep(newline, at)
				default:
					rec.keep(chunk[i:i+size], at)
				}
			case stQuoteSeen:
				switch {
				case b == '"':
					rec.keep(quoteMark, at)
					st = stQuoted
				case eol:
					endField()
				case b == ',':
					endField()
					beginField()
					st = stFieldStart
				case b == ' ' || b == '\t':
					st = stAfterQuote
				default:
					setSyntax(at, c.offset+int64(i), "%s after a closing quote: want a comma or the end of the line", describeByte(chunk[i:]))
				}
			case stAfterQuote:
				switch {
				case eol:
					endField()
				case b == ',':
					endField()
					beginField()
					st = stFieldStart
				case b == ' ' || b == '\t':
				default:
					setSyntax(at, c.offset+int64(i), "%s after a closing quote: want a comma or the end of the line", describeByte(chunk[i:]))
				}
			case stSkipLine:
				if eol {
					endField()
				}
			}
			i += size
		}
		c.offset += int64(len(chunk))
		if lineEnded {
			if st != stQuoted {
				return true, nil
			}
			// The quoted field goes on, on the next line.
			c.line++
			c.col = 0
		}
		if err == io.EOF {
			if !started {
				return false, nil
			}
			if st == stQuoted {
				rec.unterminated = true
			}
			if fieldStart >= 0 || st == stQuoted {
				endField()
			}
			return true, nil
		}
	}
}

// The bytes a quoted field keeps for a line break and for an escaped quote.
var newline, quoteMark = []byte{'\n'}, []byte{'"'}

// keep appends the bytes b of a value, read at at, unless the record is too long to keep.
func (rec *record) keep(b []byte, at charPos) {
	if rec.tooLong {
		return
	}
	rec.val = append(rec.val, b...)
	for range b {
		rec.pos = append(rec.pos, at)
	}
}

// trimSpan returns the bounds of val[start:end] without the white space at either end.
func trimSpan(val []byte, start, end int) (int, int) {
	for start < end {
		r, size := utf8.DecodeRune(val[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		start += size
	}
	for end > start {
		r, size := utf8.DecodeLastRune(val[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= size
	}
	return start, end
}

// describeByte names the character at the start of b for a message.
func describeByte(b []byte) string {
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte %#x", b[0])
	}
	return "character " + quote(r)
}

// fileErr wraps an error of the source as a *FileError.
func (c *CSVReader) fileErr(err error) error {
	if errors.Is(err, ErrFileTooLarge) {
		return &FileError{Line: c.line + 1, Err: ErrFileTooLarge,
			Message: fmt.Sprintf("the file is longer than %d bytes: split it", c.src.max)}
	}
	return &FileError{Line: c.line + 1, Err: err, Message: fmt.Sprintf("reading line %d: %v", c.line+1, err)}
}

// countingReader counts the bytes of a source and fails once there are more than max.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, ErrFileTooLarge
	}
	// Ask for one byte beyond the limit at most, to tell a file of exactly max bytes from a longer one.
	if room := c.max - c.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		// Hand over the bytes within the limit only: the one past it is never read as part of the file.
		return n - int(c.n-c.max), ErrFileTooLarge
	}
	return n, err
}
