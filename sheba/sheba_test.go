package sheba_test

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/sheba"
)

// The bank registry is the Directory the rails use.
var _ sheba.Directory = (*banks.Registry)(nil)

// Real SHEBAs published by their banks (DOMAIN.md §2).
const (
	parsian     = "IR820540102680020817909002"
	pasargad    = "IR550570022080013447370101"
	toseeTaavon = "IR260220170001010001101001"
)

// readLines returns the non-comment, non-empty lines of a shared fixture.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no entries", path)
	}
	return out
}

func TestValidFixtures(t *testing.T) {
	for _, s := range readLines(t, "../testdata/sheba/valid.txt") {
		t.Run(s, func(t *testing.T) {
			x, err := sheba.Parse(s, banks.Default())
			if err != nil {
				t.Fatalf("Parse(%q) error = %v, want nil", s, err)
			}
			if got := x.String(); got != s {
				t.Errorf("Parse(%q).String() = %q, want the input", s, got)
			}
			if err := sheba.Validate(s, banks.Default()); err != nil {
				t.Errorf("Validate(%q) = %v, want nil", s, err)
			}
		})
	}
}

func TestInvalidFixtures(t *testing.T) {
	for _, line := range readLines(t, "../testdata/sheba/invalid.txt") {
		in, code, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("invalid.txt line %q has no tab", line)
		}
		t.Run(in, func(t *testing.T) {
			err := sheba.Validate(in, banks.Default())
			var e *sheba.Error
			if !errors.As(err, &e) || e.Code != sheba.Code(code) {
				t.Errorf("Validate(%q) = %v, want code %s", in, err, code)
			}
			if _, perr := sheba.Parse(in, banks.Default()); !errors.Is(perr, sheba.Code(code)) {
				t.Errorf("Parse(%q) error = %v, want code %s", in, perr, code)
			}
		})
	}
}

func TestPublishedBanks(t *testing.T) {
	tests := []struct {
		in, wantCode, wantBank, wantAccount string
	}{
		{parsian, "054", "Parsian", "102680020817909002"},
		{pasargad, "057", "Pasargad", "022080013447370101"},
		{toseeTaavon, "022", "Tosee Taavon (Cooperative Development)", "170001010001101001"},
	}
	for _, tt := range tests {
		t.Run(tt.wantBank, func(t *testing.T) {
			x, err := sheba.Parse(tt.in, banks.Default())
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if x.BankCode() != tt.wantCode || x.AccountType() != 0 || x.Account() != tt.wantAccount {
				t.Errorf("Parse(%q) = bank %q type %d account %q; want %q, 0, %q",
					tt.in, x.BankCode(), x.AccountType(), x.Account(), tt.wantCode, tt.wantAccount)
			}
			b, ok := banks.Default().ByCode(x.BankCode())
			if !ok || b.NameEN != tt.wantBank {
				t.Errorf("bank %s = %q, %v; want %q", x.BankCode(), b.NameEN, ok, tt.wantBank)
			}
		})
	}
}

