package calendar

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Errors of this package. Returned errors wrap them with the date, year or
// line at fault; test with errors.Is.
var (
	// ErrNoTable: the date falls in a Jalali year for which the calendar has
	// no holiday table, so whether it is a business day is unknown.
	ErrNoTable = errors.New("no holiday table for this year")
	// ErrInvalidDate: the date does not exist or cannot be read.
	ErrInvalidDate = errors.New("invalid date")
	// ErrBadTable: a holiday table is malformed or contradicts itself.
	ErrBadTable = errors.New("bad holiday table")
	// ErrNegativeDays: a count of business days below zero.
	ErrNegativeDays = errors.New("negative number of business days")
)

// Options configure a Calendar. The zero Options are DOMAIN.md's defaults:
// the embedded tables, Thursday a business day.
type Options struct {
	// ThursdayClosed makes every Thursday a non-business day, as some
	// banks' settings do.
	ThursdayClosed bool
	// Tables add holiday tables for more years, or replace the embedded
	// table of the same year. When two have the same year the later wins.
	Tables []*Table
	// OmitEmbedded leaves the embedded tables out: only Tables count.
	OmitEmbedded bool
}

// Calendar answers business-day questions for the years it has tables of.
// It never changes after New and is safe for concurrent use.
type Calendar struct {
	thursdayClosed bool
	tables         map[int]*Table
}

// New returns a Calendar with opts.
func New(opts Options) *Calendar {
	c := &Calendar{thursdayClosed: opts.ThursdayClosed, tables: make(map[int]*Table)}
	if !opts.OmitEmbedded {
		maps.Copy(c.tables, embeddedTables())
	}
	for _, t := range opts.Tables {
		if t == nil {
			panic("calendar: New: nil table in Options.Tables")
		}
		c.tables[t.year] = t
	}
	return c
}

// Default returns the Calendar of DOMAIN.md §3: the embedded tables (1403,
// 1404 and the provisional 1405), Friday the only weekend day.
func Default() *Calendar { return New(Options{}) }

// ThursdayClosed reports whether c closes on Thursdays.
func (c *Calendar) ThursdayClosed() bool { return c.thursdayClosed }

// Years returns the Jalali years c has tables of, in order.
func (c *Calendar) Years() []int { return slices.Sorted(maps.Keys(c.tables)) }

// Holidays returns the holidays of Jalali year, in date order. A year with no
// table is an error wrapping ErrNoTable.
func (c *Calendar) Holidays(year int) ([]Holiday, error) {
	t, ok := c.tables[year]
	if !ok {
		return nil, fmt.Errorf("calendar: holidays of %d: %w", year, ErrNoTable)
	}
	return t.Holidays(), nil
}

// ReasonCode says why a day is not a business day. When several apply, the
// code is the first in this order: ReasonHoliday, ReasonFriday,
// ReasonThursday; Reason carries all of them.
type ReasonCode uint8

const (
	// ReasonNone: the day is a business day.
	ReasonNone ReasonCode = iota
	// ReasonHoliday: an official holiday (maybe on a Friday as well).
	ReasonHoliday
	// ReasonFriday: a Friday, the weekend.
	ReasonFriday
	// ReasonThursday: a Thursday, and the calendar closes on Thursdays.
	ReasonThursday
)

func (c ReasonCode) String() string {
	switch c {
	case ReasonNone:
		return "business day"
	case ReasonHoliday:
		return "holiday"
	case ReasonFriday:
		return "Friday"
	case ReasonThursday:
		return "Thursday closed"
	}
	return fmt.Sprintf("ReasonCode(%d)", uint8(c))
}

// Reason explains why a day is or is not a business day.
type Reason struct {
	Code ReasonCode
	// Friday is true on every Friday, holiday or not.
	Friday bool
	// ThursdayClosed is true on a Thursday when the calendar closes them.
	ThursdayClosed bool
	// Holiday is the holiday of the day when Code is ReasonHoliday, else zero.
	Holiday Holiday
}

