package ledger

import (
	"errors"
	"fmt"
	"math"
)

// Errors of the operator's and the restorer's calls. Business rejections are Result and AccountResult codes,
// never errors.
var (
	ErrAccountNotFound = errors.New("ledger: account not found")
	ErrAccountFlags    = errors.New("ledger: account flags invalid")
)

// Ledger is the in-memory double-entry state machine: accounts and their balances, every applied transfer (the
// idempotency index), the state of every pending transfer and the clock of the latest applied transfer. It is
// not safe for concurrent use: one writer owns it.
type Ledger struct {
	accounts  []Account    // every account, in creation order
	index     map[ID]int32 // account id → position in accounts
	touchGen  []uint64     // per account: the change generation that last snapshotted it
	transfers map[ID]Transfer
	pending   map[ID]PendingState
	expiry    expiryHeap
	totals    map[LedgerID]*ledgerTotals

	activePending int
	last          int64 // timestamp of the latest applied transfer

	// Rollback works on a stack of batches: seq numbers every Commit, top is the latest one not rolled back.
	seq, top uint64

	// Scratch of the change being made (a Commit or a Rollback), reused across calls.
	gen            uint64
	touched        []int32    // accounts snapshotted in this change, in first-touch order
	before         []balances // their balances before the change, parallel to touched
	touchedLedgers []*ledgerTotals
}

// balances are the four running sums of an account.
type balances struct {
	debitsPending, debitsPosted, creditsPending, creditsPosted int64
}

func balancesOf(a *Account) balances {
	return balances{a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted}
}

// ledgerTotals are running sums over one ledger, kept with wrapping uint64 arithmetic: the sums of many
// accounts may pass int64, and equality modulo 2^64 is what the cheap per-batch check needs.
// CheckInvariants recomputes them exactly.
type ledgerTotals struct {
	debitsPending, debitsPosted, creditsPending, creditsPosted uint64
	pendingActive                                              uint64 // sum of the amounts of active pending transfers
	accounts                                                   int    // accounts in the ledger

	// Change scratch: the deltas of this ledger's sums in the current change.
	gen                                                            uint64
	dDebitsPending, dDebitsPosted, dCreditsPending, dCreditsPosted uint64
}

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{
		index:     make(map[ID]int32),
		transfers: make(map[ID]Transfer),
		pending:   make(map[ID]PendingState),
		totals:    make(map[LedgerID]*ledgerTotals),
	}
}

func (l *Ledger) totalsOf(id LedgerID) *ledgerTotals {
	lt, ok := l.totals[id]
	if !ok {
		lt = &ledgerTotals{}
		l.totals[id] = lt
	}
	return lt
}

// CreateAccounts creates accounts, deciding each in order: a repeat of an account created earlier (even in the
// same call) is AccountExists and changes nothing. The caller persists the accounts whose result is AccountOK;
// if it cannot, RollbackAccounts forgets them again.
func (l *Ledger) CreateAccounts(accts []Account) []AccountResult {
	res := make([]AccountResult, len(accts))
	for i := range accts {
		res[i] = l.createAccount(&accts[i])
	}
	return res
}

func (l *Ledger) createAccount(a *Account) AccountResult {
	switch {
	case a.ID.IsZero():
		return AccountIDZero
	case a.Ledger == 0:
		return AccountLedgerZero
	case a.Kind == 0 || a.Kind > KindIssuance:
		return AccountKindInvalid
	case a.Flags&^accountFlagsKnown != 0, a.Kind == KindIssuance && a.Flags&FlagNoNegative != 0:
		return AccountFlagsInvalid
	case len(a.Name) > NameLenMax:
		return AccountNameTooLong
	case a.DebitsPending != 0 || a.DebitsPosted != 0 || a.CreditsPending != 0 || a.CreditsPosted != 0:
		return AccountBalancesMustBeZero
	}
	if i, ok := l.index[a.ID]; ok {
		e := &l.accounts[i]
		if e.Ledger != a.Ledger || e.Kind != a.Kind || e.Name != a.Name || (e.Flags^a.Flags)&FlagNoNegative != 0 {
			return AccountExistsWithDifferentFields
		}
		return AccountExists
	}
	if len(l.accounts) == math.MaxInt32 {
		panic("ledger: more than 2^31-1 accounts")
	}
	l.index[a.ID] = int32(len(l.accounts))
	l.accounts = append(l.accounts, *a)
	l.touchGen = append(l.touchGen, 0)
	l.totalsOf(a.Ledger).accounts++
	return AccountOK
}

// RollbackAccounts undoes a CreateAccounts call whose accounts could not be persisted: it forgets every account
// whose result is AccountOK. It must come before any other call creates accounts or moves money on them; it
// panics when an account to forget is not among the latest created or has a balance, because then memory
// and storage have already parted.
func (l *Ledger) RollbackAccounts(accts []Account, results []AccountResult) {
	if len(accts) != len(results) {
		panic("ledger: RollbackAccounts: accounts and results differ in length")
	}
	for i := len(accts) - 1; i >= 0; i-- {
		if results[i] != AccountOK {
			continue
		}
		n := len(l.accounts) - 1
		j, ok := l.index[accts[i].ID]
		if !ok || int(j) != n {
			panic(fmt.Sprintf("ledger: RollbackAccounts: account %s is not the latest created", accts[i].ID))
		}
		if balancesOf(&l.accounts[n]) != (balances{}) {
			panic(fmt.Sprintf("ledger: RollbackAccounts: account %s has moved money", accts[i].ID))
		}
		delete(l.index, accts[i].ID)
		lt := l.totals[l.accounts[n].Ledger]
		if lt.accounts--; lt.accounts == 0 && lt.debitsPending|lt.debitsPosted|lt.creditsPending|lt.creditsPosted|lt.pendingActive == 0 {
			delete(l.totals, l.accounts[n].Ledger)
		}
		l.accounts = l.accounts[:n]
		l.touchGen = l.touchGen[:n]
	}
}

