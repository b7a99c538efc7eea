package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/webhook"
)

// sink is a webhook receiver that fails its first n requests with 500.
type sink struct {
	*httptest.Server
	mu       sync.Mutex
	failures int
	received []received // successful receipts
	attempts int
}

type received struct {
	header http.Header
	body   []byte
}

func newSink(t *testing.T, failFirst int) *sink {
	s := &sink{failures: failFirst}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.attempts++
		if s.attempts <= s.failures {
			http.Error(w, "not today", http.StatusInternalServerError)
			return
		}
		s.received = append(s.received, received{r.Header.Clone(), b})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) snapshot() (attempts int, got []received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts, append([]received(nil), s.received...)
}

// waitFor polls cond, advancing the simulated clock a minute each time (so that backoffs fall due), for at
// most a bounded number of rounds; it fails the test when cond never holds. No timing is asserted.
func waitFor(t *testing.T, w *world, cond func() bool) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
		if i%4 == 3 {
			w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "1m"}, nil)
		}
	}
	t.Fatal("condition never held")
}

// TestWebhookDeliveredOnceAfterThreeFailures is the acceptance case: a receiver that fails 3 times gets the
// event once after retries, its signature verifies, and the delivery log shows it.
func TestWebhookDeliveredOnceAfterThreeFailures(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	s := newSink(t, 3)
	var hook api.Webhook
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: s.URL}, &hook)
	if hook.Secret == "" {
		t.Fatal("no signing secret in the answer that registered the endpoint")
	}
	var again api.Webhook
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: s.URL}, &again)
	if again.Secret != "" {
		t.Error("the secret was shown a second time")
	}
	var liq api.Liquidity
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "054", AmountRial: 1_234_567, Reference: "wh-1"}, &liq)
	var page api.DeliveryPage
	waitFor(t, w, func() bool {
		w.must(http.StatusOK, http.MethodGet, "/v1/webhook/deliveries", w.bank("054"), nil, &page)
		return len(page.Deliveries) == 1 && page.Deliveries[0].Status == "delivered"
	})
	attempts, got := s.snapshot()
	if len(got) != 1 || attempts != 4 {
		t.Fatalf("receiver: %d attempts, %d receipts; want 4 attempts and the event once", attempts, len(got))
	}
	d := page.Deliveries[0]
	if d.Attempts != 4 || d.EventType != "settlement.liquidity" || d.DeliveredAt == nil {
		t.Errorf("delivery log: %+v", d)
	}
	if err := webhook.Verify(hook.Secret, got[0].header, got[0].body, time.Now(), time.Hour); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if err := webhook.Verify("another secret", got[0].header, got[0].body, time.Now(), time.Hour); err == nil {
		t.Error("a wrong secret verifies")
	}
	if !contains(got[0].body, "wh-1") || got[0].header.Get("Tasvieh-Event-Id") != d.EventID {
		t.Errorf("the delivered body or event id is not the event's: %s %v", got[0].body, got[0].header)
	}
	// Retry on request: delivered again, and logged.
	w.must(http.StatusOK, http.MethodPost, "/v1/webhook/deliveries/"+d.ID+"/retry", w.bank("054"), nil, nil)
	waitFor(t, w, func() bool { _, g := s.snapshot(); return len(g) == 2 })
}
