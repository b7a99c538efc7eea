package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
)

// TestSATNAExternalReceiverCreditsOrReturns: a bank under test (external) hears of an incoming order, and
// answers credit (→ credited) or return (→ the original returned, a return order crediting the original payer
// less the return fee, which the receiving bank keeps); after its deadline (the end of the next business day)
// its answer is refused and the order stays settled — final at the receiving bank.
func TestSATNAExternalReceiverCreditsOrReturns(t *testing.T) {
	w := boot(t, "1404/02/01 09:00") // Monday 2025-04-21
	payer := richCustomer(t, w, "017")
	payee := w.customers("054").Customers[0].SHEBA
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	order := func(ref string) api.SATNAOrder {
		var o api.SATNAOrder
		w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"), api.SATNAOrderRequest{Type: "customer",
			PayerSHEBA: payer, PayerName: "payer", PayeeSHEBA: payee, PayeeName: "payee", AmountRial: 300_000_000, Reference: ref}, &o)
		if o.Status != "settled" {
			t.Fatalf("%s to an external bank: %s, want settled", ref, o.Status)
		}
		return o
	}
	balance := func(bank string) int64 {
		var a api.SettlementAccount
		w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank(bank), nil, &a)
		return a.BalanceRial
	}
	a := order("ext-credit")
	var feed api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank("054"), nil, &feed)
	incoming := 0
	for _, e := range feed.Events {
		if e.Type == "satna.order.incoming" {
			incoming++
		}
	}
	if incoming != 1 {
		t.Errorf("054 heard %d satna.order.incoming, want 1", incoming)
	}
	var got api.SATNAOrder
	w.must(http.StatusOK, http.MethodPost, "/v1/satna/orders/"+a.ID+"/credit", w.bank("054"), nil, &got)
	if got.Status != "credited" {
		t.Errorf("after credit: %s", got.Status)
	}
	w.must(http.StatusConflict, http.MethodPost, "/v1/satna/orders/"+a.ID+"/credit", w.bank("054"), nil, nil)
	w.must(http.StatusNotFound, http.MethodPost, "/v1/satna/orders/"+a.ID+"/credit", w.bank("017"), nil, nil) // the sender cannot answer

	b := order("ext-return")
	before017, before054 := balance("017"), balance("054")
	w.must(http.StatusOK, http.MethodPost, "/v1/satna/orders/"+b.ID+"/return", w.bank("054"), api.SATNAReturnRequest{Reason: "account_closed"}, &got)
	if got.Status != "returned" || got.ReturnedBy == "" {
		t.Fatalf("after return: %+v", got)
	}
	var ret api.SATNAOrder
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+got.ReturnedBy, w.bank("017"), nil, &ret)
	const fee = 50_000 // seed's satna_return_fee, a simulator default
	if ret.ReturnOf != b.ID || ret.AmountRial != 300_000_000-fee || ret.Status != "credited" {
		t.Errorf("return order %+v", ret)
	}
	if d017, d054 := balance("017")-before017, balance("054")-before054; d017 != 300_000_000-fee || d054 != -(300_000_000-fee) {
		t.Errorf("settlement accounts moved %d (017) and %d (054), want ±%d", d017, d054, 300_000_000-fee)
	}

	c := order("ext-late")
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/02/02 16:01"}, nil)
	if st, body := w.do(http.MethodPost, "/v1/satna/orders/"+c.ID+"/return", w.bank("054"), api.SATNAReturnRequest{Reason: "late"}); st != http.StatusConflict || !contains(body, "answer_late") {
		t.Errorf("a return after the deadline: %d %s", st, body)
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+c.ID, w.bank("054"), nil, &got)
	if got.Status != "settled" {
		t.Errorf("after the deadline the order is %s, want settled (final at the receiving bank)", got.Status)
	}
	w.audit()
}
