package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"

	jalaali "github.com/jalaali/go-jalaali"
)

// TestJalaliMatchesReference converts every day of every supported Jalali
// year (1300..1500 and the rest of JalaliYearMin..JalaliYearMax) both ways
// and compares with go-jalaali, an independent implementation.
func TestJalaliMatchesReference(t *testing.T) {
	days := 0
	for y := JalaliYearMin; y <= JalaliYearMax; y++ {
		wantLeap, err := jalaali.IsLeapYear(y)
		if err != nil {
			t.Fatalf("jalaali.IsLeapYear(%d): %v", y, err)
		}
		if got := (JalaliDate{y, 1, 1}).IsLeap(); got != wantLeap {
			t.Errorf("year %d: IsLeap() = %t, want %t", y, got, wantLeap)
		}
		for m := 1; m <= 12; m++ {
			wantLen, err := jalaali.MonthLength(y, m)
			if err != nil {
				t.Fatalf("jalaali.MonthLength(%d, %d): %v", y, m, err)
			}
			if got := jalaliMonthDays(y, m); got != wantLen {
				t.Errorf("%d/%02d: %d days, want %d", y, m, got, wantLen)
			}
			for d := 1; d <= wantLen; d++ {
				j := JalaliDate{y, m, d}
				gy, gm, gd, err := jalaali.ToGregorian(y, jalaali.Month(m), d)
				if err != nil {
					t.Fatalf("jalaali.ToGregorian(%s): %v", j, err)
				}
				want := Date{gy, gm, gd}
				got, err := j.Gregorian()
				if err != nil {
					t.Fatalf("%s.Gregorian(): %v", j, err)
				}
				if got != want {
					t.Fatalf("%s.Gregorian() = %s, want %s", j, got, want)
				}
				jy, jm, jd, err := jalaali.ToJalaali(gy, gm, gd)
				if err != nil {
					t.Fatalf("jalaali.ToJalaali(%s): %v", want, err)
				}
				if back, w := want.Jalali(), (JalaliDate{jy, int(jm), jd}); back != w {
					t.Fatalf("%s.Jalali() = %s, want %s", want, back, w)
				}
				days++
			}
		}
	}
	// 1210..1629 is 420 years of 365 or 366 days.
	if days < 420*365 {
		t.Errorf("compared %d days, want at least %d", days, 420*365)
	}
}

func TestJalaliKnownDates(t *testing.T) {
	tests := []struct {
		j    JalaliDate
		want Date
	}{
		{JalaliDate{1404, 1, 1}, Date{2025, time.March, 21}},
		{JalaliDate{1403, 1, 1}, Date{2024, time.March, 20}},
		{JalaliDate{1403, 12, 30}, Date{2025, time.March, 20}}, // 1403 is leap
		{JalaliDate{1404, 12, 29}, Date{2026, time.March, 20}},
		{JalaliDate{1405, 1, 1}, Date{2026, time.March, 21}},
		{JalaliDate{1404, 6, 31}, Date{2025, time.September, 22}},
		{JalaliDate{1404, 7, 1}, Date{2025, time.September, 23}},
		{JalaliDate{1357, 11, 22}, Date{1979, time.February, 11}}, // Revolution Day
		{JalaliDate{1400, 10, 25}, Date{2022, time.January, 15}},
		{JalaliDate{1404, 2, 14}, Date{2025, time.May, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.j.String(), func(t *testing.T) {
			got, err := tt.j.Gregorian()
			if err != nil {
				t.Fatalf("Gregorian() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("%s.Gregorian() = %s, want %s", tt.j, got, tt.want)
			}
			if back := tt.want.Jalali(); back != tt.j {
				t.Errorf("%s.Jalali() = %s, want %s", tt.want, back, tt.j)
			}
		})
	}
}

func TestJalaliLeapYears(t *testing.T) {
	// Leap years of the 33-year cycle around now: 1370, 1375, 1379, 1383,
	// 1387, 1391, 1395, 1399, 1403, then 1408 (a five-year step).
	leap := map[int]bool{1370: true, 1375: true, 1379: true, 1383: true, 1387: true,
		1391: true, 1395: true, 1399: true, 1403: true, 1408: true}
	for y := 1370; y <= 1410; y++ {
		if got := jalaliLeap(y); got != leap[y] {
			t.Errorf("jalaliLeap(%d) = %t, want %t", y, got, leap[y])
		}
		if got, want := jalaliLeapsBefore(y+1)-jalaliLeapsBefore(y), map[bool]int{true: 1}[leap[y]]; got != want {
			t.Errorf("jalaliLeapsBefore(%d) - jalaliLeapsBefore(%d) = %d, want %d", y+1, y, got, want)
		}
	}
}

func TestJalaliValidate(t *testing.T) {
	tests := []struct {
		j       JalaliDate
		wantErr string
	}{
		{JalaliDate{1403, 12, 30}, ""},
		{JalaliDate{1404, 12, 29}, ""},
		{JalaliDate{1404, 12, 30}, "day 30 outside 1..29"},
		{JalaliDate{1404, 6, 31}, ""},
		{JalaliDate{1404, 7, 31}, "day 31 outside 1..30"},
		{JalaliDate{1404, 0, 1}, "month 0 outside 1..12"},
		{JalaliDate{1404, 13, 1}, "month 13 outside 1..12"},
		{JalaliDate{1404, 1, 0}, "day 0 outside 1..31"},
		{JalaliDate{1209, 1, 1}, "year 1209 outside 1210..1629"},
		{JalaliDate{1630, 1, 1}, "year 1630 outside 1210..1629"},
	}
	for _, tt := range tests {
		t.Run(tt.j.String(), func(t *testing.T) {
			_, err := tt.j.Gregorian()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Gregorian() error = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Gregorian() error = %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr != "" && !errors.Is(err, ErrInvalidDate):
				t.Errorf("Gregorian() error = %v, want it to wrap ErrInvalidDate", err)
			}
		})
	}
}

func TestJalaliString(t *testing.T) {
	if got, want := (JalaliDate{1404, 1, 1}).String(), "1404/01/01"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func BenchmarkJalali(b *testing.B) {
	d := Date{2025, time.March, 21}
	var j JalaliDate
	for b.Loop() {
		j = d.Jalali()
	}
	if j.Year != 1404 {
		b.Fatalf("Jalali() = %s", j)
	}
}

func BenchmarkGregorian(b *testing.B) {
	j := JalaliDate{1404, 1, 1}
	for b.Loop() {
		if _, err := j.Gregorian(); err != nil {
			b.Fatal(err)
		}
	}
}
