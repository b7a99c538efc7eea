package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestReviewPAYADebitFeeNeverCharged: under the 1404 rulebook a debit's entry says fee_rial > 0 (ach.Validate
// prices every entry, "charged to the originator"), and a file's report sums it, but legsAtIntake charges the
// fee on credits only and nothing charges it later: the biller receives the whole amount and the fee shown
// is never taken.
func TestReviewPAYADebitFeeNeverCharged(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.Rules = "1404" })
	biller := w.satnaPick("012", 0)
	payer := w.satnaPick("017", 1_000_000_000)
	var m api.PAYAMandate
	w.must(http.StatusCreated, http.MethodPost, "/v1/paya/mandates", w.bank("012"), api.PAYAMandateRequest{BillerSHEBA: biller.SHEBA,
		BillerName: "شرکت آب", PayerSHEBA: payer.SHEBA, PayerName: "مشترک", MaxPerDebitRial: 100 * u, MaxDebitsPerMonth: 3,
		StartDate: "1404/02/01", EndDate: "1405/01/31", BillerReference: "fee-1"}, &m)
	held := w.satnaHeld("012", biller.SHEBA)
	e := w.paySubmit("012", api.PAYAEntryRequest{Core: "debit", PayerSHEBA: payer.SHEBA, PayerName: "مشترک", PayeeSHEBA: biller.SHEBA,
		PayeeName: "شرکت آب", AmountRial: 50 * u, Reference: "fee-d-1", MandateID: m.ID})
	if e.FeeRial == 0 {
		t.Skip("no fee on debits under 1404")
	}
	w.payAdvance("1404/02/01 10:00")
	if got := w.payGet("012", e.ID); got.Status != "posted" {
		t.Fatalf("debit: %s", got.Status)
	}
	if got := w.satnaHeld("012", biller.SHEBA) - held; got != 50*u-e.FeeRial {
		t.Errorf("biller received %d for a debit of %d with fee_rial %d: the fee shown was never charged", got, 50*u, e.FeeRial)
	}
}
