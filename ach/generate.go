package ach

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/sheba"
)

// Formats of a generated file.
const (
	FormatCSV   = "csv"
	FormatNACHA = "nacha"
)

// GenerateRowsMax bounds a generated file's rows: CSVRowsMax, the most a payroll file may hold, so that
// every file the generator makes is one the readers take.
const GenerateRowsMax = CSVRowsMax

// ErrGenerate is wrapped by Generate's errors about its options.
var ErrGenerate = errors.New("ach: generate")

// Kinds of bad rows the generator writes, each breaking one rule that the readers and Validate report with
// a known code (BadRow.Code).
const (
	BadChecksum   = "sheba_checksum"     // the payee's SHEBA with its last digit changed: sheba_invalid
	BadAmountCap  = "amount_at_cap"      // exactly the cap under an exclusive cap (seed: 150,000,000), one over an inclusive one
	BadBank       = "bank_unknown"       // a SHEBA with a right checksum and bank code 296, which names no bank: sheba_invalid
	BadNameEmpty  = "name_empty"         // CSV: no payee name: name_missing
	BadAmountZero = "amount_zero"        // CSV: an amount of 0: amount_not_positive
	BadAmountText = "amount_decimal"     // CSV: "12500.50": amount_invalid
	BadReference  = "reference_too_long" // CSV: a reference of ReferenceLenMax+1 characters: reference_invalid
	BadOnUs       = "on_us"              // the payee's account at the payer's own bank: on_us
	BadRefEmpty   = "reference_empty"    // NACHA: no reference (the field may be blank in NACHA; PAYA needs one): reference_invalid
)

// The kinds each format can carry, in the order the generator cycles through them. A NACHA file cannot carry
// a broken checksum, an empty name or an amount that is not a number: WriteNACHA refuses to write them.
var (
	generateKindsCSV   = []string{BadChecksum, BadAmountCap, BadBank, BadNameEmpty, BadAmountZero, BadAmountText, BadReference, BadOnUs}
	generateKindsNACHA = []string{BadAmountCap, BadBank, BadOnUs, BadRefEmpty}
)

// generateUnknownBank is a bank code no member bank has: the CBI's own worked example of a SHEBA (DOMAIN.md §2).
const generateUnknownBank = "296"

// GenerateOptions say what file to generate.
type GenerateOptions struct {
	// Format is FormatCSV (the default) or FormatNACHA.
	Format string
	// Rows is how many data rows (CSV) or entries (NACHA), 1 to GenerateRowsMax.
	Rows int
	// Bad is how many of them break a rule, 0 to Rows; they cycle through the format's kinds.
	Bad int
	// Seed makes the file: the same options give the same bytes.
	Seed uint64
	// Payer is the employer paying every row; its bank is left out of the payees (an on-us row is a bad
	// kind of its own). Zero: 054 Parsian's published SHEBA, "شرکت نمونه".
	Payer Originator
	// Cap is the per-entry cap the amounts stay under; zero: the seed profile's.
	Cap rulebook.Limit
	// Banks are the member banks the payees' accounts are at; nil: banks.Default(). Only active banks
	// other than the payer's and the CBI's take payees.
	Banks *banks.Registry
	// Created is a NACHA file's creation time (this package reads no clock); zero: 1404/02/01 09:00 Tehran.
	Created time.Time
	// FileEntriesMax bounds a NACHA file's entries; 0: NACHAFileEntriesDefault. Generate writes one file;
	// GenerateFiles starts another after this many.
	FileEntriesMax int
	// Payees, when not empty, are the SHEBAs the good rows (and the broken-checksum ones) pay, chosen at
	// random: real accounts, so that a file can be posted as well as read (`tasvieh bench paya` pays the
	// simulated books' customers). The caller keeps the payer's bank out of them. Nil: made-up accounts.
	Payees []string
}

// BadRow is a row the generator made bad on purpose, and how a reader will report it.
type BadRow struct {
	// Index is the row's 1-based place among the file's data rows (over all files of GenerateFiles).
	Index int `json:"index"`
	// File is the 0-based file it is in (NACHA; always 0 for CSV).
	File int `json:"file"`
	// Row is the 1-based physical line a reader names it by: in CSV the header is line 1, so Index+1; in
	// NACHA the line of its entry detail record within its file.
	Row int `json:"row"`
	// Kind is one of the Bad* kinds.
	Kind string `json:"kind"`
	// Code is the code Validate or the reader gives it.
	Code Code `json:"code"`
	// Reference is its reference ("" for BadRefEmpty).
	Reference string `json:"reference"`
}

