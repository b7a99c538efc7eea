package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func date(y int, m time.Month, d int) Date { return Date{y, m, d} }

// The expectations below are worked out by hand from the 1403–1405 tables
// and the weekdays of 2025 (21 March 2025 was a Friday), not from the code.

func TestIsBusinessDay1404(t *testing.T) {
	tests := []struct {
		name           string
		d              Date
		thursdayClosed bool
		wantOpen       bool
		wantCode       ReasonCode
		wantFriday     bool
		wantHoliday    string // NameEN
	}{
		{"1403-12-30 plain Thursday, open", date(2025, 3, 20), false, true, ReasonNone, false, ""},
		{"1403-12-30 plain Thursday, closed", date(2025, 3, 20), true, false, ReasonThursday, false, ""},
		{"1404-01-01 Nowruz on a Friday", date(2025, 3, 21), false, false, ReasonHoliday, true, "Nowruz"},
		{"1404-01-02 Nowruz", date(2025, 3, 22), false, false, ReasonHoliday, false, "Nowruz"},
		{"1404-01-04 Nowruz", date(2025, 3, 24), false, false, ReasonHoliday, false, "Nowruz"},
		{"1404-01-05 after Nowruz", date(2025, 3, 25), false, true, ReasonNone, false, ""},
		{"1404-01-11 Eid al-Fitr", date(2025, 3, 31), false, false, ReasonHoliday, false, "Eid al-Fitr"},
		{"1404-01-12", date(2025, 4, 1), false, false, ReasonHoliday, false, "Islamic Republic Day (and day after Eid al-Fitr)"},
		{"1404-02-04 holiday on a Thursday", date(2025, 4, 24), false, false, ReasonHoliday, false, "Martyrdom of Imam Sadiq"},
		{"1404-02-18 plain Thursday, open", date(2025, 5, 8), false, true, ReasonNone, false, ""},
		{"1404-02-18 plain Thursday, closed", date(2025, 5, 8), true, false, ReasonThursday, false, ""},
		{"1404-02-19 plain Friday", date(2025, 5, 9), false, false, ReasonFriday, true, ""},
		{"1404-03-16 Eid al-Adha on a Friday", date(2025, 6, 6), false, false, ReasonHoliday, true, "Eid al-Adha"},
		{"1404-04-14 Tasua", date(2025, 7, 5), false, false, ReasonHoliday, false, "Tasua"},
		{"1404-04-15 Ashura", date(2025, 7, 6), false, false, ReasonHoliday, false, "Ashura"},
		{"1404-04-16 Monday", date(2025, 7, 7), false, true, ReasonNone, false, ""},
		{"1404-12-29 on a Friday", date(2026, 3, 20), false, false, ReasonHoliday, true, "Oil Nationalization Day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{ThursdayClosed: tt.thursdayClosed})
			open, r, err := c.IsBusinessDay(tt.d)
			if err != nil {
				t.Fatalf("IsBusinessDay(%s) error: %v", tt.d, err)
			}
			if open != tt.wantOpen {
				t.Errorf("IsBusinessDay(%s) = %t, want %t", tt.d, open, tt.wantOpen)
			}
			if r.Code != tt.wantCode {
				t.Errorf("reason code = %s, want %s", r.Code, tt.wantCode)
			}
			if r.Friday != tt.wantFriday {
				t.Errorf("reason Friday = %t, want %t", r.Friday, tt.wantFriday)
			}
			if r.Holiday.NameEN != tt.wantHoliday {
				t.Errorf("reason holiday = %q, want %q", r.Holiday.NameEN, tt.wantHoliday)
			}
			if tt.wantHoliday != "" && (r.Holiday.Date != tt.d || r.Holiday.NameFA == "") {
				t.Errorf("reason holiday = %+v, want the holiday of %s with its Persian name", r.Holiday, tt.d)
			}
		})
	}
}

