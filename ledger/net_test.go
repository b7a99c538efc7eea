package ledger

import "testing"

// netWorld is three banks' settlement accounts, floored and empty, and an issuance account to fund them.
func netWorld(t *testing.T) (l *Ledger, iss, a, b, c ID) {
	t.Helper()
	l = New()
	iss, a, b, c = idOf('a', 0), idOf('a', 1), idOf('a', 2), idOf('a', 3)
	for i, r := range l.CreateAccounts([]Account{
		{ID: iss, Ledger: LedgerCBI, Kind: KindIssuance, Flags: FlagNegativeAllowed},
		{ID: a, Ledger: LedgerCBI, Kind: KindSettlement, Name: "A"},
		{ID: b, Ledger: LedgerCBI, Kind: KindSettlement, Name: "B"},
		{ID: c, Ledger: LedgerCBI, Kind: KindSettlement, Name: "C"},
	}) {
		if r != AccountOK {
			t.Fatalf("account %d: %s", i, r)
		}
	}
	return l, iss, a, b, c
}

// TestNetChains: a FlagNet chain is checked on its net effect. The cyclic gridlock A→B, B→C, C→A of 100 each
// among three floored banks with nothing on account settles as one chain and leaves every balance at zero;
// with one leg of 150 someone would be left net negative and nothing applies; without FlagNet the first leg
// already fails.
func TestNetChains(t *testing.T) {
	leg := func(n uint64, d, c ID, amount int64, flags TransferFlags) Transfer {
		return Transfer{ID: idOf('x', n), DebitAccountID: d, CreditAccountID: c, Amount: amount, Ledger: LedgerCBI, Code: 3, Flags: flags}
	}
	const net, link = FlagNet | FlagLinked, FlagLinked
	tests := []struct {
		name     string
		fundA    int64
		chain    func(a, b, c ID) []Transfer
		want     []Result
		balances [3]int64 // of A, B, C afterwards
	}{
		{"gridlock settles on its net effect", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, net), leg(2, b, c, 100, net), leg(3, c, a, 100, FlagNet)}
		}, []Result{OK, OK, OK}, [3]int64{0, 0, 0}},
		{"one leg of 150 leaves A net negative", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 150, net), leg(2, b, c, 100, net), leg(3, c, a, 100, FlagNet)}
		}, []Result{ExceedsBalance, LinkedEventFailed, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"one leg of 150 leaves B net negative", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, net), leg(2, b, c, 150, net), leg(3, c, a, 100, FlagNet)}
		}, []Result{LinkedEventFailed, ExceedsBalance, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"two below: the first member whose debit account is below", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, net), leg(2, b, c, 150, net), leg(3, c, a, 10, FlagNet)}
		}, []Result{ExceedsBalance, LinkedEventFailed, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"the same gridlock without FlagNet fails on its first leg", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, link), leg(2, b, c, 100, link), leg(3, c, a, 100, 0)}
		}, []Result{ExceedsBalance, LinkedEventFailed, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"what A holds covers its net", 50, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 150, net), leg(2, b, c, 100, net), leg(3, c, a, 100, FlagNet)}
		}, []Result{OK, OK, OK}, [3]int64{0, 50, 0}},
		{"a netted chain may pass an account through zero and back", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 70, net), leg(2, b, a, 70, net), leg(3, a, c, 30, net), leg(4, c, a, 30, FlagNet)}
		}, []Result{OK, OK, OK, OK}, [3]int64{0, 0, 0}},
		{"an open netted chain", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, net), leg(2, b, a, 100, net)}
		}, []Result{LinkedEventFailed, LinkedEventChainOpen}, [3]int64{0, 0, 0}},
		{"a member without FlagNet", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, net), leg(2, b, c, 100, link), leg(3, c, a, 100, FlagNet)}
		}, []Result{LinkedEventFailed, FlagsInvalid, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"a first member without FlagNet", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, link), leg(2, b, c, 100, net), leg(3, c, a, 100, FlagNet)}
		}, []Result{ExceedsBalance, LinkedEventFailed, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"a first member without FlagNet that passes", 100, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, link), leg(2, b, c, 100, net), leg(3, c, a, 100, FlagNet)}
		}, []Result{LinkedEventFailed, FlagsInvalid, LinkedEventFailed}, [3]int64{100, 0, 0}},
		{"a pending member", 0, func(a, b, c ID) []Transfer {
			return []Transfer{leg(1, a, b, 100, net), leg(2, b, c, 100, net|FlagPending), leg(3, c, a, 100, FlagNet)}
		}, []Result{LinkedEventFailed, FlagsInvalid, LinkedEventFailed}, [3]int64{0, 0, 0}},
		{"a member failing on its own fields", 0, func(a, b, c ID) []Transfer {
			bad := leg(2, b, c, 100, net)
			bad.Reference = "\x00"
			return []Transfer{leg(1, a, b, 100, net), bad, leg(3, c, a, 100, FlagNet)}
		}, []Result{LinkedEventFailed, ReferenceInvalid, LinkedEventFailed}, [3]int64{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, iss, a, b, c := netWorld(t)
			if tc.fundA > 0 {
				mustResults(t, "funding", l.Decide(t0, []Transfer{{ID: idOf('f', 1), DebitAccountID: iss, CreditAccountID: a,
					Amount: tc.fundA, Ledger: LedgerCBI}}).
					Results, OK)
			}
			chain := tc.chain(a, b, c)
			bt := l.Decide(t0+nsPerSecond, chain)
			mustResults(t, "chain", bt.Results, tc.want...)
			applied := tc.want[0] == OK
			if applied != (len(bt.Applied) == len(chain)) || !applied && len(bt.Applied) != 0 {
				t.Fatalf("applied %+v", bt.Applied)
			}
			for i, id := range []ID{a, b, c} {
				if got, _ := l.Account(id); got.Balance() != tc.balances[i] || got.Available() < 0 {
					t.Fatalf("account %d: %+v, want balance %d", i, got, tc.balances[i])
				}
			}
			// The failing member's code is remembered; the others' ids stay free.
			for i, r := range bt.Results {
				_, remembered := l.Rejection(chain[i].ID)
				if remembered != (r != OK && r.remembered()) {
					t.Fatalf("member %d (%s): remembered %v", i, r, remembered)
				}
			}
			if applied {
				retry := l.Decide(t0+2*nsPerSecond, chain)
				for _, r := range retry.Results {
					if r != Exists {
						t.Fatalf("retry of an applied netted chain: %v", retry.Results)
					}
				}
			}
			if err := l.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNetChainProposed: a rail's offsetting set goes through Propose as a netted chain: it applies whole, or
// leaves no trace and may be proposed again once the money is there.
func TestNetChainProposed(t *testing.T) {
	l, iss, a, b, c := netWorld(t)
	set := []Transfer{
		{ID: idOf('x', 1), DebitAccountID: a, CreditAccountID: b, Amount: 150, Ledger: LedgerCBI, Flags: FlagNet | FlagLinked},
		{ID: idOf('x', 2), DebitAccountID: b, CreditAccountID: c, Amount: 100, Ledger: LedgerCBI, Flags: FlagNet | FlagLinked},
		{ID: idOf('x', 3), DebitAccountID: c, CreditAccountID: a, Amount: 100, Ledger: LedgerCBI, Flags: FlagNet},
	}
	l.Begin(t0)
	if got, ok := l.Propose(set); ok || !equalResults(got, []Result{ExceedsBalance, LinkedEventFailed, LinkedEventFailed}) {
		t.Fatalf("proposal: %v, %v", got, ok)
	}
	if b := l.End(); len(b.Applied)+len(b.Rejected)+len(b.Accounts) != 0 {
		t.Fatalf("a failed proposal left %+v", b)
	}
	mustResults(t, "funding", l.Decide(t0, []Transfer{{ID: idOf('f', 1), DebitAccountID: iss, CreditAccountID: a, Amount: 50,
		Ledger: LedgerCBI}}).
		Results, OK)
	l.Begin(t0)
	if got, ok := l.Propose(set); !ok || !equalResults(got, []Result{OK, OK, OK}) {
		t.Fatalf("proposal after funding: %v, %v", got, ok)
	}
	if b := l.End(); len(b.Applied) != 3 || len(b.Accounts) != 3 {
		t.Fatalf("batch %+v", b)
	}
	if got, _ := l.Account(a); got.Balance() != 0 {
		t.Fatalf("A: %+v", got)
	}
}
