package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/webhook"
)

// externalBank plays a bank under test on its webhook: it answers the switch's signed calls as told per
// amount (credited, refused, or nothing: 202).
type externalBank struct {
	*httptest.Server
	mu      sync.Mutex
	secret  string
	answers map[int64]string // amount → "credited", "refused" or "" (no answer in the call)
	calls   []map[string]any
}

func newExternalBank(t *testing.T) *externalBank {
	e := &externalBank{answers: map[int64]string{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		secret := e.secret
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		var out []byte
		switch typ := r.Header.Get(webhook.HeaderEventType); typ {
		case "shahab.inquiry", "shahab.credit_request":
			e.calls = append(e.calls, req) // notifications (webhook deliveries) come here too, uncounted
		}
		switch r.Header.Get(webhook.HeaderEventType) {
		case "shahab.inquiry":
			out, _ = json.Marshal(map[string]string{"name": "Bank Under Test Holder"})
		case "shahab.credit_request":
			amount, _ := req["amount_rial"].(float64)
			if a := e.answers[int64(amount)]; a != "" {
				out, _ = json.Marshal(api.ShahabAnswerRequest{Result: a, Code: "card_blocked"})
			}
		}
		e.mu.Unlock()
		if webhook.Verify(secret, r.Header, body, time.Now(), 0) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		webhook.SignHeader(w.Header(), secret, time.Now(), out)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(e.Close)
	return e
}

// TestShahabExternalDestination: a bank under test gets a signed credit request and answers it in the call,
// in a POST of its own, or too late: a late credit is reversed, listed for reconciliation, and nothing moves.
func TestShahabExternalDestination(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	a0 := w.held("017", a.c.SHEBA)
	ext := newExternalBank(t)
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	var hook api.Webhook
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: ext.URL}, &hook)
	ext.mu.Lock()
	ext.secret = hook.Secret
	ext.answers[2*u] = "credited"
	ext.answers[3*u] = "refused"
	ext.mu.Unlock()
	var bank api.Bank
	w.must(http.StatusOK, http.MethodGet, "/v1/banks/054", w.bank("017"), nil, &bank)
	pan, err := card.Generate(bank.BINs[0], 123_456)
	if err != nil {
		t.Fatal(err)
	}
	dest := api.CustomerCard{PAN: pan.String()}

	var in api.ShahabInquiry
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/inquiries", w.bank("017"), api.ShahabInquiryRequest{DestinationPAN: dest.PAN}, &in)
	if in.Name != "Bank Under Test Holder" || in.Bank != "054" {
		t.Errorf("inquiry of an external bank = %+v", in)
	}
	w.transfer("017", cardReq(a, dest, 2*u, "ext-credited"), "succeeded", "approved")
	w.transfer("017", cardReq(a, dest, 3*u, "ext-refused"), "refunded", "destination_card_blocked")
	if got := w.cardPositions(); got["017"] != 2*u || got["054"] != -2*u {
		t.Errorf("card positions = %v, want 017 +2M, 054 -2M", got)
	}

	// No answer in the call: the bank POSTs one before the deadline.
	pending := w.submitAsync("017", cardReq(a, dest, 4*u, "ext-answer"))
	p := w.waitPendingTransfer(t, "017")
	var answered api.ShahabTransfer
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/transfers/"+p.ID+"/answer", w.bank("054"), api.ShahabAnswerRequest{Result: "credited"}, &answered)
	if got := <-pending; got.Status != "succeeded" || got.ID != p.ID || answered.Status != "succeeded" {
		t.Errorf("answered in time: %+v / %+v, want succeeded", got, answered)
	}
	w.must(http.StatusNotFound, http.MethodPost, "/v1/shahab/transfers/"+p.ID+"/answer", w.bank("012"), api.ShahabAnswerRequest{Result: "credited"}, nil)

	// No answer by the deadline: refunded; the credit that follows is late, reversed, reconciled.
	pending = w.submitAsync("017", cardReq(a, dest, 5*u, "ext-late"))
	p = w.waitPendingTransfer(t, "017")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "16s"}, nil)
	if got := <-pending; got.Status != "refunded" || got.Code != "destination_timeout" || got.FeeRial != 0 {
		t.Fatalf("unanswered = %+v, want refunded destination_timeout", got)
	}
	var late api.ShahabTransfer
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/transfers/"+p.ID+"/answer", w.bank("054"), api.ShahabAnswerRequest{Result: "credited"}, &late)
	if late.Status != "refunded" || late.Late == nil || late.Late.Result != "credited" || late.Late.Action != "reversed" {
		t.Errorf("late answer = %+v, want refunded with a reversed late credit", late)
	}
	var again api.ShahabTransfer
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/transfers/"+p.ID+"/answer", w.bank("054"), api.ShahabAnswerRequest{Result: "credited"}, &again)
	if again.Late == nil || !again.Late.ReceivedAt.Equal(late.Late.ReceivedAt) {
		t.Errorf("a repeated late answer = %+v, want the first recorded", again.Late)
	}
	var rec api.ShahabReconciliation
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/shahab/reconciliation?date=1404/02/01", w.operator(), nil, &rec)
	if len(rec.Cases) != 1 || rec.Cases[0].ID != p.ID {
		t.Errorf("reconciliation = %+v, want the late transfer", rec.Cases)
	}
	if got, want := w.held("017", a.c.SHEBA), a0-2*u-4*u-2*cardFee; got != want {
		t.Errorf("source = %d, want %d: two credited, two refunded in full", got, want)
	}
	if got := w.cardPositions(); got["017"] != 6*u || got["054"] != -6*u {
		t.Errorf("card positions = %v, want 017 +6M, 054 -6M", got)
	}
	ext.mu.Lock()
	calls := len(ext.calls)
	ext.mu.Unlock()
	if calls != 5 { // the inquiry and four credit requests
		t.Errorf("the bank was called %d times, want 5", calls)
	}
	w.audit()
}

// submitAsync submits a transfer in the background; its answer comes on the channel.
func (w *world) submitAsync(bank string, req api.ShahabTransferRequest) <-chan api.ShahabTransfer {
	ch := make(chan api.ShahabTransfer, 1)
	go func() {
		st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank(bank), req)
		var t api.ShahabTransfer
		if st != http.StatusCreated || json.Unmarshal(body, &t) != nil {
			w.t.Errorf("transfer %s: %d %s", req.Reference, st, body)
		}
		ch <- t
	}()
	return ch
}

// waitPendingTransfer waits until bank has a pending transfer and returns it.
func (w *world) waitPendingTransfer(t *testing.T, bank string) api.ShahabTransfer {
	t.Helper()
	for range 500 {
		var p api.ShahabTransferPage
		w.must(http.StatusOK, http.MethodGet, "/v1/shahab/transfers?status=pending", w.bank(bank), nil, &p)
		if len(p.Transfers) > 0 {
			return p.Transfers[0]
		}
		sleepBriefly()
	}
	t.Fatal("no transfer became pending")
	return api.ShahabTransfer{}
}
