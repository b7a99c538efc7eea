package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// holidayPins is every row of the project's holiday table
// (shared/data/holidays.tsv), copied by hand: Jalali date, Gregorian date,
// English name, provisional. The embedded tables must hold exactly these.
var holidayPins = []struct {
	jalali, gregorian, nameEN string
	provisional               bool
}{
	{"1403-01-01", "2024-03-20", "Nowruz", false},
	{"1403-01-02", "2024-03-21", "Nowruz", false},
	{"1403-01-03", "2024-03-22", "Nowruz", false},
	{"1403-01-04", "2024-03-23", "Nowruz", false},
	{"1403-01-12", "2024-03-31", "Islamic Republic Day", false},
	{"1403-01-13", "2024-04-01", "Nature Day (Sizdah Bedar)", false},
	{"1403-01-22", "2024-04-10", "Eid al-Fitr", false},
	{"1403-01-23", "2024-04-11", "Day after Eid al-Fitr", false},
	{"1403-02-15", "2024-05-04", "Martyrdom of Imam Sadiq", false},
	{"1403-03-14", "2024-06-03", "Demise of Imam Khomeini", false},
	{"1403-03-15", "2024-06-04", "15 Khordad uprising", false},
	{"1403-03-28", "2024-06-17", "Eid al-Adha", false},
	{"1403-04-05", "2024-06-25", "Eid al-Ghadir", false},
	{"1403-04-25", "2024-07-15", "Tasua", false},
	{"1403-04-26", "2024-07-16", "Ashura", false},
	{"1403-06-04", "2024-08-25", "Arbaeen", false},
	{"1403-06-12", "2024-09-02", "Demise of the Prophet and martyrdom of Imam Hasan", false},
	{"1403-06-14", "2024-09-04", "Martyrdom of Imam Reza", false},
	{"1403-06-22", "2024-09-12", "Martyrdom of Imam Hasan Askari", false},
	{"1403-06-31", "2024-09-21", "Birth of the Prophet and Imam Sadiq", false},
	{"1403-09-15", "2024-12-05", "Martyrdom of Fatimah", false},
	{"1403-10-25", "2025-01-14", "Birth of Imam Ali", false},
	{"1403-11-09", "2025-01-28", "Mab'ath", false},
	{"1403-11-22", "2025-02-10", "Revolution Day", false},
	{"1403-11-27", "2025-02-15", "Birth of Imam Mahdi", true},
	{"1403-12-29", "2025-03-19", "Oil Nationalization Day", false},
	{"1404-01-01", "2025-03-21", "Nowruz", false},
	{"1404-01-02", "2025-03-22", "Nowruz", false},
	{"1404-01-03", "2025-03-23", "Nowruz", false},
	{"1404-01-04", "2025-03-24", "Nowruz", false},
	{"1404-01-11", "2025-03-31", "Eid al-Fitr", false},
	{"1404-01-12", "2025-04-01", "Islamic Republic Day (and day after Eid al-Fitr)", false},
	{"1404-01-13", "2025-04-02", "Nature Day (Sizdah Bedar)", false},
	{"1404-02-04", "2025-04-24", "Martyrdom of Imam Sadiq", false},
	{"1404-03-14", "2025-06-04", "Demise of Imam Khomeini", false},
	{"1404-03-15", "2025-06-05", "15 Khordad uprising", false},
	{"1404-03-16", "2025-06-06", "Eid al-Adha", false},
	{"1404-03-24", "2025-06-14", "Eid al-Ghadir", false},
	{"1404-04-14", "2025-07-05", "Tasua", false},
	{"1404-04-15", "2025-07-06", "Ashura", false},
	{"1404-05-23", "2025-08-14", "Arbaeen", false},
	{"1404-05-31", "2025-08-22", "Demise of the Prophet and martyrdom of Imam Hasan", false},
	{"1404-06-02", "2025-08-24", "Martyrdom of Imam Reza", false},
	{"1404-06-10", "2025-09-01", "Martyrdom of Imam Hasan Askari", false},
	{"1404-06-19", "2025-09-10", "Birth of the Prophet and Imam Sadiq", false},
	{"1404-09-03", "2025-11-24", "Martyrdom of Fatimah", false},
	{"1404-10-13", "2026-01-03", "Birth of Imam Ali", false},
	{"1404-10-27", "2026-01-17", "Mab'ath", false},
	{"1404-11-15", "2026-02-04", "Birth of Imam Mahdi", false},
	{"1404-11-22", "2026-02-11", "Revolution Day", false},
	{"1404-12-20", "2026-03-11", "Martyrdom of Imam Ali", false},
	{"1404-12-29", "2026-03-20", "Oil Nationalization Day", false},
	{"1405-01-01", "2026-03-21", "Nowruz (and Eid al-Fitr)", true},
	{"1405-01-02", "2026-03-22", "Nowruz", true},
	{"1405-01-03", "2026-03-23", "Nowruz", true},
	{"1405-01-04", "2026-03-24", "Nowruz", true},
	{"1405-01-12", "2026-04-01", "Islamic Republic Day", true},
	{"1405-01-13", "2026-04-02", "Nature Day (Sizdah Bedar)", true},
	{"1405-01-25", "2026-04-14", "Martyrdom of Imam Sadiq", true},
	{"1405-03-07", "2026-05-28", "Eid al-Adha", true},
	{"1405-03-14", "2026-06-04", "Demise of Imam Khomeini", true},
	{"1405-03-15", "2026-06-05", "15 Khordad uprising and Eid al-Ghadir", true},
	{"1405-04-04", "2026-06-25", "Tasua", true},
	{"1405-04-05", "2026-06-26", "Ashura", true},
	{"1405-05-13", "2026-08-04", "Arbaeen", true},
	{"1405-05-21", "2026-08-12", "Demise of the Prophet and martyrdom of Imam Hasan", true},
	{"1405-05-23", "2026-08-14", "Martyrdom of Imam Reza", true},
	{"1405-05-31", "2026-08-22", "Martyrdom of Imam Hasan Askari", true},
	{"1405-06-09", "2026-08-31", "Birth of the Prophet and Imam Sadiq", true},
	{"1405-08-23", "2026-11-14", "Martyrdom of Fatimah", true},
	{"1405-10-02", "2026-12-23", "Birth of Imam Ali", true},
	{"1405-10-16", "2027-01-06", "Mab'ath", true},
	{"1405-11-04", "2027-01-24", "Birth of Imam Mahdi", true},
	{"1405-11-22", "2027-02-11", "Revolution Day", true},
	{"1405-12-10", "2027-03-01", "Martyrdom of Imam Ali", true},
	{"1405-12-19", "2027-03-10", "Eid al-Fitr", true},
	{"1405-12-20", "2027-03-11", "Day after Eid al-Fitr", true},
	{"1405-12-29", "2027-03-20", "Oil Nationalization Day", true},
}

