package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
)

// PAYA, the automated clearing house (DOMAIN.md §5, issue 9). Its flow:
//
//   - Intake. An entry (alone, or a row of a file) is validated (ach.Validate), checked against the
//     originator's book when the bank is simulated (the payer's account and funds for a credit, the mandate for
//     a debit), and accepted in a writer decision with its money: a credit's payer is debited into its bank's
//     PAYA clearing account at once; the obligation between the two banks enters their clearing positions
//     (clearing.go: obligeIn, the legs still to come as pending); the entry's row (table paya_entries, status
//     accepted) and one Kafka event per chunk (topic paya.credit or paya.debit, keyed by the originating bank)
//     commit in the same batch, through the outbox. The entry belongs to the open cycle: the first cut-off after
//     its acceptance that is not closed yet (payaSlots).
//   - The cycle processor consumes both topics in a consumer group and records each entry in its window
//     (paya_window), once: a redelivered entry is skipped by its primary key.
//   - A cycle (scheduled at the rulebook's cut-offs on the injected clock, or run by the operator) closes its
//     window, waits until the processor has consumed every entry accepted into it, nets the window's
//     obligations and settles them through rtgs's net settlement (Server.SettleNets) as one set; a bank that
//     cannot cover its net is left out there, and its entries (to or from it) are deferred to the next cycle.
//     Then each receiving bank gets its entries: a simulated one posts or returns each (paya_cycle.go), an
//     external one is handed them (events and a delivery file) and may return them until the deadline.
//     Returns are new entries, accepted into the next cycle in the same decision.
//
// Every step records where it got to (the cycle's row), and each is idempotent (derived ids, statuses read
// from the rows), so a cycle interrupted anywhere — a crash, a failed write — is completed exactly once by the
// next run or at start.

// PAYA's topics, one per core (DOMAIN.md §5).
const (
	TopicPAYACredit = "paya.credit"
	TopicPAYADebit  = "paya.debit"
	// payaGroup is the cycle processor's consumer group.
	payaGroup = "tasvieh-paya-cycles"
)

// PAYA's transfer codes (range 200–299; 299 is the net settlement's).
const (
	CodePAYAEntry  uint16 = 200 // an entry's customer leg in a book: payer → clearing:paya, clearing:paya → payee
	CodePAYAFee    uint16 = 201 // the PAYA fee, the originator's customer → its bank's fee income
	CodePAYAReturn uint16 = 202 // a return's customer leg: clearing:paya → the original payer
)

const (
	kindPAYAFile    = "paya.file"
	kindPAYACycle   = "paya.cycle"
	kindPAYAMandate = "paya.mandate"
)

// Limits of the rail.
const (
	// payaChunk is how many entries one intake or delivery decision takes: at most two transfers an entry
	// (a debit's two legs at delivery; at intake a payer's debits and fees go in one transfer each per chunk),
	// inside one request of the store (postgres.RequestTransfersMax, 8,192), its statements' rows (an update
	// and a return each, postgres.StatementRowsMax) and one Kafka event of some 200 KiB (outbox.PayloadBytesMax
	// is 512 KiB). Larger chunks measured faster (`tasvieh bench paya`): fewer commits and round trips.
	payaChunk = payaIntakeChunk
	// payaIntakeChunk is an intake decision's.
	payaIntakeChunk = 2500
	// payaDeliverChunk is a delivery decision's: each of its entries moves a different customer's account.
	// Measured with `tasvieh bench paya --rows 100000` (a cycle of 200,000), the cycle took 45 s in chunks of
	// 2,500, 30 s of 1,000, 26 s of 500, 17 s of 250 and 19 s of 100: the cost of a decision grows faster
	// than its size there (not found yet: neither the Go profile nor PostgreSQL's busy backends show it).
	payaDeliverChunk = 250
	// payaSearchDays bounds the search for the next cycle: the longest run of days without one (Nowruz, with
	// holiday cycles off, is five).
	payaSearchDays = 40
	// payaWindowWait bounds how long a cycle waits for the processor to consume its window: the relay
	// publishes within a second, the consumer handles a thousand entries an event.
	payaWindowWait = 2 * time.Minute
)

