package ledger

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// benchLedger makes a ledger with an issuance account and accounts floored, funded plentifully.
func benchLedger(b *testing.B, accounts int) (*Ledger, []ID) {
	b.Helper()
	l := New()
	iss := idOf('I', 0)
	accts := []Account{{ID: iss, Ledger: LedgerCBI, Kind: KindIssuance, Flags: FlagNegativeAllowed, Name: "issuance"}}
	ids := make([]ID, accounts)
	for i := range ids {
		ids[i] = idOf('B', uint64(i))
		accts = append(accts, Account{ID: ids[i], Ledger: LedgerCBI, Kind: KindSettlement, Name: "bank"})
	}
	l.CreateAccounts(accts)
	funding := make([]Transfer, accounts)
	for i, id := range ids {
		funding[i] = Transfer{ID: idOf('F', uint64(i)), DebitAccountID: iss, CreditAccountID: id, Amount: 1 << 50, Ledger: LedgerCBI, Code: 1}
	}
	for _, r := range l.Decide(t0, funding).Results {
		if r != OK {
			b.Fatal(r)
		}
	}
	return l, ids
}

// transfersMax is how many transfers a benchmark lets the idempotency index grow to before it starts over with
// a fresh ledger (untimed): a long run would otherwise measure a map of tens of millions of entries and the
// machine's memory, not the ledger.
const transfersMax = 4 << 20

func benchDecide(b *testing.B, batchLen, chainLen int) {
	l, ids := benchLedger(b, 100)
	batch := make([]Transfer, batchLen)
	for i := range batch {
		batch[i] = Transfer{DebitAccountID: ids[i%len(ids)], CreditAccountID: ids[(i*7+3)%len(ids)], Amount: int64(1 + i%1000),
			Ledger: LedgerCBI, Code: 2}
		if batch[i].DebitAccountID == batch[i].CreditAccountID {
			batch[i].CreditAccountID = ids[(i+1)%len(ids)]
		}
		if chainLen > 1 && (i+1)%chainLen != 0 && i != batchLen-1 {
			batch[i].Flags = FlagLinked
		}
	}
	var n uint64
	now := t0 + nsPerSecond
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range batch {
			n++
			binary.BigEndian.PutUint64(batch[i].ID[8:], n) // fresh ids, in time order like UUIDv7
			batch[i].ID[0] = 'T'
		}
		res := l.Decide(now, batch)
		if res.Results[0] != OK || len(res.Applied) != batchLen {
			b.Fatalf("%s, %d applied", res.Results[0], len(res.Applied))
		}
		now += 1_000_000
		if l.Stats().Transfers > transfersMax {
			b.StopTimer()
			l, ids = benchLedger(b, 100)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)*float64(batchLen)/b.Elapsed().Seconds(), "transfers/s")
}

// BenchmarkDecide decides batches of plain transfers across 100 floored accounts.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchDecide(b, n, 1) })
	}
}

// BenchmarkDecideLinked decides batches of linked chains of 4 (a small net settlement each).
func BenchmarkDecideLinked(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchDecide(b, n, 4) })
	}
}

// BenchmarkDecideNet decides batches of FlagNet chains of 4, each a cycle among floored accounts with nothing
// to spare: every chain applies only on its net effect.
func BenchmarkDecideNet(b *testing.B) {
	l := New()
	ids := make([]ID, 100)
	accts := make([]Account, len(ids))
	for i := range ids {
		ids[i] = idOf('B', uint64(i))
		accts[i] = Account{ID: ids[i], Ledger: LedgerCBI, Kind: KindSettlement, Name: "bank"}
	}
	l.CreateAccounts(accts)
	batch := make([]Transfer, 8000)
	for i := range batch {
		k := i / 4 % 25 * 4 // the cycle's first account
		batch[i] = Transfer{DebitAccountID: ids[k+i%4], CreditAccountID: ids[k+(i+1)%4], Amount: 100, Ledger: LedgerCBI, Flags: FlagNet}
		if i%4 != 3 {
			batch[i].Flags |= FlagLinked
		}
	}
	var n uint64
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range batch {
			n++
			binary.BigEndian.PutUint64(batch[i].ID[8:], n)
			batch[i].ID[0] = 'T'
		}
		res := l.Decide(now, batch)
		if res.Results[0] != OK || len(res.Applied) != len(batch) {
			b.Fatalf("%s, %d applied", res.Results[0], len(res.Applied))
		}
		now += 1_000_000
		if l.Stats().Transfers > transfersMax {
			b.StopTimer()
			l = New()
			l.CreateAccounts(accts)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(batch))/b.Elapsed().Seconds(), "transfers/s")
}

// BenchmarkDecideRetention decides batches of plain transfers with UUIDv7 ids on a ledger that keeps a
// window of them: the cost of holding and evicting ids, at a steady memory.
func BenchmarkDecideRetention(b *testing.B) {
	l, ids := benchLedger(b, 100)
	l.SetRetention(t0, 2*nsPerSecond, 0)
	batch := make([]Transfer, 8000)
	for i := range batch {
		batch[i] = Transfer{DebitAccountID: ids[i%100], CreditAccountID: ids[(i+1)%100], Amount: 1, Ledger: LedgerCBI}
	}
	var n uint64
	now := t0 + nsPerSecond
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range batch {
			n++
			batch[i].ID = v7(now, n)
		}
		if res := l.Decide(now, batch); len(res.Applied) != len(batch) {
			b.Fatalf("%d applied", len(res.Applied))
		}
		now += 10_000_000 // 10 ms a batch: the window holds 200 batches
	}
	b.ReportMetric(float64(b.N)*8000/b.Elapsed().Seconds(), "transfers/s")
	b.ReportMetric(float64(l.Stats().Transfers), "held")
}
