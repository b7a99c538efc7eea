package sim_test

import (
	"reflect"
	"testing"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
	"github.com/tasvieh/tasvieh/sim"
)

// FuzzClassify checks Classify never panics, says yes only to a value Magic lists under that name, and
// agrees with the parsers: a magic value parses, as a SHEBA or a PAN, against the shipped registry.
func FuzzClassify(f *testing.F) {
	reg := banks.Default()
	melli, _ := reg.ByCode("017")
	for _, m := range sim.Magic(melli) {
		f.Add("017", m.Value)
	}
	f.Add("095", "IR000950000000000000000001")
	f.Add("054", "6221060000000001")
	f.Add("017", "")
	f.Add("017", "IR820540102680020817909002")
	f.Fuzz(func(t *testing.T, code, value string) {
		b, ok := reg.ByCode(code)
		if !ok {
			b = melli
		}
		name, ok := sim.Classify(b, value)
		if !ok {
			if name != "" {
				t.Fatalf("Classify(%s, %q) = %q, false", b.Code, value, name)
			}
			return
		}
		found := false
		for _, m := range sim.Magic(b) {
			if m.Value == value {
				found = m.Name == name
			}
		}
		if !found {
			t.Fatalf("Classify(%s, %q) = %q, not a magic value of the bank", b.Code, value, name)
		}
		_, serr := sheba.Parse(value, reg)
		_, _, cerr := card.Parse(value, reg)
		if serr != nil && cerr != nil {
			t.Fatalf("magic value %q parses neither as SHEBA (%v) nor PAN (%v)", value, serr, cerr)
		}
	})
}

// FuzzCheckCVV2 checks the secrets round trip: whatever the card and the guess, the card's own values
// verify against what Secrets stored, a different guess does not, and nothing panics.
func FuzzCheckCVV2(f *testing.F) {
	f.Add(uint64(1), "123", "123456", "124")
	f.Add(uint64(99), "000", "00000", "000")
	f.Add(uint64(5), "999", "123456789012", "۹۹۹")
	f.Fuzz(func(t *testing.T, serial uint64, cvv2, pin2, guess string) {
		pan, err := card.Generate("603799", serial%1_000_000_000)
		if err != nil {
			return
		}
		k := sim.Card{PAN: pan.String(), CVV2: cvv2, PIN2: pin2}
		if !isDigits(cvv2, 3) || len(pin2) < sim.PIN2DigitsMin || len(pin2) > sim.PIN2DigitsMax || !isDigits(pin2, len(pin2)) {
			// A malformed card is a bug in the caller: Secrets refuses it loudly, and nothing verifies it.
			if !panics(func() { k.Secrets(testKey) }) {
				t.Fatalf("Secrets accepted CVV2 %q PIN2 %q", cvv2, pin2)
			}
			return
		}
		s := k.Secrets(testKey)
		if !sim.CheckCVV2(testKey, k.PAN, cvv2, s.CVV2HMAC) || !sim.CheckPIN2(testKey, k.PAN, pin2, s.PIN2HMAC) {
			t.Fatal("a card's own values do not verify")
		}
		if got := sim.CheckCVV2(testKey, k.PAN, guess, s.CVV2HMAC); got != (guess == cvv2) {
			t.Fatalf("CheckCVV2(guess %q) = %v for CVV2 %q", guess, got, cvv2)
		}
		if got := sim.CheckPIN2(testKey, k.PAN, guess, s.PIN2HMAC); got != (guess == pin2) {
			t.Fatalf("CheckPIN2(guess %q) = %v for PIN2 %q", guess, got, pin2)
		}
	})
}

// FuzzBook checks any seed gives a valid, deterministic book: every SHEBA and PAN parses and names the
// bank, and a second call gives the same customers.
func FuzzBook(f *testing.F) {
	f.Add(uint64(0), uint8(3), uint8(0))
	f.Add(uint64(1<<63), uint8(40), uint8(7))
	reg := banks.Default()
	var simulated []banks.Bank
	for _, b := range reg.All() {
		if sim.Simulated(b) {
			simulated = append(simulated, b)
		}
	}
	f.Fuzz(func(t *testing.T, seed uint64, n, which uint8) {
		b := simulated[int(which)%len(simulated)]
		cfg := sim.Config{Seed: seed, Customers: int(n%50) + 1, Key: testKey}
		cs, err := sim.Book(b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := sim.Book(b, cfg)
		if !reflect.DeepEqual(cs, again) {
			t.Fatal("two books with the same config differ")
		}
		for _, c := range cs {
			if x, err := sheba.Parse(c.SHEBA, reg); err != nil || x.BankCode() != b.Code {
				t.Fatalf("customer %d: SHEBA %s: %v", c.Index, c.SHEBA, err)
			}
			if c.OpeningRial < sim.OpeningRialMin || c.OpeningRial >= sim.OpeningRialMax {
				t.Fatalf("customer %d opens with %d", c.Index, c.OpeningRial)
			}
			for _, k := range c.Cards {
				if _, routed, err := card.Parse(k.PAN, reg); err != nil || routed.Code != b.Code {
					t.Fatalf("customer %d: card on %s: %v", c.Index, k.PAN[:6], err)
				}
			}
		}
	})
}
