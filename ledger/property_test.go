package ledger

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// harness drives a Ledger and the reference model in lockstep over generated batches and checks, after
// every batch, everything the ledger promises. Two more ledgers follow the same batches: twin, restored from
// the live one's state mid-run, must decide them identically; lean keeps only a retention window of ids in
// memory and, like the writer, looks up in its own store whatever Missing names before deciding; it follows a
// model of its own, which knows its window (beyond which new UUIDv7 ids are refused).
type harness struct {
	tb         testing.TB
	l          *Ledger
	twin       *Ledger // nil before it is restored
	m          *model
	lean       *Ledger
	leanMax    int // lean's entriesMax
	mLean      *model
	store      leanStore
	w          *world
	applied    []Transfer  // every transfer the live ledger applied so far
	rejections []Rejection // every rejection it remembered so far
	seen       map[Result]int
	proposals  [2]int // proposals that failed, and that applied
	restored   [2]int // transfers and rejections the lean ledger looked up
	netApplied int    // members of FlagNet chains applied
}

// leanStore is what the lean ledger's writer persisted: every transfer applied, the state of every pending
// transfer as its batches changed it, every rejection remembered.
type leanStore struct {
	transfers map[ID]Transfer
	state     map[ID]PendingState
	rejected  map[ID]Rejection
}

func (s *leanStore) persist(b Batch) {
	for _, t := range b.Applied {
		s.transfers[t.ID] = t
		switch {
		case t.Flags&FlagPending != 0:
			s.state[t.ID] = PendingActive
		case t.Flags&FlagPostPending != 0:
			s.state[t.PendingID] = PendingPosted
		case t.Flags&FlagVoidPending != 0:
			s.state[t.PendingID] = PendingVoided
		}
	}
	for _, id := range b.Expired {
		s.state[id] = PendingExpired
	}
	for _, r := range b.Rejected {
		s.rejected[r.ID] = r
	}
}

func newHarness(tb testing.TB, src source) *harness {
	w := newWorld(src)
	// The lean ledger's retention: a window of 1 or 3 s, a cap of 8 or 40 ids, or both.
	window := []int64{0, nsPerSecond, 3 * nsPerSecond}[w.pick(3)]
	leanMax := []int{0, 8, 40}[w.pick(3)]
	if window == 0 && leanMax == 0 {
		window = nsPerSecond
	}
	h := &harness{tb: tb, l: New(), m: newModel(0), lean: New(), leanMax: leanMax, mLean: newModel(window), w: w,
		store: leanStore{transfers: map[ID]Transfer{}, state: map[ID]PendingState{}, rejected: map[ID]Rejection{}},
		seen:  map[Result]int{}}
	h.lean.SetRetention(w.now, window, leanMax)
	for i, r := range h.l.CreateAccounts(w.accounts) {
		if r != AccountOK {
			tb.Fatalf("account %d: %s", i, r)
		}
		h.m.addAccount(w.accounts[i])
		h.mLean.addAccount(w.accounts[i])
	}
	h.lean.CreateAccounts(w.accounts)
	return h
}

func sameBatch(a, b Batch) bool {
	return slices.Equal(a.Results, b.Results) && slices.Equal(a.Applied, b.Applied) &&
		slices.Equal(a.Expired, b.Expired) && slices.Equal(a.Rejected, b.Rejected) && slices.Equal(a.Accounts, b.Accounts)
}

// run decides the calls of one batch on l, between Begin and End (or with Decide when commit is set), and
// returns the batch with Results filled from every call. lookup, when set, runs right after Begin.
func run(l *Ledger, now int64, calls [][]Transfer, propose []bool, commit bool, lookup func(*Ledger)) (Batch, []bool) {
	if commit {
		return l.Decide(now, calls[0]), nil
	}
	l.Begin(now)
	if lookup != nil {
		lookup(l)
	}
	var results []Result
	var ok []bool
	for i, c := range calls {
		if propose[i] {
			r, applied := l.Propose(c)
			results = append(results, r...)
			ok = append(ok, applied)
		} else {
			results = append(results, l.Submit(c)...)
		}
	}
	b := l.End()
	b.Results = results
	return b, ok
}

