package calendar

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDateArithmeticMatchesTime walks every day from 1600 to 2400 and checks
// the package's own Gregorian arithmetic (day numbers, weekdays, AddDays,
// DaysUntil) against the standard library's.
func TestDateArithmeticMatchesTime(t *testing.T) {
	start := time.Date(1600, time.January, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2400, time.December, 31, 0, 0, 0, 0, time.UTC)
	prev := Date{1599, time.December, 31}
	for tm := start; !tm.After(end); tm = tm.AddDate(0, 0, 1) {
		want := Date{tm.Year(), tm.Month(), tm.Day()}
		if got := prev.AddDays(1); got != want {
			t.Fatalf("%s.AddDays(1) = %s, want %s", prev, got, want)
		}
		if got := dateOfDayNumber(want.dayNumber()); got != want {
			t.Fatalf("dateOfDayNumber(dayNumber(%s)) = %s", want, got)
		}
		if got, w := want.Weekday(), tm.Weekday(); got != w {
			t.Fatalf("%s.Weekday() = %s, want %s", want, got, w)
		}
		inSpan := !want.Before(Date{1831, time.March, 21}) && !want.After(Date{2251, time.March, 20})
		if err := want.Validate(); (err == nil) != inSpan {
			t.Fatalf("%s.Validate() = %v, want valid %t", want, err, inSpan)
		}
		prev = want
	}
	if got, want := (Date{1600, time.January, 1}).DaysUntil(Date{2400, time.December, 31}), int((end.Unix()-start.Unix())/86400); got != want {
		t.Errorf("DaysUntil over 1600..2400 = %d, want %d", got, want)
	}
}

func TestDateAddDays(t *testing.T) {
	tests := []struct {
		d    Date
		n    int
		want Date
	}{
		{Date{2025, time.March, 20}, 1, Date{2025, time.March, 21}},
		{Date{2024, time.February, 28}, 1, Date{2024, time.February, 29}},
		{Date{2025, time.February, 28}, 1, Date{2025, time.March, 1}},
		{Date{2025, time.December, 31}, 1, Date{2026, time.January, 1}},
		{Date{2026, time.January, 1}, -1, Date{2025, time.December, 31}},
		{Date{2025, time.March, 21}, 365, Date{2026, time.March, 21}},
		{Date{2024, time.March, 20}, 366, Date{2025, time.March, 21}},
		{Date{2025, time.March, 21}, 0, Date{2025, time.March, 21}},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := tt.d.AddDays(tt.n); got != tt.want {
				t.Errorf("%s.AddDays(%d) = %s, want %s", tt.d, tt.n, got, tt.want)
			}
		})
	}
}

func TestDateValidate(t *testing.T) {
	tests := []struct {
		d       Date
		wantErr string // "" for valid
	}{
		{Date{2025, time.March, 21}, ""},
		{Date{2024, time.February, 29}, ""},
		{Date{2000, time.February, 29}, ""},
		{Date{1900, time.February, 29}, "day 29 outside 1..28"},
		{Date{2025, time.February, 29}, "day 29 outside 1..28"},
		{Date{2025, time.April, 31}, "day 31 outside 1..30"},
		{Date{2025, 13, 1}, "month 13 outside 1..12"},
		{Date{2025, 0, 1}, "month 0 outside 1..12"},
		{Date{2025, time.March, 0}, "day 0 outside 1..31"},
		{Date{}, "month 0 outside 1..12"},
		{Date{1831, time.March, 21}, ""},
		{Date{1831, time.March, 20}, "outside 1831-03-21..2251-03-20"},
		{Date{2251, time.March, 20}, ""},
		{Date{2251, time.March, 21}, "outside 1831-03-21..2251-03-20"},
		{Date{10000, time.January, 1}, "outside 1831-03-21..2251-03-20"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			err := tt.d.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			case tt.wantErr != "" && !errors.Is(err, ErrInvalidDate):
				t.Errorf("Validate() = %v, want it to wrap ErrInvalidDate", err)
			}
		})
	}
}

func TestDateCompare(t *testing.T) {
	a := Date{2025, time.March, 21}
	tests := []struct {
		b                 Date
		cmp               int
		aBeforeB, aAfterB bool
	}{
		{Date{2025, time.March, 21}, 0, false, false},
		{Date{2025, time.March, 22}, -1, true, false},
		{Date{2025, time.April, 1}, -1, true, false},
		{Date{2026, time.January, 1}, -1, true, false},
		{Date{2025, time.March, 20}, 1, false, true},
		{Date{2025, time.February, 28}, 1, false, true},
		{Date{2024, time.December, 31}, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.b.String(), func(t *testing.T) {
			if got := a.Compare(tt.b); got != tt.cmp {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, tt.b, got, tt.cmp)
			}
			if got := tt.b.Compare(a); got != -tt.cmp {
				t.Errorf("%s.Compare(%s) = %d, want %d", tt.b, a, got, -tt.cmp)
			}
			if got := a.Before(tt.b); got != tt.aBeforeB {
				t.Errorf("%s.Before(%s) = %t, want %t", a, tt.b, got, tt.aBeforeB)
			}
			if got := a.After(tt.b); got != tt.aAfterB {
				t.Errorf("%s.After(%s) = %t, want %t", a, tt.b, got, tt.aAfterB)
			}
		})
	}
}

