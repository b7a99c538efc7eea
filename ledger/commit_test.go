package ledger

import (
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
)

// aAvailable is what account a of the fixture may still spend: 1000 funded, 10 + 50 posted away, 100 + 20
// reserved by pending transfers.
const aAvailable = fundA - 60 - 120

// commitOne commits a batch of one transfer on a fresh fixture and checks that a rejection changes nothing.
func commitOne(t *testing.T, f *fixture, tr Transfer) (Result, Batch) {
	t.Helper()
	before := takeSnapshot(f.l)
	b := f.l.Commit(f.now, []Transfer{tr})
	after := takeSnapshot(f.l)
	if b.Results[0] != OK {
		after.Top = before.Top // every Commit takes a place on the rollback stack
		assertSameState(t, "rejected transfer", after, before)
		if len(b.Applied) != 0 || len(b.Accounts) != 0 {
			t.Fatalf("rejected transfer applied %v, changed %v", b.Applied, b.Accounts)
		}
	}
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return b.Results[0], b
}

func TestCommitResults(t *testing.T) {
	f0 := newFixture(t) // for the ids; every case gets a fresh fixture
	plain := func(d, c ID, amount int64) Transfer {
		return Transfer{ID: idOf('x', 1), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI, Code: 1}
	}
	with := func(tr Transfer, change func(*Transfer)) Transfer { change(&tr); return tr }
	ok := plain(f0.a, f0.b, 10)
	pend := with(ok, func(t *Transfer) { t.Flags = FlagPending; t.Timeout = 60 })
	post := Transfer{ID: idOf('x', 2), Flags: FlagPostPending, PendingID: f0.pActive}
	void := Transfer{ID: idOf('x', 3), Flags: FlagVoidPending, PendingID: f0.pActive}
	repeatPlain := plain(f0.a, f0.b, 10)
	repeatPlain.ID, repeatPlain.Reference = f0.plain, "r"

	tests := []struct {
		name string
		tr   Transfer
		want Result
	}{
		{"plain", ok, OK},
		{"plain spends all that is available", plain(f0.a, f0.b, aAvailable), OK},
		{"pending", pend, OK},
		{"pending with the longest timeout", with(pend, func(t *Transfer) { t.Timeout = TimeoutMax }), OK},
		{"post in full, fields from the pending", post, OK},
		{"post in part", with(post, func(t *Transfer) { t.Amount = 1 }), OK},
		{"post with every field given", with(post, func(t *Transfer) {
			t.DebitAccountID, t.CreditAccountID, t.Ledger, t.Amount, t.Code = f0.a, f0.b, LedgerCBI, 100, 7
		}), OK},
		{"void", void, OK},
		{"void with its amount", with(void, func(t *Transfer) { t.Amount = 100 }), OK},
		{"issuance goes negative", plain(f0.iss, f0.a, 1), OK},
		{"account without a floor goes negative", plain(f0.src, f0.a, 5), OK},
		{"reference of the longest length", with(ok, func(t *Transfer) { t.Reference = strings.Repeat("ر", ReferenceLenMax/2) }), OK},

		{"id_zero", with(ok, func(t *Transfer) { t.ID = ID{} }), IDZero},
		{"timestamp_must_be_zero", with(ok, func(t *Transfer) { t.Timestamp = t0 }), TimestampMustBeZero},
		{"flags_invalid: unknown bit", with(ok, func(t *Transfer) { t.Flags = 1 << 15 }), FlagsInvalid},
		{"flags_invalid: pending and post", with(post, func(t *Transfer) { t.Flags |= FlagPending }), FlagsInvalid},
		{"flags_invalid: post and void", with(post, func(t *Transfer) { t.Flags |= FlagVoidPending }), FlagsInvalid},
		{"reference_too_long", with(ok, func(t *Transfer) { t.Reference = strings.Repeat("r", ReferenceLenMax+1) }), ReferenceTooLong},
		{"amount_invalid: zero plain", plain(f0.a, f0.b, 0), AmountInvalid},
		{"amount_invalid: negative pending", with(pend, func(t *Transfer) { t.Amount = -1 }), AmountInvalid},
		{"amount_invalid: negative post", with(post, func(t *Transfer) { t.Amount = -1 }), AmountInvalid},
		{"amount_invalid: negative void", with(void, func(t *Transfer) { t.Amount = math.MinInt64 }), AmountInvalid},
		{"pending_id_zero: post", with(post, func(t *Transfer) { t.PendingID = ID{} }), PendingIDZero},
		{"pending_id_zero: void", with(void, func(t *Transfer) { t.PendingID = ID{} }), PendingIDZero},
		{"pending_id_must_be_zero: plain", with(ok, func(t *Transfer) { t.PendingID = f0.pActive }), PendingIDMustBeZero},
		{"pending_id_must_be_zero: pending", with(pend, func(t *Transfer) { t.PendingID = f0.pActive }), PendingIDMustBeZero},
		{"timeout_reserved_for_pending: plain", with(ok, func(t *Transfer) { t.Timeout = 1 }), TimeoutReservedForPending},
		{"timeout_reserved_for_pending: post", with(post, func(t *Transfer) { t.Timeout = 1 }), TimeoutReservedForPending},
		{"timeout_invalid: negative", with(pend, func(t *Transfer) { t.Timeout = -1 }), TimeoutInvalid},
		{"timeout_invalid: too long", with(pend, func(t *Transfer) { t.Timeout = TimeoutMax + 1 }), TimeoutInvalid},
		{"accounts_same", plain(f0.a, f0.a, 1), AccountsSame},
		{"accounts_same: post", with(post, func(t *Transfer) { t.DebitAccountID, t.CreditAccountID = f0.a, f0.a }), AccountsSame},
		{"debit_account_not_found", plain(idOf('z', 1), f0.b, 1), DebitAccountNotFound},
		{"debit_account_not_found: zero on a plain", plain(ID{}, f0.b, 1), DebitAccountNotFound},
		{"debit_account_not_found: given on a post", with(post, func(t *Transfer) { t.DebitAccountID = idOf('z', 1) }), DebitAccountNotFound},
		{"credit_account_not_found", plain(f0.a, idOf('z', 1), 1), CreditAccountNotFound},
		{"credit_account_not_found: zero on a pending", with(pend, func(t *Transfer) { t.CreditAccountID = ID{} }), CreditAccountNotFound},
		{"ledger_mismatch: accounts of two ledgers", plain(f0.a, f0.c1, 1), LedgerMismatch},
		{"ledger_mismatch: transfer in another ledger", with(ok, func(t *Transfer) { t.Ledger = 1017 }), LedgerMismatch},
		{"ledger_mismatch: zero ledger", with(ok, func(t *Transfer) { t.Ledger = 0 }), LedgerMismatch},
		{"ledger_mismatch: post naming accounts of two ledgers", with(post, func(t *Transfer) { t.DebitAccountID, t.CreditAccountID = f0.a, f0.c1 }), LedgerMismatch},
		{"ledger_mismatch: post naming an account outside its ledger", with(post, func(t *Transfer) { t.DebitAccountID, t.Ledger = f0.a, 1017 }), LedgerMismatch},
		{"exists", repeatPlain, Exists},
		{"exists: post repeated with zero fields", Transfer{ID: f0.post, Flags: FlagPostPending, PendingID: f0.pPosted}, Exists},
		{"exists: post repeated with the fields it was given", Transfer{ID: f0.post, Flags: FlagPostPending, PendingID: f0.pPosted,
			DebitAccountID: f0.a, CreditAccountID: f0.b, Ledger: LedgerCBI, Code: 7, Amount: 50}, Exists},
		{"exists: void repeated", Transfer{ID: f0.void, Flags: FlagVoidPending, PendingID: f0.pVoided, Amount: 40}, Exists},
		{"exists_with_different_fields: amount", with(repeatPlain, func(t *Transfer) { t.Amount = 11 }), ExistsWithDifferentFields},
		{"exists_with_different_fields: reference", with(repeatPlain, func(t *Transfer) { t.Reference = "" }), ExistsWithDifferentFields},
		{"exists_with_different_fields: code", with(repeatPlain, func(t *Transfer) { t.Code = 2 }), ExistsWithDifferentFields},
		{"exists_with_different_fields: linked", with(repeatPlain, func(t *Transfer) { t.Flags = FlagPending }), ExistsWithDifferentFields},
		{"exists_with_different_fields: accounts", with(repeatPlain, func(t *Transfer) { t.DebitAccountID = f0.iss }), ExistsWithDifferentFields},
		{"exists_with_different_fields: post of another pending", Transfer{ID: f0.post, Flags: FlagPostPending, PendingID: f0.pActive}, ExistsWithDifferentFields},
		{"exists_with_different_fields: post of a part", Transfer{ID: f0.post, Flags: FlagPostPending, PendingID: f0.pPosted, Amount: 49}, ExistsWithDifferentFields},
		{"exists_with_different_fields: a plain id reused for a post", with(post, func(t *Transfer) { t.ID = f0.plain }), ExistsWithDifferentFields},
		{"pending_not_found", with(post, func(t *Transfer) { t.PendingID = idOf('z', 1) }), PendingNotFound},
		{"pending_not_pending", with(void, func(t *Transfer) { t.PendingID = f0.plain }), PendingNotPending},
		{"pending_accounts_mismatch: debit", with(post, func(t *Transfer) { t.DebitAccountID = f0.iss }), PendingAccountsMismatch},
		{"pending_accounts_mismatch: swapped", with(void, func(t *Transfer) { t.DebitAccountID, t.CreditAccountID = f0.b, f0.a }), PendingAccountsMismatch},
		{"pending_ledger_mismatch", with(post, func(t *Transfer) { t.Ledger = 1017 }), PendingLedgerMismatch},
		{"pending_amount_mismatch", with(void, func(t *Transfer) { t.Amount = 99 }), PendingAmountMismatch},
		{"post_amount_exceeds_pending", with(post, func(t *Transfer) { t.Amount = 101 }), PostAmountExceedsPending},
		{"pending_already_posted", with(void, func(t *Transfer) { t.PendingID = f0.pPosted }), PendingAlreadyPosted},
		{"pending_already_voided", with(post, func(t *Transfer) { t.PendingID = f0.pVoided }), PendingAlreadyVoided},
		{"pending_expired", with(post, func(t *Transfer) { t.PendingID = f0.pExpire }), PendingAlreadyExpired},
		{"debit_account_closed", plain(f0.cls, f0.a, 1), DebitAccountClosed},
		{"credit_account_closed", plain(f0.a, f0.cls, 1), CreditAccountClosed},
		{"debit_account_blocked", plain(f0.blk, f0.a, 1), DebitAccountBlocked},
		{"credit_account_blocked", with(pend, func(t *Transfer) { t.CreditAccountID = f0.blk }), CreditAccountBlocked},
		{"debit_account_blocked: post", with(post, func(t *Transfer) { t.PendingID = f0.pBlk }), DebitAccountBlocked},
		{"void on a blocked account releases", with(void, func(t *Transfer) { t.PendingID = f0.pBlk }), OK},
		{"overflow: debits of the issuance account", plain(f0.iss, f0.a, 101), Overflow},
		{"issuance account up to the edge", plain(f0.iss, f0.a, 100), OK},
		{"overflow: credits", plain(f0.src, f0.full, 4101), Overflow},
		{"overflow: pending credits", with(plain(f0.src, f0.full, 4101), func(t *Transfer) { t.Flags = FlagPending }), Overflow},
		{"credits up to the edge", plain(f0.src, f0.full, 4100), OK},
		{"exceeds_balance", plain(f0.a, f0.b, aAvailable+1), ExceedsBalance},
		{"exceeds_balance: pending", with(pend, func(t *Transfer) { t.Amount = aAvailable + 1 }), ExceedsBalance},
		{"exceeds_balance: customer", Transfer{ID: idOf('x', 9), DebitAccountID: f0.c1, CreditAccountID: f0.c2, Amount: fundA + 1,
			Ledger: 1017}, ExceedsBalance},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			got, b := commitOne(t, f, tc.tr)
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if got == OK && (len(b.Applied) != 1 || b.Applied[0].ID != tc.tr.ID || b.Applied[0].Timestamp <= f.now-1) {
				t.Fatalf("applied %+v", b.Applied)
			}
		})
	}
}

