package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/sheba"
)

func (w *world) customers(bank string) api.CustomerPage {
	var p api.CustomerPage
	w.must(http.StatusOK, http.MethodGet, "/v1/directory/customers?limit=1000&bank="+bank, w.operator(), nil, &p)
	return p
}

func TestSameSeedSameCustomersAndBalances(t *testing.T) {
	a := boot(t, "1404/02/01 09:00")
	b := boot(t, "1404/02/01 09:00")
	c := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.Seed = 8 })
	for _, bank := range []string{"017", "054"} {
		pa, pb, pc := a.customers(bank), b.customers(bank), c.customers(bank)
		if len(pa.Customers) < testCustomers {
			t.Fatalf("%s: %d customers, want at least %d", bank, len(pa.Customers), testCustomers)
		}
		if !reflect.DeepEqual(pa, pb) {
			t.Errorf("%s: the same seed gave different customers or balances", bank)
		}
		if reflect.DeepEqual(pa, pc) {
			t.Errorf("%s: seeds 7 and 8 gave the same customers", bank)
		}
		for _, cu := range pa.Customers {
			if _, err := sheba.Parse(cu.SHEBA, banks.Default()); err != nil && cu.Magic != "account_unknown" {
				t.Errorf("%s: %v", cu.SHEBA, err)
			}
			if cu.BalanceRial == nil {
				t.Errorf("%s: no balance for the operator", cu.SHEBA)
			}
		}
	}
	// The directory pages: a small limit gives a cursor that continues where the page stopped.
	var p1, p2 api.CustomerPage
	a.must(http.StatusOK, http.MethodGet, "/v1/directory/customers?bank=017&limit=5", a.bank("017"), nil, &p1)
	a.must(http.StatusOK, http.MethodGet, "/v1/directory/customers?bank=017&limit=5&cursor="+p1.NextCursor, a.bank("017"), nil, &p2)
	all := a.customers("017").Customers
	if len(p1.Customers) != 5 || p1.NextCursor == "" || len(p2.Customers) == 0 || p2.Customers[0].SHEBA != all[5].SHEBA {
		t.Errorf("paging: %d then %d customers, cursor %q", len(p1.Customers), len(p2.Customers), p1.NextCursor)
	}
}

// TestMagicValuesDoWhatTheREADMESays checks each magic value against the book: blocked and closed accounts
// refuse money in the ledger, the unknown account is a valid SHEBA of the bank with no account, the timeout
// account and the cards carry their marks.
func TestMagicValuesDoWhatTheREADMESays(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	var m struct {
		Magic []api.MagicValue `json:"magic"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/directory/magic?bank=017", w.bank("017"), nil, &m)
	names := map[string]api.MagicValue{}
	for _, v := range m.Magic {
		names[v.Name] = v
		if v.Effect == "" || v.BankCode != "017" {
			t.Errorf("magic %+v", v)
		}
	}
	for _, want := range []string{"account_blocked", "account_closed", "account_unknown", "receiver_timeout", "card_blocked", "card_expired", "card_lost"} {
		if _, ok := names[want]; !ok {
			t.Errorf("no magic value %s in %v", want, m.Magic)
		}
	}
	ctx := context.Background()
	st := w.srv.Store()
	book := server.BookLedger("017")
	equity := server.AccountID(book, server.KeyEquity)
	credit := func(key string) ledger.Result {
		res, err := st.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{{ID: ledger.ID(idFor(t, key)), DebitAccountID: equity,
			CreditAccountID: server.AccountID(book, key), Amount: 1, Ledger: book, Code: 9}}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	if r := credit(names["account_blocked"].Value); r != ledger.CreditAccountBlocked {
		t.Errorf("crediting the blocked account: %v", r)
	}
	if r := credit(names["account_closed"].Value); r != ledger.CreditAccountClosed {
		t.Errorf("crediting the closed account: %v", r)
	}
	if r := credit(names["receiver_timeout"].Value); r != ledger.OK {
		t.Errorf("the timeout account must exist and take money (its bank times out, not its ledger): %v", r)
	}
	unknown := names["account_unknown"].Value
	if x, err := sheba.Parse(unknown, banks.Default()); err != nil || x.BankCode() != "017" {
		t.Errorf("the unknown account %s is not a valid SHEBA of 017: %v", unknown, err)
	}
	if _, ok, _ := st.AccountByKey(ctx, book, unknown); ok {
		t.Errorf("the unknown account %s is in the book", unknown)
	}
	if r := credit(unknown); r != ledger.CreditAccountNotFound {
		t.Errorf("crediting the unknown account: %v", r)
	}
	for name, status := range map[string]string{"card_blocked": "blocked", "card_expired": "expired", "card_lost": "lost"} {
		o, ok, err := st.RailObject(ctx, "sim.card", names[name].Value)
		if err != nil || !ok || o.Status != status {
			t.Errorf("%s %s in the book: %+v %v %v", name, names[name].Value, o, ok, err)
			continue
		}
		if strings.Contains(string(o.Body), `"cvv2"`) || strings.Contains(string(o.Body), `"pin2"`) {
			t.Errorf("the book keeps a card secret in clear: %s", o.Body)
		}
	}
	// The directory shows the test secrets; the book's hashes are keyed, not a plain digest of them.
	cust := w.customers("017").Customers
	var card api.CustomerCard
	for _, c := range cust {
		if len(c.Cards) > 0 && c.Magic == "" {
			card = c.Cards[0]
			break
		}
	}
	o, _, _ := st.RailObject(ctx, "sim.card", card.PAN)
	var row struct {
		CVV2HMAC string `json:"cvv2_hmac"`
	}
	_ = json.Unmarshal(o.Body, &row)
	if row.CVV2HMAC == "" || strings.Contains(string(o.Body), card.CVV2+`"`) {
		t.Errorf("card row %s", o.Body)
	}
}

