package sheba

import (
	"strconv"
	"unicode/utf8"
)

// Shape of a SHEBA (DOMAIN.md §2, ISO 13616): positions are 1-based.
const (
	length      = 26 // "IR" + 2 check digits + 22-digit BBAN
	posCheck    = 3  // first check digit
	posBank     = 5  // first digit of the 3-digit CBI bank code
	posType     = 8  // the account-type digit after the bank code
	posAccount  = 9  // first digit of the 18-digit account number
	accountLen  = 18 // digits of the account number, left-padded with zeros
	accountType = 3  // highest account-type digit: 0–3 per the seed document

	// inputBytesMax bounds what is scanned. 26 characters that are each at
	// most 2 bytes (Persian digits), with a 3-byte separator (ZWNJ) between
	// every two, take 26*2 + 25*3 = 127 bytes; twice that is generous. A
	// longer input is a length error, reported without scanning it.
	inputBytesMax = 256
)

// Code is the reason a SHEBA is rejected. Codes are stable strings, safe to
// show in an API. A Code is also an error, so errors.Is(err, CodeChecksum)
// tells whether err is an *Error with that code.
type Code string

// The codes, in the order they are checked (see the package documentation).
const (
	CodeCharacter    Code = "character"     // a character that cannot be in a SHEBA
	CodeLength       Code = "length"        // not 26 characters after normalising
	CodeCountry      Code = "country"       // does not start with "IR"
	CodeChecksum     Code = "checksum"      // ISO 7064 MOD 97-10 check fails
	CodeUnknownBank  Code = "unknown_bank"  // the bank code names no bank
	CodeInactiveBank Code = "inactive_bank" // the bank was merged or dissolved
	CodeAccountType  Code = "account_type"  // the digit after the bank code is not 0–3
)

// Error returns the code itself, so that a Code can be a target of errors.Is.
func (c Code) Error() string { return string(c) }

// Error is a rejected SHEBA: why, and where. The package may hand the same
// *Error to several callers (that is how a checksum failure allocates
// nothing), so treat it as read-only.
type Error struct {
	Code     Code
	Position int    // 1-based character position in the input as given; 0 when it is about the whole
	Message  string // lower case, for people, e.g. "bank code 296 at position 5 names no bank"
}

func (e *Error) Error() string { return "sheba: " + e.Message }

// Unwrap returns e.Code, for errors.Is.
func (e *Error) Unwrap() error { return e.Code }

// Directory tells what the bank code of a SHEBA names. banks.Registry
// implements it.
type Directory interface {
	// LookupSHEBA reports whether code (3 digits) names a bank, whether
	// that bank is still active (neither merged nor dissolved), and, when
	// it is not, a label for the bank that took over its accounts, such as
	// "015 Sepah".
	LookupSHEBA(code string) (found, active bool, successor string)
}

// SHEBA is a checked SHEBA number in canonical form: 26 characters, "IR"
// and 24 ASCII digits. The zero value is no SHEBA; make one with [Parse] or
// [Generate].
type SHEBA struct{ s string }

// String returns the canonical form, e.g. "IR820540102680020817909002".
func (x SHEBA) String() string { return x.s }

// IsZero reports whether x is the zero value.
func (x SHEBA) IsZero() bool { return x.s == "" }

// BankCode returns the 3-digit CBI bank code (positions 5–7), e.g. "054".
func (x SHEBA) BankCode() string {
	if x.s == "" {
		return ""
	}
	return x.s[posBank-1 : posType-1]
}

// AccountType returns the account-type digit (position 8), 0–3, or -1 for
// the zero SHEBA.
func (x SHEBA) AccountType() int {
	if x.s == "" {
		return -1
	}
	return int(x.s[posType-1] - '0')
}

// Account returns the 18-digit account number (positions 9–26), with its
// leading zeros.
func (x SHEBA) Account() string {
	if x.s == "" {
		return ""
	}
	return x.s[posAccount-1:]
}

// Parse checks s and returns it as a SHEBA. dir may be nil, which skips the
// bank checks. The error, if any, is an *Error.
func Parse(s string, dir Directory) (SHEBA, error) {
	buf, err := check(s, dir)
	if err != nil {
		return SHEBA{}, err
	}
	if s == string(buf[:]) { // compared without allocating
		return SHEBA{s: s}, nil
	}
	return SHEBA{s: string(buf[:])}, nil
}

// Validate checks s as Parse does, without keeping the result. It returns
// nil or an *Error. A canonical input allocates nothing.
func Validate(s string, dir Directory) error {
	if _, err := check(s, dir); err != nil {
		return err
	}
	return nil
}

