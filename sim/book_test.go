package sim_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
	"github.com/tasvieh/tasvieh/sim"
)

var update = flag.Bool("update", false, "rewrite testdata/book.golden from the current code")

// testKey is a server key for tests: 32 bytes, the shortest accepted.
var testKey = []byte("tasvieh-sim-test-key-0123456789a")

func bank(t testing.TB, code string) banks.Bank {
	t.Helper()
	b, ok := banks.Default().ByCode(code)
	if !ok {
		t.Fatalf("bank %s not in the registry", code)
	}
	return b
}

func book(t testing.TB, b banks.Bank, seed uint64, n int) []sim.Customer {
	t.Helper()
	cs, err := sim.Book(b, sim.Config{Seed: seed, Customers: n, Key: testKey})
	if err != nil {
		t.Fatalf("Book(%s, seed %d, %d): %v", b.Code, seed, n, err)
	}
	return cs
}

// simulatedBanks are the banks of the shipped registry that can have a book.
func simulatedBanks(t testing.TB) []banks.Bank {
	t.Helper()
	var out []banks.Bank
	for _, b := range banks.Default().All() {
		if sim.Simulated(b) {
			out = append(out, b)
		}
	}
	if len(out) < 25 {
		t.Fatalf("only %d simulated banks in the registry", len(out))
	}
	return out
}

// generated returns the generated customers of a book, without the magic ones that follow them.
func generated(cs []sim.Customer) []sim.Customer {
	for i, c := range cs {
		if c.Index < 0 {
			return cs[:i]
		}
	}
	return cs
}

func TestBookDeterministic(t *testing.T) {
	for _, code := range []string{"017", "054", "095"} {
		b := bank(t, code)
		t.Run(code, func(t *testing.T) {
			a, c := book(t, b, 7, 300), book(t, b, 7, 300)
			if !reflect.DeepEqual(a, c) {
				t.Fatal("two books with the same seed differ")
			}
			// The key decides card secrets, never the customers.
			other, err := sim.Book(b, sim.Config{Seed: 7, Customers: 300, Key: []byte(strings.Repeat("k", 40))})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, other) {
				t.Fatal("a different key changed the customers")
			}
		})
	}
}

func TestBookSeedChangesEverything(t *testing.T) {
	b := bank(t, "012")
	a, c := generated(book(t, b, 1, 200)), generated(book(t, b, 2, 200))
	same := map[string]int{}
	for i := range a {
		if a[i].SHEBA == c[i].SHEBA {
			same["sheba"]++
		}
		if a[i].OpeningRial == c[i].OpeningRial {
			same["opening"]++
		}
		if a[i].Cards[0].PAN == c[i].Cards[0].PAN {
			same["pan"]++
		}
		if a[i].Cards[0].CVV2 == c[i].Cards[0].CVV2 {
			same["cvv2"]++
		}
		if a[i].Name == c[i].Name {
			same["name"]++
		}
	}
	// Under different seeds a field repeats only by chance: never for SHEBAs, PANs and balances, about one
	// in a thousand for a CVV2, about one in 4,800 for a name; 10 of 200 would be far beyond chance.
	want := map[string]int{"sheba": 0, "pan": 0, "opening": 0, "cvv2": 10, "name": 10}
	for k, limit := range want {
		if same[k] > limit {
			t.Errorf("%s: %d of %d customers equal under seeds 1 and 2, want at most %d", k, same[k], len(a), limit)
		}
	}
	// And the bank matters as much as the seed: the same seed in two banks gives different people.
	d := generated(book(t, bank(t, "056"), 1, 200))
	if a[0].Account == d[0].Account && a[0].Name == d[0].Name && a[0].OpeningRial == d[0].OpeningRial {
		t.Error("banks 012 and 056 under one seed begin with the same customer")
	}
}

func TestBookPrefixStable(t *testing.T) {
	for _, code := range []string{"017", "095"} {
		b := bank(t, code)
		t.Run(code, func(t *testing.T) {
			long, short := book(t, b, 99, 1000), book(t, b, 99, 10)
			gl, gs := generated(long), generated(short)
			if len(gl) != 1000 || len(gs) != 10 {
				t.Fatalf("generated %d and %d customers, want 1000 and 10", len(gl), len(gs))
			}
			if !reflect.DeepEqual(gs, gl[:10]) {
				t.Error("the first 10 customers of a 1000-customer book differ from a 10-customer book")
			}
			if !reflect.DeepEqual(long[len(gl):], short[len(gs):]) {
				t.Error("the magic customers depend on the number of generated ones")
			}
			for i, c := range gl {
				if c.Index != i {
					t.Fatalf("customer %d has Index %d", i, c.Index)
				}
			}
		})
	}
}

