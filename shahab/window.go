package shahab

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/rulebook"
)

// WindowAt is the settlement window a transfer decided at t belongs to: the first of cuts (Tehran wall
// clock, every day, in order) strictly after t — so a transfer at a cut-off rides the next window — and
// that cut-off. The id is the cut-off's Jalali date and time, "1404-02-01T10:00": it sorts as time does.
// cuts must be non-empty and in order (the rulebook validates both).
func WindowAt(t time.Time, cuts []rulebook.ClockTime) (id string, cutOff time.Time) {
	day := calendar.DateOf(t.In(calendar.Tehran))
	for range 2 {
		for _, c := range cuts {
			if at := day.At(c.Hour, c.Minute); at.After(t) {
				return WindowID(at), at
			}
		}
		day = day.AddDays(1)
	}
	panic("shahab: WindowAt without cut-offs")
}

// WindowID names the window that closes at cutOff.
func WindowID(cutOff time.Time) string {
	tt := cutOff.In(calendar.Tehran)
	j := calendar.DateOf(tt).Jalali()
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d", j.Year, j.Month, j.Day, tt.Hour(), tt.Minute())
}

// TodayYYMM is t's Tehran date in Jalali as YYMM, the form of a card's expiry.
func TodayYYMM(t time.Time) string {
	j := calendar.DateOf(t.In(calendar.Tehran)).Jalali()
	return fmt.Sprintf("%02d%02d", j.Year%100, j.Month)
}

// RRN is the retrieval reference number of the transfer whose id is id: 12 decimal digits from the id's
// first 8 bytes, what a cardholder's receipt shows and a bank's back office searches by.
func RRN(id [16]byte) string {
	return fmt.Sprintf("%012d", binary.BigEndian.Uint64(id[:8])%1_000_000_000_000)
}