func TestNextBusinessDay(t *testing.T) {
	tests := []struct {
		name           string
		d              Date
		thursdayClosed bool
		want           Date
	}{
		{"a business day is its own answer", date(2025, 3, 25), false, date(2025, 3, 25)},
		{"Nowruz 1: Fri + 4 days of Nowruz", date(2025, 3, 21), false, date(2025, 3, 25)},
		{"Nowruz 2", date(2025, 3, 22), false, date(2025, 3, 25)},
		{"Nowruz 4", date(2025, 3, 24), false, date(2025, 3, 25)},
		{"Eid al-Fitr, 12 and 13 Farvardin, Thursday open", date(2025, 3, 31), false, date(2025, 4, 3)},
		{"Eid al-Fitr, 12 and 13 Farvardin, Thursday closed, Friday", date(2025, 3, 31), true, date(2025, 4, 5)},
		{"14, 15 Khordad, Eid al-Adha on Friday", date(2025, 6, 4), false, date(2025, 6, 7)},
		{"Eid al-Adha on Friday", date(2025, 6, 6), false, date(2025, 6, 7)},
		{"Tasua, Ashura", date(2025, 7, 5), false, date(2025, 7, 7)},
		{"Friday before Tasua, Ashura", date(2025, 7, 4), false, date(2025, 7, 7)},
		{"holiday Thursday, Friday", date(2025, 4, 24), false, date(2025, 4, 26)},
		{"Arbaeen Thursday, Friday", date(2025, 8, 14), false, date(2025, 8, 16)},
		{"plain Thursday closed, Friday", date(2025, 5, 8), true, date(2025, 5, 10)},
		{"plain Friday", date(2025, 5, 9), false, date(2025, 5, 10)},
		{"into 1405: Friday 29 Esfand, Nowruz", date(2026, 3, 20), false, date(2026, 3, 25)},
		{"from 1403 into 1404", date(2025, 3, 19), false, date(2025, 3, 20)},
		{"from 1403 into 1404, Thursday closed", date(2025, 3, 19), true, date(2025, 3, 25)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{ThursdayClosed: tt.thursdayClosed})
			got, err := c.NextBusinessDay(tt.d)
			if err != nil {
				t.Fatalf("NextBusinessDay(%s) error: %v", tt.d, err)
			}
			if got != tt.want {
				t.Errorf("NextBusinessDay(%s) = %s, want %s", tt.d, got, tt.want)
			}
		})
	}
}

func TestAddBusinessDays(t *testing.T) {
	tests := []struct {
		name           string
		d              Date
		n              int
		thursdayClosed bool
		want           Date
	}{
		{"T+0 on a business day", date(2025, 3, 25), 0, false, date(2025, 3, 25)},
		{"T+0 on a holiday", date(2025, 3, 21), 0, false, date(2025, 3, 25)},
		{"T+1 from a holiday skips the chain", date(2025, 3, 21), 1, false, date(2025, 3, 25)},
		{"T+1 from 29 Esfand 1403", date(2025, 3, 19), 1, false, date(2025, 3, 20)},
		{"T+1 from 29 Esfand 1403, Thursday closed", date(2025, 3, 19), 1, true, date(2025, 3, 25)},
		{"T+2 from 29 Esfand 1403", date(2025, 3, 19), 2, false, date(2025, 3, 25)},
		{"T+3 from 29 Esfand 1403", date(2025, 3, 19), 3, false, date(2025, 3, 26)},
		{"T+5 from 30 Esfand 1403 across Nowruz and a Friday", date(2025, 3, 20), 5, false, date(2025, 3, 30)},
		{"T+1 before Eid al-Fitr chain", date(2025, 3, 30), 1, false, date(2025, 4, 3)},
		{"T+2 before Eid al-Fitr chain", date(2025, 3, 30), 2, false, date(2025, 4, 5)},
		{"T+1 before 14, 15 Khordad and Eid al-Adha", date(2025, 6, 3), 1, false, date(2025, 6, 7)},
		{"T+1 Thursday before Tasua, Ashura", date(2025, 7, 3), 1, false, date(2025, 7, 7)},
		{"T+2 Thursday before Tasua, Ashura", date(2025, 7, 3), 2, false, date(2025, 7, 8)},
		{"T+1 across the 1404/1405 boundary", date(2026, 3, 19), 1, false, date(2026, 3, 25)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{ThursdayClosed: tt.thursdayClosed})
			got, err := c.AddBusinessDays(tt.d, tt.n)
			if err != nil {
				t.Fatalf("AddBusinessDays(%s, %d) error: %v", tt.d, tt.n, err)
			}
			if got != tt.want {
				t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tt.d, tt.n, got, tt.want)
			}
		})
	}
}