// lookup is the writer's storage path for the lean ledger: it checks what retention allows it to hold, then
// loads every id that Missing names and the store has.
func (h *harness) lookup(batch []Transfer) func(*Ledger) {
	return func(l *Ledger) {
		tb := h.tb
		// entriesMax holds after Begin's eviction, unless every id held is a pending transfer that was active
		// when it ran (Begin evicts before it expires; the model has not seen this batch yet).
		if s := l.Stats(); h.leanMax > 0 && s.Transfers+s.Rejected > h.leanMax {
			activeThen := 0
			for id, st := range l.pending {
				if st == PendingActive || st == PendingExpired && h.mLean.state[id] == PendingActive {
					activeThen++
				}
			}
			if s.Rejected != 0 || s.Transfers != activeThen {
				tb.Fatalf("lean ledger holds %+v, more than %d", s, h.leanMax)
			}
		}
		for _, id := range l.Missing(batch) {
			if l.Holds(id) {
				tb.Fatalf("Missing named %s, which is held", id)
			}
			if t, ok := h.store.transfers[id]; ok {
				st := h.store.state[id]
				if st == PendingActive {
					tb.Fatalf("active pending transfer %s was evicted", id)
				}
				l.RestoreTransfer(t, st)
				h.restored[0]++
			} else if r, ok := h.store.rejected[id]; ok {
				l.RestoreRejected(id, r.Result, r.At)
				h.restored[1]++
			}
		}
	}
}

// expect runs the calls of one batch on model m and checks the ledger's batch b (and which proposals applied)
// against it.
func (h *harness) expect(what string, m *model, now int64, batch []Transfer, calls [][]Transfer, propose []bool, b Batch,
	proposed []bool) {
	tb := h.tb
	tb.Helper()
	var mb modelBatch
	var results []Result
	var modelProposed []bool
	m.begin(now, &mb)
	for i, c := range calls {
		if propose[i] {
			r, ok := m.propose(now, c, &mb)
			results = append(results, r...)
			modelProposed = append(modelProposed, ok)
			h.proposals[btoi(ok)]++
		} else {
			results = append(results, m.submit(now, c, true, &mb)...)
		}
	}
	if !slices.Equal(b.Results, results) {
		for i := range batch {
			if b.Results[i] != results[i] {
				tb.Errorf("%s: transfer %d %+v: got %s, model %s", what, i, batch[i], b.Results[i], results[i])
			}
		}
		tb.FailNow()
	}
	if !slices.Equal(proposed, modelProposed) {
		tb.Fatalf("%s: proposals applied %v, model %v", what, proposed, modelProposed)
	}
	if !slices.Equal(b.Applied, mb.applied) {
		tb.Fatalf("%s: applied:\n got %+v\nwant %+v", what, b.Applied, mb.applied)
	}
	if !slices.Equal(b.Expired, mb.expired) {
		tb.Fatalf("%s: expired: got %v, want %v", what, b.Expired, mb.expired)
	}
	if !slices.Equal(b.Rejected, mb.rejected) {
		tb.Fatalf("%s: rejected: got %v, want %v", what, b.Rejected, mb.rejected)
	}
	for _, r := range b.Results {
		h.seen[r]++
	}
}

