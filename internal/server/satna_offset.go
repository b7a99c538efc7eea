package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
)

// An offsetting set larger than one ledger request (issue 8, item 4) settles in two stages, all or nothing:
//
//  1. The commit point: ONE request holds the set's nets on the settlement accounts (each bank's net
//     through the CBI's offsetting transit account, which ends at zero), each simulated bank's mirror
//     following its net against its book's transit account, the set's row ('satna.offset', status
//     committed) and its membership as chunk rows ('satna.offset.chunk', at most offsetChunkOrders order ids
//     each, status pending). Either all of it commits or none: before it, every order is still queued.
//  2. Completion: one decision per chunk moves each order's legs in the books — payer → the sender's transit,
//     the receiver's transit → payee (or suspense, returned as usual), an interbank order's equity ↔ transit —
//     writes its status and events, and marks the chunk done. After the last chunk every transit account is
//     back at zero and the set's row is done.
//
// A crash (or a write whose outcome is unknown) between the two stages leaves the set committed with chunks
// pending: the rail's reload finds them, keeps their orders out of the queue (their money has moved at the
// CBI: they are final, and a revocation answers irrevocable) and completes them before it decides anything
// else. The audit holds at every commit: mirrors follow settlement accounts in the commit point itself, and
// books balance by double entry; only the transit accounts carry the set's in-flight total.

// Rows of a large offsetting set.
const (
	kindOffsetSet   = "satna.offset"
	kindOffsetChunk = "satna.offset.chunk"
	// offsetChunkOrders bounds a chunk: its ids fit a row body (postgres.RowBodyBytesMax, 64 KiB, at 36 bytes
	// and a comma each), and its legs (at most four transfers an order) one request.
	offsetChunkOrders = 1000
)

// KeySATNAOffset is the transit account of large offsetting sets, in ledger 1 and in every book.
const KeySATNAOffset = "satna:offset"

// offsetChunk is a committed set's chunk not yet completed.
type offsetChunk struct {
	set    string
	n      int
	orders []satnaRecord
	live   map[string]bool // the banks whose books took the set's nets at the commit point
}

type offsetChunkBody struct {
	Set    string   `json:"set"`
	Orders []string `json:"orders"`
	// Live are the set's banks simulated at the commit point: their books took its nets, so theirs (and only
	// theirs) take its orders' legs at completion, whatever their mode by then.
	Live []string `json:"live"`
}