func TestCommitPrecedence(t *testing.T) {
	f0 := newFixture(t)
	base := Transfer{ID: idOf('x', 1), DebitAccountID: f0.a, CreditAccountID: f0.b, Amount: 1, Ledger: LedgerCBI}
	tests := []struct {
		name string
		tr   func(f *fixture, t *Transfer)
		want Result
	}{
		{"id_zero before flags_invalid", func(f *fixture, t *Transfer) { t.ID, t.Flags = ID{}, 1<<14 }, IDZero},
		{"timestamp before amount", func(f *fixture, t *Transfer) { t.Timestamp, t.Amount = 1, 0 }, TimestampMustBeZero},
		{"reference_too_long before amount_invalid", func(f *fixture, t *Transfer) { t.Reference, t.Amount = strings.Repeat("r", 65), 0 }, ReferenceTooLong},
		{"amount_invalid before accounts_same", func(f *fixture, t *Transfer) { t.CreditAccountID, t.Amount = f.a, 0 }, AmountInvalid},
		{"amount_invalid before pending_id_must_be_zero", func(f *fixture, t *Transfer) { t.PendingID, t.Amount = f.pActive, -5 }, AmountInvalid},
		{"timeout_reserved before accounts_same", func(f *fixture, t *Transfer) { t.Timeout, t.CreditAccountID = 5, f.a }, TimeoutReservedForPending},
		{"accounts_same before debit_account_not_found", func(f *fixture, t *Transfer) { t.DebitAccountID, t.CreditAccountID = idOf('z', 1), idOf('z', 1) }, AccountsSame},
		{"debit before credit not found", func(f *fixture, t *Transfer) { t.DebitAccountID, t.CreditAccountID = idOf('z', 1), idOf('z', 2) }, DebitAccountNotFound},
		{"credit_account_not_found before exceeds_balance", func(f *fixture, t *Transfer) { t.CreditAccountID, t.Amount = idOf('z', 2), 1<<40 }, CreditAccountNotFound},
		{"ledger_mismatch before exists_with_different_fields", func(f *fixture, t *Transfer) { t.ID, t.Ledger = f.plain, 9 }, LedgerMismatch},
		{"exists before a blocked account", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10, Ledger: LedgerCBI, Code: 1, Reference: "r"}
			if err := f.l.SetAccountFlags(f.a, FlagNoNegative|FlagBlocked); err != nil {
				panic(err)
			}
		}, Exists},
		{"exists before exceeds_balance", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10, Ledger: LedgerCBI, Code: 1, Reference: "r"}
			f.l.Commit(f.now, []Transfer{{ID: idOf('y', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: aAvailable, Ledger: LedgerCBI}})
		}, Exists},
		{"exists before pending_already_posted", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: f.post, Flags: FlagPostPending, PendingID: f.pPosted}
		}, Exists},
		{"post_amount_exceeds_pending before pending_already_posted", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: idOf('x', 5), Flags: FlagPostPending, PendingID: f.pPosted, Amount: 51}
		}, PostAmountExceedsPending},
		{"pending_accounts_mismatch before pending_expired", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: idOf('x', 5), Flags: FlagVoidPending, PendingID: f.pExpire, CreditAccountID: f.iss}
		}, PendingAccountsMismatch},
		{"pending_already_voided before debit_account_blocked", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: idOf('x', 5), Flags: FlagPostPending, PendingID: f.pVoided}
			if err := f.l.SetAccountFlags(f.a, FlagNoNegative|FlagBlocked); err != nil {
				panic(err)
			}
		}, PendingAlreadyVoided},
		{"debit closed before credit closed", func(f *fixture, t *Transfer) {
			t.DebitAccountID = f.cls
			t.CreditAccountID = f.blk
			if err := f.l.SetAccountFlags(f.blk, FlagNoNegative|FlagClosed); err != nil {
				panic(err)
			}
		}, DebitAccountClosed},
		{"credit closed before debit blocked", func(f *fixture, t *Transfer) { t.DebitAccountID, t.CreditAccountID = f.blk, f.cls }, CreditAccountClosed},
		{"debit blocked before credit blocked", func(f *fixture, t *Transfer) {
			t.DebitAccountID = f.blk
			if err := f.l.SetAccountFlags(f.b, FlagNoNegative|FlagBlocked); err != nil {
				panic(err)
			}
		}, DebitAccountBlocked},
		{"blocked before exceeds_balance", func(f *fixture, t *Transfer) { t.DebitAccountID, t.Amount = f.blk, 1<<40 }, DebitAccountBlocked},
		{"overflow before exceeds_balance", func(f *fixture, t *Transfer) { t.CreditAccountID, t.Amount = f.full, 4101 }, Overflow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tr := base
			tc.tr(f, &tr)
			if got, _ := commitOne(t, f, tr); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPrecedenceIsDocumented keeps doc.go's list, the numbering and String in step: the list in doc.go names
// every result after ok, in numeric order.
func TestPrecedenceIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), "# Order of precedence")
	end := strings.Index(string(doc), "# Semantics worth knowing")
	if start < 0 || end < start {
		t.Fatal("doc.go lost its precedence section")
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^//\t([a-z_]+)`).FindAllStringSubmatch(string(doc[start:end]), -1) {
		names = append(names, m[1])
	}
	var want []string
	for r := OK + 1; r < resultCount; r++ {
		want = append(want, r.String())
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("doc.go lists\n%v\nthe code numbers\n%v", names, want)
	}
}

