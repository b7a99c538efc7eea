package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// reviewCommittedSet brings up largeGridlock (017 → 012 → 054, n orders each way) and closes it with 054 →
// 017 for 500,000 rial more than the cycle, with the completion of the large set's chunks failing: the set's
// commit point is durable (nets 017 +500,000, 054 −500,000, mirrors moved against the books' transit
// accounts), its chunks pending. It answers the member ids and the fault's switch.
func reviewCommittedSet(t *testing.T, w *world) (ids []string, n int, clear func()) {
	t.Helper()
	n = postgres.RequestTransfersMax/2 + 4
	ids = largeGridlock(t, w, n)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
		api.LiquidityRequest{BankCode: "054", AmountRial: 500_000, Reference: "some-054"}, nil)
	server.SetOffsetChunkFault(w.srv, func() error { return errors.New("injected: the chunk's decision fails") })
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("054"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "017", AmountRial: int64(n)*1_000 + 500_000, Reference: "big-close"}, nil)
	return ids, n, func() { server.SetOffsetChunkFault(w.srv, nil) }
}

// TestReviewLargeSetTransitStrandedWhenABankChangesModeBeforeCompletion: a large set's commit point moves
// each SIMULATED bank's mirror by its net against its book's transit account; completion moves each order's
// book legs through the transit accounts of the banks that are simulated AT COMPLETION (bookLegs asks
// w.live now). SetSimulation does not take the rail's lock and nothing records which books took part, so a
// bank that is switched between the two stages (here: the chunks' completion failed, and is "tried again
// after the next decisions") leaves its transit account off zero for good: 054 (net −500,000, simulated at
// the commit point) goes external, completion writes no legs in its book, and after it is simulated again
// (resync puts its mirror right) its transit still holds −500,000 with no set being completed — the audit's
// "books: offsetting transit" finding, for ever. The reverse (external at the commit point, simulated at
// completion) posts legs through a transit that never took the net.
//
// Fix: record at the commit point which banks' books took a mirror leg (in the set's or each chunk's
// body) and move book legs in exactly those books at completion, whatever their mode then; or refuse
// SetSimulation for a bank with a set being completed (take r.mu, check r.offsetting).
func TestReviewLargeSetTransitStrandedWhenABankChangesModeBeforeCompletion(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	_, _, clear := reviewCommittedSet(t, w)
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(),
		api.Simulation{Mode: "external", Online: true}, nil)
	clear()
	w.satnaInject("012", 1, "kick") // a release: afterDecisions completes the pending chunks
	var pending int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM rail_objects WHERE kind = 'satna.offset.chunk' AND status = 'pending'`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d chunks still pending after the fault was cleared", pending)
	}
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(),
		api.Simulation{Mode: "simulated", Online: true}, nil)
	rep, err := postgres.Audit(context.Background(), w.pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if strings.Contains(f, "offsetting transit") {
			t.Errorf("after the set completed with 054 switched to external and back in between: %s", f)
		}
	}
	// The boot's own audit at cleanup would say it again; the finding is the one above.
	w.srv.Close()
	w.srv = nil
}

// TestReviewLargeSetMemberAnswersQueuedAfterItsCommitPoint: between a large set's commit point and the
// completion of its chunk, a member's money has moved at the CBI (final: its revocation answers
// irrevocable, the operator's queue no longer lists it) but its row — and so GET, a repeat submission and
// the bank's list — says "queued". A bank that asks is told its payment has not been made, while the
// revocation it then tries says "order … is queued: settlement is final". ARCHITECTURE.md: "An order's
// status and its money never disagree after a crash"; here they do for as long as completion is pending
// (until the next decisions retry it, or a restart).
//
// Fix: answer a member of a committed set (r.offsetMember, or its pending chunk row) as settled at the
// commit point (settled_at from the set's body) in SATNAOrder, the repeat path and the listing; or give the
// member rows a status of their own at the commit point (in chunks, if one request cannot hold them).
func TestReviewLargeSetMemberAnswersQueuedAfterItsCommitPoint(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	ids, n, clear := reviewCommittedSet(t, w)
	defer clear()
	var e api.Error
	w.must(http.StatusConflict, http.MethodPost, "/v1/satna/orders/"+ids[0]+"/revoke", w.bank("017"), nil, &e)
	t.Logf("revoke: %s: %s", e.Code, e.Message)
	var got api.SATNAOrder
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+ids[0], w.bank("017"), nil, &got)
	if got.Status == "queued" {
		t.Errorf("GET of a member whose set is committed (money moved, irrevocable): %s", got.Status)
	}
	var rep api.SATNAOrder
	w.must(http.StatusOK, http.MethodPost, "/v1/satna/orders", w.bank("017"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "012", AmountRial: 1_000, Reference: "big-0"}, &rep)
	if rep.ID != ids[0] || rep.Status == "queued" {
		t.Errorf("repeat of a member whose set is committed: %s %s", rep.ID, rep.Status)
	}
	_ = n
}

// reviewPendingChunks counts the large sets' chunks not yet completed.
func (w *world) reviewPendingChunks() int {
	w.t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM rail_objects WHERE kind = 'satna.offset.chunk' AND status = 'pending'`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestReviewLargeSetChunkRefusedForEverWhenAPayerHasTwoOrders: completion is meant to survive a payer who
