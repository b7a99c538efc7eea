package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
	"github.com/tasvieh/tasvieh/sheba"
)

// SATNA's transfer codes (range 100–199).
const (
	CodeSATNAOrder     uint16 = 100 // an order's legs: payer → mirror, settlement → settlement, mirror → payee or suspense
	CodeSATNAFee       uint16 = 101 // the SATNA fee, payer → the sending bank's fee income
	CodeSATNAReturn    uint16 = 102 // a return's legs: suspense → mirror, settlement → settlement, mirror → the original payer
	CodeSATNAReturnFee uint16 = 103 // the return fee the receiving bank keeps, suspense → its fee income
	CodeSATNAMirrorNet uint16 = 104 // a simulated bank's mirror following its interbank orders of one decision, net, against its equity
	CodeSATNAOffset    uint16 = 105 // a large offsetting set: its nets at the CBI and its orders' legs in the books (satna_offset.go)
)

const kindSATNAOrder = "satna.order"

// satnaRecord is an order's rail row: the API's view and what the engine needs to rebuild its queue.
type satnaRecord struct {
	api.SATNAOrder
	ReceivedAt time.Time `json:"received_at"`
}

// satna is the SATNA rail of the switch: the warehouse and the liquidity queue in memory (rebuilt from the
// order rows at start), every change of an order written with its money or as a notice. One mutex orders
// every SATNA decision: an order's status and its money never disagree, whatever runs at once.
type satna struct {
	s          *Server
	mu         sync.Mutex
	queue      *rtgs.Queue
	warehouse  map[rtgs.OrderID]satnaRecord
	queued     map[rtgs.OrderID]satnaRecord
	due        map[rtgs.OrderID]satnaRecord // settled into a receiver's suspense, its return not yet funded
	later      []outbox.Event               // notifications of the running decision's moneyless changes
	poisoned   bool                         // a decision failed: those behind it decide nothing (writer's goroutine)
	stale      bool                         // memory may run ahead of the rows: rebuild before deciding again
	nets       map[string]int64             // the running decision's interbank mirror movements, per bank (flushNets)
	netsSeed   string                       // the first order they came from
	bigSet     []rtgs.Order                 // an offsetting set too large for one request, for afterDecisions
	offsetting []offsetChunk                // committed large sets' chunks still to complete (satna_offset.go)
	chunkFault func() error                 // tests: fails the completion of large sets' chunks

	submits  chan settleReq       // orders due now, for the batcher
	inflight claims[rtgs.OrderID] // order ids being submitted
}

// kindReturnDue marks an order whose return its simulated receiver could not fund yet (its settlement account
// short, say after an offsetting set left it at zero): the return is tried again whenever balances rise.
const kindReturnDue = "satna.return_due"

func newSATNA(ctx context.Context, s *Server) (*satna, error) {
	r := &satna{s: s, submits: make(chan settleReq, submitBatchMax)}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.afterDecisions(ctx) // a large offsetting set committed before a crash completes before anything else
	r.mu.Unlock()
	s.openHooks = append(s.openHooks, r.dayOpen)
	s.closeHooks = append(s.closeHooks, r.dayClose)
	return r, nil
}

// reload rebuilds the warehouse and the queue from the order rows: at start, and after any decision that did
// not commit (the store reloads its ledger from the tables then; the rail does the same with its own state, so
// memory never runs ahead of the database).
func (r *satna) reload(ctx context.Context) error {
	r.queue, r.warehouse, r.queued = rtgs.NewQueue(), map[rtgs.OrderID]satnaRecord{}, map[rtgs.OrderID]satnaRecord{}
	r.due = map[rtgs.OrderID]satnaRecord{}
	err := r.eachRow(ctx, kindReturnDue, []string{"due"}, func(row postgres.RailObject) error {
		rec, err := decode(row) // its body keeps the order's status (settled); the row's is "due"
		if err != nil {
			return err
		}
		id, err := rtgs.ParseOrderID(rec.ID)
		r.due[id] = rec
		return err
	})
	if err != nil {
		return err
	}
	members, err := r.loadOffsetting(ctx)
	if err != nil {
		return err
	}
	r.bigSet = nil
	return r.eachRow(ctx, kindSATNAOrder, []string{"warehoused", "queued"}, func(row postgres.RailObject) error {
		rec, err := orderRecord(row)
		if err != nil {
			return err
		}
		o, err := rec.order()
		if err != nil {
			return err
		}
		if members[o.ID] {
			return nil // final at the CBI, in a committed offsetting set: completed, not queued again
		}
		if row.Status == "warehoused" {
			r.warehouse[o.ID] = rec
			return nil
		}
		r.queued[o.ID] = rec
		return r.queue.Add(o)
	})
}

// eachRow calls f for every rail row of kind with one of statuses, paging by id.
func (r *satna) eachRow(ctx context.Context, kind string, statuses []string, f func(postgres.RailObject) error) error {
	return eachRailRow(ctx, r.s.pool, kind, statuses, f)
}

// decode reads a rail row's body as an order record.
func decode(row postgres.RailObject) (satnaRecord, error) {
	var rec satnaRecord
	if err := json.Unmarshal(row.Body, &rec); err != nil {
		return rec, fmt.Errorf("server: %s %s: %w", row.Kind, row.ID, err)
	}
	return rec, nil
}

// orderRecord reads an order's row: its body, with the row's status.
func orderRecord(row postgres.RailObject) (satnaRecord, error) {
	rec, err := decode(row)
	rec.Status = row.Status
	return rec, err
}

// decide runs f as a decision of the writer and waits for it; when it fails or does not commit, the rail's
// memory is rebuilt from the rows, since f may have moved orders in the queue. The caller holds r.mu.
func (r *satna) decide(ctx context.Context, f func(x *postgres.Decision) error) error {
	r.resync(ctx)
	d, err := r.start(ctx, f)
	if err != nil {
		return storeErr(err)
	}
	err = r.end(ctx, d)
	r.resync(ctx)
	return err
}

// decision is one SATNA decision started in the writer and not yet ended.
type decision struct {
	done  chan struct{}  // closed once the writer has answered
	werr  error          // the writer's answer
	derr  error          // what f answered
	later []outbox.Event // notifications of its moneyless changes, written once it has committed
}

// errEarlierFailed answers a decision started behind one that failed: it decided nothing.
var errEarlierFailed = api.Errorf(api.CodeUnavailable, "not decided: an earlier SATNA decision failed; retry")

// start queues f as a decision of the writer without waiting for it (postgres.Store.DecideStart): the caller,
// holding r.mu, may start the next before this one is durable, each deciding on the memory and balances the
// previous left, in order. Between start and end the caller must not touch the rail's memory: f owns it, on
// the writer's goroutine. Once f fails, every decision behind it decides nothing (errEarlierFailed) until the
// memory is rebuilt (resync).
func (r *satna) start(ctx context.Context, f func(x *postgres.Decision) error) (*decision, error) {
	d := &decision{}
	wait, err := r.s.store.DecideStart(ctx, func(x *postgres.Decision) {
		r.later, r.nets, r.netsSeed = nil, nil, "" // nothing of a decision that panicked carries over
		if r.poisoned {
			d.derr = errEarlierFailed
			return
		}
		d.derr = f(x)
		if err := r.flushNets(x); err != nil && d.derr == nil {
			d.derr = err
		}
		if d.derr != nil {
			r.poisoned = true
		}
		d.later, r.later = r.later, nil
	})
	if err != nil {
		return nil, err
	}
	d.done = make(chan struct{})
	go func() {
		d.werr = wait()
		close(d.done)
	}()
	return d, nil
}

// end waits for a decision started, writes its notifications once it has committed, and answers its error.
// A decision that failed or did not commit leaves the memory stale: the caller resyncs once no decision of
// its own is in flight.
func (r *satna) end(ctx context.Context, d *decision) error {
	<-d.done
	err := d.werr
	if err == nil && len(d.later) > 0 {
		// The rows are committed; their notifications follow (ids derived, so a repeat is skipped).
		if nerr := postgres.Notice(ctx, r.s.pool, r.s.clk.Now(), nil, d.later); nerr != nil {
			r.s.log.Warn("server: satna: notifications after a decision", "err", nerr)
		}
	}
	if err == nil && d.derr == nil {
		return nil
	}
	r.stale = true
	if err != nil {
		return storeErr(err)
	}
	return d.derr
}