// mustParseJalaliPin reads a pin's "1404-01-01" by hand, not through ParseDate.
func mustParseJalaliPin(t *testing.T, s string) JalaliDate {
	t.Helper()
	var j JalaliDate
	if _, err := fmt.Sscanf(s, "%4d-%2d-%2d", &j.Year, &j.Month, &j.Day); err != nil {
		t.Fatalf("pin %q: %v", s, err)
	}
	return j
}

func TestEmbeddedTablesPinEveryRow(t *testing.T) {
	c := Default()
	if got, want := c.Years(), []int{1403, 1404, 1405}; !slices.Equal(got, want) {
		t.Fatalf("Years() = %v, want %v", got, want)
	}
	byYear := map[int][]Holiday{}
	for _, y := range c.Years() {
		hs, err := c.Holidays(y)
		if err != nil {
			t.Fatalf("Holidays(%d): %v", y, err)
		}
		byYear[y] = hs
	}
	seen := map[int]int{}
	for _, p := range holidayPins {
		t.Run(p.jalali, func(t *testing.T) {
			j := mustParseJalaliPin(t, p.jalali)
			wantG, err := time.Parse(time.DateOnly, p.gregorian)
			if err != nil {
				t.Fatalf("pin %q: %v", p.gregorian, err)
			}
			want := Date{wantG.Year(), wantG.Month(), wantG.Day()}
			// The conversion agrees with the source's Gregorian date.
			got, err := j.Gregorian()
			if err != nil || got != want {
				t.Errorf("%s.Gregorian() = %s, %v; want %s", j, got, err, want)
			}
			if back := want.Jalali(); back != j {
				t.Errorf("%s.Jalali() = %s, want %s", want, back, j)
			}
			// The embedded table holds the row, in order.
			i := seen[j.Year]
			seen[j.Year]++
			hs := byYear[j.Year]
			if i >= len(hs) {
				t.Fatalf("table %d has %d rows, pin needs row %d", j.Year, len(hs), i)
			}
			h := hs[i]
			if h.Jalali != j || h.Date != want || h.NameEN != p.nameEN || h.Provisional != p.provisional {
				t.Errorf("table %d row %d = {%s %s %q provisional=%t}, want {%s %s %q provisional=%t}",
					j.Year, i, h.Jalali, h.Date, h.NameEN, h.Provisional, j, want, p.nameEN, p.provisional)
			}
			// The reason a calendar gives for the day names the holiday.
			ok, r, err := c.IsBusinessDay(want)
			if err != nil || ok || r.Code != ReasonHoliday || r.Holiday.NameEN != p.nameEN {
				t.Errorf("IsBusinessDay(%s) = %t, %+v, %v; want a holiday named %q", want, ok, r, err, p.nameEN)
			}
		})
	}
	for y, hs := range byYear {
		if seen[y] != len(hs) {
			t.Errorf("table %d has %d rows, pins give %d", y, len(hs), seen[y])
		}
	}
}

