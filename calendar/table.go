package calendar

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Holiday is one official holiday.
type Holiday struct {
	Date   Date       `json:"date"`
	Jalali JalaliDate `json:"jalali"`
	NameEN string     `json:"name_en"`
	NameFA string     `json:"name_fa"`
	// Provisional marks a date announced by one source only, or a whole year
	// set ahead of the official announcement; it may still move.
	Provisional bool `json:"provisional"`
}

// Limits of a holiday table.
const (
	// tableRowsMax: a year has at most 366 days, so at most 366 holidays.
	tableRowsMax = 366
	// tableLineMax bounds one line of a table file in bytes: two dates and
	// two names of at most holidayNameMax bytes fit with room to spare.
	tableLineMax = 1024
	// tableBytesMax bounds a whole table file: 366 full lines plus as many
	// again of comments, rounded up.
	tableBytesMax = 1 << 20
	// holidayNameMax bounds a holiday name in bytes; the longest official
	// Persian name is under 120 bytes.
	holidayNameMax = 200
)

// tableHeader is the header line of a table file, tab-separated.
var tableHeader = []string{"jalali", "gregorian", "name_en", "name_fa", "provisional"}

// fixedHoliday is a holiday of the solar calendar: same Jalali day every year.
type fixedHoliday struct {
	Month, Day int
	NameEN     string
}

// fixedHolidays are the holidays of DOMAIN.md §3 that fall on the same
// Jalali day every year. Every table must contain them.
var fixedHolidays = []fixedHoliday{
	{1, 1, "Nowruz"}, {1, 2, "Nowruz"}, {1, 3, "Nowruz"}, {1, 4, "Nowruz"},
	{1, 12, "Islamic Republic Day"}, {1, 13, "Nature Day"},
	{3, 14, "Demise of Imam Khomeini"}, {3, 15, "15 Khordad uprising"},
	{11, 22, "Revolution Day"}, {12, 29, "Oil Nationalization Day"},
}

// Table is the official holidays of one Jalali year. Fridays are not
// listed: every Friday is closed anyway. A Table is built by NewTable or
// ParseTable, which check it, and never changes after; it is safe for
// concurrent use.
type Table struct {
	year     int
	holidays []Holiday // in date order
	// byDay maps a day of the year (0-based) to 1 + its index in holidays,
	// or 0 when the day is no holiday.
	byDay [366]int16
}