// SHEBAs below that are not mutations of the published ones had their check
// digits computed outside Go, with Python's integers, so that they pass the
// checksum and test a later check.
func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantCode sheba.Code
		wantPos  int
	}{
		// character, while normalising: position in runes of the input.
		{"dash", "IR82-0540102680020817909002", sheba.CodeCharacter, 5},
		{"hash first", "IR#820540102680020817909002", sheba.CodeCharacter, 3},
		{"after persian digits", "IR۸۲۰۵۴۰۱۰۲۶۸۰۰۲۰۸۱۷۹۰۹۰۰۲*", sheba.CodeCharacter, 27},
		{"invalid utf-8", "IR82\xff0540102680020817909002", sheba.CodeCharacter, 5},
		{"non-ascii letter", "IR82é540102680020817909002", sheba.CodeCharacter, 5},
		{"newline", "IR820540102680020817909002\n", sheba.CodeCharacter, 27},
		{"persian letter", "ایران", sheba.CodeCharacter, 1},
		// length
		{"empty", "", sheba.CodeLength, 0},
		{"25 characters", parsian[:25], sheba.CodeLength, 0},
		{"27 characters", parsian + "1", sheba.CodeLength, 0},
		{"no IR", parsian[2:], sheba.CodeLength, 0},
		{"longer than any input", strings.Repeat("1", 300), sheba.CodeLength, 0},
		// country
		{"germany", "DE" + parsian[2:], sheba.CodeCountry, 1},
		{"second letter", "IQ" + parsian[2:], sheba.CodeCountry, 2},
		{"second letter after a space", " iq" + parsian[2:], sheba.CodeCountry, 3},
		{"digit for letter", "1R" + parsian[2:], sheba.CodeCountry, 1},
		// character after IR
		{"letter at the end", parsian[:25] + "A", sheba.CodeCharacter, 26},
		{"letter at the end, spaced", "IR82 0540 1026 8002 0817 9090 0a", sheba.CodeCharacter, 32},
		{"letter in check digits", "IRA20540102680020817909002", sheba.CodeCharacter, 3},
		// checksum
		{"last digit changed", parsian[:25] + "3", sheba.CodeChecksum, 3},
		{"last two swapped", parsian[:24] + "20", sheba.CodeChecksum, 3},
		{"check digits swapped", "IR28" + parsian[4:], sheba.CodeChecksum, 3},
		{"leading space", " IR820540102680020817909003", sheba.CodeChecksum, 4},
		{"check digits 99 pass mod 97 but are never issued", "IR990170000000000000000072", sheba.CodeChecksum, 3},
		{"check digits 00", "IR000170000000000000000011", sheba.CodeChecksum, 3},
		{"check digits 01", "IR010170000000000000000090", sheba.CodeChecksum, 3},
		// unknown_bank: the CBI's worked example uses bank code 296.
		{"bank 296", "IR962960000000000123456789", sheba.CodeUnknownBank, 5},
		{"bank 296 spaced", "IR96 2960 0000 0000 0123 4567 89", sheba.CodeUnknownBank, 6},
		// inactive_bank
		{"Ansar merged", "IR810630000000001234567890", sheba.CodeInactiveBank, 5},
		{"Ayandeh dissolved", "IR130620000000000000004444", sheba.CodeInactiveBank, 5},
		// account_type
		{"type 7", "IR420547102680020817909002", sheba.CodeAccountType, 8},
		{"type 4", "IR730544102680020817909002", sheba.CodeAccountType, 8},
		{"type 9 spaced", "IR72 0549 0000 0000 0000 0000 01", sheba.CodeAccountType, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sheba.Validate(tt.in, banks.Default())
			var e *sheba.Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%q) = %v, want *sheba.Error", tt.in, err)
			}
			if e.Code != tt.wantCode || e.Position != tt.wantPos {
				t.Errorf("Validate(%q) = %s at %d (%q), want %s at %d",
					tt.in, e.Code, e.Position, e.Message, tt.wantCode, tt.wantPos)
			}
			if tt.wantPos > 0 && !strings.Contains(e.Message, "position "+strconv.Itoa(tt.wantPos)) {
				t.Errorf("message %q does not give position %d", e.Message, tt.wantPos)
			}
			if r, _ := utf8.DecodeRuneInString(e.Message); e.Message == "" || unicode.IsUpper(r) {
				t.Errorf("message %q should be non-empty and start in lower case", e.Message)
			}
			if got := err.Error(); got != "sheba: "+e.Message {
				t.Errorf("Error() = %q, want %q", got, "sheba: "+e.Message)
			}
			x, perr := sheba.Parse(tt.in, banks.Default())
			if !errors.Is(perr, tt.wantCode) || !x.IsZero() {
				t.Errorf("Parse(%q) = %q, %v; want zero SHEBA and code %s", tt.in, x, perr, tt.wantCode)
			}
		})
	}
}