// SetAccountFlags replaces an account's flags: the operator blocks, unblocks, closes or reopens it. FlagNoNegative
// is fixed at creation (adding it could break the floor of an account already below zero; removing it would
// let a bank create money), so f must carry it exactly as the account does. The change takes effect for the
// next Commit; the caller persists it.
func (l *Ledger) SetAccountFlags(id ID, f AccountFlags) error {
	i, ok := l.index[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrAccountNotFound, id)
	}
	a := &l.accounts[i]
	if f&^accountFlagsKnown != 0 {
		return fmt.Errorf("%w: account %s: unknown bits %#x", ErrAccountFlags, id, uint16(f&^accountFlagsKnown))
	}
	if (f^a.Flags)&FlagNoNegative != 0 {
		return fmt.Errorf("%w: account %s: no_negative is fixed when the account is created", ErrAccountFlags, id)
	}
	a.Flags = f
	return nil
}

// Account returns the account with the given id and its current balances.
func (l *Ledger) Account(id ID) (Account, bool) {
	i, ok := l.index[id]
	if !ok {
		return Account{}, false
	}
	return l.accounts[i], true
}

// Transfer returns the applied transfer with the given id, as recorded (post and void fields filled in from
// the pending transfer, Timestamp set).
func (l *Ledger) Transfer(id ID) (Transfer, bool) {
	t, ok := l.transfers[id]
	return t, ok
}

// Pending returns the state of the pending transfer with the given id; false when id names no pending transfer.
func (l *Ledger) Pending(id ID) (PendingState, bool) {
	s, ok := l.pending[id]
	return s, ok
}

// Stats counts what the ledger holds.
func (l *Ledger) Stats() Stats {
	return Stats{Accounts: len(l.accounts), Transfers: len(l.transfers), PendingActive: l.activePending,
		LastTimestamp: l.last}
}

// RestoreAccount loads an account with its stored balances, at start-up, before any Commit. Restoring an id
// again replaces the account. It checks nothing beyond a non-zero id and ledger (it panics on those, a bug in
// the restorer): call CheckInvariants once everything is restored, and refuse to start if it fails.
func (l *Ledger) RestoreAccount(a Account) {
	if a.ID.IsZero() || a.Ledger == 0 {
		panic(fmt.Sprintf("ledger: RestoreAccount: account %s in ledger %d: zero id or ledger", a.ID, a.Ledger))
	}
	if i, ok := l.index[a.ID]; ok {
		old := &l.accounts[i]
		l.addTotals(old, false)
		l.totalsOf(old.Ledger).accounts--
		*old = a
		l.addTotals(old, true)
		l.totalsOf(a.Ledger).accounts++
		return
	}
	l.index[a.ID] = int32(len(l.accounts))
	l.accounts = append(l.accounts, a)
	l.touchGen = append(l.touchGen, 0)
	l.addTotals(&a, true)
	l.totalsOf(a.Ledger).accounts++
}

func (l *Ledger) addTotals(a *Account, add bool) {
	lt := l.totalsOf(a.Ledger)
	s := uint64(1)
	if !add {
		s = math.MaxUint64 // -1 in wrapping arithmetic
	}
	lt.debitsPending += s * uint64(a.DebitsPending)
	lt.debitsPosted += s * uint64(a.DebitsPosted)
	lt.creditsPending += s * uint64(a.CreditsPending)
	lt.creditsPosted += s * uint64(a.CreditsPosted)
}

// RestoreTransfer loads a stored transfer, at start-up, after the accounts and before any Commit: it rebuilds
// the idempotency index and, for a pending transfer, its state (state is ignored for other transfers). It never
// touches balances: the restored accounts carry them. Transfers may come in any order. It panics on a zero id,
// a timestamp <= 0, an id restored twice or a pending transfer without a valid state: bugs in the restorer.
func (l *Ledger) RestoreTransfer(t Transfer, state PendingState) {
	if t.ID.IsZero() || t.Timestamp <= 0 {
		panic(fmt.Sprintf("ledger: RestoreTransfer: transfer %s: zero id or timestamp %d", t.ID, t.Timestamp))
	}
	if _, ok := l.transfers[t.ID]; ok {
		panic(fmt.Sprintf("ledger: RestoreTransfer: transfer %s restored twice", t.ID))
	}
	if t.Flags&FlagPending != 0 {
		if state < PendingActive || state > PendingExpired {
			panic(fmt.Sprintf("ledger: RestoreTransfer: pending transfer %s: state %d", t.ID, state))
		}
		l.pending[t.ID] = state
		if state == PendingActive {
			l.activePending++
			l.totalsOf(t.Ledger).pendingActive += uint64(t.Amount)
			if t.Timeout != 0 {
				l.expiry.push(expiryEntry{deadline: deadline(&t), ts: t.Timestamp, id: t.ID})
			}
		}
	}
	l.transfers[t.ID] = t
	l.last = max(l.last, t.Timestamp)
}