// resync rebuilds the memory from the rows after a decision that failed or did not commit, once the writer
// has recovered (a barrier decision goes through only then, after the writer has waited for its old
// backend to end, so the rows are final). The caller holds r.mu and has ended every decision it started.
func (r *satna) resync(ctx context.Context) {
	if !r.stale {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for attempt := 0; attempt < resyncBarrierTries; attempt++ {
		bctx, cancel := context.WithTimeout(ctx, resyncBarrierWait)
		err := r.s.store.Decide(bctx, func(*postgres.Decision) {})
		cancel()
		if err == nil || errors.Is(err, postgres.ErrClosed) {
			break
		}
	}
	if err := r.reload(ctx); err != nil {
		r.s.log.Error("server: satna: reloading after a failed decision", "err", err)
		return // still stale: the next decision's caller tries again
	}
	r.stale, r.poisoned = false, false
}

// How long resync waits for the writer to recover before it reloads anyway.
const (
	resyncBarrierTries = 20
	resyncBarrierWait  = 500 * time.Millisecond
)

// order is the engine's view of a record.
func (rec satnaRecord) order() (rtgs.Order, error) {
	id, err := rtgs.ParseOrderID(rec.ID)
	if err != nil {
		return rtgs.Order{}, err
	}
	typ, _ := rtgs.ParseType(rec.Type)
	pr, _ := rtgs.ParsePriority(rec.Priority)
	o := rtgs.Order{ID: id, Type: typ, SenderBank: rec.SenderBank, ReceiverBank: rec.ReceiverBank, PayerSHEBA: rec.PayerSHEBA,
		PayerName: rec.PayerName, PayeeSHEBA: rec.PayeeSHEBA, PayeeName: rec.PayeeName, AmountRial: rec.AmountRial,
		Description: rec.Description, Reference: rec.Reference, Priority: pr, ReceivedAt: rec.ReceivedAt}
	if rec.EffectiveDate != "" {
		if o.EffectiveDate, err = calendar.ParseDate(rec.EffectiveDate); err != nil {
			return o, err
		}
	}
	return o, nil
}

// orderID is an order's id: derived from its sender and reference, so a repeat names the same order.
func orderID(bank, reference string) rtgs.OrderID {
	return rtgs.OrderID(ids.Derive("tasvieh.satna.order", bank, reference))
}

// rejection turns an engine rejection into the API's answer: the request alone shows it → 422 naming the
// field; otherwise nil (the caller stores a rejected order).
func stateless(r *rtgs.Rejection) error {
	if r == nil || !r.Code.Stateless() {
		return nil
	}
	msg := r.Message
	if r.Hint != "" {
		msg += " (" + r.Hint + ")"
	}
	return &api.Error{Code: r.Code.String(), Message: msg, Field: r.Field}
}

func init() {
	// Every engine code is an API code: stateless ones answer 422; the others are stored codes, 409 if ever
	// answered (irrevocable, order_closed are added by the api package itself).
	for c := rtgs.Code(1); ; c++ {
		name := c.String()
		if strings.HasPrefix(name, "Code(") {
			break
		}
		if _, err := rtgs.ParseCode(name); err != nil {
			break
		}
		if c.Stateless() {
			api.AddCode(name, 422)
		}
	}
}

func (r *satna) profileNow() (string, error) {
	p, err := r.s.profile(r.s.clk.Now())
	return p.Name, err
}

// SubmitOrder validates, stores and settles (or warehouses, or queues) a new order of bank.
func (r *satna) SubmitOrder(ctx context.Context, bank string, req api.SATNAOrderRequest) (api.SATNAOrder, bool, error) {
	s := r.s
	now := s.clk.Now()
	typ, err := rtgs.ParseType(req.Type)
	if err != nil {
		return api.SATNAOrder{}, false, api.FieldErrorf("type", "customer or interbank")
	}
	pr := rtgs.PriorityNormal
	if req.Priority != "" {
		if pr, err = rtgs.ParsePriority(req.Priority); err != nil {
			return api.SATNAOrder{}, false, api.FieldErrorf("priority", "urgent, high or normal")
		}
	}
	o := rtgs.Order{ID: orderID(bank, req.Reference), Type: typ, SenderBank: bank, ReceiverBank: req.ReceiverBank,
		PayerSHEBA: req.PayerSHEBA, PayerName: req.PayerName, PayeeSHEBA: req.PayeeSHEBA, PayeeName: req.PayeeName,
		AmountRial: req.AmountRial, Description: req.Description, Reference: req.Reference, Priority: pr, ReceivedAt: now}
	if req.EffectiveDate != "" {
		d, err := calendar.ParseDate(req.EffectiveDate)
		if err != nil {
			return api.SATNAOrder{}, false, &api.Error{Code: rtgs.CodeEffectiveDateInvalid.String(), Field: "effective_date", Message: err.Error()}
		}
		o.EffectiveDate = d
	}
	reg := s.world.registry()
	if typ == rtgs.TypeCustomer && o.ReceiverBank == "" {
		x, err := sheba.Parse(req.PayeeSHEBA, reg)
		var se *sheba.Error
		if errors.As(err, &se) && se.Code != sheba.CodeInactiveBank {
			return api.SATNAOrder{}, false, &api.Error{Code: rtgs.CodePayeeSHEBAInvalid.String(), Field: "payee_sheba",
				Message: fmt.Sprintf("payee_sheba: %s (%s)", se.Message, se.Code)}
		}
		code := ""
		if err == nil {
			code = x.BankCode()
		} else if len(req.PayeeSHEBA) >= 7 {
			code = strings.ReplaceAll(req.PayeeSHEBA, " ", "")[4:7]
		}
		routed, _ := reg.Route(code)
		o.ReceiverBank = routed.Code
	}

	// One submission of an order id at a time (a repeat waits for the first to be decided, then answers it);
	// different orders go on concurrently, and those that settle at once are decided in batches.
	release, err := r.inflight.claim(ctx, o.ID) // a second submission of the same id waits for the first to end
	if err != nil {
		return api.SATNAOrder{}, false, err
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	// The repeat look-up: for an order due now the batcher makes it, one query for its whole batch; the other
	// paths (a rejection, the warehouse) look up here, before they write.
	repeat := func() (api.SATNAOrder, bool, error) {
		old, ok, err := r.load(ctx, o.ID)
		if err != nil || !ok {
			return api.SATNAOrder{}, ok, err
		}
		if !sameRequest(old, o, req) {
			return api.SATNAOrder{}, true, api.Errorf(api.CodeReferenceReused, "reference %q was used for another order (%s)", req.Reference, old.ID).WithField("reference")
		}
		return old.SATNAOrder, true, nil
	}
	p, err := s.profile(now)
	if err != nil {
		return api.SATNAOrder{}, false, err
	}
	d, rej, err := rtgs.Validate(o, rtgs.Env{Banks: reg, Profile: p, Calendar: s.cal})
	if err != nil {
		return api.SATNAOrder{}, false, err
	}
	if e := stateless(rej); e != nil {
		if old, found, err := repeat(); found || err != nil {
			return old, false, err // a repeat of a stored order answers the original, whatever the rules say now
		}
		return api.SATNAOrder{}, false, e
	}
	if rej == nil {
		o = d.Order
	}
	rec := satnaRecord{SATNAOrder: api.SATNAOrder{ID: o.ID.String(), Type: o.Type.String(), SenderBank: o.SenderBank,
		ReceiverBank: o.ReceiverBank, PayerSHEBA: o.PayerSHEBA, PayerName: o.PayerName, PayeeSHEBA: o.PayeeSHEBA,
		PayeeName: o.PayeeName, AmountRial: o.AmountRial, FeeRial: d.FeeRial, Description: o.Description,
		Reference: o.Reference, Priority: o.Priority.String(), CreatedAt: now.In(calendar.Tehran)}, ReceivedAt: now}
	if !o.EffectiveDate.IsZero() {
		rec.EffectiveDate = o.EffectiveDate.String()
	}
	if rej != nil {
		if old, found, err := repeat(); found || err != nil {
			return old, false, err
		}
		rec.Status, rec.Code = "rejected", rej.Code.String()
		return rec.SATNAOrder, true, r.notice(ctx, rec, now)
	}
	after, warehoused, err := rtgs.Schedule(o, now, p, s.cal)
	if err != nil {
		return api.SATNAOrder{}, false, err
	}
	if warehoused {
		if old, found, err := repeat(); found || err != nil {
			return old, false, err
		}
		t := after.In(calendar.Tehran)
		rec.Status, rec.SettleAfter = "warehoused", &t
		rec.EffectiveDate = calendar.DateOf(t).String()
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.notice(ctx, rec, now); err != nil {
			return api.SATNAOrder{}, false, err
		}
		r.warehouse[o.ID] = rec
		return rec.SATNAOrder, true, nil
	}
	res := make(chan settleRes, 1)
	select {
	case r.submits <- settleReq{rec: rec, o: o, req: req, done: res}:
	case <-ctx.Done():
		return api.SATNAOrder{}, false, ctx.Err()
	}
	select {
	case out := <-res: // the batcher always answers: the order is decided, found to be a repeat, or its decision failed
		return out.out.SATNAOrder, !out.repeat, out.err
	case <-ctx.Done():
		// The caller's deadline: it is told the outcome is unknown (a repeat of the same reference is safe),
		// while the order keeps its claim until the batcher has answered, so that a repeat never enters a
		// batch while this one is still being decided.
		released = true
		go func() {
			<-res
			release()
		}()
		return api.SATNAOrder{}, false, api.Errorf(api.CodeOutcomeUnknown, "order %s is still being decided; repeat it with the same reference to learn its outcome", o.ID)
	}
}

// settleReq is an order due now, handed to the batcher; settleRes its outcome.
type settleReq struct {
	rec     satnaRecord
	o       rtgs.Order
	req     api.SATNAOrderRequest
	done    chan settleRes
	release bool // out of the warehouse at day open: its row exists, it is no repeat
}

type settleRes struct {
	out    satnaRecord
	repeat bool
	err    error
}

// submitBatchMax bounds one batch of orders decided together: one look-up of its repeats
// (postgres.RailObjectsMax ids), and three transfers, two events and a row each, well inside one request of
// the store (postgres.RequestTransfersMax 8,192; rows and events 16,384).
const submitBatchMax = postgres.RailObjectsMax

// batcher decides the orders due now in batches: as many as are waiting (up to submitBatchMax) in one
// decision of the writer, on its stable balances, so that the durable write is shared; a release and an
// offsetting pass follow each batch. It keeps up to satnaPipelineMax batches in flight: while one is being
// written, the next is decided on what the previous left (postgres.Store.DecideStart), so the rail's work
// and the database's overlap. It holds r.mu while any batch is in flight, and lets go after at most
// satnaHoldMax batches, so that the rail's other decisions (a revocation, the day's jobs) get their turn.
func (r *satna) batcher(ctx context.Context) {
	for {
		var first settleReq
		select {
		case <-ctx.Done():
			return
		case first = <-r.submits:
		}
		r.mu.Lock()
		r.resync(ctx)
		var flight []*batchRun
		var held []func()
		started := 0
		next := &first
		for next != nil || len(flight) > 0 {
			if next != nil && r.stale && len(flight) == 0 {
				// A decision failed or did not commit: the memory is rebuilt from the rows before anything
				// else is decided on it (the batches behind the failed one were refused with it).
				r.resync(ctx)
				if r.stale {
					next.done <- settleRes{err: errEarlierFailed}
					next = nil
					continue
				}
			}
			if next != nil && !r.stale {
				if run := r.startBatch(ctx, gather(*next, r.submits, submitBatchMax)); run != nil {
					flight = append(flight, run)
				}
				started++
				next = nil
			}
			more := r.submits
			if next != nil || r.stale || started >= satnaHoldMax || len(flight) >= satnaPipelineMax {
				more = nil // no new batch: end the oldest first
			}
			if len(flight) == 0 {
				if next == nil {
					select {
					case q := <-more:
						next = &q
					default:
					}
				}
				continue
			}
			select {
			case q := <-more:
				next = &q
			case <-flight[0].d.done:
				if answer := r.finishBatch(ctx, flight[0]); flight[0].big || flight[0].queued {
					held = append(held, answer)
				} else {
					answer()
				}
				flight = flight[1:]
			}
		}
		r.resync(ctx)
		r.afterDecisions(ctx)
		r.mu.Unlock()
		for _, answer := range held { // what the large set made of their orders is in the rows now
			answer()
		}
	}
}

// Pipelining of the batcher: batches in flight at once, and batches per hold of r.mu.
const (
	satnaPipelineMax = 3
	satnaHoldMax     = 16
)

// batchRun is a batch whose decision is in flight.
type batchRun struct {
	big    bool // a large offsetting set waits: answer once afterDecisions has settled it
	queued bool // it queued orders: answer once the batches behind it (which may release them) have ended
	batch  []settleReq
	outs   []satnaRecord
	still  []bool // per order queued: still queued when its decision ended (else an offsetting set took it)
	// per order: its row and notifications were written in the decision (a release rejected at day open)
	written []bool
	d       *decision
}

// startBatch answers the batch's repeats (one query for the whole batch: a repeat answers its original, or
// reference_reused, and takes no part in the decision) and starts the decision of the others. nil when
// nothing was left to decide or the decision could not start (its orders are answered).
func (r *satna) startBatch(ctx context.Context, batch []settleReq) *batchRun {
	ids := make([]string, len(batch))
	for i, q := range batch {
		ids[i] = q.rec.ID
	}
	found, err := postgres.RailObjectsByID(ctx, r.s.pool, kindSATNAOrder, ids)
	if err != nil {
		for _, q := range batch {
			q.done <- settleRes{err: err}
		}
		return nil
	}
	fresh := batch[:0:0]
	for _, q := range batch {
		row, ok := found[q.rec.ID]
		if !ok || q.release {
			fresh = append(fresh, q)
			continue
		}
		old, err := orderRecord(row)
		if err != nil {
			q.done <- settleRes{err: err}
			continue
		}
		if !sameRequest(old, q.o, q.req) {
			q.done <- settleRes{err: api.Errorf(api.CodeReferenceReused, "reference %q was used for another order (%s)", q.req.Reference, old.ID).WithField("reference")}
			continue
		}
		if old, err = r.presentMember(ctx, old); err != nil {
			q.done <- settleRes{err: err}
			continue
		}
		q.done <- settleRes{out: old, repeat: true}
	}
	if len(fresh) == 0 {
		return nil
	}
	run := &batchRun{batch: fresh, outs: make([]satnaRecord, len(fresh)), still: make([]bool, len(fresh)),
		written: make([]bool, len(fresh))}
	d, err := r.start(ctx, func(x *postgres.Decision) error {
		settled, queued := false, false
		for i, q := range run.batch {
			if q.release {
				if _, still := r.warehouse[q.o.ID]; !still { // revoked since: nothing to do
					run.outs[i] = q.rec
					run.outs[i].Status = "revoked"
					continue
				}
				delete(r.warehouse, q.o.ID)
				if rj := r.stillOpen(q.o); rj != nil {
					// Its row is written in this decision, with the memory it leaves (its notifications
					// once the decision commits): a failed write leaves both as they were.
					out := q.rec
					out.Status, out.Code, out.SettleAfter = "rejected", rj.Code.String(), nil
					run.outs[i], run.written[i] = out, true
					if err := r.writeIn(x, out); err != nil {
						return err
					}
					continue
				}
			}
			out, err := r.settleIn(x, q.rec, q.o, true)
			if err != nil {
				return err
			}
			run.outs[i] = out
			switch out.Status {
			case "queued":
				queued = true
				r.queued[q.o.ID] = out
				if err := x.Write(postgres.Row{Kind: kindSATNAOrder, ID: out.ID, Status: out.Status, Body: mustJSON(out)}); err != nil {
					return err
				}
			case "rejected":
			default:
				settled = true
			}
		}
		var err error
		switch {
		case settled:
			err = r.releaseIn(x) // ends with an offsetting pass
		case queued:
			err = r.offsetIn(x)
		}
		// Still here, on the writer's goroutine: which of the orders it queued an offsetting set took at once,
		// and whether a set too large for this decision waits for afterDecisions.
		for i, q := range run.batch {
			if run.outs[i].Status == "queued" {
				_, run.still[i] = r.queued[q.o.ID]
			}
		}
		run.big = r.bigSet != nil
		for i := range run.batch {
			run.queued = run.queued || run.outs[i].Status == "queued"
		}
		return err
	})
	if err != nil {
		for _, q := range fresh {
			q.done <- settleRes{err: storeErr(err)}
		}
		return nil
	}
	run.d = d
	return run
}

// finishBatch waits for a batch's decision, writes what it moved no money for (the notifications of the
// orders it queued, the rows and notifications of those it rejected) and answers every order. It touches
// no memory of the rail: the decisions behind it may be running.
func (r *satna) finishBatch(ctx context.Context, run *batchRun) (answer func()) {
	err := r.end(ctx, run.d)
	now := r.s.clk.Now()
	var rows []postgres.Row
	var events []outbox.Event
	var queued []postgres.GuardedEvent
	flush := func() {
		if err == nil && len(rows)+len(events) > 0 {
			err = postgres.Notice(ctx, r.s.pool, now, rows, events)
		}
		if err == nil && len(queued) > 0 {
			// Only while still queued: a later decision (this batch's own release, or the next batch, decided
			// on what this one left) may have settled it and told both banks already.
			err = postgres.NoticeWhile(ctx, r.s.pool, now, queued)
		}
		rows, events, queued = nil, nil, nil
	}
	for i := range run.batch {
		if err != nil {
			break
		}
		out := run.outs[i]
		switch out.Status {
		case "queued":
			for _, e := range r.events(out, now) {
				queued = append(queued, postgres.GuardedEvent{Event: e, Kind: kindSATNAOrder, ID: out.ID, Status: "queued"})
			}
		case "rejected":
			if run.written[i] {
				break
			}
			rows = append(rows, postgres.Row{Kind: kindSATNAOrder, ID: out.ID, Status: out.Status, Body: mustJSON(out)})
			events = append(events, r.events(out, now)...)
		}
		if len(rows)+len(events)+len(queued) > postgres.NoticesMax-4 {
			flush()
		}
	}
	flush()
	r.s.relay.Notify()
	r.s.deliver.Kick()
	return func() {
		for i, q := range run.batch {
			if err == nil && run.outs[i].Status == "queued" {
				// Perhaps taken since: by an offsetting set of this decision, by the large set after it, or by
				// a release of the next batch, decided on what this one left. Answer what the order is now.
				if latest, found, lerr := r.load(ctx, q.o.ID); lerr == nil && found {
					run.outs[i] = latest
				}
			}
			q.done <- settleRes{out: run.outs[i], err: err}
		}
	}
}

// sameRequest reports whether a repeat carries the original's fields.
func sameRequest(old satnaRecord, o rtgs.Order, req api.SATNAOrderRequest) bool {
	canon := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }
	pr := req.Priority
	if pr == "" {
		pr = "normal"
	}
	eff := ""
	if !o.EffectiveDate.IsZero() {
		eff = o.EffectiveDate.String()
	}
	return old.Type == req.Type && old.ReceiverBank == o.ReceiverBank && canon(old.PayerSHEBA) == canon(req.PayerSHEBA) &&
		canon(old.PayeeSHEBA) == canon(req.PayeeSHEBA) && old.PayerName == req.PayerName && old.PayeeName == req.PayeeName &&
		old.AmountRial == req.AmountRial && old.Description == req.Description && old.Priority == pr &&
		(eff == "" || old.EffectiveDate == eff)
}

func (r *satna) load(ctx context.Context, id rtgs.OrderID) (satnaRecord, bool, error) {
	o, ok, err := r.s.store.RailObject(ctx, kindSATNAOrder, id.String())
	if err != nil || !ok {
		return satnaRecord{}, ok, err
	}
	rec, err := orderRecord(o)
	return rec, err == nil, err
}

// events are an order's notifications to both its banks for its current status.
func (r *satna) events(rec satnaRecord, at time.Time) []outbox.Event {
	var out []outbox.Event
	payload := json.RawMessage(mustJSON(rec.SATNAOrder)) // once for both banks
	for _, b := range []string{rec.SenderBank, rec.ReceiverBank} {
		typ := "satna.order." + rec.Status
		if b == rec.ReceiverBank && rec.Status == "settled" && rec.ReturnOf == "" && rec.Type == "customer" && !r.s.world.live(b) {
			// An external receiving bank is told what arrived, and answers credit or return.
			typ = "satna.order.incoming"
		}
		if r.s.world.isMember(b) {
			out = append(out, notification(b, typ, at, payload, rec.ID, rec.Status))
		}
	}
	return out
}

// CreditOrder is an external receiving bank's answer: it credited the payee. The order ends credited.
func (r *satna) CreditOrder(ctx context.Context, bank, id string) (api.SATNAOrder, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.answerable(ctx, bank, id)
	if err != nil {
		return api.SATNAOrder{}, err
	}
	rec.Status = "credited"
	return rec.SATNAOrder, r.notice(ctx, rec, r.s.clk.Now())
}

// ReturnOrder is an external receiving bank's answer: it could not credit the payee, and returns the funds
// less the rulebook's return fee (which it keeps), as a return order linked to the original.
func (r *satna) ReturnOrder(ctx context.Context, bank, id, reason string) (api.SATNAOrder, error) {
	if err := api.Text("reason", reason, 140); err != nil {
		return api.SATNAOrder{}, err
	}
	if reason == "" {
		return api.SATNAOrder{}, api.FieldErrorf("reason", "say why the credit cannot be posted")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.answerable(ctx, bank, id)
	if err != nil {
		return api.SATNAOrder{}, err
	}
	o, err := rec.order()
	if err != nil {
		return api.SATNAOrder{}, err
	}
	var out satnaRecord
	err = r.decide(ctx, func(x *postgres.Decision) error {
		var err error
		out, _, err = r.returnIn(x, rec, o, reason)
		return err
	})
	r.s.relay.Notify()
	r.s.deliver.Kick()
	return out.SATNAOrder, err
}

// answerable is an order the calling external bank received, settled and not yet answered, within its
// return deadline (rtgs.ReturnDeadline: the end of the next business day in seed).
func (r *satna) answerable(ctx context.Context, bank, id string) (satnaRecord, error) {
	rec, _, err := r.visible(ctx, bank, id)
	if err != nil {
		return rec, err
	}
	switch {
	case rec.ReceiverBank != bank:
		return rec, api.Errorf(api.CodeNotFound, "no such order received by you")
	case r.s.world.live(bank):
		return rec, api.Errorf(api.CodeConflict, "bank %s is simulated: tasvieh answers for it", bank)
	case rec.Type != "customer" || rec.ReturnOf != "":
		return rec, api.Errorf(api.CodeConflict, "order %s credits no customer of yours", rec.ID)
	case rec.Status != "settled":
		return rec, api.Errorf(api.CodeOrderClosed, "order %s is %s", rec.ID, rec.Status)
	}
	p, err := r.s.profile(r.s.clk.Now())
	if err != nil {
		return rec, err
	}
	deadline, err := rtgs.ReturnDeadline(*rec.SettledAt, p, r.s.cal)
	if err != nil {
		return rec, err
	}
	if r.s.clk.Now().After(deadline) {
		return rec, api.Errorf(api.CodeAnswerLate, "the answer was due by %s: the order is final at the receiving bank", jalaliOf(deadline))
	}
	return rec, nil
}

// notice writes a status change that moves no money (warehoused, queued, rejected, revoked, cancelled).
func (r *satna) notice(ctx context.Context, rec satnaRecord, at time.Time) error {
	row := postgres.Row{Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)}
	if err := postgres.Notice(ctx, r.s.pool, at, []postgres.Row{row}, r.events(rec, at)); err != nil {
		return err
	}
	r.s.deliver.Kick()
	return nil
}

// legs builds an order's chain: payer → mirror in the sender's book (when simulated), settlement to
// settlement at the CBI, mirror → payee (or → suspense when the payee cannot be credited) in the receiver's
// book (when simulated). It answers the status the order will have: credited when the payee is credited in
// the chain, settled otherwise.
func (r *satna) legs(x *postgres.Decision, rec satnaRecord) ([]ledger.Transfer, string, string, []mirrorNet) {
	w := r.s.world
	id := ledger.ID(ids.Derive("tasvieh.satna.transfer", rec.ID))
	leg := func(name string) ledger.ID { return ledger.ID(deriveFrom(id, name)) }
	var t []ledger.Transfer
	ref := cutBytes(rec.Reference, ledger.ReferenceLenMax)
	var nets []mirrorNet
	if rec.Type == "interbank" && w.live(rec.SenderBank) {
		// The bank's own money: its book's mirror follows its settlement account, against its equity — once per
		// decision, net of all its interbank orders in it (mirrorNets), not once per order.
		nets = append(nets, mirrorNet{rec.SenderBank, -rec.AmountRial})
	}
	if rec.Type == "customer" && w.live(rec.SenderBank) {
		book := BookLedger(rec.SenderBank)
		payer := AccountID(book, rec.PayerSHEBA)
		t = append(t, ledger.Transfer{ID: leg("payer"), DebitAccountID: payer, CreditAccountID: AccountID(book, KeyMirror),
			Amount: rec.AmountRial, Ledger: book, Code: CodeSATNAOrder, Reference: ref})
		if rec.FeeRial > 0 {
			t = append(t, ledger.Transfer{ID: leg("fee"), DebitAccountID: payer, CreditAccountID: AccountID(book, KeyFee),
				Amount: rec.FeeRial, Ledger: book, Code: CodeSATNAFee, Reference: ref})
		}
	}
	t = append(t, ledger.Transfer{ID: id, DebitAccountID: AccountID(ledger.LedgerCBI, KeySettlement(rec.SenderBank)),
		CreditAccountID: AccountID(ledger.LedgerCBI, KeySettlement(rec.ReceiverBank)), Amount: rec.AmountRial,
		Ledger: ledger.LedgerCBI, Code: CodeSATNAOrder, Reference: ref})
	status, reason := "settled", ""
	if w.live(rec.ReceiverBank) && rec.Type == "interbank" {
		nets = append(nets, mirrorNet{rec.ReceiverBank, rec.AmountRial})
	}
	if w.live(rec.ReceiverBank) && rec.Type == "customer" {
		book := BookLedger(rec.ReceiverBank)
		var to ledger.ID
		to, status, reason = payeeAccount(x, book, rec.PayeeSHEBA)
		t = append(t, ledger.Transfer{ID: leg("payee"), DebitAccountID: AccountID(book, KeyMirror), CreditAccountID: to,
			Amount: rec.AmountRial, Ledger: book, Code: CodeSATNAOrder, Reference: ref})
	}
	for i := range t[:len(t)-1] {
		t[i].Flags |= ledger.FlagLinked
	}
	return t, status, reason, nets
}

// payeeAccount is where a customer order's money goes in the receiving bank's book: the payee's account
// (credited), or the suspense account with why the payee cannot be credited (settled, to be returned).
func payeeAccount(x *postgres.Decision, book ledger.LedgerID, sheba string) (ledger.ID, string, string) {
	a, ok := x.AccountByKey(book, sheba)
	switch {
	case !ok:
		return AccountID(book, KeySuspense), "settled", "account_not_found"
	case a.Flags&ledger.FlagClosed != 0:
		return AccountID(book, KeySuspense), "settled", "account_closed"
	case a.Flags&ledger.FlagBlocked != 0:
		return AccountID(book, KeySuspense), "settled", "account_blocked"
	}
	return a.ID, "credited", ""
}

// mirrorNet is how much an interbank order moves a simulated bank's mirror: positive when its settlement
// account is credited (the mirror debited), negative when debited.
type mirrorNet struct {
	bank string
	rial int64
}

// addNets records an applied order's mirror movements for the decision's end (flushNets). On the writer's
// goroutine.
func (r *satna) addNets(nets []mirrorNet, order string) {
	for _, n := range nets {
		if r.nets == nil {
			r.nets, r.netsSeed = map[string]int64{}, order
		}
		r.nets[n.bank] += n.rial
	}
}

// flushNets ends a decision that settled interbank orders: each simulated bank's mirror follows its
// settlement account by the net of those orders, against its equity, in one transfer per bank — so the
// mirror equals the settlement account again before anything else is decided, in the same batch, and an
// interbank order costs one transfer (settlement to settlement) rather than three. The transfers' ids are
// derived from the decision's first such order, which settles once. It runs whether or not the decision
// failed part way: what was applied stays applied, and its mirrors must follow.
func (r *satna) flushNets(x *postgres.Decision) error {
	if len(r.nets) == 0 {
		return nil
	}
	defer func() { r.nets, r.netsSeed = nil, "" }()
	var t []ledger.Transfer
	for _, bank := range slices.Sorted(maps.Keys(r.nets)) {
		v := r.nets[bank]
		if v == 0 {
			continue
		}
		book := BookLedger(bank)
		mirror, equity := AccountID(book, KeyMirror), AccountID(book, KeyEquity)
		tr := ledger.Transfer{ID: ledger.ID(ids.Derive("tasvieh.satna.mirror-net", r.netsSeed, bank)), DebitAccountID: mirror,
			CreditAccountID: equity, Amount: v, Ledger: book, Code: CodeSATNAMirrorNet, Reference: "satna interbank net"}
		if v < 0 {
			tr.DebitAccountID, tr.CreditAccountID, tr.Amount = equity, mirror, -v
		}
		t = append(t, tr)
	}
	for len(t) > 0 { // at most one per bank: 1,000 codes fit one request, but stay within its bound anyway
		n := min(len(t), postgres.RequestTransfersMax)
		res, ok, err := x.Propose(postgres.Submission{Transfers: t[:n]})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("server: satna: mirror nets refused: %v", res)
		}
		t = t[n:]
	}
	return nil
}

