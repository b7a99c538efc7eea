package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// reviewMagicSource is bank's card of the given magic effect with its secrets, as a source.
func (w *world) reviewMagicSource(bank, effect string) (holder, bool) {
	for _, c := range w.customers(bank).Customers {
		for _, k := range c.Cards {
			if k.Magic == effect {
				return holder{bank: bank, c: c, card: k}, true
			}
		}
	}
	return holder{}, false
}

// TestReviewShahabSourceCards: lost, blocked, expired and issuer-timeout cards as the source are rejected
// with the source's code and move nothing; the issuer-timeout card as destination is refunded at the deadline.
func TestReviewShahabSourceCards(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	b := w.holders("012", 1, 0)[0]
	a := w.holders("017", 1, 50*u)[0]
	for _, eff := range []string{"card_lost", "card_blocked", "card_expired", "card_issuer_timeout"} {
		h, ok := w.reviewMagicSource("017", eff)
		if !ok {
			t.Logf("017 has no %s card with secrets in the directory", eff)
			continue
		}
		done := make(chan struct{})
		var st int
		var body []byte
		go func() {
			defer close(done)
			st, body = w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(h, b.card, 1*u, "src-"+eff))
		}()
		if eff == "card_issuer_timeout" {
			time.Sleep(200 * time.Millisecond)
			w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "16s"}, nil)
		}
		<-done
		t.Logf("source %s: %d %s", eff, st, body)
		if st != http.StatusCreated || decode[api.ShahabTransfer](t, body).Status != "rejected" {
			t.Errorf("source %s: %d %s, want a rejection", eff, st, body)
		}
	}
	done := make(chan api.ShahabTransfer)
	go func() {
		_, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, w.magicCard("012", "card_issuer_timeout"), 1*u, "dst-timeout"))
		done <- decode[api.ShahabTransfer](t, body)
	}()
	w.waitPendingTransfer(t, "017")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "16s"}, nil)
	if got := <-done; got.Status != "refunded" || got.Code != "destination_timeout" || got.FeeRial != 0 {
		t.Errorf("to the issuer-timeout card: %+v", got)
	}
	w.audit()
}

// TestReviewShahabLimitAcrossRestartAndMidnight: a pending transfer holds its amount against the daily
// limit across a restart; the limit resets at Tehran midnight; wrong second PINs block the card and the block
// survives a restart.
func TestReviewShahabLimitAcrossRestartAndMidnight(t *testing.T) {
	w := boot(t, "1404/02/01 23:59")
	a := w.holders("017", 1, 400*u)[0]
	b := w.holders("012", 1, 0)[0]
	w.simulate("012", api.Simulation{Online: true, LatencyMS: 10_000})
	go w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, b.card, 100*u, "lim-1"))
	w.waitPendingTransfer(t, "017")
	w.restart(func(c *server.Config) { c.Start = time.Time{} })
	w.simulate("012", api.Simulation{Online: true})
	w.transfer("017", cardReq(a, b.card, 60*u, "lim-2"), "rejected", "daily_limit_exceeded")
	w.transfer("017", cardReq(a, b.card, 50*u, "lim-3"), "succeeded", "approved")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "61s"}, nil) // past midnight; lim-1 resolves
	w.transfer("017", cardReq(a, b.card, 150*u, "lim-4"), "succeeded", "approved")
	w.transfer("017", cardReq(a, b.card, 1, "lim-5"), "rejected", "daily_limit_exceeded")

	c := w.holders("017", 2, 10*u)[1]
	for i := range 3 {
		r := cardReq(c, b.card, 1*u, "pin-"+string(rune('a'+i)))
		r.PIN2 = "000000"
		if r.PIN2 == c.card.PIN2 {
			r.PIN2 = "111111"
		}
		st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), r)
		t.Logf("wrong pin %d: %d %s", i, st, body)
	}
	w.restart(func(cfg *server.Config) { cfg.Start = time.Time{} })
	st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(c, b.card, 1*u, "pin-ok"))
	if got := decode[api.ShahabTransfer](t, body); got.Status != "rejected" {
		t.Errorf("right PIN after the block and a restart: %d %s, want rejected", st, body)
	}
	w.audit()
}

// TestReviewShahabOTP: on rulebook 1404 a one-time code is used once and expires.
func TestReviewShahabOTP(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.Rules = "1404" })
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	var o api.ShahabOTP
	w.must(http.StatusCreated, http.MethodPost, "/v1/shahab/otp", w.bank("017"), api.ShahabOTPRequest{SourcePAN: a.card.PAN}, &o)
	r := cardReq(a, b.card, 1*u, "otp-1")
	r.PIN2 = o.OTP
	w.transfer("017", r, "succeeded", "approved")
	r.Reference = "otp-2"
	if st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), r); decode[api.ShahabTransfer](t, body).Status != "rejected" {
		t.Errorf("a used code: %d %s", st, body)
	}
	w.must(http.StatusCreated, http.MethodPost, "/v1/shahab/otp", w.bank("017"), api.ShahabOTPRequest{SourcePAN: a.card.PAN}, &o)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "121s"}, nil)
	r.PIN2, r.Reference = o.OTP, "otp-3"
	st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), r)
	if got := decode[api.ShahabTransfer](t, body); got.Status != "rejected" {
		t.Errorf("an expired code: %d %s", st, body)
	}
	r.PIN2, r.Reference = a.card.PIN2, "otp-static"
	st, body = w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), r)
	if got := decode[api.ShahabTransfer](t, body); got.Status != "rejected" {
		t.Errorf("the static PIN on the dynamic rulebook: %d %s", st, body)
	}
	w.audit()
}
