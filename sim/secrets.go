package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// CardSecrets is what a book stores of a card's CVV2 and second PIN: HMAC-SHA256 under the server key, in
// lower-case hex. Without the key, the 1,000 possible CVV2s of a card cannot be tried against it, and the
// same CVV2 on two cards gives two unrelated values, because the PAN is in the message.
type CardSecrets struct {
	CVV2HMAC string // 64 hex digits
	PIN2HMAC string // 64 hex digits
}

// The fields, as they start each MAC's message. A MAC of one field can never be taken for the other's.
const (
	fieldCVV2 = "tasvieh/sim/cvv2"
	fieldPIN2 = "tasvieh/sim/pin2"
)

// Secrets returns what the book stores for c under key. It panics if key is not KeyBytesMin–KeyBytesMax
// bytes or c's PAN, CVV2 or PIN2 is malformed: Config.Validate checks the key and Book makes cards, so either
// is a bug in the caller.
func (c Card) Secrets(key []byte) CardSecrets {
	mustKey(key)
	if !digits(c.PAN, 16, 16) || !digits(c.CVV2, cvv2Digits, cvv2Digits) || !digits(c.PIN2, PIN2DigitsMin, PIN2DigitsMax) {
		panic("sim: secrets of malformed card " + maskPAN(c.PAN))
	}
	return CardSecrets{CVV2HMAC: mac(key, fieldCVV2, c.PAN, c.CVV2), PIN2HMAC: mac(key, fieldPIN2, c.PAN, c.PIN2)}
}

// CheckCVV2 reports whether cvv2, as a cardholder typed it for the card pan, matches stored, the card's
// CardSecrets.CVV2HMAC under key. The comparison takes the same time wherever the values differ. A cvv2 that
// is not 3 ASCII digits, or a pan that is not 16, is false without computing anything. It panics on a key
// of the wrong length, as Secrets does.
func CheckCVV2(key []byte, pan, cvv2, stored string) bool {
	mustKey(key)
	if !digits(pan, 16, 16) || !digits(cvv2, cvv2Digits, cvv2Digits) {
		return false
	}
	return hmac.Equal([]byte(mac(key, fieldCVV2, pan, cvv2)), []byte(stored))
}

// CheckPIN2 reports whether pin2 matches stored, the card's CardSecrets.PIN2HMAC, as CheckCVV2 does; a pin2
// that is not PIN2DigitsMin–PIN2DigitsMax ASCII digits is false.
func CheckPIN2(key []byte, pan, pin2, stored string) bool {
	mustKey(key)
	if !digits(pan, 16, 16) || !digits(pin2, PIN2DigitsMin, PIN2DigitsMax) {
		return false
	}
	return hmac.Equal([]byte(mac(key, fieldPIN2, pan, pin2)), []byte(stored))
}

// mac is HMAC-SHA256 under key of field, NUL, pan, NUL, value, in hex. The NULs make the message
// unambiguous: none of the three parts can hold one.
func mac(key []byte, field, pan, value string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(field))
	h.Write([]byte{0})
	h.Write([]byte(pan))
	h.Write([]byte{0})
	h.Write([]byte(value))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

func mustKey(key []byte) {
	if len(key) < KeyBytesMin || len(key) > KeyBytesMax {
		panic("sim: server key is " + strconv.Itoa(len(key)) + " bytes, want " +
			strconv.Itoa(KeyBytesMin) + "–" + strconv.Itoa(KeyBytesMax))
	}
}

// digits reports whether s is lo to hi ASCII digits.
func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
