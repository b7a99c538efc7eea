package card

import (
	"strconv"
	"unicode/utf8"
)

// Shape of a card number (DOMAIN.md §2).
const (
	panDigits  = 16 // every Shetab card number
	binDigits  = 6  // the BIN: first 6 digits, naming the issuer
	lastShown  = 4  // digits Masked leaves visible at the end
	serialMax  = 999_999_999
	serialLen  = panDigits - binDigits - 1 // digits between the BIN and the check digit
	posZeroA   = 2                         // first digit of the segment 2–11
	posZeroB   = 11                        // first digit of the segment 11–16
	posCheck   = panDigits                 // the Luhn check digit
	segmentEnd = 11                        // last digit of the segment 2–11

	// inputBytesMax bounds what is scanned. 16 Persian digits take 2 bytes
	// each, with at most a 3-byte separator (ZWNJ) between every two:
	// 16*2 + 15*3 = 77 bytes; 256 is generous. A longer input is a length
	// error, reported without scanning it.
	inputBytesMax = 256
)

// Code is the reason a card number is rejected: a stable string, safe to
// show in an API. A Code is also an error, so errors.Is(err, CodeLuhn)
// tells whether err is an *Error with that code.
type Code string

// The codes, in the order they are checked (see the package documentation).
const (
	CodeCharacter   Code = "character"    // a character that cannot be in a card number
	CodeLength      Code = "length"       // not 16 digits
	CodeLuhn        Code = "luhn"         // the Luhn check digit is wrong
	CodeZeroSegment Code = "zero_segment" // digits 2–11 or 11–16 are all zero
	CodeUnknownBIN  Code = "unknown_bin"  // the BIN names no bank
)

// Error returns the code itself, so that a Code can be a target of errors.Is.
func (c Code) Error() string { return string(c) }

// Error is a rejected card number: why, and where. Its message never
// repeats the card number.
type Error struct {
	Code     Code
	Position int    // 1-based character position in the input as given; 0 when it is about the whole
	Message  string // lower case, for people
}

func (e *Error) Error() string { return "card: " + e.Message }

// Unwrap returns e.Code, for errors.Is.
func (e *Error) Unwrap() error { return e.Code }

// Directory tells which bank a BIN routes to. banks.Registry implements it.
type Directory interface {
	// LookupBIN returns the code and name of the bank that handles cards
	// with this 6-digit BIN today: the issuer, or its successor if the
	// issuer was merged or dissolved.
	LookupBIN(bin string) (code, name string, ok bool)
}

// Bank is the bank a card routes to, as a Directory names it.
type Bank struct {
	Code string // CBI code, e.g. "015"
	Name string // e.g. "Sepah"
}

// PAN is a checked card number: 16 ASCII digits. The zero value is no
// card; make one with [Parse] or [Generate].
type PAN struct{ s string }

// String returns the 16 digits.
func (p PAN) String() string { return p.s }

// IsZero reports whether p is the zero value.
func (p PAN) IsZero() bool { return p.s == "" }

// BIN returns the first 6 digits, which name the issuing bank.
func (p PAN) BIN() string {
	if p.s == "" {
		return ""
	}
	return p.s[:binDigits]
}

// Masked returns the number with its middle hidden, "603799******1234":
// the BIN and the last four digits, the most a receipt or log may show.
func (p PAN) Masked() string {
	if p.s == "" {
		return ""
	}
	var b [panDigits]byte
	copy(b[:], p.s)
	for i := binDigits; i < panDigits-lastShown; i++ {
		b[i] = '*'
	}
	return string(b[:])
}

// Parse checks s and returns the card number and the bank it routes to.
// With a nil dir the BIN is not looked up and Bank is zero. The error, if
// any, is an *Error.
func Parse(s string, dir Directory) (PAN, Bank, error) {
	var buf [panDigits]byte
	if len(s) > inputBytesMax {
		return PAN{}, Bank{}, &Error{Code: CodeLength, Message: "card number input is " +
			strconv.Itoa(len(s)) + " bytes long, far more than 16 digits can take"}
	}
	n, err := normalize(s, &buf)
	if err != nil {
		return PAN{}, Bank{}, err
	}
	if n != panDigits {
		return PAN{}, Bank{}, &Error{Code: CodeLength,
			Message: "card number has " + strconv.Itoa(n) + " digits, want 16"}
	}
	if luhnSum(buf[:]) != 0 {
		p := origPos(s, posCheck-1)
		return PAN{}, Bank{}, &Error{Code: CodeLuhn, Position: p,
			Message: "check digit at position " + strconv.Itoa(p) + " does not match the card number (luhn)"}
	}
	if k := zeroSegment(&buf); k > 0 {
		p := origPos(s, k-1)
		what := "digits 2 to 11"
		if k == posZeroB {
			what = "digits 11 to 16"
		}
		return PAN{}, Bank{}, &Error{Code: CodeZeroSegment, Position: p,
			Message: what + " are all zero, from position " + strconv.Itoa(p)}
	}
	digits := s
	if s != string(buf[:]) { // compared without allocating
		digits = string(buf[:])
	}
	var bank Bank
	if dir != nil {
		code, name, ok := dir.LookupBIN(digits[:binDigits])
		if !ok {
			p := origPos(s, 0)
			return PAN{}, Bank{}, &Error{Code: CodeUnknownBIN, Position: p,
				Message: "bin " + string(buf[:binDigits]) + " at position " + strconv.Itoa(p) + " names no bank"}
		}
		bank = Bank{Code: code, Name: name}
	}
	return PAN{s: digits}, bank, nil
}

