package ach

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"150000000", 150_000_000},
		{"0", 0}, // read; Validate refuses it as not positive
		{"007", 7},
		{"1,500,000", 1_500_000},
		{"149,999,999", 149_999_999},
		{"999", 999},
		{"1,000", 1_000},
		{"۱۵۰۰۰۰۰۰۰", 150_000_000},
		{"۱۴۹٬۹۹۹٬۹۹۹", 149_999_999},
		{"٧٠٬٠٠٠٬٠٠٠", 70_000_000},
		{"۱،۵۰۰،۰۰۰", 1_500_000},
		{"۹۵,۰۰۰,۰۰۰", 95_000_000},
		{"۱5۰", 150}, // digit systems mixed: unambiguous
		{"\u200f۲۵۰۰۰\u200e", 25_000},
		{"1000000000000000", 1_000_000_000_000_000},
	} {
		v, p, reason := parseAmount(c.in)
		if reason != "" || v != c.want {
			t.Errorf("parseAmount(%q) = %d, %d, %q; want %d", c.in, v, p, reason, c.want)
		}
	}
}

func TestParseAmountErrors(t *testing.T) {
	for _, c := range []struct {
		in    string
		pos   int
		words string
	}{
		{"", 0, "missing"},
		{"\u200f", 0, "missing"},
		{"1,50,000", 5, "group of 2"},
		{"1500,000", 5, "4 digits"},
		{"1,500٬000", 6, "one kind"},
		{"0,150", 2, "start with 0"},
		{",150", 1, "before any digit"},
		{"1,,500", 3, "another separator"},
		{"1,500,", 6, "ends with a separator"},
		{"1,5000", 6, "last group has 4"},
		{"1,50", 4, "last group has 2"},
		{"12.5", 3, "decimal point"},
		{"۱۲٫۵", 3, "decimal point"},
		{"12/5", 3, "decimal point"},
		{"-100", 1, "sign"},
		{"+100", 1, "sign"},
		{"۱۵۰ ریال", 4, "not a digit"},
		{"1e9", 2, "not a digit"},
		{"12\xff", 3, "UTF-8"},
		{"1000000000000001", 16, "no rail carries"},
		{"99999999999999999999999", 16, "no rail carries"},
		{"\u200f1.5", 3, "decimal point"}, // the position counts the direction mark
	} {
		v, p, reason := parseAmount(c.in)
		if reason == "" || p != c.pos || !strings.Contains(reason, c.words) {
			t.Errorf("parseAmount(%q) = %d, at %d, %q; want a failure at %d saying %q", c.in, v, p, reason, c.pos, c.words)
		}
	}
}

// TestParseAmountForms writes amounts in every accepted form and reads each back.
func TestParseAmountForms(t *testing.T) {
	for _, v := range []int64{1, 9, 10, 999, 1_000, 12_345, 999_999, 1_000_000, 149_999_999, 150_000_000, 2_000_000_000, 1_000_000_000_000_000} {
		for _, form := range amountForms(v) {
			got, p, reason := parseAmount(form)
			if reason != "" || got != v {
				t.Errorf("parseAmount(%q) = %d, %d, %q; want %d", form, got, p, reason, v)
			}
		}
	}
}

// amountForms writes v plain and grouped, in each digit system, with each separator.
func amountForms(v int64) []string {
	plain := strconv.FormatInt(v, 10)
	var out []string
	for _, zero := range []rune{'0', '۰', '٠'} {
		digits := strings.Map(func(r rune) rune { return zero + (r - '0') }, plain)
		out = append(out, digits)
		for _, sep := range []string{",", "٬", "،"} {
			out = append(out, group(digits, sep))
		}
	}
	return out
}

// group inserts sep between groups of three digits from the right.
func group(digits, sep string) string {
	rs := []rune(digits)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && (len(rs)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}
