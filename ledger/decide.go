package ledger

import "fmt"

// Batch is what one batch decided and changed: what the writer persists, in one database transaction, before
// it answers any caller.
type Batch struct {
	Results  []Result    // from Decide: one per input transfer, in input order (Begin … End leaves it nil)
	Applied  []Transfer  // the transfers applied, in order, with Timestamp set and post / void fields filled in
	Expired  []ID        // pending transfers this batch expired before deciding anything, in expiry order
	Rejected []Rejection // the rejections to remember, in order
	Accounts []Account   // the final state of every account whose balances changed, each once, in first-change order
}

// Rejection is a remembered rejection: a repeat of ID answers Result again, for ever.
type Rejection struct {
	ID     ID
	Result Result
	At     int64 // when it was rejected: the batch's now, unix ns
}

// plan is a decided transfer, ready to apply.
type plan struct {
	t             Transfer // as it will be recorded (Timestamp set by apply)
	dr, cr        int32    // positions of its accounts
	pendingAmount int64    // for a post or void: the amount the pending transfer reserved
}

// Decide decides every transfer of batch in order at time now and applies the successful ones: Begin(now),
// Submit(batch), End(), with the results in the Batch.
func (l *Ledger) Decide(now int64, batch []Transfer) Batch {
	l.Begin(now)
	r := l.Submit(batch)
	b := l.End()
	b.Results = r
	return b
}

// Begin opens a batch at time now (unix ns from the caller's clock, in [0, TimeMax]). It forgets the ids the
// retention lets go, then expires every active pending transfer whose deadline (its timestamp + timeout
// seconds) is <= now, releasing its reservation; within the batch a pending transfer that survived that sweep
// is live. Between Begin and End the writer may Submit requests, Propose decisions and load ids from storage
// (RestoreTransfer, RestoreRejected). It panics when a batch is open already or now is out of range.
func (l *Ledger) Begin(now int64) {
	if l.open {
		panic("ledger: Begin: a batch is open already")
	}
	if now < 0 || now > TimeMax {
		panic(fmt.Sprintf("ledger: Begin at %d: now must be in [0, TimeMax]", now))
	}
	l.open, l.now, l.cur = true, now, Batch{}
	l.beginChange()
	l.evict(now)
	l.cur.Expired = l.expire(now)
}

// End closes the batch, asserts the invariants over what it changed and returns what to persist. It panics
// when no batch is open, and when an invariant breaks (a bug here).
func (l *Ledger) End() Batch {
	if !l.open {
		panic("ledger: End: no batch is open")
	}
	l.open = false
	b := l.cur
	l.cur = Batch{}
	b.Accounts = l.endChange()
	return b
}

// NextExpiry is the earliest deadline (unix ns) of a pending transfer that may still expire; false when none
// may. A writer sets its timer on the injected clock to it, so expiry runs on that clock's time.
func (l *Ledger) NextExpiry() (int64, bool) {
	for len(l.expiry) > 0 {
		e := l.expiry[0]
		if t, ok := l.transfers.get(e.id); ok && l.pending[e.id] == PendingActive && t.Timestamp == e.ts {
			return e.deadline, true
		}
		l.expiry.pop() // resolved since it was scheduled
	}
	return 0, false
}

// Submit decides a caller's transfers in order, in the open batch, and applies the successful ones. Each
// applied transfer gets timestamp max(now, previous + 1), so timestamps strictly increase across all batches
// even when the caller's clock stands still or steps back.
//
// Linked chains apply all-or-nothing: when a member fails it keeps its own code, every other member gets
// LinkedEventFailed, and the members applied so far are undone. A chain whose every member is Exists (a retry
// of a chain that was applied) gets Exists for every member; otherwise an Exists member fails its chain like
// any other code. A chain left open at the end of the call fails with LinkedEventChainOpen: one caller's
// chain never links into another's. An id that appears twice in one call gets IDDuplicate the second time.
// A chain whose first member carries FlagNet is netted: every member must carry it (FlagsInvalid otherwise),
// and the floors are checked once all of them moved money — the first member whose debit account is then
// below its floor gets ExceedsBalance.
//
// A rejection is remembered (see Result): a repeat of the id answers the same code, now and after a restart,
// and can never succeed later. Submit panics when no batch is open or batch is longer than BatchLenMax.
func (l *Ledger) Submit(batch []Transfer) []Result {
	results := make([]Result, len(batch))
	l.decideAll(batch, results, true)
	return results
}

