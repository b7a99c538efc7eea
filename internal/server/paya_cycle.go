package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
)

// A cycle's stages, recorded in its row (kind paya.cycle, id its cut-off) as its status, and the names of
// the test faults between them (paya.fault).
const (
	payaStageClosing    = "closing"    // the window is closed: no entry joins it any more
	payaStageSettling   = "settling"   // the window is complete and its obligations fixed (the row keeps them)
	payaStageDelivering = "delivering" // the nets settled and the left-out banks' entries deferred
	payaStageDone       = "done"
	// payaFaultDelivered is a test fault after the first delivery decision.
	payaFaultDelivered = "delivered-one"
)

// cycleRecord is a cycle's row.
type cycleRecord struct {
	api.PAYACycle
	// Pairs are the window's obligations as fixed when it was complete: what the net settlement is asked.
	Pairs []postgres.PAYAPair `json:"pairs,omitempty"`
	// Next is the cycle the left-out banks' entries moved to.
	Next string `json:"next,omitempty"`
	// ExternalOpen says entries were handed to external banks and their return deadline has not passed.
	ExternalOpen bool      `json:"external_open,omitempty"`
	Deadline     time.Time `json:"deadline,omitzero"`
}

// payaSetID is the net settlement set of a cycle.
func payaSetID(cycle string) [16]byte { return ids.Derive("tasvieh.paya.netset", cycle) }

// runCycle runs the cycle whose cut-off is cut, to its end: closes its window, waits for the processor,
// settles, defers, delivers. A cycle already done answers its record; one stopped half-way goes on from its
// recorded stage. Entries of earlier cycles handed to external banks whose deadline has come are posted first.
func (p *paya) runCycle(ctx context.Context, cut time.Time) (cycleRecord, error) {
	p.cycleMu.Lock()
	defer p.cycleMu.Unlock()
	id := cycleID(cut)
	rec, found, err := p.cycleRow(ctx, id)
	if err != nil {
		return rec, err
	}
	if !found {
		if rec, err = p.closeWindow(ctx, cut); err != nil {
			return rec, err
		}
	}
	if rec.Status == payaStageDone {
		return rec, nil
	}
	if err := p.postExpired(ctx, cut); err != nil {
		return rec, err
	}
	if rec.Status == payaStageClosing {
		if err := p.awaitWindow(ctx, id); err != nil {
			return rec, err
		}
		pairs, err := postgres.PAYAPairs(ctx, p.s.pool, id)
		if err != nil {
			return rec, err
		}
		rec.Pairs, rec.Status = pairs, payaStageSettling
		if err := p.saveCycle(ctx, rec); err != nil {
			return rec, err
		}
	}
	if err := p.stage(payaStageSettling); err != nil {
		return rec, err
	}
	if rec.Status == payaStageSettling {
		if err := p.settle(ctx, &rec); err != nil {
			return rec, err
		}
	}
	if err := p.stage(payaStageDelivering); err != nil {
		return rec, err
	}
	if err := p.deliver(ctx, &rec); err != nil {
		return rec, err
	}
	now := p.s.clk.Now().In(calendar.Tehran)
	rec.Status, rec.DoneAt = payaStageDone, &now
	if err := p.saveCycle(ctx, rec, p.cycleNotices(rec)...); err != nil {
		return rec, err
	}
	p.s.deliver.Kick()
	return rec, nil
}

// cycleRow reads a cycle's row.
func (p *paya) cycleRow(ctx context.Context, id string) (cycleRecord, bool, error) {
	var rec cycleRecord
	row, found, err := p.s.store.RailObject(ctx, kindPAYACycle, id)
	if err != nil || !found {
		return rec, found, err
	}
	if err := json.Unmarshal(row.Body, &rec); err != nil {
		return rec, true, fmt.Errorf("server: %s %s: %w", kindPAYACycle, id, err)
	}
	rec.Status = row.Status
	return rec, true, nil
}

