package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
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

// TestSATNAManyAtOnceFillBatches: more concurrent orders than one batch holds (its repeat look-up takes at most
// postgres.RailObjectsMax ids) all settle, each once — found by `tasvieh bench rtgs` with 2,048 callers.
func TestSATNAManyAtOnceFillBatches(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	const n = 1500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := "017", "012"
			if i%2 == 1 {
				from, to = "012", "017"
			}
			o, created, err := w.srv.SubmitSATNA(context.Background(), from, api.SATNAOrderRequest{Type: "interbank",
				ReceiverBank: to, AmountRial: 1_000, Reference: fmt.Sprintf("many-%d", i)})
			if err == nil && (!created || o.Status != "settled") {
				err = fmt.Errorf("order %d: created %v, status %s", i, created, o.Status)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var a api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank("017"), nil, &a)
	if a.BalanceRial != server.FundingDefault { // as many orders each way, of the same amount
		t.Errorf("017's balance %d, want %d", a.BalanceRial, server.FundingDefault)
	}
	w.audit()
}