func liveSet(codes []string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

type offsetSetBody struct {
	Orders int              `json:"orders"`
	Chunks int              `json:"chunks"`
	Nets   map[string]int64 `json:"nets"` // per bank, positive when it received on net
	At     time.Time        `json:"committed_at"`
}

// loadOffsetting reads the committed sets' pending chunks (at reload): their orders, still queued by their
// rows, are final, and are kept for completion rather than queued again.
func (r *satna) loadOffsetting(ctx context.Context) (map[rtgs.OrderID]bool, error) {
	r.offsetting = nil
	members := map[rtgs.OrderID]bool{}
	var chunks []offsetChunkBody
	var names []string
	err := r.eachRow(ctx, kindOffsetChunk, []string{"pending"}, func(row postgres.RailObject) error {
		var b offsetChunkBody
		if err := json.Unmarshal(row.Body, &b); err != nil {
			return fmt.Errorf("server: satna: offsetting chunk %s: %w", row.ID, err)
		}
		chunks = append(chunks, b)
		names = append(names, row.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, b := range chunks {
		found, err := postgres.RailObjectsByID(ctx, r.s.pool, kindSATNAOrder, b.Orders)
		if err != nil {
			return nil, err
		}
		c := offsetChunk{set: b.Set, live: liveSet(b.Live)}
		fmt.Sscanf(names[i][len(b.Set)+1:], "%d", &c.n)
		for _, id := range b.Orders {
			row, ok := found[id]
			if !ok {
				return nil, fmt.Errorf("server: satna: offsetting chunk %s names order %s, which has no row", names[i], id)
			}
			rec, err := orderRecord(row)
			if err != nil {
				return nil, err
			}
			oid, err := rtgs.ParseOrderID(id)
			if err != nil {
				return nil, err
			}
			members[oid] = true
			if rec.Status == "queued" { // else completed before the chunk's own row (cannot happen: one decision)
				c.orders = append(c.orders, rec)
			}
		}
		r.offsetting = append(r.offsetting, c)
	}
	return members, nil
}

// offsetLarge settles r.bigSet, the set an offsetting pass found too large for one request, by the two
// stages above. The caller holds r.mu and has no decision in flight.
func (r *satna) offsetLarge(ctx context.Context) error {
	set := r.bigSet
	r.bigSet = nil
	if len(set) == 0 {
		return nil
	}
	setID := ledger.ID(ids.Derive("tasvieh.satna.offset", set[0].ID.String(), fmt.Sprint(len(set)))).String()
	var chunks []offsetChunk
	err := r.decide(ctx, func(x *postgres.Decision) error {
		chunks = nil
		recs := make([]satnaRecord, 0, len(set))
		paying := map[string]int64{}
		nets := map[string]int64{}
		for _, o := range set {
			rec, ok := r.queued[o.ID]
			if !ok {
				return nil // revoked or settled since it was chosen: the next pass chooses again
			}
			if rec.Type == "customer" && r.s.world.live(rec.SenderBank) {
				paying[rec.PayerSHEBA] += rec.AmountRial + rec.FeeRial
				payer, ok := x.AccountByKey(BookLedger(rec.SenderBank), rec.PayerSHEBA)
				if !ok || payer.Available() < paying[rec.PayerSHEBA] {
					r.s.log.Warn("server: satna: a large offsetting set stays queued", "orders", len(set), "why", "a payer cannot cover its order")
					return nil
				}
			}
			if rj := r.stillOpen(o); rj != nil {
				r.s.log.Warn("server: satna: a large offsetting set stays queued", "orders", len(set), "why", rj.Code.String())
				return nil
			}
			nets[rec.SenderBank] -= rec.AmountRial
			nets[rec.ReceiverBank] += rec.AmountRial
			recs = append(recs, rec)
		}
		var live []string
		for _, bank := range slices.Sorted(maps.Keys(nets)) {
			if r.s.world.live(bank) {
				live = append(live, bank)
			}
		}
		chain := r.offsetNets(setID, nets, liveSet(live))
		body := offsetSetBody{Orders: len(recs), Nets: nets, At: x.Now().In(calendar.Tehran)}
		sub := postgres.Submission{Transfers: chain}
		first := ledger.ID{}
		if len(chain) > 0 {
			first = chain[0].ID
		}
		for start := 0; start < len(recs); start += offsetChunkOrders {
			part := recs[start:min(start+offsetChunkOrders, len(recs))]
			cb := offsetChunkBody{Set: setID, Live: live}
			for _, rec := range part {
				cb.Orders = append(cb.Orders, rec.ID)
			}
			n := len(chunks)
			sub.Rows = append(sub.Rows, postgres.Row{Transfer: first, Kind: kindOffsetChunk, ID: fmt.Sprintf("%s:%d", setID, n),
				Status: "pending", Body: mustJSON(cb)})
			chunks = append(chunks, offsetChunk{set: setID, n: n, orders: part, live: liveSet(live)})
		}
		body.Chunks = len(chunks)
		sub.Rows = append(sub.Rows, postgres.Row{Transfer: first, Kind: kindOffsetSet, ID: setID, Status: "committed", Body: mustJSON(body)})
		if len(chain) == 0 { // every net zero: nothing moves at the CBI, and the rows are the commit point
			for i := range sub.Rows {
				sub.Rows[i].Transfer = ledger.ID{}
			}
			if err := x.Write(sub.Rows...); err != nil {
				return err
			}
			for _, rec := range recs {
				oid, _ := rtgs.ParseOrderID(rec.ID)
				r.queue.Revoke(oid)
				delete(r.queued, oid)
			}
			r.offsetting = append(r.offsetting, chunks...)
			return nil
		}
		res, ok, err := x.Propose(sub)
		if err != nil {
			return err
		}
		if !ok {
			chunks = nil
			r.s.log.Warn("server: satna: a large offsetting set stays queued", "orders", len(set), "why", fmt.Sprint("the ledger refused its nets: ", res))
			return nil
		}
		for _, rec := range recs { // final at the CBI: out of the queue, into completion
			oid, _ := rtgs.ParseOrderID(rec.ID)
			r.queue.Revoke(oid)
			delete(r.queued, oid)
		}
		r.offsetting = append(r.offsetting, chunks...)
		return nil
	})
	if err != nil {
		return err
	}
	return r.completeOffsetting(ctx)
}

// offsetNets is a large set's commit point on the money: each bank's net through the CBI's transit account
// (payers first, so the transit never goes below zero), and each simulated bank's mirror following its net
// against its book's transit account, as one linked chain whose floors are checked on its net effect.
func (r *satna) offsetNets(setID string, nets map[string]int64, live map[string]bool) []ledger.Transfer {
	var chain []ledger.Transfer
	transit := AccountID(ledger.LedgerCBI, KeySATNAOffset)
	leg := func(bank, side string) ledger.ID {
		return ledger.ID(ids.Derive("tasvieh.satna.offset.net", setID, bank, side))
	}
	for _, bank := range slices.Sorted(maps.Keys(nets)) {
		v := nets[bank]
		if v == 0 {
			continue
		}
		settle := AccountID(ledger.LedgerCBI, KeySettlement(bank))
		t := ledger.Transfer{ID: leg(bank, "cbi"), DebitAccountID: settle, CreditAccountID: transit, Amount: -v,
			Ledger: ledger.LedgerCBI, Code: CodeSATNAOffset, Reference: "satna offsetting set"}
		if v > 0 {
			t.DebitAccountID, t.CreditAccountID, t.Amount = transit, settle, v
		}
		chain = append(chain, t)
		if live[bank] {
			book := BookLedger(bank)
			m := ledger.Transfer{ID: leg(bank, "mirror"), DebitAccountID: AccountID(book, KeySATNAOffset),
				CreditAccountID: AccountID(book, KeyMirror), Amount: -v, Ledger: book, Code: CodeSATNAOffset, Reference: "satna offsetting set"}
			if v > 0 {
				m.DebitAccountID, m.CreditAccountID, m.Amount = AccountID(book, KeyMirror), AccountID(book, KeySATNAOffset), v
			}
			chain = append(chain, m)
		}
	}
	for i := range chain {
		chain[i].Flags |= ledger.FlagNet | ledger.FlagLinked
	}
	if len(chain) > 0 {
		chain[len(chain)-1].Flags &^= ledger.FlagLinked
	}
	return chain
}

// completeOffsetting completes the committed sets' pending chunks, one decision each, up to
// satnaPipelineMax in flight (each pops its chunk inside the writer once its legs are proposed). The caller
// holds r.mu and has no decision in flight.
func (r *satna) completeOffsetting(ctx context.Context) error {
	chunks := slices.Clone(r.offsetting)
	var flight []*decision
	var first error
	for i := 0; ; {
		if i < len(chunks) && len(flight) < satnaPipelineMax && first == nil {
			c := chunks[i]
			i++
			d, err := r.start(ctx, func(x *postgres.Decision) error { return r.completeChunkIn(x, c) })
			if err != nil {
				first = fmt.Errorf("server: satna: completing offsetting set %s (chunk %d): %w", c.set, c.n, storeErr(err))
				continue
			}
			flight = append(flight, d)
			continue
		}
		if len(flight) == 0 {
			break
		}
		if err := r.end(ctx, flight[0]); err != nil && first == nil {
			first = fmt.Errorf("server: satna: completing an offsetting set: %w", err)
		}
		flight = flight[1:]
	}
	r.resync(ctx)
	return first
}

// completeChunkIn moves a chunk's orders in the books, writes their statuses and events, and marks the chunk
// (and, after its last chunk, the set) done, in one decision.
func (r *satna) completeChunkIn(x *postgres.Decision, c offsetChunk) error {
	if r.chunkFault != nil {
		if err := r.chunkFault(); err != nil {
			return err
		}
	}
	now := x.Now().In(calendar.Tehran)
	sub := postgres.Submission{}
	var returns []satnaRecord
	spent := map[ledger.ID]int64{} // each payer's orders earlier in this chunk, whose legs are proposed together
	for _, rec := range c.orders {
		t, status, reason := r.bookLegs(x, rec, c.live, spent)
		sub.Transfers = append(sub.Transfers, t...)
		rec.Status, rec.Reason, rec.SettledAt, rec.SettleAfter = status, reason, &now, nil
		sub.Rows = append(sub.Rows, postgres.Row{Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)})
		for _, e := range r.events(rec, now) {
			sub.Events = append(sub.Events, postgres.Event{Topic: e.Topic, Key: e.Key, Type: e.Type, Payload: e.Payload})
		}
		if reason != "" && rec.Type == "customer" {
			returns = append(returns, rec)
		}
	}
	sub.Rows = append(sub.Rows, postgres.Row{Kind: kindOffsetChunk, ID: fmt.Sprintf("%s:%d", c.set, c.n), Status: "done",
		Body: mustJSON(offsetChunkBody{Set: c.set, Orders: orderIDs(c.orders), Live: slices.Sorted(maps.Keys(c.live))})})
	last := true
	for _, o := range r.offsetting {
		if o.set == c.set && o.n != c.n {
			last = false
		}
	}
	if last {
		sub.Rows = append(sub.Rows, postgres.Row{Kind: kindOffsetSet, ID: c.set, Status: "done", Body: mustJSON(map[string]any{"done_at": now})})
	}
	if len(sub.Transfers) > 0 {
		for i := range sub.Transfers[:len(sub.Transfers)-1] {
			sub.Transfers[i].Flags |= ledger.FlagLinked
		}
		for i := range sub.Rows {
			sub.Rows[i].Transfer = sub.Transfers[0].ID
		}
		for i := range sub.Events {
			sub.Events[i].Transfer = sub.Transfers[0].ID
		}
	} else { // every order between external banks: nothing moves in a book
		if err := x.Write(sub.Rows...); err != nil {
			return err
		}
		for _, rec := range c.orders {
			rec.Status, rec.SettledAt, rec.SettleAfter = "settled", &now, nil
			if err := r.pendingNotices(rec, now); err != nil {
				return err
			}
		}
		r.popChunk(c)
		return nil
	}
	res, ok, err := x.Propose(sub)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("server: satna: an offsetting chunk's legs were refused: %v", res)
	}
	r.popChunk(c)
	for _, rec := range returns {
		o, err := rec.order()
		if err != nil {
			return err
		}
		if _, err := r.returnOrDue(x, rec, o, rec.Reason); err != nil {
			return err
		}
	}
	return nil
}

// bookLegs are an offset order's legs in the books, through their transit accounts (the CBI's money moved
// as nets at the commit point). A simulated payer who can no longer cover the order (another rail drew on the
// account between the two stages) is covered by its bank's equity: the order was final at the CBI, and the
// bank's claim on its customer is its own business.
func (r *satna) bookLegs(x *postgres.Decision, rec satnaRecord, live map[string]bool, spent map[ledger.ID]int64) ([]ledger.Transfer, string, string) {
	id := ledger.ID(ids.Derive("tasvieh.satna.transfer", rec.ID))
	leg := func(name string) ledger.ID { return ledger.ID(deriveFrom(id, name)) }
	var t []ledger.Transfer
	if live[rec.SenderBank] {
		book := BookLedger(rec.SenderBank)
		from := AccountID(book, KeyEquity)
		if rec.Type == "customer" {
			if a, ok := x.AccountByKey(book, rec.PayerSHEBA); ok && a.Available()-spent[a.ID] >= rec.AmountRial+rec.FeeRial &&
				a.Flags&(ledger.FlagBlocked|ledger.FlagClosed) == 0 {
				from = a.ID
				spent[a.ID] += rec.AmountRial + rec.FeeRial
				if rec.FeeRial > 0 {
					t = append(t, ledger.Transfer{ID: leg("fee"), DebitAccountID: from, CreditAccountID: AccountID(book, KeyFee),
						Amount: rec.FeeRial, Ledger: book, Code: CodeSATNAFee, Reference: "satna fee"})
				}
			} else {
				r.s.log.Warn("server: satna: an offset order's payer cannot cover it; its bank's equity does", "order", rec.ID)
			}
		}
		t = append(t, ledger.Transfer{ID: leg("payer"), DebitAccountID: from, CreditAccountID: AccountID(book, KeySATNAOffset),
			Amount: rec.AmountRial, Ledger: book, Code: CodeSATNAOffset, Reference: cutBytes(rec.Reference, ledger.ReferenceLenMax)})
	}
	status, reason := "settled", ""
	if live[rec.ReceiverBank] {
		book := BookLedger(rec.ReceiverBank)
		to := AccountID(book, KeyEquity)
		if rec.Type == "customer" {
			to, status, reason = payeeAccount(x, book, rec.PayeeSHEBA)
		}
		t = append(t, ledger.Transfer{ID: leg("payee"), DebitAccountID: AccountID(book, KeySATNAOffset), CreditAccountID: to,
			Amount: rec.AmountRial, Ledger: book, Code: CodeSATNAOffset, Reference: cutBytes(rec.Reference, ledger.ReferenceLenMax)})
	}
	return t, status, reason
}

// popChunk forgets a chunk whose completion is proposed (on the writer's goroutine).
func (r *satna) popChunk(c offsetChunk) {
	r.offsetting = slices.DeleteFunc(r.offsetting, func(o offsetChunk) bool { return o.set == c.set && o.n == c.n })
}

func orderIDs(recs []satnaRecord) []string {
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[i] = rec.ID
	}
	return out
}

// afterDecisions settles what decisions left for the holder of r.mu: a large offsetting set an offsetting
// pass found, and the completion of committed sets. The caller holds r.mu and has no decision in flight.
func (r *satna) afterDecisions(ctx context.Context) {
	if r.bigSet != nil {
		if err := r.offsetLarge(ctx); err != nil {
			r.s.log.Warn("server: satna: large offsetting set", "err", err)
		}
	}
	if len(r.offsetting) > 0 {
		if err := r.completeOffsetting(ctx); err != nil {
			r.s.log.Warn("server: satna: completing offsetting sets (tried again after the next decisions)", "err", err)
		}
	}
}

// presentMember answers a queued order that belongs to a committed set still being completed as what it is:
// settled (its money moved at the CBI at the commit point, which gives its settled_at), not queued — until its
// chunk completes, its row still says queued (the commit point writes the set's rows, not every order's).
// It reads the database only (no memory: readers do not hold r.mu), and only for a queued order.
func (r *satna) presentMember(ctx context.Context, rec satnaRecord) (satnaRecord, error) {
	if rec.Status != "queued" {
		return rec, nil
	}
	var at *time.Time
	err := r.s.pool.QueryRow(ctx, `SELECT (s.body->>'committed_at')::timestamptz FROM rail_objects c
		JOIN rail_objects s ON s.kind = $1 AND s.id = c.body->>'set'
		WHERE c.kind = $2 AND c.status = 'pending' AND c.body->'orders' ? $3 LIMIT 1`,
		kindOffsetSet, kindOffsetChunk, rec.ID).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	t := at.In(calendar.Tehran)
	rec.Status, rec.SettledAt, rec.SettleAfter = "settled", &t, nil
	return rec, nil
}

// offsetMember reports whether an order belongs to a committed set still being completed (final: it cannot
// be revoked).
func (r *satna) offsetMember(id string) bool {
	for _, c := range r.offsetting {
		for _, rec := range c.orders {
			if rec.ID == id {
				return true
			}
		}
	}
	return false
}