// saveCycle writes a cycle's row (and events) outside any decision: a cycle's rows hold no money.
func (p *paya) saveCycle(ctx context.Context, rec cycleRecord, events ...outbox.Event) error {
	row := postgres.Row{Kind: kindPAYACycle, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)}
	if err := postgres.Notice(context.WithoutCancel(ctx), p.s.pool, p.s.clk.Now(), []postgres.Row{row}, events); err != nil {
		return err
	}
	p.stagesMu.Lock()
	p.stages[rec.ID] = rec.Status
	p.stagesMu.Unlock()
	return nil
}

// closeWindow closes a cycle's window: from now on an entry joins a later cycle. Under the clearing mutex,
// which every intake holds across its decision, so every entry accepted into the cycle has committed.
func (p *paya) closeWindow(ctx context.Context, cut time.Time) (cycleRecord, error) {
	id := cycleID(cut)
	rec := cycleRecord{PAYACycle: api.PAYACycle{ID: id, Jalali: jalaliOf(cut), Status: payaStageClosing, CutOff: cut.In(calendar.Tehran),
		Nets: []api.PAYANet{}}}
	c := p.s.clearing
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := p.saveCycle(ctx, rec); err != nil {
		return rec, err
	}
	p.closed[id] = true
	return rec, nil
}

// awaitWindow waits until the processor has consumed every entry accepted into cycle id.
func (p *paya) awaitWindow(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, payaWindowWait)
	defer cancel()
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		accepted, consumed, err := postgres.PAYAIntakeCounts(ctx, p.s.pool, id)
		if err != nil {
			return err
		}
		if consumed >= accepted {
			return nil
		}
		select {
		case <-ctx.Done():
			return api.Errorf(api.CodeUnavailable, "cycle %s: the cycle processor has consumed %d of its %d entries; Kafka may be away: it runs again", id, consumed, accepted)
		case <-time.After(pause):
		}
	}
}

// settle asks the net settlement for the cycle's obligations (idempotent by the set's id), defers the
// left-out banks' entries to the next cycle and records the outcome.
func (p *paya) settle(ctx context.Context, rec *cycleRecord) error {
	obl := make([]rtgs.Obligation, 0, len(rec.Pairs))
	sent := map[string]*api.PAYANet{}
	net := func(b string) *api.PAYANet {
		if sent[b] == nil {
			sent[b] = &api.PAYANet{Bank: b}
		}
		return sent[b]
	}
	for _, pr := range rec.Pairs {
		obl = append(obl, rtgs.Obligation{From: pr.PayerBank, To: pr.PayeeBank, AmountRial: pr.AmountRial})
		a, b := net(pr.PayerBank), net(pr.PayeeBank)
		a.SentEntries += int(pr.Entries)
		a.SentRial += pr.AmountRial
		b.RecvEntries += int(pr.Entries)
		b.RecvRial += pr.AmountRial
	}
	excluded := []api.PAYAExcluded{}
	if len(obl) > 0 {
		set := rtgs.NetSet{ID: payaSetID(rec.ID), Rail: "paya", Obligations: obl}
		if _, err := p.s.SettleNets(ctx, set); err != nil {
			return err
		}
		row, _, err := p.s.store.RailObject(ctx, kindNetSet, ids.String(set.ID))
		if err != nil {
			return err
		}
		var ns api.NetSet
		if err := json.Unmarshal(row.Body, &ns); err != nil {
			return fmt.Errorf("server: %s %s: %w", kindNetSet, row.ID, err)
		}
		rec.NetSet = ns.ID
		for _, e := range ns.Excluded {
			reason := e.Reason
			if reason != "short" {
				reason = "suspended"
			}
			excluded = append(excluded, api.PAYAExcluded{Bank: e.Bank, Reason: reason})
		}
	}
	rec.Excluded = excluded
	out := make([]string, len(excluded))
	for i, e := range excluded {
		out[i] = e.Bank
	}
	if len(out) > 0 {
		c := p.s.clearing
		c.mu.Lock()
		next, err := p.openCycle(rec.CutOff)
		c.mu.Unlock()
		if err != nil {
			return err
		}
		moved, err := postgres.PAYADefer(ctx, p.s.pool, rec.ID, next, out)
		if err != nil {
			return err
		}
		rec.Next = next
		rec.Deferred += int(moved)
	}
	// Each bank's part, of what settled: pairs with a left-out bank did not.
	rec.Nets = rec.Nets[:0]
	kept := map[string]*api.PAYANet{}
	for _, pr := range rec.Pairs {
		if slices.Contains(out, pr.PayerBank) || slices.Contains(out, pr.PayeeBank) {
			continue
		}
		for _, b := range []string{pr.PayerBank, pr.PayeeBank} {
			if kept[b] == nil {
				kept[b] = &api.PAYANet{Bank: b}
			}
		}
		a, b := kept[pr.PayerBank], kept[pr.PayeeBank]
		a.SentEntries += int(pr.Entries)
		a.SentRial += pr.AmountRial
		a.NetRial += pr.AmountRial
		b.RecvEntries += int(pr.Entries)
		b.RecvRial += pr.AmountRial
		b.NetRial -= pr.AmountRial
		rec.Entries += int(pr.Entries)
		rec.TotalRial += pr.AmountRial
	}
	for _, n := range kept {
		rec.Nets = append(rec.Nets, *n)
	}
	slices.SortFunc(rec.Nets, func(a, b api.PAYANet) int { return strings.Compare(a.Bank, b.Bank) })
	now := p.s.clk.Now().In(calendar.Tehran)
	rec.SettledAt, rec.Status = &now, payaStageDelivering
	return p.saveCycle(ctx, *rec, p.deferNotices(*rec, sent)...)
}

