package rulebook

import (
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
)

// ClockTime is a time of day on the Tehran wall clock, to the minute:
// SATNA's opening and cut-offs, PAYA's cycles.
type ClockTime struct {
	Hour, Minute int
}

// clockTextMax bounds the text of a ClockTime: "06:00" is 5 characters;
// 16 bytes leave room for spaces and Persian digits (2 bytes each).
const clockTextMax = 16

// ParseClockTime reads "HH:MM" (24-hour, 00:00..23:59; the hour may have one
// digit; Persian digits are accepted). Errors give the 1-based position of
// the first bad character.
func ParseClockTime(s string) (ClockTime, error) {
	fail := func(format string, args ...any) (ClockTime, error) {
		return ClockTime{}, fmt.Errorf("rulebook: clock time %q: %s: %w", s, fmt.Sprintf(format, args...), ErrInvalid)
	}
	if len(s) > clockTextMax {
		return fail("longer than %d bytes", clockTextMax)
	}
	runes := []rune(s)
	var fields [2]int
	pos := 0
	for i, width := range [2][2]int{{1, 2}, {2, 2}} {
		if i == 1 {
			if pos == len(runes) {
				return fail("no minutes")
			}
			if runes[pos] != ':' {
				return fail("bad character %q at position %d, want ':'", runes[pos], pos+1)
			}
			pos++
		}
		n, digits := 0, 0
		for pos < len(runes) && digits < width[1] {
			v, ok := clockDigit(runes[pos])
			if !ok {
				break
			}
			n, digits, pos = n*10+v, digits+1, pos+1
		}
		if digits < width[0] {
			if pos == len(runes) {
				return fail("ends at position %d", pos)
			}
			return fail("bad character %q at position %d", runes[pos], pos+1)
		}
		fields[i] = n
	}
	if pos != len(runes) {
		return fail("bad character %q at position %d", runes[pos], pos+1)
	}
	c := ClockTime{Hour: fields[0], Minute: fields[1]}
	if err := c.validate(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

func clockDigit(r rune) (int, bool) {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0'), true
	case r >= '۰' && r <= '۹': // Persian digits, U+06F0..U+06F9
		return int(r - '۰'), true
	}
	return 0, false
}

func (c ClockTime) validate() error {
	switch {
	case c.Hour < 0 || c.Hour > 23:
		return fmt.Errorf("hour %d outside 0..23", c.Hour)
	case c.Minute < 0 || c.Minute > 59:
		return fmt.Errorf("minute %d outside 0..59", c.Minute)
	}
	return nil
}

// String formats c as "06:00".
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// Minutes returns the minutes from midnight to c.
func (c ClockTime) Minutes() int { return c.Hour*60 + c.Minute }

// Before reports whether c is earlier in the day than o.
func (c ClockTime) Before(o ClockTime) bool { return c.Minutes() < o.Minutes() }

// On returns the instant of c on day d in Tehran.
func (c ClockTime) On(d calendar.Date) time.Time { return d.At(c.Hour, c.Minute) }

// MarshalText writes c as "06:00".
func (c ClockTime) MarshalText() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("rulebook: clock time: %v: %w", err, ErrInvalid)
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads what ParseClockTime reads.
func (c *ClockTime) UnmarshalText(b []byte) error {
	v, err := ParseClockTime(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
