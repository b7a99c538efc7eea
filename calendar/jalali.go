package calendar

import (
	"fmt"
	"time"
)

// JalaliDate is a date of the Jalali (Solar Hijri) calendar, the civil
// calendar of Iran. Month 1 is Farvardin, month 12 Esfand.
type JalaliDate struct {
	Year, Month, Day int
}

// The Jalali years this package converts. The official calendar starts
// each year at the vernal equinox seen from Tehran; the arithmetic used here
// puts 8 leap years in every 33 (see jalaliLeap), the cycle the official
// calendar keeps over these centuries. Over this range it agrees day for day
// with the reference algorithm of jalaali-js and go-jalaali (Borkowski's
// 33-year cycles between "breaks"): 1210 is a break, and just before the next
// one, 1635, the reference moves a leap year, so the two part at 1630. The
// tests compare every day of the range with go-jalaali. Outside it
// JalaliDate.Gregorian and Date.Validate refuse the date (Date.Jalali, given
// an unchecked Date, extrapolates the same arithmetic).
const (
	JalaliYearMin = 1210
	JalaliYearMax = 1629
)

// jalaliCycleDays is the length of one 33-year cycle: 33 × 365 days plus 8
// leap days.
const jalaliCycleDays = 33*365 + 8

// jalaliLeap reports whether Jalali year y has 366 days (30 Esfand exists).
// Within JalaliYearMin..JalaliYearMax the leap years are those whose
// remainder mod 33 is 1, 5, 9, 13, 17, 22, 26 or 30; (8y + 29) mod 33 < 8
// picks exactly those.
func jalaliLeap(y int) bool {
	r := (8*y + 29) % 33
	if r < 0 {
		r += 33
	}
	return r < 8
}

// jalaliLeapsBefore counts the leap years among 1..y-1 under the 33-year
// rule. Its step from y to y+1 is 1 exactly when y is a leap year.
func jalaliLeapsBefore(y int) int {
	return floorDiv(8*y+21, 33)
}

// jalaliMonthDays is the length of month m of Jalali year y: the first six
// months have 31 days, the next five 30, and Esfand 29 or, in a leap year, 30.
func jalaliMonthDays(y, m int) int {
	switch {
	case m <= 6:
		return 31
	case m <= 11:
		return 30
	case jalaliLeap(y):
		return 30
	}
	return 29
}

// jalaliDaysBeforeMonth is the number of days of a Jalali year before month m.
func jalaliDaysBeforeMonth(m int) int {
	if m <= 7 {
		return (m - 1) * 31
	}
	return 6*31 + (m-7)*30
}

// jalaliEpoch anchors the arithmetic on a known day: 1 Farvardin 1404 was
// 21 March 2025 (the equinox fell at 12:31 Tehran time on 20 March, after
// noon, so the year began the next day).
var jalaliEpoch = Date{2025, time.March, 21}.dayNumber() - jalaliNewYearOffset(1404)

// jalaliNewYearOffset is the day number of 1 Farvardin of y relative to an
// arbitrary origin; adding jalaliEpoch makes it a Date day number.
func jalaliNewYearOffset(y int) int {
	return 365*(y-1) + jalaliLeapsBefore(y)
}

// jalaliNewYear is the Date day number of 1 Farvardin of Jalali year y.
func jalaliNewYear(y int) int {
	return jalaliNewYearOffset(y) + jalaliEpoch
}

// Jalali returns the Jalali date of d, which should be valid (see
// Validate); outside the valid span the arithmetic is extrapolated.
func (d Date) Jalali() JalaliDate {
	n := d.dayNumber()
	// The estimate is at most one year off; the loops correct it.
	y := floorDiv((n-jalaliEpoch)*33, jalaliCycleDays) + 1
	for jalaliNewYear(y+1) <= n {
		y++
	}
	for jalaliNewYear(y) > n {
		y--
	}
	doy := n - jalaliNewYear(y)
	if doy < 6*31 {
		return JalaliDate{Year: y, Month: doy/31 + 1, Day: doy%31 + 1}
	}
	doy -= 6 * 31
	return JalaliDate{Year: y, Month: doy/30 + 7, Day: doy%30 + 1}
}

// Validate reports whether j names a real day within
// JalaliYearMin..JalaliYearMax. The error wraps ErrInvalidDate and says which
// part is wrong.
func (j JalaliDate) Validate() error {
	switch {
	case j.Year < JalaliYearMin || j.Year > JalaliYearMax:
		return fmt.Errorf("calendar: jalali date %s: year %d outside %d..%d: %w",
			j, j.Year, JalaliYearMin, JalaliYearMax, ErrInvalidDate)
	case j.Month < 1 || j.Month > 12:
		return fmt.Errorf("calendar: jalali date %s: month %d outside 1..12: %w", j, j.Month, ErrInvalidDate)
	case j.Day < 1 || j.Day > jalaliMonthDays(j.Year, j.Month):
		return fmt.Errorf("calendar: jalali date %s: day %d outside 1..%d: %w",
			j, j.Day, jalaliMonthDays(j.Year, j.Month), ErrInvalidDate)
	}
	return nil
}

// Gregorian returns the Gregorian date of j. It fails, wrapping
// ErrInvalidDate, when j is not a real day (1403/12/30 exists, 1404/12/30
// does not) or its year is outside JalaliYearMin..JalaliYearMax.
func (j JalaliDate) Gregorian() (Date, error) {
	if err := j.Validate(); err != nil {
		return Date{}, err
	}
	return dateOfDayNumber(jalaliNewYear(j.Year) + jalaliDaysBeforeMonth(j.Month) + j.Day - 1), nil
}

// IsLeap reports whether the Jalali year of j has 366 days.
func (j JalaliDate) IsLeap() bool { return jalaliLeap(j.Year) }

// String formats j the way Iranians write it, "1404/01/01".
func (j JalaliDate) String() string {
	return fmt.Sprintf("%04d/%02d/%02d", j.Year, j.Month, j.Day)
}

// MarshalText writes j as "1404/01/01".
func (j JalaliDate) MarshalText() ([]byte, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return []byte(j.String()), nil
}

// UnmarshalText reads a Jalali date in any form ParseDate accepts as Jalali
// ("1404/01/01", "1404-01-01", Persian digits). A Gregorian date is an error.
func (j *JalaliDate) UnmarshalText(b []byte) error {
	v, isJalali, err := parseDate(string(b))
	if err != nil {
		return err
	}
	if !isJalali {
		return fmt.Errorf("calendar: parse %q: a Gregorian date where a Jalali one is needed: %w",
			string(b), ErrInvalidDate)
	}
	*j = v.Jalali()
	return nil
}
