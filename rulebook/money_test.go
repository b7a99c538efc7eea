package rulebook

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLimitAllows(t *testing.T) {
	seed := Limit{AmountRial: 150_000_000}                        // under 150,000,000
	from1400 := Limit{AmountRial: 1_000_000_000, Inclusive: true} // up to 1,000,000,000
	tests := []struct {
		name   string
		l      Limit
		amount int64
		want   bool
	}{
		{"seed: one rial under the cap", seed, 149_999_999, true},
		{"seed: the cap itself is over", seed, 150_000_000, false},
		{"seed: one rial over", seed, 150_000_001, false},
		{"seed: one rial", seed, 1, true},
		{"1400: one rial under", from1400, 999_999_999, true},
		{"1400: the cap itself is allowed", from1400, 1_000_000_000, true},
		{"1400: one rial over", from1400, 1_000_000_001, false},
		{"1400: the largest amount", from1400, math.MaxInt64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Allows(tt.amount); got != tt.want {
				t.Errorf("%s Allows(%d) = %t, want %t", tt.l, tt.amount, got, tt.want)
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		l    Limit
		want string
	}{
		{Limit{AmountRial: 150_000_000}, "< 150,000,000 rial"},
		{Limit{AmountRial: 2_000_000_000, Inclusive: true}, "≤ 2,000,000,000 rial"},
		{Limit{AmountRial: 999}, "< 999 rial"},
		{Limit{AmountRial: 1000, Inclusive: true}, "≤ 1,000 rial"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestGroupThousands(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {25_000, "25,000"},
		{150_000_000, "150,000,000"}, {-1_234_567, "-1,234,567"},
		{math.MaxInt64, "9,223,372,036,854,775,807"}, {math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := groupThousands(tt.n); got != tt.want {
			t.Errorf("groupThousands(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFeeFor(t *testing.T) {
	satna := Fee{Percent: 200, MaxRial: 250_000}               // 0.02 %, max 250,000
	paya := Fee{Percent: 100, MinRial: 2_000, MaxRial: 25_000} // 0.01 %, min 2,000, max 25,000
	bare := Fee{Percent: 100}                                  // 0.01 %, no bounds: shows the rounding
	flat := Fee{MinRial: 50_000, MaxRial: 50_000}
	tests := []struct {
		name   string
		f      Fee
		amount int64
		want   int64
	}{
		{"rounding: exact", bare, 12_340_000, 1_234},
		{"rounding: half goes up", bare, 12_345_000, 1_235},
		{"rounding: just under half goes down", bare, 12_344_999, 1_234},
		{"rounding: half a rial becomes one", bare, 5_000, 1},
		{"rounding: under half a rial is nothing", bare, 4_999, 0},
		{"rounding: zero", bare, 0, 0},
		{"SATNA: 150,000,000", satna, 150_000_000, 30_000},
		{"SATNA: 1,000,000,000", satna, 1_000_000_000, 200_000},
		{"SATNA: exactly the max", satna, 1_250_000_000, 250_000},
		{"SATNA: half a rial over the max, rounded up then cut", satna, 1_250_002_500, 250_000},
		{"SATNA: far over the max", satna, 2_000_000_000, 250_000},
		{"SATNA: no minimum", satna, 1, 0},
		{"PAYA: under the min", paya, 10_000_000, 2_000},
		{"PAYA: rounds up to the min", paya, 19_999_999, 2_000},
		{"PAYA: exactly the min", paya, 20_000_000, 2_000},
		{"PAYA: just above the min", paya, 20_010_000, 2_001},
		{"PAYA: between", paya, 100_000_000, 10_000},
		{"PAYA: exactly the max", paya, 250_000_000, 25_000},
		{"PAYA: half a rial over the max", paya, 250_005_000, 25_000},
		{"PAYA: far over the max", paya, 1_000_000_000, 25_000},
		{"PAYA: one rial", paya, 1, 2_000},
		{"flat", flat, 987_654_321, 50_000},
		{"none", Fee{}, 1_000_000_000, 0},
		{"100 %", Fee{Percent: rateMax}, 123_456_789, 123_456_789},
		{"largest amount, 0.02 %", Fee{Percent: 200}, math.MaxInt64, 1_844_674_407_370_955},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.For(tt.amount); got != tt.want {
				t.Errorf("%s For(%d) = %d, want %d", tt.f, tt.amount, got, tt.want)
			}
		})
	}
}

// TestFeeForMatchesBigInt checks For's 128-bit arithmetic against math/big
// on random amounts and rates, large ones included.
func TestFeeForMatchesBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	million := big.NewInt(rateOne)
	for i := 0; i < 100_000; i++ {
		amount := r.Int64N(math.MaxInt64)
		if i%2 == 0 {
			amount = r.Int64N(10_000_000_000)
		}
		rate := Rate(r.Int64N(rateMax + 1))
		// round half up: floor((amount*rate + 500000) / 1000000)
		want := new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(rate)))
		want.Add(want, big.NewInt(rateOne/2))
		want.Quo(want, million)
		if got := (Fee{Percent: rate}).For(amount); got != want.Int64() {
			t.Fatalf("Fee{%s}.For(%d) = %d, want %s", rate, amount, got, want)
		}
	}
}

func TestFeeForPanicsOnBugs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		f      Fee
		amount int64
	}{
		{"negative amount", Fee{Percent: 100}, -1},
		{"rate over 100 %", Fee{Percent: rateMax + 1}, 1},
		{"negative rate", Fee{Percent: -1}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("For(%d) with rate %d did not panic", tt.amount, tt.f.Percent)
				}
			}()
			tt.f.For(tt.amount)
		})
	}
}