func TestIdempotentRepeatChangesNothing(t *testing.T) {
	f := newFixture(t)
	batch := []Transfer{
		{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 7, Ledger: LedgerCBI, Code: 3, Reference: "once"},
		{ID: idOf('x', 2), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 9, Ledger: LedgerCBI, Flags: FlagPending, Timeout: 30},
		{ID: idOf('x', 3), Flags: FlagPostPending, PendingID: idOf('x', 2), Amount: 4},
	}
	first := f.l.Commit(f.now, batch)
	for i, r := range first.Results {
		if r != OK {
			t.Fatalf("transfer %d: %s", i, r)
		}
	}
	before := takeSnapshot(f.l)
	again := f.l.Commit(f.now+nsPerSecond, batch)
	for i, r := range again.Results {
		if r != Exists {
			t.Errorf("repeat %d: got %s, want exists", i, r)
		}
	}
	after := takeSnapshot(f.l)
	after.Top = before.Top
	assertSameState(t, "after a repeat", after, before)
	if len(again.Applied) != 0 || len(again.Accounts) != 0 {
		t.Fatalf("repeat applied %v, changed %v", again.Applied, again.Accounts)
	}
	// The same id twice in one batch: the second is the repeat.
	dup := Transfer{ID: idOf('x', 4), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 1, Ledger: LedgerCBI}
	if got := f.l.Commit(f.now, []Transfer{dup, dup}).Results; got[0] != OK || got[1] != Exists {
		t.Fatalf("same id twice: %v", got)
	}
}

