package ledger

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// harness drives a Ledger and the reference model in lockstep over generated batches and checks, after
// every batch, everything the ledger promises.
type harness struct {
	tb      testing.TB
	l       *Ledger
	twin    *Ledger // a Ledger restored from l's state mid-run, fed the same batches; nil before
	m       *model
	w       *world
	applied []Transfer // every transfer applied so far
}

func newHarness(tb testing.TB, src source) *harness {
	h := &harness{tb: tb, l: New(), m: newModel(), w: newWorld(src)}
	for i, r := range h.l.CreateAccounts(h.w.accounts) {
		if r != AccountOK {
			tb.Fatalf("account %d: %s", i, r)
		}
		h.m.addAccount(h.w.accounts[i])
	}
	return h
}

func sameBatch(a, b Batch) bool {
	return slices.Equal(a.Results, b.Results) && slices.Equal(a.Applied, b.Applied) &&
		slices.Equal(a.Expired, b.Expired) && slices.Equal(a.Accounts, b.Accounts)
}

// step runs one batch. With roundTrip it first commits the batch, rolls it back, checks the state is exactly
// as before, and commits it again, which must give the very same Batch.
func (h *harness) step(roundTrip bool) {
	tb := h.tb
	tb.Helper()
	if id, f, ok := h.w.flags(); ok {
		if err := h.l.SetAccountFlags(id, f); err != nil {
			tb.Fatalf("SetAccountFlags: %v", err)
		}
		if h.twin != nil {
			if err := h.twin.SetAccountFlags(id, f); err != nil {
				tb.Fatalf("twin SetAccountFlags: %v", err)
			}
		}
		h.m.accts[id].flags = f
	}
	now := h.w.tick()
	batch := h.w.batch()
	input := slices.Clone(batch)

	var b Batch
	if roundTrip {
		before := takeSnapshot(h.l)
		first := h.l.Commit(now, batch)
		h.l.Rollback(first)
		assertSameState(tb, "after Rollback", takeSnapshot(h.l), before)
		b = h.l.Commit(now, batch)
		if !sameBatch(first, b) {
			tb.Fatalf("commit after rollback differs:\nfirst %+v\nagain %+v", first, b)
		}
	} else {
		b = h.l.Commit(now, batch)
	}
	if !slices.Equal(batch, input) {
		tb.Fatal("Commit changed its input")
	}
	if h.twin != nil {
		if tb2 := h.twin.Commit(now, batch); !sameBatch(tb2, b) {
			tb.Fatalf("restored twin decided differently:\nlive %+v\ntwin %+v", b, tb2)
		}
	}

	prev := h.m.clone()
	var mb modelBatch
	h.m, mb = h.m.commit(now, batch)
	if !slices.Equal(b.Results, mb.results) {
		for i := range batch {
			if b.Results[i] != mb.results[i] {
				tb.Errorf("transfer %d %+v: got %s, model %s", i, batch[i], b.Results[i], mb.results[i])
			}
		}
		tb.FailNow()
	}
	if !slices.Equal(b.Applied, mb.applied) {
		tb.Fatalf("applied:\n got %+v\nwant %+v", b.Applied, mb.applied)
	}
	if !slices.Equal(b.Expired, mb.expired) {
		tb.Fatalf("expired: got %v, want %v", b.Expired, mb.expired)
	}
	h.applied = append(h.applied, b.Applied...)
	h.w.observe(batch, b.Results)

	// Balances and flags equal the model's; Batch.Accounts lists exactly the accounts that changed.
	changed := map[ID]bool{}
	for _, a := range h.w.accounts {
		got, ok := h.l.Account(a.ID)
		ma, pa := h.m.accts[a.ID], prev.accts[a.ID]
		if !ok || got.DebitsPending != ma.debPend || got.DebitsPosted != ma.debPost ||
			got.CreditsPending != ma.credPend || got.CreditsPosted != ma.cred || got.Flags != ma.flags {
			tb.Fatalf("account %s: got %+v, model %+v", a.ID, got, *ma)
		}
		if *ma != *pa {
			changed[a.ID] = true
		}
	}
	if len(b.Accounts) != len(changed) {
		tb.Fatalf("Batch.Accounts has %d accounts, %d changed", len(b.Accounts), len(changed))
	}
	for _, a := range b.Accounts {
		live, _ := h.l.Account(a.ID)
		if !changed[a.ID] || a != live {
			tb.Fatalf("Batch.Accounts: %+v (changed %v, live %+v)", a, changed[a.ID], live)
		}
		delete(changed, a.ID) // a second listing would now fail
	}

	if err := h.l.CheckInvariants(); err != nil {
		tb.Fatal(err)
	}
	// Conservation: per ledger the balances sum to zero; floors hold.
	sums := map[LedgerID]*big.Int{}
	for _, a := range h.w.accounts {
		live, _ := h.l.Account(a.ID)
		if sums[a.Ledger] == nil {
			sums[a.Ledger] = new(big.Int)
		}
		sums[a.Ledger].Add(sums[a.Ledger], big.NewInt(live.CreditsPosted))
		sums[a.Ledger].Sub(sums[a.Ledger], big.NewInt(live.DebitsPosted))
		if live.Flags&FlagNoNegative != 0 && live.Available() < 0 {
			tb.Fatalf("account %s below its floor: %+v", a.ID, live)
		}
	}
	for id, s := range sums {
		if s.Sign() != 0 {
			tb.Fatalf("ledger %d: balances sum to %v", id, s)
		}
	}
	// Pending states and counts.
	active := 0
	for id, st := range h.m.state {
		got, ok := h.l.Pending(id)
		if !ok || got != st {
			tb.Fatalf("pending %s: got %s, model %s", id, got, st)
		}
		if st == PendingActive {
			active++
		}
	}
	if s := h.l.Stats(); s.Transfers != len(h.m.xfers) || s.PendingActive != active || s.Accounts != len(h.w.accounts) ||
		s.LastTimestamp != h.m.last {
		tb.Fatalf("stats %+v, model: %d transfers, %d active, last %d", s, len(h.m.xfers), active, h.m.last)
	}
	// The audit: balances recomputed from the applied transfers alone equal the live ones.
	re, err := Recompute(h.w.accounts, h.applied, h.m.state)
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range h.w.accounts {
		live, _ := h.l.Account(a.ID)
		got := re[a.ID]
		if balancesOf(&got) != balancesOf(&live) {
			tb.Fatalf("recomputed %+v, live %+v", re[a.ID], live)
		}
	}
}