// settleOrQueue settles an order at once when its sender's settlement account covers it, else queues it.
// The payer's own balance is its bank's business: a simulated payer who cannot cover the amount and fee has
// the order rejected (payer_insufficient_funds).
func (r *satna) settleOrQueue(ctx context.Context, rec satnaRecord, o rtgs.Order) (satnaRecord, error) {
	var out satnaRecord
	err := r.decide(ctx, func(x *postgres.Decision) error {
		var err error
		if out, err = r.settleIn(x, rec, o, true); err != nil {
			return err
		}
		switch out.Status {
		case "queued":
			// Queued in the batch itself, so that an offsetting set that takes it at once (the order that
			// closes a gridlock) writes its later status over this one, never under it.
			r.queued[o.ID] = out
			if err := x.Write(postgres.Row{Kind: kindSATNAOrder, ID: out.ID, Status: out.Status, Body: mustJSON(out)}); err != nil {
				return err
			}
			return r.offsetIn(x)
		case "rejected":
			return nil
		}
		return r.releaseIn(x)
	})
	if err != nil {
		return out, err
	}
	switch out.Status {
	case "queued":
		// The notifications of its queuing (the row is written), while it is still queued: a set that settled
		// it told its own.
		var queued []postgres.GuardedEvent
		for _, e := range r.events(out, r.s.clk.Now()) {
			queued = append(queued, postgres.GuardedEvent{Event: e, Kind: kindSATNAOrder, ID: out.ID, Status: "queued"})
		}
		if err := postgres.NoticeWhile(ctx, r.s.pool, r.s.clk.Now(), queued); err != nil {
			return out, err
		}
		if _, still := r.queued[o.ID]; !still { // settled at once by an offsetting set: answer what it is now
			if latest, found, err := r.load(ctx, o.ID); err == nil && found {
				out = latest
			}
		}
	case "rejected":
		if err := r.notice(ctx, out, r.s.clk.Now()); err != nil {
			return out, err
		}
	}
	r.s.relay.Notify()
	r.s.deliver.Kick()
	return out, nil
}

