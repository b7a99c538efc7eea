package ledger

import (
	"encoding/binary"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// aAvailable is what account a of the fixture may still spend: 1000 funded, 10 + 50 posted away, 100 + 20
// reserved by pending transfers.
const aAvailable = fundA - 60 - 120

// commitOne commits a batch of one transfer on a fresh fixture and checks that a rejection changes nothing
// but the memory of it: a remembered code is recorded for the id (and listed in Batch.Rejected) when the id
// is new, and a repeat of the id answers it again.
func commitOne(t *testing.T, f *fixture, tr Transfer) (Result, Batch) {
	t.Helper()
	before := takeSnapshot(f.l)
	b := f.l.Decide(f.now, []Transfer{tr})
	after := takeSnapshot(f.l)
	if r := b.Results[0]; r != OK {
		var want []Rejection
		_, rejected := before.Rejected[tr.ID]
		_, applied := before.Transfers[tr.ID]
		if r.remembered() && !tr.ID.IsZero() && !rejected && !applied {
			want = []Rejection{{ID: tr.ID, Result: r, At: f.now}}
			before.Rejected[tr.ID] = r
		}
		if !slices.Equal(b.Rejected, want) {
			t.Fatalf("rejected %v, want %v", b.Rejected, want)
		}
		assertSameState(t, "rejected transfer", after, before)
		if len(b.Applied) != 0 || len(b.Accounts) != 0 {
			t.Fatalf("rejected transfer applied %v, changed %v", b.Applied, b.Accounts)
		}
		if len(want) > 0 {
			if again := f.l.Decide(f.now, []Transfer{tr}); again.Results[0] != r || len(again.Rejected) != 0 {
				t.Fatalf("repeat of a remembered rejection: %v, rejected %v", again.Results, again.Rejected)
			}
		}
	} else if len(b.Rejected) != 0 {
		t.Fatalf("an applied transfer rejected %v", b.Rejected)
	}
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return b.Results[0], b
}

func TestDecideResults(t *testing.T) {
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
		{"user data is recorded", with(ok, func(t *Transfer) { t.UserData = idOf('u', 1) }), OK},
		{"user data on a post is recorded", with(post, func(t *Transfer) { t.UserData = idOf('u', 1) }), OK},
		{"a lone FlagNet transfer is a chain of one", with(ok, func(t *Transfer) { t.Flags = FlagNet }), OK},
		{"a lone FlagNet transfer spends all that is available", with(plain(f0.a, f0.b, aAvailable), func(t *Transfer) { t.Flags = FlagNet }), OK},
		{"clearing account without a floor goes negative with FlagNet", with(plain(f0.src, f0.a, 5), func(t *Transfer) { t.Flags = FlagNet }), OK},

		{"id_zero", with(ok, func(t *Transfer) { t.ID = ID{} }), IDZero},
		{"timestamp_must_be_zero", with(ok, func(t *Transfer) { t.Timestamp = t0 }), TimestampMustBeZero},
		{"flags_invalid: unknown bit", with(ok, func(t *Transfer) { t.Flags = 1 << 15 }), FlagsInvalid},
		{"flags_invalid: pending and post", with(post, func(t *Transfer) { t.Flags |= FlagPending }), FlagsInvalid},
		{"flags_invalid: post and void", with(post, func(t *Transfer) { t.Flags |= FlagVoidPending }), FlagsInvalid},
		{"flags_invalid: net pending", with(pend, func(t *Transfer) { t.Flags |= FlagNet }), FlagsInvalid},
		{"flags_invalid: net post", with(post, func(t *Transfer) { t.Flags |= FlagNet }), FlagsInvalid},
		{"flags_invalid: net void", with(void, func(t *Transfer) { t.Flags |= FlagNet }), FlagsInvalid},
		{"reference_too_long", with(ok, func(t *Transfer) { t.Reference = strings.Repeat("r", ReferenceLenMax+1) }), ReferenceTooLong},
		{"reference_too_long: Persian", with(ok, func(t *Transfer) { t.Reference = strings.Repeat("ر", ReferenceLenMax/2) + "r" }), ReferenceTooLong},
		{"reference_invalid: NUL", with(ok, func(t *Transfer) { t.Reference = "satna\x00" }), ReferenceInvalid},
		{"reference_invalid: not UTF-8", with(ok, func(t *Transfer) { t.Reference = "\xff\xfe" }), ReferenceInvalid},
		{"reference_invalid: a cut letter", with(ok, func(t *Transfer) { t.Reference = "ر"[:1] }), ReferenceInvalid},
		{"reference_invalid: a surrogate", with(ok, func(t *Transfer) { t.Reference = "\xed\xa0\x80" }), ReferenceInvalid},
		{"reference_invalid: on a post", with(post, func(t *Transfer) { t.Reference = "\x00" }), ReferenceInvalid},
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
		{"exists_with_different_fields: user data", with(repeatPlain, func(t *Transfer) { t.UserData = idOf('u', 1) }), ExistsWithDifferentFields},
		{"exists_with_different_fields: net", with(repeatPlain, func(t *Transfer) { t.Flags = FlagNet }), ExistsWithDifferentFields},
		{"exists_with_different_fields: post with user data", Transfer{ID: f0.post, Flags: FlagPostPending, PendingID: f0.pPosted,
			UserData: idOf('u', 1)}, ExistsWithDifferentFields},
		{"exists_with_different_fields: void with user data", Transfer{ID: f0.void, Flags: FlagVoidPending, PendingID: f0.pVoided,
			UserData: idOf('u', 1)}, ExistsWithDifferentFields},
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
		{"exceeds_balance: a lone FlagNet transfer", with(plain(f0.a, f0.b, aAvailable+1), func(t *Transfer) { t.Flags = FlagNet }), ExceedsBalance},
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
			if got == OK && (len(b.Applied) != 1 || b.Applied[0].ID != tc.tr.ID || b.Applied[0].Timestamp <= f.now-1 ||
				b.Applied[0].UserData != tc.tr.UserData) {
				t.Fatalf("applied %+v", b.Applied)
			}
		})
	}
}

