package ledger

import "fmt"

// Batch is what one Commit decided and changed: what the writer persists, in one database transaction, before
// it answers any caller.
type Batch struct {
	Results  []Result   // one per input transfer, in input order
	Applied  []Transfer // the transfers applied, in order, with Timestamp set and post / void fields filled in
	Expired  []ID       // pending transfers this Commit expired before deciding the batch, in expiry order
	Accounts []Account  // the final state of every account whose balances changed, each once, in first-change order

	seq, prev  uint64 // this batch's place in the rollback stack and the batch below it
	lastBefore int64  // the ledger's last timestamp before this batch
}

// plan is a decided transfer, ready to apply.
type plan struct {
	t             Transfer // as it will be recorded (Timestamp set by apply)
	dr, cr        int32    // positions of its accounts
	pendingAmount int64    // for a post or void: the amount the pending transfer reserved
}

// Commit decides every transfer of batch in order at time now (unix ns from the caller's clock, in
// [0, TimeMax]) and applies the successful ones. First it expires every active pending transfer whose deadline
// (its timestamp + timeout seconds) is <= now, releasing its reservation; within the batch a pending transfer
// that survived that sweep is live. Each applied transfer gets timestamp max(now, previous + 1), so timestamps
// strictly increase across all commits even when the caller's clock stands still or steps back.
//
// Linked chains apply all-or-nothing: when a member fails it keeps its own code, every other member gets
// LinkedEventFailed, and the members applied so far are undone. A chain whose every member is Exists (a retry
// of a chain that was applied) gets Exists for every member; otherwise an Exists member fails its chain like
// any other code. Rejected transfers leave no trace: their ids may be used again later, so a liquidity queue
// may retry a transfer that failed with ExceedsBalance under the same id.
//
// Commit with an empty batch only expires pending transfers. It panics when now is out of range or batch is
// longer than BatchLenMax (bugs in the caller), and when an invariant breaks (a bug here).
func (l *Ledger) Commit(now int64, batch []Transfer) Batch {
	if now < 0 || now > TimeMax {
		panic(fmt.Sprintf("ledger: Commit at %d: now must be in [0, TimeMax]", now))
	}
	if len(batch) > BatchLenMax {
		panic(fmt.Sprintf("ledger: Commit of %d transfers: more than BatchLenMax", len(batch)))
	}
	l.seq++
	b := Batch{Results: make([]Result, len(batch)), seq: l.seq, prev: l.top, lastBefore: l.last}
	l.top = l.seq
	l.beginChange()
	b.Expired = l.expire(now)
	applied := make([]Transfer, 0, len(batch))
	for i := 0; i < len(batch); {
		if batch[i].Flags&FlagLinked == 0 {
			var p plan
			r := l.decide(&batch[i], &p)
			if r == OK {
				applied = l.apply(now, &p, applied)
			}
			b.Results[i] = r
			i++
			continue
		}
		end := i // the chain is batch[i:end+1]
		for end < len(batch) && batch[end].Flags&FlagLinked != 0 {
			end++
		}
		if end == len(batch) {
			for k := i; k < end-1; k++ {
				b.Results[k] = LinkedEventFailed
			}
			b.Results[end-1] = LinkedEventChainOpen
			break
		}
		applied = l.commitChain(now, batch[i:end+1], b.Results[i:end+1], applied)
		i = end + 1
	}
	b.Applied = applied
	b.Accounts = l.endChange()
	return b
}

func (l *Ledger) commitChain(now int64, chain []Transfer, results []Result, applied []Transfer) []Transfer {
	fail := func(k int, r Result) {
		for j := range results {
			results[j] = LinkedEventFailed
		}
		results[k] = r
	}
	var p plan
	r := l.decide(&chain[0], &p)
	if r == Exists {
		// Nothing applies: either every member exists (a retry of the whole chain) or the chain fails on its
		// first member. Deciding without applying is sound because an Exists changes nothing.
		for k := 1; k < len(chain); k++ {
			var q plan
			if l.decide(&chain[k], &q) != Exists {
				fail(0, Exists)
				return applied
			}
		}
		for k := range results {
			results[k] = Exists
		}
		return applied
	}
	start, lastBefore := len(applied), l.last
	for k := range chain {
		if k > 0 {
			r = l.decide(&chain[k], &p)
		}
		if r != OK {
			for j := len(applied) - 1; j >= start; j-- {
				l.unapply(&applied[j], false)
			}
			l.last = lastBefore
			fail(k, r)
			return applied[:start]
		}
		applied = l.apply(now, &p, applied)
	}
	for k := range results {
		results[k] = OK
	}
	return applied
}

