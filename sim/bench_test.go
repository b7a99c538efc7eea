package sim_test

import (
	"testing"

	"github.com/tasvieh/tasvieh/sim"
)

// BenchmarkBook measures generating a default-sized book (1,000 customers), as `serve` does once per
// simulated bank at start-up.
func BenchmarkBook(b *testing.B) {
	melli := bank(b, "017")
	cfg := sim.Config{Seed: 1, Customers: 1000, Key: testKey}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sim.Book(melli, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassify measures the check a rail makes on every identifier it handles: the common case is an
// ordinary SHEBA that is not magic.
func BenchmarkClassify(b *testing.B) {
	melli := bank(b, "017")
	value := book(b, melli, 1, 1)[0].SHEBA
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := sim.Classify(melli, value); ok {
			b.Fatal("an ordinary SHEBA classified as magic")
		}
	}
}