func TestDecidePrecedence(t *testing.T) {
	f0 := newFixture(t)
	base := Transfer{ID: idOf('x', 1), DebitAccountID: f0.a, CreditAccountID: f0.b, Amount: 1, Ledger: LedgerCBI}
	tests := []struct {
		name string
		tr   func(f *fixture, t *Transfer)
		want Result
	}{
		{"id_zero before flags_invalid", func(f *fixture, t *Transfer) { t.ID, t.Flags = ID{}, 1<<14 }, IDZero},
		{"remembered rejection before timestamp_must_be_zero", func(f *fixture, t *Transfer) {
			t.Amount = 1 << 40
			f.l.Decide(f.now, []Transfer{*t})
			t.Timestamp, t.Amount = 1, 1
		}, ExceedsBalance},
		{"remembered rejection before flags_invalid", func(f *fixture, t *Transfer) {
			t.Reference = "\x00"
			f.l.Decide(f.now, []Transfer{*t})
			t.Flags, t.Reference = 1<<14, ""
		}, ReferenceInvalid},
		{"id_zero: the zero id is never remembered", func(f *fixture, t *Transfer) {
			t.ID, t.Amount = ID{}, 1<<40
			f.l.Decide(f.now, []Transfer{*t})
		}, IDZero},
		{"timestamp before amount", func(f *fixture, t *Transfer) { t.Timestamp, t.Amount = 1, 0 }, TimestampMustBeZero},
		{"timestamp before flags_invalid", func(f *fixture, t *Transfer) { t.Timestamp, t.Flags = 1, FlagNet|FlagPending }, TimestampMustBeZero},
		{"flags_invalid before reference_too_long", func(f *fixture, t *Transfer) { t.Flags, t.Reference = 1<<14, strings.Repeat("r", 65) }, FlagsInvalid},
		{"reference_too_long before reference_invalid", func(f *fixture, t *Transfer) { t.Reference = strings.Repeat("\x00", 65) }, ReferenceTooLong},
		{"reference_invalid before amount_invalid", func(f *fixture, t *Transfer) { t.Reference, t.Amount = "\xff", 0 }, ReferenceInvalid},
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
			if err := f.l.SetAccountFlags(f.a, FlagBlocked); err != nil {
				panic(err)
			}
		}, Exists},
		{"exists before exceeds_balance", func(f *fixture, t *Transfer) {
			*t = Transfer{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10, Ledger: LedgerCBI, Code: 1, Reference: "r"}
			f.l.Decide(f.now, []Transfer{{ID: idOf('y', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: aAvailable, Ledger: LedgerCBI}})
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
			if err := f.l.SetAccountFlags(f.a, FlagBlocked); err != nil {
				panic(err)
			}
		}, PendingAlreadyVoided},
		{"debit closed before credit closed", func(f *fixture, t *Transfer) {
			t.DebitAccountID = f.cls
			t.CreditAccountID = f.blk
			if err := f.l.SetAccountFlags(f.blk, FlagClosed); err != nil {
				panic(err)
			}
		}, DebitAccountClosed},
		{"credit closed before debit blocked", func(f *fixture, t *Transfer) { t.DebitAccountID, t.CreditAccountID = f.blk, f.cls }, CreditAccountClosed},
		{"debit blocked before credit blocked", func(f *fixture, t *Transfer) {
			t.DebitAccountID = f.blk
			if err := f.l.SetAccountFlags(f.b, FlagBlocked); err != nil {
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
	first := f.l.Decide(f.now, batch)
	for i, r := range first.Results {
		if r != OK {
			t.Fatalf("transfer %d: %s", i, r)
		}
	}
	before := takeSnapshot(f.l)
	again := f.l.Decide(f.now+nsPerSecond, batch)
	for i, r := range again.Results {
		if r != Exists {
			t.Errorf("repeat %d: got %s, want exists", i, r)
		}
	}
	assertSameState(t, "after a repeat", takeSnapshot(f.l), before)
	if len(again.Applied) != 0 || len(again.Accounts) != 0 || len(again.Rejected) != 0 {
		t.Fatalf("repeat applied %v, changed %v, rejected %v", again.Applied, again.Accounts, again.Rejected)
	}
	// The same id twice in one call is the caller's bug, not a repeat: the second gets id_duplicate, and a
	// later call's repeat is exists as ever.
	dup := Transfer{ID: idOf('x', 4), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 1, Ledger: LedgerCBI}
	b := f.l.Decide(f.now, []Transfer{dup, dup})
	mustResults(t, "same id twice", b.Results, OK, IDDuplicate)
	if len(b.Applied) != 1 || len(b.Rejected) != 0 {
		t.Fatalf("same id twice: applied %v, rejected %v", b.Applied, b.Rejected)
	}
	mustResults(t, "repeat", f.l.Decide(f.now, []Transfer{dup}).Results, Exists)
}

func TestIDDuplicate(t *testing.T) {
	tr := func(f *fixture, n uint64, amount int64, flags TransferFlags) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: f.a, CreditAccountID: f.b, Amount: amount, Ledger: LedgerCBI, Flags: flags}
	}
	tests := []struct {
		name    string
		batch   func(f *fixture) []Transfer
		want    []Result
		applied []uint64 // ids (idOf('x', n)) applied
	}{
		{"second of two", func(f *fixture) []Transfer { return []Transfer{tr(f, 1, 1, 0), tr(f, 1, 1, 0)} }, []Result{OK, IDDuplicate}, []uint64{1}},
		{"differing fields too", func(f *fixture) []Transfer { return []Transfer{tr(f, 1, 1, 0), tr(f, 1, 2, FlagPending)} },
			[]Result{OK, IDDuplicate}, []uint64{1}},
		{"third of three", func(f *fixture) []Transfer {
			return []Transfer{tr(f, 1, 1, 0), tr(f, 2, 1, 0), tr(f, 1, 1, 0), tr(f, 1, 1, 0)}
		},
			[]Result{OK, OK, IDDuplicate, IDDuplicate}, []uint64{1, 2}},
		{"after a rejected first", func(f *fixture) []Transfer { return []Transfer{tr(f, 1, 1<<40, 0), tr(f, 1, 1, 0)} },
			[]Result{ExceedsBalance, IDDuplicate}, nil},
		{"zero ids are not duplicates", func(f *fixture) []Transfer {
			z := tr(f, 1, 1, 0)
			z.ID = ID{}
			return []Transfer{z, z}
		}, []Result{IDZero, IDZero}, nil},
		{"in a chain fails the chain", func(f *fixture) []Transfer { return []Transfer{tr(f, 1, 1, FlagLinked), tr(f, 1, 1, 0)} },
			[]Result{LinkedEventFailed, IDDuplicate}, nil},
		{"of an id in an earlier chain", func(f *fixture) []Transfer {
			return []Transfer{tr(f, 1, 1, FlagLinked), tr(f, 2, 1, 0), tr(f, 3, 1, FlagLinked), tr(f, 2, 1, 0)}
		}, []Result{OK, OK, LinkedEventFailed, IDDuplicate}, []uint64{1, 2}},
		{"before exists", func(f *fixture) []Transfer {
			p := Transfer{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10, Ledger: LedgerCBI, Code: 1, Reference: "r"}
			return []Transfer{p, p}
		}, []Result{Exists, IDDuplicate}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := f.l.Decide(f.now, tc.batch(f))
			mustResults(t, "results", b.Results, tc.want...)
			var applied []uint64
			for _, a := range b.Applied {
				applied = append(applied, binary.BigEndian.Uint64(a.ID[8:])-1)
			}
			if !slices.Equal(applied, tc.applied) {
				t.Fatalf("applied %v, want %v", applied, tc.applied)
			}
			for _, r := range b.Rejected {
				if r.Result == IDDuplicate {
					t.Fatalf("id_duplicate remembered: %v", b.Rejected)
				}
			}
			if err := f.l.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Duplicates are per call: two calls of one batch may name the same id, and the second is a repeat.
	f := newFixture(t)
	f.l.Begin(f.now)
	mustResults(t, "first call", f.l.Submit([]Transfer{tr(f, 1, 1, 0)}), OK)
	mustResults(t, "second call", f.l.Submit([]Transfer{tr(f, 1, 1, 0)}), Exists)
	f.l.End()
}

// TestRejectionIsRemembered: a rejected id answers its first code for ever, even once the state changed so
// that it would now succeed; a liquidity queue retries under a new id. Batch.Rejected lists it once, and a
// restarted ledger that restores it answers the same.
func TestRejectionIsRemembered(t *testing.T) {
	f := newFixture(t)
	order := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: aAvailable + 500, Ledger: LedgerCBI}
	b := f.l.Decide(f.now, []Transfer{order})
	mustResults(t, "first", b.Results, ExceedsBalance)
	if want := []Rejection{{ID: order.ID, Result: ExceedsBalance, At: f.now}}; !slices.Equal(b.Rejected, want) {
		t.Fatalf("rejected %v, want %v", b.Rejected, want)
	}
	if _, ok := f.l.Transfer(order.ID); ok {
		t.Fatal("a rejected transfer was recorded")
	}
	if r, ok := f.l.Rejection(order.ID); !ok || r != ExceedsBalance || !f.l.Holds(order.ID) || f.l.Stats().Rejected != 1 {
		t.Fatalf("Rejection %s, %v; stats %+v", r, ok, f.l.Stats())
	}
	funding := Transfer{ID: idOf('x', 2), DebitAccountID: f.src, CreditAccountID: f.a, Amount: 1000, Ledger: LedgerCBI}
	b = f.l.Decide(f.now+nsPerSecond, []Transfer{funding, order})
	mustResults(t, "after funding", b.Results, OK, ExceedsBalance)
	if len(b.Rejected) != 0 {
		t.Fatalf("the repeat was listed again: %v", b.Rejected)
	}
	// Whatever the repeat carries: other fields, a timestamp, other flags, a chain.
	changed := order
	changed.Amount, changed.Timestamp, changed.Flags, changed.Reference = 1, 5, FlagPending|FlagVoidPending, "\x00"
	mustResults(t, "changed repeat", f.l.Decide(f.now, []Transfer{changed}).Results, ExceedsBalance)
	linked := order
	linked.Amount, linked.Flags = 1, FlagLinked
	mustResults(t, "in a chain", f.l.Decide(f.now, []Transfer{linked, {ID: idOf('x', 3), DebitAccountID: f.a, CreditAccountID: f.b,
		Amount: 1, Ledger: LedgerCBI}}).
		Results, ExceedsBalance, LinkedEventFailed)
	// The same amount under a new id now succeeds.
	retry := order
	retry.ID = idOf('x', 4)
	mustResults(t, "new id", f.l.Decide(f.now, []Transfer{retry}).Results, OK)
	// Propose does not turn it into a success either.
	f.l.Begin(f.now)
	if got, ok := f.l.Propose([]Transfer{{ID: order.ID, DebitAccountID: f.b, CreditAccountID: f.a, Amount: 1, Ledger: LedgerCBI}}); ok ||
		!equalResults(got, []Result{ExceedsBalance}) {
		t.Fatalf("proposed: %v, %v", got, ok)
	}
	f.l.End()

	// After a restart, RestoreRejected brings the memory back.
	r := restoreFrom(t, f.l)
	if got, ok := r.Rejection(order.ID); !ok || got != ExceedsBalance {
		t.Fatalf("restored: %s, %v", got, ok)
	}
	mustResults(t, "restored", r.Decide(f.now, []Transfer{{ID: order.ID, DebitAccountID: f.b, CreditAccountID: f.a, Amount: 1,
		Ledger: LedgerCBI}}).
		Results, ExceedsBalance)
}

// TestRememberedResults lists which codes are remembered for their id: every rejection but those that speak of
// the id itself or of another transfer, and id_time_future (an id that far ahead is never held).
func TestRememberedResults(t *testing.T) {
	never := map[Result]bool{OK: true, LinkedEventFailed: true, LinkedEventChainOpen: true, IDZero: true, IDDuplicate: true,
		IDTimeFuture: true, Exists: true, ExistsWithDifferentFields: true}
	for r := OK; r < resultCount; r++ {
		if got := r.remembered(); got == never[r] {
			t.Errorf("%s: remembered() = %v", r, got)
		}
	}
}

// TestNotRememberedIDsStayFree: an id whose transfer failed only because of its chain, or whose chain was left
// open, or that was a duplicate, is not remembered and may be applied later; an applied id that got
// exists_with_different_fields still answers exists to the exact repeat.
func TestNotRememberedIDsStayFree(t *testing.T) {
	f := newFixture(t)
	tr := func(n uint64, amount int64, flags TransferFlags) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: f.a, CreditAccountID: f.b, Amount: amount, Ledger: LedgerCBI, Flags: flags}
	}
	b := f.l.Decide(f.now, []Transfer{
		tr(1, 1, FlagLinked), tr(2, 1<<40, 0),
		tr(3, 1, FlagLinked), tr(3, 1, 0),
		tr(4, 1, FlagLinked), tr(5, 1, FlagLinked),
	})

	mustResults(t, "first", b.Results, LinkedEventFailed, ExceedsBalance, LinkedEventFailed, IDDuplicate, LinkedEventFailed, LinkedEventChainOpen)
	if want := []Rejection{{ID: idOf('x', 2), Result: ExceedsBalance, At: f.now}}; !slices.Equal(b.Rejected, want) {
		t.Fatalf("rejected %v, want %v", b.Rejected, want)
	}
	mustResults(t, "later", f.l.Decide(f.now, []Transfer{tr(1, 1, 0), tr(3, 1, 0), tr(4, 1, 0), tr(5, 1, 0), tr(2, 1, 0)}).Results,
		OK, OK, OK, OK, ExceedsBalance)
	mustResults(t, "different fields", f.l.Decide(f.now, []Transfer{tr(1, 2, 0)}).Results, ExistsWithDifferentFields)
	mustResults(t, "exact repeat", f.l.Decide(f.now, []Transfer{tr(1, 1, 0)}).Results, Exists)
	if f.l.Stats().Rejected != 1 {
		t.Fatalf("stats %+v", f.l.Stats())
	}
}