func TestBookDefaultCustomers(t *testing.T) {
	b := bank(t, "056")
	if got := len(generated(book(t, b, 1, 0))); got != sim.CustomersDefault {
		t.Errorf("Customers 0 generated %d customers, want %d", got, sim.CustomersDefault)
	}
}

// TestBookIdentifiers checks every bank's book: each SHEBA parses against the shipped registry and names its
// bank, each PAN parses and routes to it on one of its own BINs, and the book's other fields have their shape.
func TestBookIdentifiers(t *testing.T) {
	reg := banks.Default()
	for _, b := range simulatedBanks(t) {
		t.Run(b.Code, func(t *testing.T) {
			bins := map[string]bool{}
			for _, bin := range b.BINs {
				bins[bin] = true
			}
			for _, c := range book(t, b, 3, 200) {
				x, err := sheba.Parse(c.SHEBA, reg)
				if err != nil {
					t.Fatalf("customer %d: SHEBA %s: %v", c.Index, c.SHEBA, err)
				}
				if x.String() != c.SHEBA || x.BankCode() != b.Code || x.AccountType() != 0 || x.Account() != c.Account {
					t.Fatalf("customer %d: SHEBA %s: bank %s type %d account %s, want bank %s type 0 account %s",
						c.Index, c.SHEBA, x.BankCode(), x.AccountType(), x.Account(), b.Code, c.Account)
				}
				if c.Bank != b.Code {
					t.Fatalf("customer %d: Bank %q, want %q", c.Index, c.Bank, b.Code)
				}
				if c.Index >= 0 {
					if len(b.BINs) == 0 && len(c.Cards) != 0 {
						t.Fatalf("customer %d of a bank without BINs has %d cards", c.Index, len(c.Cards))
					}
					if len(b.BINs) > 0 && (len(c.Cards) < 1 || len(c.Cards) > sim.CardsPerCustomerMax) {
						t.Fatalf("customer %d has %d cards, want 1–%d", c.Index, len(c.Cards), sim.CardsPerCustomerMax)
					}
				}
				for _, k := range c.Cards {
					p, routed, err := card.Parse(k.PAN, reg)
					if err != nil {
						t.Fatalf("customer %d: PAN %s: %v", c.Index, p.Masked(), err)
					}
					if routed.Code != b.Code || !bins[p.BIN()] || p.String() != k.PAN {
						t.Fatalf("customer %d: PAN %s routes to %s, BIN %s; want %s on one of %v",
							c.Index, p.Masked(), routed.Code, p.BIN(), b.Code, b.BINs)
					}
					checkCardShape(t, k)
				}
			}
		})
	}
}

