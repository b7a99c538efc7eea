package sim_test

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/tasvieh/tasvieh/sim"
)

func TestBehaviourValidate(t *testing.T) {
	tests := []struct {
		name string
		b    sim.Behaviour
		ok   bool
	}{
		{"default", sim.BehaviourDefault(), true},
		{"offline", sim.Behaviour{}, true},
		{"slowest", sim.Behaviour{Online: true, LatencyMS: sim.LatencyMSMax, FailureRate: 1}, true},
		{"half failing", sim.Behaviour{Online: true, LatencyMS: 250, FailureRate: 0.5}, true},
		{"negative latency", sim.Behaviour{LatencyMS: -1}, false},
		{"latency beyond a minute", sim.Behaviour{LatencyMS: sim.LatencyMSMax + 1}, false},
		{"negative rate", sim.Behaviour{FailureRate: -0.01}, false},
		{"rate above one", sim.Behaviour{FailureRate: 1.01}, false},
		{"NaN rate", sim.Behaviour{FailureRate: math.NaN()}, false},
		{"infinite rate", sim.Behaviour{FailureRate: math.Inf(1)}, false},
	}
	for _, tc := range tests {
		err := tc.b.Validate()
		if got := err == nil; got != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, sim.ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", tc.name, err)
		}
	}
	if d := sim.BehaviourDefault(); !d.Online || d.LatencyMS != 0 || d.FailureRate != 0 {
		t.Errorf("BehaviourDefault() = %+v, want online, no latency, no failures", d)
	}
}

// TestBehaviourFails checks the draw: deterministic per (seed, key), and over 10,000 keys its share of
// failures matches the rate. The bound is five binomial standard deviations (about 230 at rate 0.3), so a
// correct hash cannot miss it, and the draws are fixed by the seed, so the test cannot flake.
func TestBehaviourFails(t *testing.T) {
	const draws = 10_000
	for _, rate := range []float64{0, 0.01, 0.3, 0.5, 0.99, 1} {
		b := sim.Behaviour{Online: true, FailureRate: rate}
		for _, seed := range []uint64{1, 42} {
			fails := 0
			for i := range draws {
				key := "054/ref-" + strconv.Itoa(i)
				f := b.Fails(seed, key)
				if f != b.Fails(seed, key) {
					t.Fatalf("rate %v seed %d: key %s fails one way, then the other", rate, seed, key)
				}
				if f {
					fails++
				}
			}
			want := rate * draws
			bound := 5 * math.Sqrt(draws*rate*(1-rate))
			if math.Abs(float64(fails)-want) > bound {
				t.Errorf("rate %v seed %d: %d of %d failed, want %v ± %.0f", rate, seed, fails, draws, want, bound)
			}
		}
	}
}

// TestBehaviourFailsSeed checks the seed matters: two seeds fail different requests at the same rate.
func TestBehaviourFailsSeed(t *testing.T) {
	b := sim.Behaviour{Online: true, FailureRate: 0.5}
	differ := 0
	for i := range 1000 {
		key := "ref-" + strconv.Itoa(i)
		if b.Fails(1, key) != b.Fails(2, key) {
			differ++
		}
	}
	// Independent draws differ half the time: 500 ± 16; fewer than 400 means the seed barely enters.
	if differ < 400 || differ > 600 {
		t.Errorf("seeds 1 and 2 disagree on %d of 1000 requests, want about 500", differ)
	}
}