func TestDecideTimestamps(t *testing.T) {
	f := newFixture(t)
	last := f.l.Stats().LastTimestamp
	tr := func(n uint64, amount int64) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: f.a, CreditAccountID: f.b, Amount: amount, Ledger: LedgerCBI}
	}
	// The clock stands still and steps back: timestamps still rise by one nanosecond per applied transfer;
	// rejected transfers take none.
	b := f.l.Decide(last-5*nsPerSecond, []Transfer{tr(1, 1), tr(2, 1<<50), tr(3, 1)})
	if len(b.Applied) != 2 || b.Applied[0].Timestamp != last+1 || b.Applied[1].Timestamp != last+2 {
		t.Fatalf("applied %+v after last %d", b.Applied, last)
	}
	if got, _ := f.l.Transfer(idOf('x', 3)); got.Timestamp != last+2 {
		t.Fatalf("recorded timestamp %d", got.Timestamp)
	}
	// A failed chain gives its timestamps back.
	b = f.l.Decide(0, []Transfer{
		func() Transfer { x := tr(4, 1); x.Flags = FlagLinked; return x }(), tr(5, 1<<50), tr(6, 1)})

	if b.Results[0] != LinkedEventFailed || b.Results[1] != ExceedsBalance || b.Applied[0].Timestamp != last+3 {
		t.Fatalf("got %v %+v", b.Results, b.Applied)
	}
	// The clock ahead of the last timestamp wins.
	now := last + 10*nsPerSecond
	if b := f.l.Decide(now, []Transfer{tr(7, 1), tr(8, 1)}); b.Applied[0].Timestamp != now || b.Applied[1].Timestamp != now+1 {
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
	b := f.l.Decide(f.now, []Transfer{
		link(tr(1, f.b, f.a, 500)), link(tr(2, f.a, f.b, aAvailable+400)), tr(3, f.a, f.c1, 1),
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
	b = f.l.Decide(f.now, chain)
	if !equalResults(b.Results, []Result{OK, OK, OK, OK}) {
		t.Fatalf("got %v", b.Results)
	}
	// Retrying the applied chain: every member exists.
	if got := f.l.Decide(f.now, chain).Results; !equalResults(got, []Result{Exists, Exists, Exists, Exists}) {
		t.Fatalf("retry: %v", got)
	}
	// A chain that starts with an applied transfer but adds a new one fails on its first member.
	mixed := []Transfer{chain[0], tr(7, f.a, f.b, 1)}
	if got := f.l.Decide(f.now, mixed).Results; !equalResults(got, []Result{Exists, LinkedEventFailed}) {
		t.Fatalf("mixed: %v", got)
	}
	// ... and one that adds a new transfer before an applied one fails on the applied one.
	mixed = []Transfer{link(tr(8, f.a, f.b, 1)), chain[3]}
	if got := f.l.Decide(f.now, mixed).Results; !equalResults(got, []Result{LinkedEventFailed, Exists}) {
		t.Fatalf("mixed: %v", got)
	}
	// An open chain at the end of the batch.
	got := f.l.Decide(f.now, []Transfer{tr(9, f.a, f.b, 1), link(tr(10, f.a, f.b, 1)), link(tr(11, f.a, f.b, 1))}).Results
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
	b := f.l.Decide(f.now, []Transfer{p})
	ts := b.Applied[0].Timestamp
	a, _ := f.l.Account(f.a)
	if a.Available() != aAvailable-300 || a.DebitsPending != 120+300 {
		t.Fatalf("after pending: %+v", a)
	}
	// A partial post moves 120 and releases the other 180.
	post := Transfer{ID: idOf('x', 2), Flags: FlagPostPending, PendingID: p.ID, Amount: 120, Reference: "part"}
	b = f.l.Decide(f.now, []Transfer{post})
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

	// Expiry: a pending transfer expires at the first Decide whose now reaches timestamp + timeout.
	q := p
	q.ID = idOf('x', 3)
	b = f.l.Decide(f.now, []Transfer{q})
	dl := b.Applied[0].Timestamp + 10*nsPerSecond
	if b := f.l.Decide(dl-1, nil); len(b.Expired) != 0 {
		t.Fatalf("expired early: %v", b.Expired)
	}
	b = f.l.Decide(dl, nil)
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
	if got := f.l.Decide(dl, []Transfer{void}).Results[0]; got != PendingAlreadyExpired {
		t.Fatalf("void after expiry: %s", got)
	}
	// A pending created and voided in one batch leaves no account changed.
	r := p
	r.ID = idOf('x', 5)
	b = f.l.Decide(dl, []Transfer{r, {ID: idOf('x', 6), Flags: FlagVoidPending, PendingID: r.ID}})
	if !equalResults(b.Results, []Result{OK, OK}) || len(b.Accounts) != 0 || b.Applied[1].Amount != 300 {
		t.Fatalf("pending and void: %+v", b)
	}
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestDecidePanicsOnCallerBugs(t *testing.T) {
	tests := []struct {
		name string
		call func(l *Ledger, now int64)
	}{
		{"negative now", func(l *Ledger, now int64) { l.Decide(-1, nil) }},
		{"now past TimeMax", func(l *Ledger, now int64) { l.Decide(TimeMax+1, nil) }},
		{"batch too long", func(l *Ledger, now int64) { l.Decide(now, make([]Transfer, BatchLenMax+1)) }},
		{"proposal too long", func(l *Ledger, now int64) { l.Begin(now); l.Propose(make([]Transfer, BatchLenMax+1)) }},
		{"Begin twice without End", func(l *Ledger, now int64) { l.Begin(now); l.Begin(now) }},
		{"End without Begin", func(l *Ledger, now int64) { l.End() }},
		{"End twice", func(l *Ledger, now int64) { l.Begin(now); l.End(); l.End() }},
		{"Submit without Begin", func(l *Ledger, now int64) { l.Submit(nil) }},
		{"Submit after End", func(l *Ledger, now int64) { l.Begin(now); l.End(); l.Submit(nil) }},
		{"Propose without Begin", func(l *Ledger, now int64) { l.Propose(nil) }},
		{"Decide inside an open batch", func(l *Ledger, now int64) { l.Begin(now); l.Decide(now, nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			mustPanic(t, tc.name, func() { tc.call(f.l, f.now) })
		})
	}
}

// TestBeginSubmitEnd: Decide is Begin, one Submit and End; a batch may hold several Submit and Propose calls,
// whose results are their own, and End returns everything the batch changed, once.
func TestBeginSubmitEnd(t *testing.T) {
	f := newFixture(t)
	tr := func(n uint64, d, c ID, amount int64, flags TransferFlags) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI, Flags: flags}
	}
	f.l.Begin(f.now + 3600*nsPerSecond) // past pTimed's deadline
	mustResults(t, "first caller", f.l.Submit([]Transfer{tr(1, f.a, f.b, 5, 0), tr(2, f.a, f.b, 1<<40, 0)}), OK, ExceedsBalance)
	// A second caller's chain left open fails that call alone, and never links into the next call.
	mustResults(t, "second caller", f.l.Submit([]Transfer{tr(3, f.b, f.a, 5, 0), tr(4, f.b, f.a, 5, FlagLinked)}), OK, LinkedEventChainOpen)
	mustResults(t, "third caller", f.l.Submit([]Transfer{tr(5, f.a, f.b, 2, 0)}), OK)
	got, ok := f.l.Propose([]Transfer{tr(6, f.b, f.a, 1, FlagLinked), tr(7, f.a, f.b, 1, 0)})
	if !ok {
		t.Fatalf("proposal: %v", got)
	}
	mustResults(t, "empty call", f.l.Submit(nil))
	b := f.l.End()
	if b.Results != nil {
		t.Fatalf("End returned results %v", b.Results)
	}
	var ids []ID
	for _, a := range b.Applied {
		ids = append(ids, a.ID)
	}
	if want := []ID{idOf('x', 1), idOf('x', 3), idOf('x', 5), idOf('x', 6), idOf('x', 7)}; !slices.Equal(ids, want) {
		t.Fatalf("applied %v, want %v", ids, want)
	}
	if !slices.Equal(b.Expired, []ID{f.pTimed}) {
		t.Fatalf("expired %v", b.Expired)
	}
	if want := []Rejection{{ID: idOf('x', 2), Result: ExceedsBalance, At: f.now + 3600*nsPerSecond}}; !slices.Equal(b.Rejected, want) {
		t.Fatalf("rejected %v", b.Rejected)
	}
	if len(b.Accounts) != 2 || b.Accounts[0].ID != f.a || b.Accounts[1].ID != f.b {
		t.Fatalf("accounts %+v", b.Accounts)
	}
	for _, a := range b.Accounts {
		if live, _ := f.l.Account(a.ID); live != a {
			t.Fatalf("account %+v, live %+v", a, live)
		}
	}
	// The ids of the open chain stay free.
	mustResults(t, "open chain's id", f.l.Decide(f.now, []Transfer{tr(4, f.b, f.a, 5, 0)}).Results, OK)
	if err := f.l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestPropose: a proposal applies whole or leaves no trace — no transfer, no balance, no remembered rejection,
// no timestamp — so its ids stay free for the next attempt.
func TestPropose(t *testing.T) {
	f := newFixture(t)
	tr := func(n uint64, d, c ID, amount int64, flags TransferFlags) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI, Flags: flags}
	}
	tests := []struct {
		name  string
		batch []Transfer
		want  []Result
		ok    bool
	}{
		{"all apply", []Transfer{tr(1, f.a, f.b, 5, 0), tr(2, f.b, f.a, 5, 0)}, []Result{OK, OK}, true},
		{"empty", nil, []Result{}, true},
		{"one fails", []Transfer{tr(1, f.a, f.b, 5, 0), tr(2, f.a, f.b, 1<<40, 0), tr(3, f.b, f.a, 1, 0)},
			[]Result{OK, ExceedsBalance, OK}, false},
		{"a failed chain", []Transfer{tr(1, f.a, f.b, 5, FlagLinked), tr(2, f.a, f.c1, 1, 0)}, []Result{LinkedEventFailed, LedgerMismatch}, false},
		{"open chain", []Transfer{tr(1, f.a, f.b, 5, 0), tr(2, f.a, f.b, 1, FlagLinked)}, []Result{OK, LinkedEventChainOpen}, false},
		{"exists is not applied", []Transfer{tr(1, f.a, f.b, 5, 0), {ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10,
			Ledger: LedgerCBI, Code: 1, Reference: "r"}}, []Result{OK, Exists}, false},
		{"duplicate", []Transfer{tr(1, f.a, f.b, 5, 0), tr(1, f.a, f.b, 5, 0)}, []Result{OK, IDDuplicate}, false},
		{"post and pending", []Transfer{tr(1, f.a, f.b, 5, FlagPending), {ID: idOf('x', 2), Flags: FlagPostPending, PendingID: idOf('x', 1)},
			{ID: idOf('x', 3), Flags: FlagVoidPending, PendingID: f.pActive}, {ID: idOf('x', 4), Flags: FlagVoidPending, PendingID: f.pVoided}},
			[]Result{OK, OK, OK, PendingAlreadyVoided}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			before := takeSnapshot(f.l)
			f.l.Begin(f.now)
			got, ok := f.l.Propose(tc.batch)
			b := f.l.End()
			if ok != tc.ok || !equalResults(got, tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
			if len(b.Rejected) != 0 {
				t.Fatalf("a proposal remembered %v", b.Rejected)
			}
			if !ok {
				assertSameState(t, "after a failed proposal", takeSnapshot(f.l), before)
				if len(b.Applied) != 0 || len(b.Accounts) != 0 {
					t.Fatalf("failed proposal applied %v, changed %v", b.Applied, b.Accounts)
				}
				// Its new ids stay free: the first one applies on its own now.
				for _, x := range tc.batch {
					if _, held := before.Transfers[x.ID]; !held && f.l.Holds(x.ID) {
						t.Fatalf("%s is held after a failed proposal", x.ID)
					}
				}
				first := tc.batch[0]
				first.Flags &^= FlagLinked
				mustResults(t, "first id again", f.l.Decide(f.now, []Transfer{first}).Results, OK)
			} else if len(b.Applied) != len(tc.batch) {
				t.Fatalf("applied %v", b.Applied)
			}
			if err := f.l.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
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
		mustPanic(t, "commit", func() { f.l.Decide(f.now, transfer(f)) })
	})
	t.Run("pending total drifts", func(t *testing.T) {
		f := newFixture(t)
		f.l.totals[LedgerCBI].pendingActive++
		if err := f.l.CheckInvariants(); err == nil {
			t.Fatal("CheckInvariants found nothing")
		}
		mustPanic(t, "commit", func() { f.l.Decide(f.now, transfer(f)) })
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