func idFor(t *testing.T, key string) [16]byte {
	id := sha256.Sum256([]byte(t.Name() + key))
	var out [16]byte
	copy(out[:], id[:])
	out[6] = out[6]&0x0f | 0x80 // not a UUIDv7: looked up, never "fresh"
	return out
}

// TestAuditNamesABrokenMirror corrupts a book's mirror by SQL and sees the audit name it; a clearing account
// moved without its rail's position is named too.
func TestAuditNamesABrokenMirror(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	ctx := context.Background()
	mirror := server.AccountID(server.BookLedger("017"), server.KeyMirror)
	if _, err := w.pool.Exec(ctx, "UPDATE accounts SET debits_posted = debits_posted + 5 WHERE id = $1", mirror.String()); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Audit(ctx, w.pool)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.String(), "book 1017: mirror") {
		t.Errorf("the audit missed the mirror: %s", rep)
	}
	if _, err := w.pool.Exec(ctx, "UPDATE accounts SET debits_posted = debits_posted - 5 WHERE id = $1", mirror.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(ctx, `INSERT INTO rail_objects (kind, id, status, body, updated_at) VALUES ('clearing.position', 'paya:054', 'open', '{"net_rial": 10}', 0)`); err != nil {
		t.Fatal(err)
	}
	rep, _ = postgres.Audit(ctx, w.pool)
	for _, want := range []string{"book 1054: clearing account", "rail paya: unsettled nets sum to 10"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("the audit missed %q: %s", want, rep)
		}
	}
	if _, err := w.pool.Exec(ctx, `DELETE FROM rail_objects WHERE kind = 'clearing.position'`); err != nil {
		t.Fatal(err)
	}
}

// TestLiquidityInjectWithdrawAndRepeat: issuance moves the settlement account and the mirror together; a
// withdrawal beyond the balance is a stored rejection answered again on a repeat; the same reference with
// other figures is 409.
func TestLiquidityInjectWithdrawAndRepeat(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	var acct api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank("012"), nil, &acct)
	if acct.BalanceRial != 1_000_000 {
		t.Fatalf("opening balance %d", acct.BalanceRial)
	}
	var l api.Liquidity
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: -1_000_000, Reference: "drain"}, &l)
	if l.Status != "applied" || l.BalanceRial != 0 {
		t.Errorf("withdrawing everything: %+v", l)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: -1, Reference: "overdraw"}, &l)
	if l.Status != "rejected" || l.Code != api.CodeInsufficientFunds {
		t.Errorf("withdrawing from zero: %+v", l)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: 500, Reference: "top"}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: -1, Reference: "overdraw"}, &l)
	if l.Status != "rejected" {
		t.Errorf("a repeat of a rejected request must keep its answer: %+v", l)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: 500, Reference: "top"}, &l)
	if l.Status != "applied" || l.BalanceRial != 500 {
		t.Errorf("a repeat applied again? %+v", l)
	}
	w.must(http.StatusConflict, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: 501, Reference: "top"}, nil)
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank("012"), nil, &acct)
	if acct.BalanceRial != 500 || len(acct.Transfers) != 3 {
		t.Errorf("settlement account %+v", acct)
	}
	// An external bank's settlement account moves alone; back to simulated, its mirror catches up (the
	// audit at the end of the test checks it).
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: 70, Reference: "ext"}, nil)
	w.audit()
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
}
