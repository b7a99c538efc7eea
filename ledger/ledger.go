package ledger

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors of the operator's and the restorer's calls. Business rejections are Result and AccountResult codes,
// never errors.
var (
	ErrAccountNotFound = errors.New("ledger: account not found")
	ErrAccountFlags    = errors.New("ledger: account flags invalid")
)

// Ledger is the in-memory double-entry state machine: accounts and their balances, the transfers applied
// within the retention window (the idempotency index), the rejections remembered within it, the state of every
// pending transfer held and the clock of the latest applied transfer. It is not safe for concurrent use: one
// writer owns it.
type Ledger struct {
	accounts  []Account    // every account, in creation order
	index     map[ID]int32 // account id → position in accounts
	keys      map[externalKey]int32
	touchGen  []uint64 // per account: the change generation that last snapshotted it
	transfers heldTransfers
	pending   map[ID]PendingState
	rejected  map[ID]Result // remembered rejections
	expiry    expiryHeap
	totals    map[LedgerID]*ledgerTotals
	window    retention

	activePending int
	last          int64 // timestamp of the latest applied transfer

	// The batch being decided, between Begin and End.
	open bool
	now  int64
	cur  Batch
	seen map[ID]struct{} // ids of the current Submit call, to find duplicates

	// Scratch of the change being made, reused across batches.
	gen            uint64
	touched        []int32    // accounts snapshotted in this change, in first-touch order
	before         []balances // their balances before the change, parallel to touched
	touchedLedgers []*ledgerTotals
}

type externalKey struct {
	ledger LedgerID
	key    string
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
		transfers: newHeldTransfers(),
		pending:   make(map[ID]PendingState),
		rejected:  make(map[ID]Result),
		keys:      make(map[externalKey]int32),
		totals:    make(map[LedgerID]*ledgerTotals),
		window:    retention{horizon: math.MinInt64},
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
// if it cannot, it must rebuild the ledger from storage (the writer's crash-stop): nothing is undone by hand.
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
	case a.Ledger > math.MaxInt32:
		return AccountLedgerInvalid
	case a.Kind == 0 || a.Kind > kindLast:
		return AccountKindInvalid
	case a.Flags&^accountFlagsKnown != 0, a.Kind == KindIssuance && a.Flags&FlagNegativeAllowed == 0:
		return AccountFlagsInvalid
	case len(a.Name) > NameLenMax:
		return AccountNameTooLong
	case !TextValid(a.Name):
		return AccountNameInvalid
	case len(a.ExternalKey) > ExternalKeyLenMax || !keyValid(a.ExternalKey):
		return AccountExternalKeyInvalid
	case a.DebitsPending != 0 || a.DebitsPosted != 0 || a.CreditsPending != 0 || a.CreditsPosted != 0:
		return AccountBalancesMustBeZero
	}
	if i, ok := l.index[a.ID]; ok {
		e := &l.accounts[i]
		if e.Ledger != a.Ledger || e.Kind != a.Kind || e.Name != a.Name || e.ExternalKey != a.ExternalKey ||
			(e.Flags^a.Flags)&FlagNegativeAllowed != 0 {
			return AccountExistsWithDifferentFields
		}
		return AccountExists
	}
	k := externalKey{a.Ledger, a.ExternalKey}
	if a.ExternalKey != "" {
		if _, taken := l.keys[k]; taken {
			return AccountExternalKeyTaken
		}
	}
	if len(l.accounts) == math.MaxInt32 {
		panic("ledger: more than 2^31-1 accounts")
	}
	l.addAccount(*a)
	return AccountOK
}

func (l *Ledger) addAccount(a Account) {
	i := int32(len(l.accounts))
	l.index[a.ID] = i
	if a.ExternalKey != "" {
		l.keys[externalKey{a.Ledger, a.ExternalKey}] = i
	}
	l.accounts = append(l.accounts, a)
	l.touchGen = append(l.touchGen, 0)
	l.totalsOf(a.Ledger).accounts++
}