// payaRecord is an entry's row: the API's view, and what the rail needs besides.
type payaRecord struct {
	api.PAYAEntry
	// IntakeCycle is the cycle it was accepted into (Cycle moves on when it is deferred).
	IntakeCycle string `json:"intake_cycle"`
	// PayerBank and PayeeBank are the banks whose customers pay and are paid: on a credit the originator
	// and the receiver, on a debit the other way round.
	PayerBank string `json:"payer_bank"`
	PayeeBank string `json:"payee_bank"`
	// PayerDone and PayeeDone say which customer legs are booked (each bank counts an external bank's
	// leg booked when the entry passes it); a return undoes or cancels them (paya_cycle.go returnIn).
	PayerDone bool `json:"payer_done,omitempty"`
	PayeeDone bool `json:"payee_done,omitempty"`
}

// paya is the rail's state in the server.
type paya struct {
	s *Server
	// closed are the cycles whose window has closed (their rows exist): read and changed only under
	// s.clearing.mu, which every intake holds across its decision, so an entry is never accepted into a
	// cycle that has closed.
	closed map[string]bool
	// stages are the closed cycles' stages, for the entries' view.
	stagesMu sync.Mutex
	stages   map[string]string
	// cycleMu runs one cycle at a time.
	cycleMu sync.Mutex
	// intakes serialises, per originating bank, the look-up of an entry's id and its intake decision: an
	// entry's id is derived from its bank and reference, so two submissions of one reference — two files, a
	// file row and a single entry — never both find it absent. (An external originator's entry has no
	// transfer whose id the ledger would refuse twice: the look-up is the only guard.) Held per chunk, never
	// across a whole file.
	intakes claims[string]
	// delivered serialises what may answer an entry handed to an external bank: its return through the API,
	// and its posting at the deadline. Each reads the entry's row under it, so the two never both apply.
	delivered sync.Mutex
	// files serialises uploads per (bank, reference).
	files claims[string]
	// fault, for tests, fails a cycle at a named stage (payaStage*).
	fault func(stage string) error
	// consumers are the cycle processor's members, one per topic.
	consumers []*kafka.Consumer
}

func newPAYA(ctx context.Context, s *Server) (*paya, error) {
	p := &paya{s: s, closed: map[string]bool{}, stages: map[string]string{}}
	err := eachRailRow(ctx, s.pool, kindPAYACycle, nil, func(row postgres.RailObject) error {
		p.closed[row.ID], p.stages[row.ID] = true, row.Status
		return nil
	})
	return p, err
}

// entryID is an entry's id: derived from its originator and reference, so a repeat names the same entry.
func payaEntryID(bank, reference string) string {
	return ids.String(ids.Derive("tasvieh.paya.entry", bank, reference))
}

// returnID is the id of the return of entry id.
func payaReturnID(id string) string { return ids.String(ids.Derive("tasvieh.paya.return", id)) }

// legID is the id of one of an entry's transfers.
func payaLegID(entry, part string) ledger.ID {
	return ledger.ID(ids.Derive("tasvieh.paya.transfer", entry, part))
}

// cycleID names a cycle by its cut-off: YYYY-MM-DDTHH:MM in Tehran.
func cycleID(t time.Time) string { return t.In(calendar.Tehran).Format("2006-01-02T15:04") }

// parseCycleID reads a cycle id back to its cut-off.
func parseCycleID(id string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02T15:04", id, calendar.Tehran)
	if err != nil || cycleID(t) != id {
		return time.Time{}, api.Errorf(api.CodeInvalid, "cycle %q: want YYYY-MM-DDTHH:MM (Tehran), a cut-off", id)
	}
	return t, nil
}

// slots are the cut-offs of one Tehran day: the rulebook's cycles on a business day; on any other day the
// last of them when the rulebook runs one holiday cycle (paya_holiday_cycles), else none.
func (p *paya) slots(day calendar.Date) ([]time.Time, error) {
	prof, err := p.s.profile(day.At(12, 0))
	if err != nil {
		return nil, err
	}
	business, _, err := p.s.cal.IsBusinessDay(day)
	if err != nil {
		return nil, err
	}
	cs := prof.PAYACycles
	if !business {
		if prof.PAYAHolidayCycles == 0 || len(cs) == 0 {
			return nil, nil
		}
		cs = cs[len(cs)-1:]
	}
	out := make([]time.Time, len(cs))
	for i, c := range cs {
		out[i] = c.On(day)
	}
	return out, nil
}

