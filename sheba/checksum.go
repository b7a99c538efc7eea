package sheba

import "strconv"

// Shape of an IBAN of any country (ISO 13616-1).
const (
	ibanLenMin = 5  // country code (2) + check digits (2) + a BBAN of at least 1 character
	ibanLenMax = 34 // the longest IBAN the standard allows
	checkMin   = 2  // check digits run 02–98: 98 − (n mod 97) can never give 00, 01 or 99
	checkMax   = 98
)

// Checksum reports whether iban, in electronic form (upper-case ASCII
// letters and digits, no spaces), has the shape of an IBAN of any country
// and passes its ISO 7064 MOD 97-10 check: 5 to 34 characters, two letters,
// check digits 02–98, then letters and digits; moved so the first four come
// last, with letters as numbers A=10 … Z=35, it leaves 1 mod 97. It knows no
// country's length or BBAN layout; [Parse] adds those for Iran.
func Checksum(iban string) bool {
	if len(iban) < ibanLenMin || len(iban) > ibanLenMax {
		return false
	}
	for i := 0; i < len(iban); i++ {
		c := iban[i]
		letter := c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		switch {
		case i < 2 && !letter, i >= 2 && i < 4 && !digit, !letter && !digit:
			return false
		}
	}
	d := int(iban[2]-'0')*10 + int(iban[3]-'0')
	return d >= checkMin && d <= checkMax && mod97(iban) == 1
}

// mod97 returns the ISO 7064 MOD 97-10 remainder of an IBAN made only of
// digits and upper-case letters: the characters after the fourth, then the
// first four, letters counting as two digits (A=10 … Z=35).
//
// Rather than divide once per digit, it gathers up to 16 digits in a uint64
// before reducing: the remainder kept (< 97) followed by at most 17 more
// digits (16, then a letter's two) is below 10^19, inside a uint64.
func mod97[T ~string | ~[]byte](s T) int {
	var acc uint64
	pending := 0 // digits gathered since the last reduction
	for i := 4; i < len(s); i++ {
		acc, pending = mod97Add(acc, pending, s[i])
	}
	for i := 0; i < 4 && i < len(s); i++ {
		acc, pending = mod97Add(acc, pending, s[i])
	}
	return int(acc % 97)
}

// mod97Add appends character c to the running number of mod97.
func mod97Add(acc uint64, pending int, c byte) (uint64, int) {
	if c >= 'A' {
		acc = acc*100 + uint64(c-'A'+10)
		pending += 2
	} else {
		acc = acc*10 + uint64(c-'0')
		pending++
	}
	if pending >= 16 {
		return acc % 97, 0
	}
	return acc, pending
}

// Generate makes the SHEBA of an account: bankCode is the 3-digit CBI code,
// accountType the digit 0–3, account up to 18 digits, left-padded with
// zeros. The check digits are 98 − (n mod 97), n being the number with "00"
// in their place. Generate does not ask whether the bank exists: it can
// make the CBI's worked example with code 296. An error is an *Error whose
// position is where the fault would sit in the SHEBA.
func Generate(bankCode string, accountType int, account string) (SHEBA, error) {
	if len(bankCode) != posType-posBank {
		return SHEBA{}, &Error{Code: CodeLength, Message: "bank code " + strconv.Quote(bankCode) + " must be 3 digits"}
	}
	if accountType < 0 || accountType > 3 {
		return SHEBA{}, &Error{Code: CodeAccountType, Position: posType,
			Message: "account type " + strconv.Itoa(accountType) + " must be 0, 1, 2 or 3"}
	}
	if account == "" || len(account) > accountLen {
		return SHEBA{}, &Error{Code: CodeLength,
			Message: "account number has " + strconv.Itoa(len(account)) + " characters, want 1 to 18 digits"}
	}
	var b [length]byte
	copy(b[:], "IR00")
	copy(b[posBank-1:], bankCode)
	b[posType-1] = byte('0' + accountType)
	pad := accountLen - len(account)
	for i := 0; i < pad; i++ {
		b[posAccount-1+i] = '0'
	}
	copy(b[posAccount-1+pad:], account)
	if k := firstNonDigit(bankCode); k >= 0 {
		return SHEBA{}, &Error{Code: CodeCharacter, Position: posBank + k,
			Message: "bank code " + strconv.Quote(bankCode) + " must be ASCII digits"}
	}
	if k := firstNonDigit(account); k >= 0 {
		return SHEBA{}, &Error{Code: CodeCharacter, Position: posAccount + pad + k,
			Message: "account number " + strconv.Quote(account) + " must be ASCII digits"}
	}
	check := 98 - mod97(b[:])
	b[2], b[3] = byte('0'+check/10), byte('0'+check%10)
	return SHEBA{s: string(b[:])}, nil
}

// firstNonDigit returns the index of the first byte of s that is not an
// ASCII digit, or -1.
func firstNonDigit(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}
