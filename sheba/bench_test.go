package sheba_test

import (
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/sheba"
)

// bigIntChecksum is the textbook MOD 97-10 check, done the naive way: move
// the first four characters to the end, spell letters as numbers (A=10 …
// Z=35), read the whole as one big integer, take it mod 97. It is the
// reference the benchmarks compare against and an independent oracle for
// the tests. It assumes upper-case letters and digits.
func bigIntChecksum(iban string) bool {
	if len(iban) < 5 {
		return false
	}
	var sb strings.Builder
	for _, c := range iban[4:] + iban[:4] {
		if c >= 'A' && c <= 'Z' {
			sb.WriteString(strconv.Itoa(int(c-'A') + 10))
		} else {
			sb.WriteRune(c)
		}
	}
	n, ok := new(big.Int).SetString(sb.String(), 10)
	if !ok {
		return false
	}
	return n.Mod(n, big.NewInt(97)).Int64() == 1
}

// validateBigInt does the work of sheba.Validate on a canonical SHEBA with
// bigIntChecksum in place of the package's arithmetic.
func validateBigInt(s string, dir sheba.Directory) bool {
	if len(s) != 26 || s[:2] != "IR" {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if !bigIntChecksum(s) {
		return false
	}
	found, active, _ := dir.LookupSHEBA(s[4:7])
	return found && active && s[7] <= '3'
}

var benchInputs = []string{parsian, pasargad, toseeTaavon}

func BenchmarkValidate(b *testing.B) {
	dir := banks.Default()
	cases := []struct {
		name   string
		inputs []string
		valid  bool
	}{
		{"canonical", benchInputs, true},
		{"checksum_mismatch", []string{parsian[:25] + "3", pasargad[:25] + "2", toseeTaavon[:25] + "2"}, false},
		{"persian_spaced", []string{"IR۸۲ ۰۵۴۰ ۱۰۲۶ ۸۰۰۲ ۰۸۱۷ ۹۰۹۰ ۰۲"}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				err := sheba.Validate(c.inputs[i%len(c.inputs)], dir)
				if (err == nil) != c.valid {
					b.Fatalf("Validate(%q) = %v", c.inputs[i%len(c.inputs)], err)
				}
				i++
			}
		})
	}
}

// BenchmarkValidateBigInt is the naive reference for BenchmarkValidate's
// canonical case: the same checks, with the mod-97 done in math/big.
func BenchmarkValidateBigInt(b *testing.B) {
	dir := banks.Default()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !validateBigInt(benchInputs[i%len(benchInputs)], dir) {
			b.Fatalf("validateBigInt(%q) = false", benchInputs[i%len(benchInputs)])
		}
		i++
	}
}

func BenchmarkChecksum(b *testing.B) {
	const de = "DE89370400440532013000"
	b.ReportAllocs()
	for b.Loop() {
		if !sheba.Checksum(de) {
			b.Fatal("Checksum = false")
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sheba.Generate("054", 0, "102680020817909002"); err != nil {
			b.Fatal(err)
		}
	}
}