// TestAddBusinessDaysCounts checks the definition on a long run: for every
// start day of 1404 and every n up to 10, the answer is a business day after
// the start with exactly n business days in (start, answer].
func TestAddBusinessDaysCounts(t *testing.T) {
	c := Default()
	for d := date(2025, 3, 21); d.Before(date(2026, 2, 1)); d = d.AddDays(1) {
		for n := 1; n <= 10; n++ {
			got, err := c.AddBusinessDays(d, n)
			if err != nil {
				t.Fatalf("AddBusinessDays(%s, %d): %v", d, n, err)
			}
			count := 0
			for e := d.AddDays(1); !e.After(got); e = e.AddDays(1) {
				if open, _, _ := c.IsBusinessDay(e); open {
					count++
				}
			}
			if open, _, _ := c.IsBusinessDay(got); !open || count != n {
				t.Fatalf("AddBusinessDays(%s, %d) = %s: business day %t, %d business days in between, want %d",
					d, n, got, open, count, n)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	c := Default()
	noTable := []struct {
		name string
		call func() error
		year string
	}{
		{"IsBusinessDay in 1402", func() error { _, _, err := c.IsBusinessDay(date(2024, 3, 19)); return err }, "1402"},
		{"IsBusinessDay on a Friday of 1402", func() error { _, _, err := c.IsBusinessDay(date(2024, 3, 15)); return err }, "1402"},
		{"IsBusinessDay in 1406", func() error { _, _, err := c.IsBusinessDay(date(2027, 3, 21)); return err }, "1406"},
		{"NextBusinessDay in 1402", func() error { _, err := c.NextBusinessDay(date(2024, 3, 19)); return err }, "1402"},
		{"NextBusinessDay runs into 1406", func() error { _, err := c.NextBusinessDay(date(2027, 3, 19)); return err }, "1406"},
		{"AddBusinessDays from 1402", func() error { _, err := c.AddBusinessDays(date(2024, 3, 19), 1); return err }, "1402"},
		{"AddBusinessDays runs into 1406", func() error { _, err := c.AddBusinessDays(date(2027, 3, 18), 1); return err }, "1406"},
		{"AddBusinessDays far beyond the tables", func() error { _, err := c.AddBusinessDays(date(2025, 3, 25), 1_000_000); return err }, "1406"},
		{"Holidays of 1402", func() error { _, err := c.Holidays(1402); return err }, "1402"},
		{"Holidays of 1406", func() error { _, err := c.Holidays(1406); return err }, "1406"},
	}
	for _, tt := range noTable {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrNoTable) {
				t.Fatalf("error = %v, want ErrNoTable", err)
			}
			if !strings.Contains(err.Error(), tt.year) {
				t.Errorf("error = %q, want it to name year %s", err, tt.year)
			}
		})
	}
	if _, _, err := c.IsBusinessDay(date(2025, 2, 29)); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("IsBusinessDay(2025-02-29) error = %v, want ErrInvalidDate", err)
	}
	if _, err := c.NextBusinessDay(Date{}); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("NextBusinessDay(zero) error = %v, want ErrInvalidDate", err)
	}
	if _, err := c.AddBusinessDays(date(2025, 3, 25), -1); !errors.Is(err, ErrNegativeDays) {
		t.Errorf("AddBusinessDays(n = -1) error = %v, want ErrNegativeDays", err)
	}
}