// isSlot reports whether t is one of the cut-offs of its day.
func (p *paya) isSlot(t time.Time) (bool, error) {
	ss, err := p.slots(calendar.DateOf(t.In(calendar.Tehran)))
	for _, s := range ss {
		if s.Equal(t) {
			return true, err
		}
	}
	return false, err
}

// openCycle is the cycle an entry accepted at t belongs to: the first cut-off after t whose window has not
// closed. Under s.clearing.mu.
func (p *paya) openCycle(t time.Time) (string, error) {
	day := calendar.DateOf(t.In(calendar.Tehran))
	for range payaSearchDays {
		ss, err := p.slots(day)
		if err != nil {
			return "", err
		}
		for _, s := range ss {
			if s.After(t) && !p.closed[cycleID(s)] {
				return cycleID(s), nil
			}
		}
		day = day.AddDays(1)
	}
	return "", fmt.Errorf("server: paya: no cycle within %d days of %s", payaSearchDays, t)
}

// payaIn is one entry on its way in.
type payaIn struct {
	rec payaRecord
	// rej is why the book refused it at intake (nil: accepted).
	rej *ach.Rejection
}

// intake accepts ins in one writer decision (at most payaChunk), each entry alone refused when the originator's
// book says no (in.rej set; the others go on). extra rows (a file's) apply with them. It answers the cycle
// they joined. Entries already stored must have been filtered out by the caller.
func (p *paya) intake(ctx context.Context, ins []*payaIn, extra []postgres.Row) (string, error) {
	if len(ins) > payaChunk {
		return "", fmt.Errorf("server: paya: %d entries in one intake, more than %d", len(ins), payaChunk)
	}
	var cycle string
	c := p.s.clearing
	err := c.decide(ctx, func(x *postgres.Decision) error {
		now := x.Now().In(calendar.Tehran)
		var err error
		if cycle, err = p.openCycle(now); err != nil {
			return err
		}
		m := c.move()
		used := map[ledger.ID]int64{} // what this decision already takes from each payer's account
		g := newIntakeGroups()
		var window []payaWindowItem
		var credits, debits []payaWindowItem
		var mandates []postgres.Row
		var inserts []postgres.PAYAEntryRow
		for _, in := range ins {
			in.rej = nil
			r := &in.rec
			r.Status, r.Cycle, r.IntakeCycle, r.AcceptedAt = "accepted", cycle, cycle, now
			if in.rej = p.checkBook(x, r, used); in.rej != nil {
				continue
			}
			if r.Core == "debit" {
				row, rej := p.s.mandates.useIn(x, r, now)
				if in.rej = rej; rej != nil {
					continue
				}
				mandates = append(mandates, row)
			}
			if err := p.legsAtIntake(x, m, r, g); err != nil {
				return err
			}
			inserts = append(inserts, r.row())
			item := payaWindowItem{r.ID, r.IntakeCycle, r.PayerBank, r.PayeeBank, r.AmountRial}
			if r.Core == "debit" {
				debits = append(debits, item)
			} else {
				credits = append(credits, item)
			}
			window = append(window, item)
		}
		if len(window) == 0 {
			if len(extra) > 0 {
				return x.Write(extra...)
			}
			return nil
		}
		if err := g.bookIn(x, m); err != nil {
			return err
		}
		m.Sub.Rows = append(m.Sub.Rows, mandates...)
		m.Sub.Rows = append(m.Sub.Rows, extra...)
		st, err := postgres.PAYAInsert(inserts)
		if err != nil {
			return err
		}
		m.Sub.Statements = append(m.Sub.Statements, st)
		for _, e := range payaEvents(ins[0].rec.OriginatingBank, credits, debits, now) {
			m.event(e)
		}
		res, ok, err := m.proposeIn(x)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("server: paya: intake refused by the ledger: %v", summarizeResults(res))
		}
		return nil
	})
	if err == nil {
		p.s.mandates.committed()
	} else {
		p.s.mandates.forget()
	}
	return cycle, err
}

