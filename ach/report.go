package ach

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Limits of a Report: it keeps some rows in full and counts the rest, so its size does not grow with the
// file's.
const (
	// ReportErrorsMax is how many rejected rows a Report lists in full. A thousand is enough to fix a file's
	// scattered mistakes in one pass; a file with more is wrong throughout (its encoding, a column, its
	// amounts in toman), which the first thousand and the counts per code show. About 300 bytes each: some
	// 300 KB at most.
	ReportErrorsMax = 1000
	// ReportOverCapMax is how many over-cap rows a Report lists in full (the uploader sends them by SATNA or
	// splits them), for the same reasons.
	ReportOverCapMax = 1000
)

// ErrTotalOverflow: a file's accepted total or fees would not fit an int64 of rial (about 9.2 × 10^18). Only
// a profile with a cap far above the CBI's can come near it: under 1404 a million rows total at most
// 2 × 10^15.
var ErrTotalOverflow = errors.New("ach: total does not fit an int64 of rial")

// ErrOriginator is wrapped by an *OriginatorError.
var ErrOriginator = errors.New("ach: originator refused")

// OriginatorError is a file's originator refused by CheckOriginator: the fault of every row, so the whole
// file's.
type OriginatorError struct{ Rejection *Rejection }

func (e *OriginatorError) Error() string { return "ach: originator: " + e.Rejection.String() }

// Unwrap returns ErrOriginator.
func (e *OriginatorError) Unwrap() error { return ErrOriginator }

// BankTotal is what a file sends one receiving bank.
type BankTotal struct {
	Bank       string `json:"bank"`
	Entries    int    `json:"entries"`
	AmountRial int64  `json:"amount_rial"`
}

// OverCapRow is a row whose amount is at or over the rulebook's cap per entry.
type OverCapRow struct {
	Row        int    `json:"row"`
	SHEBA      string `json:"sheba"`
	Reference  string `json:"reference"`
	AmountRial int64  `json:"amount_rial"`
}

// Report is the validation report of a file, built a row at a time (Accept, Reject): counts and sums of the
// accepted entries in all and per receiving bank, the rejected rows, the over-cap ones. Its memory is bounded
// whatever the file's size: ReportErrorsMax and ReportOverCapMax rows in full, one total per receiving bank
// (at most the registry's banks), one count per code. Rows = Accepted + Rejected at all times.
type Report struct {
	// Profile names the rulebook profile the rows were validated under.
	Profile string `json:"profile"`
	// Rows counts the data rows read; BlankRows the blank records skipped, which are not rows.
	Rows      int `json:"rows"`
	BlankRows int `json:"blank_rows"`
	// Accepted counts the rows that would enter PAYA; AcceptedRial sums their amounts, FeeRial their fees
	// (Fee), which the originator pays on top.
	Accepted     int   `json:"accepted"`
	AcceptedRial int64 `json:"accepted_rial"`
	FeeRial      int64 `json:"fee_rial"`
	// Banks are the accepted entries by receiving bank, in order of bank code.
	Banks []BankTotal `json:"banks"`
	// Rejected counts the rows refused; RejectedByCode counts them by code, all of them.
	Rejected       int          `json:"rejected"`
	RejectedByCode map[Code]int `json:"rejected_by_code"`
	// Errors are the first ReportErrorsMax rejected rows, in file order; ErrorsOmitted counts the others.
	Errors        []RowError `json:"errors"`
	ErrorsOmitted int        `json:"errors_omitted"`
	// OverCap are the first ReportOverCapMax rows refused with CodeAmountAtOrOverCap; OverCapRows counts all
	// of them, OverCapRial sums their amounts (saturating at the largest int64, which a million amounts of at
	// most 10^15 could pass).
	OverCap     []OverCapRow `json:"over_cap"`
	OverCapRows int          `json:"over_cap_rows"`
	OverCapRial int64        `json:"over_cap_rial"`
}

// NewReport returns an empty report for rows validated under the profile called profile.
func NewReport(profile string) *Report {
	return &Report{Profile: profile, Banks: []BankTotal{}, RejectedByCode: map[Code]int{}, Errors: []RowError{}, OverCap: []OverCapRow{}}
}