// NewTable checks holidays and builds the table of Jalali year. Each holiday
// needs a Date or a Jalali date (the missing one is filled in; when both are
// given they must agree), an English and a Persian name, and a date in year;
// no two may share a date; the fixed holidays of DOMAIN.md §3 must all be
// there. Errors wrap ErrBadTable and name the row (0-based) at fault.
func NewTable(year int, holidays []Holiday) (*Table, error) {
	if year < JalaliYearMin || year > JalaliYearMax {
		return nil, fmt.Errorf("calendar: table %d: year outside %d..%d: %w", year, JalaliYearMin, JalaliYearMax, ErrBadTable)
	}
	if len(holidays) > tableRowsMax {
		return nil, fmt.Errorf("calendar: table %d: %d holidays, more than the %d days of a year: %w",
			year, len(holidays), tableRowsMax, ErrBadTable)
	}
	t := &Table{year: year, holidays: make([]Holiday, 0, len(holidays))}
	for i, h := range holidays {
		h, err := completeHoliday(year, h)
		if err != nil {
			return nil, fmt.Errorf("calendar: table %d: row %d: %w", year, i, err)
		}
		t.holidays = append(t.holidays, h)
	}
	slices.SortFunc(t.holidays, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	for i, h := range t.holidays {
		doy := jalaliDaysBeforeMonth(h.Jalali.Month) + h.Jalali.Day - 1
		if t.byDay[doy] != 0 {
			return nil, fmt.Errorf("calendar: table %d: %s listed twice (%q and %q): %w",
				year, h.Jalali, t.holidays[t.byDay[doy]-1].NameEN, h.NameEN, ErrBadTable)
		}
		t.byDay[doy] = int16(i + 1)
	}
	for _, f := range fixedHolidays {
		if t.byDay[jalaliDaysBeforeMonth(f.Month)+f.Day-1] == 0 {
			return nil, fmt.Errorf("calendar: table %d: fixed holiday %s (%s) missing: %w",
				year, JalaliDate{year, f.Month, f.Day}, f.NameEN, ErrBadTable)
		}
	}
	return t, nil
}

// completeHoliday fills in whichever of h's two dates is missing and checks h.
func completeHoliday(year int, h Holiday) (Holiday, error) {
	switch {
	case h.Date.IsZero() && h.Jalali == (JalaliDate{}):
		return h, fmt.Errorf("no date: %w", ErrBadTable)
	case h.Date.IsZero():
		d, err := h.Jalali.Gregorian()
		if err != nil {
			return h, err
		}
		h.Date = d
	default:
		if err := h.Date.Validate(); err != nil {
			return h, err
		}
		j := h.Date.Jalali()
		if h.Jalali != (JalaliDate{}) && h.Jalali != j {
			return h, fmt.Errorf("jalali %s and gregorian %s disagree: %s is %s: %w",
				h.Jalali, h.Date, h.Date, j, ErrBadTable)
		}
		h.Jalali = j
	}
	if h.Jalali.Year != year {
		return h, fmt.Errorf("%s is not in year %d: %w", h.Jalali, year, ErrBadTable)
	}
	for _, n := range []struct{ field, value string }{{"name_en", h.NameEN}, {"name_fa", h.NameFA}} {
		switch {
		case strings.TrimSpace(n.value) == "":
			return h, fmt.Errorf("%s %s: empty: %w", h.Jalali, n.field, ErrBadTable)
		case len(n.value) > holidayNameMax:
			return h, fmt.Errorf("%s %s: longer than %d bytes: %w", h.Jalali, n.field, holidayNameMax, ErrBadTable)
		case strings.ContainsAny(n.value, "\t\r\n"):
			return h, fmt.Errorf("%s %s: contains a tab or line break: %w", h.Jalali, n.field, ErrBadTable)
		}
	}
	return h, nil
}

// Year returns the Jalali year of t.
func (t *Table) Year() int { return t.year }

// Holidays returns a copy of the holidays of t in date order.
func (t *Table) Holidays() []Holiday { return slices.Clone(t.holidays) }

// Provisional reports whether any holiday of t is provisional.
func (t *Table) Provisional() bool {
	return slices.ContainsFunc(t.holidays, func(h Holiday) bool { return h.Provisional })
}

// lookup returns the holiday on Jalali date j, which must be in t's year.
func (t *Table) lookup(j JalaliDate) (Holiday, bool) {
	i := t.byDay[jalaliDaysBeforeMonth(j.Month)+j.Day-1]
	if i == 0 {
		return Holiday{}, false
	}
	return t.holidays[i-1], true
}

// ParseError is a table file error at a line (1-based) and column (a
// 1-based field number; 0 when the line as a whole is wrong).
type ParseError struct {
	Line, Column int
	Err          error
}

func (e *ParseError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("calendar: table line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("calendar: table line %d, column %d (%s): %v", e.Line, e.Column, tableHeader[e.Column-1], e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseTable reads a table file: UTF-8 text, lines starting with '#' are
// comments, then the tab-separated header "jalali gregorian name_en name_fa
// provisional", then one holiday per line. The jalali column is written
// "1404-01-01", the gregorian one "2025-03-21"; provisional is "yes" or "no".
// The two dates of each row must agree: a mismatch is an error at that row,
// as is anything NewTable refuses. An error at a line is a *ParseError;
// every error but a failure of r wraps ErrBadTable or ErrInvalidDate.
func ParseTable(r io.Reader) (*Table, error) {
	data, err := io.ReadAll(io.LimitReader(r, tableBytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("calendar: read table: %w", err)
	}
	if len(data) > tableBytesMax {
		return nil, fmt.Errorf("calendar: table longer than %d bytes: %w", tableBytesMax, ErrBadTable)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 256), tableLineMax)
	var (
		line     int
		header   bool
		year     int
		holidays []Holiday
		seen     = make(map[Date]int) // line of each date
	)
	bad := func(col int, format string, args ...any) (*Table, error) {
		return nil, &ParseError{Line: line, Column: col, Err: fmt.Errorf(format+": %w", append(args, ErrBadTable)...)}
	}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if !header {
			if !slices.Equal(fields, tableHeader) {
				return bad(0, "header %q, want %q", text, strings.Join(tableHeader, "\t"))
			}
			header = true
			continue
		}
		if len(fields) != len(tableHeader) {
			return bad(0, "%d fields, want %d", len(fields), len(tableHeader))
		}
		if len(holidays) == tableRowsMax {
			return bad(0, "more than %d holidays", tableRowsMax)
		}
		jd, isJalali, err := parseDate(fields[0])
		if err == nil && !isJalali {
			err = fmt.Errorf("calendar: %q is Gregorian, want a Jalali date: %w", fields[0], ErrInvalidDate)
		}
		if err != nil {
			return nil, &ParseError{Line: line, Column: 1, Err: err}
		}
		gd, isJalali, err := parseDate(fields[1])
		if err == nil && isJalali {
			err = fmt.Errorf("calendar: %q is Jalali, want a Gregorian date: %w", fields[1], ErrInvalidDate)
		}
		if err != nil {
			return nil, &ParseError{Line: line, Column: 2, Err: err}
		}
		if gd != jd {
			return bad(2, "%s is Jalali %s, but the jalali column says %s (= %s)", gd, gd.Jalali(), jd.Jalali(), jd)
		}
		if year == 0 {
			year = jd.Jalali().Year
		}
		if prev, ok := seen[gd]; ok {
			return bad(1, "%s already listed on line %d", jd.Jalali(), prev)
		}
		seen[gd] = line
		var provisional bool
		switch fields[4] {
		case "yes":
			provisional = true
		case "no":
		default:
			return bad(5, "%q, want yes or no", fields[4])
		}
		h, err := completeHoliday(year, Holiday{
			Date: gd, Jalali: jd.Jalali(), NameEN: fields[2], NameFA: fields[3], Provisional: provisional,
		})
		if err != nil {
			return nil, &ParseError{Line: line, Err: err}
		}
		holidays = append(holidays, h)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{Line: line + 1, Err: fmt.Errorf("longer than %d bytes: %w", tableLineMax, ErrBadTable)}
		}
		return nil, fmt.Errorf("calendar: read table: %w", err)
	}
	if !header {
		return nil, fmt.Errorf("calendar: table: no header: %w", ErrBadTable)
	}
	if len(holidays) == 0 {
		return nil, fmt.Errorf("calendar: table: no holidays: %w", ErrBadTable)
	}
	// Every row is checked; what is left for NewTable is the table as a
	// whole (its year, the fixed holidays), which has no single line.
	return NewTable(year, holidays)
}

// WriteTo writes t in the form ParseTable reads, header included.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Official holidays of Jalali year %d.\n", t.year)
	b.WriteString(strings.Join(tableHeader, "\t") + "\n")
	for _, h := range t.holidays {
		provisional := "no"
		if h.Provisional {
			provisional = "yes"
		}
		fmt.Fprintf(&b, "%04d-%02d-%02d\t%s\t%s\t%s\t%s\n",
			h.Jalali.Year, h.Jalali.Month, h.Jalali.Day, h.Date, h.NameEN, h.NameFA, provisional)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// embeddedFS holds one table file per Jalali year, named after the year.
//
//go:embed holidays/*.tsv
var embeddedFS embed.FS

// embeddedTables parses the embedded tables once. They are checked by the
// tests; a failure here is a broken build, so it panics.
var embeddedTables = sync.OnceValue(func() map[int]*Table {
	entries, err := embeddedFS.ReadDir("holidays")
	if err != nil {
		panic(fmt.Sprintf("calendar: embedded tables: %v", err))
	}
	tables := make(map[int]*Table, len(entries))
	for _, e := range entries {
		t, err := parseEmbedded(e.Name())
		if err != nil {
			panic(err.Error())
		}
		tables[t.year] = t
	}
	return tables
})

// parseEmbedded parses one embedded table file and checks that its name is
// its year.
func parseEmbedded(name string) (*Table, error) {
	f, err := embeddedFS.Open("holidays/" + name)
	if err != nil {
		return nil, fmt.Errorf("calendar: embedded table %s: %w", name, err)
	}
	defer f.Close()
	t, err := ParseTable(f)
	if err != nil {
		return nil, fmt.Errorf("calendar: embedded table %s: %w", name, err)
	}
	if want := fmt.Sprintf("%d.tsv", t.year); name != want {
		return nil, fmt.Errorf("calendar: embedded table %s holds year %d: %w", name, t.year, ErrBadTable)
	}
	return t, nil
}