// TestEmbeddedTablesHaveFixedHolidays checks, against DOMAIN.md §3's list,
// that every table holds the fixed solar holidays.
func TestEmbeddedTablesHaveFixedHolidays(t *testing.T) {
	fixed := []struct{ month, day int }{
		{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 12}, {1, 13}, {3, 14}, {3, 15}, {11, 22}, {12, 29},
	}
	c := Default()
	for _, y := range c.Years() {
		hs, err := c.Holidays(y)
		if err != nil {
			t.Fatalf("Holidays(%d): %v", y, err)
		}
		for _, f := range fixed {
			j := JalaliDate{y, f.month, f.day}
			if !slices.ContainsFunc(hs, func(h Holiday) bool { return h.Jalali == j }) {
				t.Errorf("table %d lacks fixed holiday %s", y, j)
			}
		}
	}
}

func TestEmbeddedPersianNames(t *testing.T) {
	pinned := map[string]string{
		"Nowruz":                  "نوروز",
		"Islamic Republic Day":    "روز جمهوری اسلامی",
		"Eid al-Fitr":             "عید سعید فطر",
		"Eid al-Adha":             "عید سعید قربان",
		"Eid al-Ghadir":           "عید سعید غدیر خم",
		"Tasua":                   "تاسوعای حسینی",
		"Ashura":                  "عاشورای حسینی",
		"Revolution Day":          "پیروزی انقلاب اسلامی",
		"Oil Nationalization Day": "روز ملی شدن صنعت نفت",
		"Demise of Imam Khomeini": "رحلت امام خمینی",
		"15 Khordad uprising":     "قیام ۱۵ خرداد",
	}
	c := Default()
	fa := map[string]string{} // NameEN -> NameFA, to check the tables agree with each other
	for _, y := range c.Years() {
		hs, _ := c.Holidays(y)
		for _, h := range hs {
			for _, r := range h.NameFA {
				switch {
				case r == 'ي' || r == 'ك':
					t.Errorf("%s %q: Arabic %q where Persian ی or ک belongs", h.Jalali, h.NameFA, r)
				case unicode.In(r, unicode.Latin) || (r >= '0' && r <= '9'):
					t.Errorf("%s %q: Latin character %q", h.Jalali, h.NameFA, r)
				case !unicode.In(r, unicode.Arabic) && !strings.ContainsRune(" ()\u200c", r):
					t.Errorf("%s %q: unexpected character %q", h.Jalali, h.NameFA, r)
				}
			}
			if prev, ok := fa[h.NameEN]; ok && prev != h.NameFA {
				t.Errorf("%q is %q in one table and %q in another", h.NameEN, prev, h.NameFA)
			}
			fa[h.NameEN] = h.NameFA
			if want, ok := pinned[h.NameEN]; ok && h.NameFA != want {
				t.Errorf("%s %q: Persian name %q, want %q", h.Jalali, h.NameEN, h.NameFA, want)
			}
		}
	}
	for en := range pinned {
		if _, ok := fa[en]; !ok {
			t.Errorf("no table uses %q", en)
		}
	}
}

