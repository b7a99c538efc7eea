package rtgs

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestPlanNets: the first case by hand, amounts in rial.
//
//	obligations: 012→015 100, 015→017 80, 017→012 50, 054→012 70, 015→054 10
//	nets (owes):  012 100 − 120 = −20   015 90 − 100 = −10   017 50 − 80 = −30   054 70 − 10 = +60
//	balances:     012 60, 054 40: 054 owes 60 with 40, short 20, the only one short → excluded
//	without 054:  012 100 − 50 = +50 (≤ 60, covered)   015 80 − 100 = −20   017 50 − 80 = −30
func TestPlanNets(t *testing.T) {
	tests := []struct {
		name         string
		obs          []Obligation
		balances     map[string]int64
		wantSettle   []Net
		wantExcluded []string
	}{
		{"one bank short, the nets recomputed without it", []Obligation{
			{"012", "015", 100}, {"015", "017", 80}, {"017", "012", 50}, {"054", "012", 70}, {"015", "054", 10},
		}, map[string]int64{"012": 60, "054": 40},
			[]Net{{"012", 50}, {"015", -20}, {"017", -30}}, []string{"054"}},
		{"all covered: every net settles", []Obligation{
			{"012", "015", 100}, {"015", "012", 40},
		}, map[string]int64{"012": 60},
			[]Net{{"012", 60}, {"015", -60}}, nil},
		{"a circle settles on nothing", []Obligation{
			{"012", "015", 100}, {"015", "017", 100}, {"017", "012", 100},
		}, nil, nil, nil},
		{"a bank covered only by an excluded bank's payment falls short in turn", []Obligation{
			{"015", "012", 100}, {"012", "017", 90}, {"054", "057", 10},
		}, map[string]int64{"015": 50, "054": 10},
			// 015 owes 100 with 50: out. Then 012, which received 100 and paid 90, owes 90 with 0: out too.
			// 054 → 057 stands alone and settles.
			[]Net{{"054", 10}, {"057", -10}}, []string{"015", "012"}},
		{"equal shortfalls: the lower code first", []Obligation{
			{"054", "017", 30}, {"012", "017", 30},
		}, nil, nil, []string{"012", "054"}},
		{"a bank owed money is never excluded, whatever its balance", []Obligation{
			{"012", "010", 50}, {"010", "012", 20},
		}, map[string]int64{"010": -1000, "012": 30},
			[]Net{{"010", -30}, {"012", 30}}, nil},
		{"obligations of one pair are summed", []Obligation{
			{"012", "015", 40}, {"012", "015", 60}, {"015", "012", 30},
		}, map[string]int64{"012": 70},
			[]Net{{"012", 70}, {"015", -70}}, nil},
		{"empty", nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settle, excluded, err := PlanNets(tt.obs, tt.balances)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(settle, tt.wantSettle) || !slices.Equal(excluded, tt.wantExcluded) {
				t.Errorf("PlanNets = %v, excluded %v; want %v, %v", settle, excluded, tt.wantSettle, tt.wantExcluded)
			}
			if err := CheckNets(settle); err != nil {
				t.Errorf("CheckNets(settle): %v", err)
			}
		})
	}
}

func TestPlanNetsErrors(t *testing.T) {
	tests := []struct {
		name string
		obs  []Obligation
		want string
	}{
		{"owes itself", []Obligation{{"012", "012", 1}}, "owes itself"},
		{"bad code", []Obligation{{"12", "015", 1}}, "3-digit"},
		{"zero amount", []Obligation{{"012", "015", 0}}, "amount 0"},
		{"negative amount", []Obligation{{"012", "015", -5}}, "amount -5"},
		{"total past the limit", []Obligation{{"012", "015", NetTotalRialMax}, {"015", "012", 1}}, "obligation 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := PlanNets(tt.obs, nil)
			if !errors.Is(err, ErrNets) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PlanNets = %v, want ErrNets saying %q", err, tt.want)
			}
			if _, err := Nets(tt.obs); !errors.Is(err, ErrNets) {
				t.Errorf("Nets = %v, want ErrNets", err)
			}
		})
	}
}