func checkCardShape(t *testing.T, k sim.Card) {
	t.Helper()
	if !isDigits(k.CVV2, 3) || !isDigits(k.PIN2, sim.PIN2Digits) || !isDigits(k.Expiry, 4) {
		t.Fatalf("card %s: CVV2 %q PIN2 %q expiry %q, want 3, %d and 4 digits", k.PAN[:6], k.CVV2, k.PIN2, k.Expiry, sim.PIN2Digits)
	}
	yy, mm := k.Expiry[:2], k.Expiry[2:]
	if mm < "01" || mm > "12" {
		t.Fatalf("card %s: expiry month %s", k.PAN[:6], mm)
	}
	if k.Magic == "" && (yy < "06" || yy > "09") {
		t.Fatalf("card %s: expiry year 14%s, want 1406–1409", k.PAN[:6], yy)
	}
	if k.Magic == "" && k.Status != sim.CardActive {
		t.Fatalf("generated card %s has status %s", k.PAN[:6], k.Status)
	}
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TestBookUnique checks uniqueness at the largest book: the permutations must not repeat within CustomersMax.
func TestBookUnique(t *testing.T) {
	for _, tc := range []struct {
		code string
		n    int
	}{{"054", sim.CustomersMax}, {"017", 1000}, {"020", 1000}} {
		t.Run(tc.code, func(t *testing.T) {
			cs := book(t, bank(t, tc.code), 5, tc.n)
			accounts, shebas, pans := map[string]int{}, map[string]int{}, map[string]int{}
			for _, c := range cs {
				if j, dup := accounts[c.Account]; dup {
					t.Fatalf("customers %d and %d share account %s", j, c.Index, c.Account)
				}
				accounts[c.Account] = c.Index
				if j, dup := shebas[c.SHEBA]; dup {
					t.Fatalf("customers %d and %d share SHEBA %s", j, c.Index, c.SHEBA)
				}
				shebas[c.SHEBA] = c.Index
				for _, k := range c.Cards {
					if j, dup := pans[k.PAN]; dup {
						t.Fatalf("customers %d and %d share a card on BIN %s", j, c.Index, k.PAN[:6])
					}
					pans[k.PAN] = c.Index
				}
			}
			if got, want := len(generated(cs)), tc.n; got != want {
				t.Fatalf("generated %d customers, want %d", got, want)
			}
		})
	}
}

// TestBookSpread checks the opening balances reach every rail's figures (DOMAIN.md §9), in every bank.
func TestBookSpread(t *testing.T) {
	const n = 1000
	for _, code := range []string{"011", "017", "054", "095"} {
		for _, seed := range []uint64{1, 2, 3} {
			cs := generated(book(t, bank(t, code), seed, n))
			var whales, small, satnaTop, mid int
			lo, hi := cs[0].OpeningRial, cs[0].OpeningRial
			for _, c := range cs {
				v := c.OpeningRial
				lo, hi = min(lo, v), max(hi, v)
				switch {
				case v >= sim.WhaleRialMin:
					whales++
				case v < sim.SmallRialMax:
					small++
				}
				if v >= 1_000_000_000 {
					satnaTop++
				}
				if v >= 150_000_000 && v < 500_000_000 {
					mid++
				}
			}
			if lo < sim.OpeningRialMin || hi >= sim.OpeningRialMax {
				t.Errorf("bank %s seed %d: balances in [%d, %d], want within [%d, %d)", code, seed, lo, hi, sim.OpeningRialMin, int64(sim.OpeningRialMax))
			}
			// Expected shares: about 15 % whales and 46 % small (see doc.go); the bounds are more than four
			// standard deviations wide for 1,000 customers, so only a broken distribution falls outside.
			if whales < 100 || whales > 210 {
				t.Errorf("bank %s seed %d: %d of %d customers at or above %d, want 100–210", code, seed, whales, n, int64(sim.WhaleRialMin))
			}
			if small < 390 || small > 540 {
				t.Errorf("bank %s seed %d: %d of %d customers below %d, want 390–540", code, seed, small, n, sim.SmallRialMax)
			}
			if satnaTop == 0 || mid == 0 {
				t.Errorf("bank %s seed %d: %d customers at or above 1,000,000,000 and %d in [150,000,000, 500,000,000)", code, seed, satnaTop, mid)
			}
		}
	}
}

// TestBookTiersGuaranteed checks the guarantee for a tiny book under many seeds: customer 0 is rich,
// customer 1 small, and customers 100 and 101 again.
func TestBookTiersGuaranteed(t *testing.T) {
	b := bank(t, "061")
	for seed := range uint64(200) {
		cs := generated(book(t, b, seed, 102))
		for _, tc := range []struct {
			i     int
			whale bool
		}{{0, true}, {1, false}, {100, true}, {101, false}} {
			v := cs[tc.i].OpeningRial
			if tc.whale && v < sim.WhaleRialMin {
				t.Fatalf("seed %d: customer %d opens with %d, want at least %d", seed, tc.i, v, int64(sim.WhaleRialMin))
			}
			if !tc.whale && v >= sim.SmallRialMax {
				t.Fatalf("seed %d: customer %d opens with %d, want below %d", seed, tc.i, v, sim.SmallRialMax)
			}
		}
	}
}

func TestTotal(t *testing.T) {
	cs := book(t, bank(t, "017"), 1, 1000)
	var want int64
	for _, c := range cs {
		want += c.OpeningRial
	}
	if got := sim.Total(cs); got != want {
		t.Errorf("Total = %d, want %d", got, want)
	}
	if got := sim.Total(nil); got != 0 {
		t.Errorf("Total(nil) = %d, want 0", got)
	}
	// The worst case a book can reach is far from overflow.
	worst := make([]sim.Customer, sim.CustomersMax)
	for i := range worst {
		worst[i].OpeningRial = sim.OpeningRialMax
	}
	if got, want := sim.Total(worst), int64(sim.CustomersMax)*sim.OpeningRialMax; got != want {
		t.Errorf("Total of the worst book = %d, want %d", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Total did not panic on overflow")
		}
	}()
	sim.Total([]sim.Customer{{OpeningRial: 1 << 62}, {OpeningRial: 1 << 62}})
}

func TestBookErrors(t *testing.T) {
	reg := banks.Default()
	suspended, err := reg.WithStatus("056", banks.StatusSuspended)
	if err != nil {
		t.Fatal(err)
	}
	saman, _ := suspended.ByCode("056")
	badCode := bank(t, "017")
	badCode.Code = "17"
	badBIN := bank(t, "017")
	badBIN.BINs = []string{"60379x"}
	zeroBIN := bank(t, "017") // its last five digits would make the magic cards' digits 2–11 all zero
	zeroBIN.BINs = []string{"600000"}
	ok := sim.Config{Seed: 1, Customers: 3, Key: testKey}
	tests := []struct {
		name string
		bank banks.Bank
		cfg  sim.Config
		want error // nil: no error
	}{
		{"active", bank(t, "017"), ok, nil},
		{"suspended keeps its book", saman, ok, nil},
		{"no BINs", bank(t, "095"), ok, nil},
		{"most customers", bank(t, "017"), sim.Config{Customers: sim.CustomersMax, Key: testKey}, nil},
		{"negative customers", bank(t, "017"), sim.Config{Customers: -1, Key: testKey}, sim.ErrInvalid},
		{"too many customers", bank(t, "017"), sim.Config{Customers: sim.CustomersMax + 1, Key: testKey}, sim.ErrInvalid},
		{"short key", bank(t, "017"), sim.Config{Customers: 3, Key: testKey[:31]}, sim.ErrInvalid},
		{"long key", bank(t, "017"), sim.Config{Customers: 3, Key: make([]byte, sim.KeyBytesMax+1)}, sim.ErrInvalid},
		{"no key", bank(t, "017"), sim.Config{Customers: 3}, sim.ErrInvalid},
		{"merged", bank(t, "063"), ok, sim.ErrNotSimulated},
		{"dissolved", bank(t, "062"), ok, sim.ErrNotSimulated},
		{"central bank", bank(t, "010"), ok, sim.ErrNotSimulated},
		{"bad code", badCode, ok, sim.ErrInvalid},
		{"bad BIN", badBIN, ok, sim.ErrInvalid},
		{"BIN with no room for magic cards", zeroBIN, ok, sim.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := sim.Book(tc.bank, tc.cfg)
			if tc.want == nil {
				if err != nil || len(cs) == 0 {
					t.Fatalf("Book: %d customers, error %v; want customers and no error", len(cs), err)
				}
				return
			}
			if !errors.Is(err, tc.want) || cs != nil {
				t.Fatalf("Book: %d customers, error %v; want none and %v", len(cs), err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "sim: ") {
				t.Errorf("error %q does not say where", err)
			}
		})
	}
}

func TestCanCreditDebit(t *testing.T) {
	tests := []struct {
		status sim.AccountStatus
		ok     bool
		code   string
	}{
		{sim.AccountActive, true, ""},
		{sim.AccountBlocked, false, sim.CodeAccountBlocked},
		{sim.AccountClosed, false, sim.CodeAccountClosed},
	}
	for _, tc := range tests {
		c := sim.Customer{Status: tc.status}
		for name, f := range map[string]func(sim.Customer) (bool, string){"CanCredit": sim.CanCredit, "CanDebit": sim.CanDebit} {
			if ok, code := f(c); ok != tc.ok || code != tc.code {
				t.Errorf("%s(%s) = %v, %q; want %v, %q", name, tc.status, ok, code, tc.ok, tc.code)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("CanCredit did not panic on an unknown status")
		}
	}()
	sim.CanCredit(sim.Customer{Status: "frozen"})
}

func TestCanUseCard(t *testing.T) {
	tests := []struct {
		status sim.CardStatus
		ok     bool
		code   string
	}{
		{sim.CardActive, true, ""},
		{sim.CardBlocked, false, sim.CodeCardBlocked},
		{sim.CardExpired, false, sim.CodeCardExpired},
		{sim.CardLost, false, sim.CodeCardLost},
	}
	for _, tc := range tests {
		if ok, code := sim.CanUseCard(sim.Card{Status: tc.status}); ok != tc.ok || code != tc.code {
			t.Errorf("CanUseCard(%s) = %v, %q; want %v, %q", tc.status, ok, code, tc.ok, tc.code)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("CanUseCard did not panic on an unknown status")
		}
	}()
	sim.CanUseCard(sim.Card{PAN: "6037990000000014", Status: "stolen"})
}

// TestBookGolden pins the books of two banks for one seed to testdata/book.golden, so that a change to the
// derivation, the draws or the name lists, which would silently change every recorded scenario, fails here.
// Run `go test ./sim -run Golden -update` after a deliberate change.
func TestBookGolden(t *testing.T) {
	got := map[string][]sim.Customer{}
	for _, code := range []string{"017", "095"} {
		got[code] = book(t, bank(t, code), 20250321, 4)
	}
	data, err := json.MarshalIndent(got, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	const path = "testdata/book.golden"
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(want) {
		t.Errorf("books differ from %s; if the change is deliberate, rerun with -update\ngot:\n%s", path, data)
	}
}