func TestRejectedIDMayBeRetried(t *testing.T) {
	f := newFixture(t)
	order := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: aAvailable + 500, Ledger: LedgerCBI}
	if got := f.l.Commit(f.now, []Transfer{order}).Results[0]; got != ExceedsBalance {
		t.Fatalf("got %s", got)
	}
	if _, ok := f.l.Transfer(order.ID); ok {
		t.Fatal("a rejected transfer was recorded")
	}
	funding := Transfer{ID: idOf('x', 2), DebitAccountID: f.src, CreditAccountID: f.a, Amount: 100 - 1, Ledger: LedgerCBI}
	if got := f.l.Commit(f.now, []Transfer{funding, order}).Results; got[0] != OK || got[1] != ExceedsBalance {
		t.Fatalf("got %v", got)
	}
	funding.ID = idOf('x', 3)
	funding.Amount = 1000
	if got := f.l.Commit(f.now, []Transfer{funding, order}).Results; got[0] != OK || got[1] != OK {
		t.Fatalf("retry after funding: %v", got)
	}
}

func TestCommitTimestamps(t *testing.T) {
	f := newFixture(t)
	last := f.l.Stats().LastTimestamp
	tr := func(n uint64, amount int64) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: f.a, CreditAccountID: f.b, Amount: amount, Ledger: LedgerCBI}
	}
	// The clock stands still and steps back: timestamps still rise by one nanosecond per applied transfer;
	// rejected transfers take none.
	b := f.l.Commit(last-5*nsPerSecond, []Transfer{tr(1, 1), tr(2, 1<<50), tr(3, 1)})
	if len(b.Applied) != 2 || b.Applied[0].Timestamp != last+1 || b.Applied[1].Timestamp != last+2 {
		t.Fatalf("applied %+v after last %d", b.Applied, last)
	}
	if got, _ := f.l.Transfer(idOf('x', 3)); got.Timestamp != last+2 {
		t.Fatalf("recorded timestamp %d", got.Timestamp)
	}
	// A failed chain gives its timestamps back.
	b = f.l.Commit(0, []Transfer{
		func() Transfer { x := tr(4, 1); x.Flags = FlagLinked; return x }(), tr(5, 1<<50), tr(6, 1)})
	if b.Results[0] != LinkedEventFailed || b.Results[1] != ExceedsBalance || b.Applied[0].Timestamp != last+3 {
		t.Fatalf("got %v %+v", b.Results, b.Applied)
	}
	// The clock ahead of the last timestamp wins.
	now := last + 10*nsPerSecond
	if b := f.l.Commit(now, []Transfer{tr(7, 1), tr(8, 1)}); b.Applied[0].Timestamp != now || b.Applied[1].Timestamp != now+1 {
		t.Fatalf("applied %+v at %d", b.Applied, now)
	}
}