// Propose applies transfers in the open batch only if every one of them applies; otherwise it applies none and
// remembers nothing, and the results say why. It is for decisions a rail takes inside the writer on stable
// balances (releasing queued orders, an offsetting set, a cycle's nets): a proposal that does not fit leaves
// no trace, so its ids stay free for the next attempt.
func (l *Ledger) Propose(batch []Transfer) ([]Result, bool) {
	results := make([]Result, len(batch))
	start, lastBefore := len(l.cur.Applied), l.last
	l.decideAll(batch, results, false)
	for _, r := range results {
		if r != OK {
			l.undo(start, lastBefore)
			return results, false
		}
	}
	return results, true
}

func (l *Ledger) decideAll(batch []Transfer, results []Result, remember bool) {
	if !l.open {
		panic("ledger: no batch is open")
	}
	if len(batch) > BatchLenMax {
		panic(fmt.Sprintf("ledger: %d transfers: more than BatchLenMax", len(batch)))
	}
	var dup []bool
	if len(batch) > 1 {
		if l.seen == nil {
			l.seen = make(map[ID]struct{}, len(batch))
		}
		clear(l.seen)
		for i := range batch {
			id := batch[i].ID
			if id.IsZero() {
				continue
			}
			if _, ok := l.seen[id]; ok {
				if dup == nil {
					dup = make([]bool, len(batch))
				}
				dup[i] = true
			}
			l.seen[id] = struct{}{}
		}
	}
	isDup := func(i int) bool { return dup != nil && dup[i] }
	for i := 0; i < len(batch); {
		if batch[i].Flags&(FlagLinked|FlagNet) == 0 { // a lone FlagNet transfer is a chain of one, netted
			var p plan
			r := l.decide(&batch[i], &p, isDup(i), false)
			if r == OK {
				l.apply(&p)
			} else {
				l.reject(&batch[i], r, remember)
			}
			results[i] = r
			i++
			continue
		}
		end := i // the chain is batch[i:end+1]
		for end < len(batch) && batch[end].Flags&FlagLinked != 0 {
			end++
		}
		if end == len(batch) {
			for k := i; k < end-1; k++ {
				results[k] = LinkedEventFailed
			}
			results[end-1] = LinkedEventChainOpen
			break
		}
		l.decideChain(batch[i:end+1], results[i:end+1], dup, i, remember)
		i = end + 1
	}
}

// reject remembers a rejection when it is one to remember and the id is not held already.
func (l *Ledger) reject(t *Transfer, r Result, remember bool) {
	if !remember || !r.remembered() || t.ID.IsZero() || l.holds(t.ID) {
		return
	}
	l.rejected[t.ID] = r
	l.hold(t.ID, l.now)
	l.cur.Rejected = append(l.cur.Rejected, Rejection{ID: t.ID, Result: r, At: l.now})
}

// undo exactly undoes the transfers applied in this batch from position start on, newest first.
func (l *Ledger) undo(start int, lastBefore int64) {
	for j := len(l.cur.Applied) - 1; j >= start; j-- {
		l.unapply(&l.cur.Applied[j])
	}
	l.cur.Applied = l.cur.Applied[:start]
	l.last = lastBefore
}

func (l *Ledger) decideChain(chain []Transfer, results []Result, dup []bool, off int, remember bool) {
	isDup := func(k int) bool { return dup != nil && dup[off+k] }
	fail := func(k int, r Result) {
		for j := range results {
			results[j] = LinkedEventFailed
		}
		results[k] = r
		l.reject(&chain[k], r, remember)
	}
	net := chain[0].Flags&FlagNet != 0
	var p plan
	r := l.decide(&chain[0], &p, isDup(0), net)
	if r == Exists {
		// Nothing applies: either every member exists (a retry of the whole chain) or the chain fails on its
		// first member. Deciding without applying is sound because an Exists changes nothing.
		for k := 1; k < len(chain); k++ {
			var q plan
			if l.decide(&chain[k], &q, isDup(k), net) != Exists {
				fail(0, Exists)
				return
			}
		}
		for k := range results {
			results[k] = Exists
		}
		return
	}
	start, lastBefore := len(l.cur.Applied), l.last
	for k := range chain {
		if k > 0 {
			r = l.decide(&chain[k], &p, isDup(k), net)
		}
		if r != OK {
			l.undo(start, lastBefore)
			fail(k, r)
			return
		}
		l.apply(&p)
	}
	if net {
		// Every member moved money; now each debited account must be above its floor.
		for k := range chain {
			d := &l.accounts[l.index[chain[k].DebitAccountID]]
			if d.Flags&FlagNegativeAllowed == 0 && d.DebitsPosted+d.DebitsPending > d.CreditsPosted {
				l.undo(start, lastBefore)
				fail(k, ExceedsBalance)
				return
			}
		}
	}
	for k := range results {
		results[k] = OK
	}
}

