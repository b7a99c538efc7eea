package sheba_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/sheba"
)

// knownCodes are every Code the package may return.
var knownCodes = map[sheba.Code]bool{
	sheba.CodeCharacter: true, sheba.CodeLength: true, sheba.CodeCountry: true, sheba.CodeChecksum: true,
	sheba.CodeUnknownBank: true, sheba.CodeInactiveBank: true, sheba.CodeAccountType: true,
}

// FuzzParse checks that Parse never panics, that every rejection is a
// well-formed *Error, and that every accepted input round-trips: its
// String() parses to the same SHEBA, and Generate rebuilds it from its parts.
// Seeds: testdata/fuzz/FuzzParse and the shared fixtures in ../testdata/sheba.
func FuzzParse(f *testing.F) {
	for _, s := range readLines(f, "../testdata/sheba/valid.txt") {
		f.Add(s)
	}
	for _, line := range readLines(f, "../testdata/sheba/invalid.txt") {
		in, _, _ := strings.Cut(line, "\t")
		f.Add(in)
	}
	dir := banks.Default()
	f.Fuzz(func(t *testing.T, s string) {
		x, err := sheba.Parse(s, dir)
		verr := sheba.Validate(s, dir)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Parse(%q) error %v, Validate error %v: they disagree", s, err, verr)
		}
		if err != nil {
			var e *sheba.Error
			if !errors.As(err, &e) || !knownCodes[e.Code] {
				t.Fatalf("Parse(%q) error %#v is not an *Error with a known code", s, err)
			}
			if verr.Error() != err.Error() {
				t.Fatalf("Parse(%q) error %q, Validate error %q", s, err, verr)
			}
			if !x.IsZero() {
				t.Fatalf("Parse(%q) rejected but returned %q", s, x)
			}
			n := utf8.RuneCountInString(s)
			if e.Position < 0 || e.Position > n || (e.Code != sheba.CodeLength) != (e.Position > 0) {
				t.Fatalf("Parse(%q) = %s at position %d, input has %d characters", s, e.Code, e.Position, n)
			}
			if e.Position > 0 && !strings.Contains(e.Message, "position "+strconv.Itoa(e.Position)) {
				t.Fatalf("message %q does not name position %d", e.Message, e.Position)
			}
			return
		}
		c := x.String()
		if len(c) != 26 || c[:2] != "IR" || !sheba.Checksum(c) || !bigIntChecksum(c) {
			t.Fatalf("Parse(%q) accepted %q, which is not a canonical SHEBA", s, c)
		}
		again, err := sheba.Parse(c, dir)
		if err != nil || again != x {
			t.Fatalf("Parse(%q) = %q, %v; want %q", c, again, err, x)
		}
		gen, err := sheba.Generate(x.BankCode(), x.AccountType(), x.Account())
		if err != nil || gen != x {
			t.Fatalf("Generate(%q, %d, %q) = %q, %v; want %q", x.BankCode(), x.AccountType(), x.Account(), gen, err, x)
		}
	})
}

// FuzzGenerate makes SHEBAs from arbitrary parts and parses them back.
func FuzzGenerate(f *testing.F) {
	f.Add(uint16(54), uint8(0), uint64(102680020817909002))
	f.Add(uint16(296), uint8(3), uint64(0))
	f.Add(uint16(999), uint8(9), uint64(18446744073709551615))
	f.Fuzz(func(t *testing.T, bankNum uint16, typ uint8, acct uint64) {
		bank := strconv.Itoa(1000 + int(bankNum)%1000)[1:]
		account := strconv.FormatUint(acct, 10)
		x, err := sheba.Generate(bank, int(typ), account)
		switch {
		case typ > 3:
			if !errors.Is(err, sheba.CodeAccountType) {
				t.Fatalf("Generate type %d = %q, %v; want account_type", typ, x, err)
			}
			return
		case len(account) > 18:
			if !errors.Is(err, sheba.CodeLength) {
				t.Fatalf("Generate account %s = %q, %v; want length", account, x, err)
			}
			return
		case err != nil:
			t.Fatalf("Generate(%q, %d, %q) error = %v", bank, typ, account, err)
		}
		y, err := sheba.Parse(x.String(), nil)
		if err != nil || y != x {
			t.Fatalf("Parse(%q) = %q, %v", x, y, err)
		}
		if y.BankCode() != bank || y.AccountType() != int(typ) || strings.TrimLeft(y.Account(), "0") != strings.TrimLeft(account, "0") {
			t.Fatalf("Parse(Generate(%q, %d, %q)) = %q, %d, %q", bank, typ, account, y.BankCode(), y.AccountType(), y.Account())
		}
	})
}
