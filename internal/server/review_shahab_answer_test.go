package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/card"
)

func (w *world) reviewExternal054(t *testing.T) *externalBank {
	ext := newExternalBank(t)
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	var hook api.Webhook
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: ext.URL}, &hook)
	ext.mu.Lock()
	ext.secret = hook.Secret
	ext.mu.Unlock()
	return ext
}

// TestReviewShahabAnswerRacingDeadline: an external destination POSTs "credited" just as the deadline passes.
// Whatever wins, the bank's answer must not vanish: either the transfer succeeds, or it is refunded and the
// credit is recorded as a late answer (reversed, in the reconciliation report). An answer accepted with 200
// whose transfer ends refunded with no late record is a credit the bank made and the switch refunded.
func TestReviewShahabAnswerRacingDeadline(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 100*u)[0]
	w.reviewExternal054(t)
	var bank api.Bank
	w.must(http.StatusOK, http.MethodGet, "/v1/banks/054", w.bank("017"), nil, &bank)
	lost := 0
	for i := range 100 {
		pan, _ := card.Generate(bank.BINs[0], uint64(700_000+i))
		done := make(chan api.ShahabTransfer, 1)
		go func() {
			_, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, api.CustomerCard{PAN: pan.String()}, int64(1000+i), fmt.Sprintf("race-%d", i)))
			done <- decode[api.ShahabTransfer](t, body)
		}()
		p := w.waitPendingTransfer(t, "017")
		var wg sync.WaitGroup
		var st int
		var body []byte
		wg.Add(2)
		go func() {
			defer wg.Done()
			w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "15s"})
		}()
		go func() {
			defer wg.Done()
			st, body = w.do(http.MethodPost, "/v1/shahab/transfers/"+p.ID+"/answer", w.bank("054"), api.ShahabAnswerRequest{Result: "credited"})
		}()
		wg.Wait()
		<-done
		final := w.getTransfer("017", p.ID)
		if st == http.StatusOK && final.Status == "refunded" && final.Late == nil {
			lost++
			t.Logf("transfer %d: the answer got %d %s; the transfer ends refunded with no late record", i, st, body)
		}
	}
	if lost > 0 {
		t.Errorf("%d of 100 credited answers accepted (200) then lost: refunded, no late answer recorded, nothing reversed", lost)
	}
	w.audit()
}

// TestReviewShahabAnswerFromOtherBank: only the destination may answer; bad results are 422.
func TestReviewShahabAnswerFromOtherBank(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 100*u)[0]
	ext := w.reviewExternal054(t)
	var bank api.Bank
	w.must(http.StatusOK, http.MethodGet, "/v1/banks/054", w.bank("017"), nil, &bank)
	pan, _ := card.Generate(bank.BINs[0], 800_001)
	_ = ext
	go w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, api.CustomerCard{PAN: pan.String()}, 5_000, "other-bank"))
	p := w.waitPendingTransfer(t, "017")
	for _, tc := range []struct {
		bank string
		req  any
		want int
	}{
		{"017", api.ShahabAnswerRequest{Result: "credited"}, http.StatusNotFound},
		{"012", api.ShahabAnswerRequest{Result: "credited"}, http.StatusNotFound},
		{"054", api.ShahabAnswerRequest{Result: "maybe"}, http.StatusUnprocessableEntity},
		{"054", map[string]any{"result": 1}, http.StatusUnprocessableEntity},
		{"054", api.ShahabAnswerRequest{Result: "refused", Code: "x\u0000y"}, http.StatusUnprocessableEntity},
		{"054", api.ShahabAnswerRequest{Result: "refused", Code: "weird_code"}, http.StatusOK},
	} {
		if st, body := w.do(http.MethodPost, "/v1/shahab/transfers/"+p.ID+"/answer", w.bank(tc.bank), tc.req); st != tc.want {
			t.Errorf("answer %v from %s: %d %s, want %d", tc.req, tc.bank, st, body, tc.want)
		}
	}
	got := w.waitStatus(t, "017", p.ID, "refunded")
	if got.Code != "destination_refused" {
		t.Errorf("refused with a control-character code: %+v", got)
	}
	w.audit()
}
