package sim_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
	"github.com/tasvieh/tasvieh/sim"
)

func TestMagicValues(t *testing.T) {
	reg := banks.Default()
	sebas := []string{sim.MagicAccountBlocked, sim.MagicAccountClosed, sim.MagicAccountUnknown, sim.MagicReceiverTimeout}
	pans := []string{sim.MagicCardBlocked, sim.MagicCardExpired, sim.MagicCardLost, sim.MagicCardIssuerTimeout, sim.MagicCardUnknown}
	for _, b := range simulatedBanks(t) {
		t.Run(b.Code, func(t *testing.T) {
			ms := sim.Magic(b)
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
			}
			want := sebas
			if len(b.BINs) > 0 {
				want = append(append([]string{}, sebas...), pans...)
			}
			if !reflect.DeepEqual(names, want) {
				t.Fatalf("Magic names %v, want %v", names, want)
			}
			for _, m := range ms {
				switch m.Kind {
				case sim.KindSHEBA:
					x, err := sheba.Parse(m.Value, reg)
					if err != nil || x.BankCode() != b.Code || x.String() != m.Value {
						t.Errorf("%s: %s does not parse as a SHEBA of %s: %v", m.Name, m.Value, b.Code, err)
					}
				case sim.KindPAN:
					p, routed, err := card.Parse(m.Value, reg)
					if err != nil || routed.Code != b.Code || p.BIN() != b.BINs[0] {
						t.Errorf("%s: %s does not parse as a card of %s on %s: %v", m.Name, m.Value, b.Code, b.BINs[0], err)
					}
				default:
					t.Errorf("%s: kind %q", m.Name, m.Kind)
				}
				if name, ok := sim.Classify(b, m.Value); !ok || name != m.Name {
					t.Errorf("Classify(%s) = %q, %v; want %q", m.Value, name, ok, m.Name)
				}
				if m.Effect == "" || !strings.HasSuffix(m.Effect, ".") || strings.Count(m.Effect, ". ") > 0 {
					t.Errorf("%s: effect %q is not one sentence", m.Name, m.Effect)
				}
				if m.InBook != (m.Name != sim.MagicAccountUnknown && m.Name != sim.MagicCardUnknown) {
					t.Errorf("%s: InBook %v", m.Name, m.InBook)
				}
				if (m.Holder != "") != (m.Kind == sim.KindPAN && m.InBook) {
					t.Errorf("%s: holder %q", m.Name, m.Holder)
				}
			}
		})
	}
}

// TestMagicInBook checks that Book carries exactly the in-book magic values, with the statuses they promise,
// the same for every seed, and that no generated customer is or collides with one.
func TestMagicInBook(t *testing.T) {
	for _, code := range []string{"017", "054", "095"} {
		b := bank(t, code)
		t.Run(code, func(t *testing.T) {
			cs := book(t, b, 11, 1000)
			other := book(t, b, 12, 5)
			if !reflect.DeepEqual(cs[len(generated(cs)):], other[len(generated(other)):]) {
				t.Fatal("magic customers differ between seeds")
			}
			byValue := map[string]string{} // SHEBA or PAN → magic name, "" for an ordinary one
			holders := map[string]bool{}
			for _, c := range cs {
				byValue[c.SHEBA] = c.Magic
				for _, k := range c.Cards {
					byValue[k.PAN] = k.Magic
					if k.Magic != "" {
						holders[c.SHEBA] = true
					}
				}
				if c.Index >= 0 {
					if c.Magic != "" || c.Status != sim.AccountActive {
						t.Fatalf("generated customer %d: magic %q status %s", c.Index, c.Magic, c.Status)
					}
					if name, ok := sim.Classify(b, c.SHEBA); ok {
						t.Fatalf("generated customer %d's SHEBA classifies as %s", c.Index, name)
					}
					for _, k := range c.Cards {
						if name, ok := sim.Classify(b, k.PAN); ok {
							t.Fatalf("generated customer %d's card classifies as %s", c.Index, name)
						}
					}
					continue
				}
				if c.OpeningRial != sim.MagicOpeningRial {
					t.Errorf("magic customer %s opens with %d", c.SHEBA, c.OpeningRial)
				}
			}
			statuses := map[string]string{
				sim.MagicAccountBlocked: string(sim.AccountBlocked), sim.MagicAccountClosed: string(sim.AccountClosed),
				sim.MagicReceiverTimeout: string(sim.AccountActive),
				sim.MagicCardBlocked:     string(sim.CardBlocked), sim.MagicCardExpired: string(sim.CardExpired),
				sim.MagicCardLost: string(sim.CardLost), sim.MagicCardIssuerTimeout: string(sim.CardActive),
			}
			for _, m := range sim.Magic(b) {
				name, in := byValue[m.Value]
				if in != m.InBook || (in && name != m.Name) {
					t.Errorf("%s (%s): in book %v as %q, want in book %v", m.Name, m.Value, in, name, m.InBook)
				}
				if m.Holder != "" && !holders[m.Holder] {
					t.Errorf("%s: holder %s does not hold it", m.Name, m.Holder)
				}
				if in {
					if got := statusOf(cs, m.Value); got != statuses[m.Name] {
						t.Errorf("%s: status %q, want %q", m.Name, got, statuses[m.Name])
					}
				}
			}
			for _, c := range cs {
				for _, k := range c.Cards {
					if k.Magic == sim.MagicCardExpired && k.Expiry >= "0601" {
						t.Errorf("the expired card's expiry %s is not in the past of 1406", k.Expiry)
					}
					if k.Magic != "" {
						checkCardShape(t, k)
					}
				}
			}
		})
	}
}