// summarizeResults counts a refused proposal's results, for an error.
func summarizeResults(res []ledger.Result) map[string]int {
	out := map[string]int{}
	for _, r := range res {
		out[r.String()]++
	}
	return out
}

// checkBook is the originator's book's say on an entry, for a simulated originating bank: a credit's payer
// must hold an open account with the amount and the fee available (used counts what the decision took
// already); a debit's biller an open account with the fee available (it is credited the amount when the
// payer's bank posts). An external originator answers for its own customers.
func (p *paya) checkBook(x *postgres.Decision, r *payaRecord, used map[ledger.ID]int64) *ach.Rejection {
	orig := r.OriginatingBank
	if !p.s.world.live(orig) {
		return nil
	}
	field, sheba := ach.FieldPayerSHEBA, r.PayerSHEBA
	if r.Core == "debit" {
		field, sheba = ach.FieldPayeeSHEBA, r.PayeeSHEBA
	}
	a, ok := x.AccountByKey(BookLedger(orig), sheba)
	switch {
	case !ok || a.Kind == ledger.KindMirror || a.Kind == ledger.KindClearing:
		return &ach.Rejection{Code: ach.CodeAccountNotFound, Field: field, Message: fmt.Sprintf("%s has no account %s", orig, sheba)}
	case a.Flags&ledger.FlagClosed != 0:
		return &ach.Rejection{Code: ach.CodeAccountClosed, Field: field, Message: fmt.Sprintf("account %s is closed", sheba)}
	case a.Flags&ledger.FlagBlocked != 0:
		return &ach.Rejection{Code: ach.CodeAccountBlocked, Field: field, Message: fmt.Sprintf("account %s is blocked", sheba)}
	}
	need := r.AmountRial + r.FeeRial
	if r.Core == "debit" {
		need = r.FeeRial // the biller pays its bank the fee at intake; the amount comes to it at posting
	}
	if a.Available()-used[a.ID] < need {
		return &ach.Rejection{Code: ach.CodeInsufficientFunds, Field: ach.FieldAmount,
			Message: fmt.Sprintf("account %s cannot cover %d rial (a fee of %d included)", sheba, need, r.FeeRial)}
	}
	used[a.ID] += need
	return nil
}

// legsAtIntake moves an accepted entry's money at intake: the obligation between the two banks, the fee (a
// simulated originator's customer pays it to its bank: a credit's payer, a debit's biller), and for a credit
// the payer's leg (a simulated originator debits its customer into clearing:paya; an external one has debited
// its own). A debit moves no customer's amount yet: both legs come when the payer's bank posts.
func (p *paya) legsAtIntake(x *postgres.Decision, m *clearingMove, r *payaRecord, g *intakeGroups) error {
	if err := m.obligeIn("paya", r.PayerBank, r.PayeeBank, r.AmountRial); err != nil {
		return err
	}
	orig := r.OriginatingBank
	live := p.s.world.live(orig)
	if live {
		// The originator's customer (a credit's payer, a debit's biller) pays its bank the fee, now.
		customer := r.PayerSHEBA
		if r.Core == "debit" {
			customer = r.PayeeSHEBA
		}
		a, _ := x.AccountByKey(BookLedger(orig), customer) // checkBook found it
		if r.FeeRial > 0 {
			g.add(orig, a.ID, r.ID, 0, r.FeeRial)
		}
		if r.Core == "credit" {
			g.add(orig, a.ID, r.ID, r.AmountRial, 0)
		}
	}
	if r.Core == "debit" {
		return nil
	}
	// The payer's leg: booked by the chunk's one transfer per payer (intakeGroups), or by an external bank.
	r.PayerDone = true
	return m.legDueIn(x, "paya", orig, ledger.ID{}, r.AmountRial, clearingLeg{}, true)
}

// intakeGroups sums an intake decision's customer debits per account: a payroll file's thousand rows debit
// one employer, and its bank books that as one transfer into clearing:paya (and one of the fees), not a
// thousand. Each transfer's id derives from the first entry of its group.
type intakeGroups struct {
	order []ledger.ID
	by    map[ledger.ID]*intakeGroup
}

type intakeGroup struct {
	bank       string
	first      string // the first entry's id
	n          int
	amount     int64
	fee        int64
	feeEntries int
}

