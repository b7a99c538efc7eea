package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestReviewShahabBadInput: malformed input is a 4xx naming the problem, never a 500 or a transfer.
func TestReviewShahabBadInput(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	persian := strings.NewReplacer("0", "۰", "1", "۱", "2", "۲", "3", "۳", "4", "۴", "5", "۵", "6", "۶", "7", "۷", "8", "۸", "9", "۹").Replace(b.card.PAN)
	spaced := b.card.PAN[:4] + " " + b.card.PAN[4:8] + " " + b.card.PAN[8:12] + " " + b.card.PAN[12:]
	for _, tc := range []struct {
		name string
		mod  func(*api.ShahabTransferRequest)
	}{
		{"persian digits", func(r *api.ShahabTransferRequest) { r.DestinationPAN = persian }},
		{"spaces", func(r *api.ShahabTransferRequest) { r.DestinationPAN = spaced }},
		{"control char ref", func(r *api.ShahabTransferRequest) { r.Reference = "a\x01b" }},
		{"newline ref", func(r *api.ShahabTransferRequest) { r.Reference = "a\nb" }},
		{"long ref", func(r *api.ShahabTransferRequest) { r.Reference = strings.Repeat("r", 5000) }},
		{"zero amount", func(r *api.ShahabTransferRequest) { r.AmountRial = 0 }},
		{"negative amount", func(r *api.ShahabTransferRequest) { r.AmountRial = -5 }},
		{"huge amount", func(r *api.ShahabTransferRequest) { r.AmountRial = 1 << 62 }},
		{"bad expiry", func(r *api.ShahabTransferRequest) { r.Expiry = "1313" }},
		{"empty ref", func(r *api.ShahabTransferRequest) { r.Reference = "" }},
	} {
		req := cardReq(a, b.card, 1*u, "bad-"+strings.ReplaceAll(tc.name, " ", "-"))
		tc.mod(&req)
		st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), req)
		t.Logf("%s: %d %s", tc.name, st, body)
		if st >= 500 {
			t.Errorf("%s: %d %s", tc.name, st, body)
		}
	}
	big := `{"source_pan":"` + strings.Repeat("1", 10<<20) + `"}`
	if st, _, body := w.raw(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), "application/json", []byte(big)); st != http.StatusRequestEntityTooLarge && st != http.StatusUnprocessableEntity && st != http.StatusBadRequest {
		t.Errorf("10 MiB body: %d %.200s", st, body)
	}
	for _, c := range []string{"x", "1_2", "-5_" + strings.Repeat("0", 8), "99999999999999999999_1b8e5622-4d4c-8c58-aef3-1611ac57d82c",
		"5abc_1b8e5622-4d4c-8c58-aef3-1611ac57d82c", "5_1b8e5622-4d4c-8c58-aef3-1611ac57d82c'--"} {
		st, body := w.do(http.MethodGet, "/v1/shahab/transfers?cursor="+c, w.bank("017"), nil)
		t.Logf("cursor %q: %d %.120s", c, st, body)
		if st >= 500 {
			t.Errorf("cursor %q: %d %s", c, st, body)
		}
	}
	for _, id := range []string{"x", "1404-02-01T10:00'--", strings.Repeat("9", 2000), "%00", "..%2F..%2Fx"} {
		st, body := w.do(http.MethodGet, "/v1/operator/shahab/windows/"+id, w.operator(), nil)
		t.Logf("window %q: %d %.120s", id, st, body)
		if st >= 500 {
			t.Errorf("window %q: %d %s", id, st, body)
		}
	}
	for _, id := range []string{"x", "00000000-0000-0000-0000-000000000000", strings.Repeat("a", 3000)} {
		st, body := w.do(http.MethodGet, "/v1/shahab/transfers/"+id, w.bank("017"), nil)
		if st >= 500 {
			t.Errorf("transfer %q: %d %s", id, st, body)
		}
		st, body = w.do(http.MethodPost, "/v1/shahab/transfers/"+id+"/answer", w.bank("017"), api.ShahabAnswerRequest{Result: "credited"})
		if st >= 500 {
			t.Errorf("answer %q: %d %s", id, st, body)
		}
	}
	w.audit()
}

// TestReviewShahabSameReferenceAtOnce: the same reference from 8 callers at once, its destination slow: one
// transfer, every caller the same answer; the same reference from another bank is its own transfer; after a
// restart a repeat still answers the original (the filter rebuilt from the table).
func TestReviewShahabSameReferenceAtOnce(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	a0 := w.held("017", a.c.SHEBA)
	w.simulate("012", api.Simulation{Online: true, LatencyMS: 3_000})
	req := cardReq(a, b.card, 2*u, "dup-at-once")
	var wg sync.WaitGroup
	out := make([]api.ShahabTransfer, 8)
	codes := make([]int, 8)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), req)
			codes[i] = st
			if st < 300 {
				out[i] = decode[api.ShahabTransfer](t, body)
			} else {
				t.Errorf("caller %d: %d %s", i, st, body)
			}
		}()
	}
	w.waitPendingTransfer(t, "017")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "4s"}, nil)
	// A repeat waits behind the first for its answer: the clock must move for each (claims serialize).
	for range 20 {
		w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "4s"})
		sleepBriefly()
	}
	wg.Wait()
	created := 0
	for i, o := range out {
		if codes[i] == http.StatusCreated {
			created++
		}
		if o.ID != out[0].ID || o.Status != "succeeded" {
			t.Errorf("caller %d: %+v", i, o)
		}
	}
	if created != 1 {
		t.Errorf("%d callers got 201, want one: %v", created, codes)
	}
	w.simulate("012", api.Simulation{Online: true})
	if other := w.transfer("012", req, "succeeded", "approved"); other.ID == out[0].ID { // another bank's reference: its own transfer
		t.Errorf("another bank's reference answered the first bank's transfer")
	}
	w.restart(func(c *server.Config) { c.Start = time.Time{} })
	var again api.ShahabTransfer
	w.must(http.StatusOK, http.MethodPost, "/v1/shahab/transfers", w.bank("017"), req, &again)
	if again.ID != out[0].ID {
		t.Errorf("repeat after restart: %+v", again)
	}
	r2 := req
	r2.AmountRial++
	w.must(http.StatusConflict, http.MethodPost, "/v1/shahab/transfers", w.bank("017"), r2, nil)
	if got := w.held("017", a.c.SHEBA); got != a0-2*(2*u+cardFee) {
		t.Errorf("payer %d, want %d", got, a0-2*(2*u+cardFee))
	}
	w.audit()
}