func TestEmbeddedProvisional(t *testing.T) {
	c := Default()
	for _, y := range c.Years() {
		hs, _ := c.Holidays(y)
		for _, h := range hs {
			want := y == 1405 || h.Jalali == (JalaliDate{1403, 11, 27})
			if h.Provisional != want {
				t.Errorf("%s %s: provisional = %t, want %t", h.Jalali, h.NameEN, h.Provisional, want)
			}
		}
	}
}

// fixed1404 are the fixed holidays of 1404 as table rows: the smallest valid
// table of 1404.
const fixed1404 = "1404-01-01\t2025-03-21\tNowruz\tنوروز\tno\n" +
	"1404-01-02\t2025-03-22\tNowruz\tنوروز\tno\n" +
	"1404-01-03\t2025-03-23\tNowruz\tنوروز\tno\n" +
	"1404-01-04\t2025-03-24\tNowruz\tنوروز\tno\n" +
	"1404-01-12\t2025-04-01\tIslamic Republic Day\tروز جمهوری اسلامی\tno\n" +
	"1404-01-13\t2025-04-02\tNature Day\tروز طبیعت\tno\n" +
	"1404-03-14\t2025-06-04\tDemise of Imam Khomeini\tرحلت امام خمینی\tno\n" +
	"1404-03-15\t2025-06-05\t15 Khordad uprising\tقیام ۱۵ خرداد\tno\n" +
	"1404-11-22\t2026-02-11\tRevolution Day\tپیروزی انقلاب اسلامی\tno\n" +
	"1404-12-29\t2026-03-20\tOil Nationalization Day\tروز ملی شدن صنعت نفت\tno\n"

const header = "jalali\tgregorian\tname_en\tname_fa\tprovisional\n"

func TestParseTable(t *testing.T) {
	in := "# a comment\n\n" + header + fixed1404 + "1404-03-16\t2025-06-06\tEid al-Adha\tعید سعید قربان\tyes\r\n"
	tab, err := ParseTable(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseTable: %v", err)
	}
	if got, want := tab.Year(), 1404; got != want {
		t.Errorf("Year() = %d, want %d", got, want)
	}
	hs := tab.Holidays()
	if got, want := len(hs), 11; got != want {
		t.Fatalf("%d holidays, want %d", got, want)
	}
	// Sorted by date: Eid al-Adha (1404-03-16) comes after 15 Khordad.
	if got := hs[8]; got.NameEN != "Eid al-Adha" || !got.Provisional || got.Date != (Date{2025, time.June, 6}) {
		t.Errorf("row 8 = %+v, want Eid al-Adha on 2025-06-06, provisional", got)
	}
	if !tab.Provisional() {
		t.Errorf("Provisional() = false, want true")
	}
}

func TestParseTableErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantCol  int // -1: not a *ParseError
		wantErr  string
	}{
		{"gregorian mismatch", header + "1404-01-01\t2025-03-22\tNowruz\tنوروز\tno\n" + fixed1404,
			2, 2, "2025-03-22 is Jalali 1404/01/02, but the jalali column says 1404/01/01 (= 2025-03-21)"},
		{"bad header", "jalali\tgregorian\tname_en\n" + fixed1404, 1, 0, "header"},
		{"no header", "# only comments\n", 0, -1, "no header"},
		{"no rows", header, 0, -1, "no holidays"},
		{"four fields", header + "1404-01-01\t2025-03-21\tNowruz\tno\n", 2, 0, "4 fields, want 5"},
		{"bad provisional", header + "1404-01-01\t2025-03-21\tNowruz\tنوروز\tmaybe\n", 2, 5, `"maybe", want yes or no`},
		{"bad jalali", header + "1404-13-01\t2025-03-21\tNowruz\tنوروز\tno\n", 2, 1, "month 13 outside 1..12"},
		{"gregorian in jalali column", header + "2025-03-21\t2025-03-21\tNowruz\tنوروز\tno\n", 2, 1, "is Gregorian"},
		{"jalali in gregorian column", header + "1404-01-01\t1404/01/01\tNowruz\tنوروز\tno\n", 2, 2, "is Jalali"},
		{"bad gregorian", header + "1404-01-01\t2025-02-30\tNowruz\tنوروز\tno\n", 2, 2, "day 30 outside 1..28"},
		{"duplicate", header + fixed1404 + "1404-01-01\t2025-03-21\tNowruz again\tنوروز\tno\n",
			12, 1, "1404/01/01 already listed on line 2"},
		{"other year", header + fixed1404 + "1405-01-01\t2026-03-21\tNowruz\tنوروز\tno\n",
			12, 0, "1405/01/01 is not in year 1404"},
		{"empty persian name", header + "1404-01-01\t2025-03-21\tNowruz\t \tno\n", 2, 0, "name_fa: empty"},
		{"missing fixed holiday", header + strings.Replace(fixed1404, "1404-11-22\t2026-02-11\tRevolution Day\tپیروزی انقلاب اسلامی\tno\n", "", 1),
			0, -1, "fixed holiday 1404/11/22 (Revolution Day) missing"},
		{"line too long", header + "1404-01-01\t2025-03-21\t" + strings.Repeat("x", 2000) + "\tنوروز\tno\n", 2, 0, "longer than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := ParseTable(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ParseTable = table %d, want an error containing %q", tab.Year(), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrBadTable) && !errors.Is(err, ErrInvalidDate) {
				t.Errorf("error = %v, want it to wrap ErrBadTable or ErrInvalidDate", err)
			}
			var pe *ParseError
			if tt.wantCol == -1 {
				if errors.As(err, &pe) {
					t.Errorf("error = %#v, want no *ParseError", pe)
				}
				return
			}
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *ParseError", err)
			}
			if pe.Line != tt.wantLine || pe.Column != tt.wantCol {
				t.Errorf("error at line %d column %d, want line %d column %d", pe.Line, pe.Column, tt.wantLine, tt.wantCol)
			}
		})
	}
}