func newIntakeGroups() *intakeGroups { return &intakeGroups{by: map[ledger.ID]*intakeGroup{}} }

func (g *intakeGroups) add(bank string, account ledger.ID, entry string, amount, fee int64) {
	e, ok := g.by[account]
	if !ok {
		e = &intakeGroup{bank: bank, first: entry}
		g.by[account] = e
		g.order = append(g.order, account)
	}
	if amount > 0 {
		e.n++
		e.amount += amount
	}
	if fee > 0 {
		e.feeEntries++
		e.fee += fee
	}
}

// bookIn adds each group's transfers to the move: the amounts into the bank's clearing account (its
// position's pending legs moved per entry already), the fees to its fee income.
func (g *intakeGroups) bookIn(x *postgres.Decision, m *clearingMove) error {
	for _, acct := range g.order {
		e := g.by[acct]
		book := BookLedger(e.bank)
		if e.amount > 0 {
			if err := m.bookIn(x, "paya", e.bank, acct, e.amount, clearingLeg{ID: payaLegID(e.first, "pay-group"),
				Code: CodePAYAEntry, Reference: fmt.Sprintf("paya intake of %d entries", e.n)}, true); err != nil {
				return err
			}
		}
		if e.fee > 0 {
			m.Sub.Transfers = append(m.Sub.Transfers, ledger.Transfer{ID: payaLegID(e.first, "fee-group"), DebitAccountID: acct,
				CreditAccountID: AccountID(book, KeyFee), Amount: e.fee, Ledger: book, Code: CodePAYAFee,
				Reference: fmt.Sprintf("paya fees of %d entries", e.feeEntries)})
		}
	}
	return nil
}

// payaWindowItem is one entry as the cycle processor's events carry it.
type payaWindowItem struct {
	ID, IntakeCycle, PayerBank, PayeeBank string
	AmountRial                            int64
}

// MarshalJSON writes an item as a compact array: a million entries travel in a thousand events.
func (w payaWindowItem) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{w.ID, w.IntakeCycle, w.PayerBank, w.PayeeBank, w.AmountRial})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (w *payaWindowItem) UnmarshalJSON(b []byte) error {
	var a []json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a) != 5 {
		return fmt.Errorf("an entry of %d fields, want 5", len(a))
	}
	for i, dst := range []*string{&w.ID, &w.IntakeCycle, &w.PayerBank, &w.PayeeBank} {
		if err := json.Unmarshal(a[i], dst); err != nil {
			return err
		}
	}
	return json.Unmarshal(a[4], &w.AmountRial)
}

// payaEventsPayload is the body of a paya.entries event.
type payaEventsPayload struct {
	Entries []payaWindowItem `json:"entries"`
}

// payaEvents are a chunk's Kafka events: one per core with entries, keyed by the originating bank, its id
// derived from its first entry (a chunk's entries are accepted together or not at all).
func payaEvents(bank string, credits, debits []payaWindowItem, at time.Time) []outbox.Event {
	var out []outbox.Event
	for _, g := range []struct {
		topic string
		items []payaWindowItem
	}{{TopicPAYACredit, credits}, {TopicPAYADebit, debits}} {
		if len(g.items) == 0 {
			continue
		}
		id := ledger.ID(ids.Derive("tasvieh.paya.event", g.topic, g.items[0].ID)).String()
		out = append(out, outbox.Event{ID: id, Topic: g.topic, Key: bank, Type: "paya.entries",
			Payload: mustJSON(payaEventsPayload{Entries: g.items}), CreatedAt: at})
	}
	return out
}

// consume is the cycle processor's handler: it records an event's entries in the window, once.
func (p *paya) consume(ctx context.Context, ev outbox.Event) error {
	if ev.Type != "paya.entries" {
		return nil // not the processor's
	}
	var body payaEventsPayload
	if err := json.Unmarshal(ev.Payload, &body); err != nil {
		return fmt.Errorf("%w: paya event %s: %v", kafka.ErrMalformed, ev.ID, err)
	}
	if len(body.Entries) > postgres.PAYAWindowMax {
		return fmt.Errorf("%w: paya event %s: %d entries", kafka.ErrMalformed, ev.ID, len(body.Entries))
	}
	es := make([]postgres.PAYAWindowEntry, len(body.Entries))
	for i, e := range body.Entries {
		es[i] = postgres.PAYAWindowEntry{EntryID: e.ID, IntakeCycle: e.IntakeCycle, PayerBank: e.PayerBank, PayeeBank: e.PayeeBank, AmountRial: e.AmountRial}
	}
	_, err := postgres.PAYAWindowAdd(ctx, p.s.pool, es)
	return err
}

