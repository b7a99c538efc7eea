package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/sheba"
)

// TestReviewPAYACycleCountsAfterExternalReturn: tally counts an entry handed to an external bank
// ("delivered") as posted, once, when the cycle is done; the bank's later return through the API never
// updates the cycle's row, so GET /v1/paya/cycles/{id} keeps saying posted 2, returned 0 for a cycle of which
// one entry was returned.
func TestReviewPAYACycleCountsAfterExternalReturn(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.External = []string{"056"} })
	payer := w.satnaPick("017", 1_000_000_000)
	x1, _ := sheba.Generate("056", 0, "100001")
	x2, _ := sheba.Generate("056", 0, "100002")
	e1 := w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف", PayeeSHEBA: x1.String(),
		PayeeName: "ب", AmountRial: 11 * u, Reference: "h-1"})
	w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف", PayeeSHEBA: x2.String(),
		PayeeName: "ج", AmountRial: 12 * u, Reference: "h-2"})
	w.payAdvance("1404/02/01 10:00")
	id := cycleOf(t, "1404/02/01 09:45")
	w.must(http.StatusOK, http.MethodPost, "/v1/paya/entries/"+e1.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "account_closed"}, nil)
	w.payAdvance("1404/02/01 13:00")
	for _, n := range w.payCycle(id).Nets {
		if n.Bank == "056" && (n.Posted != 1 || n.Returned != 1) {
			t.Errorf("cycle %s for 056: posted %d returned %d; its entries: 1 posted, 1 returned", id, n.Posted, n.Returned)
		}
	}
}