// deliver hands each receiving bank its entries of the cycle, a decision per chunk, until none is left
// accepted: a simulated bank posts or returns each; an external one is handed them (status delivered, with
// its return deadline).
func (p *paya) deliver(ctx context.Context, rec *cycleRecord) error {
	deadline, err := p.returnDeadline(rec.CutOff)
	if err != nil {
		return err
	}
	first := true
	// after is the last id decided: each chunk decides every row it read (all or nothing, or the loop stops),
	// and no entry joins a closed cycle as accepted (a return joins the next one), so the next chunk starts
	// past it. Read from the start each time, the index scan would step over every row already delivered:
	// quadratic in the cycle's size (measured: a 2,000,000-entry cycle fell to about 1,000 entries/s).
	//
	// The next page is read and decoded while a chunk is decided (it holds only rows past the chunk's, which
	// the chunk does not touch): the database reads and the writer's work overlap.
	type page struct {
		recs []payaRecord
		last string
		err  error
	}
	fetch := func(after string) <-chan page {
		ch := make(chan page, 1)
		go func() {
			rows, err := postgres.PAYAEntries(ctx, p.s.pool, rec.ID, "", []string{"accepted", "deferred"}, after, payaDeliverChunk)
			pg := page{err: err}
			for _, row := range rows {
				r, err := payaFromRow(row)
				if err != nil {
					pg.err = err
					break
				}
				pg.recs, pg.last = append(pg.recs, r), row.ID
			}
			ch <- pg
		}()
		return ch
	}
	next := fetch("")
	for {
		pg := <-next
		if pg.err != nil {
			return pg.err
		}
		if len(pg.recs) == 0 {
			break
		}
		next = fetch(pg.last)
		ext, err := p.deliverChunk(ctx, pg.recs, deadline, rec.SettledAt)
		if err != nil {
			return err
		}
		if ext {
			rec.ExternalOpen, rec.Deadline = true, deadline
		}
		if first {
			first = false
			if err := p.stage(payaFaultDelivered); err != nil {
				return err
			}
		}
	}
	// The cycle's counts of posted and returned, per bank, from its rows.
	return p.tally(ctx, rec)
}

// tally counts each receiving bank's posted, returned and awaiting entries of a cycle into its nets.
func (p *paya) tally(ctx context.Context, rec *cycleRecord) error {
	n, err := postgres.PAYATally(ctx, p.s.pool, rec.ID)
	if err != nil {
		return err
	}
	for i, net := range rec.Nets {
		b := net.Bank
		rec.Nets[i].Posted, rec.Nets[i].Returned, rec.Nets[i].Awaiting = n[[2]string{b, "posted"}], n[[2]string{b, "returned"}], n[[2]string{b, "delivered"}]
	}
	return nil
}