func TestFeeString(t *testing.T) {
	tests := []struct {
		f    Fee
		want string
	}{
		{Fee{}, "none"},
		{Fee{MaxRial: 5}, "none"},
		{Fee{MinRial: 50_000, MaxRial: 50_000}, "flat 50,000 rial"},
		{Fee{MinRial: 50_000}, "flat 50,000 rial"},
		{Fee{Percent: 200, MaxRial: 250_000}, "0.02 %, max 250,000 rial"},
		{Fee{Percent: 100, MinRial: 2_000, MaxRial: 25_000}, "0.01 %, min 2,000 rial, max 25,000 rial"},
		{Fee{Percent: 15}, "0.0015 %"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%+v String() = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in          string
		want        Rate
		wantPercent string
	}{
		{"0.02", 200, "0.02"},
		{"0.01", 100, "0.01"},
		{"0.02%", 200, "0.02"},
		{" 0.02 % ", 200, "0.02"},
		{"0", 0, "0"},
		{"0.0000", 0, "0"},
		{"1", 10_000, "1"},
		{"1.5", 15_000, "1.5"},
		{"0.0001", 1, "0.0001"},
		{"100", 1_000_000, "100"},
		{"100.0000", 1_000_000, "100"},
		{"007.25", 72_500, "7.25"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err != nil {
				t.Fatalf("ParseRate(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseRate(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if p := got.Percent(); p != tt.wantPercent {
				t.Errorf("Percent() = %q, want %q", p, tt.wantPercent)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", "empty"},
		{"%", "empty"},
		{"-0.02", "bad character '-' at position 1"},
		{"0.00001", "more than 4 decimals at position 7"},
		{"100.0001", "above 100 %"},
		{"101", "above 100 %"},
		{"1e-4", "bad character 'e' at position 2"},
		{".5", "bad character '.' at position 1"},
		{"5.", "no digits after the point"},
		{"0.0.1", "bad character '.' at position 4"},
		{" 0,02", "bad character ',' at position 3"},
		{"0.02 %%", "bad character ' ' at position 5"},
		{strings.Repeat("0", 20), "longer than 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err == nil {
				t.Fatalf("ParseRate(%q) = %d, want an error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseRate(%q) error = %v, want ErrInvalid containing %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestRateJSON(t *testing.T) {
	var f Fee
	for _, in := range []string{
		`{"percent": "0.02", "max_rial": 250000}`,
		`{"percent": 0.02, "max_rial": 250000}`,
		`{"percent": "0.02 %", "max_rial": 250000}`,
	} {
		f = Fee{}
		if err := json.Unmarshal([]byte(in), &f); err != nil {
			t.Fatalf("Unmarshal(%s): %v", in, err)
		}
		if want := (Fee{Percent: 200, MaxRial: 250_000}); f != want {
			t.Errorf("Unmarshal(%s) = %+v, want %+v", in, f, want)
		}
	}
	b, err := json.Marshal(Fee{Percent: 100, MinRial: 2_000, MaxRial: 25_000})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if got, want := string(b), `{"percent":"0.01","min_rial":2000,"max_rial":25000}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	if err := json.Unmarshal([]byte(`{"percent": 0.00001}`), &f); !errors.Is(err, ErrInvalid) {
		t.Errorf("Unmarshal of 0.00001: error %v, want ErrInvalid", err)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0.02", "0.01 %", "100", "0.0001", "1.5%", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRate(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if r < 0 || r > rateMax {
			t.Fatalf("ParseRate(%q) = %d, outside 0..%d", s, r, rateMax)
		}
		for _, text := range []string{r.Percent(), r.String()} {
			again, err := ParseRate(text)
			if err != nil || again != r {
				t.Fatalf("ParseRate(%q) = %d; ParseRate(%q) = %d, %v", s, r, text, again, err)
			}
		}
	})
}

func BenchmarkFeeFor(b *testing.B) {
	f := Fee{Percent: 100, MinRial: 2_000, MaxRial: 25_000}
	var sum int64
	amount := int64(123_456_789)
	for b.Loop() {
		sum += f.For(amount)
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}

func BenchmarkLimitAllows(b *testing.B) {
	l := Limit{AmountRial: 150_000_000}
	n := 0
	for i := int64(0); b.Loop(); i++ {
		if l.Allows(i * 1_000) {
			n++
		}
	}
	if n < 0 {
		b.Fatal(n)
	}
}
