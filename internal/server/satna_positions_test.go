package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestSATNADayPositions: the operator's positions of the day agree with what happened — an order settled
// moves its two banks' nets by its amount each way, a withdrawal takes its bank's, a queued order shows in
// its sender's queue — and the nets of all members add up to the liquidity the CBI gave them and took back
// that day (each bank was funded at the server's first start, on the same day).
func TestSATNADayPositions(t *testing.T) {
	const funding = 1_000_000_000
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = funding })
	var o api.SATNAOrder
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "012", AmountRial: 300_000_000, Reference: "pos-1"}, &o)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
		api.LiquidityRequest{BankCode: "054", AmountRial: -funding, Reference: "pos-drain"}, nil)
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("054"), api.SATNAOrderRequest{Type: "interbank",
		ReceiverBank: "017", AmountRial: 7_000_000, Reference: "pos-2"}, &o)
	if o.Status != "queued" {
		t.Fatalf("054's order: %s, want queued", o.Status)
	}
	var ps api.SATNAPositions
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/satna/positions", w.operator(), nil, &ps)
	by := map[string]api.SATNAPosition{}
	var sum int64
	for _, p := range ps.Positions {
		by[p.BankCode] = p
		sum += p.NetRial
		if p.NetRial != p.ClosingRial-p.OpeningRial {
			t.Errorf("%s: net %d is not closing %d less opening %d", p.BankCode, p.NetRial, p.ClosingRial, p.OpeningRial)
		}
	}
	if ps.Jalali != "1404/02/01" || len(ps.Positions) != len(w.srv.Members()) {
		t.Errorf("positions of %s (%d banks), want 1404/02/01 and every member", ps.Jalali, len(ps.Positions))
	}
	for bank, want := range map[string]int64{"017": funding - 300_000_000, "012": funding + 300_000_000, "054": 0} {
		if by[bank].NetRial != want {
			t.Errorf("%s's net %d, want %d", bank, by[bank].NetRial, want)
		}
	}
	if q := by["054"]; q.QueuedOrders != 1 || q.QueuedRial != 7_000_000 {
		t.Errorf("054's queue: %d orders, %d rial; want 1 and 7,000,000", q.QueuedOrders, q.QueuedRial)
	}
	if want := int64(len(w.srv.Members())-1) * funding; sum != want {
		t.Errorf("the nets sum to %d, want %d (every bank's funding, less 054's withdrawal)", sum, want)
	}
}
