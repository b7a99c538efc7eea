package sheba_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/almerlucke/go-iban/iban"

	"github.com/tasvieh/tasvieh/sheba"
)

// go-iban (github.com/almerlucke/go-iban) serves as an independent oracle
// for sheba.Checksum on other countries' IBANs. Its country table has no
// entry for Iran (IR), so it cannot check SHEBAs themselves; the test below
// pins that fact down.

// oracle reports whether go-iban accepts s.
func oracle(s string) bool {
	_, err := iban.NewIBAN(s)
	return err == nil
}

func TestGoIBANHasNoIran(t *testing.T) {
	if _, err := iban.NewIBAN(parsian); err == nil {
		t.Errorf("go-iban accepts %s: it now knows Iran, so use it as an oracle for SHEBAs too", parsian)
	}
}

// registryExamples are the example IBANs of the SWIFT IBAN registry and
// banks' published specimens, one or more per country.
var registryExamples = []string{
	"AL47212110090000000235698741",
	"AD1200012030200359100100",
	"AT611904300234573201",
	"BE68539007547034",
	"BA391290079401028494",
	"BG80BNBG96611020345678",
	"CH9300762011623852957",
	"CZ6508000000192000145399",
	"DE89370400440532013000",
	"DK5000400440116243",
	"EE382200221020145685",
	"ES9121000418450200051332",
	"FI2112345600000785",
	"FR1420041010050500013M02606",
	"GB29NWBK60161331926819",
	"GB82WEST12345698765432",
	"HR1210010051863000160",
	"HU42117730161111101800000000",
	"IE29AIBK93115212345678",
	"IT60X0542811101000000123456",
	"LT121000011101001000",
	"LU280019400644750000",
	"LV80BANK0000435195001",
	"NL91ABNA0417164300",
	"NO9386011117947",
	"PL61109010140000071219812874",
	"PT50000201231234567890154",
	"RO49AAAA1B31007593840000",
	"SA0380000000608010167519",
	"SE4550000000058398257466",
	"SI56263300012039086",
	"SK3112000000198742637541",
}

func TestChecksumRegistryExamples(t *testing.T) {
	for _, s := range registryExamples {
		t.Run(s, func(t *testing.T) {
			if !oracle(s) {
				t.Fatalf("go-iban rejects the example %s; the fixture is wrong", s)
			}
			if !sheba.Checksum(s) {
				t.Errorf("Checksum(%q) = false, want true", s)
			}
		})
	}
}

// bbanFormats give the BBAN layout of a few countries: F digits, U upper-case
// letters, A letters or digits, each with a count.
var bbanFormats = map[string]string{
	"DE": "F08F10",
	"GB": "U04F06F08",
	"FR": "F05F05A11F02",
	"NL": "U04F10",
	"ES": "F04F04F02F10",
	"IT": "U01F05F05A12",
	"BE": "F03F07F02",
	"CH": "F05A12",
	"PL": "F08F16",
	"SA": "F02A18",
}

// randomIBAN makes an IBAN of the given country with a random BBAN in its
// format and check digits computed with math/big.
func randomIBAN(rng *rand.Rand, country, format string) string {
	const digits = "0123456789"
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var bban strings.Builder
	for i := 0; i+3 <= len(format); i += 3 {
		n, _ := strconv.Atoi(format[i+1 : i+3])
		set := map[byte]string{'F': digits, 'U': upper, 'A': digits + upper}[format[i]]
		for j := 0; j < n; j++ {
			bban.WriteByte(set[rng.IntN(len(set))])
		}
	}
	var num strings.Builder
	for _, c := range bban.String() + country + "00" {
		if c >= 'A' && c <= 'Z' {
			num.WriteString(strconv.Itoa(int(c-'A') + 10))
		} else {
			num.WriteRune(c)
		}
	}
	n, _ := new(big.Int).SetString(num.String(), 10)
	check := 98 - n.Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%s%02d%s", country, check, bban.String())
}

// mutate changes one character of s into another of its class (digit for
// digit, letter for letter), or swaps two neighbours of the same class, so
// that the country's format still holds and only the checksum can tell.
func mutate(rng *rand.Rand, s string) string {
	b := []byte(s)
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for {
		i := 2 + rng.IntN(len(b)-2) // keep the country code
		if rng.IntN(3) == 0 && i+1 < len(b) && isDigit(b[i]) == isDigit(b[i+1]) && b[i] != b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b)
		}
		if isDigit(b[i]) {
			b[i] = byte('0' + (int(b[i]-'0')+1+rng.IntN(9))%10)
		} else if i >= 4 {
			b[i] = byte('A' + (int(b[i]-'A')+1+rng.IntN(25))%26)
		} else {
			continue
		}
		return string(b)
	}
}

func TestChecksumAgreesWithGoIBAN(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 97))
	var bases []string
	bases = append(bases, registryExamples...)
	for country, format := range bbanFormats {
		for i := 0; i < 3; i++ {
			bases = append(bases, randomIBAN(rng, country, format))
		}
	}
	var accepted, rejected int
	for _, base := range bases {
		if !oracle(base) || !sheba.Checksum(base) {
			t.Errorf("%s: go-iban %v, Checksum %v; want both true", base, oracle(base), sheba.Checksum(base))
		}
		for i := 0; i < 50; i++ {
			m := mutate(rng, base)
			// ISO 13616 never issues check digits 00, 01 or 99, and Checksum
			// refuses them; go-iban does only the arithmetic. Compare the
			// arithmetic alone there.
			if d := m[2:4]; d == "00" || d == "01" || d == "99" {
				if sheba.Checksum(m) {
					t.Errorf("Checksum(%q) = true, want false for check digits %s", m, d)
				}
				continue
			}
			got, want := sheba.Checksum(m), oracle(m)
			if got != want {
				t.Errorf("Checksum(%q) = %v, go-iban says %v (mutated from %s)", m, got, want, base)
			}
			if got {
				accepted++
			} else {
				rejected++
			}
		}
	}
	// MOD 97-10 catches every such change: a new digit moves the number by
	// d·10^k, a new letter by d·10^k with |d| ≤ 25, a swap by (a−b)·9·10^k
	// or (a−b)·99·10^k, and 97 is a prime dividing none of them. So both
	// sides must reject all mutations; an accepted one means the mutator
	// left the IBAN unchanged and tested nothing.
	if accepted != 0 || rejected == 0 {
		t.Errorf("mutations: %d accepted, %d rejected; want 0 accepted", accepted, rejected)
	}
	t.Logf("%d IBANs, %d mutations rejected, %d accepted by both", len(bases), rejected, accepted)
}

func TestChecksumShape(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"germany", "DE89370400440532013000", true},
		{"iran", parsian, true},
		{"lower case", "de89370400440532013000", false},
		{"spaces", "DE89 3704 0044 0532 0130 00", false},
		{"digit in country", "D189370400440532013000", false},
		{"letter in check digits", "DE8X370400440532013000", false},
		{"too short", "DE89", false},
		{"shortest", "XX631", true}, // 1 33 33 63 ≡ 1 (mod 97); the country is not checked
		{"too long", "DE89" + strings.Repeat("0", 31), false},
		{"non-ascii", "DE89370400440532013۰00", false},
		{"check digits 99", "IR990170000000000000000072", false},
		{"same number with check digits 02", "IR020170000000000000000072", true},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sheba.Checksum(tt.in); got != tt.want {
				t.Errorf("Checksum(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if tt.want && !bigIntChecksum(tt.in) {
				t.Errorf("math/big says %q fails the check", tt.in)
			}
		})
	}
}