func TestLinkedChains(t *testing.T) {
	f := newFixture(t)
	link := func(t Transfer) Transfer { t.Flags |= FlagLinked; return t }
	tr := func(n uint64, d, c ID, amount int64) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI}
	}
	// A net settlement: b pays a, then a pays more than it had before: only possible as a chain.
	b := f.l.Commit(f.now, []Transfer{
		link(tr(1, f.b, f.a, 500)), link(tr(2, f.a, f.b, aAvailable+400)), tr(3, f.a, f.c1, 1), // fails: ledger
		tr(4, f.a, f.b, 1),
	})
	want := []Result{LinkedEventFailed, LinkedEventFailed, LedgerMismatch, OK}
	if !equalResults(b.Results, want) {
		t.Fatalf("got %v, want %v", b.Results, want)
	}
	if len(b.Applied) != 1 || b.Applied[0].ID != idOf('x', 4) {
		t.Fatalf("applied %+v", b.Applied)
	}
	for _, n := range []uint64{1, 2, 3} {
		if _, ok := f.l.Transfer(idOf('x', n)); ok {
			t.Fatalf("transfer %d of a failed chain was recorded", n)
		}
	}
	a, _ := f.l.Account(f.a)
	if a.Available() != aAvailable-1 {
		t.Fatalf("a has %d available after the failed chain", a.Available())
	}

	// The same chain, fixed, applies as a whole; a pending created in a chain can be posted later in it.
	chain := []Transfer{
		link(tr(1, f.b, f.a, 500)), link(tr(2, f.a, f.b, aAvailable+400)),
		link(func() Transfer { x := tr(5, f.a, f.b, 50); x.Flags = FlagPending; return x }()),
		{ID: idOf('x', 6), Flags: FlagPostPending, PendingID: idOf('x', 5), Amount: 20},
	}
	b = f.l.Commit(f.now, chain)
	if !equalResults(b.Results, []Result{OK, OK, OK, OK}) {
		t.Fatalf("got %v", b.Results)
	}
	// Retrying the applied chain: every member exists.
	if got := f.l.Commit(f.now, chain).Results; !equalResults(got, []Result{Exists, Exists, Exists, Exists}) {
		t.Fatalf("retry: %v", got)
	}
	// A chain that starts with an applied transfer but adds a new one fails on its first member.
	mixed := []Transfer{chain[0], tr(7, f.a, f.b, 1)}
	if got := f.l.Commit(f.now, mixed).Results; !equalResults(got, []Result{Exists, LinkedEventFailed}) {
		t.Fatalf("mixed: %v", got)
	}
	// ... and one that adds a new transfer before an applied one fails on the applied one.
	mixed = []Transfer{link(tr(8, f.a, f.b, 1)), chain[3]}
	if got := f.l.Commit(f.now, mixed).Results; !equalResults(got, []Result{LinkedEventFailed, Exists}) {
		t.Fatalf("mixed: %v", got)
	}
	// An open chain at the end of the batch.
	got := f.l.Commit(f.now, []Transfer{tr(9, f.a, f.b, 1), link(tr(10, f.a, f.b, 1)), link(tr(11, f.a, f.b, 1))}).Results
	if !equalResults(got, []Result{OK, LinkedEventFailed, LinkedEventChainOpen}) {
		t.Fatalf("open chain: %v", got)
	}
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func equalResults(a, b []Result) bool {
	return strings.Join(resultStrings(a), ",") == strings.Join(resultStrings(b), ",")
}