// returnDeadline is when entries a cycle hands to external banks may be returned until: the cut-off of the
// rulebook's paya_return_deadline_cycles-th cycle after it.
func (p *paya) returnDeadline(cut time.Time) (time.Time, error) {
	prof, err := p.s.profile(cut)
	if err != nil {
		return time.Time{}, err
	}
	n, t := prof.PAYAReturnDeadlineCycles, cut
	day := calendar.DateOf(cut.In(calendar.Tehran))
	for range payaSearchDays {
		ss, err := p.slots(day)
		if err != nil {
			return time.Time{}, err
		}
		for _, s := range ss {
			if s.After(t) {
				if n--; n == 0 {
					return s, nil
				}
				t = s
			}
		}
		day = day.AddDays(1)
	}
	return time.Time{}, fmt.Errorf("server: paya: no return deadline within %d days of %s", payaSearchDays, cut)
}

// deliverChunk decides one chunk of a cycle's entries, all or nothing; ext says some went to external banks.
func (p *paya) deliverChunk(ctx context.Context, recs []payaRecord, deadline time.Time, settled *time.Time) (ext bool, err error) {
	c := p.s.clearing
	var returns int
	err = c.decide(ctx, func(x *postgres.Decision) error {
		now := x.Now().In(calendar.Tehran)
		next, err := p.openCycle(now)
		if err != nil {
			return err
		}
		m := c.move()
		used := map[ledger.ID]int64{}
		var credits, debits []payaWindowItem
		var updates, inserts []postgres.PAYAEntryRow
		returns = 0
		for i := range recs {
			r := &recs[i]
			r.AnsweredAt, r.SettledAt = &now, settled
			if !p.s.world.live(r.ReceivingBank) {
				ext = true
				if err := p.handOverIn(x, m, r, deadline); err != nil {
					return err
				}
			} else {
				code, err := p.postIn(x, m, r, used)
				if err != nil {
					return err
				}
				if code != "" {
					ret, err := p.returnIn(x, m, r, code, next, now)
					if err != nil {
						return err
					}
					item := payaWindowItem{ret.ID, ret.IntakeCycle, ret.PayerBank, ret.PayeeBank, ret.AmountRial}
					if ret.Core == "debit" {
						debits = append(debits, item)
					} else {
						credits = append(credits, item)
					}
					inserts = append(inserts, ret.row())
					returns++
				}
			}
			updates = append(updates, r.state())
		}
		sts, err := payaStatements(updates, inserts)
		if err != nil {
			return err
		}
		m.Sub.Statements = append(m.Sub.Statements, sts...)
		// An external receiving bank is told of what it was handed, with each entry in full.
		for _, e := range p.handOverNotices(recs, now) {
			m.event(e)
		}
		// A return travels keyed by its own originator: returns of one chunk may come from several banks,
		// so their events go by bank.
		for _, g := range groupByPayer(credits, debits) {
			for _, e := range payaEvents(g.bank, g.credits, g.debits, now) {
				m.event(e)
			}
		}
		res, ok, err := m.proposeIn(x)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("server: paya: delivery refused by the ledger: %v", summarizeResults(res))
		}
		return nil
	})
	return ext, err
}

type returnGroup struct {
	bank            string
	credits, debits []payaWindowItem
}

// groupByPayer groups a chunk's returns by their originator (the bank that returned them).
func groupByPayer(credits, debits []payaWindowItem) []returnGroup {
	var out []returnGroup
	at := map[string]int{}
	add := func(it payaWindowItem, debit bool) {
		// A return's originator pays on a credit's return (PayerBank); on a debit's return the money flows
		// from the biller's bank back to the payer's, and the returning bank is the payee of the return.
		bank := it.PayerBank
		if debit {
			bank = it.PayeeBank
		}
		i, ok := at[bank]
		if !ok {
			i = len(out)
			at[bank] = i
			out = append(out, returnGroup{bank: bank})
		}
		if debit {
			out[i].debits = append(out[i].debits, it)
		} else {
			out[i].credits = append(out[i].credits, it)
		}
	}
	for _, it := range credits {
		add(it, false)
	}
	for _, it := range debits {
		add(it, true)
	}
	return out
}

