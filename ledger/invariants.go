package ledger

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrInvariant is wrapped by CheckInvariants: the state breaks a rule that every Decide keeps, so the data
// (or this package) is wrong.
var ErrInvariant = errors.New("ledger: invariant broken")

// beginChange starts tracking which accounts a batch (Begin … End) changes.
func (l *Ledger) beginChange() {
	l.gen++
	l.touched = l.touched[:0]
	l.before = l.before[:0]
	l.touchedLedgers = l.touchedLedgers[:0]
}

// touch snapshots account i before the current change first modifies it.
func (l *Ledger) touch(i int32) {
	if l.touchGen[i] != l.gen {
		l.touchGen[i] = l.gen
		l.touched = append(l.touched, i)
		l.before = append(l.before, balancesOf(&l.accounts[i]))
	}
}

// endChange asserts the invariants over what the current change touched — O(touched accounts) — folds its
// deltas into the running totals and returns the final state of the accounts whose balances changed. It
// panics on a broken invariant: that is a bug in this package (or restored data that CheckInvariants would
// have refused).
//
// Per touched account: no balance is negative, neither debits_posted + debits_pending nor credits_posted +
// credits_pending passes int64, and an account without FlagNegativeAllowed is not below zero. Per touched
// ledger: the change moved debits and credits, posted and pending, by the same sums, and the pending sums
// equal the sum of the active pending transfers' amounts.
func (l *Ledger) endChange() []Account {
	changed := 0
	for k, i := range l.touched {
		a := &l.accounts[i]
		b := &l.before[k]
		if a.DebitsPending < 0 || a.DebitsPosted < 0 || a.CreditsPending < 0 || a.CreditsPosted < 0 ||
			addOverflows(a.DebitsPosted, a.DebitsPending) || addOverflows(a.CreditsPosted, a.CreditsPending) {
			panic(fmt.Sprintf("ledger: account %s: balances out of range: %+v", a.ID, balancesOf(a)))
		}
		if a.Flags&FlagNegativeAllowed == 0 && a.DebitsPosted+a.DebitsPending > a.CreditsPosted {
			panic(fmt.Sprintf("ledger: account %s must not go negative: %+v", a.ID, balancesOf(a)))
		}
		if balancesOf(a) == *b {
			continue
		}
		changed++
		lt := l.totals[a.Ledger]
		if lt.gen != l.gen {
			lt.gen = l.gen
			lt.dDebitsPending, lt.dDebitsPosted, lt.dCreditsPending, lt.dCreditsPosted = 0, 0, 0, 0
			l.touchedLedgers = append(l.touchedLedgers, lt)
		}
		lt.dDebitsPending += uint64(a.DebitsPending - b.debitsPending)
		lt.dDebitsPosted += uint64(a.DebitsPosted - b.debitsPosted)
		lt.dCreditsPending += uint64(a.CreditsPending - b.creditsPending)
		lt.dCreditsPosted += uint64(a.CreditsPosted - b.creditsPosted)
	}
	for _, lt := range l.touchedLedgers {
		if lt.dDebitsPosted != lt.dCreditsPosted || lt.dDebitsPending != lt.dCreditsPending {
			panic(fmt.Sprintf("ledger: a change moved debits and credits unequally: %+v", *lt))
		}
		lt.debitsPending += lt.dDebitsPending
		lt.debitsPosted += lt.dDebitsPosted
		lt.creditsPending += lt.dCreditsPending
		lt.creditsPosted += lt.dCreditsPosted
		if lt.debitsPending != lt.pendingActive || lt.creditsPending != lt.pendingActive {
			panic(fmt.Sprintf("ledger: pending balances differ from the active pending transfers: %+v", *lt))
		}
	}
	if changed == 0 {
		return nil
	}
	out := make([]Account, 0, changed)
	for k, i := range l.touched {
		if balancesOf(&l.accounts[i]) != l.before[k] {
			out = append(out, l.accounts[i])
		}
	}
	return out
}

// u128 is an exact sum of int64s >= 0.
type u128 struct{ hi, lo uint64 }

func (s *u128) add(v int64) {
	var c uint64
	s.lo, c = bits.Add64(s.lo, uint64(v), 0)
	s.hi += c
}

type ledgerSums struct {
	debitsPending, debitsPosted, creditsPending, creditsPosted, pendingActive u128
	accounts                                                                  int
}