// restoreTwin builds a second Ledger from l's state the way the writer does at start-up: accounts with their
// balances, then every transfer (in a shuffled order) with its pending state.
func (h *harness) restoreTwin(shuffle func([]Transfer)) {
	r := New()
	for _, a := range h.w.accounts {
		live, _ := h.l.Account(a.ID)
		r.RestoreAccount(live)
	}
	all := slices.Clone(h.applied)
	shuffle(all)
	for _, t := range all {
		r.RestoreTransfer(t, h.m.state[t.ID])
	}
	if err := r.CheckInvariants(); err != nil {
		h.tb.Fatalf("restored: %v", err)
	}
	if r.Stats() != h.l.Stats() {
		h.tb.Fatalf("restored stats %+v, live %+v", r.Stats(), h.l.Stats())
	}
	h.twin = r
}

// TestPropertyAgainstModel: 200 seeded runs of 50 random batches each — duplicates, linked chains with failing
// members, pending transfers posted in full or in part, voided and expired, blocked and closed accounts,
// overflow-sized amounts, a clock that stalls and steps back — checked against the reference model after
// every batch. A fifth of the batches also round-trip through Rollback, and halfway through each run a
// restored twin joins and must decide every later batch identically.
func TestPropertyAgainstModel(t *testing.T) {
	runs, batches := 200, 50
	if testing.Short() {
		runs = 40
	}
	for run := range runs {
		rng := rand.New(rand.NewPCG(uint64(run), 0x7a5e))
		h := newHarness(t, rng)
		for i := range batches {
			if i == batches/2 {
				h.restoreTwin(func(ts []Transfer) { rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] }) })
			}
			h.step(rng.IntN(5) == 0)
		}
		if t.Failed() {
			t.Fatalf("run %d failed", run)
		}
	}
}

// TestPropertyCoversEveryResult makes sure the generator reaches every result code, so the property test is
// not passing by never testing a rule.
func TestPropertyCoversEveryResult(t *testing.T) {
	seen := map[Result]int{}
	for run := range 60 {
		rng := rand.New(rand.NewPCG(uint64(run), 0x7a5e))
		h := newHarness(t, rng)
		for range 50 {
			now := h.w.tick()
			if id, f, ok := h.w.flags(); ok {
				if err := h.l.SetAccountFlags(id, f); err != nil {
					t.Fatal(err)
				}
			}
			batch := h.w.batch()
			results := h.l.Commit(now, batch).Results
			h.w.observe(batch, results)
			for _, r := range results {
				seen[r]++
			}
		}
	}
	for r := OK; r < resultCount; r++ {
		if seen[r] == 0 {
			t.Errorf("the generator never produced %s", r)
		}
	}
	t.Logf("results seen: %v", seen)
}

// TestRollbackStack commits several batches in a row, rolls them all back newest first and checks the state
// is exactly as before them (pending expiry schedule included); committing them again gives the same batches.
func TestRollbackStack(t *testing.T) {
	for run := range 100 {
		rng := rand.New(rand.NewPCG(uint64(run), 0xb0b))
		h := newHarness(t, rng)
		for range 30 {
			depth := 1 + rng.IntN(4)
			nows := make([]int64, depth)
			batches := make([][]Transfer, depth)
			for k := range depth {
				nows[k], batches[k] = h.w.tick(), h.w.batch()
			}
			before := takeSnapshot(h.l)
			first := make([]Batch, depth)
			for k := range depth {
				first[k] = h.l.Commit(nows[k], batches[k])
			}
			for k := depth - 1; k >= 0; k-- {
				h.l.Rollback(first[k])
			}
			assertSameState(t, "after rolling back a stack of batches", takeSnapshot(h.l), before)
			for k := range depth {
				if again := h.l.Commit(nows[k], batches[k]); !sameBatch(again, first[k]) {
					t.Fatalf("run %d: batch %d differs after rollback:\nfirst %+v\nagain %+v", run, k, first[k], again)
				}
				h.w.observe(batches[k], first[k].Results)
			}
			if err := h.l.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