// payaNoticeEntries is how many entries one paya.delivery notification carries: at most some 2 KiB of JSON
// each (names and a description of 140 characters, in UTF-8), well inside outbox.PayloadBytesMax.
const payaNoticeEntries = 200

// handOverNotices are the paya.delivery notifications of a delivery decision: for each external receiving
// bank, the entries handed to it (status delivered, or a return posted to it at once), in groups of
// payaNoticeEntries, their ids derived from the first entry of each.
func (p *paya) handOverNotices(recs []payaRecord, at time.Time) []outbox.Event {
	byBank := map[string][]api.PAYAEntry{}
	var banks []string
	for _, r := range recs {
		if p.s.world.live(r.ReceivingBank) {
			continue
		}
		if _, ok := byBank[r.ReceivingBank]; !ok {
			banks = append(banks, r.ReceivingBank)
		}
		byBank[r.ReceivingBank] = append(byBank[r.ReceivingBank], p.view(r))
	}
	var out []outbox.Event
	for _, b := range banks {
		es := byBank[b]
		for i := 0; i < len(es); i += payaNoticeEntries {
			part := es[i:min(i+payaNoticeEntries, len(es))]
			data := map[string]any{"cycle": part[0].Cycle, "entries": part}
			out = append(out, notification(b, "paya.delivery", at, data, part[0].ID))
		}
	}
	return out
}

// postIn posts one entry at its simulated receiving bank, or answers why it must be returned. Returns
// themselves always post: to the original payer's account, or the bank's suspense when that is gone.
func (p *paya) postIn(x *postgres.Decision, m *clearingMove, r *payaRecord, used map[ledger.ID]int64) (string, error) {
	q := r.ReceivingBank
	book := BookLedger(q)
	switch {
	case r.ReturnOf != "":
		if !r.PayeeDue() {
			r.Status = "posted"
			return "", nil
		}
		to, _, _ := payeeAccount(x, book, r.PayeeSHEBA)
		if err := m.legDueIn(x, "paya", r.PayeeBank, to, r.AmountRial,
			clearingLeg{ID: payaLegID(r.ID, "credit"), Code: CodePAYAReturn, Reference: r.Reference}, false); err != nil {
			return "", err
		}
		r.PayeeDone, r.Status = true, "posted"
		return "", nil
	case r.Core == "credit":
		to, _, why := payeeAccount(x, book, r.PayeeSHEBA)
		if why != "" {
			return why, nil
		}
		if err := m.legDueIn(x, "paya", q, to, r.AmountRial,
			clearingLeg{ID: payaLegID(r.ID, "credit"), Code: CodePAYAEntry, Reference: r.Reference}, false); err != nil {
			return "", err
		}
		r.PayeeDone, r.Status = true, "posted"
		return "", nil
	}
	// A debit: its payer's bank debits its customer, and the biller's bank credits the biller.
	a, ok := x.AccountByKey(book, r.PayerSHEBA)
	switch {
	case !ok || a.Kind == ledger.KindMirror || a.Kind == ledger.KindClearing:
		return "account_not_found", nil
	case a.Flags&ledger.FlagClosed != 0:
		return "account_closed", nil
	case a.Flags&ledger.FlagBlocked != 0:
		return "account_blocked", nil
	case a.Available()-used[a.ID] < r.AmountRial:
		return "insufficient_funds", nil
	}
	if why := p.s.mandates.stillValid(r.MandateID, x.Now()); why != "" {
		return why, nil
	}
	used[a.ID] += r.AmountRial
	if err := m.legDueIn(x, "paya", q, a.ID, r.AmountRial,
		clearingLeg{ID: payaLegID(r.ID, "pay"), Code: CodePAYAEntry, Reference: r.Reference}, true); err != nil {
		return "", err
	}
	r.PayerDone = true
	if err := p.billerLegIn(x, m, r); err != nil {
		return "", err
	}
	r.Status = "posted"
	return "", nil
}

