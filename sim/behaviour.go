package sim

import (
	"fmt"
	"math"
)

// LatencyMSMax bounds Behaviour.LatencyMS: one minute. It is longer than any counterparty deadline of the
// rails (a card-to-card transfer answers within the request, seconds), so more would test nothing that the
// receiver_timeout magic values do not, while still holding a caller for as long as it asked.
const LatencyMSMax = 60_000

// Behaviour is how a simulated bank answers, set per bank by the operator.
type Behaviour struct {
	Online      bool    // an offline bank answers nothing; the zero Behaviour is offline, see BehaviourDefault
	LatencyMS   int     // added to every answer, 0–LatencyMSMax milliseconds
	FailureRate float64 // the share of requests that fail, 0–1, drawn by Fails
}

// BehaviourDefault is a simulated bank's behaviour until the operator changes it: online, no added latency,
// no failures.
func BehaviourDefault() Behaviour { return Behaviour{Online: true} }

// Validate checks the fields of b, naming the first that is wrong.
func (b Behaviour) Validate() error {
	if b.LatencyMS < 0 || b.LatencyMS > LatencyMSMax {
		return fmt.Errorf("sim: behaviour latency_ms %d not in 0–%d: %w", b.LatencyMS, LatencyMSMax, ErrInvalid)
	}
	if math.IsNaN(b.FailureRate) || b.FailureRate < 0 || b.FailureRate > 1 {
		return fmt.Errorf("sim: behaviour failure_rate %v not in 0–1: %w", b.FailureRate, ErrInvalid)
	}
	return nil
}

// Fails reports whether the request named key fails under b's failure rate, for the run's seed. It is a
// hash of seed and key, not a random draw: the same request fails, or not, the same way every time it is
// replayed, and over many keys the share that fail is FailureRate (0 never fails, 1 always does). key
// should be what identifies the request to the rail, such as the sending bank and its reference. Fails
// does not look at Online; an offline bank fails everything before it is asked.
func (b Behaviour) Fails(seed uint64, key string) bool {
	h := uint64(fnvOffset)
	for i := range 8 { // the seed's bytes, little-endian, then the key's: FNV-1a over both
		h ^= (seed >> (8 * i)) & 0xff
		h *= fnvPrime
	}
	h = fnv64(h, key)
	// 53 bits make a float64 in [0, 1) exactly; mixing first spreads FNV's weak low bits.
	u := float64(mix64(h)>>11) / (1 << 53)
	return u < b.FailureRate
}