// CheckInvariants checks the whole state, in O(accounts + pending transfers), and returns an error wrapping
// ErrInvariant that names the first broken rule:
//   - no balance is negative, neither debits_posted + debits_pending nor credits_posted + credits_pending
//     passes int64, and no account without FlagNegativeAllowed is below zero;
//   - per ledger, the sum of debits_posted equals the sum of credits_posted and the sum of debits_pending that
//     of credits_pending (so balances sum to zero: money is only ever moved);
//   - per account, debits_pending and credits_pending equal the sums of the active pending transfers that
//     debit and credit it, and those transfers exist and name existing accounts of their own ledger;
//   - the running totals that Decide keeps agree with the recomputed sums.
//
// Call it after restoring; tests call it after every batch.
func (l *Ledger) CheckInvariants() error {
	sums := make(map[LedgerID]*ledgerSums, len(l.totals))
	sumsOf := func(id LedgerID) *ledgerSums {
		s, ok := sums[id]
		if !ok {
			s = &ledgerSums{}
			sums[id] = s
		}
		return s
	}
	for i := range l.accounts {
		a := &l.accounts[i]
		if j, ok := l.index[a.ID]; !ok || int(j) != i {
			return fmt.Errorf("%w: account %s is not indexed", ErrInvariant, a.ID)
		}
		if a.DebitsPending < 0 || a.DebitsPosted < 0 || a.CreditsPending < 0 || a.CreditsPosted < 0 {
			return fmt.Errorf("%w: account %s has a negative balance: %+v", ErrInvariant, a.ID, balancesOf(a))
		}
		if addOverflows(a.DebitsPosted, a.DebitsPending) || addOverflows(a.CreditsPosted, a.CreditsPending) {
			return fmt.Errorf("%w: account %s: posted + pending passes int64: %+v", ErrInvariant, a.ID, balancesOf(a))
		}
		if a.Flags&FlagNegativeAllowed == 0 && a.DebitsPosted+a.DebitsPending > a.CreditsPosted {
			return fmt.Errorf("%w: account %s must not go negative but has %d available", ErrInvariant, a.ID, a.Available())
		}
		s := sumsOf(a.Ledger)
		s.accounts++
		s.debitsPending.add(a.DebitsPending)
		s.debitsPosted.add(a.DebitsPosted)
		s.creditsPending.add(a.CreditsPending)
		s.creditsPosted.add(a.CreditsPosted)
	}
	if len(l.index) != len(l.accounts) {
		return fmt.Errorf("%w: %d accounts indexed, %d held", ErrInvariant, len(l.index), len(l.accounts))
	}

	// Reservations per account, from the active pending transfers.
	dPending := make([]int64, len(l.accounts))
	cPending := make([]int64, len(l.accounts))
	active := 0
	for id, st := range l.pending {
		t, ok := l.transfers.get(id)
		if !ok || t.Flags&FlagPending == 0 {
			return fmt.Errorf("%w: pending state %s for %s, which is not an applied pending transfer", ErrInvariant, st, id)
		}
		if st != PendingActive {
			continue
		}
		active++
		dr, ok1 := l.index[t.DebitAccountID]
		cr, ok2 := l.index[t.CreditAccountID]
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: active pending transfer %s names a missing account", ErrInvariant, id)
		}
		if l.accounts[dr].Ledger != t.Ledger || l.accounts[cr].Ledger != t.Ledger {
			return fmt.Errorf("%w: active pending transfer %s crosses ledgers", ErrInvariant, id)
		}
		if t.Amount <= 0 || addOverflows(dPending[dr], t.Amount) || addOverflows(cPending[cr], t.Amount) {
			return fmt.Errorf("%w: active pending transfer %s: amount %d out of range", ErrInvariant, id, t.Amount)
		}
		dPending[dr] += t.Amount
		cPending[cr] += t.Amount
		sumsOf(t.Ledger).pendingActive.add(t.Amount)
	}
	if active != l.activePending {
		return fmt.Errorf("%w: %d active pending transfers, counted %d", ErrInvariant, active, l.activePending)
	}
	for i := range l.accounts {
		a := &l.accounts[i]
		if a.DebitsPending != dPending[i] || a.CreditsPending != cPending[i] {
			return fmt.Errorf("%w: account %s: pending debits %d and credits %d, but its active pending transfers reserve %d and %d",
				ErrInvariant, a.ID, a.DebitsPending, a.CreditsPending, dPending[i], cPending[i])
		}
	}

	for id, s := range sums {
		if s.debitsPosted != s.creditsPosted {
			return fmt.Errorf("%w: ledger %d: debits posted %v differ from credits posted %v", ErrInvariant, id, s.debitsPosted, s.creditsPosted)
		}
		if s.debitsPending != s.creditsPending || s.debitsPending != s.pendingActive {
			return fmt.Errorf("%w: ledger %d: debits pending %v, credits pending %v, active pending transfers %v",
				ErrInvariant, id, s.debitsPending, s.creditsPending, s.pendingActive)
		}
		lt := l.totals[id]
		if lt == nil {
			lt = &ledgerTotals{}
		}
		if lt.debitsPending != s.debitsPending.lo || lt.debitsPosted != s.debitsPosted.lo ||
			lt.creditsPending != s.creditsPending.lo || lt.creditsPosted != s.creditsPosted.lo ||
			lt.pendingActive != s.pendingActive.lo || lt.accounts != s.accounts {
			return fmt.Errorf("%w: ledger %d: running totals %+v disagree with the accounts", ErrInvariant, id, *lt)
		}
	}
	for id, lt := range l.totals {
		if _, ok := sums[id]; !ok && ((lt.debitsPending|lt.debitsPosted|lt.creditsPending|lt.creditsPosted|lt.pendingActive) != 0 || lt.accounts != 0) {
			return fmt.Errorf("%w: ledger %d: running totals %+v but no accounts", ErrInvariant, id, *lt)
		}
	}
	if l.last < 0 || l.last > math.MaxInt64-1 {
		return fmt.Errorf("%w: last timestamp %d out of range", ErrInvariant, l.last)
	}
	return nil
}
