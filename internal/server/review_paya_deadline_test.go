package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/sheba"
)

// TestReviewPAYAEarlyRunPostsBeforeDeadline: entries handed to an external bank in the 09:45 cycle may be
// returned until the 12:45 cut-off. At 10:00 the operator runs "the open cycle" (the default of POST
// /v1/operator/paya/cycles/run: the 12:45 one). postExpired compares the deadline with the cycle's cut-off,
// not with the time, so the entries are posted at 10:00 and the bank's return at 10:05 — before its deadline —
// is refused.
func TestReviewPAYAEarlyRunPostsBeforeDeadline(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.External = []string{"056"} })
	payer := w.satnaPick("017", 1_000_000_000)
	x1, _ := sheba.Generate("056", 0, "100001")
	e := w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف", PayeeSHEBA: x1.String(),
		PayeeName: "ب", AmountRial: 11 * u, Reference: "early-1"})
	w.payAdvance("1404/02/01 10:00")
	got := w.payGet("056", e.ID)
	if got.Status != "settled" || got.ReturnDeadline == nil {
		t.Fatalf("handed over: %+v", got)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/paya/cycles/run", w.operator(), api.PAYACycleRun{}, nil)
	w.payAdvance("1404/02/01 10:05")
	st, b := w.do(http.MethodPost, "/v1/paya/entries/"+e.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "account_closed"})
	if st != http.StatusOK {
		t.Errorf("return at 10:05, before the deadline %s: %d %s", got.ReturnDeadline, st, b)
	}
}

// TestReviewPAYAReturnRacesDeadlinePosting: an external bank returns its entries while the cycle that posts
// them at their deadline runs. returnExternal checks the entry's status on a row read before its decision;
// postDelivered writes rows read before its decision. Neither re-reads under the writer, so an entry can end
// both posted and returned (a return entry exists, the original says posted), or returned and then posted.
func TestReviewPAYAReturnRacesDeadlinePosting(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.External = []string{"056"} })
	payer := w.satnaPick("017", 10_000_000_000)
	const n = 120
	var es []api.PAYAEntry
	for i := range n {
		x, _ := sheba.Generate("056", 0, fmt.Sprintf("3%05d", i))
		es = append(es, w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف",
			PayeeSHEBA: x.String(), PayeeName: "ب", AmountRial: u + int64(i), Reference: fmt.Sprintf("race-%03d", i)}))
	}
	w.payAdvance("1404/02/01 10:00")
	var wg sync.WaitGroup
	codes := make([]int, n)
	wg.Add(1)
	go func() { // the 12:45 cycle, run early by the operator: it posts what is still delivered
		defer wg.Done()
		w.do(http.MethodPost, "/v1/operator/paya/cycles/run", w.operator(), api.PAYACycleRun{})
	}()
	for i, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = w.do(http.MethodPost, "/v1/paya/entries/"+e.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "account_closed"})
		}()
	}
	wg.Wait()
	for i, e := range es {
		got := w.payGet("017", e.ID)
		if got.Status == "posted" && codes[i] == http.StatusOK {
			t.Errorf("entry %s: its return answered 200 but the entry says posted (returned_by %q)", e.Reference, got.ReturnedBy)
		}
		if got.Status == "posted" && got.ReturnedBy != "" {
			t.Errorf("entry %s: posted and returned by %s", e.Reference, got.ReturnedBy)
		}
	}
	w.audit()
}

// TestReviewPAYADebitReturnRacesDeadlinePosting: the same race on debits handed to an external payer's bank:
// the return refunds the payer and the stale posting credits the biller too — the biller's bank gives money
// out twice, and the audit's pending legs disagree.
func TestReviewPAYADebitReturnRacesDeadlinePosting(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.External = []string{"056"} })
	biller := w.satnaPick("012", 0)
	const n = 60
	var es []api.PAYAEntry
	for i := range n {
		x, _ := sheba.Generate("056", 0, fmt.Sprintf("4%05d", i))
		var m api.PAYAMandate
		w.must(http.StatusCreated, http.MethodPost, "/v1/paya/mandates", w.bank("012"), api.PAYAMandateRequest{BillerSHEBA: biller.SHEBA,
			BillerName: "شرکت آب", PayerSHEBA: x.String(), PayerName: "مشترک", MaxPerDebitRial: 20 * u, MaxDebitsPerMonth: 3,
			StartDate: "1404/02/01", EndDate: "1405/01/31", BillerReference: fmt.Sprintf("w-%03d", i)}, &m)
		if m.Status != "active" {
			w.must(http.StatusOK, http.MethodPost, "/v1/paya/mandates/"+m.ID+"/approve", w.bank("056"), api.PAYAMandateDecision{}, &m)
		}
		es = append(es, w.paySubmit("012", api.PAYAEntryRequest{Core: "debit", PayerSHEBA: x.String(), PayerName: "مشترک",
			PayeeSHEBA: biller.SHEBA, PayeeName: "شرکت آب", AmountRial: u + int64(i), Reference: fmt.Sprintf("drace-%03d", i), MandateID: m.ID}))
	}
	w.payAdvance("1404/02/01 10:00")
	held := w.satnaHeld("012", biller.SHEBA)
	var wg sync.WaitGroup
	codes := make([]int, n)
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.do(http.MethodPost, "/v1/operator/paya/cycles/run", w.operator(), api.PAYACycleRun{})
	}()
	for i, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = w.do(http.MethodPost, "/v1/paya/entries/"+e.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "insufficient_funds"})
		}()
	}
	wg.Wait()
	var want int64
	for i, e := range es {
		if codes[i] != http.StatusOK {
			want += e.AmountRial
		}
	}
	if got := w.satnaHeld("012", biller.SHEBA); got != held+want {
		t.Errorf("biller: %d, want %d (credited only for the debits not returned)", got-held, want)
	}
	w.audit()
}