// String says it for people: "holiday: Eid al-Adha (عید سعید قربان), also a
// Friday".
func (r Reason) String() string {
	switch r.Code {
	case ReasonHoliday:
		s := "holiday: " + r.Holiday.NameEN + " (" + r.Holiday.NameFA + ")"
		if r.Holiday.Provisional {
			s += ", provisional"
		}
		switch {
		case r.Friday:
			s += ", also a Friday"
		case r.ThursdayClosed:
			s += ", also a closed Thursday"
		}
		return s
	case ReasonFriday:
		return "Friday"
	case ReasonThursday:
		return "Thursday, closed"
	}
	return r.Code.String()
}

// IsBusinessDay reports whether d is a business day, that is neither a
// Friday, nor a closed Thursday, nor a holiday, and why not. A date in a
// Jalali year with no table is an error wrapping ErrNoTable, never a
// business day by default; an invalid date one wrapping ErrInvalidDate.
func (c *Calendar) IsBusinessDay(d Date) (bool, Reason, error) {
	if err := d.Validate(); err != nil {
		return false, Reason{}, err
	}
	r, err := c.reason(d, d.Jalali())
	if err != nil {
		return false, Reason{}, err
	}
	return r.Code == ReasonNone, r, nil
}

// reason classifies d, whose Jalali date is j.
func (c *Calendar) reason(d Date, j JalaliDate) (Reason, error) {
	t, ok := c.tables[j.Year]
	if !ok {
		return Reason{}, fmt.Errorf("calendar: %s (%s): year %d: %w", d, j, j.Year, ErrNoTable)
	}
	var r Reason
	switch d.Weekday() {
	case time.Friday:
		r.Friday, r.Code = true, ReasonFriday
	case time.Thursday:
		if c.thursdayClosed {
			r.ThursdayClosed, r.Code = true, ReasonThursday
		}
	}
	if h, ok := t.lookup(j); ok {
		r.Holiday, r.Code = h, ReasonHoliday
	}
	return r, nil
}

// NextBusinessDay returns d if it is a business day, else the first
// business day after it. It fails, wrapping ErrNoTable, when the search
// reaches a year with no table: the last tabled year's closing days (1405's
// 29 Esfand is one) have no answer until the next year's table is added.
// The search is bounded by the tables, which are finite.
func (c *Calendar) NextBusinessDay(d Date) (Date, error) {
	if err := d.Validate(); err != nil {
		return Date{}, err
	}
	return c.nextOnOrAfter(d)
}

func (c *Calendar) nextOnOrAfter(d Date) (Date, error) {
	for {
		r, err := c.reason(d, d.Jalali())
		if err != nil {
			return Date{}, err
		}
		if r.Code == ReasonNone {
			return d, nil
		}
		d = d.AddDays(1)
	}
}

// AddBusinessDays returns the n-th business day strictly after d, the way
// banks count "T+n": d itself never counts, whether or not it is a business
// day, so AddBusinessDays(d, 1) is the first business day after d (the
// SATNA return deadline). n = 0 is the special case "T+0": d when d is a
// business day, else the next one, the same as NextBusinessDay. n below zero
// is an error wrapping ErrNegativeDays; a search that runs into a year with
// no table one wrapping ErrNoTable.
func (c *Calendar) AddBusinessDays(d Date, n int) (Date, error) {
	if err := d.Validate(); err != nil {
		return Date{}, err
	}
	if n < 0 {
		return Date{}, fmt.Errorf("calendar: add %d business days to %s: %w", n, d, ErrNegativeDays)
	}
	if n == 0 {
		return c.nextOnOrAfter(d)
	}
	// d must still be in a tabled year: a date with no table is an error
	// even when the answer would lie in a tabled one.
	if _, err := c.reason(d, d.Jalali()); err != nil {
		return Date{}, err
	}
	for ; n > 0; n-- {
		next, err := c.nextOnOrAfter(d.AddDays(1))
		if err != nil {
			return Date{}, err
		}
		d = next
	}
	return d, nil
}