// settleIn decides one order on the writer's stable balances and proposes its chain with its row and events.
// queue says what to do when the sender is short: queue it (a new order) or leave it (a release attempt).
func (r *satna) settleIn(x *postgres.Decision, rec satnaRecord, o rtgs.Order, queue bool) (satnaRecord, error) {
	settle, ok := x.Account(AccountID(ledger.LedgerCBI, KeySettlement(rec.SenderBank)))
	if !ok {
		return rec, fmt.Errorf("server: satna: no settlement account for %s", rec.SenderBank)
	}
	if rec.Type == "customer" && r.s.world.live(rec.SenderBank) {
		payer, ok := x.AccountByKey(BookLedger(rec.SenderBank), rec.PayerSHEBA)
		if !ok || payer.Available() < rec.AmountRial+rec.FeeRial || payer.Flags&(ledger.FlagBlocked|ledger.FlagClosed) != 0 {
			rec.Status, rec.Code = "rejected", "payer_insufficient_funds"
			if ok && payer.Flags&(ledger.FlagBlocked|ledger.FlagClosed) != 0 {
				rec.Code = "payer_account_unavailable"
			}
			return rec, nil
		}
	}
	if settle.Available() < rec.AmountRial {
		if !queue {
			return rec, nil
		}
		if err := r.queue.Add(o); err != nil {
			rec.Status, rec.Code = "rejected", rtgs.CodeQueueFull.String()
			return rec, nil
		}
		rec.Status = "queued"
		return rec, nil
	}
	t, status, reason, nets := r.legs(x, rec)
	now := x.Now().In(calendar.Tehran)
	rec.Status, rec.Reason, rec.SettledAt, rec.SettleAfter = status, reason, &now, nil
	evs := r.events(rec, now)
	sub := postgres.Submission{Transfers: t, Rows: []postgres.Row{{Transfer: t[0].ID, Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)}}}
	for _, e := range evs {
		sub.Events = append(sub.Events, postgres.Event{Transfer: t[0].ID, Topic: e.Topic, Key: e.Key, Type: e.Type, Payload: e.Payload})
	}
	res, ok, err := x.Propose(sub)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, fmt.Errorf("server: satna: order %s's chain refused: %v", rec.ID, res)
	}
	r.addNets(nets, rec.ID)
	if reason != "" && rec.Type == "customer" && rec.ReturnOf == "" {
		return r.returnOrDue(x, rec, o, reason)
	}
	return rec, nil
}

