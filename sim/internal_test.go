package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/ledger"
)

// TestPermutationModuli checks what the uniqueness of account numbers and PANs rests on: both moduli are
// prime, cover every index Book can ask for, and keep the numbers in their fields.
func TestPermutationModuli(t *testing.T) {
	tests := []struct {
		name    string
		prime   uint64
		indices uint64 // how many distinct inputs the permutation must take
		max     uint64 // the largest value its field can hold
	}{
		{"account", accountPrime, CustomersMax, 99_999_999},
		{"card", cardPrime, CardsPerCustomerMax * CustomersMax, (999_999_999 - cardSerialFloor - 9) / 10},
	}
	for _, tc := range tests {
		if !new(big.Int).SetUint64(tc.prime).ProbablyPrime(32) {
			t.Errorf("%s modulus %d is not prime", tc.name, tc.prime)
		}
		if tc.prime < tc.indices {
			t.Errorf("%s modulus %d is below the %d indices it must permute", tc.name, tc.prime, tc.indices)
		}
		if tc.prime-1 > tc.max {
			t.Errorf("%s modulus %d gives values up to %d, beyond the field's %d", tc.name, tc.prime, tc.prime-1, tc.max)
		}
	}
	if cardSerialFloor < reservedMax {
		t.Errorf("generated card serials start at %d, inside the reserved %d", cardSerialFloor, reservedMax)
	}
}

func TestBalanceBuckets(t *testing.T) {
	b := balanceBuckets
	if b[0] != OpeningRialMin {
		t.Errorf("first bucket starts at %d, want %d", b[0], OpeningRialMin)
	}
	for k := 1; k < len(b); k++ {
		if b[k] <= b[k-1] || b[k] >= OpeningRialMax {
			t.Fatalf("bucket %d starts at %d after %d", k, b[k], b[k-1])
		}
		// 2 % steps, to within the integer rounding.
		if got, want := b[k]-b[k-1], b[k-1]/50; got != want {
			t.Fatalf("bucket %d is %d wide, want %d", k-1, got, want)
		}
	}
	if b[whaleFirst] < WhaleRialMin || b[whaleFirst-1] >= WhaleRialMin {
		t.Errorf("whale buckets start at %d (bucket %d)", b[whaleFirst], whaleFirst)
	}
	if bucketEnd(smallBuckets-1) > SmallRialMax || bucketEnd(smallBuckets) <= SmallRialMax {
		t.Errorf("small buckets end at %d (bucket %d)", bucketEnd(smallBuckets-1), smallBuckets)
	}
	if smallBuckets < 10 || len(b)-whaleFirst < 10 {
		t.Errorf("%d small and %d whale buckets: too few to spread a tier", smallBuckets, len(b)-whaleFirst)
	}
}

// TestBelow checks the bounded draw is in range and roughly uniform: 60,000 draws over 6 values put about
// 10,000 in each, with a standard deviation of 91; 9,500–10,500 is more than five of them.
func TestBelow(t *testing.T) {
	d := newDraws(1, 2)
	var counts [6]int
	for range 60_000 {
		v := d.below(6)
		if v >= 6 {
			t.Fatalf("below(6) = %d", v)
		}
		counts[v]++
	}
	for v, n := range counts {
		if n < 9_500 || n > 10_500 {
			t.Errorf("value %d drawn %d times of 60,000, want about 10,000", v, n)
		}
	}
	if got := d.below(1); got != 0 {
		t.Errorf("below(1) = %d", got)
	}
}

// TestNames holds the lists to what doc.go and the limits promise.
func TestNames(t *testing.T) {
	lists := map[string][]name{"male": firstNamesMale, "female": firstNamesFemale, "surnames": surnames}
	longestFirst, longestLast := 0, 0
	for list, names := range lists {
		if len(names) < 36 {
			t.Errorf("%s: %d names, want several dozen", list, len(names))
		}
		seenFA, seenEN := map[string]bool{}, map[string]bool{}
		for _, n := range names {
			if seenFA[n.fa] || seenEN[n.en] {
				t.Errorf("%s: %s / %s listed twice", list, n.fa, n.en)
			}
			seenFA[n.fa], seenEN[n.en] = true, true
			for i, r := range n.fa {
				switch {
				case r == 'ي' || r == 'ك':
					t.Errorf("%s: %s has the Arabic letter %U at byte %d; Persian uses ی and ک", list, n.fa, r, i)
				case r == '\u200c':
					if i == 0 || i+len("\u200c") == len(n.fa) {
						t.Errorf("%s: %s starts or ends with a zero-width non-joiner", list, n.fa)
					}
				case !unicode.Is(unicode.Arabic, r) || unicode.IsDigit(r) || unicode.IsPunct(r):
					t.Errorf("%s: %s has %U, not a Persian letter", list, n.fa, r)
				}
			}
			for i := 0; i < len(n.en); i++ {
				c := n.en[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') || (i == 0) != (c >= 'A' && c <= 'Z') {
					t.Errorf("%s: %q is not a capitalised Latin name", list, n.en)
					break
				}
			}
			if list == "surnames" {
				longestLast = max(longestLast, len(n.fa), len(n.en))
			} else {
				longestFirst = max(longestFirst, len(n.fa), len(n.en))
			}
		}
	}
	if got := longestFirst + 1 + longestLast; got > NameBytesMax || got > NameENBytesMax {
		t.Errorf("the longest name takes %d bytes, beyond NameBytesMax %d or NameENBytesMax %d", got, NameBytesMax, NameENBytesMax)
	}
	for _, m := range magicAccounts {
		if len(m.nameFA) > NameBytesMax || len(m.nameEN) > NameENBytesMax || !utf8.ValidString(m.nameFA) {
			t.Errorf("magic account %d: name %q / %q too long or not UTF-8", m.number, m.nameFA, m.nameEN)
		}
	}
	if NameBytesMax > ledger.NameLenMax {
		t.Errorf("NameBytesMax %d exceeds ledger.NameLenMax %d: a name would not fit its account", NameBytesMax, ledger.NameLenMax)
	}
}

// TestMACFormat pins the message the MACs are computed over: stored secrets must keep verifying after an
// upgrade, so the format can only change with a migration of every book. It also checks the field name is
// in the message, so a CVV2's MAC is never a PIN2's.
func TestMACFormat(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h := hmac.New(sha256.New, key)
	h.Write([]byte("tasvieh/sim/cvv2\x006037990000000014\x00123"))
	if got, want := mac(key, fieldCVV2, "6037990000000014", "123"), hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("mac = %s, want %s", got, want)
	}
	if mac(key, fieldCVV2, "6037990000000014", "12345") == mac(key, fieldPIN2, "6037990000000014", "12345") {
		t.Error("the same value gives the same MAC as CVV2 and as PIN2")
	}
}
