package card_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
)

// FuzzParse checks that Parse never panics, that every rejection is a
// well-formed *Error, and that every accepted input round-trips: String()
// parses to the same PAN and bank, and Generate rebuilds it from its BIN and
// serial. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	dir := banks.Default()
	known := map[card.Code]bool{card.CodeCharacter: true, card.CodeLength: true, card.CodeLuhn: true,
		card.CodeZeroSegment: true, card.CodeUnknownBIN: true}
	f.Fuzz(func(t *testing.T, s string) {
		p, bank, err := card.Parse(s, dir)
		if err != nil {
			var e *card.Error
			if !errors.As(err, &e) || !known[e.Code] {
				t.Fatalf("Parse(%q) error %#v is not an *Error with a known code", s, err)
			}
			if !p.IsZero() || bank != (card.Bank{}) {
				t.Fatalf("Parse(%q) rejected but returned %q, %+v", s, p, bank)
			}
			n := utf8.RuneCountInString(s)
			if e.Position < 0 || e.Position > n || (e.Code != card.CodeLength) != (e.Position > 0) {
				t.Fatalf("Parse(%q) = %s at position %d, input has %d characters", s, e.Code, e.Position, n)
			}
			if e.Position > 0 && !strings.Contains(e.Message, "position "+strconv.Itoa(e.Position)) {
				t.Fatalf("message %q does not name position %d", e.Message, e.Position)
			}
			return
		}
		c := p.String()
		if len(c) != 16 || strings.Trim(c, "0123456789") != "" || bank.Code == "" {
			t.Fatalf("Parse(%q) accepted %q routed to %+v", s, c, bank)
		}
		if m := p.Masked(); m[:6] != c[:6] || m[12:] != c[12:] || m[6:12] != "******" {
			t.Fatalf("Masked() of %s = %q", c, m)
		}
		again, bank2, err := card.Parse(c, dir)
		if err != nil || again != p || bank2 != bank {
			t.Fatalf("Parse(%q) = %q, %+v, %v; want %q, %+v", c, again, bank2, err, p, bank)
		}
		serial, _ := strconv.ParseUint(c[6:15], 10, 64)
		gen, err := card.Generate(p.BIN(), serial)
		if err != nil || gen != p {
			t.Fatalf("Generate(%s, %d) = %q, %v; want %q", p.BIN(), serial, gen, err, p)
		}
	})
}