// check runs every check in order and returns the canonical characters.
// The result is a *Error, not error, so that callers decide when to box it;
// a nil *Error must never be returned as an error.
func check(s string, dir Directory) ([length]byte, *Error) {
	var buf [length]byte
	if len(s) > inputBytesMax {
		return buf, &Error{Code: CodeLength, Message: "sheba input is " + strconv.Itoa(len(s)) +
			" bytes long, far more than a 26-character sheba can take"}
	}
	n, bad := normalize(s, &buf)
	if bad != nil {
		return buf, bad
	}
	if n != length {
		msg := "sheba has " + strconv.Itoa(n) + " characters, want 26"
		if n == length-2 && buf[0] >= '0' && buf[0] <= '9' {
			msg += `: did you leave out "IR"?`
		}
		return buf, &Error{Code: CodeLength, Message: msg}
	}
	if buf[0] != 'I' || buf[1] != 'R' {
		k := 0
		if buf[0] == 'I' {
			k = 1
		}
		p, _ := origPos(s, k)
		return buf, &Error{Code: CodeCountry, Position: p,
			Message: `sheba must start with "IR", got "` + string(buf[:2]) + `" (position ` + strconv.Itoa(p) + ` is wrong)`}
	}
	for k := 2; k < length; k++ {
		if c := buf[k]; c < '0' || c > '9' {
			// Only ASCII letters survive normalising besides digits, so the
			// character as typed is the one byte at its offset.
			p, off := origPos(s, k)
			return buf, &Error{Code: CodeCharacter, Position: p,
				Message: "character " + strconv.Quote(s[off:off+1]) + " at position " + strconv.Itoa(p) + " must be a digit"}
		}
	}
	if !checkDigitsOK(buf[:]) {
		p, _ := origPos(s, posCheck-1)
		if p == posCheck {
			return buf, errChecksum
		}
		return buf, &Error{Code: CodeChecksum, Position: p, Message: checksumMessage(p)}
	}
	code := bankCode(&buf)
	if dir != nil {
		found, active, successor := dir.LookupSHEBA(code)
		if !found {
			p, _ := origPos(s, posBank-1)
			return buf, &Error{Code: CodeUnknownBank, Position: p,
				Message: "bank code " + code + " at position " + strconv.Itoa(p) + " names no bank"}
		}
		if !active {
			p, _ := origPos(s, posBank-1)
			msg := "bank " + code + " at position " + strconv.Itoa(p) + " is no longer active"
			if successor != "" {
				msg += "; its accounts are now with " + successor
			}
			return buf, &Error{Code: CodeInactiveBank, Position: p, Message: msg}
		}
	}
	if t := buf[posType-1]; t > '0'+accountType {
		p, _ := origPos(s, posType-1)
		return buf, &Error{Code: CodeAccountType, Position: p,
			Message: "account type " + string(rune(t)) + " at position " + strconv.Itoa(p) + " must be 0, 1, 2 or 3"}
	}
	return buf, nil
}

// errChecksum is the checksum error for the common case of check digits at
// position 3, shared so that rejecting a canonical input allocates nothing.
// Callers must not modify it.
var errChecksum = &Error{Code: CodeChecksum, Position: posCheck, Message: checksumMessage(posCheck)}

func checksumMessage(p int) string {
	return "check digits at position " + strconv.Itoa(p) + " do not match the rest of the sheba"
}

// checkDigitsOK applies ISO 13616 to a canonical SHEBA: check digits 02–98
// and the MOD 97-10 remainder 1.
func checkDigitsOK(b []byte) bool {
	d := int(b[2]-'0')*10 + int(b[3]-'0')
	return d >= checkMin && d <= checkMax && mod97(b) == 1
}

// codes3 holds "000001…999", so that the bank code of a normalised SHEBA
// can be handed to a Directory as a string without allocating.
var codes3 = func() string {
	b := make([]byte, 0, 3000)
	for i := 0; i < 1000; i++ {
		b = append(b, byte('0'+i/100), byte('0'+i/10%10), byte('0'+i%10))
	}
	return string(b)
}()

// bankCode returns positions 5–7 of a canonical SHEBA as a string.
func bankCode(b *[length]byte) string {
	n := int(b[4]-'0')*100 + int(b[5]-'0')*10 + int(b[6]-'0')
	return codes3[3*n : 3*n+3]
}

// Kinds of input character, as normalising sees them.
const (
	kindKeep = iota // a character of the SHEBA, possibly mapped
	kindSkip        // a separator, dropped
	kindBad         // not allowed
)

// classify reads the character at byte i of s. It returns its kind, the
// canonical byte for kindKeep, and its width in bytes.
func classify(s string, i int) (kind int, out byte, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		switch {
		case c == ' ' || c == '\t':
			return kindSkip, 0, 1
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			return kindKeep, c, 1
		case c >= 'a' && c <= 'z':
			return kindKeep, c - 'a' + 'A', 1
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

// normalize writes the canonical characters of s into buf and returns how
// many there are; those past len(buf) are counted, not stored. The first
// character that is not allowed is returned as an *Error.
func normalize(s string, buf *[length]byte) (n int, bad *Error) {
	pos := 0
	for i := 0; i < len(s); {
		pos++
		if c := s[i]; c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' { // the canonical case, inline
			if n < length {
				buf[n] = c
			}
			n++
			i++
			continue
		}
		kind, out, size := classify(s, i)
		switch kind {
		case kindBad:
			return n, badCharacter(s[i:i+size], pos)
		case kindKeep:
			if n < length {
				buf[n] = out
			}
			n++
		}
		i += size
	}
	return n, nil
}

// badCharacter describes the disallowed character ch at position pos.
func badCharacter(ch string, pos int) *Error {
	r, _ := utf8.DecodeRuneInString(ch)
	var what string
	if r == utf8.RuneError && len(ch) == 1 {
		what = "byte 0x" + strconv.FormatUint(uint64(ch[0]), 16) + " (not valid UTF-8)"
	} else {
		what = "character " + strconv.QuoteRune(r)
	}
	return &Error{Code: CodeCharacter, Position: pos,
		Message: what + " at position " + strconv.Itoa(pos) + " cannot be in a sheba"}
}

// origPos returns the 1-based character position in s, and the byte
// offset, of the kept character with index k (0-based) of the canonical
// form. Only errors call it, so it rescans rather than making every check
// keep a map.
func origPos(s string, k int) (pos, offset int) {
	for i := 0; i < len(s); {
		pos++
		kind, _, size := classify(s, i)
		if kind == kindKeep {
			if k == 0 {
				return pos, i
			}
			k--
		}
		i += size
	}
	panic("sheba: origPos past the end of the input") // callers pass k < 26 kept characters
}