// Generate makes a valid card number for a test card: the BIN, the serial
// as 9 digits with leading zeros, and the Luhn check digit. A serial whose
// number would have an all-zero segment is refused with CodeZeroSegment,
// like [Parse] would refuse it; pick another serial. Generate does not ask
// whether the BIN exists.
func Generate(bin string, serial uint64) (PAN, error) {
	if len(bin) != binDigits {
		return PAN{}, &Error{Code: CodeLength, Message: "bin " + strconv.Quote(bin) + " must be 6 digits"}
	}
	for i := 0; i < binDigits; i++ {
		if bin[i] < '0' || bin[i] > '9' {
			return PAN{}, &Error{Code: CodeCharacter, Position: i + 1,
				Message: "bin " + strconv.Quote(bin) + " must be ASCII digits"}
		}
	}
	if serial > serialMax {
		return PAN{}, &Error{Code: CodeLength,
			Message: "serial " + strconv.FormatUint(serial, 10) + " has more than 9 digits"}
	}
	var b [panDigits]byte
	copy(b[:], bin)
	for i := binDigits + serialLen - 1; i >= binDigits; i-- {
		b[i] = byte('0' + serial%10)
		serial /= 10
	}
	b[posCheck-1] = '0'
	if sum := luhnSum(b[:]); sum != 0 {
		b[posCheck-1] = byte('0' + 10 - sum)
	}
	if k := zeroSegment(&b); k > 0 {
		return PAN{}, &Error{Code: CodeZeroSegment, Position: k,
			Message: "the card number would have an all-zero segment from position " + strconv.Itoa(k)}
	}
	return PAN{s: string(b[:])}, nil
}

// luhnSum returns the Luhn sum of the digits mod 10: 0 for a valid number.
// From the right, every second digit, starting with the one left of the
// check digit, is doubled, and 9 taken off when that passes 9.
func luhnSum(d []byte) int {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum % 10
}

// zeroSegment returns posZeroA or posZeroB if that segment is all zeros,
// else 0.
func zeroSegment(b *[panDigits]byte) int {
	if allZero(b[posZeroA-1 : segmentEnd]) {
		return posZeroA
	}
	if allZero(b[posZeroB-1:]) {
		return posZeroB
	}
	return 0
}

func allZero(d []byte) bool {
	for _, c := range d {
		if c != '0' {
			return false
		}
	}
	return true
}

// Kinds of input character, as normalising sees them.
const (
	kindKeep = iota // a digit, possibly mapped
	kindSkip        // a separator, dropped
	kindBad         // not allowed
)

// classify reads the character at byte i of s: its kind, the ASCII digit
// for kindKeep, and its width in bytes.
func classify(s string, i int) (kind int, out byte, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		switch {
		case c >= '0' && c <= '9':
			return kindKeep, c, 1
		case c == ' ' || c == '\t' || c == '-':
			return kindSkip, 0, 1
		}
		return kindBad, 0, 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == '\u00a0' || r == '\u200c' || r == '\u200e' || r == '\u200f':
		return kindSkip, 0, size
	case r >= '۰' && r <= '۹': // U+06F0–U+06F9, Persian
		return kindKeep, byte('0' + r - '۰'), size
	case r >= '٠' && r <= '٩': // U+0660–U+0669, Arabic-Indic
		return kindKeep, byte('0' + r - '٠'), size
	}
	return kindBad, 0, size
}

// normalize writes the digits of s into buf and returns how many there
// are; those past len(buf) are counted, not stored. The first character
// that is not allowed is returned as an *Error.
func normalize(s string, buf *[panDigits]byte) (int, *Error) {
	n, pos := 0, 0
	for i := 0; i < len(s); {
		pos++
		if c := s[i]; c >= '0' && c <= '9' { // the canonical case, inline
			if n < panDigits {
				buf[n] = c
			}
			n++
			i++
			continue
		}
		kind, out, size := classify(s, i)
		switch kind {
		case kindBad:
			r, _ := utf8.DecodeRuneInString(s[i:])
			what := "character " + strconv.QuoteRune(r)
			if r == utf8.RuneError && size == 1 {
				what = "byte 0x" + strconv.FormatUint(uint64(s[i]), 16) + " (not valid UTF-8)"
			}
			return n, &Error{Code: CodeCharacter, Position: pos,
				Message: what + " at position " + strconv.Itoa(pos) + " cannot be in a card number"}
		case kindKeep:
			if n < panDigits {
				buf[n] = out
			}
			n++
		}
		i += size
	}
	return n, nil
}

// origPos returns the 1-based character position in s of the digit with
// index k (0-based) of the normalised number. Only errors call it.
func origPos(s string, k int) int {
	pos := 0
	for i := 0; i < len(s); {
		pos++
		kind, _, size := classify(s, i)
		if kind == kindKeep {
			if k == 0 {
				return pos
			}
			k--
		}
		i += size
	}
	panic("card: origPos past the end of the input") // callers pass k < 16 kept digits
}