// billerLegIn credits a debit's biller at its bank (simulated: its account, or suspense when it is gone).
func (p *paya) billerLegIn(x *postgres.Decision, m *clearingMove, r *payaRecord) error {
	var to ledger.ID
	if p.s.world.live(r.PayeeBank) {
		to, _, _ = payeeAccount(x, BookLedger(r.PayeeBank), r.PayeeSHEBA)
	}
	if err := m.legDueIn(x, "paya", r.PayeeBank, to, r.AmountRial,
		clearingLeg{ID: payaLegID(r.ID, "credit"), Code: CodePAYAEntry, Reference: r.Reference}, false); err != nil {
		return err
	}
	r.PayeeDone = true
	return nil
}

// handOverIn hands one entry to its external receiving bank: its leg counts as booked there (the bank books
// its own customers), and it may return the entry until the deadline. A return is posted at once.
func (p *paya) handOverIn(x *postgres.Decision, m *clearingMove, r *payaRecord, deadline time.Time) error {
	q := r.ReceivingBank
	switch {
	case r.ReturnOf != "":
		if r.PayeeDue() {
			if err := m.legDueIn(x, "paya", q, ledger.ID{}, r.AmountRial, clearingLeg{}, false); err != nil {
				return err
			}
			r.PayeeDone = true
		}
		r.Status = "posted"
		return nil
	case r.Core == "credit":
		if err := m.legDueIn(x, "paya", q, ledger.ID{}, r.AmountRial, clearingLeg{}, false); err != nil {
			return err
		}
		r.PayeeDone = true
	default:
		if err := m.legDueIn(x, "paya", q, ledger.ID{}, r.AmountRial, clearingLeg{}, true); err != nil {
			return err
		}
		r.PayerDone = true
	}
	d := deadline.In(calendar.Tehran)
	r.Status, r.ReturnDeadline = "delivered", &d
	return nil
}

// returnIn returns entry r with code: r becomes returned, and its return — the money flowing back from the
// payee's bank to the payer's — is accepted into cycle next. The obligation is reversed at once (obligeIn the
// other way), and each original leg still due cancels against the return's matching leg: the money of a
// credit whose payee was never credited is still in the receiving bank's clearing account, and funds the
// return; a debit whose payer was never debited has nothing to give back. A leg already booked is undone by
// the return's own leg: the payee's at once, the payer's when the return is delivered.
func (p *paya) returnIn(x *postgres.Decision, m *clearingMove, r *payaRecord, code, next string, now time.Time) (payaRecord, error) {
	ret := payaRecord{PAYAEntry: api.PAYAEntry{ID: payaReturnID(r.ID), Core: r.Core, Status: "accepted",
		OriginatingBank: r.ReceivingBank, ReceivingBank: r.OriginatingBank,
		PayerSHEBA: r.PayeeSHEBA, PayerName: r.PayeeName, PayeeSHEBA: r.PayerSHEBA, PayeeName: r.PayerName,
		AmountRial: r.AmountRial, Description: r.Description, Reference: cutRunes("return "+r.Reference, ach.ReferenceLenMax),
		MandateID: r.MandateID, Cycle: next, ReturnOf: r.ID, ReturnCode: code, AcceptedAt: now},
		IntakeCycle: next, PayerBank: r.PayeeBank, PayeeBank: r.PayerBank}
	if err := m.obligeIn("paya", ret.PayerBank, ret.PayeeBank, ret.AmountRial); err != nil {
		return ret, err
	}
	if r.PayeeDone { // the payee was credited: the return takes it back now
		var from ledger.ID
		if p.s.world.live(r.PayeeBank) {
			a, ok := x.AccountByKey(BookLedger(r.PayeeBank), r.PayeeSHEBA)
			if !ok {
				a, _ = x.Account(AccountID(BookLedger(r.PayeeBank), KeySuspense))
			}
			from = a.ID
		}
		if err := m.legDueIn(x, "paya", r.PayeeBank, from, r.AmountRial,
			clearingLeg{ID: payaLegID(ret.ID, "pay"), Code: CodePAYAReturn, Reference: ret.Reference}, true); err != nil {
			return ret, err
		}
	}
	ret.PayerDone = true // done by the cancelling above, or just now
	// The return's payee leg is due exactly when the original's payer leg was booked.
	ret.PayeeDone = !r.PayerDone
	r.Status, r.ReturnedBy, r.ReturnCode = "returned", ret.ID, code
	return ret, nil
}

