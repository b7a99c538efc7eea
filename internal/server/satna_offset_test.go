package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// largeGridlock brings 017, 012 and 054 to zero and queues n interbank orders 017 → 012 and n 012 → 054, of
// 1,000 rial each: nothing can settle, alone or offset, until 054 sends 017 the total. It answers the ids.
func largeGridlock(t *testing.T, w *world, n int) []string {
	t.Helper()
	for _, b := range []string{"017", "012", "054"} {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
			api.LiquidityRequest{BankCode: b, AmountRial: -1_000_000_000, Reference: "drain-" + b}, nil)
	}
	ids := make([]string, 2*n)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 2*n; i += 64 {
				from, to := "017", "012"
				if i >= n {
					from, to = "012", "054"
				}
				o, _, err := w.srv.SubmitSATNA(context.Background(), from, api.SATNAOrderRequest{Type: "interbank",
					ReceiverBank: to, AmountRial: 1_000, Reference: fmt.Sprintf("big-%d", i)})
				if err == nil && o.Status != "queued" {
					err = fmt.Errorf("order %d: %s, want queued", i, o.Status)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				ids[i] = o.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// TestSATNALargeOffsettingSetSettlesAllOrNothing: a gridlock whose one covered set holds more orders than one
// ledger request takes (8,201 interbank orders, a transfer each, against postgres.RequestTransfersMax 8,192)
// settles whole when its last order arrives, in two stages (satna_offset.go): every order ends settled, the
// queue is empty, the balances are where they began, the transit accounts are back at zero (the audit says so).
func TestSATNALargeOffsettingSetSettlesAllOrNothing(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	n := postgres.RequestTransfersMax/2 + 4
	ids := largeGridlock(t, w, n)
	var closing api.SATNAOrder
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("054"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "017", AmountRial: int64(n) * 1_000, Reference: "big-close"}, &closing)
	if closing.Status != "settled" {
		t.Errorf("the order closing the gridlock answers %s, want settled (the large set settles before it answers)", closing.Status)
	}
	for _, i := range []int{0, n - 1, n, 2*n - 1} {
		var o api.SATNAOrder
		w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+ids[i], w.bank(senderOf(i, n)), nil, &o)
		if o.Status != "settled" || o.SettledAt == nil {
			t.Errorf("order %d (%s): %s, want settled", i, ids[i], o.Status)
		}
	}
	var q struct {
		Orders []api.SATNAOrder `json:"orders"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/satna/queue", w.operator(), nil, &q)
	if len(q.Orders) != 0 {
		t.Errorf("%d orders still queued after the large set", len(q.Orders))
	}
	for _, b := range []string{"017", "012", "054"} {
		var a api.SettlementAccount
		w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank(b), nil, &a)
		if a.BalanceRial != 0 {
			t.Errorf("%s's settlement balance %d after the set, want 0 (every net is zero)", b, a.BalanceRial)
		}
	}
	w.audit()
}

// TestSATNALargeOffsettingSetCompletesAfterRestart: the set's commit point is durable but its completion fails
// (as a crash right after it would leave it). Its orders are final at once — a revocation answers irrevocable,
// none is queued again — and a restart completes them: every order settled, the audit clean.
func TestSATNALargeOffsettingSetCompletesAfterRestart(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000_000 })
	n := postgres.RequestTransfersMax/2 + 4
	ids := largeGridlock(t, w, n)
	// 054 gets 500,000 rial and sends 017 that much more than closes the cycle: non-zero nets (054 −500,000,
	// 017 +500,000), covered.
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
		api.LiquidityRequest{BankCode: "054", AmountRial: 500_000, Reference: "some-054"}, nil)
	server.SetOffsetChunkFault(w.srv, func() error { return errors.New("injected: the chunk's decision fails") })
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("054"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "017", AmountRial: int64(n)*1_000 + 500_000, Reference: "big-close"}, nil)
	want := map[string]int64{"017": 500_000, "012": 0, "054": 0}
	for b, v := range want { // the commit point: the nets moved
		var a api.SettlementAccount
		w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank(b), nil, &a)
		if a.BalanceRial != v {
			t.Errorf("%s's settlement balance %d after the commit point, want %d", b, a.BalanceRial, v)
		}
	}
	var e api.Error
	w.must(http.StatusConflict, http.MethodPost, "/v1/satna/orders/"+ids[0]+"/revoke", w.bank("017"), nil, &e)
	if e.Code != "irrevocable" {
		t.Errorf("revoking a member of a committed set: %+v, want irrevocable", e)
	}
	var q struct {
		Orders []api.SATNAOrder `json:"orders"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/satna/queue", w.operator(), nil, &q)
	if len(q.Orders) != 0 {
		t.Errorf("%d orders queued again while their set completes", len(q.Orders))
	}
	w.audit() // mirrors follow the nets at the commit point; the transit accounts hold the rest, chunks pending

	w.restart()
	for _, i := range []int{0, n - 1, n, 2*n - 1} {
		var o api.SATNAOrder
		w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+ids[i], w.bank(senderOf(i, n)), nil, &o)
		if o.Status != "settled" {
			t.Errorf("order %d after the restart: %s, want settled", i, o.Status)
		}
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/satna/queue", w.operator(), nil, &q)
	if len(q.Orders) != 0 {
		t.Errorf("%d orders queued after the restart", len(q.Orders))
	}
	w.audit()
}

// senderOf is the sender of largeGridlock's order i.
func senderOf(i, n int) string {
	if i < n {
		return "017"
	}
	return "012"
}
