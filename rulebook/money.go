package rulebook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Limits on figures.
const (
	// AmountRialMax bounds every amount a profile may carry: 10^15 rial
	// (100 trillion toman) is far above any single payment or daily limit,
	// and low enough that sums of thousands of such amounts stay inside an
	// int64 (about 9.2 × 10^18).
	AmountRialMax int64 = 1_000_000_000_000_000

	// ratePerPercent is how many millionths make one percent: a Rate has a
	// resolution of 0.0001 %, finer than any fee the CBI has set (0.01 %).
	ratePerPercent = 10_000
	// rateMax is 100 %: a fee above the whole amount is a configuration error.
	rateMax = 100 * ratePerPercent
	// rateOne is the denominator of a Rate: one million millionths.
	rateOne = 100 * ratePerPercent
	// rateFractionDigits is the number of decimals a percentage may have.
	rateFractionDigits = 4
	// rateTextMax bounds the text of a rate: "100.0000 %" is 10 bytes.
	rateTextMax = 16
)

// Limit is an upper bound on an amount, inclusive (≤) or exclusive (<):
// the PAYA per-entry cap was "under 150,000,000 rial" in the seed and
// "up to 1,000,000,000 rial" from 1400. It bounds from above only; whether
// an amount must be positive is the engine's business.
type Limit struct {
	AmountRial int64 `json:"amount_rial"`
	Inclusive  bool  `json:"inclusive"`
}

// Allows reports whether amount is within l.
func (l Limit) Allows(amount int64) bool {
	if l.Inclusive {
		return amount <= l.AmountRial
	}
	return amount < l.AmountRial
}

// String renders l for people: "< 150,000,000 rial", "≤ 1,000,000,000 rial".
func (l Limit) String() string {
	if l.Inclusive {
		return "≤ " + formatRial(l.AmountRial)
	}
	return "< " + formatRial(l.AmountRial)
}

// Rate is a proportion of an amount in millionths (parts per million):
// 0.02 % is Rate(200). Its text form is the percentage, "0.02".
type Rate int64

// ParseRate reads a percentage: "0.02", "0.02%" or "0.02 %", at most four
// decimals, between 0 and 100. Errors give the 1-based position of the
// first bad character.
func ParseRate(s string) (Rate, error) {
	fail := func(format string, args ...any) (Rate, error) {
		return 0, fmt.Errorf("rulebook: rate %q: %s: %w", s, fmt.Sprintf(format, args...), ErrInvalid)
	}
	if len(s) > rateTextMax {
		return fail("longer than %d bytes", rateTextMax)
	}
	t := strings.TrimSpace(s)
	t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
	offset := strings.Index(s, t) // position of t within s, for error positions
	if t == "" {
		return fail("empty")
	}
	var whole, frac int64
	fracDigits, wholeDigits, dot := 0, 0, false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '.' && !dot && wholeDigits > 0:
			dot = true
		case c >= '0' && c <= '9' && !dot:
			whole = whole*10 + int64(c-'0')
			wholeDigits++
			if whole > 100 {
				return fail("above 100 %%")
			}
		case c >= '0' && c <= '9' && fracDigits < rateFractionDigits:
			frac = frac*10 + int64(c-'0')
			fracDigits++
		case c >= '0' && c <= '9':
			return fail("more than %d decimals at position %d", rateFractionDigits, offset+i+1)
		default:
			return fail("bad character %q at position %d", c, offset+i+1)
		}
	}
	if dot && fracDigits == 0 {
		return fail("no digits after the point")
	}
	for ; fracDigits < rateFractionDigits; fracDigits++ {
		frac *= 10
	}
	r := Rate(whole*ratePerPercent + frac)
	if r > rateMax {
		return fail("above 100 %%")
	}
	return r, nil
}

// Percent formats r as a percentage without trailing zeros: "0.02", "1".
func (r Rate) Percent() string {
	whole, frac := int64(r)/ratePerPercent, int64(r)%ratePerPercent
	if frac == 0 {
		return strconv.FormatInt(whole, 10)
	}
	f := strings.TrimRight(fmt.Sprintf("%04d", frac), "0")
	return strconv.FormatInt(whole, 10) + "." + f
}

// String renders r for people: "0.02 %".
func (r Rate) String() string { return r.Percent() + " %" }

