package server_test

import (
	"net/http"
	"testing"

	"github.com/tasvieh/tasvieh/api"
)

// TestSATNAStatementOfADay: the day's opening balance, every posted movement with the balance after it, the
// closing balance; a day without movements opens and closes at the previous close; Jalali and Gregorian
// dates name the same day.
func TestSATNAStatementOfADay(t *testing.T) {
	w := boot(t, "1404/02/01 09:00") // 2025-04-21; funding happens at boot
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "012", AmountRial: 7_000_000, Reference: "st-1"}, nil)
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("012"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "017", AmountRial: 2_000_000, Reference: "st-2"}, nil)
	var st api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/1404-02-01", w.bank("017"), nil, &st)
	var acct api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank("017"), nil, &acct)
	if st.Date != "2025-04-21" || st.Jalali != "1404/02/01" || st.OpeningRial != 0 || st.ClosingRial != acct.BalanceRial || len(st.Movements) != 3 {
		t.Fatalf("statement %+v (balance now %d)", st, acct.BalanceRial)
	}
	run := st.OpeningRial
	for _, m := range st.Movements {
		if m.Direction == "debit" {
			run -= m.AmountRial
		} else {
			run += m.AmountRial
		}
		if m.BalanceRial != run {
			t.Errorf("line %s: balance %d, want %d", m.ID, m.BalanceRial, run)
		}
	}
	if k := st.Movements[1]; k.Kind != "satna" || k.Direction != "debit" || k.AmountRial != 7_000_000 {
		t.Errorf("the order's line: %+v", k)
	}
	var next api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/2025-04-22", w.bank("017"), nil, &next)
	if next.OpeningRial != st.ClosingRial || next.ClosingRial != st.ClosingRial || len(next.Movements) != 0 {
		t.Errorf("a quiet day: %+v", next)
	}
	w.must(http.StatusUnprocessableEntity, http.MethodGet, "/v1/satna/statements/21-04-2025", w.bank("017"), nil, nil)
	w.audit()
}
