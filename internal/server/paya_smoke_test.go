package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

func TestPAYASmoke(t *testing.T) {
	w := boot(t, "1404/02/01 08:00") // a Monday (business day); next cycle 09:45
	b := server.PAYAForTest(w.srv)
	ctx := context.Background()
	payer := w.satnaPick("017", 1_000_000_000)
	payee := w.satnaPick("012", 0)
	before := w.satnaHeld("012", payee.SHEBA)
	e, created, err := b.SubmitEntry(ctx, "017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "کارفرما",
		PayeeSHEBA: payee.SHEBA, PayeeName: "کارمند", AmountRial: 100_000_000, Reference: "smoke-1"})
	if err != nil || !created {
		t.Fatalf("submit: %v %v", created, err)
	}
	t.Logf("entry %+v", e)
	w.audit()
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/02/01 10:00"}, nil)
	got, err := b.PAYAEntry(ctx, "017", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "posted" {
		t.Fatalf("status %s, want posted: %+v", got.Status, got)
	}
	if after := w.satnaHeld("012", payee.SHEBA); after != before+100_000_000 {
		t.Errorf("payee %d → %d", before, after)
	}
	c, err := b.PAYACycle(ctx, "", e.Cycle)
	t.Logf("cycle %+v %v", c, err)
}