// returnOrDue returns a credit the simulated receiver could not post, or, when its settlement account cannot
// fund the return yet, marks it due (in the same batch) to be tried again as balances rise.
func (r *satna) returnOrDue(x *postgres.Decision, rec satnaRecord, o rtgs.Order, reason string) (satnaRecord, error) {
	out, funded, err := r.returnIn(x, rec, o, reason)
	if err != nil || funded {
		return out, err
	}
	if _, already := r.due[o.ID]; already {
		return rec, nil // still due: its row says so
	}
	r.due[o.ID] = rec
	return rec, x.Write(postgres.Row{Kind: kindReturnDue, ID: rec.ID, Status: "due", Body: mustJSON(rec)})
}

// returnIn sends a credit the simulated receiving bank could not post (its payee blocked, closed or unknown:
// the money sits in its suspense) back to the sender less the rulebook's return fee, as a return order linked
// to the original, in the same batch: well inside "by the end of the next business day". The fee stays with
// the receiving bank. The original ends returned; the return is credited to the original payer.
func (r *satna) returnIn(x *postgres.Decision, rec satnaRecord, o rtgs.Order, reason string) (satnaRecord, bool, error) {
	p, err := r.s.profile(x.Now())
	if err != nil {
		return rec, false, err
	}
	now := x.Now().In(calendar.Tehran)
	retID := rtgs.OrderID(ids.Derive("tasvieh.satna.return", rec.ID))
	ref := cutRunes("return of "+rec.Reference, rtgs.ReferenceLenMax)
	ret, err := rtgs.NewReturn(o, retID, ref, reason, now, p)
	if err != nil {
		return rec, true, nil // nothing can go back (the fee takes it all): the funds stay where they are, the order settled
	}
	fee := rec.AmountRial - ret.AmountRial
	w := r.s.world
	tid := ledger.ID(ids.Derive("tasvieh.satna.transfer", retID.String()))
	leg := func(name string) ledger.ID { return ledger.ID(deriveFrom(tid, name)) }
	book := BookLedger(rec.ReceiverBank)
	var t []ledger.Transfer
	if w.live(rec.ReceiverBank) { // an external receiver keeps the fee on its settlement account, outside tasvieh
		t = append(t, ledger.Transfer{ID: leg("suspense"), DebitAccountID: AccountID(book, KeySuspense), CreditAccountID: AccountID(book, KeyMirror),
			Amount: ret.AmountRial, Ledger: book, Code: CodeSATNAReturn, Reference: "return"})
		if fee > 0 {
			t = append(t, ledger.Transfer{ID: leg("fee"), DebitAccountID: AccountID(book, KeySuspense), CreditAccountID: AccountID(book, KeyFee),
				Amount: fee, Ledger: book, Code: CodeSATNAReturnFee, Reference: "return fee"})
		}
	}
	t = append(t, ledger.Transfer{ID: tid, DebitAccountID: AccountID(ledger.LedgerCBI, KeySettlement(rec.ReceiverBank)),
		CreditAccountID: AccountID(ledger.LedgerCBI, KeySettlement(rec.SenderBank)), Amount: ret.AmountRial,
		Ledger: ledger.LedgerCBI, Code: CodeSATNAReturn, Reference: "return"})
	retStatus := "settled"
	if w.live(rec.SenderBank) {
		sbook := BookLedger(rec.SenderBank)
		to := AccountID(sbook, KeySuspense)
		if a, ok := x.AccountByKey(sbook, rec.PayerSHEBA); ok && a.Flags&(ledger.FlagBlocked|ledger.FlagClosed) == 0 {
			to, retStatus = a.ID, "credited"
		}
		t = append(t, ledger.Transfer{ID: leg("payer"), DebitAccountID: AccountID(sbook, KeyMirror), CreditAccountID: to,
			Amount: ret.AmountRial, Ledger: sbook, Code: CodeSATNAReturn, Reference: "return"})
	}
	for i := range t[:len(t)-1] {
		t[i].Flags |= ledger.FlagLinked
	}
	retRec := satnaRecord{SATNAOrder: api.SATNAOrder{ID: retID.String(), Type: "customer", Status: retStatus,
		SenderBank: ret.SenderBank, ReceiverBank: ret.ReceiverBank, PayerSHEBA: ret.PayerSHEBA, PayerName: ret.PayerName,
		PayeeSHEBA: ret.PayeeSHEBA, PayeeName: ret.PayeeName, AmountRial: ret.AmountRial, FeeRial: fee,
		Description: ret.Description, Reference: ret.Reference, Priority: ret.Priority.String(), SettledAt: &now,
		ReturnOf: rec.ID, Reason: reason, CreatedAt: now}, ReceivedAt: now}
	rec.Status, rec.ReturnedBy = "returned", retRec.ID
	sub := postgres.Submission{Transfers: t, Rows: []postgres.Row{
		{Transfer: t[0].ID, Kind: kindSATNAOrder, ID: retRec.ID, Status: retRec.Status, Body: mustJSON(retRec)},
		{Transfer: t[0].ID, Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)}}}
	for _, e := range append(r.events(retRec, now), r.events(rec, now)...) {
		sub.Events = append(sub.Events, postgres.Event{Transfer: t[0].ID, Topic: e.Topic, Key: e.Key, Type: e.Type, Payload: e.Payload})
	}
	if a, _ := x.Account(AccountID(ledger.LedgerCBI, KeySettlement(rec.ReceiverBank))); a.Available() < ret.AmountRial {
		if !w.live(rec.ReceiverBank) {
			return rec, false, api.Errorf(api.CodeInsufficientFunds, "your settlement account cannot cover the return of %s", rec.ID)
		}
		return rec, false, nil
	}
	if _, wasDue := r.due[o.ID]; wasDue {
		sub.Rows = append(sub.Rows, postgres.Row{Transfer: t[0].ID, Kind: kindReturnDue, ID: rec.ID, Status: "done", Body: mustJSON(rec)})
	}
	res, ok, err := x.Propose(sub)
	if err != nil {
		return rec, false, err
	}
	if !ok {
		return rec, false, fmt.Errorf("server: satna: return of %s refused: %v", rec.ID, res)
	}
	delete(r.due, o.ID)
	return rec, true, nil
}