// startConsumers starts the cycle processor's members, one per topic.
func (p *paya) startConsumers(ctx context.Context) error {
	for _, topic := range []string{TopicPAYACredit, TopicPAYADebit} {
		co, err := p.s.kafka.NewConsumer(payaGroup, topic, p.consume, kafka.ConsumerConfig{})
		if err != nil {
			return err
		}
		p.consumers = append(p.consumers, co)
		p.s.goRun(ctx, "paya consumer "+topic, co.Run)
	}
	return nil
}

// errPAYAStage is a test's fault at a stage of a cycle.
var errPAYAStage = errors.New("server: paya: stage failed (test)")

// stage runs the test fault of a stage, if any.
func (p *paya) stage(name string) error {
	if p.fault == nil {
		return nil
	}
	if err := p.fault(name); err != nil {
		return fmt.Errorf("%w: %s: %w", errPAYAStage, name, err)
	}
	return nil
}

// row is r as paya_entries keeps it: its record whole in the body, what a cycle changes in columns too.
func (r *payaRecord) row() postgres.PAYAEntryRow {
	e := r.state()
	e.Body = mustJSON(r)
	return e
}

// state is r's row without its body: what an update writes (postgres.PAYAUpdate).
func (r *payaRecord) state() postgres.PAYAEntryRow {
	return postgres.PAYAEntryRow{ID: r.ID, Status: r.Status, Cycle: r.Cycle, IntakeCycle: r.IntakeCycle, FileID: r.FileID,
		OriginatingBank: r.OriginatingBank, ReceivingBank: r.ReceivingBank, PayerBank: r.PayerBank, PayeeBank: r.PayeeBank,
		AmountRial: r.AmountRial, PayerDone: r.PayerDone, PayeeDone: r.PayeeDone, SettledAt: nanos(r.SettledAt),
		AnsweredAt: nanos(r.AnsweredAt), ReturnDeadline: nanos(r.ReturnDeadline), ReturnedBy: r.ReturnedBy,
		ReturnCode: r.ReturnCode}
}

// payaFromRow reads an entry's row: its body as accepted, then its columns, which say what happened since.
func payaFromRow(e postgres.PAYAEntryRow) (payaRecord, error) {
	var r payaRecord
	if err := json.Unmarshal(e.Body, &r); err != nil {
		return r, fmt.Errorf("server: paya entry %s: %w", e.ID, err)
	}
	r.ID, r.Status, r.Cycle, r.IntakeCycle, r.FileID = e.ID, e.Status, e.Cycle, e.IntakeCycle, e.FileID
	r.OriginatingBank, r.ReceivingBank, r.PayerBank, r.PayeeBank = e.OriginatingBank, e.ReceivingBank, e.PayerBank, e.PayeeBank
	r.AmountRial, r.PayerDone, r.PayeeDone, r.ReturnedBy, r.ReturnCode = e.AmountRial, e.PayerDone, e.PayeeDone, e.ReturnedBy, e.ReturnCode
	for _, t := range []struct {
		n   int64
		dst **time.Time
	}{{e.SettledAt, &r.SettledAt}, {e.AnsweredAt, &r.AnsweredAt}, {e.ReturnDeadline, &r.ReturnDeadline}} {
		if t.n != 0 {
			at := time.Unix(0, t.n).In(calendar.Tehran)
			*t.dst = &at
		}
	}
	return r, nil
}

// payaUpdates and payaInserts are a decision's statements for changed and new entries (none when empty).
func payaStatements(updates, inserts []postgres.PAYAEntryRow) ([]postgres.Statement, error) {
	var out []postgres.Statement
	if len(updates) > 0 {
		st, err := postgres.PAYAUpdate(updates)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if len(inserts) > 0 {
		st, err := postgres.PAYAInsert(inserts)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// nanos is a time as unix nanoseconds, 0 for none.
func nanos(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}
