package rulebook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
)

func TestParseClockTime(t *testing.T) {
	tests := []struct {
		in   string
		want ClockTime
		text string
	}{
		{"06:00", ClockTime{6, 0}, "06:00"},
		{"6:00", ClockTime{6, 0}, "06:00"},
		{"14:30", ClockTime{14, 30}, "14:30"},
		{"00:00", ClockTime{0, 0}, "00:00"},
		{"23:59", ClockTime{23, 59}, "23:59"},
		{"۰۶:۰۰", ClockTime{6, 0}, "06:00"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClockTime(tt.in)
			if err != nil {
				t.Fatalf("ParseClockTime(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseClockTime(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.text {
				t.Errorf("String() = %q, want %q", s, tt.text)
			}
		})
	}
}

func TestParseClockTimeErrors(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", "ends at position 0"},
		{"24:00", "hour 24 outside 0..23"},
		{"12:60", "minute 60 outside 0..59"},
		{"12:5", "ends at position 4"},
		{"12", "no minutes"},
		{"12.30", "bad character '.' at position 3, want ':'"},
		{"123:00", "bad character '3' at position 3"},
		{"12:300", "bad character '0' at position 6"},
		{" 12:30", "bad character ' ' at position 1"},
		{"ab:cd", "bad character 'a' at position 1"},
		{strings.Repeat("1", 17), "longer than 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClockTime(tt.in)
			if err == nil {
				t.Fatalf("ParseClockTime(%q) = %s, want an error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseClockTime(%q) error = %v, want ErrInvalid containing %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestClockTimeOrder(t *testing.T) {
	open, cutoff := ClockTime{6, 0}, ClockTime{14, 30}
	if !open.Before(cutoff) || cutoff.Before(open) || open.Before(open) {
		t.Errorf("Before: 06:00 < 14:30 = %t, 14:30 < 06:00 = %t, 06:00 < 06:00 = %t; want true, false, false",
			open.Before(cutoff), cutoff.Before(open), open.Before(open))
	}
	if got, want := cutoff.Minutes(), 870; got != want {
		t.Errorf("14:30 Minutes() = %d, want %d", got, want)
	}
}

func TestClockTimeOn(t *testing.T) {
	d := calendar.Date{Year: 2025, Month: time.May, Day: 4}
	got := ClockTime{14, 30}.On(d)
	// 14:30 in Tehran (UTC+03:30) is 11:00 UTC.
	if want := time.Date(2025, time.May, 4, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("On(%s) = %s, want %s", d, got.UTC(), want)
	}
}

func FuzzParseClockTime(f *testing.F) {
	for _, s := range []string{"06:00", "6:00", "23:59", "۱۴:۳۰", "24:00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClockTime(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseClockTime(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		again, err := ParseClockTime(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseClockTime(%q) = %+v; ParseClockTime(%q) = %+v, %v", s, c, c.String(), again, err)
		}
	})
}