// PayeeDue reports whether the entry's payee leg is still to be booked.
func (r *payaRecord) PayeeDue() bool { return !r.PayeeDone }

// postExpired posts the entries handed to external banks whose return deadline has come by cut: a debit's
// biller is credited then.
func (p *paya) postExpired(ctx context.Context, cut time.Time) error {
	// The deadline is a time: a cycle the operator runs before its cut-off posts only what is due by now.
	now := p.s.clk.Now()
	if cut.Before(now) {
		now = cut
	}
	var open []cycleRecord
	err := eachRailRow(ctx, p.s.pool, kindPAYACycle, []string{payaStageDone}, func(row postgres.RailObject) error {
		var rec cycleRecord
		if err := json.Unmarshal(row.Body, &rec); err != nil {
			return fmt.Errorf("server: %s %s: %w", row.Kind, row.ID, err)
		}
		rec.Status = row.Status
		if rec.ExternalOpen && !rec.Deadline.After(now) {
			open = append(open, rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, rec := range open {
		after := "" // past the rows posted already, as in deliver
		for {
			rows, err := postgres.PAYAEntries(ctx, p.s.pool, rec.ID, "", []string{"delivered"}, after, payaChunk)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				break
			}
			after = rows[len(rows)-1].ID
			if err := p.postDelivered(ctx, rows); err != nil {
				return err
			}
		}
		rec.ExternalOpen = false
		if err := p.tally(ctx, &rec); err != nil {
			return err
		}
		if err := p.saveCycle(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

// postDelivered posts entries an external bank did not return by the deadline: those still delivered when
// read again under p.delivered (a return may have answered one since the page was read).
func (p *paya) postDelivered(ctx context.Context, page []postgres.PAYAEntryRow) error {
	p.delivered.Lock()
	defer p.delivered.Unlock()
	keys := make([]string, len(page))
	for i, row := range page {
		keys[i] = row.ID
	}
	found, err := postgres.PAYAEntriesByID(ctx, p.s.pool, keys)
	if err != nil {
		return err
	}
	var rows []postgres.PAYAEntryRow
	for _, k := range keys {
		if row, ok := found[k]; ok && row.Status == "delivered" {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	c := p.s.clearing
	return c.decide(ctx, func(x *postgres.Decision) error {
		now := x.Now().In(calendar.Tehran)
		m := c.move()
		var updates []postgres.PAYAEntryRow
		for _, row := range rows {
			r, err := payaFromRow(row)
			if err != nil {
				return err
			}
			if r.Core == "debit" && r.PayeeDue() {
				if err := p.billerLegIn(x, m, &r); err != nil {
					return err
				}
			}
			r.Status, r.AnsweredAt = "posted", &now
			updates = append(updates, r.state())
		}
		sts, err := payaStatements(updates, nil)
		if err != nil {
			return err
		}
		m.Sub.Statements = append(m.Sub.Statements, sts...)
		res, ok, err := m.proposeIn(x)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("server: paya: posting refused by the ledger: %v", summarizeResults(res))
		}
		return nil
	})
}

// returnExternal is an external receiving bank's return of an entry handed to it, before the deadline.
func (p *paya) returnExternal(ctx context.Context, bank, id, code string) (payaRecord, error) {
	p.delivered.Lock()
	defer p.delivered.Unlock()
	r, err := p.entry(ctx, bank, id)
	if err != nil {
		return r, err
	}
	switch {
	case p.s.world.live(bank):
		return r, api.Errorf(api.CodeBankNotSimulated, "bank %s is simulated: its book posts or returns its entries itself", bank)
	case r.ReceivingBank != bank || r.Status != "delivered" || r.ReturnOf != "":
		return r, api.Errorf(api.CodeReturnClosed, "entry %s is %s: only an entry delivered to the caller, not itself a return, can be returned", id, r.Status)
	}
	if rc, _ := ach.ParseReturnCode(code); !rc.Applies(ach.CoreCredit) && r.Core == "credit" {
		return r, api.FieldErrorf("code", "%s applies to debits only; entry %s is a credit", code, id)
	}
	var ret payaRecord
	c := p.s.clearing
	err = c.decide(ctx, func(x *postgres.Decision) error {
		now := x.Now().In(calendar.Tehran)
		if r.ReturnDeadline != nil && !now.Before(*r.ReturnDeadline) {
			return api.Errorf(api.CodeReturnLate, "entry %s could be returned until %s", id, r.ReturnDeadline.Format(time.RFC3339))
		}
		next, err := p.openCycle(now)
		if err != nil {
			return err
		}
		m := c.move()
		r.AnsweredAt = &now
		if ret, err = p.returnIn(x, m, &r, code, next, now); err != nil {
			return err
		}
		sts, err := payaStatements([]postgres.PAYAEntryRow{r.state()}, []postgres.PAYAEntryRow{ret.row()})
		if err != nil {
			return err
		}
		m.Sub.Statements = append(m.Sub.Statements, sts...)
		item := []payaWindowItem{{ret.ID, ret.IntakeCycle, ret.PayerBank, ret.PayeeBank, ret.AmountRial}}
		var evs []outbox.Event
		if ret.Core == "debit" {
			evs = payaEvents(bank, nil, item, now)
		} else {
			evs = payaEvents(bank, item, nil, now)
		}
		for _, e := range evs {
			m.event(e)
		}
		res, ok, err := m.proposeIn(x)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("server: paya: return refused by the ledger: %v", summarizeResults(res))
		}
		return nil
	})
	if err == nil {
		p.retally(ctx, r.Cycle)
	}
	return r, err
}

// retally recounts a done cycle's posted, returned and awaiting entries after an external bank answered one.
// Only when no cycle is running (it would hold the cycle's row): otherwise the counts are brought up to date
// when the cycle's deadline posting runs, at the latest.
func (p *paya) retally(ctx context.Context, id string) {
	if !p.cycleMu.TryLock() {
		return
	}
	defer p.cycleMu.Unlock()
	rec, found, err := p.cycleRow(ctx, id)
	if err == nil && found && rec.Status == payaStageDone {
		if err = p.tally(ctx, &rec); err == nil {
			err = p.saveCycle(ctx, rec)
		}
	}
	if err != nil {
		p.s.log.Warn("server: paya: recounting a cycle after a return", "cycle", id, "err", err)
	}
}

// deferNotices tell each bank of a left-out bank's deferred entries: the left-out bank, and every bank with
// entries to or from it.
func (p *paya) deferNotices(rec cycleRecord, all map[string]*api.PAYANet) []outbox.Event {
	if len(rec.Excluded) == 0 {
		return nil
	}
	var out []outbox.Event
	data := map[string]any{"cycle": rec.ID, "jalali": rec.Jalali, "next": rec.Next, "excluded": rec.Excluded, "deferred": rec.Deferred}
	for b := range all {
		out = append(out, notification(b, "paya.cycle.deferred", rec.CutOff, data, rec.ID))
	}
	slices.SortFunc(out, func(a, b outbox.Event) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// cycleNotices tell each bank of a cycle its part, once done.
func (p *paya) cycleNotices(rec cycleRecord) []outbox.Event {
	var out []outbox.Event
	for _, n := range rec.Nets {
		data := map[string]any{"cycle": rec.ID, "jalali": rec.Jalali, "net": n, "net_set": rec.NetSet}
		out = append(out, notification(n.Bank, "paya.cycle.settled", rec.CutOff, data, rec.ID))
	}
	return out
}

// resume completes, at start, the cycles a crash stopped half-way.
func (p *paya) resume(ctx context.Context) {
	var cuts []time.Time
	err := eachRailRow(ctx, p.s.pool, kindPAYACycle, []string{payaStageClosing, payaStageSettling, payaStageDelivering}, func(row postgres.RailObject) error {
		t, err := parseCycleID(row.ID)
		cuts = append(cuts, t)
		return err
	})
	if err != nil {
		p.s.log.Error("server: paya: reading cycles to resume", "err", err)
		return
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range cuts {
		if _, err := p.runCycle(ctx, t); err != nil {
			p.s.log.Error("server: paya: resuming cycle", "cycle", cycleID(t), "err", err)
			return
		}
	}
}