// Accept counts an accepted entry. When a total would overflow it changes nothing and returns an error
// wrapping ErrTotalOverflow, naming the row (line): the file as a whole cannot be taken.
func (r *Report) Accept(line int, d Decision) error {
	amount, fee := d.Entry.AmountRial, d.FeeRial
	if amount <= 0 || fee < 0 {
		panic(fmt.Sprintf("ach: Report.Accept of row %d with amount %d and fee %d: Validate accepts neither", line, amount, fee))
	}
	total, ok1 := addRial(r.AcceptedRial, amount)
	fees, ok2 := addRial(r.FeeRial, fee)
	i, found := slices.BinarySearchFunc(r.Banks, d.ReceivingBank, func(b BankTotal, code string) int { return strings.Compare(b.Bank, code) })
	if !ok1 || !ok2 {
		return fmt.Errorf("ach: row %d: the file's accepted amounts or fees pass %d rial: split the file: %w", line, int64(math.MaxInt64), ErrTotalOverflow)
	}
	// A bank's sum is part of the total, so it cannot overflow when the total does not.
	if !found {
		r.Banks = slices.Insert(r.Banks, i, BankTotal{Bank: d.ReceivingBank})
	}
	r.Banks[i].Entries++
	r.Banks[i].AmountRial += amount
	r.Rows++
	r.Accepted++
	r.AcceptedRial, r.FeeRial = total, fees
	return nil
}

// Reject counts a rejected row: e says why, row is what could be read of it (its amount lists an over-cap
// row).
func (r *Report) Reject(row Row, e *RowError) {
	r.Rows++
	r.Rejected++
	r.RejectedByCode[e.Code]++
	if len(r.Errors) < ReportErrorsMax {
		r.Errors = append(r.Errors, *e)
	} else {
		r.ErrorsOmitted++
	}
	if e.Code != CodeAmountAtOrOverCap {
		return
	}
	r.OverCapRows++
	if sum, ok := addRial(r.OverCapRial, row.AmountRial); ok {
		r.OverCapRial = sum
	} else {
		r.OverCapRial = math.MaxInt64
	}
	if len(r.OverCap) < ReportOverCapMax {
		r.OverCap = append(r.OverCap, OverCapRow{Row: row.Line, SHEBA: row.SHEBA, Reference: row.Reference, AmountRial: row.AmountRial})
	}
}

// addRial adds two amounts that are not negative, reporting false when the sum does not fit an int64.
func addRial(a, b int64) (int64, bool) {
	if b > math.MaxInt64-a {
		return a, false
	}
	return a + b, true
}

// DryRunCSV validates a payroll CSV file from rd and returns its report, moving nothing: every row becomes
// o's credit to the row's payee (Row.Entry) and goes through Validate under env. The originator is checked
// first, once (CheckOriginator): a fault there is an *OriginatorError. A fault of the file as a whole — its
// header, its encoding, its size, more than the rows allowed — is a *FileError; an accepted total past an
// int64 wraps ErrTotalOverflow. The report is never nil: with an error it holds the rows read before it.
// Memory is bounded by the reader's and the report's limits, whatever the file's size.
func DryRunCSV(rd io.Reader, opts CSVOptions, o Originator, env Env) (*Report, error) {
	rep := NewReport(env.Profile.Name)
	rej, err := CheckOriginator(CoreCredit, o, env)
	if err != nil {
		return rep, err
	}
	if rej != nil {
		return rep, &OriginatorError{Rejection: rej}
	}
	cr, err := NewCSVReader(rd, opts)
	if err != nil {
		return rep, err
	}
	defer func() { rep.BlankRows = cr.Blank() }()
	for {
		row, err := cr.Next()
		var rowErr *RowError
		switch {
		case err == io.EOF:
			if rep.Rows != cr.Rows() {
				panic(fmt.Sprintf("ach: DryRunCSV counted %d rows, the reader returned %d", rep.Rows, cr.Rows()))
			}
			return rep, nil
		case errors.As(err, &rowErr):
			rep.Reject(row, rowErr)
			continue
		case err != nil:
			return rep, err
		}
		d, rej, err := Validate(row.Entry(o), env)
		if err != nil {
			return rep, err
		}
		if rej != nil {
			rep.Reject(row, cr.Reject(row, rej))
			continue
		}
		if err := rep.Accept(row.Line, d); err != nil {
			return rep, err
		}
	}
}
