package ledger

import (
	"slices"
	"testing"
)

// TestRegressions holds one test per defect found, named after what broke.
func TestRegressions(t *testing.T) {
	// Rollback is gone (the writer rebuilds from storage on a write error), so there is nothing to roll back;
	// what is left of the defect is the sequence of batches around an empty one.
	t.Run("commit a batch, commit an empty one, roll back the first panicked", func(t *testing.T) {
		f := newFixture(t)
		tr := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 3, Ledger: LedgerCBI}
		mustResults(t, "batch", f.l.Decide(f.now, []Transfer{tr}).Results, OK)
		f.l.Begin(f.now)
		if b := f.l.End(); b.Results != nil || len(b.Applied)+len(b.Expired)+len(b.Rejected)+len(b.Accounts) != 0 {
			t.Fatalf("empty batch %+v", b)
		}
		f.l.Begin(f.now)
		mustResults(t, "empty call", f.l.Submit([]Transfer{}))
		f.l.End()
		tr.ID = idOf('x', 2)
		b := f.l.Decide(f.now, []Transfer{tr})
		mustResults(t, "batch after an empty one", b.Results, OK)
		if len(b.Accounts) != 2 {
			t.Fatalf("accounts %+v", b.Accounts)
		}
		mustPanic(t, "Begin twice without End", func() { f.l.Begin(f.now); f.l.Begin(f.now) })
		f.l.End() // the first Begin stands
		mustPanic(t, "End without Begin", func() { f.l.End() })
		if err := f.l.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a linked chain that repeats its own id answered exists for an id never applied", func(t *testing.T) {
		f := newFixture(t)
		a := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 3, Ledger: LedgerCBI, Flags: FlagLinked}
		b := Transfer{ID: idOf('x', 2), DebitAccountID: f.b, CreditAccountID: f.a, Amount: 3, Ledger: LedgerCBI}
		bt := f.l.Decide(f.now, []Transfer{a, a, b})
		mustResults(t, "chain", bt.Results, LinkedEventFailed, IDDuplicate, LinkedEventFailed)
		if len(bt.Applied) != 0 || len(bt.Rejected) != 0 || f.l.Holds(a.ID) {
			t.Fatalf("applied %v, rejected %v, held %v", bt.Applied, bt.Rejected, f.l.Holds(a.ID))
		}
		a.Flags = 0
		mustResults(t, "A alone", f.l.Decide(f.now, []Transfer{a}).Results, OK)
	})

	t.Run("one caller's bad input (NUL, invalid UTF-8) failed everyone batched with it", func(t *testing.T) {
		f := newFixture(t)
		tr := func(n uint64, ref string) Transfer {
			return Transfer{ID: idOf('x', n), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 1, Ledger: LedgerCBI, Reference: ref}
		}
		batch := []Transfer{tr(1, "SATNA 1402/12/29"), tr(2, "bad\x00ref"), tr(3, "ساتنا"), tr(4, "\xff\xfe"), tr(5, "")}
		b := f.l.Decide(f.now, batch)
		mustResults(t, "one batch", b.Results, OK, ReferenceInvalid, OK, ReferenceInvalid, OK)
		if len(b.Applied) != 3 {
			t.Fatalf("applied %+v", b.Applied)
		}
		for _, x := range b.Applied {
			if !TextValid(x.Reference) {
				t.Fatalf("applied a reference storage refuses: %q", x.Reference)
			}
		}
		// The same with callers of their own in one batch.
		f.l.Begin(f.now)
		mustResults(t, "innocent", f.l.Submit([]Transfer{tr(6, "ok")}), OK)
		mustResults(t, "guilty", f.l.Submit([]Transfer{tr(7, "\x00")}), ReferenceInvalid)
		mustResults(t, "innocent after", f.l.Submit([]Transfer{tr(8, "ok")}), OK)
		if b := f.l.End(); len(b.Applied) != 2 || !slices.Equal(b.Rejected, []Rejection{{ID: idOf('x', 7), Result: ReferenceInvalid, At: f.now}}) {
			t.Fatalf("batch %+v", b)
		}
	})

	t.Run("a post or void repeated with other user data answered exists", func(t *testing.T) {
		f := newFixture(t)
		post := Transfer{ID: idOf('x', 1), Flags: FlagPostPending, PendingID: f.pActive, UserData: idOf('u', 1)}
		mustResults(t, "post", f.l.Decide(f.now, []Transfer{post}).Results, OK)
		other := post
		other.UserData = idOf('u', 2)
		none := post
		none.UserData = ID{}
		mustResults(t, "repeats", f.l.Decide(f.now, []Transfer{post}).Results, Exists)
		mustResults(t, "other user data", f.l.Decide(f.now, []Transfer{other}).Results, ExistsWithDifferentFields)
		mustResults(t, "no user data", f.l.Decide(f.now, []Transfer{none}).Results, ExistsWithDifferentFields)
		void := Transfer{ID: f.void, Flags: FlagVoidPending, PendingID: f.pVoided, UserData: idOf('u', 1)}
		mustResults(t, "void", f.l.Decide(f.now, []Transfer{void}).Results, ExistsWithDifferentFields)
	})

	// A chain member unlike its first in FlagNet breaks a flags rule, which comes before every rule about
	// references, amounts, accounts and balances; it used to be checked only once the member passed them all.
	t.Run("a chain member unlike its chain in FlagNet got a later code than flags_invalid", func(t *testing.T) {
		l, iss, a, b, c := netWorld(t)
		mustResults(t, "funding", l.Decide(t0, []Transfer{{ID: idOf('f', 1), DebitAccountID: iss, CreditAccountID: a, Amount: 100,
			Ledger: LedgerCBI}}).
			Results, OK)
		leg := func(n uint64, d, c ID, amount int64, flags TransferFlags) Transfer {
			return Transfer{ID: idOf('x', n), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI, Flags: flags}
		}
		mustResults(t, "netted member in a plain chain", l.Decide(t0, []Transfer{leg(1, a, b, 100, FlagLinked), leg(2, b, c, 150, FlagNet)}).Results,
			LinkedEventFailed, FlagsInvalid)
		mustResults(t, "plain member in a netted chain", l.Decide(t0, []Transfer{leg(3, a, b, 100, FlagNet|FlagLinked),
			leg(4, b, idOf('z', 1), 100, 0)}).
			Results, LinkedEventFailed, FlagsInvalid)
		if r, _ := l.Rejection(idOf('x', 2)); r != FlagsInvalid {
			t.Fatalf("remembered %s", r)
		}
	})

	t.Run("Missing named a pending id held as a remembered rejection", func(t *testing.T) {
		l, _, a, b := retained(t, t0, 10*nsPerSecond, 0)
		rej := idOf('x', 1)
		mustResults(t, "rejected pending", l.Decide(t0, []Transfer{{ID: rej, DebitAccountID: a, CreditAccountID: b, Amount: 5,
			Ledger: LedgerCBI, Flags: FlagPending}}).
			Results, ExceedsBalance)
		post := Transfer{ID: v7(t0, 1), Flags: FlagPostPending, PendingID: rej}
		l.Begin(t0 + nsPerSecond)
		if got := l.Missing([]Transfer{post}); len(got) != 0 {
			t.Fatalf("Missing %v: a writer would restore %s twice", got, rej)
		}
		mustResults(t, "post of a rejected pending", l.Submit([]Transfer{post}), PendingNotFound)
		l.End()
	})

	// id_time_future was checked only after every field and account rule, so a far-future UUIDv7 with any
	// other fault (a zero amount, a bad reference) got that code instead, was remembered, and was held with its
	// far-future key: eviction stalled behind it, and the cap's eviction then lifted the horizon to its date.
	t.Run("a far-future id with another fault was remembered and stalled eviction", func(t *testing.T) {
		now := t0
		l, iss, a, b := retained(t, now, nsPerSecond, 40)
		far := now + 50*365*24*3600*nsPerSecond
		bad := []Transfer{
			{ID: v7(far, 1), DebitAccountID: a, CreditAccountID: b, Ledger: LedgerCBI},                               // amount_invalid
			{ID: v7(far, 2), DebitAccountID: a, CreditAccountID: b, Amount: 1, Ledger: LedgerCBI, Reference: "\x00"}, // reference_invalid
			{ID: v7(far, 3), Flags: FlagPostPending, PendingID: idOf('z', 1)},                                        // pending_not_found
			{ID: v7(far, 4), DebitAccountID: a, CreditAccountID: b, Amount: 1 << 40, Ledger: LedgerCBI},              // exceeds_balance
		}
		l.Begin(now)
		for _, x := range bad {
			if !slices.Contains(l.Missing(bad), x.ID) {
				t.Fatalf("Missing does not name %s: a far-future id must be looked up", x.ID)
			}
		}
		mustResults(t, "far-future ids", l.Submit(bad), IDTimeFuture, IDTimeFuture, IDTimeFuture, IDTimeFuture)
		if b := l.End(); len(b.Rejected) != 0 {
			t.Fatalf("remembered %v", b.Rejected)
		}
		for i := range 100 {
			at := now + int64(i+1)*nsPerSecond
			mustResults(t, "normal", l.Decide(at, []Transfer{{ID: v7(at, uint64(100+i)), DebitAccountID: iss, CreditAccountID: a,
				Amount: 1, Ledger: LedgerCBI}}).
				Results, OK)
		}
		l.Begin(now + 102*nsPerSecond)
		if s := l.Stats(); s.Transfers > 2 || s.Rejected != 0 {
			t.Fatalf("held %+v a window after the last batch", s)
		}
		if h := l.Horizon(); h > now+102*nsPerSecond {
			t.Fatalf("horizon %d past the clock %d", h, now+102*nsPerSecond)
		}
		fresh := v7(now+102*nsPerSecond, 999)
		if got := l.Missing([]Transfer{{ID: fresh}}); len(got) != 0 {
			t.Fatalf("a new id is missing: %v", got)
		}
		l.End()
	})
}
