package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestSATNAThreeBankGridlockClearedByOffsetting: three banks brought to zero by withdrawals each send the next
// an interbank order; none can settle alone, so each queues — and the third closes a cycle whose every net is
// covered (zero), which settles as one netted chain. Balances end where they began; the audit passes.
func TestSATNAThreeBankGridlockClearedByOffsetting(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	banks := []string{"017", "012", "054"}
	for _, b := range banks {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
			api.LiquidityRequest{BankCode: b, AmountRial: -1_000_000_000, Reference: "drain-" + b}, nil)
	}
	var ids []string
	for i, b := range banks {
		var o api.SATNAOrder
		w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank(b), api.SATNAOrderRequest{Type: "interbank",
			ReceiverBank: banks[(i+1)%3], AmountRial: 700_000_000, Reference: "gl-" + b}, &o)
		if i < 2 && o.Status != "queued" {
			t.Fatalf("order %d from %s: %s, want queued (its sender is at zero)", i, b, o.Status)
		}
		ids = append(ids, o.ID)
	}
	for i, id := range ids {
		var o api.SATNAOrder
		w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+id, w.bank(banks[i]), nil, &o)
		if o.Status != "settled" || o.SettledAt == nil {
			t.Errorf("order %s: %s, want settled by offsetting", id, o.Status)
		}
	}
	for _, b := range banks {
		var a api.SettlementAccount
		w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank(b), nil, &a)
		if a.BalanceRial != 0 {
			t.Errorf("%s's settlement balance %d after the cycle, want 0", b, a.BalanceRial)
		}
	}
	var q struct {
		Orders []api.SATNAOrder `json:"orders"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/satna/queue", w.operator(), nil, &q)
	if len(q.Orders) != 0 {
		t.Errorf("queue after offsetting: %+v", q.Orders)
	}
	w.audit()
}
