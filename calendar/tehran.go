package calendar

import (
	"time"
	_ "time/tzdata" // the zone database travels inside the binary
)

// tehranOffsetSeconds is Iran Standard Time, UTC+03:30. Iran abolished
// daylight saving time from 2022 (the last shift back was on 22 September
// 2022), so this is the offset all year round from then on.
const tehranOffsetSeconds = 3*3600 + 30*60

// Tehran is the Asia/Tehran time zone, in which the rails keep their hours
// and dates. It is read from the IANA zone database (the copy embedded in
// the binary through time/tzdata, unless the system has its own), so it
// knows the daylight saving time Iran kept before 2022. Should the database
// found not know that Iran stopped daylight saving time, Tehran falls back to
// a fixed UTC+03:30, which is right for every date from 2022-09-22 on.
var Tehran = loadTehran()

func loadTehran() *time.Location {
	loc, err := time.LoadLocation("Asia/Tehran")
	if err == nil && knowsNoDST(loc) {
		return loc
	}
	return time.FixedZone("Asia/Tehran", tehranOffsetSeconds)
}

// knowsNoDST checks that loc keeps UTC+03:30 through a whole recent year,
// summer included.
func knowsNoDST(loc *time.Location) bool {
	for _, m := range []time.Month{time.January, time.April, time.July, time.October} {
		_, off := time.Date(2025, m, 15, 12, 0, 0, 0, time.UTC).In(loc).Zone()
		if off != tehranOffsetSeconds {
			return false
		}
	}
	return true
}

// DateOf returns the civil date in Tehran at instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Tehran).Date()
	return Date{Year: y, Month: m, Day: d}
}

// At returns the instant at hour:minute on d in Tehran. Values out of range
// carry over as they do in time.Date: At(24, 0) is midnight at the end of d.
func (d Date) At(hour, minute int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, minute, 0, 0, Tehran)
}