// decide checks in against the current state, in the order of precedence of Result, and on OK fills p. dup
// says the id appeared earlier in the same call. net is whether in's chain is netted (its first member carries
// FlagNet): a member that differs has FlagsInvalid, since a chain is netted whole or not at all, and the floor
// check of a netted member waits for the end of the chain.
func (l *Ledger) decide(in *Transfer, p *plan, dup, net bool) Result {
	if in.ID.IsZero() {
		return IDZero
	}
	if dup {
		return IDDuplicate
	}
	if len(l.rejected) > 0 { // most batches meet no rejection: spare them the look-up
		if r, ok := l.rejected[in.ID]; ok {
			return r // a remembered rejection answers the same, whatever the repeat carries
		}
	}
	if t, ok := idTimeNs(in.ID); ok && l.tooFarAhead(t) {
		if !l.transfers.has(in.ID) {
			// Before every other rule: a rejection for another reason would be remembered, and so held under
			// the id's far-future key, stalling eviction and, once the cap evicted it, lifting the horizon.
			return IDTimeFuture
		}
	}
	if in.Timestamp != 0 {
		return TimestampMustBeZero
	}
	kind := in.Flags & (FlagPending | flagsResolve)
	if in.Flags&^transferFlagsKnown != 0 || kind&(kind-1) != 0 || in.Flags&FlagNet != 0 && kind != 0 ||
		(in.Flags&FlagNet != 0) != net {
		return FlagsInvalid
	}
	if len(in.Reference) > ReferenceLenMax {
		return ReferenceTooLong
	}
	if !TextValid(in.Reference) {
		return ReferenceInvalid
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
	if e, ok := l.transfers.get(in.ID); ok {
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
	if !net && d.Flags&FlagNegativeAllowed == 0 && d.DebitsPosted+d.DebitsPending+in.Amount > d.CreditsPosted {
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
	if e, ok := l.transfers.get(in.ID); ok {
		return l.existsResolve(in, &e)
	}
	pt, ok := l.transfers.get(in.PendingID)
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
		in.UserData != e.UserData || !in.DebitAccountID.IsZero() && in.DebitAccountID != e.DebitAccountID ||
		!in.CreditAccountID.IsZero() && in.CreditAccountID != e.CreditAccountID ||
		in.Ledger != 0 && in.Ledger != e.Ledger {
		return ExistsWithDifferentFields
	}
	// e was resolved against its pending transfer; the writer loads that one when it is not held (Missing).
	// Without it, a zero code or amount stands for e's own.
	code, amount := in.Code, in.Amount
	pt, ok := l.transfers.get(e.PendingID)
	if !ok {
		pt.Code, pt.Amount = e.Code, e.Amount
	}
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

// apply applies a decided transfer: stamps it, moves the balances, records it in the open batch.
func (l *Ledger) apply(p *plan) {
	ts := max(l.now, l.last+1)
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
		l.hold(t.PendingID, ts) // resolved: it may now leave memory with the window
	default:
		d.DebitsPosted += t.Amount
		c.CreditsPosted += t.Amount
	}
	l.transfers.put(t)
	l.hold(t.ID, ts)
	l.cur.Applied = append(l.cur.Applied, *t)
}

// unapply exactly undoes apply of t, the latest applied transfer of the open batch not yet undone. The expiry
// heap still holds the entry of a pending transfer that t posted or voided (deletion there is lazy), and the
// retention queue's entries for t are skipped when their time comes.
func (l *Ledger) unapply(t *Transfer) {
	dr, ok1 := l.index[t.DebitAccountID]
	cr, ok2 := l.index[t.CreditAccountID]
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("ledger: undo transfer %s: its accounts are gone", t.ID))
	}
	l.touch(dr)
	l.touch(cr)
	d, c := &l.accounts[dr], &l.accounts[cr]
	l.transfers.del(t.ID)
	switch {
	case t.Flags&FlagPending != 0:
		d.DebitsPending -= t.Amount
		c.CreditsPending -= t.Amount
		delete(l.pending, t.ID)
		l.activePending--
		l.totalsOf(t.Ledger).pendingActive -= uint64(t.Amount)
	case t.Flags&flagsResolve != 0:
		pt, ok := l.transfers.get(t.PendingID)
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
		t, ok := l.transfers.get(e.id)
		if !ok || l.pending[e.id] != PendingActive || t.Timestamp != e.ts || deadline(&t) != e.deadline {
			continue // posted, voided or undone since it was scheduled
		}
		l.release(&t, -1)
		l.pending[t.ID] = PendingExpired
		l.hold(t.ID, now)
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
