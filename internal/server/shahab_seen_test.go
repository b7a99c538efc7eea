package server

import (
	"testing"

	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
)

// TestSeenFilterNeverForgets: every id added answers maybe; of ids never added, nearly all answer no (the
// filter's point), and a no is never wrong.
func TestSeenFilterNeverForgets(t *testing.T) {
	f := newSeenFilter()
	id := func(i int) ledger.ID { return ledger.ID(ids.Derive("test.seen", string(rune(i)), "x")) }
	for i := range 100_000 {
		f.add(id(i))
	}
	for i := range 100_000 {
		if !f.maybe(id(i)) {
			t.Fatalf("id %d added, answered certainly new", i)
		}
	}
	false_ := 0
	for i := 100_000; i < 200_000; i++ {
		if f.maybe(id(i)) {
			false_++
		}
	}
	if false_ > 100 { // expected about (1-e^(-4·10^5/2^26))^4 ≈ 10^-9 of them: a handful at most is a fault
		t.Errorf("%d of 100,000 new ids answered maybe", false_)
	}
}