func TestDateStrings(t *testing.T) {
	d := Date{2025, time.March, 21}
	if got, want := d.String(), "2025-03-21"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := d.Display(), "1404/01/01 (2025-03-21)"; got != want {
		t.Errorf("Display() = %q, want %q", got, want)
	}
	if got, want := (Date{987, time.May, 6}).String(), "0987-05-06"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want Date
	}{
		{"2025-03-21", Date{2025, time.March, 21}},
		{"1404-01-01", Date{2025, time.March, 21}},
		{"1404/01/01", Date{2025, time.March, 21}},
		{"1404/1/1", Date{2025, time.March, 21}},
		{"  1404/01/01\t", Date{2025, time.March, 21}},
		{"۱۴۰۴/۰۱/۰۱", Date{2025, time.March, 21}},
		{"١٤٠٤/٠١/٠١", Date{2025, time.March, 21}},
		{"۲۰۲۵-۰۳-۲۱", Date{2025, time.March, 21}},
		{"1403/12/30", Date{2025, time.March, 20}},   // 1403 is a leap year
		{"1400/10/25", Date{2022, time.January, 15}}, // the 1400 rulebook's date
		{"1404/02/14", Date{2025, time.May, 4}},      // the 1404 rulebook's date
		{"2251-03-20", Date{2251, time.March, 20}},   // from 1700: Gregorian
		{"2024-02-29", Date{2024, time.February, 29}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err != nil {
				t.Fatalf("ParseDate(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDate(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDateErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"1404/13/01", "month 13 outside 1..12"},
		{"1404/12/30", "day 30 outside 1..29"}, // 1404 is not a leap year
		{"1404/07/31", "day 31 outside 1..30"},
		{"2025-02-29", "day 29 outside 1..28"},
		{"2025/03/21", "year 2025 outside 1210..1629"}, // slashes are Jalali
		{"1000-01-01", "year 1000 outside 1210..1629"},
		{"1699-01-01", "year 1699 outside 1210..1629"},   // below 1700: read as Jalali
		{"1700-01-01", "outside 1831-03-21..2251-03-20"}, // from 1700: Gregorian
		{"1404-01/01", "separator '/' at position 8 differs from '-'"},
		{"1404.01.01", "bad character '.' at position 5"},
		{"14040101", "bad character '0' at position 5"},
		{"404/01/01", "bad character '/' at position 4"},
		{"1404/01/01x", "bad character 'x' at position 11"},
		{"1404/001/01", "bad character '1' at position 8"},
		{"1404/01", "ends after 2 fields"},
		{"1404/", "ends at position 5 inside field 2"},
		{"1404/01/01/01", "bad character '/' at position 11"},
		{"1404 /01/01", "bad character ' ' at position 5"},
		{strings.Repeat(" ", 40) + "1404/01/01", "longer than 32 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %s, want an error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDate(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidDate) {
				t.Errorf("ParseDate(%q) error = %v, want it to wrap ErrInvalidDate", tt.in, err)
			}
		})
	}
}

func TestDateJSON(t *testing.T) {
	type doc struct {
		D Date       `json:"d"`
		J JalaliDate `json:"j"`
	}
	in := doc{D: Date{2025, time.March, 21}, J: JalaliDate{1403, 12, 30}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if got, want := string(b), `{"d":"2025-03-21","j":"1403/12/30"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	// Jalali text is accepted for a Date; Gregorian text is refused for a JalaliDate.
	if err := json.Unmarshal([]byte(`{"d":"1404/01/01","j":"1404-01-01"}`), &out); err != nil {
		t.Fatalf("Unmarshal Jalali forms: %v", err)
	}
	if out.D != (Date{2025, time.March, 21}) || out.J != (JalaliDate{1404, 1, 1}) {
		t.Errorf("Unmarshal Jalali forms = %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"j":"2025-03-21"}`), &out); err == nil {
		t.Errorf("Unmarshal of a Gregorian date into a JalaliDate: no error")
	}
	if _, err := json.Marshal(doc{}); err == nil {
		t.Errorf("Marshal of a zero Date: no error, want one")
	}
}

func BenchmarkParseDate(b *testing.B) {
	for _, s := range []string{"2025-03-21", "1404/01/01", "۱۴۰۴/۰۱/۰۱"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseDate(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAddDays(b *testing.B) {
	d := Date{2025, time.March, 21}
	for b.Loop() {
		d = d.AddDays(1)
		if d.Year > 9000 {
			d = Date{2025, time.March, 21}
		}
	}
}

// FuzzParseDate reads, writes and reads again, in both calendars.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2025-03-21", "1404/01/01", "1404-1-1", "۱۴۰۳/۱۲/۳۰", "١٤٠٤/٠١/٠١", " 2024-02-29 ", "1404/12/30", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDate) {
				t.Fatalf("ParseDate(%q) error %v does not wrap ErrInvalidDate", s, err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("ParseDate(%q) = %s, which is invalid: %v", s, d, err)
		}
		again, err := ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDate(%q) = %s, ParseDate(String()) = %s, %v", s, d, again, err)
		}
		j := d.Jalali()
		if fromJ, err := ParseDate(j.String()); err != nil || fromJ != d {
			t.Fatalf("ParseDate(%q) = %s, ParseDate(Jalali %s) = %s, %v", s, d, j, fromJ, err)
		}
	})
}