// decide checks in against the current state, in the order of precedence of Result, and on OK fills p.
func (l *Ledger) decide(in *Transfer, p *plan) Result {
	if in.ID.IsZero() {
		return IDZero
	}
	if in.Timestamp != 0 {
		return TimestampMustBeZero
	}
	kind := in.Flags & (FlagPending | flagsResolve)
	if in.Flags&^transferFlagsKnown != 0 || kind&(kind-1) != 0 {
		return FlagsInvalid
	}
	if len(in.Reference) > ReferenceLenMax {
		return ReferenceTooLong
	}
	resolve := kind&flagsResolve != 0
	if in.Amount < 0 || in.Amount == 0 && !resolve {
		return AmountInvalid
	}
	if resolve && in.PendingID.IsZero() {
		return PendingIDZero
	}
	if !resolve && !in.PendingID.IsZero() {
		return PendingIDMustBeZero
	}
	if kind != FlagPending && in.Timeout != 0 {
		return TimeoutReservedForPending
	}
	if in.Timeout < 0 || in.Timeout > TimeoutMax {
		return TimeoutInvalid
	}
	if !in.DebitAccountID.IsZero() && in.DebitAccountID == in.CreditAccountID {
		return AccountsSame
	}
	if resolve {
		return l.decideResolve(in, p)
	}

	dr, ok := l.index[in.DebitAccountID]
	if !ok {
		return DebitAccountNotFound
	}
	cr, ok := l.index[in.CreditAccountID]
	if !ok {
		return CreditAccountNotFound
	}
	d, c := &l.accounts[dr], &l.accounts[cr]
	if in.Ledger != d.Ledger || in.Ledger != c.Ledger {
		return LedgerMismatch
	}
	if e, ok := l.transfers[in.ID]; ok {
		e.Timestamp = 0
		if e != *in {
			return ExistsWithDifferentFields
		}
		return Exists
	}
	if r := closedOrBlocked(d, c); r != OK {
		return r
	}
	// A plain transfer adds to debits_posted and credits_posted, a pending one to debits_pending and
	// credits_pending: either way each side's posted + pending sum grows by the amount.
	if addOverflows(d.DebitsPosted+d.DebitsPending, in.Amount) ||
		addOverflows(c.CreditsPosted+c.CreditsPending, in.Amount) {
		return Overflow
	}
	if d.Flags&FlagNoNegative != 0 && d.DebitsPosted+d.DebitsPending+in.Amount > d.CreditsPosted {
		return ExceedsBalance
	}
	p.t, p.dr, p.cr = *in, dr, cr
	return OK
}

func closedOrBlocked(d, c *Account) Result {
	switch {
	case d.Flags&FlagClosed != 0:
		return DebitAccountClosed
	case c.Flags&FlagClosed != 0:
		return CreditAccountClosed
	case d.Flags&FlagBlocked != 0:
		return DebitAccountBlocked
	case c.Flags&FlagBlocked != 0:
		return CreditAccountBlocked
	}
	return OK
}