func resultStrings(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

func TestPendingLifecycle(t *testing.T) {
	f := newFixture(t)
	p := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 300, Ledger: LedgerCBI, Code: 4,
		Flags: FlagPending, Timeout: 10}
	b := f.l.Commit(f.now, []Transfer{p})
	ts := b.Applied[0].Timestamp
	a, _ := f.l.Account(f.a)
	if a.Available() != aAvailable-300 || a.DebitsPending != 120+300 {
		t.Fatalf("after pending: %+v", a)
	}
	// A partial post moves 120 and releases the other 180.
	post := Transfer{ID: idOf('x', 2), Flags: FlagPostPending, PendingID: p.ID, Amount: 120, Reference: "part"}
	b = f.l.Commit(f.now, []Transfer{post})
	if b.Results[0] != OK {
		t.Fatalf("post: %s", b.Results[0])
	}
	rec := b.Applied[0]
	if rec.DebitAccountID != f.a || rec.CreditAccountID != f.b || rec.Ledger != LedgerCBI || rec.Code != 4 || rec.Amount != 120 {
		t.Fatalf("recorded post %+v", rec)
	}
	a, _ = f.l.Account(f.a)
	if a.Available() != aAvailable-120 || a.DebitsPending != 120 || a.DebitsPosted != 60+120 {
		t.Fatalf("after post: %+v", a)
	}
	if s, _ := f.l.Pending(p.ID); s != PendingPosted {
		t.Fatalf("state %s", s)
	}
	if len(b.Accounts) != 2 {
		t.Fatalf("changed accounts %+v", b.Accounts)
	}

	// Expiry: a pending transfer expires at the first Commit whose now reaches timestamp + timeout.
	q := p
	q.ID = idOf('x', 3)
	b = f.l.Commit(f.now, []Transfer{q})
	dl := b.Applied[0].Timestamp + 10*nsPerSecond
	if b := f.l.Commit(dl-1, nil); len(b.Expired) != 0 {
		t.Fatalf("expired early: %v", b.Expired)
	}
	b = f.l.Commit(dl, nil)
	if len(b.Expired) != 1 || b.Expired[0] != q.ID || len(b.Applied) != 0 || len(b.Accounts) != 2 {
		t.Fatalf("expiry batch %+v", b)
	}
	if s, _ := f.l.Pending(q.ID); s != PendingExpired {
		t.Fatalf("state %s", s)
	}
	a, _ = f.l.Account(f.a)
	if a.Available() != aAvailable-120 {
		t.Fatalf("after expiry: %+v", a)
	}
	// The posted one (deadline ts + 10 s, long passed) was not expired, and its post stands.
	if s, _ := f.l.Pending(p.ID); s != PendingPosted || ts >= dl {
		t.Fatalf("posted pending is %s", s)
	}
	void := Transfer{ID: idOf('x', 4), Flags: FlagVoidPending, PendingID: q.ID}
	if got := f.l.Commit(dl, []Transfer{void}).Results[0]; got != PendingAlreadyExpired {
		t.Fatalf("void after expiry: %s", got)
	}
	// A pending created and voided in one batch leaves no account changed.
	r := p
	r.ID = idOf('x', 5)
	b = f.l.Commit(dl, []Transfer{r, {ID: idOf('x', 6), Flags: FlagVoidPending, PendingID: r.ID}})
	if !equalResults(b.Results, []Result{OK, OK}) || len(b.Accounts) != 0 || b.Applied[1].Amount != 300 {
		t.Fatalf("pending and void: %+v", b)
	}
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestRollbackMisusePanics(t *testing.T) {
	f := newFixture(t)
	tr := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 1, Ledger: LedgerCBI}
	b1 := f.l.Commit(f.now, []Transfer{tr})
	tr.ID = idOf('x', 2)
	b2 := f.l.Commit(f.now, []Transfer{tr})
	mustPanic(t, "rollback of an older batch", func() { f.l.Rollback(b1) })
	mustPanic(t, "rollback of a zero batch", func() { f.l.Rollback(Batch{}) })
	f.l.Rollback(b2)
	mustPanic(t, "rollback twice", func() { f.l.Rollback(b2) })
	f.l.Rollback(b1)
	if _, ok := f.l.Transfer(idOf('x', 1)); ok {
		t.Fatal("rolled back transfer still recorded")
	}
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestCommitPanicsOnCallerBugs(t *testing.T) {
	f := newFixture(t)
	mustPanic(t, "negative now", func() { f.l.Commit(-1, nil) })
	mustPanic(t, "now past TimeMax", func() { f.l.Commit(TimeMax+1, nil) })
	mustPanic(t, "batch too long", func() { f.l.Commit(f.now, make([]Transfer, BatchLenMax+1)) })
}

// TestInvariantAssertionsFire breaks the state behind the ledger's back, as a bug would, and checks that the
// per-change assertions panic and CheckInvariants reports it: they are live, not decoration.
func TestInvariantAssertionsFire(t *testing.T) {
	transfer := func(f *fixture) []Transfer {
		return []Transfer{{ID: idOf('x', 1), DebitAccountID: f.b, CreditAccountID: f.a, Amount: 1, Ledger: LedgerCBI}}
	}
	t.Run("a change that moves one side only", func(t *testing.T) {
		f := newFixture(t)
		i := f.l.index[f.a]
		f.l.beginChange()
		f.l.touch(i)
		f.l.accounts[i].CreditsPosted += 5
		mustPanic(t, "endChange", func() { f.l.endChange() })
		if err := f.l.CheckInvariants(); err == nil {
			t.Fatal("CheckInvariants found nothing")
		}
	})
	t.Run("floor broken", func(t *testing.T) {
		f := newFixture(t)
		f.l.accounts[f.l.index[f.a]].DebitsPosted += 5000
		f.l.accounts[f.l.index[f.b]].CreditsPosted += 5000
		if err := f.l.CheckInvariants(); err == nil {
			t.Fatal("CheckInvariants found nothing")
		}
		mustPanic(t, "commit", func() { f.l.Commit(f.now, transfer(f)) })
	})
	t.Run("pending total drifts", func(t *testing.T) {
		f := newFixture(t)
		f.l.totals[LedgerCBI].pendingActive++
		if err := f.l.CheckInvariants(); err == nil {
			t.Fatal("CheckInvariants found nothing")
		}
		mustPanic(t, "commit", func() { f.l.Commit(f.now, transfer(f)) })
	})
	t.Run("reservations out of step with pending transfers", func(t *testing.T) {
		f := newFixture(t)
		f.l.accounts[f.l.index[f.a]].DebitsPending++
		f.l.accounts[f.l.index[f.b]].CreditsPending++
		if err := f.l.CheckInvariants(); err == nil {
			t.Fatal("CheckInvariants found nothing")
		}
	})
	t.Run("one-sided balance", func(t *testing.T) {
		f := newFixture(t)
		f.l.accounts[f.l.index[f.iss]].CreditsPosted++
		if err := f.l.CheckInvariants(); err == nil {
			t.Fatal("CheckInvariants found nothing")
		}
	})
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s: no panic", what)
		}
	}()
	fn()
}
