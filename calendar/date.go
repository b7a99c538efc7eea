package calendar

import (
	"fmt"
	"time"
)

// Date is a Gregorian civil date: no time of day, no zone. Compare Dates with
// ==, Before, After or Compare. Validate says whether a Date is a real day
// this package can convert; the zero Date is not.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// daysBeforeMonth[m] is the number of days in a common year before month m
// (1-based), as fixed by the Gregorian calendar.
var daysBeforeMonth = [...]int{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}

// gregorianLeap reports whether y is a Gregorian leap year.
func gregorianLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// gregorianMonthDays is the length of month m of year y.
func gregorianMonthDays(y int, m time.Month) int {
	if m == time.February && gregorianLeap(y) {
		return 29
	}
	return daysBeforeMonth[m+1] - daysBeforeMonth[m]
}

// floorDiv divides rounding towards minus infinity, so that day arithmetic
// stays right on both sides of zero.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// daysBeforeGregorianYear counts the days from 0001-01-01 to 1 January of y.
func daysBeforeGregorianYear(y int) int {
	p := y - 1
	return 365*p + floorDiv(p, 4) - floorDiv(p, 100) + floorDiv(p, 400)
}

// dayNumber is the number of days since 0001-01-01 (day 0). It assumes a
// month in 1..12; the day may overflow the month and carries on.
func (d Date) dayNumber() int {
	n := daysBeforeGregorianYear(d.Year) + daysBeforeMonth[d.Month] + d.Day - 1
	if d.Month > time.February && gregorianLeap(d.Year) {
		n++
	}
	return n
}

// dateOfDayNumber is the inverse of Date.dayNumber.
func dateOfDayNumber(n int) Date {
	// 146097 days make 400 Gregorian years; the estimate is at most one year
	// off, and the loops below correct it.
	y := floorDiv(n*400, 146097) + 1
	for daysBeforeGregorianYear(y+1) <= n {
		y++
	}
	for daysBeforeGregorianYear(y) > n {
		y--
	}
	doy := n - daysBeforeGregorianYear(y)
	leap := 0
	if gregorianLeap(y) {
		leap = 1
	}
	m := time.December
	for ; m > time.January; m-- {
		before := daysBeforeMonth[m]
		if m > time.February {
			before += leap
		}
		if doy >= before {
			doy -= before
			break
		}
	}
	return Date{Year: y, Month: m, Day: doy + 1}
}

// The span of valid Dates: the Gregorian days of Jalali years
// JalaliYearMin..JalaliYearMax (1831-03-21..2251-03-20), so that every valid
// Date has its official Jalali date.
var (
	dateMin = dateOfDayNumber(jalaliNewYear(JalaliYearMin))
	dateMax = dateOfDayNumber(jalaliNewYear(JalaliYearMax+1) - 1)
)

// Validate reports whether d names a real day (a month in 1..12, a day
// within that month) within the span of Jalali years this package converts,
// 1831-03-21..2251-03-20. The error wraps ErrInvalidDate and says which
// part is wrong.
func (d Date) Validate() error {
	switch {
	case d.Month < time.January || d.Month > time.December:
		return fmt.Errorf("calendar: date %s: month %d outside 1..12: %w", d, int(d.Month), ErrInvalidDate)
	case d.Day < 1 || d.Day > gregorianMonthDays(d.Year, d.Month):
		return fmt.Errorf("calendar: date %s: day %d outside 1..%d: %w",
			d, d.Day, gregorianMonthDays(d.Year, d.Month), ErrInvalidDate)
	case d.Before(dateMin) || d.After(dateMax):
		return fmt.Errorf("calendar: date %s: outside %s..%s, the span of Jalali years %d..%d: %w",
			d, dateMin, dateMax, JalaliYearMin, JalaliYearMax, ErrInvalidDate)
	}
	return nil
}

// IsZero reports whether d is the zero Date (no date at all).
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as ISO 8601, "2025-03-21".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Display formats d the way DOMAIN.md shows dates to people: Jalali first,
// Gregorian beside it, "1404/01/01 (2025-03-21)".
func (d Date) Display() string {
	return d.Jalali().String() + " (" + d.String() + ")"
}

// AddDays returns the date n days after d (before d when n is negative).
// d must be valid.
func (d Date) AddDays(n int) Date {
	return dateOfDayNumber(d.dayNumber() + n)
}

// DaysUntil returns the number of days from d to e: positive when e is
// after d.
func (d Date) DaysUntil(e Date) int {
	return e.dayNumber() - d.dayNumber()
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	// 0001-01-01 of the proleptic Gregorian calendar was a Monday.
	return time.Weekday((d.dayNumber()%7 + 7 + int(time.Monday)) % 7)
}

// Compare returns -1 if d is before e, 0 if they are the same day and +1 if
// d is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is strictly after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// MarshalText writes d as "2025-03-21".
func (d Date) MarshalText() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads any form ParseDate accepts, Jalali ones included.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