// MarshalText writes r as its percentage, "0.02".
func (r Rate) MarshalText() ([]byte, error) {
	if r < 0 || r > rateMax {
		return nil, fmt.Errorf("rulebook: rate %d millionths outside 0..100 %%: %w", int64(r), ErrInvalid)
	}
	return []byte(r.Percent()), nil
}

// UnmarshalText reads what ParseRate reads.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalJSON reads a percentage written as a JSON string ("0.02") or a
// JSON number (0.02), exactly, never through a float.
func (r *Rate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return r.UnmarshalText([]byte(s))
	}
	return r.UnmarshalText(b)
}

// Fee is a charge on an amount: a percentage, raised to a minimum and cut to
// a maximum (the WebMoney pattern, and how the CBI set SATNA and PAYA fees).
// A flat fee is a zero Percent with MinRial = MaxRial.
type Fee struct {
	Percent Rate  `json:"percent"`
	MinRial int64 `json:"min_rial"`
	// MaxRial caps the fee; 0 means no cap.
	MaxRial int64 `json:"max_rial"`
}

// For returns the fee on amount, in whole rial: amount × Percent rounded
// half up to the rial (0.5 rial becomes 1), then raised to MinRial and cut to
// MaxRial when MaxRial is set. The arithmetic is exact for every int64
// amount. It does not cap the fee at the amount: an engine that deducts a fee
// from a small amount must. f must be valid (Profile.Validate checks the fees of a profile) and amount
// not negative; anything else is a bug and panics.
func (f Fee) For(amount int64) int64 {
	if amount < 0 || f.Percent < 0 || f.Percent > rateMax {
		panic(fmt.Sprintf("rulebook: Fee.For(%d) with rate %d: a negative amount or a rate outside 0..100 %%", amount, f.Percent))
	}
	// amount < 2^63 and Percent ≤ 10^6 < 2^20, so the 128-bit product is
	// below 2^83 and its high word below 10^6: Div64 cannot overflow.
	hi, lo := bits.Mul64(uint64(amount), uint64(f.Percent))
	lo, carry := bits.Add64(lo, rateOne/2, 0)
	q, _ := bits.Div64(hi+carry, lo, rateOne)
	fee := int64(q)
	if fee < f.MinRial {
		fee = f.MinRial
	}
	if f.MaxRial > 0 && fee > f.MaxRial {
		fee = f.MaxRial
	}
	return fee
}

// IsFree reports whether f charges nothing on any amount.
func (f Fee) IsFree() bool { return f.Percent == 0 && f.MinRial == 0 }

// problem checks that f's rate is 0..100 %, its minimum and maximum within
// 0..AmountRialMax and, when a maximum is set, not below the minimum. It
// returns the JSON name of the first bad field and what is wrong, or "".
func (f Fee) problem() (field, msg string) {
	switch {
	case f.Percent < 0 || f.Percent > rateMax:
		return "percent", fmt.Sprintf("%d millionths outside 0..100 %%", int64(f.Percent))
	case f.MinRial < 0 || f.MinRial > AmountRialMax:
		return "min_rial", fmt.Sprintf("%d outside 0..%d", f.MinRial, AmountRialMax)
	case f.MaxRial < 0 || f.MaxRial > AmountRialMax:
		return "max_rial", fmt.Sprintf("%d outside 0..%d", f.MaxRial, AmountRialMax)
	case f.MaxRial > 0 && f.MaxRial < f.MinRial:
		return "max_rial", fmt.Sprintf("%d below min_rial %d", f.MaxRial, f.MinRial)
	}
	return "", ""
}

// String renders f for people: "none", "flat 50,000 rial",
// "0.01 %, min 2,000 rial, max 25,000 rial".
func (f Fee) String() string {
	switch {
	case f.IsFree():
		return "none"
	case f.Percent == 0 && (f.MaxRial == 0 || f.MaxRial == f.MinRial):
		return "flat " + formatRial(f.MinRial)
	}
	s := f.Percent.String()
	if f.MinRial > 0 {
		s += ", min " + formatRial(f.MinRial)
	}
	if f.MaxRial > 0 {
		s += ", max " + formatRial(f.MaxRial)
	}
	return s
}

// formatRial groups the digits of n by thousands: "150,000,000 rial".
func formatRial(n int64) string {
	return groupThousands(n) + " rial"
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
