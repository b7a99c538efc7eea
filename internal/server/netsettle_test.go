package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
)

// Net settlement for the deferred rails (issue 8, item 5): a test rail moves customers' money through the
// clearing accounts (intakeIn / deliverIn), then rtgs's SettleNets settles the nets as one netted chain. The
// expected nets, balances and positions are worked out by hand from the payments, never read back from the
// server's answer; every test ends with the audit clean (mirrors, clearing accounts against positions,
// positions summing to zero, the CBI's net accounts empty).

// netBoot starts a switch with 056 (Saman) played as external from the start: it has no book at all.
func netBoot(t *testing.T, start string) *world {
	return boot(t, start, func(c *server.Config) { c.External = []string{"056"} })
}

// netPay is a payment of the test rail, payer and payee picked from the banks' books (an active, non-magic
// customer able to pay it; any SHEBA for an external bank, which has no book here).
func (w *world) netPay(from, to string, amount int64) server.RailPayment {
	w.t.Helper()
	p := server.RailPayment{FromBank: from, ToBank: to, AmountRial: amount}
	if from != "056" {
		p.FromSHEBA = w.satnaPick(from, amount).SHEBA
	}
	if to != "056" {
		p.ToSHEBA = w.satnaPick(to, 0, p.FromSHEBA).SHEBA
	}
	return p
}

// netMove runs the test rail's move, which must apply.
func (w *world) netMove(rail, ref string, ps ...server.RailPayment) {
	w.t.Helper()
	if err := server.RailMoveForTest(context.Background(), w.srv, rail, ref, false, ps...); err != nil {
		w.t.Fatalf("test rail move %s: %v", ref, err)
	}
}

// netObligations are the payments as a rail would hand them to rtgs.
func netObligations(ps ...server.RailPayment) []rtgs.Obligation {
	var out []rtgs.Obligation
	for _, p := range ps {
		out = append(out, rtgs.Obligation{From: p.FromBank, To: p.ToBank, AmountRial: p.AmountRial})
	}
	return out
}

func netSetID(name string) [16]byte { return ids.Derive("test.netset", name) }

// netSettle settles a set, which must not fail.
func (w *world) netSettle(rail string, id [16]byte, obs []rtgs.Obligation) rtgs.NetResult {
	w.t.Helper()
	res, err := w.srv.SettleNets(context.Background(), rtgs.NetSet{ID: id, Rail: rail, Obligations: obs})
	if err != nil {
		w.t.Fatalf("SettleNets %s: %v", ids.String(id), err)
	}
	return res
}

// netAll reads every member's settlement balance.
func (w *world) netAll() map[string]int64 { return w.satnaBalances(w.srv.Members()...) }

// netExpectMoved checks that, between before and now, each member's settlement balance moved by −net of
// want (nothing for the others), and that the sum of all balances did not move: a set creates no money.
func (w *world) netExpectMoved(what string, before map[string]int64, want []rtgs.Net) {
	w.t.Helper()
	delta := map[string]int64{}
	for _, n := range want {
		delta[n.Bank] = -n.AmountRial
	}
	w.satnaExpectMoved(what, before, delta)
	var sumBefore, sumAfter int64
	for bank, b := range before {
		sumBefore += b
		sumAfter += w.satnaSettlement(bank)
	}
	if sumAfter != sumBefore {
		t := w.t
		t.Errorf("%s: settlement balances sum to %d, were %d: money created or lost", what, sumAfter, sumBefore)
	}
}

// netPositions are the operator's view of the positions (memory), by "rail:bank".
func (w *world) netPositions() map[string]int64 {
	w.t.Helper()
	var ps struct {
		Positions []api.ClearingPosition `json:"positions"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/clearing/positions", w.operator(), nil, &ps)
	out := map[string]int64{}
	for _, p := range ps.Positions {
		out[p.Rail+":"+p.Bank] = p.NetRial
	}
	return out
}

// netStoredPositions are the positions' rows, non-zero ones, by "rail:bank".
func (w *world) netStoredPositions() map[string]int64 {
	w.t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT id, (body->>'net_rial')::bigint FROM rail_objects WHERE kind = 'clearing.position'`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			w.t.Fatal(err)
		}
		if n != 0 {
			out[id] = n
		}
	}
	return out
}

