package calendar

import (
	"testing"
	"time"
)

func TestTehranOffset(t *testing.T) {
	tests := []struct {
		utc  time.Time
		want int // seconds east of UTC
	}{
		{time.Date(2025, time.January, 15, 12, 0, 0, 0, time.UTC), 12600},
		{time.Date(2025, time.July, 15, 12, 0, 0, 0, time.UTC), 12600}, // no DST since 2022
		{time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC), 12600},
		{time.Date(2021, time.June, 1, 12, 0, 0, 0, time.UTC), 16200}, // DST was still kept in 2021
	}
	for _, tt := range tests {
		t.Run(tt.utc.Format(time.DateOnly), func(t *testing.T) {
			if _, got := tt.utc.In(Tehran).Zone(); got != tt.want {
				t.Errorf("offset at %s = %d, want %d", tt.utc, got, tt.want)
			}
		})
	}
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		utc  time.Time
		want Date
	}{
		// Midnight in Tehran is 20:30 UTC the day before.
		{time.Date(2025, time.March, 20, 20, 29, 59, 0, time.UTC), Date{2025, time.March, 20}},
		{time.Date(2025, time.March, 20, 20, 30, 0, 0, time.UTC), Date{2025, time.March, 21}},
		{time.Date(2025, time.March, 21, 0, 0, 0, 0, time.UTC), Date{2025, time.March, 21}},
		{time.Date(2025, time.March, 21, 3, 29, 0, 0, time.FixedZone("+07", 7*3600)), Date{2025, time.March, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.utc.String(), func(t *testing.T) {
			if got := DateOf(tt.utc); got != tt.want {
				t.Errorf("DateOf(%s) = %s, want %s", tt.utc, got, tt.want)
			}
		})
	}
}

func TestDateAt(t *testing.T) {
	d := Date{2025, time.March, 21}
	tests := []struct {
		hour, min int
		wantUTC   time.Time
	}{
		{6, 0, time.Date(2025, time.March, 21, 2, 30, 0, 0, time.UTC)},
		{14, 30, time.Date(2025, time.March, 21, 11, 0, 0, 0, time.UTC)},
		{0, 0, time.Date(2025, time.March, 20, 20, 30, 0, 0, time.UTC)},
		{24, 0, time.Date(2025, time.March, 21, 20, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := d.At(tt.hour, tt.min)
		if !got.Equal(tt.wantUTC) {
			t.Errorf("At(%d, %d) = %s, want %s", tt.hour, tt.min, got.UTC(), tt.wantUTC)
		}
		if got.Location() != Tehran {
			t.Errorf("At(%d, %d) location = %s, want Tehran", tt.hour, tt.min, got.Location())
		}
	}
	if got := DateOf(d.At(23, 59)); got != d {
		t.Errorf("DateOf(At(23, 59)) = %s, want %s", got, d)
	}
}
