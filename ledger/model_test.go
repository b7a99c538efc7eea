package ledger

import (
	"maps"
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// model is a tiny, obviously correct reference ledger for the property and fuzz tests. It shares no code
// with the implementation: plain maps, arbitrary-precision arithmetic for every limit, whole-state copies for
// linked chains and proposals, a scan of every pending transfer for expiry, every id kept for ever (no
// retention), and a different formulation of precedence: it collects every rule a transfer breaks and answers
// with the smallest code.
type model struct {
	accts    map[ID]*modelAccount
	xfers    map[ID]Transfer // applied transfers as recorded
	state    map[ID]PendingState
	rejected map[ID]Result // remembered rejections
	last     int64
	window   int64 // the retention window of the ledger it models (0: none): new UUIDv7 ids beyond it are refused
	now      int64 // the batch's
}

type modelAccount struct {
	ledger                           LedgerID
	flags                            AccountFlags
	debPend, debPost, credPend, cred int64
}

func newModel(window int64) *model {
	return &model{accts: map[ID]*modelAccount{}, xfers: map[ID]Transfer{}, state: map[ID]PendingState{}, rejected: map[ID]Result{},
		window: window}
}

func (m *model) clone() *model {
	c := &model{accts: make(map[ID]*modelAccount, len(m.accts)), xfers: maps.Clone(m.xfers),
		state: maps.Clone(m.state), rejected: maps.Clone(m.rejected), last: m.last, window: m.window, now: m.now}
	for id, a := range m.accts {
		cp := *a
		c.accts[id] = &cp
	}
	return c
}

func (m *model) addAccount(a Account) {
	m.accts[a.ID] = &modelAccount{ledger: a.Ledger, flags: a.Flags}
}

func bigSum(xs ...int64) *big.Int {
	s := new(big.Int)
	for _, x := range xs {
		s.Add(s, big.NewInt(x))
	}
	return s
}

var bigMax = big.NewInt(math.MaxInt64)

// floored reports whether an account must stay at or above zero: all but those created FlagNegativeAllowed.
func (a *modelAccount) floored() bool { return a.flags&FlagNegativeAllowed == 0 }

// belowFloor reports whether a floored account owes more (posted and reserved) than it was credited.
func (a *modelAccount) belowFloor() bool {
	return a.floored() && bigSum(a.debPost, a.debPend).Cmp(big.NewInt(a.cred)) > 0
}

// forgettable are the codes never remembered for an id: a success, and those about the id itself or another
// transfer.
var forgettable = []Result{OK, LinkedEventFailed, LinkedEventChainOpen, IDZero, IDDuplicate, IDTimeFuture, Exists,
	ExistsWithDifferentFields}

// farAhead reports whether id is a UUIDv7 (version nibble 7, variant bits 10) whose millisecond time lies more
// than the window ahead of now.
func (m *model) farAhead(id ID) bool {
	if m.window == 0 || id[6]&0xf0 != 0x70 || id[8]&0xc0 != 0x80 {
		return false
	}
	ms := new(big.Int).SetBytes(id[:6])
	ns := new(big.Int).Mul(ms, big.NewInt(1_000_000))
	return ns.Cmp(bigSum(m.now, m.window)) > 0
}

// decide returns the result for t and, when OK, the transfer as the ledger records it (without timestamp). dup
// says t's id appeared earlier in the same call; net says t's chain is netted (its first member has FlagNet).
func (m *model) decide(t Transfer, dup, net bool) (Result, Transfer) {
	zero := ID{}
	switch r, remembered := m.rejected[t.ID]; {
	case t.ID == zero:
		return IDZero, Transfer{}
	case dup:
		return IDDuplicate, Transfer{}
	case remembered:
		return r, Transfer{}
	}
	var broken []Result
	breaks := func(r Result) { broken = append(broken, r) }

	isPending := t.Flags&FlagPending != 0
	isPost := t.Flags&FlagPostPending != 0
	isVoid := t.Flags&FlagVoidPending != 0
	kinds := 0
	for _, b := range []bool{isPending, isPost, isVoid} {
		if b {
			kinds++
		}
	}
	resolving := isPost || isVoid
	isNet := t.Flags&FlagNet != 0

	if _, applied := m.xfers[t.ID]; !applied && m.farAhead(t.ID) {
		breaks(IDTimeFuture)
	}
	if t.Timestamp != 0 {
		breaks(TimestampMustBeZero)
	}
	if t.Flags&^(FlagLinked|FlagPending|FlagPostPending|FlagVoidPending|FlagNet) != 0 || kinds > 1 {
		breaks(FlagsInvalid)
	}
	if isNet && kinds > 0 || isNet != net {
		breaks(FlagsInvalid) // only plain transfers net, and a chain nets whole or not at all
	}
	if len(t.Reference) > 64 {
		breaks(ReferenceTooLong)
	}
	if !utf8.ValidString(t.Reference) || strings.ContainsRune(t.Reference, 0) {
		breaks(ReferenceInvalid)
	}
	if resolving && t.Amount < 0 || !resolving && t.Amount <= 0 {
		breaks(AmountInvalid)
	}
	if resolving && t.PendingID == zero {
		breaks(PendingIDZero)
	}
	if !resolving && t.PendingID != zero {
		breaks(PendingIDMustBeZero)
	}
	if !isPending && t.Timeout != 0 {
		breaks(TimeoutReservedForPending)
	}
	if isPending && (t.Timeout < 0 || t.Timeout > 31*24*3600) {
		breaks(TimeoutInvalid)
	}
	if t.DebitAccountID != zero && t.DebitAccountID == t.CreditAccountID {
		breaks(AccountsSame)
	}
	dr, drOK := m.accts[t.DebitAccountID]
	cr, crOK := m.accts[t.CreditAccountID]
	if !resolving || t.DebitAccountID != zero {
		if !drOK {
			breaks(DebitAccountNotFound)
		}
	}
	if !resolving || t.CreditAccountID != zero {
		if !crOK {
			breaks(CreditAccountNotFound)
		}
	}
	if !resolving && drOK && crOK && (t.Ledger != dr.ledger || t.Ledger != cr.ledger) {
		breaks(LedgerMismatch)
	}
	if resolving {
		if drOK && crOK && dr.ledger != cr.ledger {
			breaks(LedgerMismatch)
		}
		if t.Ledger != 0 && (drOK && dr.ledger != t.Ledger || crOK && cr.ledger != t.Ledger) {
			breaks(LedgerMismatch)
		}
	}

	// The transfer as it would be recorded: a post or void takes what it leaves zero from its pending.
	rec := t
	p, pOK := m.xfers[t.PendingID]
	if resolving && pOK {
		if rec.DebitAccountID == zero {
			rec.DebitAccountID = p.DebitAccountID
		}
		if rec.CreditAccountID == zero {
			rec.CreditAccountID = p.CreditAccountID
		}
		if rec.Ledger == 0 {
			rec.Ledger = p.Ledger
		}
		if rec.Code == 0 {
			rec.Code = p.Code
		}
		if rec.Amount == 0 {
			rec.Amount = p.Amount
		}
	}
	if old, ok := m.xfers[t.ID]; ok && t.ID != zero {
		cmp := rec
		cmp.Timestamp = old.Timestamp
		if cmp == old {
			breaks(Exists)
		} else {
			breaks(ExistsWithDifferentFields)
		}
	}

	if resolving {
		switch {
		case !pOK:
			breaks(PendingNotFound)
		case p.Flags&FlagPending == 0:
			breaks(PendingNotPending)
		default:
			if t.DebitAccountID != zero && t.DebitAccountID != p.DebitAccountID ||
				t.CreditAccountID != zero && t.CreditAccountID != p.CreditAccountID {
				breaks(PendingAccountsMismatch)
			}
			if t.Ledger != 0 && t.Ledger != p.Ledger {
				breaks(PendingLedgerMismatch)
			}
			if isVoid && t.Amount != 0 && t.Amount != p.Amount {
				breaks(PendingAmountMismatch)
			}
			if isPost && t.Amount > p.Amount {
				breaks(PostAmountExceedsPending)
			}
			switch m.state[p.ID] {
			case PendingPosted:
				breaks(PendingAlreadyPosted)
			case PendingVoided:
				breaks(PendingAlreadyVoided)
			case PendingExpired:
				breaks(PendingAlreadyExpired)
			}
			if isPost {
				m.closedOrBlocked(m.accts[p.DebitAccountID], m.accts[p.CreditAccountID], breaks)
			}
		}
		// Posting and voiding never raise posted + pending sums, so they cannot overflow or exceed.
	} else if drOK && crOK {
		m.closedOrBlocked(dr, cr, breaks)
		if bigSum(dr.debPost, dr.debPend, t.Amount).Cmp(bigMax) > 0 || bigSum(cr.cred, cr.credPend, t.Amount).Cmp(bigMax) > 0 {
			breaks(Overflow)
		}
		if !net && dr.floored() && bigSum(dr.debPost, dr.debPend, t.Amount).Cmp(big.NewInt(dr.cred)) > 0 {
			breaks(ExceedsBalance) // a netted chain's floors are checked after it
		}
	}

	if len(broken) > 0 {
		return slices.Min(broken), Transfer{}
	}
	if isVoid {
		rec.Amount = p.Amount
	}
	return OK, rec
}

func (m *model) closedOrBlocked(dr, cr *modelAccount, breaks func(Result)) {
	if dr.flags&FlagClosed != 0 {
		breaks(DebitAccountClosed)
	}
	if cr.flags&FlagClosed != 0 {
		breaks(CreditAccountClosed)
	}
	if dr.flags&FlagBlocked != 0 {
		breaks(DebitAccountBlocked)
	}
	if cr.flags&FlagBlocked != 0 {
		breaks(CreditAccountBlocked)
	}
}

func (m *model) apply(now int64, rec Transfer) Transfer {
	ts := now
	if m.last+1 > ts {
		ts = m.last + 1
	}
	m.last = ts
	rec.Timestamp = ts
	dr, cr := m.accts[rec.DebitAccountID], m.accts[rec.CreditAccountID]
	switch {
	case rec.Flags&FlagPending != 0:
		dr.debPend += rec.Amount
		cr.credPend += rec.Amount
		m.state[rec.ID] = PendingActive
	case rec.Flags&FlagPostPending != 0:
		p := m.xfers[rec.PendingID]
		dr.debPend -= p.Amount
		cr.credPend -= p.Amount
		dr.debPost += rec.Amount
		cr.cred += rec.Amount
		m.state[p.ID] = PendingPosted
	case rec.Flags&FlagVoidPending != 0:
		p := m.xfers[rec.PendingID]
		dr.debPend -= p.Amount
		cr.credPend -= p.Amount
		m.state[p.ID] = PendingVoided
	default:
		dr.debPost += rec.Amount
		cr.cred += rec.Amount
	}
	m.xfers[rec.ID] = rec
	return rec
}

type modelBatch struct {
	applied  []Transfer
	expired  []ID
	rejected []Rejection
}

// begin expires every active pending transfer whose deadline has come, by deadline then timestamp.
func (m *model) begin(now int64, out *modelBatch) {
	m.now = now
	type due struct {
		deadline, ts int64
		id           ID
	}
	var dues []due
	for id, st := range m.state {
		p := m.xfers[id]
		if st == PendingActive && p.Timeout > 0 {
			if d := p.Timestamp + p.Timeout*1_000_000_000; d <= now {
				dues = append(dues, due{d, p.Timestamp, id})
			}
		}
	}
	sort.Slice(dues, func(i, j int) bool {
		if dues[i].deadline != dues[j].deadline {
			return dues[i].deadline < dues[j].deadline
		}
		return dues[i].ts < dues[j].ts
	})
	for _, d := range dues {
		p := m.xfers[d.id]
		m.accts[p.DebitAccountID].debPend -= p.Amount
		m.accts[p.CreditAccountID].credPend -= p.Amount
		m.state[d.id] = PendingExpired
		out.expired = append(out.expired, d.id)
	}
}

// commit is a batch of one call.
func (m *model) commit(now int64, batch []Transfer) ([]Result, modelBatch) {
	var out modelBatch
	m.begin(now, &out)
	return m.submit(now, batch, true, &out), out
}

// propose decides batch on a copy and keeps the copy only when every transfer applied; it remembers nothing.
func (m *model) propose(now int64, batch []Transfer, out *modelBatch) ([]Result, bool) {
	try := m.clone()
	var tmp modelBatch
	res := try.submit(now, batch, false, &tmp)
	for _, r := range res {
		if r != OK {
			return res, false
		}
	}
	*m = *try
	out.applied = append(out.applied, tmp.applied...)
	return res, true
}

// submit decides one call's transfers: each chain (a lone transfer is a chain of one) as a whole.
func (m *model) submit(now int64, batch []Transfer, remember bool, out *modelBatch) []Result {
	dup := make([]bool, len(batch))
	seen := map[ID]bool{}
	for i, t := range batch {
		if t.ID != (ID{}) {
			dup[i] = seen[t.ID]
			seen[t.ID] = true
		}
	}
	res := make([]Result, len(batch))
	for i := 0; i < len(batch); {
		j := i
		for j < len(batch) && batch[j].Flags&FlagLinked != 0 {
			j++
		}
		if j == len(batch) { // the chain never closes within the call
			for k := i; k < len(batch); k++ {
				res[k] = LinkedEventFailed
			}
			res[len(batch)-1] = LinkedEventChainOpen
			break
		}
		m.chain(now, batch[i:j+1], dup[i:j+1], res[i:j+1], remember, out)
		i = j + 1
	}
	return res
}

func (m *model) chain(now int64, chain []Transfer, dup []bool, res []Result, remember bool, out *modelBatch) {
	net := chain[0].Flags&FlagNet != 0
	allExist := true
	for k, t := range chain {
		if r, _ := m.decide(t, dup[k], net); r != Exists {
			allExist = false
		}
	}
	first, _ := m.decide(chain[0], dup[0], net)
	fail := func(k int, r Result) {
		for q := range res {
			res[q] = LinkedEventFailed
		}
		res[k] = r
		id := chain[k].ID
		_, applied := m.xfers[id]
		_, rejected := m.rejected[id]
		if remember && !slices.Contains(forgettable, r) && id != (ID{}) && !applied && !rejected {
			m.rejected[id] = r
			out.rejected = append(out.rejected, Rejection{ID: id, Result: r, At: now})
		}
	}
	switch {
	case allExist:
		for k := range res {
			res[k] = Exists
		}
		return
	case first == Exists:
		fail(0, Exists)
		return
	}
	try := m.clone()
	var applied []Transfer
	for k, t := range chain {
		r, rec := try.decide(t, dup[k], net)
		if r != OK {
			fail(k, r)
			return
		}
		applied = append(applied, try.apply(now, rec))
	}
	if net {
		for k, t := range chain {
			if try.accts[t.DebitAccountID].belowFloor() {
				fail(k, ExceedsBalance)
				return
			}
		}
	}
	for k := range res {
		res[k] = OK
	}
	*m = *try
	out.applied = append(out.applied, applied...)
}