// checkState checks ledger l against model m after a batch b: balances and flags, the accounts b lists,
// invariants, conservation and floors, pending states, remembered rejections and counts. A retaining ledger
// (full unset) need only agree on what it holds, and must hold every active pending transfer.
func (h *harness) checkState(what string, l *Ledger, m, prev *model, b Batch, full bool) {
	tb := h.tb
	tb.Helper()
	changed := map[ID]bool{}
	for _, a := range h.w.accounts {
		got, ok := l.Account(a.ID)
		ma, pa := m.accts[a.ID], prev.accts[a.ID]
		if !ok || got.DebitsPending != ma.debPend || got.DebitsPosted != ma.debPost ||
			got.CreditsPending != ma.credPend || got.CreditsPosted != ma.cred || got.Flags != ma.flags {
			tb.Fatalf("%s: account %s: got %+v, model %+v", what, a.ID, got, *ma)
		}
		if *ma != *pa {
			changed[a.ID] = true
		}
	}
	if len(b.Accounts) != len(changed) {
		tb.Fatalf("%s: Batch.Accounts has %d accounts, %d changed", what, len(b.Accounts), len(changed))
	}
	for _, a := range b.Accounts {
		live, _ := l.Account(a.ID)
		if !changed[a.ID] || a != live {
			tb.Fatalf("%s: Batch.Accounts: %+v (changed %v, live %+v)", what, a, changed[a.ID], live)
		}
		delete(changed, a.ID) // a second listing would now fail
	}
	if err := l.CheckInvariants(); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	// Conservation: per ledger the balances sum to zero; floors hold.
	sums := map[LedgerID]*big.Int{}
	for _, a := range h.w.accounts {
		live, _ := l.Account(a.ID)
		if sums[a.Ledger] == nil {
			sums[a.Ledger] = new(big.Int)
		}
		sums[a.Ledger].Add(sums[a.Ledger], big.NewInt(live.CreditsPosted))
		sums[a.Ledger].Sub(sums[a.Ledger], big.NewInt(live.DebitsPosted))
		if live.Flags&FlagNegativeAllowed == 0 && live.Available() < 0 {
			tb.Fatalf("%s: account %s below its floor: %+v", what, a.ID, live)
		}
	}
	for id, s := range sums {
		if s.Sign() != 0 {
			tb.Fatalf("%s: ledger %d: balances sum to %v", what, id, s)
		}
	}
	// Pending states, remembered rejections and counts.
	active := 0
	for id, st := range m.state {
		got, ok := l.Pending(id)
		if st == PendingActive {
			active++
		}
		if (full || st == PendingActive || ok) && (!ok || got != st) {
			tb.Fatalf("%s: pending %s: got %s, %v; model %s", what, id, got, ok, st)
		}
	}
	for id, r := range m.rejected {
		if got, ok := l.Rejection(id); (full || ok) && (!ok || got != r) {
			tb.Fatalf("%s: rejection of %s: got %s, %v; model %s", what, id, got, ok, r)
		}
	}
	for id, t := range m.xfers {
		if got, ok := l.Transfer(id); (full || ok) && (!ok || got != t) {
			tb.Fatalf("%s: transfer %s: got %+v, %v; model %+v", what, id, got, ok, t)
		}
	}
	s := l.Stats()
	if s.PendingActive != active || s.Accounts != len(h.w.accounts) || s.LastTimestamp != m.last ||
		full && (s.Transfers != len(m.xfers) || s.Rejected != len(m.rejected)) ||
		s.Transfers > len(m.xfers) || s.Rejected > len(m.rejected) {
		tb.Fatalf("%s: stats %+v, model: %d transfers, %d rejected, %d active, last %d", what, s, len(m.xfers),
			len(m.rejected), active, m.last)
	}
}