// decideResolve continues decide for a post or void. Zero debit, credit, ledger, code and amount stand for
// the pending transfer's; given ones must match it (a post may take less than the pending amount).
func (l *Ledger) decideResolve(in *Transfer, p *plan) Result {
	dr, cr := int32(-1), int32(-1)
	if !in.DebitAccountID.IsZero() {
		i, ok := l.index[in.DebitAccountID]
		if !ok {
			return DebitAccountNotFound
		}
		dr = i
	}
	if !in.CreditAccountID.IsZero() {
		i, ok := l.index[in.CreditAccountID]
		if !ok {
			return CreditAccountNotFound
		}
		cr = i
	}
	if dr >= 0 && cr >= 0 && l.accounts[dr].Ledger != l.accounts[cr].Ledger ||
		in.Ledger != 0 && (dr >= 0 && l.accounts[dr].Ledger != in.Ledger || cr >= 0 && l.accounts[cr].Ledger != in.Ledger) {
		return LedgerMismatch
	}
	if e, ok := l.transfers[in.ID]; ok {
		return l.existsResolve(in, &e)
	}
	pt, ok := l.transfers[in.PendingID]
	if !ok {
		return PendingNotFound
	}
	if pt.Flags&FlagPending == 0 {
		return PendingNotPending
	}
	if dr >= 0 && in.DebitAccountID != pt.DebitAccountID || cr >= 0 && in.CreditAccountID != pt.CreditAccountID {
		return PendingAccountsMismatch
	}
	if in.Ledger != 0 && in.Ledger != pt.Ledger {
		return PendingLedgerMismatch
	}
	post := in.Flags&FlagPostPending != 0
	if !post && in.Amount != 0 && in.Amount != pt.Amount {
		return PendingAmountMismatch
	}
	if post && in.Amount > pt.Amount {
		return PostAmountExceedsPending
	}
	switch s := l.pending[in.PendingID]; s {
	case PendingActive:
	case PendingPosted:
		return PendingAlreadyPosted
	case PendingVoided:
		return PendingAlreadyVoided
	case PendingExpired:
		return PendingAlreadyExpired
	default:
		panic(fmt.Sprintf("ledger: pending transfer %s has state %d", in.PendingID, s))
	}
	dr, ok1 := l.index[pt.DebitAccountID]
	cr, ok2 := l.index[pt.CreditAccountID]
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("ledger: active pending transfer %s names a missing account", pt.ID))
	}
	if post {
		// A void stays allowed on closed and blocked accounts: it only releases a reservation.
		if r := closedOrBlocked(&l.accounts[dr], &l.accounts[cr]); r != OK {
			return r
		}
	}
	// Posting amount a <= pending amount turns a reservation into a movement: debits_posted + debits_pending
	// and credits_posted + credits_pending fall by pending - a, so neither Overflow nor ExceedsBalance can
	// arise; voiding only lowers them.
	p.t = *in
	p.t.DebitAccountID, p.t.CreditAccountID, p.t.Ledger = pt.DebitAccountID, pt.CreditAccountID, pt.Ledger
	if p.t.Code == 0 {
		p.t.Code = pt.Code
	}
	if p.t.Amount == 0 || !post {
		p.t.Amount = pt.Amount
	}
	p.dr, p.cr, p.pendingAmount = dr, cr, pt.Amount
	return OK
}

// existsResolve compares a post or void with the applied transfer e of the same id, as it would be recorded:
// zero fields stand for the pending transfer's.
func (l *Ledger) existsResolve(in, e *Transfer) Result {
	if in.Flags != e.Flags || in.PendingID != e.PendingID || in.Timeout != e.Timeout || in.Reference != e.Reference ||
		!in.DebitAccountID.IsZero() && in.DebitAccountID != e.DebitAccountID ||
		!in.CreditAccountID.IsZero() && in.CreditAccountID != e.CreditAccountID ||
		in.Ledger != 0 && in.Ledger != e.Ledger {
		return ExistsWithDifferentFields
	}
	pt := l.transfers[e.PendingID] // e was resolved against it, so it is there
	code, amount := in.Code, in.Amount
	if code == 0 {
		code = pt.Code
	}
	if amount == 0 {
		amount = pt.Amount
	}
	if code != e.Code || amount != e.Amount {
		return ExistsWithDifferentFields
	}
	return Exists
}

// apply applies a decided transfer: stamps it, moves the balances, records it.
func (l *Ledger) apply(now int64, p *plan, applied []Transfer) []Transfer {
	ts := max(now, l.last+1)
	l.last = ts
	t := &p.t
	t.Timestamp = ts
	l.touch(p.dr)
	l.touch(p.cr)
	d, c := &l.accounts[p.dr], &l.accounts[p.cr]
	switch {
	case t.Flags&FlagPending != 0:
		d.DebitsPending += t.Amount
		c.CreditsPending += t.Amount
		l.pending[t.ID] = PendingActive
		l.activePending++
		l.totalsOf(t.Ledger).pendingActive += uint64(t.Amount)
		if t.Timeout != 0 {
			l.expiry.push(expiryEntry{deadline: deadline(t), ts: ts, id: t.ID})
		}
	case t.Flags&flagsResolve != 0:
		d.DebitsPending -= p.pendingAmount
		c.CreditsPending -= p.pendingAmount
		state := PendingVoided
		if t.Flags&FlagPostPending != 0 {
			d.DebitsPosted += t.Amount
			c.CreditsPosted += t.Amount
			state = PendingPosted
		}
		l.pending[t.PendingID] = state
		l.activePending--
		l.totalsOf(t.Ledger).pendingActive -= uint64(p.pendingAmount)
	default:
		d.DebitsPosted += t.Amount
		c.CreditsPosted += t.Amount
	}
	l.transfers[t.ID] = *t
	return append(applied, *t)
}

