package ledger

import (
	"testing"
	"time"
)

// One client-chosen UUIDv7 dated far ahead of the ledger's clock stalls eviction by time for every id held
// after it (the queue is FIFO and stops at the first key not yet due), so memory grows until the count cap;
// when the cap then evicts it, the horizon jumps to its far-future date and every new id of every caller is
// "missing": a storage look-up per transfer until the clock reaches that date.
func TestAdversaryFarFutureIDStallsEvictionAndPoisonsHorizon(t *testing.T) {
	now := int64(1_800_000_000) * 1e9
	window := int64(time.Second)
	l, iss, a, b := retained(t, now, window, 100)
	l.Begin(now)
	mustResults(t, "fund", l.Submit([]Transfer{{ID: v7(now, 1), DebitAccountID: iss, CreditAccountID: a, Amount: 1e9, Ledger: LedgerCBI, Code: 1}}), OK)
	far := now + int64(50*365*24*time.Hour)
	// A ledger with a window refuses it (id_time_future), so it never enters memory.
	mustResults(t, "far", l.Submit([]Transfer{{ID: v7(far, 2), DebitAccountID: a, CreditAccountID: b, Amount: 1, Ledger: LedgerCBI, Code: 1}}), IDTimeFuture)
	l.End()
	for i := 0; i < 50; i++ {
		at := now + int64(i+1)*int64(time.Second)
		l.Begin(at)
		mustResults(t, "normal", l.Submit([]Transfer{{ID: v7(at, uint64(100+i)), DebitAccountID: a, CreditAccountID: b, Amount: 1, Ledger: LedgerCBI, Code: 1}}), OK)
		l.End()
	}
	later := now + int64(60*time.Second)
	l.Begin(later)
	held := l.Stats().Transfers
	l.End()
	if held > 5 {
		t.Errorf("window of 1s, 60s later: %d transfers still held (eviction stalled behind the far-future id)", held)
	}
	// Now exceed the cap so the far-future id is evicted by count.
	for i := 0; i < 120; i++ {
		at := later + int64(i+1)*int64(time.Millisecond)
		l.Begin(at)
		l.Submit([]Transfer{{ID: v7(at, uint64(1000+i)), DebitAccountID: a, CreditAccountID: b, Amount: 1, Ledger: LedgerCBI, Code: 1}})
		l.End()
	}
	at := later + int64(time.Second)
	if h := l.Horizon(); h > at {
		t.Errorf("horizon %s, far beyond the ledger's clock %s", time.Unix(0, h).UTC(), time.Unix(0, at).UTC())
	}
	if m := l.Missing([]Transfer{{ID: v7(at, 9999)}}); len(m) != 0 {
		t.Errorf("a brand-new id minted now is reported missing (a storage read for every transfer): %v", m)
	}
}
