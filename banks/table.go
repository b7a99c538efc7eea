package banks

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

// Limits and shapes of the table format.
const (
	// lineBytesMax bounds one line of the table. The longest line of the
	// shipped banks.tsv is under 200 bytes; 4 KiB leaves room for long
	// Persian names and dozens of BINs while keeping a hostile input from
	// growing the scanner's buffer without bound.
	lineBytesMax = 4096

	// binDigits is the length of a BIN, the card prefix that names the
	// issuing bank (DOMAIN.md §2: the first 6 digits of the PAN).
	binDigits = 6
)

// fieldNames are the columns of the table, in order, as its header names them.
var fieldNames = [...]string{"code", "name_en", "name_fa", "bins", "bic", "status", "successor", "since"}

// ParseError is a fault in the bank table, located by line (1-based, counting
// comment and blank lines; 0 when the fault is not on one line) and field
// (a column name from the header; empty when the fault is the line itself).
type ParseError struct {
	Line  int
	Field string
	Err   error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line == 0:
		return "banks: " + e.Err.Error()
	case e.Field == "":
		return fmt.Sprintf("banks: line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("banks: line %d, field %s: %v", e.Line, e.Field, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a bank table: UTF-8 text, one bank per line, the eight
// tab-separated fields code, name_en, name_fa, bins (comma-separated),
// bic, status, successor, since. Blank lines and lines starting with '#' are
// skipped; fields are trimmed of surrounding spaces; a line may end in CRLF.
// The first fault is returned as a *ParseError naming its line and field.
func Parse(r io.Reader) (*Registry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), lineBytesMax)
	var (
		rows  []Bank
		lines []int
		line  int
	)
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(text); t == "" || t[0] == '#' {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != len(fieldNames) {
			return nil, &ParseError{Line: line,
				Err: fmt.Errorf("%w: %d tab-separated fields, want %d", ErrInvalid, len(fields), len(fieldNames))}
		}
		b, field, err := parseRow(fields)
		if err != nil {
			return nil, &ParseError{Line: line, Field: field, Err: err}
		}
		rows = append(rows, b)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{Line: line + 1,
				Err: fmt.Errorf("%w: line longer than %d bytes", ErrInvalid, lineBytesMax)}
		}
		return nil, fmt.Errorf("banks: read table: %w", err)
	}
	// Sort rows and their line numbers together, by code.
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(rows[a].Code, rows[b].Code) })
	sorted := make([]Bank, len(rows))
	sortedLines := make([]int, len(rows))
	for i, j := range order {
		sorted[i], sortedLines[i] = rows[j], lines[j]
	}
	return build(sorted, sortedLines)
}

// parseRow checks the fields of one line. On failure it names the field.
func parseRow(f []string) (Bank, string, error) {
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	b := Bank{
		Code:      f[0],
		NameEN:    f[1],
		NameFA:    f[2],
		BIC:       f[4],
		Status:    Status(f[5]),
		Successor: f[6],
		Since:     f[7],
	}
	if _, ok := codeNumber(b.Code); !ok {
		return b, "code", fmt.Errorf("%w: %q is not 3 digits", ErrInvalid, b.Code)
	}
	if err := checkName(b.NameEN); err != nil {
		return b, "name_en", err
	}
	if err := checkName(b.NameFA); err != nil {
		return b, "name_fa", err
	}
	if f[3] != "" {
		for _, bin := range strings.Split(f[3], ",") {
			bin = strings.TrimSpace(bin)
			if !allDigits(bin, binDigits) {
				return b, "bins", fmt.Errorf("%w: BIN %q is not %d digits", ErrInvalid, bin, binDigits)
			}
			if slices.Contains(b.BINs, bin) {
				return b, "bins", fmt.Errorf("%w: BIN %s listed twice", ErrDuplicate, bin)
			}
			b.BINs = append(b.BINs, bin)
		}
	}
	if b.BIC != "" && !validBIC(b.BIC) {
		return b, "bic", fmt.Errorf("%w: %q is not a BIC (4 letters, 2 letters, 2 letters or digits, optional 3 more)", ErrInvalid, b.BIC)
	}
	if !b.Status.valid() {
		return b, "status", fmt.Errorf("%w: %q is not one of active, merged, dissolved, central, suspended", ErrInvalid, f[5])
	}
	switch {
	case b.Status.gone() && b.Successor == "":
		return b, "successor", fmt.Errorf("%w: a %s bank needs one", ErrSuccessor, b.Status)
	case !b.Status.gone() && b.Successor != "":
		return b, "successor", fmt.Errorf("%w: a %s bank has none, got %q", ErrSuccessor, b.Status, b.Successor)
	case b.Successor != "":
		if _, ok := codeNumber(b.Successor); !ok {
			return b, "successor", fmt.Errorf("%w: %q is not 3 digits", ErrInvalid, b.Successor)
		}
	}
	if !validSince(b.Since) {
		return b, "since", fmt.Errorf("%w: %q is not a year (YYYY) or a date (YYYY-MM-DD)", ErrInvalid, b.Since)
	}
	return b, "", nil
}

// checkName accepts a non-empty name of valid UTF-8 without control
// characters, so that every name survives a write and a re-read.
func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character %U at byte %d", ErrInvalid, r, i)
		}
	}
	return nil
}

// allDigits reports whether s is exactly n ASCII digits.
func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validBIC checks the ISO 9362 shape: 4-letter institution, 2-letter
// country, 2-character location, optional 3-character branch. It does not
// consult the SWIFT directory.
func validBIC(s string) bool {
	if len(s) != 8 && len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		upper := c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		if i < 6 && !upper || i >= 6 && !upper && !digit {
			return false
		}
	}
	return true
}

// validSince accepts "", "YYYY" or "YYYY-MM-DD" with a month 01–12 and a day
// 01–31. The calendar (Jalali or Gregorian) is not checked: the table says
// which it uses.
func validSince(s string) bool {
	switch len(s) {
	case 0:
		return true
	case 4:
		return allDigits(s, 4)
	case 10:
		if !allDigits(s[:4], 4) || s[4] != '-' || !allDigits(s[5:7], 2) || s[7] != '-' || !allDigits(s[8:], 2) {
			return false
		}
		m := int(s[5]-'0')*10 + int(s[6]-'0')
		d := int(s[8]-'0')*10 + int(s[9]-'0')
		return m >= 1 && m <= 12 && d >= 1 && d <= 31
	}
	return false
}

// WriteTo writes the registry as a table that [Parse] reads back to an equal
// registry: a header comment, then one line per bank, sorted by code.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	var sb strings.Builder
	sb.WriteString("# " + strings.Join(fieldNames[:], "\t") + "\n")
	for _, b := range r.banks {
		sb.WriteString(strings.Join([]string{
			b.Code, b.NameEN, b.NameFA, strings.Join(b.BINs, ","),
			b.BIC, string(b.Status), b.Successor, b.Since,
		}, "\t"))
		sb.WriteByte('\n')
	}
	n, err := io.WriteString(w, sb.String())
	return int64(n), err
}