// releaseIn settles, in the queue's order, every queued order its sender can now cover, and the returns that
// were due. The engine's Release assumes each order it hands out settles (and credits its receiver); an order
// whose payer can no longer cover it is rejected instead, which breaks that assumption for the orders after
// it: those that then cannot settle go back to the queue, and the pass runs again.
func (r *satna) releaseIn(x *postgres.Decision) error {
	for _, rec := range r.due {
		o, err := rec.order()
		if err != nil {
			return err
		}
		if _, err := r.returnOrDue(x, rec, o, rec.Reason); err != nil {
			return err
		}
	}
	balance := func(bank string) int64 {
		a, _ := x.Account(AccountID(ledger.LedgerCBI, KeySettlement(bank)))
		return a.Available()
	}
	for pass := 0; r.queue.Len() > 0 && pass <= r.queue.Len(); pass++ {
		again := false
		for _, o := range r.queue.Release(balance) {
			rec := r.queued[o.ID]
			if rej := r.stillOpen(o); rej != nil {
				delete(r.queued, o.ID)
				rec.Status, rec.Code = "rejected", rej.Code.String()
				if err := r.writeIn(x, rec); err != nil {
					return err
				}
				again = true
				continue
			}
			out, err := r.settleIn(x, rec, o, false)
			if err != nil {
				return err
			}
			switch out.Status {
			case "queued": // short after all: back in its place
				if err := r.queue.Add(o); err != nil {
					return err
				}
			case "rejected": // the payer could no longer cover it
				delete(r.queued, o.ID)
				if err := r.writeIn(x, out); err != nil {
					return err
				}
				again = true
			default:
				delete(r.queued, o.ID)
			}
		}
		if !again {
			break
		}
	}
	return r.offsetIn(x)
}