// TextValid reports whether s can be stored as PostgreSQL text: valid UTF-8 without a NUL byte.
func TextValid(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// keyValid reports whether an external key is printable: valid UTF-8 without control characters or spaces
// at either end, so that a SHEBA or PAN reads the same in a log line and a URL.
func keyValid(s string) bool {
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// SetAccountFlags replaces an account's flags: the operator blocks, unblocks, closes or reopens it. FlagNegativeAllowed
// is fixed at creation (adding it could break the floor of an account already below zero; removing it would
// let a bank create money), so f must carry it exactly as the account does. The change takes effect for the
// next Decide; the caller persists it.
func (l *Ledger) SetAccountFlags(id ID, f AccountFlags) error {
	i, ok := l.index[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrAccountNotFound, id)
	}
	a := &l.accounts[i]
	if f&^accountFlagsKnown != 0 {
		return fmt.Errorf("%w: account %s: unknown bits %#x", ErrAccountFlags, id, uint16(f&^accountFlagsKnown))
	}
	if (f^a.Flags)&FlagNegativeAllowed != 0 {
		return fmt.Errorf("%w: account %s: negative_allowed is fixed when the account is created", ErrAccountFlags, id)
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

// AccountByKey returns the account of the ledger with the given external key.
func (l *Ledger) AccountByKey(ledger LedgerID, key string) (Account, bool) {
	i, ok := l.keys[externalKey{ledger, key}]
	if !ok || key == "" {
		return Account{}, false
	}
	return l.accounts[i], true
}

// Transfer returns the applied transfer with the given id, as recorded (post and void fields filled in from
// the pending transfer, Timestamp set), when it is held in memory (see SetRetention).
func (l *Ledger) Transfer(id ID) (Transfer, bool) {
	t, ok := l.transfers.get(id)
	return t, ok
}

// Rejection returns the remembered rejection of the given id, when it is held in memory.
func (l *Ledger) Rejection(id ID) (Result, bool) {
	r, ok := l.rejected[id]
	return r, ok
}

// Pending returns the state of the pending transfer with the given id; false when id names no pending transfer.
func (l *Ledger) Pending(id ID) (PendingState, bool) {
	s, ok := l.pending[id]
	return s, ok
}

// Stats counts what the ledger holds.
func (l *Ledger) Stats() Stats {
	return Stats{Accounts: len(l.accounts), Transfers: l.transfers.len(), Rejected: len(l.rejected),
		PendingActive: l.activePending, LastTimestamp: l.last}
}

// RestoreAccount loads an account with its stored balances, at start-up, before any Decide. Restoring an id
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
		delete(l.keys, externalKey{old.Ledger, old.ExternalKey})
		*old = a
		l.addTotals(old, true)
		l.totalsOf(a.Ledger).accounts++
		if a.ExternalKey != "" {
			l.keys[externalKey{a.Ledger, a.ExternalKey}] = i
		}
		return
	}
	l.addAccount(a)
	l.addTotals(&a, true)
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

// RestoreTransfer loads a stored transfer, at start-up after the accounts, or between Begin and End when the
// store looks up an id that Missing named: it rebuilds the idempotency index and, for a pending transfer, its
// state (state is ignored for other transfers). It never touches balances: the restored accounts carry them.
// Transfers may come in any order. It panics on a zero id, a timestamp <= 0, an id restored twice or held as a
// remembered rejection, or a pending transfer without a valid state: bugs in the restorer. The store restores
// every active pending transfer and whatever else lies within the retention window.
func (l *Ledger) RestoreTransfer(t Transfer, state PendingState) {
	if t.ID.IsZero() || t.Timestamp <= 0 {
		panic(fmt.Sprintf("ledger: RestoreTransfer: transfer %s: zero id or timestamp %d", t.ID, t.Timestamp))
	}
	if l.transfers.has(t.ID) {
		panic(fmt.Sprintf("ledger: RestoreTransfer: transfer %s restored twice", t.ID))
	}
	if _, ok := l.rejected[t.ID]; ok {
		panic(fmt.Sprintf("ledger: RestoreTransfer: %s is a remembered rejection", t.ID))
	}
	l.hold(t.ID, t.Timestamp)
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
	l.transfers.put(&t)
	l.last = max(l.last, t.Timestamp)
}

// RestoreRejected loads a remembered rejection, at start-up or when the store looks up an id older than the
// retention window: at is when it was rejected (unix ns). It panics on a zero id, a code that is never
// remembered, or an id already held: bugs in the restorer.
func (l *Ledger) RestoreRejected(id ID, r Result, at int64) {
	if id.IsZero() || !r.remembered() {
		panic(fmt.Sprintf("ledger: RestoreRejected: id %s with %v", id, r))
	}
	if l.transfers.has(id) {
		panic(fmt.Sprintf("ledger: RestoreRejected: %s is an applied transfer", id))
	}
	if _, ok := l.rejected[id]; ok {
		panic(fmt.Sprintf("ledger: RestoreRejected: %s restored twice", id))
	}
	l.hold(id, at)
	l.rejected[id] = r
}

// RestoreLast raises the timestamp of the latest applied transfer to ts, at start-up, when the restorer loads
// only the transfers of the retention window: timestamps keep increasing across everything ever stored.
func (l *Ledger) RestoreLast(ts int64) { l.last = max(l.last, ts) }