func TestOptionsTables(t *testing.T) {
	extra := "1404-02-21\t2025-05-11\tSimulated closure\tتعطیل آزمایشی\tno\n"
	custom, err := ParseTable(strings.NewReader(header + fixed1404 + extra))
	if err != nil {
		t.Fatalf("ParseTable: %v", err)
	}
	t.Run("replaces the embedded table of its year", func(t *testing.T) {
		c := New(Options{Tables: []*Table{custom}})
		if open, r, err := c.IsBusinessDay(date(2025, 5, 11)); err != nil || open || r.Holiday.NameEN != "Simulated closure" {
			t.Errorf("IsBusinessDay(2025-05-11) = %t, %+v, %v; want the simulated closure", open, r, err)
		}
		// Eid al-Fitr is in the embedded 1404 table, not in the custom one.
		if open, _, err := c.IsBusinessDay(date(2025, 3, 31)); err != nil || !open {
			t.Errorf("IsBusinessDay(2025-03-31) = %t, %v; want a business day under the custom table", open, err)
		}
		if _, _, err := c.IsBusinessDay(date(2024, 3, 20)); err != nil {
			t.Errorf("IsBusinessDay in 1403: %v; want the embedded 1403 table kept", err)
		}
	})
	t.Run("OmitEmbedded keeps only the given tables", func(t *testing.T) {
		c := New(Options{Tables: []*Table{custom}, OmitEmbedded: true})
		if got := c.Years(); len(got) != 1 || got[0] != 1404 {
			t.Errorf("Years() = %v, want [1404]", got)
		}
		if _, _, err := c.IsBusinessDay(date(2024, 3, 20)); !errors.Is(err, ErrNoTable) {
			t.Errorf("IsBusinessDay in 1403 error = %v, want ErrNoTable", err)
		}
	})
	t.Run("the default calendar is not changed", func(t *testing.T) {
		if open, _, err := Default().IsBusinessDay(date(2025, 5, 11)); err != nil || !open {
			t.Errorf("Default().IsBusinessDay(2025-05-11) = %t, %v; want a business day", open, err)
		}
	})
}

func TestHolidaysIsACopy(t *testing.T) {
	c := Default()
	hs, err := c.Holidays(1404)
	if err != nil {
		t.Fatalf("Holidays(1404): %v", err)
	}
	hs[0].NameEN = "changed"
	again, _ := c.Holidays(1404)
	if again[0].NameEN != "Nowruz" {
		t.Errorf("Holidays(1404)[0] = %q after a caller changed its copy, want Nowruz", again[0].NameEN)
	}
}

func TestReasonString(t *testing.T) {
	tests := []struct {
		d              Date
		thursdayClosed bool
		want           string
	}{
		{date(2025, 6, 6), false, "holiday: Eid al-Adha (عید سعید قربان), also a Friday"},
		{date(2025, 7, 5), false, "holiday: Tasua (تاسوعای حسینی)"},
		{date(2025, 4, 24), true, "holiday: Martyrdom of Imam Sadiq (شهادت امام جعفر صادق (ع)), also a closed Thursday"},
		{date(2026, 6, 25), false, "holiday: Tasua (تاسوعای حسینی), provisional"},
		{date(2025, 5, 9), false, "Friday"},
		{date(2025, 5, 8), true, "Thursday, closed"},
		{date(2025, 5, 8), false, "business day"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			_, r, err := New(Options{ThursdayClosed: tt.thursdayClosed}).IsBusinessDay(tt.d)
			if err != nil {
				t.Fatalf("IsBusinessDay: %v", err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("Reason.String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkIsBusinessDay(b *testing.B) {
	c := Default()
	d := date(2025, 3, 21)
	for b.Loop() {
		if _, _, err := c.IsBusinessDay(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNextBusinessDay(b *testing.B) {
	c := Default()
	d := date(2025, 3, 21) // a five-day chain: Friday and Nowruz
	for b.Loop() {
		if _, err := c.NextBusinessDay(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddBusinessDays(b *testing.B) {
	c := Default()
	d := date(2025, 3, 20)
	for b.Loop() {
		if _, err := c.AddBusinessDays(d, 20); err != nil {
			b.Fatal(err)
		}
	}
}