// deferLarge keeps an offsetting set too large for one request queued for now: the holder of r.mu settles
// it in two stages once this decision has ended (afterDecisions, satna_offset.go).
func (r *satna) deferLarge(set []rtgs.Order) error {
	r.bigSet = slices.Clone(set)
	for _, o := range set {
		if err := r.queue.Add(o); err != nil {
			return err
		}
	}
	return nil
}

// writeIn writes a status change that moves no money inside a decision, with its notifications.
func (r *satna) writeIn(x *postgres.Decision, rec satnaRecord) error {
	if err := x.Write(postgres.Row{Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)}); err != nil {
		return err
	}
	return r.pendingNotices(rec, x.Now())
}

// pendingNotices queues an order's notifications to be written after the decision commits (a decision writes
// rows, while events move with transfers or notices).
func (r *satna) pendingNotices(rec satnaRecord, at time.Time) error {
	r.later = append(r.later, r.events(rec, at)...)
	return nil
}

// offsetIn resolves gridlock: when queued orders among banks cannot settle one by one, the engine's Offset
// picks the set whose every bank is covered on its net (taking out the largest short bank's latest,
// lowest-priority orders first), and the set settles as ONE netted chain (ledger.FlagNet): all or nothing,
// its floors checked on the net effect, its statuses and events in the same batch. A set whose chain would
// exceed one request (postgres.RequestTransfersMax transfers) stays queued, and so does a set one of whose
// simulated payers cannot cover its own order: both are logged.
func (r *satna) offsetIn(x *postgres.Decision) error {
	if r.queue.Len() < 2 {
		return nil
	}
	balances := map[string]int64{}
	for _, o := range r.queue.Orders() {
		for _, b := range []string{o.SenderBank, o.ReceiverBank} {
			if _, ok := balances[b]; !ok {
				a, _ := x.Account(AccountID(ledger.LedgerCBI, KeySettlement(b)))
				balances[b] = a.Available()
			}
		}
	}
	set := r.queue.Offset(balances)
	if len(set) == 0 {
		return nil
	}
	putBack := func(why string) error {
		for _, o := range set {
			if err := r.queue.Add(o); err != nil {
				return err
			}
		}
		r.s.log.Warn("server: satna: an offsetting set stays queued", "orders", len(set), "why", why)
		return nil
	}
	// At most four transfers an order (an interbank order has one): a set that may not fit one request takes
	// the two-stage path at once, without building a chain it could not propose.
	bound := 0
	for _, o := range set {
		bound++
		if o.Type == rtgs.TypeCustomer {
			bound += 3
		}
	}
	if bound > postgres.RequestTransfersMax {
		return r.deferLarge(set)
	}
	now := x.Now().In(calendar.Tehran)
	var chain []ledger.Transfer
	recs := make([]satnaRecord, len(set))
	reasons := make([]string, len(set))
	var setNets []mirrorNet
	paying := map[string]int64{}
	for i, o := range set {
		rec := r.queued[o.ID]
		if rec.Type == "customer" && r.s.world.live(rec.SenderBank) {
			paying[rec.PayerSHEBA] += rec.AmountRial + rec.FeeRial
			payer, ok := x.AccountByKey(BookLedger(rec.SenderBank), rec.PayerSHEBA)
			if !ok || payer.Available() < paying[rec.PayerSHEBA] {
				return putBack("a payer cannot cover its order")
			}
		}
		t, status, reason, nets := r.legs(x, rec)
		t[len(t)-1].Flags |= ledger.FlagLinked
		chain = append(chain, t...)
		setNets = append(setNets, nets...)
		rec.Status, rec.Reason, rec.SettledAt = status, reason, &now
		recs[i], reasons[i] = rec, reason
	}
	if len(chain) > postgres.RequestTransfersMax {
		return r.deferLarge(set)
	}
	chain[len(chain)-1].Flags &^= ledger.FlagLinked
	for i := range chain {
		chain[i].Flags |= ledger.FlagNet
	}
	sub := postgres.Submission{Transfers: chain}
	for _, rec := range recs {
		sub.Rows = append(sub.Rows, postgres.Row{Transfer: chain[0].ID, Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)})
		for _, e := range r.events(rec, now) {
			sub.Events = append(sub.Events, postgres.Event{Transfer: chain[0].ID, Topic: e.Topic, Key: e.Key, Type: e.Type, Payload: e.Payload})
		}
	}
	res, ok, err := x.Propose(sub)
	if err != nil {
		return err
	}
	if !ok {
		return putBack(fmt.Sprint("the ledger refused the netted chain: ", res))
	}
	r.addNets(setNets, recs[0].ID)
	for i, o := range set {
		delete(r.queued, o.ID)
		if reasons[i] != "" && recs[i].Type == "customer" {
			if _, err := r.returnOrDue(x, recs[i], o, reasons[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// release is a release attempt after a sender's balance rose (an injection of liquidity).
func (r *satna) release(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.decide(ctx, r.releaseIn)
	r.afterDecisions(ctx)
	return err
}

// dayOpen releases the warehouse: every order whose business day opens at or before at, in the order they
// were received, through the batcher (so that a holiday's worth of orders settles in shared decisions, not
// one decision each). The state checks run again on release: a bank suspended since rejects its orders.
func (r *satna) dayOpen(ctx context.Context, _ calendar.Date, at time.Time) error {
	r.mu.Lock()
	var due []satnaRecord
	for _, rec := range r.warehouse {
		if rec.SettleAfter != nil && !rec.SettleAfter.After(at) {
			due = append(due, rec)
		}
	}
	r.mu.Unlock()
	sort.Slice(due, func(i, j int) bool {
		if !due[i].ReceivedAt.Equal(due[j].ReceivedAt) {
			return due[i].ReceivedAt.Before(due[j].ReceivedAt)
		}
		return due[i].ID < due[j].ID
	})
	results := make([]chan settleRes, 0, len(due))
	for _, rec := range due {
		o, err := rec.order()
		if err != nil {
			return err
		}
		res := make(chan settleRes, 1)
		select {
		case r.submits <- settleReq{rec: rec, o: o, done: res, release: true}:
			results = append(results, res)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var first error
	for _, res := range results {
		if out := <-res; out.err != nil && first == nil {
			first = out.err // still warehoused: the job's retry releases it
		}
	}
	return first
}

// dayClose cancels every order still queued at end of day, and tells its sender why.
func (r *satna) dayClose(ctx context.Context, _ calendar.Date, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.queue.Orders() {
		rec := r.queued[o.ID]
		rec.Status, rec.Code = "cancelled_eod", rtgs.CodeInsufficientLiquidityAtCutoff.String()
		if err := r.notice(ctx, rec, at); err != nil {
			return err // what is written is cancelled; the rest stays queued, and the job's retry goes on
		}
		r.queue.Revoke(o.ID)
		delete(r.queued, o.ID)
	}
	return nil
}

// visible answers an order that concerns bank, as sender or receiver; another bank's is not found.
func (r *satna) visible(ctx context.Context, bank, id string) (satnaRecord, rtgs.OrderID, error) {
	oid, err := rtgs.ParseOrderID(id)
	if err != nil {
		return satnaRecord{}, oid, api.Errorf(api.CodeNotFound, "no such order")
	}
	rec, ok, err := r.load(ctx, oid)
	if err != nil {
		return rec, oid, err
	}
	if !ok || (rec.SenderBank != bank && rec.ReceiverBank != bank) {
		return rec, oid, api.Errorf(api.CodeNotFound, "no such order")
	}
	rec, err = r.presentMember(ctx, rec)
	return rec, oid, err
}

func (r *satna) SATNAOrder(ctx context.Context, bank, id string) (api.SATNAOrder, error) {
	rec, _, err := r.visible(ctx, bank, id)
	return rec.SATNAOrder, err
}

func (r *satna) RevokeOrder(ctx context.Context, bank, id string) (api.SATNAOrder, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, oid, err := r.visible(ctx, bank, id)
	if err != nil {
		return api.SATNAOrder{}, err
	}
	if rec.SenderBank != bank {
		return api.SATNAOrder{}, api.Errorf(api.CodeNotFound, "no such order of yours") // only its sender revokes
	}
	st, _ := rtgs.ParseStatus(rec.Status)
	if r.offsetMember(rec.ID) {
		st = rtgs.StatusSettled // final at the CBI in an offsetting set whose book legs are still to come
	}
	switch rtgs.Revoke(st) {
	case rtgs.CodeOK:
	case rtgs.CodeIrrevocable:
		return api.SATNAOrder{}, api.Errorf(api.CodeIrrevocable, "order %s is %s: settlement is final; only a new order the other way moves the money back", rec.ID, rec.Status)
	default:
		return api.SATNAOrder{}, api.Errorf(api.CodeOrderClosed, "order %s is already %s", rec.ID, rec.Status)
	}
	rec.Status, rec.SettleAfter = "revoked", nil
	if err := r.notice(ctx, rec, r.s.clk.Now()); err != nil {
		return api.SATNAOrder{}, err // written first: memory changes only once the row says revoked
	}
	r.queue.Revoke(oid)
	delete(r.queued, oid)
	delete(r.warehouse, oid)
	return rec.SATNAOrder, nil
}

func (r *satna) SATNAOrders(ctx context.Context, bank, status, direction, cursor string, limit int) (api.SATNAOrderPage, error) {
	field, values := "", []string(nil) // both directions: every order, filtered below
	switch direction {
	case "out":
		field, values = "sender_bank", []string{bank}
	case "in":
		field, values = "receiver_bank", []string{bank}
	}
	var statuses []string
	if status != "" {
		statuses = []string{status}
	}
	var out api.SATNAOrderPage
	out.Orders = []api.SATNAOrder{}
	after := cursor
	for len(out.Orders) < limit {
		rows, err := postgres.RailObjectsWhere(ctx, r.s.pool, kindSATNAOrder, field, values, statuses, after, postgres.RailObjectsMax)
		if err != nil {
			return out, err
		}
		for _, row := range rows {
			rec, err := orderRecord(row)
			if err != nil {
				return out, err
			}
			if direction == "" && rec.SenderBank != bank && rec.ReceiverBank != bank {
				continue
			}
			if rec, err = r.presentMember(ctx, rec); err != nil {
				return out, err
			}
			out.Orders = append(out.Orders, rec.SATNAOrder)
			after = row.ID
			if len(out.Orders) == limit {
				out.NextCursor = after
				return out, nil
			}
		}
		if len(rows) < postgres.RailObjectsMax {
			break
		}
		after = rows[len(rows)-1].ID
	}
	return out, nil
}

func (r *satna) SATNAQueue(ctx context.Context) ([]api.SATNAOrder, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []api.SATNAOrder{}
	for _, rec := range r.queued {
		out = append(out, rec.SATNAOrder)
	}
	for _, rec := range r.warehouse {
		out = append(out, rec.SATNAOrder)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].ID < out[j].ID
	})
	return out, nil
}

// Positions is every member's settlement position over a Tehran day (today by default): its statement's
// opening and closing balances and count of movements, and what it has in the liquidity queue now.
func (r *satna) Positions(ctx context.Context, date string) (api.SATNAPositions, error) {
	if date == "" {
		date = tehranDay(r.s.clk.Now())
	}
	queued := map[string][2]int64{}
	r.mu.Lock()
	for _, rec := range r.queued {
		q := queued[rec.SenderBank]
		queued[rec.SenderBank] = [2]int64{q[0] + 1, q[1] + rec.AmountRial}
	}
	r.mu.Unlock()
	out := api.SATNAPositions{Positions: []api.SATNAPosition{}}
	for _, code := range r.s.world.members {
		st, err := r.Statement(ctx, code, date)
		if err != nil {
			return out, err
		}
		out.Date, out.Jalali = st.Date, st.Jalali
		q := queued[code]
		out.Positions = append(out.Positions, api.SATNAPosition{BankCode: code, OpeningRial: st.OpeningRial,
			ClosingRial: st.ClosingRial, NetRial: st.ClosingRial - st.OpeningRial, Movements: st.MovementsTotal,
			QueuedOrders: int(q[0]), QueuedRial: q[1]})
	}
	return out, nil
}

// cutBytes cuts s to at most n bytes on a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutRunes cuts s to at most n characters.
func cutRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// stillOpen re-checks, when an order leaves the warehouse or the queue, what may have changed since it was
// accepted: a bank suspended, or merged or dissolved on the clock's date. nil when it may settle.
func (r *satna) stillOpen(o rtgs.Order) *rtgs.Rejection {
	if rej := rtgs.CheckState(o, r.s.world.registry()); rej != nil {
		return rej
	}
	switch {
	case !r.s.world.active(o.SenderBank):
		return &rtgs.Rejection{Code: rtgs.CodeSenderBankInactive, Field: "sender_bank", Message: "the sending bank is no longer an active member"}
	case !r.s.world.active(o.ReceiverBank):
		return &rtgs.Rejection{Code: rtgs.CodeReceiverBankInactive, Field: "receiver_bank", Message: "the receiving bank is no longer an active member"}
	}
	return nil
}

// statementPagesMax bounds how far a statement pages through an account's history (1,000 transfers a page):
// ten million movements, far beyond what a simulated account gathers.
const statementPagesMax = 10_000

// Statement walks bank's settlement account from its first transfer to the end of the Tehran day: the balance
// at the day's start, each posted movement of the day with the balance after it, and the balance at its end.
func (r *satna) Statement(ctx context.Context, bank, date string) (api.Statement, error) {
	d, err := calendar.ParseDate(date)
	if err != nil {
		return api.Statement{}, api.FieldErrorf("date", "%v", err)
	}
	w := r.s.world
	if !w.isMember(bank) {
		return api.Statement{}, api.Errorf(api.CodeNotFound, "no such settlement account")
	}
	start, end := d.At(0, 0).UnixNano(), d.AddDays(1).At(0, 0).UnixNano()
	id := AccountID(ledger.LedgerCBI, KeySettlement(bank))
	st := api.Statement{BankCode: bank, Date: d.String(), Jalali: d.Jalali().String(), Movements: []api.StatementLine{}}
	var bal int64
	after := int64(0)
	for page := 0; page < statementPagesMax; page++ {
		ts, err := r.s.store.AccountTransfers(ctx, id, after, postgres.PageTransfersMax)
		if err != nil {
			return st, err
		}
		for _, t := range ts {
			if t.Timestamp >= end {
				st.ClosingRial = bal
				st.MovementsTotal = len(st.Movements)
				return st, nil
			}
			if t.Flags&(ledger.FlagPending|ledger.FlagVoidPending) != 0 {
				continue // a reservation moves no posted balance; a void releases one
			}
			line := api.StatementLine{At: time.Unix(0, t.Timestamp).In(calendar.Tehran), ID: t.ID.String(), AmountRial: t.Amount,
				Kind: codeName(t.Code), Reference: t.Reference}
			if t.DebitAccountID == id {
				bal -= t.Amount
				line.Direction, line.Counterpart = "debit", w.nameOf(t.CreditAccountID)
			} else {
				bal += t.Amount
				line.Direction, line.Counterpart = "credit", w.nameOf(t.DebitAccountID)
			}
			if t.Timestamp < start {
				continue
			}
			if len(st.Movements) == 0 {
				st.OpeningRial = bal - signed(line)
			}
			line.BalanceRial = bal
			line.Jalali = jalaliOf(line.At)
			st.Movements = append(st.Movements, line)
		}
		if len(ts) < postgres.PageTransfersMax {
			break
		}
		after = ts[len(ts)-1].Timestamp
	}
	if len(st.Movements) == 0 {
		st.OpeningRial = bal
	}
	st.ClosingRial = bal
	st.MovementsTotal = len(st.Movements)
	return st, nil
}

func signed(l api.StatementLine) int64 {
	if l.Direction == "debit" {
		return -l.AmountRial
	}
	return l.AmountRial
}
