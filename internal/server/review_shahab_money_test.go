package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestReviewShahabLateCreditAfterRestart: a slow simulated destination (latency past the deadline) — the
// transfer is refunded at the deadline while the switch runs; the switch restarts before the bank's late
// credit would arrive. The late credit (credit + reversal, the reconciliation case) must still be recorded.
func TestReviewShahabLateCreditAfterRestart(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	w.simulate("012", api.Simulation{Online: true, LatencyMS: 40_000})
	done := make(chan api.ShahabTransfer)
	go func() {
		st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, b.card, 4*u, "late-restart"))
		if st != http.StatusCreated {
			t.Errorf("transfer: %d %s", st, body)
		}
		done <- decode[api.ShahabTransfer](t, body)
	}()
	p := w.waitPendingTransfer(t, "017")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "16s"}, nil)
	if got := <-done; got.Status != "refunded" {
		t.Fatalf("at the deadline: %+v", got)
	}
	w.restart(func(c *server.Config) { c.Start = time.Time{} })
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "60s"}, nil)
	var got api.ShahabTransfer
	for range 100 {
		if got = w.getTransfer("017", p.ID); got.Late != nil {
			break
		}
		sleepBriefly()
	}
	if got.Late == nil {
		t.Errorf("the slow bank's late credit due after the restart was never recorded: %+v (reconciliation misses it)", got)
	}
	w.audit()
}

// TestReviewShahabMergedBIN: Ansar's BIN 627381 routes to 015 Sepah, as source and as destination.
func TestReviewShahabMergedBIN(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	var ansar []holder
	for _, c := range w.customers("015").Customers {
		for _, k := range c.Cards {
			if strings.HasPrefix(k.PAN, "627381") && k.Status == "active" && k.Magic == "" && c.Status == "active" && c.Magic == "" {
				ansar = append(ansar, holder{bank: "015", c: c, card: k})
			}
		}
	}
	t.Logf("015 holds %d active Ansar-BIN cards", len(ansar))
	a := w.holders("017", 1, 50*u)[0]
	if len(ansar) == 0 {
		pan, _ := card.Generate("627381", 1)
		tr := w.transfer("017", cardReq(a, api.CustomerCard{PAN: pan.String()}, 1*u, "to-ansar"), "refunded", "destination_card_not_found")
		if tr.DestinationBank != "015" {
			t.Errorf("routed to %s", tr.DestinationBank)
		}
		return
	}
	tr := w.transfer("017", cardReq(a, ansar[0].card, 1*u, "to-ansar"), "succeeded", "approved")
	if tr.DestinationBank != "015" {
		t.Errorf("routed to %s", tr.DestinationBank)
	}
	if *ansar[0].c.BalanceRial > 2*u {
		tr = w.transfer("017", cardReq(ansar[0], a.card, 1*u, "from-ansar"), "succeeded", "approved")
		if tr.SourceBank != "015" {
			t.Errorf("source routed to %s", tr.SourceBank)
		}
	}
	w.audit()
}

// TestReviewShahabDestinationSwitchedWhileWaiting: the destination bank (simulated, slow but inside the
// deadline) is switched to external while the transfer waits, then back; and another is suspended while a
// transfer waits, and the window settles with it left out, then after its resume. The audit stays clean and
// the nets equal the succeeded transfers.
func TestReviewShahabDestinationSwitchedWhileWaiting(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	c := w.holders("016", 1, 0)[0]
	b0, c0 := w.held("012", b.c.SHEBA), w.held("016", c.c.SHEBA)
	w.simulate("012", api.Simulation{Online: true, LatencyMS: 5_000})
	w.simulate("016", api.Simulation{Online: true, LatencyMS: 5_000})
	var wg sync.WaitGroup
	res := make([]api.ShahabTransfer, 2)
	for i, to := range []api.CustomerCard{b.card, c.card} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, to, int64(i+1)*u, "sw-"+string(rune('a'+i))))
			if st != http.StatusCreated {
				t.Errorf("transfer: %d %s", st, body)
				return
			}
			res[i] = decode[api.ShahabTransfer](t, body)
		}()
	}
	for range 200 {
		var p api.ShahabTransferPage
		w.must(http.StatusOK, http.MethodGet, "/v1/shahab/transfers?status=pending", w.bank("017"), nil, &p)
		if len(p.Transfers) == 2 {
			break
		}
		sleepBriefly()
	}
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/016/suspend", w.operator(), nil, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "6s"}, nil)
	wg.Wait()
	t.Logf("to 012 (switched external): %s %s; to 016 (suspended): %s %s", res[0].Status, res[0].Code, res[1].Status, res[1].Code)
	w.audit()
	var win api.ShahabWindow
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/shahab/windows/settle", w.operator(), nil, &win)
	t.Logf("window 1: %+v", win)
	w.audit()
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/016/resume", w.operator(), nil, nil)
	w.audit()
	if res[0].Status == "succeeded" && w.held("012", b.c.SHEBA) != b0+1*u {
		t.Errorf("012 answered credited as a simulated bank, then switched external before the post: the transfer succeeded (payer debited %d + fee) but its cardholder %s holds %d, want %d",
			1*u, b.c.SHEBA, w.held("012", b.c.SHEBA), b0+1*u)
	}
	if res[1].Status == "succeeded" && w.held("016", c.c.SHEBA) != c0+2*u {
		t.Errorf("016 cardholder %d, want %d", w.held("016", c.c.SHEBA), c0+2*u)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "1s"}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/shahab/windows/settle", w.operator(), nil, &win)
	t.Logf("window 2: %+v", win)
	if got := w.cardPositions(); len(got) != 0 {
		t.Errorf("card positions after both windows = %v, want none", got)
	}
	w.audit()
}