// GenerateResult is what Generate wrote.
type GenerateResult struct {
	Format string `json:"format"`
	Rows   int    `json:"rows"`
	Files  int    `json:"files"`
	// Payer is the originator every row is paid by, for validating the file.
	Payer Originator `json:"payer"`
	// GoodRial sums the amounts of the rows that are not bad.
	GoodRial int64 `json:"good_rial"`
	// Bad are the bad rows, in file order.
	Bad []BadRow `json:"bad"`
}

// Generate writes a test payroll file to w: opts.Rows rows of credits from opts.Payer to accounts at real
// member banks, with Persian names and descriptions, amounts under the cap and unique references, of which
// opts.Bad break a rule each, in varied ways (the kinds). A CSV file is written a row at a time, in memory
// that does not grow with Rows. A NACHA file must fit one file (opts.FileEntriesMax entries, and NACHA's
// 12-digit totals: the amounts are scaled down so that the file's credit total stays within
// NACHATotalMax); for more, use GenerateFiles.
func Generate(w io.Writer, opts GenerateOptions) (GenerateResult, error) {
	return GenerateFiles(func(file int) (io.Writer, error) {
		if file > 0 {
			return nil, fmt.Errorf("%w: %d rows do not fit one nacha file of at most %d entries: generate them into files", ErrGenerate, opts.Rows, opts.fileEntriesMax())
		}
		return w, nil
	}, opts)
}

func (o GenerateOptions) fileEntriesMax() int {
	if o.FileEntriesMax > 0 {
		return o.FileEntriesMax
	}
	return NACHAFileEntriesDefault
}

// GenerateFiles is Generate writing each file to next(i): CSV is always one file, next(0); NACHA one file
// per opts.FileEntriesMax entries (NACHAFileEntriesDefault), each written whole by WriteNACHA, so memory
// holds one file's entries at a time (some 60 MB at the default). The caller closes each writer.
func GenerateFiles(next func(file int) (io.Writer, error), opts GenerateOptions) (GenerateResult, error) {
	g, err := newGenerator(opts)
	if err != nil {
		return GenerateResult{}, err
	}
	res := GenerateResult{Format: g.format, Rows: opts.Rows, Payer: g.payer}
	if g.format == FormatCSV {
		w, err := next(0)
		if err != nil {
			return res, err
		}
		res.Files = 1
		err = g.csv(w, &res)
		return res, err
	}
	err = g.nacha(next, &res)
	return res, err
}

// generator holds a generation's state: its random source, the bad rows' indexes, the payee banks.
type generator struct {
	opts   GenerateOptions
	format string
	rnd    *rand.Rand
	payer  Originator
	payees []string       // bank codes that take payees
	bad    map[int]string // 1-based row index → kind
	kinds  []string
	capBad int64 // the amount of a BadAmountCap row
	good   int64 // the largest good amount
}

func newGenerator(opts GenerateOptions) (*generator, error) {
	g := &generator{opts: opts, format: opts.Format}
	if g.format == "" {
		g.format = FormatCSV
	}
	switch g.format {
	case FormatCSV:
		g.kinds = generateKindsCSV
	case FormatNACHA:
		g.kinds = generateKindsNACHA
	default:
		return nil, fmt.Errorf("%w: format %q is neither csv nor nacha", ErrGenerate, opts.Format)
	}
	if opts.Rows < 1 || opts.Rows > GenerateRowsMax {
		return nil, fmt.Errorf("%w: rows %d is not 1 to %d", ErrGenerate, opts.Rows, GenerateRowsMax)
	}
	if opts.Bad < 0 || opts.Bad > opts.Rows {
		return nil, fmt.Errorf("%w: bad %d is not 0 to rows (%d)", ErrGenerate, opts.Bad, opts.Rows)
	}
	g.payer = opts.Payer
	if g.payer == (Originator{}) {
		g.payer = Originator{Bank: "054", SHEBA: "IR820540102680020817909002", Name: "شرکت نمونه"}
	}
	if g.payer.Bank == "" {
		if x, err := sheba.Parse(g.payer.SHEBA, nil); err == nil {
			g.payer.Bank = x.BankCode()
		}
	}
	limit := opts.Cap
	if limit == (rulebook.Limit{}) {
		p, err := rulebook.Default().Profile("seed")
		if err != nil {
			return nil, fmt.Errorf("%w: the seed profile: %w", ErrGenerate, err)
		}
		limit = p.PAYACap
	}
	g.good, g.capBad = limit.AmountRial-1, limit.AmountRial
	if limit.Inclusive {
		g.good, g.capBad = limit.AmountRial, limit.AmountRial+1
	}
	if g.format == FormatNACHA {
		g.good = min(g.good, NACHAAmountMax)
		// Keep a file's credit total within NACHA's 12 digits, so that WriteNACHA need not split it: the bad
		// rows at the cap first, the good ones share the rest.
		n := min(opts.Rows, opts.fileEntriesMax())
		budget := NACHATotalMax - int64(min(opts.Bad, n))*g.capBad
		if budget < int64(n) {
			return nil, fmt.Errorf("%w: %d bad rows at the cap do not fit a nacha file's total", ErrGenerate, opts.Bad)
		}
		g.good = min(g.good, budget/int64(n))
	}
	if g.good < 1 || g.capBad > NACHAAmountMax && g.format == FormatNACHA {
		return nil, fmt.Errorf("%w: a cap of %s leaves no amount to generate", ErrGenerate, limit)
	}
	reg := opts.Banks
	if reg == nil {
		reg = banks.Default()
	}
	for _, b := range reg.All() {
		if b.Active() && b.Code != "010" && b.Code != g.payer.Bank {
			g.payees = append(g.payees, b.Code)
		}
	}
	if len(g.payees) == 0 {
		return nil, fmt.Errorf("%w: no active bank besides the payer's takes payees", ErrGenerate)
	}
	g.rnd = rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x7461737669656821)) // "tasvieh!"
	// Choose the bad rows: Floyd's sampling, in memory of the bad rows only, whatever Rows is.
	g.bad = make(map[int]string, opts.Bad)
	picked := make([]int, 0, opts.Bad)
	for j := opts.Rows - opts.Bad + 1; j <= opts.Rows; j++ {
		t := 1 + g.rnd.IntN(j)
		if _, ok := g.bad[t]; ok {
			t = j
		}
		g.bad[t] = ""
		picked = append(picked, t)
	}
	slices.Sort(picked)
	for i, t := range picked {
		g.bad[t] = g.kinds[i%len(g.kinds)]
	}
	return g, nil
}