// netExpectPositions checks the positions in memory, over the API and in the rows against want (non-zero).
func (w *world) netExpectPositions(what string, want map[string]int64) {
	w.t.Helper()
	if want == nil {
		want = map[string]int64{}
	}
	if got := w.netPositions(); !reflect.DeepEqual(got, want) {
		w.t.Errorf("%s: positions (operator) %v, want %v", what, got, want)
	}
	if got := w.netStoredPositions(); !reflect.DeepEqual(got, want) {
		w.t.Errorf("%s: positions (rows) %v, want %v", what, got, want)
	}
	if got := server.PositionsForTest(w.srv); !reflect.DeepEqual(got, want) {
		w.t.Errorf("%s: positions (memory) %v, want %v", what, got, want)
	}
}

// netNotice waits (bounded) for bank's notification of type typ about set id, and returns it.
func (w *world) netNotice(bank, typ string, id [16]byte) api.NetSetNotice {
	w.t.Helper()
	for i := 0; i < 100; i++ {
		var feed api.EventPage
		w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank(bank), nil, &feed)
		for _, e := range feed.Events {
			if e.Type != typ {
				continue
			}
			b, _ := json.Marshal(e.Data)
			var n api.NetSetNotice
			if err := json.Unmarshal(b, &n); err == nil && n.SetID == ids.String(id) {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Errorf("bank %s never heard %s about set %s", bank, typ, ids.String(id))
	return api.NetSetNotice{}
}

// netCountNotices counts bank's notifications of any rtgs.netset type about set id.
func (w *world) netCountNotices(bank string, id [16]byte) int {
	w.t.Helper()
	var feed api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank(bank), nil, &feed)
	n := 0
	for _, e := range feed.Events {
		b, _ := json.Marshal(e.Data)
		var x api.NetSetNotice
		if json.Unmarshal(b, &x) == nil && x.SetID == ids.String(id) {
			n++
		}
	}
	return n
}

// The worked example of these tests, in rial (positive: the bank owes):
//
//	017 → 012  5,000,000,000      017: +5.0 −1.0 −4.0 =  0
//	012 → 054  2,000,000,000      012: −5.0 +2.0      = −3.0
//	054 → 017  1,000,000,000      054: −2.0 +1.0      = −1.0
//	055 → 057  3,000,000,000      055: +3.0           = +3.0
//	057 → 056  1,500,000,000      057: −3.0 +1.5      = −1.5
//	056 → 017  4,000,000,000      056: −1.5 +4.0      = +2.5   (external: no book)
const bn = 1_000_000_000

func (w *world) netExample() []server.RailPayment {
	return []server.RailPayment{w.netPay("017", "012", 5*bn), w.netPay("012", "054", 2*bn), w.netPay("054", "017", 1*bn),
		w.netPay("055", "057", 3*bn), w.netPay("057", "056", 3*bn/2), w.netPay("056", "017", 4*bn)}
}

var netExamplePositions = map[string]int64{"paya:012": -3 * bn, "paya:054": -1 * bn, "paya:055": 3 * bn, "paya:057": -3 * bn / 2, "paya:056": 5 * bn / 2}

var netExampleNets = []rtgs.Net{{Bank: "012", AmountRial: -3 * bn}, {Bank: "054", AmountRial: -1 * bn}, {Bank: "055", AmountRial: 3 * bn},
	{Bank: "056", AmountRial: 5 * bn / 2}, {Bank: "057", AmountRial: -3 * bn / 2}}

// TestClearingIntakeAndDelivery: the test rail's move debits each simulated payer into its bank's clearing
// account and credits each payee out of its bank's, and moves the positions; an external bank's position
// moves with no book.
func TestClearingIntakeAndDelivery(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := w.netExample()
	held := map[string]int64{}
	for _, p := range ps {
		if p.FromSHEBA != "" {
			held[p.FromSHEBA] = w.satnaHeld(p.FromBank, p.FromSHEBA)
		}
		if p.ToSHEBA != "" {
			held[p.ToSHEBA] = w.satnaHeld(p.ToBank, p.ToSHEBA)
		}
	}
	want := map[string]int64{}
	for _, p := range ps {
		if p.FromSHEBA != "" {
			want[p.FromSHEBA] -= p.AmountRial
		}
		if p.ToSHEBA != "" {
			want[p.ToSHEBA] += p.AmountRial
		}
	}
	before := w.netAll()
	w.netMove("paya", "intake-1", ps...)
	for _, p := range ps {
		for _, c := range [][2]string{{p.FromBank, p.FromSHEBA}, {p.ToBank, p.ToSHEBA}} {
			if c[1] == "" {
				continue
			}
			if got := w.satnaHeld(c[0], c[1]) - held[c[1]]; got != want[c[1]] {
				t.Errorf("customer %s of %s moved %d, want %d", c[1], c[0], got, want[c[1]])
			}
		}
	}
	w.netExpectPositions("after the move", netExamplePositions)
	w.netExpectMoved("a move of the rail", before, nil) // customers' money only: no settlement account moves
	w.audit()

	// The card switch's positions are its own.
	card := []server.RailPayment{w.netPay("012", "017", 7_000_000), w.netPay("056", "012", 2_000_000)}
	w.netMove("card", "card-1", card...)
	want2 := netMerge(netExamplePositions, map[string]int64{"card:012": 5_000_000, "card:017": -7_000_000, "card:056": 2_000_000})
	w.netExpectPositions("after a card move", want2)
	w.audit()
}

func netMerge(ms ...map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestClearingMovesAreAllOrNothing: a move the ledger refuses (a payee's account blocked) moves no customer
// and no position; a move that does not balance (a lone intake) is refused before anything is proposed; a
// leg to a bank that is no member, or with a code outside the rail's range, is refused; a decider that fails
// after its move applied leaves memory rebuilt from the rows, which hold the move.
func TestClearingMovesAreAllOrNothing(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ctx := context.Background()
	payer := w.satnaPick("017", bn)
	var blocked string
	for _, c := range w.customers("012").Customers {
		if c.Status == "blocked" {
			blocked = c.SHEBA
		}
	}
	if blocked == "" {
		t.Fatal("012 has no blocked customer")
	}
	held := w.satnaHeld("017", payer.SHEBA)
	err := server.RailMoveForTest(ctx, w.srv, "paya", "to-blocked", false,
		server.RailPayment{FromBank: "017", FromSHEBA: payer.SHEBA, ToBank: "012", ToSHEBA: blocked, AmountRial: bn})
	if !errors.Is(err, server.ErrRailRefusedForTest) {
		t.Errorf("a move to a blocked account: %v, want refused", err)
	}
	if got := w.satnaHeld("017", payer.SHEBA); got != held {
		t.Errorf("the payer of a refused move holds %d, held %d", got, held)
	}
	w.netExpectPositions("after a refused move", nil)

	if err := server.UnbalancedIntakeForTest(ctx, w.srv, "paya", "017", payer.SHEBA, bn); err == nil {
		t.Error("a lone intake was proposed")
	}
	if got := w.satnaHeld("017", payer.SHEBA); got != held {
		t.Errorf("the payer of a lone intake holds %d, held %d", got, held)
	}
	err = server.RailMoveForTest(ctx, w.srv, "paya", "to-nobody", false, server.RailPayment{FromBank: "017", FromSHEBA: payer.SHEBA, ToBank: "099", AmountRial: bn})
	if err == nil {
		t.Error("a delivery to bank 099, no member, was accepted")
	}
	if err := server.RailMoveForTest(ctx, w.srv, "satna", "no-rail", false, w.netPay("017", "012", bn)); err == nil {
		t.Error("a move on a rail without clearing accounts was accepted")
	}
	w.netExpectPositions("after the refusals", nil)

	// The decider fails after its move applied: the batch commits, and the positions are reloaded from it.
	err = server.RailMoveForTest(ctx, w.srv, "paya", "fail-after", true, server.RailPayment{FromBank: "017", FromSHEBA: payer.SHEBA, ToBank: "056", AmountRial: bn})
	if err == nil {
		t.Error("failAfter: no error")
	}
	w.netExpectPositions("after a decider failed past its move", map[string]int64{"paya:017": bn, "paya:056": -bn})
	if got := w.satnaHeld("017", payer.SHEBA); got != held-bn {
		t.Errorf("the payer holds %d, want %d", got, held-bn)
	}
	w.audit()
}

// TestNetSettleAllCovered: every bank covers its net: every net of the worked example settles as one chain,
// the settlement accounts move by −net (the external bank's too), the positions return to zero, each bank
// hears its own net (017, whose net is zero, too), and no money is created.
func TestNetSettleAllCovered(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := w.netExample()
	w.netMove("paya", "cycle-1", ps...)
	before := w.netAll()
	id := netSetID("all-covered")
	res := w.netSettle("paya", id, netObligations(ps...))
	if want := (rtgs.NetResult{Settled: netExampleNets}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	w.netExpectMoved("the set", before, netExampleNets)
	w.netExpectPositions("after the set", nil)
	for _, n := range append(netExampleNets, rtgs.Net{Bank: "017"}) {
		got := w.netNotice(n.Bank, "rtgs.netset.settled", id)
		if got.NetRial != n.AmountRial || got.Rail != "paya" || got.Bank != n.Bank {
			t.Errorf("%s heard %+v, want its net %d", n.Bank, got, n.AmountRial)
		}
	}
	var rec api.NetSet
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets/"+ids.String(id), w.operator(), nil, &rec)
	if rec.Status != "settled" || rec.Rail != "paya" || len(rec.Settled) != 5 || len(rec.Excluded) != 0 ||
		rec.Obligations.Count != 6 || rec.Obligations.TotalRial != 16_500_000_000 {
		t.Errorf("the record: %+v", rec)
	}
	var page api.NetSetPage
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets?rail=paya", w.operator(), nil, &page)
	if len(page.NetSets) != 1 || page.NetSets[0].ID != ids.String(id) {
		t.Errorf("the list: %+v", page)
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets?rail=card", w.operator(), nil, &page)
	if len(page.NetSets) != 0 {
		t.Errorf("the card list: %+v", page)
	}
	w.audit()
}

// TestNetSettleExcludesTheShortBank: 055 owes 3,000,000,000 net but holds 1,000,000,000: PlanNets' rule takes
// it out, and the others settle their recomputed nets; 055's position stays, and so does what 057 is still
// owed by it. Once 055 has the liquidity, the remainder settles as a set of its own.
func TestNetSettleExcludesTheShortBank(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := w.netExample()
	w.netMove("paya", "cycle-1", ps...)
	w.satnaDrain("055", bn, "drain-055")
	before := w.netAll()
	id := netSetID("short")
	res := w.netSettle("paya", id, netObligations(ps...))
	// Without 055's 3.0 to 057: 057 owes 1.5 (to 056); 056 then owes 4.0 − 1.5 = 2.5.
	nets := []rtgs.Net{{Bank: "012", AmountRial: -3 * bn}, {Bank: "054", AmountRial: -1 * bn}, {Bank: "056", AmountRial: 5 * bn / 2},
		{Bank: "057", AmountRial: 3 * bn / 2}}
	if want := (rtgs.NetResult{Settled: nets, Excluded: []string{"055"}}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	w.netExpectMoved("the set without 055", before, nets)
	w.netExpectPositions("after the set", map[string]int64{"paya:055": 3 * bn, "paya:057": -3 * bn})
	if n := w.netNotice("055", "rtgs.netset.excluded", id); n.Reason != "short" || n.NetRial != 3*bn {
		t.Errorf("055 heard %+v", n)
	}
	if n := w.netNotice("057", "rtgs.netset.settled", id); n.NetRial != 3*bn/2 {
		t.Errorf("057 heard %+v", n)
	}
	var rec api.NetSet
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets/"+ids.String(id), w.operator(), nil, &rec)
	if rec.Status != "partial" || len(rec.Excluded) != 1 || rec.Excluded[0] != (api.NetExclusion{Bank: "055", Reason: "short", NetRial: 3 * bn}) {
		t.Errorf("the record: %+v", rec)
	}
	w.audit()

	// 055's obligation waits with the rail; with liquidity it settles alone.
	w.satnaInject("055", 2*bn, "inject-055")
	before = w.netAll()
	rest := netObligations(ps[3])
	res = w.netSettle("paya", netSetID("short-rest"), rest)
	restNets := []rtgs.Net{{Bank: "055", AmountRial: 3 * bn}, {Bank: "057", AmountRial: -3 * bn}}
	if want := (rtgs.NetResult{Settled: restNets}); !reflect.DeepEqual(res, want) {
		t.Fatalf("the remainder: %+v, want %+v", res, want)
	}
	w.netExpectMoved("the remainder", before, restNets)
	if got := w.satnaSettlement("055"); got != 0 {
		t.Errorf("055 holds %d after paying 3,000,000,000 out of 3,000,000,000", got)
	}
	w.netExpectPositions("after the remainder", nil)
	w.audit()
}

// TestNetSettleEveryBankShort: a set whose only debtor cannot cover it settles nothing: it is recorded
// (status excluded), the banks are told, nothing moves, and a repeat answers the same.
func TestNetSettleEveryBankShort(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	p := w.netPay("055", "057", 3*bn)
	w.netMove("paya", "one", p)
	w.satnaDrain("055", 0, "drain-055")
	before := w.netAll()
	id := netSetID("nothing")
	res := w.netSettle("paya", id, netObligations(p))
	if want := (rtgs.NetResult{Excluded: []string{"055"}}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	w.netExpectMoved("nothing settled", before, nil)
	w.netExpectPositions("nothing settled", map[string]int64{"paya:055": 3 * bn, "paya:057": -3 * bn})
	w.netNotice("055", "rtgs.netset.excluded", id)
	if n := w.netNotice("057", "rtgs.netset.settled", id); n.NetRial != 0 {
		t.Errorf("057 heard %+v, want a zero net", n)
	}
	var rec api.NetSet
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets/"+ids.String(id), w.operator(), nil, &rec)
	if rec.Status != "excluded" {
		t.Errorf("status %s, want excluded", rec.Status)
	}
	if again := w.netSettle("paya", id, netObligations(p)); !reflect.DeepEqual(again, res) {
		t.Errorf("a repeat: %+v, want %+v", again, res)
	}
	w.audit()
}

// TestNetSettleRepeatAndConcurrency: a repeat of a set's id answers the first result and moves nothing (not
// even once the balances changed); the same id with other obligations is refused; eight calls at once with a
// fresh id apply it once and all answer the same.
func TestNetSettleRepeatAndConcurrency(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := w.netExample()
	w.netMove("paya", "cycle-1", ps...)
	id := netSetID("repeat")
	first := w.netSettle("paya", id, netObligations(ps...))
	w.satnaDrain("055", 0, "drain-055") // the first result stands, whatever the balances say now
	before := w.netAll()
	again := w.netSettle("paya", id, netObligations(ps[5], ps[4], ps[3], ps[2], ps[1], ps[0])) // same set, other order
	if !reflect.DeepEqual(again, first) {
		t.Errorf("a repeat: %+v, want %+v", again, first)
	}
	w.netExpectMoved("a repeat", before, nil)
	_, err := w.srv.SettleNets(context.Background(), rtgs.NetSet{ID: id, Rail: "paya", Obligations: netObligations(ps[0])})
	if !errors.Is(err, server.ErrNetSetReused) {
		t.Errorf("the same id with other obligations: %v, want ErrNetSetReused", err)
	}
	_, err = w.srv.SettleNets(context.Background(), rtgs.NetSet{ID: id, Rail: "card", Obligations: netObligations(ps...)})
	if !errors.Is(err, server.ErrNetSetReused) {
		t.Errorf("the same id for another rail: %v, want ErrNetSetReused", err)
	}
	if n := w.netCountNotices("012", id); n != 1 {
		t.Errorf("012 heard of the set %d times, want once", n)
	}
	w.netExpectPositions("after the repeats", nil)

	// Eight at once, one id.
	w.satnaInject("055", 10*bn, "inject-055")
	ps2 := []server.RailPayment{w.netPay("017", "054", 2*bn), w.netPay("054", "056", 1*bn), w.netPay("056", "055", bn/2)}
	w.netMove("card", "window-1", ps2...)
	before = w.netAll()
	id2 := netSetID("concurrent")
	results := make([]rtgs.NetResult, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = w.srv.SettleNets(context.Background(), rtgs.NetSet{ID: id2, Rail: "shahab", Obligations: netObligations(ps2...)})
		}()
	}
	wg.Wait()
	nets := []rtgs.Net{{Bank: "017", AmountRial: 2 * bn}, {Bank: "054", AmountRial: -1 * bn}, {Bank: "055", AmountRial: -bn / 2}, {Bank: "056", AmountRial: -bn / 2}}
	for i := range results {
		if errs[i] != nil || !reflect.DeepEqual(results[i], rtgs.NetResult{Settled: nets}) {
			t.Errorf("call %d: %+v %v, want %+v", i, results[i], errs[i], nets)
		}
	}
	w.netExpectMoved("eight calls with one id", before, nets)
	w.netExpectPositions("after the card set", nil)
	if n := w.netCountNotices("017", id2); n != 1 {
		t.Errorf("017 heard of the card set %d times, want once", n)
	}
	w.audit()
}

// TestNetSettleKeepsAcrossRestarts: positions survive a restart (rebuilt from their rows), a set settles
// after it, and after another restart a repeat answers the stored result and moves nothing.
func TestNetSettleKeepsAcrossRestarts(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := w.netExample()
	w.netMove("paya", "cycle-1", ps...)
	w.restart()
	w.netExpectPositions("after a restart", netExamplePositions)
	w.audit()
	before := w.netAll()
	id := netSetID("restart")
	first := w.netSettle("paya", id, netObligations(ps...))
	w.netExpectMoved("the set", before, netExampleNets)
	w.restart()
	w.netExpectPositions("after the set and a restart", nil)
	before = w.netAll()
	if again := w.netSettle("paya", id, netObligations(ps...)); !reflect.DeepEqual(again, first) {
		t.Errorf("a repeat after a restart: %+v, want %+v", again, first)
	}
	w.netExpectMoved("a repeat after a restart", before, nil)
	var rec api.NetSet
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets/"+ids.String(id), w.operator(), nil, &rec)
	if rec.Status != "settled" {
		t.Errorf("the record after a restart: %+v", rec)
	}
	w.audit()
}

// TestNetSettleOutsideSATNAHours: on a Friday night — no business day, SATNA closed, a customer order
// warehoused — a set settles at once, with no SATNA fee (1404's profile charges SATNA 0.02 %) and no minimum
// (an obligation of 1 rial settles).
func TestNetSettleOutsideSATNAHours(t *testing.T) {
	w := boot(t, "1404/02/05 23:00", func(c *server.Config) { c.External = []string{"056"}; c.Rules = "1404" })
	now := w.srv.Clock().Now()
	if open, _, err := calendar.Default().IsBusinessDay(calendar.DateOf(now.In(calendar.Tehran))); err != nil || open {
		t.Fatalf("%s is a business day", tehran(now))
	}
	payer, payee := w.satnaPick("017", 2*bn), w.satnaPick("012", 0)
	if o := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, 2*bn, "friday"), http.StatusCreated); o.Status != "warehoused" {
		t.Fatalf("a SATNA order on Friday night: %s, want warehoused", o.Status)
	}
	ps := []server.RailPayment{w.netPay("017", "012", 3*bn), w.netPay("012", "057", 1)}
	w.netMove("paya", "friday-cycle", ps...)
	before := w.netAll()
	res := w.netSettle("paya", netSetID("friday"), netObligations(ps...))
	nets := []rtgs.Net{{Bank: "012", AmountRial: -(3*bn - 1)}, {Bank: "017", AmountRial: 3 * bn}, {Bank: "057", AmountRial: -1}}
	if want := (rtgs.NetResult{Settled: nets}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	w.netExpectMoved("a Friday night set", before, nets) // exactly the nets: no fee anywhere
	w.netExpectPositions("after the Friday set", nil)
	if q := w.satnaQueue(); len(q) != 1 {
		t.Errorf("the SATNA warehouse holds %v, want the one order", q)
	}
	w.audit()
}

// TestNetSettleLeavesOutSuspendedBanks: a bank suspended by the operator neither pays nor is paid through a
// set: every obligation to or from it is taken out before planning (reason suspended), the others settle their
// recomputed nets; resumed, its own obligations settle.
func TestNetSettleLeavesOutSuspendedBanks(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := w.netExample()
	w.netMove("paya", "cycle-1", ps...)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/054/suspend", w.operator(), nil, nil)
	before := w.netAll()
	id := netSetID("suspended")
	res := w.netSettle("paya", id, netObligations(ps...))
	// Without 054 (owed 2.0 by 012, owing 1.0 to 017): 017 +5 −4 = +1; 012 −5; 055 +3; 057 −1.5; 056 +2.5.
	nets := []rtgs.Net{{Bank: "012", AmountRial: -5 * bn}, {Bank: "017", AmountRial: bn}, {Bank: "055", AmountRial: 3 * bn},
		{Bank: "056", AmountRial: 5 * bn / 2}, {Bank: "057", AmountRial: -3 * bn / 2}}
	if want := (rtgs.NetResult{Settled: nets, Excluded: []string{"054"}}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	w.netExpectMoved("the set without 054", before, nets)
	w.netExpectPositions("after the set", map[string]int64{"paya:012": 2 * bn, "paya:017": -1 * bn, "paya:054": -1 * bn})
	if n := w.netNotice("054", "rtgs.netset.excluded", id); n.Reason != "suspended" || n.NetRial != -1*bn {
		t.Errorf("054 heard %+v", n)
	}
	w.audit()
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/054/resume", w.operator(), nil, nil)
	before = w.netAll()
	rest := netObligations(ps[1], ps[2])
	restNets := []rtgs.Net{{Bank: "012", AmountRial: 2 * bn}, {Bank: "017", AmountRial: -1 * bn}, {Bank: "054", AmountRial: -1 * bn}}
	if res := w.netSettle("paya", netSetID("resumed"), rest); !reflect.DeepEqual(res, rtgs.NetResult{Settled: restNets}) {
		t.Fatalf("after resuming: %+v, want %+v", res, restNets)
	}
	w.netExpectMoved("after resuming", before, restNets)
	w.netExpectPositions("after resuming", nil)
	w.audit()
}

// TestNetSettleBankTurnedExternal: 058 is simulated while its customers pay in, then played as external: a
// set moves its settlement account alone (its book frozen), the audit stays clean; simulated again, its
// mirror and clearing account are brought to its settlement balance and position.
func TestNetSettleBankTurnedExternal(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ps := []server.RailPayment{w.netPay("058", "017", 2*bn), w.netPay("012", "058", bn/2)}
	w.netMove("paya", "cycle-1", ps...)
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/058/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	w.audit()
	// While external, a customer of 017 pays one of 058's, outside tasvieh on 058's side.
	more := server.RailPayment{FromBank: "017", FromSHEBA: w.satnaPick("017", bn).SHEBA, ToBank: "058", AmountRial: bn}
	w.netMove("paya", "cycle-2", more)
	w.netExpectPositions("058 external", map[string]int64{"paya:058": bn / 2, "paya:017": -bn, "paya:012": bn / 2})
	w.audit()
	before := w.netAll()
	obs := netObligations(append(ps, more)...)
	nets := []rtgs.Net{{Bank: "012", AmountRial: bn / 2}, {Bank: "017", AmountRial: -bn}, {Bank: "058", AmountRial: bn / 2}}
	if res := w.netSettle("paya", netSetID("external-058"), obs); !reflect.DeepEqual(res, rtgs.NetResult{Settled: nets}) {
		t.Fatalf("result %+v, want %+v", res, nets)
	}
	w.netExpectMoved("058 external", before, nets)
	w.audit()
	// Simulated again: a new position while it was simulated-then-external, then resync.
	w.netMove("paya", "cycle-3", server.RailPayment{FromBank: "058", ToBank: "054", ToSHEBA: w.satnaPick("054", 0).SHEBA, AmountRial: bn / 4})
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/058/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
	w.netExpectPositions("058 simulated again", map[string]int64{"paya:058": bn / 4, "paya:054": -bn / 4})
	w.audit()
}

// TestNetSettleWriteFailureMovesNothing: the batch carrying a set fails to write (an injected failure of its
// record's row): nothing moves, the positions in memory are rebuilt from the rows and still agree, and the
// same set settles once the database accepts it.
func TestNetSettleWriteFailureMovesNothing(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ctx := context.Background()
	ps := w.netExample()
	w.netMove("paya", "cycle-1", ps...)
	for _, q := range []string{
		`CREATE OR REPLACE FUNCTION net_fail() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN IF NEW.kind = 'rtgs.netset' THEN RAISE EXCEPTION 'net: injected failure'; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER net_fail BEFORE INSERT OR UPDATE ON rail_objects FOR EACH ROW EXECUTE FUNCTION net_fail()`,
	} {
		if _, err := w.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	before := w.netAll()
	id := netSetID("write-fails")
	if _, err := w.srv.SettleNets(ctx, rtgs.NetSet{ID: id, Rail: "paya", Obligations: netObligations(ps...)}); err == nil {
		t.Fatal("a set whose write failed answered no error")
	}
	if _, err := w.pool.Exec(ctx, `DROP TRIGGER net_fail ON rail_objects`); err != nil {
		t.Fatal(err)
	}
	for i := 0; w.srv.Store().Err() != nil; i++ { // the writer reloads after the failed write
		if i == 200 {
			t.Fatalf("the store stays down: %v", w.srv.Store().Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.netExpectMoved("a failed write", before, nil)
	w.netExpectPositions("after a failed write", netExamplePositions)
	w.audit()
	res := w.netSettle("paya", id, netObligations(ps...))
	if !reflect.DeepEqual(res, rtgs.NetResult{Settled: netExampleNets}) {
		t.Fatalf("the retry: %+v", res)
	}
	w.netExpectMoved("the retry", before, netExampleNets)
	w.netExpectPositions("after the retry", nil)
	w.audit()
}

// TestNetSettleRefusesMalformedSets: a set with no id, an unknown rail, a malformed obligation (rtgs's own
// errors) or a bank that is no member is refused whole, and nothing moves.
func TestNetSettleRefusesMalformedSets(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	before := w.netAll()
	good := []rtgs.Obligation{{From: "017", To: "012", AmountRial: 10}}
	for _, c := range []struct {
		name   string
		set    rtgs.NetSet
		engine bool // wraps rtgs.ErrNets too
	}{
		{"no id", rtgs.NetSet{Rail: "paya", Obligations: good}, false},
		{"satna is not a deferred rail", rtgs.NetSet{ID: netSetID("a"), Rail: "satna", Obligations: good}, false},
		{"a bank owes itself", rtgs.NetSet{ID: netSetID("b"), Rail: "paya", Obligations: []rtgs.Obligation{{From: "017", To: "017", AmountRial: 5}}}, true},
		{"a zero amount", rtgs.NetSet{ID: netSetID("c"), Rail: "paya", Obligations: []rtgs.Obligation{{From: "017", To: "012"}}}, true},
		{"a code of two digits", rtgs.NetSet{ID: netSetID("d"), Rail: "paya", Obligations: []rtgs.Obligation{{From: "17", To: "012", AmountRial: 5}}}, true},
		{"no member 099", rtgs.NetSet{ID: netSetID("e"), Rail: "paya", Obligations: []rtgs.Obligation{{From: "099", To: "012", AmountRial: 5}}}, false},
	} {
		_, err := w.srv.SettleNets(context.Background(), c.set)
		if !errors.Is(err, server.ErrNetSet) || errors.Is(err, rtgs.ErrNets) != c.engine {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.set.ID != ([16]byte{}) {
			w.must(http.StatusNotFound, http.MethodGet, "/v1/operator/rtgs/netsets/"+ids.String(c.set.ID), w.operator(), nil, nil)
		}
	}
	w.netExpectMoved("refused sets", before, nil)
	// An empty set is no error: nothing to settle, recorded as such.
	if res := w.netSettle("paya", netSetID("empty"), nil); !reflect.DeepEqual(res, rtgs.NetResult{}) {
		t.Errorf("an empty set: %+v", res)
	}
	w.must(http.StatusNotFound, http.MethodGet, "/v1/operator/rtgs/netsets/not-an-id", w.operator(), nil, nil)
	w.audit()
}

// TestAuditNamesANetAccountLeftHolding: the CBI's net account of a rail holds nothing after its sets; one
// made to hold something (by SQL, as no chain can leave it so) is named by the audit.
func TestAuditNamesANetAccountLeftHolding(t *testing.T) {
	w := netBoot(t, "1404/02/01 10:00")
	ctx := context.Background()
	net := server.AccountID(1, server.KeyNet("card"))
	if _, err := w.pool.Exec(ctx, "UPDATE accounts SET credits_posted = credits_posted + 7 WHERE id = $1", net.String()); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Audit(ctx, w.pool)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.String(), "net-settlement account "+net.String()+" (cbi:net:card) holds 7 rial") {
		t.Errorf("the audit missed the net account: %s", rep)
	}
	if _, err := w.pool.Exec(ctx, "UPDATE accounts SET credits_posted = credits_posted - 7 WHERE id = $1", net.String()); err != nil {
		t.Fatal(err)
	}
}

// TestNetSettleLeavesOutADissolvedBank: Ayandeh (062) is dissolved into Melli on 1404/08/03: a set decided
// after that leaves it out (reason inactive), with everything owed to or by it; the others settle.
func TestNetSettleLeavesOutADissolvedBank(t *testing.T) {
	w := netBoot(t, "1404/08/01 10:00")
	ps := []server.RailPayment{w.netPay("017", "062", 2*bn), w.netPay("062", "012", bn), w.netPay("012", "017", bn/2)}
	w.netMove("paya", "before-dissolution", ps...)
	w.restart(func(c *server.Config) { c.Start = jalali(t, "1404/08/04 10:00") })
	before := w.netAll()
	id := netSetID("dissolved")
	res := w.netSettle("paya", id, netObligations(ps...))
	nets := []rtgs.Net{{Bank: "012", AmountRial: bn / 2}, {Bank: "017", AmountRial: -bn / 2}}
	if want := (rtgs.NetResult{Settled: nets, Excluded: []string{"062"}}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	w.netExpectMoved("the set without 062", before, nets)
	w.netExpectPositions("after the set", map[string]int64{"paya:017": 2 * bn, "paya:062": -bn, "paya:012": -bn})
	var rec api.NetSet
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets/"+ids.String(id), w.operator(), nil, &rec)
	if len(rec.Excluded) != 1 || rec.Excluded[0] != (api.NetExclusion{Bank: "062", Reason: "inactive", NetRial: -bn}) {
		t.Errorf("the record: %+v", rec)
	}
	w.audit()
}
