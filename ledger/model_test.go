package ledger

import (
	"maps"
	"math"
	"math/big"
	"slices"
	"sort"
)

// model is a tiny, obviously correct reference ledger for the property and fuzz tests. It shares no code
// with the implementation: plain maps, arbitrary-precision arithmetic for every limit, whole-state copies for
// linked chains, a scan of every pending transfer for expiry, and a different formulation of precedence: it
// collects every rule a transfer breaks and answers with the smallest code.
type model struct {
	accts map[ID]*modelAccount
	xfers map[ID]Transfer // applied transfers as recorded
	state map[ID]PendingState
	last  int64
}

type modelAccount struct {
	ledger                           LedgerID
	flags                            AccountFlags
	debPend, debPost, credPend, cred int64
}

func newModel() *model {
	return &model{accts: map[ID]*modelAccount{}, xfers: map[ID]Transfer{}, state: map[ID]PendingState{}}
}

func (m *model) clone() *model {
	c := &model{accts: make(map[ID]*modelAccount, len(m.accts)), xfers: maps.Clone(m.xfers),
		state: maps.Clone(m.state), last: m.last}
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

// decide returns the result for t and, when OK, the transfer as the ledger records it (without timestamp).
func (m *model) decide(t Transfer) (Result, Transfer) {
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
	zero := ID{}

	if t.ID == zero {
		breaks(IDZero)
	}
	if t.Timestamp != 0 {
		breaks(TimestampMustBeZero)
	}
	if t.Flags&^(FlagLinked|FlagPending|FlagPostPending|FlagVoidPending) != 0 || kinds > 1 {
		breaks(FlagsInvalid)
	}
	if len(t.Reference) > 64 {
		breaks(ReferenceTooLong)
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
		if dr.flags&FlagNoNegative != 0 && bigSum(dr.debPost, dr.debPend, t.Amount).Cmp(big.NewInt(dr.cred)) > 0 {
			breaks(ExceedsBalance)
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
	results []Result
	applied []Transfer
	expired []ID
}

func (m *model) commit(now int64, batch []Transfer) (*model, modelBatch) {
	var out modelBatch
	// Expire: every active pending transfer whose deadline has come, by deadline then timestamp.
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

	out.results = make([]Result, len(batch))
	for i := 0; i < len(batch); {
		j := i
		for j < len(batch) && batch[j].Flags&FlagLinked != 0 {
			j++
		}
		if j == len(batch) { // the chain never closes
			for k := i; k < len(batch); k++ {
				out.results[k] = LinkedEventFailed
			}
			out.results[len(batch)-1] = LinkedEventChainOpen
			break
		}
		chain := batch[i : j+1]
		res := out.results[i : j+1]
		if len(chain) == 1 {
			r, rec := m.decide(chain[0])
			res[0] = r
			if r == OK {
				out.applied = append(out.applied, m.apply(now, rec))
			}
			i = j + 1
			continue
		}
		allExist := true
		for _, t := range chain {
			if r, _ := m.decide(t); r != Exists {
				allExist = false
			}
		}
		first, _ := m.decide(chain[0])
		switch {
		case allExist:
			for k := range res {
				res[k] = Exists
			}
		case first == Exists:
			for k := range res {
				res[k] = LinkedEventFailed
			}
			res[0] = Exists
		default:
			try := m.clone()
			var applied []Transfer
			failed := false
			for k, t := range chain {
				r, rec := try.decide(t)
				if r != OK {
					for q := range res {
						res[q] = LinkedEventFailed
					}
					res[k] = r
					failed = true
					break
				}
				applied = append(applied, try.apply(now, rec))
			}
			if !failed {
				for k := range res {
					res[k] = OK
				}
				m = try
				out.applied = append(out.applied, applied...)
			}
		}
		i = j + 1
	}
	return m, out
}