func TestNewTable(t *testing.T) {
	base, err := ParseTable(strings.NewReader(header + fixed1404))
	if err != nil {
		t.Fatalf("ParseTable: %v", err)
	}
	t.Run("fills in the missing date", func(t *testing.T) {
		hs := append(base.Holidays(),
			Holiday{Jalali: JalaliDate{1404, 3, 16}, NameEN: "Eid al-Adha", NameFA: "عید سعید قربان"},
			Holiday{Date: Date{2025, time.July, 5}, NameEN: "Tasua", NameFA: "تاسوعای حسینی"})
		tab, err := NewTable(1404, hs)
		if err != nil {
			t.Fatalf("NewTable: %v", err)
		}
		got := tab.Holidays()
		i := slices.IndexFunc(got, func(h Holiday) bool { return h.NameEN == "Eid al-Adha" })
		if i < 0 || got[i].Date != (Date{2025, time.June, 6}) {
			t.Errorf("Eid al-Adha = %+v, want Date 2025-06-06", got)
		}
		i = slices.IndexFunc(got, func(h Holiday) bool { return h.NameEN == "Tasua" })
		if i < 0 || got[i].Jalali != (JalaliDate{1404, 4, 14}) {
			t.Errorf("Tasua = %+v, want Jalali 1404/04/14", got)
		}
		if !slices.IsSortedFunc(got, func(a, b Holiday) int { return a.Date.Compare(b.Date) }) {
			t.Errorf("Holidays() not in date order")
		}
	})
	tests := []struct {
		name    string
		year    int
		extra   Holiday
		wantErr string
	}{
		{"dates disagree", 1404, Holiday{Date: Date{2025, time.June, 6}, Jalali: JalaliDate{1404, 3, 17}, NameEN: "x", NameFA: "ی"},
			"row 10: jalali 1404/03/17 and gregorian 2025-06-06 disagree"},
		{"no date", 1404, Holiday{NameEN: "x", NameFA: "ی"}, "row 10: no date"},
		{"wrong year", 1404, Holiday{Jalali: JalaliDate{1405, 3, 17}, NameEN: "x", NameFA: "ی"}, "1405/03/17 is not in year 1404"},
		{"no english name", 1404, Holiday{Jalali: JalaliDate{1404, 3, 17}, NameFA: "ی"}, "name_en: empty"},
		{"tab in name", 1404, Holiday{Jalali: JalaliDate{1404, 3, 17}, NameEN: "a\tb", NameFA: "ی"}, "name_en: contains a tab"},
		{"duplicate", 1404, Holiday{Jalali: JalaliDate{1404, 1, 1}, NameEN: "x", NameFA: "ی"}, "1404/01/01 listed twice"},
		{"year out of range", 1200, Holiday{}, "year outside 1210..1629"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTable(tt.year, append(base.Holidays(), tt.extra))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewTable error = %v, want one containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrBadTable) && !errors.Is(err, ErrInvalidDate) {
				t.Errorf("error = %v, want it to wrap ErrBadTable or ErrInvalidDate", err)
			}
		})
	}
}

// TestTableRoundTrip writes every embedded table and reads it back.
func TestTableRoundTrip(t *testing.T) {
	for year, tab := range embeddedTables() {
		t.Run(fmt.Sprint(year), func(t *testing.T) {
			var buf bytes.Buffer
			n, err := tab.WriteTo(&buf)
			if err != nil || n != int64(buf.Len()) {
				t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
			}
			back, err := ParseTable(&buf)
			if err != nil {
				t.Fatalf("ParseTable(WriteTo): %v", err)
			}
			if !slices.Equal(back.Holidays(), tab.Holidays()) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", back.Holidays(), tab.Holidays())
			}
		})
	}
}

// TestEmbeddedFileNames checks that a file named for one year but holding
// another is refused (the check embeddedTables relies on).
func TestEmbeddedFileNames(t *testing.T) {
	for _, name := range []string{"1403.tsv", "1404.tsv", "1405.tsv"} {
		if _, err := parseEmbedded(name); err != nil {
			t.Errorf("parseEmbedded(%s): %v", name, err)
		}
	}
	if _, err := parseEmbedded("1402.tsv"); err == nil {
		t.Errorf("parseEmbedded(1402.tsv): no error for a missing file")
	}
}

func FuzzParseTable(f *testing.F) {
	for _, name := range []string{"1403.tsv", "1404.tsv", "1405.tsv"} {
		b, err := os.ReadFile("holidays/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(header + fixed1404))
	f.Add([]byte(header + "1404-01-01\t2025-03-22\tNowruz\tنوروز\tno\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := ParseTable(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadTable) && !errors.Is(err, ErrInvalidDate) {
				t.Fatalf("error %v wraps neither ErrBadTable nor ErrInvalidDate", err)
			}
			return
		}
		var buf bytes.Buffer
		if _, err := tab.WriteTo(&buf); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		back, err := ParseTable(&buf)
		if err != nil {
			t.Fatalf("ParseTable(WriteTo(ParseTable(b))): %v\n%s", err, buf.String())
		}
		if back.Year() != tab.Year() || !slices.Equal(back.Holidays(), tab.Holidays()) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", back.Holidays(), tab.Holidays())
		}
		for _, h := range tab.Holidays() {
			if g, err := h.Jalali.Gregorian(); err != nil || g != h.Date {
				t.Fatalf("%+v: dates disagree (%s, %v)", h, g, err)
			}
		}
	})
}

func BenchmarkParseTable(b *testing.B) {
	data, err := os.ReadFile("holidays/1404.tsv")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseTable(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
