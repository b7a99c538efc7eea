package sim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/sim"
)

func TestSecretsVerify(t *testing.T) {
	cs := book(t, bank(t, "054"), 1, 50)
	otherKey := []byte(strings.Repeat("x", sim.KeyBytesMax))
	for _, c := range cs {
		for _, k := range c.Cards {
			s := k.Secrets(testKey)
			if len(s.CVV2HMAC) != 64 || len(s.PIN2HMAC) != 64 {
				t.Fatalf("secrets of %s are %d and %d hex digits, want 64", k.PAN[:6], len(s.CVV2HMAC), len(s.PIN2HMAC))
			}
			if !sim.CheckCVV2(testKey, k.PAN, k.CVV2, s.CVV2HMAC) || !sim.CheckPIN2(testKey, k.PAN, k.PIN2, s.PIN2HMAC) {
				t.Fatalf("card %s: its own CVV2 or PIN2 does not verify", k.PAN[:6])
			}
			// Every other CVV2 fails: the 999 wrong ones a guesser would try.
			for v := range 1000 {
				guess := threeDigits(v)
				if guess != k.CVV2 && sim.CheckCVV2(testKey, k.PAN, guess, s.CVV2HMAC) {
					t.Fatalf("card %s: wrong CVV2 %s verifies", k.PAN[:6], guess)
				}
			}
			if sim.CheckPIN2(testKey, k.PAN, k.PIN2+"0", s.PIN2HMAC) {
				t.Fatalf("card %s: a longer PIN2 verifies", k.PAN[:6])
			}
			if sim.CheckCVV2(otherKey, k.PAN, k.CVV2, s.CVV2HMAC) {
				t.Fatalf("card %s: CVV2 verifies under another key", k.PAN[:6])
			}
			o := k.Secrets(otherKey)
			if o.CVV2HMAC == s.CVV2HMAC || o.PIN2HMAC == s.PIN2HMAC {
				t.Fatalf("card %s: another key gives the same secrets", k.PAN[:6])
			}
			// A keyless hash of the value, or of PAN and value, is not what is stored.
			for _, plain := range []string{k.CVV2, k.PAN + k.CVV2, k.CVV2 + k.PAN} {
				sum := sha256.Sum256([]byte(plain))
				if hex.EncodeToString(sum[:]) == s.CVV2HMAC {
					t.Fatalf("card %s: CVV2 stored as a plain SHA-256", k.PAN[:6])
				}
			}
			if again := k.Secrets(testKey); again != s {
				t.Fatalf("card %s: secrets differ between two calls", k.PAN[:6])
			}
		}
	}
}

func threeDigits(v int) string {
	return string([]byte{byte('0' + v/100), byte('0' + v/10%10), byte('0' + v%10)})
}

// TestSecretsSeparated checks the MAC binds the card: the same CVV2 on two cards gives unrelated MACs, and
// one does not verify in the other's place. (That it binds the field too is TestMACFields, inside.)
func TestSecretsSeparated(t *testing.T) {
	a := sim.Card{PAN: "6037990000000014", CVV2: "123", PIN2: "12345"}
	b := sim.Card{PAN: "6037990000000022", CVV2: "123", PIN2: "12345"}
	sa, sb := a.Secrets(testKey), b.Secrets(testKey)
	if sa.CVV2HMAC == sb.CVV2HMAC {
		t.Error("the same CVV2 on two cards gives the same MAC")
	}
	if sim.CheckCVV2(testKey, b.PAN, "123", sa.CVV2HMAC) {
		t.Error("one card's CVV2 MAC verifies for another card")
	}
}

func TestCheckMalformed(t *testing.T) {
	k := sim.Card{PAN: "6037990000000014", CVV2: "123", PIN2: "123456"}
	s := k.Secrets(testKey)
	tests := []struct {
		name string
		got  bool
	}{
		{"cvv2 two digits", sim.CheckCVV2(testKey, k.PAN, "12", s.CVV2HMAC)},
		{"cvv2 four digits", sim.CheckCVV2(testKey, k.PAN, "1234", s.CVV2HMAC)},
		{"cvv2 letters", sim.CheckCVV2(testKey, k.PAN, "12a", s.CVV2HMAC)},
		{"cvv2 Persian digits", sim.CheckCVV2(testKey, k.PAN, "۱۲۳", s.CVV2HMAC)},
		{"short pan", sim.CheckCVV2(testKey, k.PAN[:15], "123", s.CVV2HMAC)},
		{"empty stored", sim.CheckCVV2(testKey, k.PAN, "123", "")},
		{"upper-case stored", sim.CheckCVV2(testKey, k.PAN, "123", strings.ToUpper(s.CVV2HMAC))},
		{"pin2 four digits", sim.CheckPIN2(testKey, k.PAN, "1234", s.PIN2HMAC)},
		{"pin2 thirteen digits", sim.CheckPIN2(testKey, k.PAN, "1234567890123", s.PIN2HMAC)},
		{"pin2 with a space", sim.CheckPIN2(testKey, k.PAN, "123 456", s.PIN2HMAC)},
	}
	for _, tc := range tests {
		if tc.got {
			t.Errorf("%s: verified, want false", tc.name)
		}
	}
	if !sim.CheckPIN2(testKey, k.PAN, "123456", s.PIN2HMAC) {
		t.Error("the right PIN2 does not verify")
	}
}

func TestSecretsKeyLength(t *testing.T) {
	k := sim.Card{PAN: "6037990000000014", CVV2: "123", PIN2: "123456"}
	for _, n := range []int{0, sim.KeyBytesMin - 1, sim.KeyBytesMax + 1} {
		for name, f := range map[string]func(){
			"Secrets":   func() { k.Secrets(make([]byte, n)) },
			"CheckCVV2": func() { sim.CheckCVV2(make([]byte, n), k.PAN, "123", "") },
			"CheckPIN2": func() { sim.CheckPIN2(make([]byte, n), k.PAN, "123456", "") },
		} {
			if !panics(f) {
				t.Errorf("%s with a %d-byte key did not panic", name, n)
			}
		}
	}
	if !panics(func() { sim.Card{PAN: k.PAN, CVV2: "12", PIN2: "123456"}.Secrets(testKey) }) {
		t.Error("Secrets of a card with a 2-digit CVV2 did not panic")
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}
