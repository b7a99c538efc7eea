package ledger

import (
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestRecomputeMatchesLiveLedger(t *testing.T) {
	f := newFixture(t)
	f.l.Decide(f.now, []Transfer{
		{ID: idOf('x', 1), Flags: FlagPostPending, PendingID: f.pActive, Amount: 30},
		{ID: idOf('x', 2), DebitAccountID: f.c1, CreditAccountID: f.c2, Amount: 70, Ledger: 1017, Flags: FlagPending},
	})

	f.l.Decide(f.now+2*3600*nsPerSecond, nil) // expires pTimed
	accts := slices.Clone(f.l.accounts)
	for i := range accts {
		accts[i].DebitsPending, accts[i].DebitsPosted, accts[i].CreditsPending, accts[i].CreditsPosted = 1, 2, 3, 4 // ignored
	}
	got, err := Recompute(accts, slices.Collect(maps.Values(heldMap(f.l))), f.l.pending)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(f.l.accounts) {
		t.Fatalf("%d accounts recomputed", len(got))
	}
	for _, a := range f.l.accounts {
		if got[a.ID] != a {
			t.Errorf("recomputed %+v\n      live %+v", got[a.ID], a)
		}
	}
}

func TestRecomputeFindsInconsistencies(t *testing.T) {
	a, b, c := idOf('a', 1), idOf('a', 2), idOf('a', 3)
	accounts := []Account{{ID: a, Ledger: 1}, {ID: b, Ledger: 1}, {ID: c, Ledger: 2}}
	plain := Transfer{ID: idOf('t', 1), DebitAccountID: a, CreditAccountID: b, Amount: 5, Ledger: 1, Timestamp: 1}
	pend := Transfer{ID: idOf('t', 2), DebitAccountID: a, CreditAccountID: b, Amount: 9, Ledger: 1, Flags: FlagPending, Timestamp: 2}
	post := Transfer{ID: idOf('t', 3), DebitAccountID: a, CreditAccountID: b, Amount: 4, Ledger: 1, Flags: FlagPostPending,
		PendingID: pend.ID, Timestamp: 3}
	void := post
	void.ID, void.Flags, void.Amount = idOf('t', 4), FlagVoidPending, 9
	with := func(t Transfer, change func(*Transfer)) Transfer { change(&t); return t }
	posted := map[ID]PendingState{pend.ID: PendingPosted}

	tests := []struct {
		name      string
		accounts  []Account
		transfers []Transfer
		pending   map[ID]PendingState
		want      string // in the error; "" for none
	}{
		{"consistent", accounts, []Transfer{plain, pend, post}, posted, ""},
		{"consistent, any order", accounts, []Transfer{post, plain, pend}, posted, ""},
		{"void", accounts, []Transfer{pend, void}, map[ID]PendingState{pend.ID: PendingVoided}, ""},
		{"account twice", append(slices.Clone(accounts), accounts[0]), nil, nil, "listed twice"},
		{"unknown account", accounts, []Transfer{with(plain, func(t *Transfer) { t.CreditAccountID = idOf('z', 1) })}, nil, "not found"},
		{"crosses ledgers", accounts, []Transfer{with(plain, func(t *Transfer) { t.CreditAccountID = c })}, nil, "ledger"},
		{"same account", accounts, []Transfer{with(plain, func(t *Transfer) { t.CreditAccountID = a })}, nil, "same account"},
		{"zero amount", accounts, []Transfer{with(plain, func(t *Transfer) { t.Amount = 0 })}, nil, "amount"},
		{"pending without state", accounts, []Transfer{pend}, nil, "without a state"},
		{"state of a non-pending", accounts, []Transfer{plain}, map[ID]PendingState{plain.ID: PendingActive}, "not a pending"},
		{"post of a missing pending", accounts, []Transfer{post}, nil, "not found"},
		{"post of an active pending", accounts, []Transfer{pend, post}, map[ID]PendingState{pend.ID: PendingActive}, "state is active"},
		{"post of more than reserved", accounts, []Transfer{pend, with(post, func(t *Transfer) { t.Amount = 10 })}, posted, "reserved 9"},
		{"void of a part", accounts, []Transfer{pend, with(void, func(t *Transfer) { t.Amount = 8 })}, map[ID]PendingState{pend.ID: PendingVoided}, "reserved 9"},
		{"resolved twice", accounts, []Transfer{pend, post, with(post, func(t *Transfer) { t.ID = idOf('t', 9) })}, posted, "resolved already"},
		{"posted without a post", accounts, []Transfer{pend}, posted, "no transfer resolves"},
		{"post with other accounts", accounts, []Transfer{pend, with(post, func(t *Transfer) { t.DebitAccountID, t.CreditAccountID = b, a })}, posted, "accounts differ"},
		{"sum passes int64", accounts, []Transfer{with(plain, func(t *Transfer) { t.Amount = math.MaxInt64 }),
			with(plain, func(t *Transfer) { t.ID = idOf('t', 8) })}, nil, "passes int64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Recompute(tc.accounts, tc.transfers, tc.pending)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrAudit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrAudit about %q", err, tc.want)
			}
		})
	}
	got, _ := Recompute(accounts, []Transfer{plain, pend, post}, posted)
	if got[a].DebitsPosted != 9 || got[a].DebitsPending != 0 || got[b].CreditsPosted != 9 {
		t.Fatalf("recomputed %+v %+v", got[a], got[b])
	}
}