// Each input has two faults; the one earlier in the documented order wins.
func TestErrorOrder(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want sheba.Code
	}{
		{"character before length", "IR82#", sheba.CodeCharacter},
		{"length before country", "DE82", sheba.CodeLength},
		{"country before letter", "DE82054010268002081790900A", sheba.CodeCountry},
		{"letter before checksum", "IR82054010268002081790900A", sheba.CodeCharacter},
		{"checksum before unknown bank", "IR972960000000000123456789", sheba.CodeChecksum},
		{"unknown bank before account type", "IR122967000000000000000055", sheba.CodeUnknownBank},
		{"inactive bank before account type", "IR210635000000000000000055", sheba.CodeInactiveBank},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sheba.Validate(tt.in, banks.Default()); !errors.Is(err, tt.want) {
				t.Errorf("Validate(%q) = %v, want code %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestNilDirectorySkipsBankChecks(t *testing.T) {
	tests := []struct {
		in   string
		want sheba.Code // "" for accepted
	}{
		{"IR962960000000000123456789", ""},                    // unknown bank 296
		{"IR810630000000001234567890", ""},                    // merged Ansar
		{"IR122967000000000000000055", sheba.CodeAccountType}, // still checked
		{parsian[:25] + "3", sheba.CodeChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := sheba.Validate(tt.in, nil)
			if tt.want == "" && err != nil || tt.want != "" && !errors.Is(err, tt.want) {
				t.Errorf("Validate(%q, nil) = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestMessagesNameTheBanks(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"IR810630000000001234567890", []string{"063", "015 Sepah"}},
		{"IR130620000000000000004444", []string{"062", "017 Melli"}},
		{"IR962960000000000123456789", []string{"296"}},
		{"IR420547102680020817909002", []string{"account type 7"}},
		{"DE" + parsian[2:], []string{`"IR"`, `"DE"`}},
		{parsian[2:], []string{"24 characters", `"IR"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := sheba.Validate(tt.in, banks.Default())
			if err == nil {
				t.Fatalf("Validate(%q) = nil, want an error", tt.in)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%q) = %q, want it to mention %s", tt.in, err, w)
				}
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"canonical", parsian, parsian},
		{"lower case", strings.ToLower(parsian), parsian},
		{"groups of four", "IR82 0540 1026 8002 0817 9090 02", parsian},
		{"tabs and edges", "\tIR82\t0540102680020817909002 ", parsian},
		{"no-break spaces", "IR82\u00a00540\u00a01026\u00a08002\u00a00817\u00a09090\u00a002", parsian},
		{"zero-width non-joiner", "IR\u200c820540102680020817909002", parsian},
		{"direction marks", "\u200eIR820540102680020817909002\u200f", parsian},
		{"persian digits", "IR۸۲۰۵۴۰۱۰۲۶۸۰۰۲۰۸۱۷۹۰۹۰۰۲", parsian},
		{"arabic-indic digits", "IR٨٢٠٥٤٠١٠٢٦٨٠٠٢٠٨١٧٩٠٩٠٠٢", parsian},
		{"mixed digits and spaces", "ir ۵۵ ٠٥٧0 022080013447370101", pasargad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := sheba.Parse(tt.in, banks.Default())
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if got := x.String(); got != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestZeroSHEBA(t *testing.T) {
	var x sheba.SHEBA
	if !x.IsZero() || x.String() != "" || x.BankCode() != "" || x.AccountType() != -1 || x.Account() != "" {
		t.Errorf("zero SHEBA = %q %q %d %q, IsZero %v; want empty, -1, IsZero true",
			x.String(), x.BankCode(), x.AccountType(), x.Account(), x.IsZero())
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		bank    string
		typ     int
		account string
		want    string
	}{
		// The published SHEBAs: their banks computed these check digits.
		{"054", 0, "102680020817909002", parsian},
		{"057", 0, "022080013447370101", pasargad},
		{"022", 0, "170001010001101001", toseeTaavon},
		// Left-padding; check digits computed outside Go.
		{"017", 0, "1234", "IR560170000000000000001234"},
		{"296", 0, "123456789", "IR962960000000000123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			x, err := sheba.Generate(tt.bank, tt.typ, tt.account)
			if err != nil || x.String() != tt.want {
				t.Errorf("Generate(%q, %d, %q) = %q, %v; want %q", tt.bank, tt.typ, tt.account, x, err, tt.want)
			}
		})
	}
}

// The CBI's worked example: a SHEBA can pass the checksum and name no bank.
func TestGeneratedUnknownBank(t *testing.T) {
	x, err := sheba.Generate("296", 0, "123456789")
	if err != nil {
		t.Fatalf("Generate(296) error = %v", err)
	}
	if !sheba.Checksum(x.String()) {
		t.Errorf("Checksum(%q) = false, want true", x)
	}
	if err := sheba.Validate(x.String(), banks.Default()); !errors.Is(err, sheba.CodeUnknownBank) {
		t.Errorf("Validate(%q) = %v, want unknown_bank", x, err)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name     string
		bank     string
		typ      int
		account  string
		wantCode sheba.Code
		wantPos  int
	}{
		{"short bank code", "17", 0, "1", sheba.CodeLength, 0},
		{"long bank code", "0170", 0, "1", sheba.CodeLength, 0},
		{"letter in bank code", "0a7", 0, "1", sheba.CodeCharacter, 6},
		{"type 4", "017", 4, "1", sheba.CodeAccountType, 8},
		{"type -1", "017", -1, "1", sheba.CodeAccountType, 8},
		{"empty account", "017", 0, "", sheba.CodeLength, 0},
		{"19-digit account", "017", 0, "1234567890123456789", sheba.CodeLength, 0},
		{"letter in account", "017", 0, "12a4", sheba.CodeCharacter, 25},
		{"persian digit in account", "017", 0, "۱", sheba.CodeCharacter, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := sheba.Generate(tt.bank, tt.typ, tt.account)
			var e *sheba.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.Position != tt.wantPos || !x.IsZero() {
				t.Errorf("Generate(%q, %d, %q) = %q, %v; want code %s at %d",
					tt.bank, tt.typ, tt.account, x, err, tt.wantCode, tt.wantPos)
			}
		})
	}
}

func TestGenerateParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		bank := strconv.Itoa(1000 + rng.IntN(1000))[1:]
		typ := rng.IntN(4)
		account := strconv.FormatUint(rng.Uint64N(1_000_000_000_000_000_000), 10)
		x, err := sheba.Generate(bank, typ, account)
		if err != nil {
			t.Fatalf("Generate(%q, %d, %q) error = %v", bank, typ, account, err)
		}
		y, err := sheba.Parse(x.String(), nil)
		if err != nil {
			t.Fatalf("Parse(Generate(%q, %d, %q) = %q) error = %v", bank, typ, account, x, err)
		}
		wantAccount := strings.Repeat("0", 18-len(account)) + account
		if y != x || y.BankCode() != bank || y.AccountType() != typ || y.Account() != wantAccount {
			t.Fatalf("round trip of (%q, %d, %q) = %q (%q, %d, %q)",
				bank, typ, account, y, y.BankCode(), y.AccountType(), y.Account())
		}
		if !bigIntChecksum(x.String()) {
			t.Fatalf("math/big disagrees with Generate on %q", x)
		}
	}
}

func TestErrorsIsCode(t *testing.T) {
	err := sheba.Validate(parsian[:25]+"3", nil)
	if !errors.Is(err, sheba.CodeChecksum) {
		t.Errorf("errors.Is(%v, CodeChecksum) = false, want true", err)
	}
	if errors.Is(err, sheba.CodeLength) {
		t.Errorf("errors.Is(%v, CodeLength) = true, want false", err)
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	dir := banks.Default()
	tests := []struct {
		name string
		in   string
		dir  sheba.Directory
	}{
		{"canonical", parsian, dir},
		{"canonical, nil directory", pasargad, nil},
		{"checksum mismatch", parsian[:25] + "3", dir},
		{"persian digits and spaces", "IR۸۲ ۰۵۴۰ ۱۰۲۶ ۸۰۰۲ ۰۸۱۷ ۹۰۹۰ ۰۲", dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { _ = sheba.Validate(tt.in, tt.dir) }); n != 0 {
				t.Errorf("Validate(%q) allocates %v times, want 0", tt.in, n)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = sheba.Parse(parsian, dir) }); n != 0 {
		t.Errorf("Parse of a canonical SHEBA allocates %v times, want 0", n)
	}
}
