package ledger

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// restoreFrom rebuilds a Ledger the way the writer does at start-up, from what storage holds: the accounts
// with their balances, then every transfer with the state of the pending ones, then the remembered
// rejections. Transfers go in reverse timestamp order, to show order does not matter.
func restoreFrom(tb testing.TB, l *Ledger) *Ledger {
	tb.Helper()
	r := New()
	for _, a := range l.accounts {
		r.RestoreAccount(a)
	}
	ts := slices.Collect(maps.Values(heldMap(l)))
	slices.SortFunc(ts, func(a, b Transfer) int { return int(b.Timestamp - a.Timestamp) })
	for _, t := range ts {
		st, _ := l.Pending(t.ID)
		r.RestoreTransfer(t, st)
	}
	for id, res := range l.rejected {
		r.RestoreRejected(id, res, t0)
	}
	if err := r.CheckInvariants(); err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestRestore(t *testing.T) {
	f := newFixture(t)
	r := restoreFrom(t, f.l)
	if r.Stats() != f.l.Stats() {
		t.Fatalf("stats: restored %+v, live %+v", r.Stats(), f.l.Stats())
	}
	for _, a := range f.l.accounts {
		if got, _ := r.Account(a.ID); got != a {
			t.Fatalf("restore re-applied balances: %+v, want %+v", got, a)
		}
	}
	// The same next batches — repeats of old transfers, new ones, a post of an old pending, the expiry of the
	// one with a timeout, a rejection and its repeat — decide identically on both.
	next := [][]Transfer{{
		{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10, Ledger: LedgerCBI, Code: 1, Reference: "r"},
		{ID: f.post, Flags: FlagPostPending, PendingID: f.pPosted},
		{ID: idOf('x', 1), Flags: FlagPostPending, PendingID: f.pActive, Amount: 60},
		{ID: idOf('x', 2), Flags: FlagVoidPending, PendingID: f.pExpire},
		{ID: idOf('x', 3), DebitAccountID: f.a, CreditAccountID: f.b, Amount: aAvailable, Ledger: LedgerCBI},
		{ID: idOf('x', 4), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 41, Ledger: LedgerCBI}, // 40 released by the post
	}, {
		{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 11, Ledger: LedgerCBI, Code: 1, Reference: "r"},
		{ID: idOf('x', 5), DebitAccountID: f.b, CreditAccountID: f.a, Amount: 1 << 40, Ledger: LedgerCBI},
	}, {
		{ID: idOf('x', 5), DebitAccountID: f.b, CreditAccountID: f.a, Amount: 1, Ledger: LedgerCBI}, // remembered
	}}
	nows := []int64{f.now, f.now + 3600*nsPerSecond, f.now + 3601*nsPerSecond}
	want := [][]Result{{Exists, Exists, OK, PendingAlreadyExpired, OK, ExceedsBalance}, {ExistsWithDifferentFields, ExceedsBalance},
		{ExceedsBalance}}
	for i, batch := range next {
		live, restored := f.l.Decide(nows[i], batch), r.Decide(nows[i], batch)
		if !sameBatch(live, restored) {
			t.Fatalf("batch %d:\n live %+v\nrestored %+v", i, live, restored)
		}
		if !equalResults(live.Results, want[i]) {
			t.Fatalf("batch %d: got %v, want %v", i, live.Results, want[i])
		}
	}
	if got, _ := r.Transfer(idOf('x', 1)); got.Amount != 60 {
		t.Fatalf("post on the restored ledger: %+v", got)
	}
	if s, _ := r.Pending(f.pTimed); s != PendingExpired {
		t.Fatalf("timed pending on the restored ledger is %s", s)
	}
	restoredAgain := restoreFrom(t, f.l)
	assertSameState(t, "a second restore", takeSnapshot(restoredAgain), takeSnapshot(r))
}

func TestRestorePanicsOnRestorerBugs(t *testing.T) {
	l := New()
	a := Account{ID: idOf('a', 1), Ledger: LedgerCBI, Kind: KindIssuance}
	mustPanic(t, "zero account id", func() { l.RestoreAccount(Account{Ledger: 1}) })
	mustPanic(t, "zero ledger", func() { l.RestoreAccount(Account{ID: idOf('a', 1)}) })
	l.RestoreAccount(a)
	p := Transfer{ID: idOf('t', 1), DebitAccountID: a.ID, CreditAccountID: idOf('a', 2), Amount: 5, Ledger: LedgerCBI,
		Flags: FlagPending, Timestamp: t0}
	mustPanic(t, "pending without state", func() { l.RestoreTransfer(p, 0) })
	mustPanic(t, "zero timestamp", func() { q := p; q.Timestamp = 0; l.RestoreTransfer(q, PendingActive) })
	l.RestoreTransfer(p, PendingVoided)
	mustPanic(t, "twice", func() { l.RestoreTransfer(p, PendingVoided) })

	rej := idOf('t', 2)
	mustPanic(t, "rejection of the zero id", func() { l.RestoreRejected(ID{}, ExceedsBalance, t0) })
	for r := OK; r < resultCount; r++ {
		if !r.remembered() {
			mustPanic(t, "rejection "+r.String(), func() { l.RestoreRejected(rej, r, t0) })
		}
	}
	mustPanic(t, "rejection of an applied transfer", func() { l.RestoreRejected(p.ID, ExceedsBalance, t0) })
	l.RestoreRejected(rej, ExceedsBalance, t0)
	mustPanic(t, "rejection twice", func() { l.RestoreRejected(rej, ReferenceInvalid, t0) })
	mustPanic(t, "transfer of a remembered rejection", func() {
		q := p
		q.ID = rej
		l.RestoreTransfer(q, PendingVoided)
	})
	if got, ok := l.Rejection(rej); !ok || got != ExceedsBalance || l.Stats().Rejected != 1 {
		t.Fatalf("rejection %s, %v", got, ok)
	}
}

func TestCheckInvariantsAfterBadRestore(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		change func(a []Account, ts []Transfer, st map[ID]PendingState)
		want   string
	}{
		{"stored balance off by one", func(a []Account, _ []Transfer, _ map[ID]PendingState) { a[1].CreditsPosted++ }, "debits posted"},
		{"pending stored as posted", func(_ []Account, _ []Transfer, st map[ID]PendingState) { st[idOf('p', 1)] = PendingPosted }, "reserve"},
		{"negative balance", func(a []Account, _ []Transfer, _ map[ID]PendingState) { a[1].DebitsPosted = -a[1].DebitsPosted }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			accts := slices.Clone(f.l.accounts)
			ts := slices.Collect(maps.Values(heldMap(f.l)))
			st := maps.Clone(f.l.pending)
			tc.change(accts, ts, st)
			r := New()
			for _, a := range accts {
				r.RestoreAccount(a)
			}
			for _, t := range ts {
				r.RestoreTransfer(t, st[t.ID])
			}
			err := r.CheckInvariants()
			if !errors.Is(err, ErrInvariant) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvariant about %q", err, tc.want)
			}
		})
	}
}