// statusOf returns the status of the account or card with the given SHEBA or PAN in cs.
func statusOf(cs []sim.Customer, value string) string {
	for _, c := range cs {
		if c.SHEBA == value {
			return string(c.Status)
		}
		for _, k := range c.Cards {
			if k.PAN == value {
				return string(k.Status)
			}
		}
	}
	return ""
}

func TestClassifyRejects(t *testing.T) {
	melli := bank(t, "017")
	blocked := magicValue(t, melli, sim.MagicAccountBlocked)
	cardBlocked := magicValue(t, melli, sim.MagicCardBlocked)
	// A SHEBA of reserved account 6, not a magic value, and the magic card number on Melli's second BIN.
	six, err := sheba.Generate("017", 0, "6")
	if err != nil {
		t.Fatal(err)
	}
	secondBIN, err := card.Generate(melli.BINs[1], 1)
	if err != nil {
		t.Fatal(err)
	}
	cardholder, err := sheba.Generate("017", 0, "5")
	if err != nil {
		t.Fatal(err)
	}
	merged := bank(t, "063")
	tests := []struct {
		name  string
		bank  banks.Bank
		value string
	}{
		{"empty", melli, ""},
		{"other bank's magic SHEBA", bank(t, "012"), blocked},
		{"other bank's magic PAN", bank(t, "012"), cardBlocked},
		{"wrong check digits", melli, blocked[:2] + "00" + blocked[4:]},
		{"wrong Luhn digit", melli, cardBlocked[:15] + string('0'+(cardBlocked[15]-'0'+1)%10)},
		{"lower case", melli, strings.ToLower(blocked)},
		{"with spaces", melli, blocked[:4] + " " + blocked[4:]},
		{"account type 1", melli, blocked[:7] + "1" + blocked[8:]},
		{"reserved but not magic", melli, six.String()},
		{"the cardholder account", melli, cardholder.String()},
		{"magic serial on another BIN", melli, secondBIN.String()},
		{"merged bank", merged, blocked},
		{"Persian digits", melli, "۶۰۳۷۹۹۰۰۰۰۰۰۰۰۱۴"},
	}
	for _, tc := range tests {
		if name, ok := sim.Classify(tc.bank, tc.value); ok {
			t.Errorf("%s: Classify(%s, %q) = %q, want not magic", tc.name, tc.bank.Code, tc.value, name)
		}
	}
}

func magicValue(t *testing.T, b banks.Bank, name string) string {
	t.Helper()
	for _, m := range sim.Magic(b) {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("bank %s has no magic value %s", b.Code, name)
	return ""
}

func TestMagicNoBook(t *testing.T) {
	for _, code := range []string{"010", "052", "062"} {
		if ms := sim.Magic(bank(t, code)); ms != nil {
			t.Errorf("Magic(%s) = %d values, want none for a bank without a book", code, len(ms))
		}
	}
}
