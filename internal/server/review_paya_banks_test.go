package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
)

// TestReviewPAYASuspendedAndSwitchedBanks (held?): entries to a bank suspended at cycle time are deferred,
// twice, and delivered once it resumes; a receiving bank switched to external between intake and delivery is
// handed its entries, and switched back to simulated before their deadline; the audit stays clean throughout.
func TestReviewPAYASuspendedAndSwitchedBanks(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	payer := w.satnaPick("017", 2_000_000_000)
	p012, p054 := w.payees("012")[1], w.payees("054")[1]
	held012 := w.payHeld(p012.SHEBA)
	a := w.paySubmit("017", payaCredit(payer, p012, 10*u, "sus-1"))
	b := w.paySubmit("017", payaCredit(payer, p054, 20*u, "sw-1"))
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/012/suspend", w.operator(), nil, nil)
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	w.payAdvance("1404/02/01 10:00")
	w.audit()
	if got := w.payGet("017", a.ID); got.Status != "deferred" {
		t.Errorf("entry to the suspended bank: %s, want deferred", got.Status)
	}
	if got := w.payGet("054", b.ID); got.Status != "settled" || got.ReturnDeadline == nil {
		t.Errorf("entry to the bank switched external: %+v", got)
	}
	w.payAdvance("1404/02/01 13:00") // deferred again; 054's deadline passes: posted
	w.audit()
	if got := w.payGet("017", a.ID); got.Status != "deferred" {
		t.Errorf("entry to the still-suspended bank: %s, want deferred", got.Status)
	}
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/012/resume", w.operator(), nil, nil)
	w.payAdvance("1404/02/01 19:00")
	w.audit()
	if got := w.payGet("017", a.ID); got.Status != "posted" || w.payHeld(p012.SHEBA) != held012+10*u {
		t.Errorf("entry after the resume: %s; payee %d → %d", got.Status, held012, w.payHeld(p012.SHEBA))
	}
	if got := w.payGet("017", b.ID); got.Status != "posted" {
		t.Errorf("entry to 054: %s", got.Status)
	}
}
