package card_test

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
)

// The bank registry is the Directory the card switch uses.
var _ card.Directory = (*banks.Registry)(nil)

// refLuhn is an independent Luhn check for the tests: walk the digits
// right to left, doubling every second one and summing the digits of the
// products.
func refLuhn(s string) bool {
	total := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			d = d/10 + d%10
		}
		total += d
	}
	return total%10 == 0
}

// Card numbers below were made outside Go (Python), from a BIN, a serial
// and the Luhn digit, so none is a real customer's card.
func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantPAN  string
		wantBank card.Bank
	}{
		{"melli", "6037991234567893", "6037991234567893", card.Bank{Code: "017", Name: "Melli"}},
		{"mellat", "6104330000000078", "6104330000000078", card.Bank{Code: "012", Name: "Mellat"}},
		{"sepah", "5892100000005551", "5892100000005551", card.Bank{Code: "015", Name: "Sepah"}},
		{"saman", "6219860000001009", "6219860000001009", card.Bank{Code: "056", Name: "Saman"}},
		// Merged and dissolved banks' BINs route to the successor.
		{"ansar routes to sepah", "6273810000000017", "6273810000000017", card.Bank{Code: "015", Name: "Sepah"}},
		{"ayandeh routes to melli", "6362140000000425", "6362140000000425", card.Bank{Code: "017", Name: "Melli"}},
		// Spellings people type.
		{"groups of four", "6037 9912 3456 7893", "6037991234567893", card.Bank{Code: "017", Name: "Melli"}},
		{"dashes", "6037-9912-3456-7893", "6037991234567893", card.Bank{Code: "017", Name: "Melli"}},
		{"persian digits", "۶۰۳۷۹۹۱۲۳۴۵۶۷۸۹۳", "6037991234567893", card.Bank{Code: "017", Name: "Melli"}},
		{"arabic-indic digits", "٦٠٣٧٩٩١٢٣٤٥٦٧٨٩٣", "6037991234567893", card.Bank{Code: "017", Name: "Melli"}},
		{"mixed with marks", "\u200e۶۰۳۷\u00a0٩٩12\u200c3456\t7893\u200f", "6037991234567893", card.Bank{Code: "017", Name: "Melli"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, bank, err := card.Parse(tt.in, banks.Default())
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if p.String() != tt.wantPAN || bank != tt.wantBank {
				t.Errorf("Parse(%q) = %q, %+v; want %q, %+v", tt.in, p, bank, tt.wantPAN, tt.wantBank)
			}
			if p.BIN() != tt.wantPAN[:6] {
				t.Errorf("BIN() = %q, want %q", p.BIN(), tt.wantPAN[:6])
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantCode card.Code
		wantPos  int
	}{
		{"letter", "6037 99x2 3456 7893", card.CodeCharacter, 8},
		{"letter makes it short too", "603799123456789x", card.CodeCharacter, 16},
		{"dot", "6037.9912.3456.7893", card.CodeCharacter, 5},
		{"after persian digits", "۶۰۳۷۹۹۱۲۳۴۵۶۷۸۹۳/", card.CodeCharacter, 17},
		{"invalid utf-8", "6037\xff991234567893", card.CodeCharacter, 5},
		{"empty", "", card.CodeLength, 0},
		{"15 digits", "603799123456789", card.CodeLength, 0},
		{"17 digits", "60379912345678930", card.CodeLength, 0},
		{"19 digits, a format other networks use", "6037991234567893000", card.CodeLength, 0},
		{"huge input", strings.Repeat("6", 300), card.CodeLength, 0},
		{"last digit changed", "6037991234567894", card.CodeLuhn, 16},
		{"two digits swapped", "6037991234567839", card.CodeLuhn, 16},
		{"luhn, spaced", "6037 9912 3456 7894", card.CodeLuhn, 19},
		{"digits 2-11 zero", "1000000000000008", card.CodeZeroSegment, 2},
		{"digits 11-16 zero", "6037990006000000", card.CodeZeroSegment, 11},
		{"digits 11-16 zero, spaced", "6037 9900 0600 0000", card.CodeZeroSegment, 13},
		{"unknown bin", "1234560000000017", card.CodeUnknownBIN, 1},
		{"unknown bin, leading space", " 1234560000000017", card.CodeUnknownBIN, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, bank, err := card.Parse(tt.in, banks.Default())
			var e *card.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %q, %v; want *card.Error", tt.in, p, err)
			}
			if e.Code != tt.wantCode || e.Position != tt.wantPos {
				t.Errorf("Parse(%q) = %s at %d (%q), want %s at %d",
					tt.in, e.Code, e.Position, e.Message, tt.wantCode, tt.wantPos)
			}
			if !errors.Is(err, tt.wantCode) || !p.IsZero() || bank != (card.Bank{}) {
				t.Errorf("Parse(%q) = %q, %+v, %v; want zero values and errors.Is(err, %s)", tt.in, p, bank, err, tt.wantCode)
			}
			if tt.wantPos > 0 && !strings.Contains(e.Message, "position "+strconv.Itoa(tt.wantPos)) {
				t.Errorf("message %q does not give position %d", e.Message, tt.wantPos)
			}
			if r, _ := utf8.DecodeRuneInString(e.Message); unicode.IsUpper(r) || e.Error() != "card: "+e.Message {
				t.Errorf("Error() = %q: want \"card: \" and a lower-case message", e.Error())
			}
			if digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, tt.in); len(digits) >= 12 && strings.Contains(e.Message, digits) {
				t.Errorf("message %q repeats the card number", e.Message)
			}
		})
	}
}

