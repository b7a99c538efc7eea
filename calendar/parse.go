package calendar

import (
	"fmt"
	"strings"
	"time"
)

// Limits of ParseDate.
const (
	// dateTextMax bounds the input ParseDate looks at: a date is 10
	// characters ("1404/01/01"); 32 leaves room for surrounding spaces and
	// refuses pasted paragraphs early.
	dateTextMax = 32

	// jalaliYearSplit decides what "YYYY-MM-DD" means: a year below it is
	// Jalali, one at or above it Gregorian. Jalali 1700 is Gregorian 2321
	// and Gregorian 1700 is Jalali 1078, so no year this simulator meets is
	// ambiguous.
	jalaliYearSplit = 1700
)

// ParseDate reads a date written as people in Iran write it:
//
//   - "2025-03-21": Gregorian when the year is 1700 or later;
//   - "1404-01-01": Jalali when the year is below 1700;
//   - "1404/01/01": always Jalali;
//
// with Persian (۰–۹) or Arabic-Indic (٠–٩) digits as well as ASCII ones, month
// and day of one or two digits, and spaces around. A Jalali date is
// converted to its Gregorian Date. Errors wrap ErrInvalidDate and give the
// 1-based character position of the first bad character.
func ParseDate(s string) (Date, error) {
	d, _, err := parseDate(s)
	return d, err
}

// parseDate is ParseDate, also reporting whether s was written in Jalali.
func parseDate(s string) (Date, bool, error) {
	fail := func(format string, args ...any) (Date, bool, error) {
		return Date{}, false, fmt.Errorf("calendar: parse %q: %s: %w", s, fmt.Sprintf(format, args...), ErrInvalidDate)
	}
	if len(s) > dateTextMax*4 { // 4 bytes is the longest UTF-8 character
		return fail("longer than %d characters", dateTextMax)
	}
	runes := []rune(s)
	if len(runes) > dateTextMax {
		return fail("longer than %d characters", dateTextMax)
	}
	start, end := 0, len(runes)
	for start < end && isSpace(runes[start]) {
		start++
	}
	for end > start && isSpace(runes[end-1]) {
		end--
	}
	if start == end {
		return fail("empty")
	}

	// fields holds year, month and day; pos walks the runes.
	var fields [3]int
	var sep rune
	pos := start
	for i, width := range [3][2]int{{4, 4}, {1, 2}, {1, 2}} {
		if i > 0 {
			if pos == end {
				return fail("ends after %d fields, want year, month and day", i)
			}
			r := runes[pos]
			switch {
			case r != '-' && r != '/':
				return fail("bad character %q at position %d, want '-' or '/'", r, pos+1)
			case i == 2 && r != sep:
				return fail("separator %q at position %d differs from %q", r, pos+1, sep)
			}
			sep = r
			pos++
		}
		n, digits := 0, 0
		for pos < end && digits < width[1] {
			v, ok := digitValue(runes[pos])
			if !ok {
				break
			}
			n = n*10 + v
			digits++
			pos++
		}
		if digits < width[0] {
			if pos == end {
				return fail("ends at position %d inside field %d", pos, i+1)
			}
			return fail("bad character %q at position %d", runes[pos], pos+1)
		}
		fields[i] = n
	}
	if pos != end {
		return fail("bad character %q at position %d", runes[pos], pos+1)
	}

	year, month, day := fields[0], fields[1], fields[2]
	if sep == '/' || year < jalaliYearSplit {
		d, err := JalaliDate{Year: year, Month: month, Day: day}.Gregorian()
		if err != nil {
			return Date{}, false, fmt.Errorf("calendar: parse %q: %w", s, err)
		}
		return d, true, nil
	}
	d := Date{Year: year, Month: time.Month(month), Day: day}
	if err := d.Validate(); err != nil {
		return Date{}, false, fmt.Errorf("calendar: parse %q: %w", s, err)
	}
	return d, false, nil
}

// digitValue reads an ASCII, Persian or Arabic-Indic digit.
func digitValue(r rune) (int, bool) {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0'), true
	case r >= '۰' && r <= '۹': // U+06F0..U+06F9, Extended Arabic-Indic (Persian)
		return int(r - '۰'), true
	case r >= '٠' && r <= '٩': // U+0660..U+0669, Arabic-Indic
		return int(r - '٠'), true
	}
	return 0, false
}

func isSpace(r rune) bool {
	return strings.ContainsRune(" \t\r\n\u00a0\u200c", r)
}