// can no longer cover its order ("another rail drew on the account between the two stages": bookLegs then
// debits the bank's equity). But bookLegs checks each order against the payer's balance as it stood when
// the chunk's decision began — not net of the payer's earlier orders in the same chunk, whose legs are only
// proposed at the end, all in one linked chain without FlagNet. A payer with two orders of a in one chunk
// and between a+fee and 2(a+fee) left passes both checks; the chain's second payer leg exceeds the balance,
// the ledger refuses the whole chunk, and every retry builds the same chain: the chunk stays pending for
// ever — its members "queued" rows with their money moved at the CBI, the transit accounts off zero, and
// the audit's transit check switched off for every set as long as any chunk is pending.
//
// Scenario: largeGridlock plus two customer orders of 200,000,000 rial from one 017 customer to 054, all
// closed by 054 → 017 (every net zero: a commit point of rows only); the chunks' completion fails once;
// meanwhile a PAYA move (the test rail) leaves the payer a+fee+1; completion is retried.
//
// Fix: in bookLegs, check the payer's cover cumulatively within the chunk (as offsetLarge does with
// paying), falling back to equity for the order that no longer fits; or mark the chain FlagNet.
func TestReviewLargeSetChunkRefusedForEverWhenAPayerHasTwoOrders(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	n := postgres.RequestTransfersMax/2 + 4
	const a = int64(200_000_000)
	payer := w.satnaPick("017", 3*a)
	payee := w.satnaPick("054", 0)
	largeGridlock(t, w, n)
	w.satnaAdvance(jalali(t, "1404/02/01 09:01")) // later than every interbank order: last in 017's lane, one chunk
	var c1, c2 api.SATNAOrder
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"), satnaCustomerOrder(payer, payee, a, "two-a"), &c1)
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"), satnaCustomerOrder(payer, payee, a, "two-b"), &c2)
	if c1.Status != "queued" || c2.Status != "queued" {
		t.Fatalf("customer orders: %s %s, want queued", c1.Status, c2.Status)
	}
	server.SetOffsetChunkFault(w.srv, func() error { return errors.New("injected: the chunk's decision fails") })
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("054"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "017", AmountRial: int64(n)*1_000 + 2*a, Reference: "big-close"}, nil)
	if w.reviewPendingChunks() == 0 {
		t.Fatal("no large set was committed")
	}
	chunks := map[string]bool{}
	for _, o := range []api.SATNAOrder{c1, c2} {
		var chunk string
		_ = w.pool.QueryRow(context.Background(), `SELECT id FROM rail_objects WHERE kind = 'satna.offset.chunk' AND body->'orders' ? $1`, o.ID).Scan(&chunk)
		chunks[chunk] = true
	}
	if len(chunks) != 1 {
		t.Fatalf("setup: the two customer orders are not in one chunk: %v", chunks)
	}
	held := w.satnaHeld("017", payer.SHEBA)
	if held < 2*(a+c1.FeeRial) {
		t.Fatalf("the payer holds %d before completion, want at least %d", held, 2*(a+c1.FeeRial))
	}
	draw := held - (a + c1.FeeRial + 1)
	if err := server.RailMoveForTest(context.Background(), w.srv, "paya", "review-draw", false, server.RailPayment{
		FromBank: "017", FromSHEBA: payer.SHEBA, ToBank: "054", ToSHEBA: payee.SHEBA, AmountRial: draw}); err != nil {
		t.Fatal(err)
	}
	server.SetOffsetChunkFault(w.srv, nil)
	w.satnaInject("012", 1, "kick-1") // releases: afterDecisions completes the pending chunks
	w.satnaInject("012", 1, "kick-2")
	if p := w.reviewPendingChunks(); p != 0 {
		t.Errorf("%d chunk(s) still pending after two retries of completion, the payer left with a+fee+1", p)
	}
	for _, o := range []api.SATNAOrder{c1, c2} {
		if st := w.advStatus(o.ID); st == "queued" {
			t.Errorf("%s: row %s after completion was retried (its money moved at the commit point)", o.Reference, st)
		}
	}
}

// TestReviewUpgradedExternalBankGetsNoTransitAccount: 54e8936 adds an account to every book (the transit
// 'satna:offset'). Books laid out before it get theirs in openWorld — but only for banks simulated at that
// start. A bank external at the upgrade keeps a book without one; when it is made simulated later,
// layOutBook finds the book laid out ("open") and returns before creating anything, so the account never
// comes. Every large offsetting set with a non-zero net for that bank then proposes a mirror leg on an
// account that does not exist: the ledger refuses the commit point, the set "stays queued", and the
// gridlock never clears (each pass finds the same set, refused again).
//
// Scenario, the upgrade emulated: 054 is made external, the server stops, 054's transit account is removed
// (as a book laid out before 54e8936 is), the server starts again; 054 is made simulated; a large gridlock
// whose net for 054 is −500,000 is closed.
//
// Fix: create the accounts added to the layout for every book that exists, whatever the bank's mode (in
// openWorld), or in layOutBook's "already laid out" path too.
func TestReviewUpgradedExternalBankGetsNoTransitAccount(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	w.srv.Close()
	tag, err := w.pool.Exec(context.Background(), `DELETE FROM accounts WHERE ledger = 1054 AND external_key = 'satna:offset'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("removing 054's transit account: %v %v", tag, err)
	}
	w.srv = nil
	w.open()
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
	var has bool
	if err := w.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM accounts WHERE ledger = 1054 AND external_key = 'satna:offset')`).Scan(&has); err != nil {
		t.Fatal(err)
	}
	if !has {
		t.Errorf("054 is simulated again and its book has no transit account 'satna:offset'")
	}
	n := postgres.RequestTransfersMax/2 + 4
	largeGridlock(t, w, n)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
		api.LiquidityRequest{BankCode: "054", AmountRial: 500_000, Reference: "some-054"}, nil)
	var closing api.SATNAOrder
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("054"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "017", AmountRial: int64(n)*1_000 + 500_000, Reference: "big-close"}, &closing)
	if closing.Status != "settled" {
		t.Errorf("the order closing a covered large gridlock: %s, want settled (the set's commit point was refused)", closing.Status)
	}
}