// Persian first names, family names and payroll descriptions, for rows that read like a real payroll.
var (
	generateFirst  = []string{"علی", "محمد", "حسین", "رضا", "مهدی", "فاطمه", "زهرا", "مریم", "سارا", "نرگس", "امیر", "پریسا", "کاوه", "شیرین", "بهرام", "لیلا"}
	generateLast   = []string{"احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی", "رحیمی", "نوروزی", "کاظمی", "تهرانی", "اصفهانی", "شیرازی", "قاسمی", "یزدانی"}
	generateMonth  = []string{"فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"}
	generateDigits = []rune("۰۱۲۳۴۵۶۷۸۹")
)

// row is one generated row before it is written.
type genRow struct {
	sheba, amount, name, description, reference string
	amountRial                                  int64
}

// makeRow makes row i (1-based) and, when it is bad, the BadRow of it (its Row filled in by the writer).
func (g *generator) makeRow(i int) (genRow, *BadRow, error) {
	bank := g.payees[g.rnd.IntN(len(g.payees))]
	acct := strconv.FormatUint(1_000_000+g.rnd.Uint64N(9_000_000_000_000), 10)
	r := genRow{
		name:        generateFirst[g.rnd.IntN(len(generateFirst))] + " " + generateLast[g.rnd.IntN(len(generateLast))],
		description: "حقوق " + generateMonth[g.rnd.IntN(len(generateMonth))] + " " + genPersian("1404"),
		reference:   fmt.Sprintf("PR%08d", i),
		amountRial:  1 + g.rnd.Int64N(g.good),
	}
	kind := g.bad[i]
	switch kind {
	case BadBank:
		bank = generateUnknownBank
	case BadOnUs:
		bank = g.payer.Bank
	}
	x, err := sheba.Generate(bank, 0, acct)
	if err != nil {
		return r, nil, fmt.Errorf("ach: generate: row %d: %w", i, err)
	}
	r.sheba = x.String()
	if len(g.opts.Payees) > 0 && kind != BadBank && kind != BadOnUs {
		r.sheba = g.opts.Payees[g.rnd.IntN(len(g.opts.Payees))]
	}
	var code Code
	switch kind {
	case "":
	case BadChecksum:
		last := r.sheba[len(r.sheba)-1]
		r.sheba, code = r.sheba[:len(r.sheba)-1]+string(rune('0'+(last-'0'+1)%10)), CodeSHEBAInvalid
	case BadAmountCap:
		r.amountRial, code = g.capBad, CodeAmountAtOrOverCap
	case BadBank:
		code = CodeSHEBAInvalid
	case BadNameEmpty:
		r.name, code = "", CodeNameMissing
	case BadAmountZero:
		r.amountRial, code = 0, CodeAmountNotPositive
	case BadAmountText:
		code = CodeAmountInvalid
	case BadReference:
		r.reference, code = r.reference+strings.Repeat("X", ReferenceLenMax+1-len(r.reference)), CodeReferenceInvalid
	case BadOnUs:
		code = CodeOnUs
	case BadRefEmpty:
		r.reference, code = "", CodeReferenceInvalid
	}
	r.amount = g.amountText(i, r.amountRial)
	if kind == BadAmountText {
		r.amount = strconv.FormatInt(r.amountRial, 10) + ".50"
	}
	if kind == "" {
		return r, nil, nil
	}
	return r, &BadRow{Index: i, Kind: kind, Code: code, Reference: r.reference}, nil
}