func TestNilDirectorySkipsBIN(t *testing.T) {
	p, bank, err := card.Parse("1234560000000017", nil)
	if err != nil || p.String() != "1234560000000017" || bank != (card.Bank{}) {
		t.Errorf("Parse(unknown BIN, nil) = %q, %+v, %v; want the PAN, zero Bank, nil", p, bank, err)
	}
	// Well-known test numbers of other networks: Luhn-valid, 16 digits.
	for _, s := range []string{"4111111111111111", "5555555555554444", "4012888888881881", "6011111111111117"} {
		if _, _, err := card.Parse(s, nil); err != nil {
			t.Errorf("Parse(%q, nil) = %v, want nil", s, err)
		}
	}
}

func TestMasked(t *testing.T) {
	p, _, err := card.Parse("6037 9912 3456 7893", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Masked(), "603799******7893"; got != want {
		t.Errorf("Masked() = %q, want %q", got, want)
	}
	if p.String() != "6037991234567893" {
		t.Errorf("Masked changed the PAN: String() = %q", p)
	}
	var zero card.PAN
	if zero.Masked() != "" || zero.BIN() != "" || zero.String() != "" || !zero.IsZero() {
		t.Errorf("zero PAN = %q %q %q, IsZero %v", zero.Masked(), zero.BIN(), zero.String(), zero.IsZero())
	}
}

// Every merged or dissolved bank's BIN still routes, to the successor the
// registry names (DOMAIN.md §2).
func TestMergedBINsRoute(t *testing.T) {
	tests := []struct {
		bin, wantCode, wantName string
	}{
		{"627381", "015", "Sepah"}, // Ansar
		{"639599", "015", "Sepah"}, // Ghavamin
		{"636949", "015", "Sepah"}, // Hekmat Iranian
		{"505801", "015", "Sepah"}, // Kosar
		{"639370", "015", "Sepah"}, // Mehr Eghtesad
		{"636214", "017", "Melli"}, // Ayandeh, from 1404-08-03 / 2025-10-25
	}
	for _, tt := range tests {
		t.Run(tt.bin, func(t *testing.T) {
			p, err := card.Generate(tt.bin, 12345)
			if err != nil {
				t.Fatalf("Generate(%s) error = %v", tt.bin, err)
			}
			_, bank, err := card.Parse(p.String(), banks.Default())
			if err != nil || bank.Code != tt.wantCode || bank.Name != tt.wantName {
				t.Errorf("Parse(%s) bank = %+v, %v; want %s %s", p, bank, err, tt.wantCode, tt.wantName)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		bin    string
		serial uint64
		want   string // made outside Go
	}{
		{"603799", 123456789, "6037991234567893"},
		{"627381", 1, "6273810000000017"},
		{"636214", 42, "6362140000000425"},
		{"621986", 100, "6219860000001009"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			p, err := card.Generate(tt.bin, tt.serial)
			if err != nil || p.String() != tt.want {
				t.Errorf("Generate(%q, %d) = %q, %v; want %q", tt.bin, tt.serial, p, err, tt.want)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name     string
		bin      string
		serial   uint64
		wantCode card.Code
	}{
		{"short bin", "60379", 1, card.CodeLength},
		{"letter in bin", "60a799", 1, card.CodeCharacter},
		{"serial of 10 digits", "603799", 1_000_000_000, card.CodeLength},
		{"digits 2-11 zero", "100000", 0, card.CodeZeroSegment},
		{"digits 11-16 zero", "603799", 600000, card.CodeZeroSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := card.Generate(tt.bin, tt.serial)
			if !errors.Is(err, tt.wantCode) || !p.IsZero() {
				t.Errorf("Generate(%q, %d) = %q, %v; want code %s", tt.bin, tt.serial, p, err, tt.wantCode)
			}
		})
	}
}

func TestGenerateParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 16))
	reg := banks.Default()
	all := reg.All()
	for i := 0; i < 2000; i++ {
		b := all[rng.IntN(len(all))]
		if len(b.BINs) == 0 {
			continue
		}
		bin := b.BINs[rng.IntN(len(b.BINs))]
		serial := rng.Uint64N(1_000_000_000)
		p, err := card.Generate(bin, serial)
		if errors.Is(err, card.CodeZeroSegment) {
			continue
		}
		if err != nil {
			t.Fatalf("Generate(%s, %d) error = %v", bin, serial, err)
		}
		if !refLuhn(p.String()) {
			t.Fatalf("Generate(%s, %d) = %s fails the reference Luhn check", bin, serial, p)
		}
		if got := p.String()[6:15]; got != strconv.FormatUint(serial+1_000_000_000, 10)[1:] {
			t.Fatalf("Generate(%s, %d) = %s: serial digits %s", bin, serial, p, got)
		}
		q, bank, err := card.Parse(p.String(), reg)
		route, _ := reg.Route(b.Code)
		if err != nil || q != p || bank.Code != route.Code {
			t.Fatalf("Parse(%s) = %q, %+v, %v; want same PAN routed to %s", p, q, bank, err, route.Code)
		}
	}
}

// Parse agrees with an independent Luhn check on random digit strings.
func TestLuhnAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 10))
	var valid int
	for i := 0; i < 5000; i++ {
		b := make([]byte, 16)
		for j := range b {
			b[j] = byte('0' + rng.IntN(10))
		}
		s := string(b)
		_, _, err := card.Parse(s, nil)
		gotLuhn := !errors.Is(err, card.CodeLuhn)
		if gotLuhn != refLuhn(s) {
			t.Fatalf("Parse(%s) luhn verdict %v, reference %v (err %v)", s, gotLuhn, refLuhn(s), err)
		}
		if gotLuhn {
			valid++
		}
	}
	if valid == 0 {
		t.Error("no random number passed Luhn; the comparison tested only one side")
	}
}

func TestParseOfCanonicalAllocatesNothing(t *testing.T) {
	reg := banks.Default()
	if n := testing.AllocsPerRun(100, func() { _, _, _ = card.Parse("6037991234567893", reg) }); n != 0 {
		t.Errorf("Parse of a canonical PAN allocates %v times, want 0", n)
	}
}