// step runs one batch: one Decide, or several Submit and Propose calls between Begin and End.
func (h *harness) step() {
	tb := h.tb
	tb.Helper()
	if id, f, ok := h.w.flags(); ok {
		for _, l := range []*Ledger{h.l, h.twin, h.lean} {
			if l == nil {
				continue
			}
			if err := l.SetAccountFlags(id, f); err != nil {
				tb.Fatalf("SetAccountFlags: %v", err)
			}
		}
		h.m.accts[id].flags = f
		h.mLean.accts[id].flags = f
	}
	now := h.w.tick()
	batch := h.w.batch()
	input := slices.Clone(batch)
	calls, propose := h.w.calls(batch)
	commit := len(calls) == 1 && !propose[0] && h.w.pick(2) == 0

	b, proposed := run(h.l, now, calls, propose, commit, nil)
	if !slices.Equal(batch, input) {
		tb.Fatal("the ledger changed its input")
	}
	if h.twin != nil {
		if tb2, _ := run(h.twin, now, calls, propose, commit, nil); !sameBatch(tb2, b) {
			tb.Fatalf("restored twin decided differently:\nlive %+v\ntwin %+v", b, tb2)
		}
	}
	prev := h.m.clone()
	h.expect("live", h.m, now, batch, calls, propose, b, proposed)
	h.applied = append(h.applied, b.Applied...)
	h.rejections = append(h.rejections, b.Rejected...)
	for _, t := range b.Applied {
		if t.Flags&(FlagNet|FlagLinked) == FlagNet|FlagLinked {
			h.netApplied++
		}
	}
	h.w.observe(batch, b.Results)
	h.checkState("live", h.l, h.m, prev, b, true)

	lb, leanProposed := run(h.lean, now, calls, propose, false, h.lookup(batch))
	prevLean := h.mLean.clone()
	h.expect("lean", h.mLean, now, batch, calls, propose, lb, leanProposed)
	h.store.persist(lb)
	h.checkState("lean", h.lean, h.mLean, prevLean, lb, false)

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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// restoreTwin builds a second Ledger from l's state the way the writer does at start-up: accounts with their
// balances, then every transfer (in a shuffled order) with its pending state, then every remembered rejection.
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
	for _, rj := range h.rejections {
		r.RestoreRejected(rj.ID, rj.Result, rj.At)
	}
	if err := r.CheckInvariants(); err != nil {
		h.tb.Fatalf("restored: %v", err)
	}
	if r.Stats() != h.l.Stats() {
		h.tb.Fatalf("restored stats %+v, live %+v", r.Stats(), h.l.Stats())
	}
	h.twin = r
}

// TestPropertyAgainstModel: 200 seeded runs of 50 random batches each — duplicates within and across batches,
// remembered rejections, linked and FlagNet chains with failing members, pending transfers posted in full or
// in part, voided and expired, blocked and closed accounts, overflow-sized amounts, bad references, a clock
// that stalls and steps back, batches cut into several Submit and Propose calls — checked against the
// reference model after every batch. Halfway through each run a restored twin joins and must decide every
// later batch identically, and a lean ledger with a short retention window, looking up what it forgot, must
// decide every batch identically from the start.
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
			h.step()
		}
		if t.Failed() {
			t.Fatalf("run %d failed", run)
		}
	}
}

// TestPropertyCoversEveryResult makes sure the generator reaches every result code, proposals both apply and
// fail, netted chains apply, and the lean ledger looks up both forgotten transfers and forgotten rejections, so
// the property test is not passing by never testing a rule.
func TestPropertyCoversEveryResult(t *testing.T) {
	seen := map[Result]int{}
	var proposals, restored [2]int
	netApplied := 0
	for run := range 60 {
		rng := rand.New(rand.NewPCG(uint64(run), 0x7a5e))
		h := newHarness(t, rng)
		for range 50 {
			h.step()
		}
		for r, n := range h.seen {
			seen[r] += n
		}
		for i := range 2 {
			proposals[i] += h.proposals[i]
			restored[i] += h.restored[i]
		}
		netApplied += h.netApplied
	}
	for r := OK; r < resultCount; r++ {
		if seen[r] == 0 {
			t.Errorf("the generator never produced %s", r)
		}
	}
	if proposals[0] == 0 || proposals[1] == 0 {
		t.Errorf("proposals failed %d times and applied %d times", proposals[0], proposals[1])
	}
	if restored[0] == 0 || restored[1] == 0 || netApplied == 0 {
		t.Errorf("looked up %d transfers and %d rejections; applied %d netted members", restored[0], restored[1], netApplied)
	}
	t.Logf("results seen: %v; proposals failed %d, applied %d; looked up %d transfers, %d rejections; applied %d netted members",
		seen, proposals[0], proposals[1], restored[0], restored[1], netApplied)
}
