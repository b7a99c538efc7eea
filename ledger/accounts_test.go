package ledger

import (
	"errors"
	"strings"
	"testing"
)

func TestCreateAccounts(t *testing.T) {
	ok := Account{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindSettlement, Name: "بانک ملی ایران", ExternalKey: "cbi:017"}
	with := func(change func(*Account)) Account { a := ok; change(&a); return a }
	existing := func(a *Account) { a.ID, a.Name, a.ExternalKey = idOf('e', 1), "existing", "cbi:001" }
	tests := []struct {
		name string
		a    Account
		want AccountResult
	}{
		{"ok", ok, AccountOK},
		{"ok: without an external key", with(func(a *Account) { a.ExternalKey = "" }), AccountOK},
		{"issuance allowed to go negative", with(func(a *Account) { a.Kind, a.Flags = KindIssuance, FlagNegativeAllowed }), AccountOK},
		{"clearing allowed to go negative", with(func(a *Account) { a.Kind, a.Flags = KindClearing, FlagNegativeAllowed }), AccountOK},
		{"clearing floored", with(func(a *Account) { a.Kind = KindClearing }), AccountOK},
		{"mirror", with(func(a *Account) { a.Kind = KindMirror }), AccountOK},
		{"created blocked", with(func(a *Account) { a.Flags |= FlagBlocked }), AccountOK},
		{"longest name", with(func(a *Account) { a.Name = strings.Repeat("ب", NameLenMax/2) }), AccountOK},
		{"longest external key", with(func(a *Account) { a.ExternalKey = strings.Repeat("k", ExternalKeyLenMax) }), AccountOK},
		{"external key: a SHEBA", with(func(a *Account) { a.ExternalKey = "IR062960000000100324200001" }), AccountOK},
		{"external key: Persian letters", with(func(a *Account) { a.ExternalKey = "ملی-۰۱۷" }), AccountOK},
		{"external key taken in another ledger only", with(func(a *Account) { a.Ledger, a.ExternalKey = 1017, "cbi:001" }), AccountOK},
		{"id_zero", with(func(a *Account) { a.ID = ID{} }), AccountIDZero},
		{"ledger_zero", with(func(a *Account) { a.Ledger = 0 }), AccountLedgerZero},
		{"ledger_invalid: above 2^31-1", with(func(a *Account) { a.Ledger = 1 << 31 }), AccountLedgerInvalid},
		{"ledger_invalid: the largest", with(func(a *Account) { a.Ledger = 1<<32 - 1 }), AccountLedgerInvalid},
		{"the largest ledger storage keeps", with(func(a *Account) { a.Ledger = 1<<31 - 1 }), AccountOK},
		{"precedence: ledger_invalid before kind_invalid", with(func(a *Account) { a.Ledger, a.Kind = 1<<31, 0 }), AccountLedgerInvalid},
		{"kind_invalid: zero", with(func(a *Account) { a.Kind = 0 }), AccountKindInvalid},
		{"kind_invalid: unknown", with(func(a *Account) { a.Kind = KindEquity + 1 }), AccountKindInvalid},
		{"flags_invalid: unknown bit", with(func(a *Account) { a.Flags |= 1 << 8 }), AccountFlagsInvalid},
		{"flags_invalid: issuance without negative_allowed", with(func(a *Account) { a.Kind = KindIssuance }), AccountFlagsInvalid},
		{"flags_invalid: issuance blocked without negative_allowed", with(func(a *Account) { a.Kind, a.Flags = KindIssuance, FlagBlocked }), AccountFlagsInvalid},
		{"name_too_long", with(func(a *Account) { a.Name = strings.Repeat("n", NameLenMax+1) }), AccountNameTooLong},
		{"name_invalid: NUL", with(func(a *Account) { a.Name = "bank\x00A" }), AccountNameInvalid},
		{"name_invalid: not UTF-8", with(func(a *Account) { a.Name = "bank \xff" }), AccountNameInvalid},
		{"name_invalid: a cut letter", with(func(a *Account) { a.Name = "بانک"[:3] }), AccountNameInvalid},
		{"external_key_invalid: too long", with(func(a *Account) { a.ExternalKey = strings.Repeat("k", ExternalKeyLenMax+1) }), AccountExternalKeyInvalid},
		{"external_key_invalid: not UTF-8", with(func(a *Account) { a.ExternalKey = "pan:\xc3" }), AccountExternalKeyInvalid},
		{"external_key_invalid: NUL", with(func(a *Account) { a.ExternalKey = "pan:\x00" }), AccountExternalKeyInvalid},
		{"external_key_invalid: control character", with(func(a *Account) { a.ExternalKey = "pan:6037\n9912" }), AccountExternalKeyInvalid},
		{"external_key_invalid: leading space", with(func(a *Account) { a.ExternalKey = " IR06" }), AccountExternalKeyInvalid},
		{"external_key_invalid: trailing space", with(func(a *Account) { a.ExternalKey = "IR06 " }), AccountExternalKeyInvalid},
		{"balances_must_be_zero", with(func(a *Account) { a.CreditsPosted = 1 }), AccountBalancesMustBeZero},
		{"balances_must_be_zero: pending", with(func(a *Account) { a.DebitsPending = 1 }), AccountBalancesMustBeZero},
		{"precedence: id_zero before ledger_zero", with(func(a *Account) { a.ID, a.Ledger = ID{}, 0 }), AccountIDZero},
		{"precedence: kind before flags", with(func(a *Account) { a.Kind, a.Flags = 0, 1<<9 }), AccountKindInvalid},
		{"precedence: flags before name", with(func(a *Account) { a.Flags, a.Name = 1<<9, strings.Repeat("n", 200) }), AccountFlagsInvalid},
		{"precedence: name_too_long before name_invalid", with(func(a *Account) { a.Name = strings.Repeat("\x00", NameLenMax+1) }), AccountNameTooLong},
		{"precedence: name_invalid before external_key_invalid", with(func(a *Account) { a.Name, a.ExternalKey = "\x00", " " }), AccountNameInvalid},
		{"precedence: external_key_invalid before balances", with(func(a *Account) { a.ExternalKey, a.DebitsPosted = " ", 5 }), AccountExternalKeyInvalid},
		{"precedence: name before balances", with(func(a *Account) { a.Name, a.DebitsPosted = strings.Repeat("n", 200), 5 }), AccountNameTooLong},
		{"precedence: balances before exists", with(func(a *Account) { existing(a); a.DebitsPosted = 5 }), AccountBalancesMustBeZero},
		{"exists", with(existing), AccountExists},
		{"exists: operator flags are not compared", with(func(a *Account) { existing(a); a.Flags = FlagClosed | FlagBlocked }), AccountExists},
		{"exists: before external_key_taken (its own key)", with(existing), AccountExists},
		{"exists_with_different_fields: name", with(func(a *Account) { existing(a); a.Name = "other" }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: negative_allowed", with(func(a *Account) { existing(a); a.Flags = FlagNegativeAllowed }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: ledger", with(func(a *Account) { existing(a); a.Ledger = 1017 }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: kind", with(func(a *Account) { existing(a); a.Kind = KindFee }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: external key", with(func(a *Account) { existing(a); a.ExternalKey = "cbi:002" }), AccountExistsWithDifferentFields},
		{"exists_with_different_fields: external key dropped", with(func(a *Account) { existing(a); a.ExternalKey = "" }), AccountExistsWithDifferentFields},
		{"external_key_taken", with(func(a *Account) { a.ExternalKey = "cbi:001" }), AccountExternalKeyTaken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			if r := l.CreateAccounts([]Account{{ID: idOf('e', 1), Ledger: LedgerCBI, Kind: KindSettlement, Name: "existing",
				ExternalKey: "cbi:001"}}); r[0] != AccountOK {
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
				if a, found := l.AccountByKey(tc.a.Ledger, tc.a.ExternalKey); found != (tc.a.ExternalKey != "") || found && a.ID != tc.a.ID {
					t.Fatalf("AccountByKey(%d, %q) = %+v, %v", tc.a.Ledger, tc.a.ExternalKey, a, found)
				}
			}
			if a, _ := l.AccountByKey(LedgerCBI, "cbi:001"); a.ID != idOf('e', 1) {
				t.Fatalf("the existing account's key now names %+v", a)
			}
			if err := l.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCreateAccountsRepeatInOneCall(t *testing.T) {
	l := New()
	a := Account{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindFee, Name: "fees", ExternalKey: "fee:1"}
	other := Account{ID: idOf('n', 2), Ledger: LedgerCBI, Kind: KindFee, Name: "fees 2", ExternalKey: "fee:1"}
	got := l.CreateAccounts([]Account{a, a, {ID: idOf('n', 1), Ledger: 2, Kind: KindFee, Name: "fees"}, other})
	want := []AccountResult{AccountOK, AccountExists, AccountExistsWithDifferentFields, AccountExternalKeyTaken}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestAccountResultNames(t *testing.T) {
	seen := map[string]bool{}
	for r := AccountOK; r < accountResultCount; r++ {
		n := r.String()
		if n == "" || n == "account_result_invalid" || seen[n] {
			t.Fatalf("account result %d: name %q", r, n)
		}
		seen[n] = true
	}
	if got := accountResultCount.String(); got != "account_result_invalid" {
		t.Fatalf("got %q", got)
	}
	for k := KindSettlement; k <= kindLast; k++ {
		if k.String() == "kind_invalid" {
			t.Fatalf("kind %d has no name", k)
		}
	}
	if KindClearing.String() != "clearing" || KindMirror.String() != "mirror" || (kindLast+1).String() != "kind_invalid" {
		t.Fatal("kind names")
	}
}

func TestAccountByKey(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		ledger LedgerID
		key    string
		want   ID // zero: not found
	}{
		{"settlement account", LedgerCBI, "bank:A", f.a},
		{"customer by SHEBA", 1017, "IR062960000000100324200001", f.c1},
		{"key of another ledger", 1017, "bank:A", ID{}},
		{"unknown key", LedgerCBI, "bank:Z", ID{}},
		{"empty key names nothing", LedgerCBI, "", ID{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := f.l.AccountByKey(tc.ledger, tc.key)
			if ok != !tc.want.IsZero() || got.ID != tc.want {
				t.Fatalf("got %+v, %v; want %s", got, ok, tc.want)
			}
		})
	}
	// The key index follows the balances: AccountByKey returns the account as it is now.
	f.l.Decide(f.now, []Transfer{{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 7, Ledger: LedgerCBI}})
	byKey, _ := f.l.AccountByKey(LedgerCBI, "bank:B")
	byID, _ := f.l.Account(f.b)
	if byKey != byID {
		t.Fatalf("by key %+v, by id %+v", byKey, byID)
	}
	// Restoring an account again with another key moves the key.
	r := New()
	a := Account{ID: idOf('n', 1), Ledger: LedgerCBI, Kind: KindSettlement, ExternalKey: "old"}
	r.RestoreAccount(a)
	a.ExternalKey = "new"
	r.RestoreAccount(a)
	if _, ok := r.AccountByKey(LedgerCBI, "old"); ok {
		t.Fatal("the old key still names the account")
	}
	if got, ok := r.AccountByKey(LedgerCBI, "new"); !ok || got.ID != a.ID {
		t.Fatalf("new key: %+v, %v", got, ok)
	}
}

// TestSafeDefaultFloor: an account created with Flags 0, of any kind that allows it, cannot go below zero —
// neither by a plain transfer nor by a pending one, nor by a chain — so no account creates money by omission.
func TestSafeDefaultFloor(t *testing.T) {
	for k := KindSettlement; k <= kindLast; k++ {
		if k == KindIssuance {
			continue // must carry FlagNegativeAllowed
		}
		t.Run(k.String(), func(t *testing.T) {
			l := New()
			iss, acct, other := idOf('a', 0), idOf('a', 1), idOf('a', 2)
			res := l.CreateAccounts([]Account{
				{ID: iss, Ledger: LedgerCBI, Kind: KindIssuance, Flags: FlagNegativeAllowed},
				{ID: acct, Ledger: LedgerCBI, Kind: k}, // Flags 0
				{ID: other, Ledger: LedgerCBI, Kind: KindSuspense, Flags: FlagNegativeAllowed},
			})
			if res[1] != AccountOK {
				t.Fatalf("create: %s", res[1])
			}
			tr := func(n uint64, d, c ID, amount int64, flags TransferFlags) Transfer {
				return Transfer{ID: idOf('x', n), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI, Flags: flags}
			}
			mustResults(t, "empty account", l.Decide(t0, []Transfer{tr(1, acct, other, 1, 0), tr(2, acct, other, 1, FlagPending)}).Results,
				ExceedsBalance, ExceedsBalance)
			mustResults(t, "funded", l.Decide(t0, []Transfer{tr(3, iss, acct, 5, 0), tr(4, acct, other, 6, 0),
				tr(5, acct, other, 3, FlagPending), tr(6, acct, other, 3, 0), tr(7, acct, other, 2, 0)}).
				Results,
				OK, ExceedsBalance, OK, ExceedsBalance, OK)
			mustResults(t, "chain", l.Decide(t0, []Transfer{tr(8, acct, other, 1, FlagLinked), tr(9, other, acct, 1, 0)}).Results,
				ExceedsBalance, LinkedEventFailed)
			if a, _ := l.Account(acct); a.Available() != 0 || a.Balance() != 3 {
				t.Fatalf("account %+v", a)
			}
			// The unfloored account did go negative.
			if a, _ := l.Account(other); a.Balance() != 2 {
				t.Fatalf("other %+v", a)
			}
			if err := l.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSetAccountFlags(t *testing.T) {
	f := newFixture(t)
	if err := f.l.SetAccountFlags(idOf('z', 1), FlagBlocked); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	if err := f.l.SetAccountFlags(f.src, FlagBlocked); !errors.Is(err, ErrAccountFlags) {
		t.Fatalf("dropping negative_allowed: %v", err)
	}
	if err := f.l.SetAccountFlags(f.a, FlagNegativeAllowed); !errors.Is(err, ErrAccountFlags) {
		t.Fatalf("adding negative_allowed: %v", err)
	}
	if err := f.l.SetAccountFlags(f.a, 1<<7); !errors.Is(err, ErrAccountFlags) {
		t.Fatalf("unknown bit: %v", err)
	}
	if a, _ := f.l.Account(f.a); a.Flags != 0 {
		t.Fatalf("a failed call changed the flags to %v", a.Flags)
	}
	if err := f.l.SetAccountFlags(f.src, FlagNegativeAllowed|FlagBlocked); err != nil {
		t.Fatalf("blocking an unfloored account: %v", err)
	}
	// Unblocking lets money move again; reopening a closed account too.
	tr := Transfer{ID: idOf('x', 1), DebitAccountID: f.blk, CreditAccountID: f.cls, Amount: 1, Ledger: LedgerCBI}
	if got := f.l.Decide(f.now, []Transfer{tr}).Results[0]; got != CreditAccountClosed {
		t.Fatalf("got %s", got)
	}
	if err := f.l.SetAccountFlags(f.cls, 0); err != nil {
		t.Fatal(err)
	}
	tr.ID = idOf('x', 2) // x1's rejection is remembered
	if got := f.l.Decide(f.now, []Transfer{tr}).Results[0]; got != DebitAccountBlocked {
		t.Fatalf("got %s", got)
	}
	if err := f.l.SetAccountFlags(f.blk, 0); err != nil {
		t.Fatal(err)
	}
	tr.ID = idOf('x', 3)
	if got := f.l.Decide(f.now, []Transfer{tr}).Results[0]; got != OK {
		t.Fatalf("got %s", got)
	}
}
