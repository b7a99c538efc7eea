package ledger

import (
	"errors"
	"strings"
	"testing"
)

func TestCreateAccounts(t *testing.T) {
	ok := Account{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindSettlement, Flags: FlagNoNegative, Name: "بانک ملی ایران"}
	with := func(change func(*Account)) Account { a := ok; change(&a); return a }
	tests := []struct {
		name string
		a    Account
		want AccountResult
	}{
		{"ok", ok, AccountOK},
		{"issuance without a floor", with(func(a *Account) { a.Kind, a.Flags = KindIssuance, 0 }), AccountOK},
		{"created blocked", with(func(a *Account) { a.Flags |= FlagBlocked }), AccountOK},
		{"longest name", with(func(a *Account) { a.Name = strings.Repeat("ب", NameLenMax/2) }), AccountOK},
		{"id_zero", with(func(a *Account) { a.ID = ID{} }), AccountIDZero},
		{"ledger_zero", with(func(a *Account) { a.Ledger = 0 }), AccountLedgerZero},
		{"kind_invalid: zero", with(func(a *Account) { a.Kind = 0 }), AccountKindInvalid},
		{"kind_invalid: unknown", with(func(a *Account) { a.Kind = KindIssuance + 1 }), AccountKindInvalid},
		{"flags_invalid: unknown bit", with(func(a *Account) { a.Flags |= 1 << 8 }), AccountFlagsInvalid},
		{"flags_invalid: issuance with a floor", with(func(a *Account) { a.Kind = KindIssuance }), AccountFlagsInvalid},
		{"name_too_long", with(func(a *Account) { a.Name = strings.Repeat("n", NameLenMax+1) }), AccountNameTooLong},
		{"balances_must_be_zero", with(func(a *Account) { a.CreditsPosted = 1 }), AccountBalancesMustBeZero},
		{"balances_must_be_zero: pending", with(func(a *Account) { a.DebitsPending = 1 }), AccountBalancesMustBeZero},
		{"precedence: id_zero before ledger_zero", with(func(a *Account) { a.ID, a.Ledger = ID{}, 0 }), AccountIDZero},
		{"precedence: kind before flags", with(func(a *Account) { a.Kind, a.Flags = 0, 1<<9 }), AccountKindInvalid},
		{"precedence: name before balances", with(func(a *Account) { a.Name, a.DebitsPosted = strings.Repeat("n", 200), 5 }), AccountNameTooLong},
		{"precedence: balances before exists", with(func(a *Account) { a.ID, a.DebitsPosted = idOf('e', 1), 5 }), AccountBalancesMustBeZero},
		{"exists", with(func(a *Account) { a.ID, a.Name = idOf('e', 1), "existing" }), AccountExists},
		{"exists: operator flags are not compared", with(func(a *Account) { a.ID, a.Name, a.Flags = idOf('e', 1), "existing", FlagNoNegative|FlagClosed }), AccountExists},
		{"exists_with_different_fields: name", with(func(a *Account) { a.ID = idOf('e', 1) }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: floor", with(func(a *Account) { a.ID, a.Name, a.Flags = idOf('e', 1), "existing", 0 }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: ledger", with(func(a *Account) { a.ID, a.Name, a.Ledger = idOf('e', 1), "existing", 1017 }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: kind", with(func(a *Account) { a.ID, a.Name, a.Kind = idOf('e', 1), "existing", KindFee }), AccountExistsWithDifferentFields},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			if r := l.CreateAccounts([]Account{{ID: idOf('e', 1), Ledger: LedgerCBI, Kind: KindSettlement, Flags: FlagNoNegative, Name: "existing"}}); r[0] != AccountOK {
				t.Fatal(r[0])
			}
			before := l.Stats().Accounts
			got := l.CreateAccounts([]Account{tc.a})[0]
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			created := l.Stats().Accounts - before
			if (got == AccountOK) != (created == 1) {
				t.Fatalf("%s created %d accounts", got, created)
			}
			if got == AccountOK {
				if a, _ := l.Account(tc.a.ID); a != tc.a {
					t.Fatalf("stored %+v, want %+v", a, tc.a)
				}
			}
		})
	}
}