func TestNetsAndCheckNets(t *testing.T) {
	nets, err := Nets([]Obligation{{"054", "012", 70}, {"012", "015", 100}})
	if want := []Net{{"012", 30}, {"015", -100}, {"054", 70}}; err != nil || !slices.Equal(nets, want) {
		t.Errorf("Nets = %v, %v; want %v", nets, err, want)
	}
	tests := []struct {
		name string
		nets []Net
		want string // "" for valid
	}{
		{"valid", []Net{{"012", 5}, {"015", -5}}, ""},
		{"none", nil, ""},
		{"not zero", []Net{{"012", 5}, {"015", -4}}, "sum to 1"},
		{"twice", []Net{{"012", 5}, {"012", -5}}, "named twice"},
		{"bad code", []Net{{"", 0}}, "3-digit"},
		{"beyond the limit", []Net{{"012", NetTotalRialMax + 1}, {"015", -NetTotalRialMax - 1}}, "beyond"},
		{"running sum beyond the limit", []Net{{"012", NetTotalRialMax}, {"015", NetTotalRialMax}, {"017", -NetTotalRialMax}}, "pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNets(tt.nets)
			if tt.want == "" && err != nil || tt.want != "" && (!errors.Is(err, ErrNets) || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckNets = %v, want %q", err, tt.want)
			}
		})
	}
}

// planNetsReference applies PlanNets' rule literally, recomputing every net from the obligations left.
func planNetsReference(obs []Obligation, balances map[string]int64) ([]Net, []string) {
	out := map[string]bool{}
	var excluded []string
	for {
		owes := map[string]int64{}
		for _, o := range obs {
			if !out[o.From] && !out[o.To] {
				owes[o.From] += o.AmountRial
				owes[o.To] -= o.AmountRial
			}
		}
		worst, shortfall := "", int64(0)
		for b, v := range owes {
			s := v - balances[b]
			if v > 0 && s > 0 && (s > shortfall || s == shortfall && b < worst) {
				worst, shortfall = b, s
			}
		}
		if worst == "" {
			var nets []Net
			for b, v := range owes {
				if v != 0 {
					nets = append(nets, Net{b, v})
				}
			}
			sort.Slice(nets, func(i, j int) bool { return nets[i].Bank < nets[j].Bank })
			return nets, excluded
		}
		out[worst] = true
		excluded = append(excluded, worst)
	}
}

func TestPlanNetsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1404))
	codes := []string{"010", "012", "015", "017", "054", "057"}
	for range 3000 {
		nb := 2 + rng.IntN(len(codes)-1)
		balances := map[string]int64{}
		for _, c := range codes[:nb] {
			balances[c] = rng.Int64N(80) - 5
		}
		var obs []Obligation
		for range rng.IntN(15) {
			from := rng.IntN(nb)
			to := (from + 1 + rng.IntN(nb-1)) % nb
			obs = append(obs, Obligation{codes[from], codes[to], 1 + rng.Int64N(60)})
		}
		settle, excluded, err := PlanNets(obs, balances)
		if err != nil {
			t.Fatal(err)
		}
		wantSettle, wantExcluded := planNetsReference(obs, balances)
		if !slices.Equal(settle, wantSettle) || !slices.Equal(excluded, wantExcluded) {
			t.Fatalf("PlanNets(%v, %v) = %v, %v; reference %v, %v", obs, balances, settle, excluded, wantSettle, wantExcluded)
		}
		for _, n := range settle {
			if n.AmountRial > 0 && n.AmountRial > balances[n.Bank] {
				t.Fatalf("%s owes %d with %d", n.Bank, n.AmountRial, balances[n.Bank])
			}
		}
		if err := CheckNets(settle); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkPlanNets(b *testing.B) {
	// A PAYA cycle's worth: every pair of 30 banks, aggregated.
	rng := rand.New(rand.NewPCG(6, 1404))
	var obs []Obligation
	balances := map[string]int64{}
	for i := range 30 {
		for j := range 30 {
			if i != j {
				obs = append(obs, Obligation{codeOf(i), codeOf(j), 1 + rng.Int64N(1_000_000_000)})
			}
		}
		balances[codeOf(i)] = rng.Int64N(2_000_000_000)
	}
	for b.Loop() {
		if _, _, err := PlanNets(obs, balances); err != nil {
			b.Fatal(err)
		}
	}
}

func codeOf(i int) string { return string([]byte{'0', byte('1' + i/10), byte('0' + i%10)}) }
