package ach

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/rulebook"
)

// digitValue returns the value of an ASCII, Persian (۰–۹, U+06F0–U+06F9) or Arabic-Indic (٠–٩,
// U+0660–U+0669) digit, or -1.
func digitValue(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= '۰' && r <= '۹':
		return int(r - '۰')
	case r >= '٠' && r <= '٩':
		return int(r - '٠')
	}
	return -1
}

// isGroupSeparator reports whether r separates thousands in an amount: the comma, the Arabic thousands
// separator ٬ (U+066C, what a Persian locale writes) and the Arabic comma ، (U+060C, what a Persian keyboard
// types for a comma). None of them is ever a decimal mark in Persian, whose decimal separator is ٫ (U+066B).
func isGroupSeparator(r rune) bool { return r == ',' || r == '\u066C' || r == '\u060C' }

// isDecimalMark reports whether r is a decimal point: '.', the Arabic decimal separator ٫ (U+066B) or '/',
// which Persian handwriting and many Persian sheets use as one.
func isDecimalMark(r rune) bool { return r == '.' || r == '\u066B' || r == '/' }

// isDirectionMark reports whether r is an invisible direction mark that copying from right-to-left text adds
// around a number: LRM, RLM, ALM.
func isDirectionMark(r rune) bool { return r == '\u200E' || r == '\u200F' || r == '\u061C' }

// parseAmount reads the amount column of a file: a whole number of rial in ASCII, Persian or Arabic-Indic
// digits (which may be mixed: "۱5۰" is unambiguous), optionally grouped by thousands with one kind of
// separator used throughout, direction marks at either end ignored. When grouped, the first group has one to
// three digits and does not start with 0, every other group exactly three: "1,500,000" and "۱٬۵۰۰٬۰۰۰" read,
// "1,50,000" (lakh grouping), "1500,000", "1,500٬000" (two separators) and "0,150" do not. No sign, no decimal
// point, no unit. The value must be at most rulebook.AmountRialMax (10^15), far above any cap; whether it is
// positive and under the cap is Validate's business.
//
// On failure it returns the 1-based character position in s of the fault (0 when about the whole value) and
// the reason, without the position: the reader says where in the line.
func parseAmount(s string) (v int64, pos int, reason string) {
	// Skip direction marks at either end, keeping the count to report positions in s as given.
	lead := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if !isDirectionMark(r) {
			break
		}
		s, lead = s[size:], lead+1
	}
	s = strings.TrimRightFunc(s, isDirectionMark)
	if s == "" {
		return 0, 0, "missing"
	}
	var (
		sep        rune // the separator in use, 0 until one is seen
		group      int  // digits in the current group
		groups     int  // groups closed by a separator
		firstDigit = -1 // value of the first digit
	)
	p := lead
	for i, r := range s {
		p++
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
				return 0, p, fmt.Sprintf("byte %#x is not UTF-8", s[i])
			}
		}
		if d := digitValue(r); d >= 0 {
			if firstDigit < 0 {
				firstDigit = d
			}
			v = v*10 + int64(d)
			if v > rulebook.AmountRialMax {
				return 0, p, "more than " + groupThousands(rulebook.AmountRialMax) + " rial, which no rail carries"
			}
			group++
			continue
		}
		switch {
		case isGroupSeparator(r):
			switch {
			case group == 0 && groups == 0:
				return 0, p, fmt.Sprintf("separator %s comes before any digit", quote(r))
			case group == 0:
				return 0, p, fmt.Sprintf("separator %s follows another separator", quote(r))
			case sep != 0 && r != sep:
				return 0, p, fmt.Sprintf("separator %s after %s: use one kind of thousands separator", quote(r), quote(sep))
			case groups == 0 && group > 3:
				return 0, p, fmt.Sprintf("%d digits before the first separator: digits group by three", group)
			case groups == 0 && firstDigit == 0:
				return 0, p, "a grouped amount must not start with 0"
			case groups > 0 && group != 3:
				return 0, p, fmt.Sprintf("a group of %d digits before separator %s: digits group by three", group, quote(r))
			}
			sep, group, groups = r, 0, groups+1
		case isDecimalMark(r):
			return 0, p, fmt.Sprintf("%s is a decimal point: amounts are whole rial", quote(r))
		case r == '+' || r == '-' || r == '\u2212':
			return 0, p, fmt.Sprintf("%s is a sign: amounts are written without one", quote(r))
		default:
			return 0, p, fmt.Sprintf("character %s is not a digit: write the amount alone, in rial", quote(r))
		}
	}
	if groups > 0 && group != 3 {
		if group == 0 {
			return 0, p, "ends with a separator"
		}
		return 0, p, fmt.Sprintf("the last group has %d digits: digits group by three", group)
	}
	return v, 0, ""
}

// quote writes r quoted, with its code point when it is not ASCII: "','", "'٬' (U+066C)".
func quote(r rune) string {
	if r < utf8.RuneSelf {
		return strconv.QuoteRune(r)
	}
	return fmt.Sprintf("%s (%U)", strconv.QuoteRune(r), r)
}