// unapply exactly undoes apply of t, the latest applied transfer not yet undone. repush puts the pending
// transfer that t posted or voided back on the expiry heap: needed by Rollback, whose earlier sweeps may have
// dropped the entry; within a batch the entry is still there.
func (l *Ledger) unapply(t *Transfer, repush bool) {
	dr, ok1 := l.index[t.DebitAccountID]
	cr, ok2 := l.index[t.CreditAccountID]
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("ledger: undo transfer %s: its accounts are gone", t.ID))
	}
	l.touch(dr)
	l.touch(cr)
	d, c := &l.accounts[dr], &l.accounts[cr]
	delete(l.transfers, t.ID)
	switch {
	case t.Flags&FlagPending != 0:
		d.DebitsPending -= t.Amount
		c.CreditsPending -= t.Amount
		delete(l.pending, t.ID)
		l.activePending--
		l.totalsOf(t.Ledger).pendingActive -= uint64(t.Amount)
	case t.Flags&flagsResolve != 0:
		pt, ok := l.transfers[t.PendingID]
		if !ok {
			panic(fmt.Sprintf("ledger: undo transfer %s: pending transfer %s is gone", t.ID, t.PendingID))
		}
		d.DebitsPending += pt.Amount
		c.CreditsPending += pt.Amount
		if t.Flags&FlagPostPending != 0 {
			d.DebitsPosted -= t.Amount
			c.CreditsPosted -= t.Amount
		}
		l.pending[t.PendingID] = PendingActive
		l.activePending++
		l.totalsOf(t.Ledger).pendingActive += uint64(pt.Amount)
		if repush && pt.Timeout != 0 {
			l.expiry.push(expiryEntry{deadline: deadline(&pt), ts: pt.Timestamp, id: pt.ID})
		}
	default:
		d.DebitsPosted -= t.Amount
		c.CreditsPosted -= t.Amount
	}
}

// expire releases every active pending transfer whose deadline is <= now, in order of deadline, then
// timestamp.
func (l *Ledger) expire(now int64) []ID {
	var out []ID
	for len(l.expiry) > 0 && l.expiry[0].deadline <= now {
		e := l.expiry.pop()
		t, ok := l.transfers[e.id]
		if !ok || l.pending[e.id] != PendingActive || t.Timestamp != e.ts || deadline(&t) != e.deadline {
			continue // posted, voided or rolled back since it was scheduled
		}
		l.release(&t, -1)
		l.pending[t.ID] = PendingExpired
		out = append(out, t.ID)
	}
	return out
}

// release moves pending transfer t's reservation out of (sign -1) or back into (sign +1) its accounts.
func (l *Ledger) release(t *Transfer, sign int64) {
	dr, ok1 := l.index[t.DebitAccountID]
	cr, ok2 := l.index[t.CreditAccountID]
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("ledger: pending transfer %s names a missing account", t.ID))
	}
	l.touch(dr)
	l.touch(cr)
	l.accounts[dr].DebitsPending += sign * t.Amount
	l.accounts[cr].CreditsPending += sign * t.Amount
	l.activePending += int(sign)
	l.totalsOf(t.Ledger).pendingActive += uint64(sign * t.Amount)
}

// Rollback exactly undoes b, the latest Commit not yet rolled back: balances, pending states, the idempotency
// index and the last timestamp return to what they were before it. The writer calls it when it cannot
// persist b, so that memory matches storage; batches roll back in the reverse order of their commits. It
// panics when b is not the latest batch (a bug in the caller).
func (l *Ledger) Rollback(b Batch) {
	if b.seq == 0 || b.seq != l.top {
		panic("ledger: Rollback of a batch that is not the latest committed one")
	}
	l.beginChange()
	for i := len(b.Applied) - 1; i >= 0; i-- {
		l.unapply(&b.Applied[i], true)
	}
	for i := len(b.Expired) - 1; i >= 0; i-- {
		t, ok := l.transfers[b.Expired[i]]
		if !ok || l.pending[t.ID] != PendingExpired {
			panic(fmt.Sprintf("ledger: Rollback: expired transfer %s is not expired", b.Expired[i]))
		}
		l.release(&t, +1)
		l.pending[t.ID] = PendingActive
		l.expiry.push(expiryEntry{deadline: deadline(&t), ts: t.Timestamp, id: t.ID})
	}
	l.last = b.lastBefore
	l.top = b.prev
	l.endChange()
}