// amountText writes an amount as payroll sheets do, in turn: plain digits, grouped by commas (quoted by
// the CSV writer), Persian digits grouped by the Arabic thousands separator.
func (g *generator) amountText(i int, n int64) string {
	s := strconv.FormatInt(n, 10)
	switch i % 3 {
	case 1:
		return genGroup(s, ",")
	case 2:
		return genPersian(genGroup(s, "٬"))
	}
	return s
}

// genGroup puts sep between each three digits of s from the right.
func genGroup(s, sep string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// genPersian is s with its ASCII digits as Persian ones.
func genPersian(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return generateDigits[r-'0']
		}
		return r
	}, s)
}

// csv writes the CSV file a row at a time through a buffer.
func (g *generator) csv(w io.Writer, res *GenerateResult) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{ColumnSHEBA, ColumnAmount, ColumnName, ColumnDescription, ColumnReference}); err != nil {
		return err
	}
	for i := 1; i <= g.opts.Rows; i++ {
		r, bad, err := g.makeRow(i)
		if err != nil {
			return err
		}
		if err := cw.Write([]string{r.sheba, r.amount, r.name, r.description, r.reference}); err != nil {
			return fmt.Errorf("ach: generate: row %d: %w", i, err)
		}
		if bad != nil {
			bad.Row = i + 1 // the header is line 1, and no generated field holds a line break
			res.Bad = append(res.Bad, *bad)
		} else {
			res.GoodRial += r.amountRial
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// nacha writes the NACHA files, a chunk of FileEntriesMax entries per file, and finds the line of each
// bad entry by counting the records WriteNACHA writes (entry detail records start with '6', in the order
// of the entries).
func (g *generator) nacha(next func(file int) (io.Writer, error), res *GenerateResult) error {
	created := g.opts.Created
	if created.IsZero() {
		created = time.Date(2025, 4, 21, 5, 30, 0, 0, time.UTC) // 1404/02/01 09:00 Tehran
	}
	per := g.opts.fileEntriesMax()
	h := NACHAHeader{Origin: g.payer.Bank, Destination: "010", Created: created, Description: "PAYROLL", Banks: g.opts.Banks, FileEntriesMax: per}
	entries := make([]NACHAEntry, 0, min(per, g.opts.Rows))
	var bads []BadRow // the chunk's
	for from, file := 1, 0; from <= g.opts.Rows; from, file = from+per, file+1 {
		entries, bads = entries[:0], bads[:0]
		for i := from; i < from+per && i <= g.opts.Rows; i++ {
			r, bad, err := g.makeRow(i)
			if err != nil {
				return err
			}
			entries = append(entries, NACHAEntry{SHEBA: r.sheba, AmountRial: r.amountRial, Name: r.name, Reference: r.reference, OriginBank: g.payer.Bank})
			if bad != nil {
				bad.File = file
				bads = append(bads, *bad)
			} else {
				res.GoodRial += r.amountRial
			}
		}
		lc := &nachaLineCounter{first: from, bad: bads}
		_, err := WriteNACHA(func(i int) (io.Writer, error) {
			if i > 0 {
				return nil, fmt.Errorf("%w: writenacha split file %d: its totals overflow", ErrGenerate, file)
			}
			w, err := next(file)
			if err != nil {
				return nil, err
			}
			lc.w = w
			return lc, nil
		}, h, entries)
		if err != nil {
			return fmt.Errorf("ach: generate: file %d: %w", file, err)
		}
		res.Files++
		res.Bad = append(res.Bad, bads...)
	}
	return nil
}

// nachaLineCounter passes a NACHA file through and numbers its lines, setting the Row of each bad entry
// as its entry detail record goes by.
type nachaLineCounter struct {
	w       io.Writer
	line    int  // lines begun
	atStart bool // the next byte starts a line
	started bool
	entry   int // the index of the last entry detail record seen
	first   int // the index of the file's first entry
	bad     []BadRow
	nextBad int
}

func (c *nachaLineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if !c.started || c.atStart {
			c.started, c.atStart = true, false
			c.line++
			if b == '6' {
				idx := c.first + c.entry
				c.entry++
				if c.nextBad < len(c.bad) && c.bad[c.nextBad].Index == idx {
					c.bad[c.nextBad].Row = c.line
					c.nextBad++
				}
			}
		}
		if b == '\n' {
			c.atStart = true
		}
	}
	return c.w.Write(p)
}