func TestCreateAccountsRepeatInOneCall(t *testing.T) {
	l := New()
	a := Account{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindFee, Name: "fees"}
	got := l.CreateAccounts([]Account{a, a, {ID: idOf('n', 1), Ledger: 2, Kind: KindFee, Name: "fees"}})
	if got[0] != AccountOK || got[1] != AccountExists || got[2] != AccountExistsWithDifferentFields {
		t.Fatalf("got %v", got)
	}
}

func TestSetAccountFlags(t *testing.T) {
	f := newFixture(t)
	if err := f.l.SetAccountFlags(idOf('z', 1), FlagBlocked); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	if err := f.l.SetAccountFlags(f.a, FlagBlocked); !errors.Is(err, ErrAccountFlags) {
		t.Fatalf("dropping the floor: %v", err)
	}
	if err := f.l.SetAccountFlags(f.src, FlagNoNegative); !errors.Is(err, ErrAccountFlags) {
		t.Fatalf("adding a floor: %v", err)
	}
	if err := f.l.SetAccountFlags(f.a, FlagNoNegative|1<<7); !errors.Is(err, ErrAccountFlags) {
		t.Fatalf("unknown bit: %v", err)
	}
	if a, _ := f.l.Account(f.a); a.Flags != FlagNoNegative {
		t.Fatalf("a failed call changed the flags to %v", a.Flags)
	}
	// Unblocking lets money move again; reopening a closed account too.
	tr := Transfer{ID: idOf('x', 1), DebitAccountID: f.blk, CreditAccountID: f.cls, Amount: 1, Ledger: LedgerCBI}
	if got := f.l.Commit(f.now, []Transfer{tr}).Results[0]; got != CreditAccountClosed {
		t.Fatalf("got %s", got)
	}
	if err := f.l.SetAccountFlags(f.cls, FlagNoNegative); err != nil {
		t.Fatal(err)
	}
	if got := f.l.Commit(f.now, []Transfer{tr}).Results[0]; got != DebitAccountBlocked {
		t.Fatalf("got %s", got)
	}
	if err := f.l.SetAccountFlags(f.blk, FlagNoNegative); err != nil {
		t.Fatal(err)
	}
	if got := f.l.Commit(f.now, []Transfer{tr}).Results[0]; got != OK {
		t.Fatalf("got %s", got)
	}
}

func TestRollbackAccounts(t *testing.T) {
	l := New()
	first := []Account{{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindIssuance, Name: "iss"}}
	l.CreateAccounts(first)
	batch := []Account{
		{ID: idOf('n', 2), Ledger: LedgerCBI, Kind: KindSettlement, Name: "x"},
		{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindIssuance, Name: "iss"}, // exists: must stay
		{ID: idOf('n', 3), Ledger: 1017, Kind: KindCustomer, Name: "y"},
	}
	before := takeSnapshot(l)
	res := l.CreateAccounts(batch)
	l.RollbackAccounts(batch, res)
	assertSameState(t, "after RollbackAccounts", takeSnapshot(l), before)
	if _, ok := l.Account(idOf('n', 1)); !ok {
		t.Fatal("rolled back an account that existed before")
	}
	// Once money moved on an account, forgetting it would part memory from storage: a bug, so a panic.
	res = l.CreateAccounts(batch[:1])
	l.Commit(t0, []Transfer{{ID: idOf('x', 1), DebitAccountID: idOf('n', 1), CreditAccountID: idOf('n', 2), Amount: 1, Ledger: LedgerCBI}})
	mustPanic(t, "rollback of an account with money", func() { l.RollbackAccounts(batch[:1], res) })
	mustPanic(t, "lengths differ", func() { l.RollbackAccounts(batch, res) })
}
