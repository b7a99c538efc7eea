package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/server"
)

// The SATNA scenarios (issue 8, DOMAIN.md §4, rtgs/doc.go): each boots its own switch on the simulated clock,
// moves money through the API and ends with the audit clean (boot's cleanup runs it; the tests run it too after
// money moves). Expected instants come from the calendar, never from the server's output.

// satnaAmount is a customer order above the seed minimum (150,000,000) and below 1404's (1,000,000,000).
const satnaAmount int64 = 500_000_000

// satnaSettled is the status of a settled order: a customer order to a simulated bank is credited to its payee
// in the same chain (issue 8, §6–7: settled → credited), an interbank order stays settled.
func satnaSettled(typ string) string {
	if typ == "customer" {
		return "credited"
	}
	return "settled"
}

// satnaErr is the API's error body.
type satnaErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// satnaPick returns the active, non-magic customer of bank with the largest balance, at least min, other than
// the SHEBAs in except.
func (w *world) satnaPick(bank string, min int64, except ...string) api.Customer {
	w.t.Helper()
	var best *api.Customer
	cs := w.customers(bank).Customers
	for i := range cs {
		c := &cs[i]
		if c.Status != "active" || c.Magic != "" || c.BalanceRial == nil || *c.BalanceRial < min {
			continue
		}
		skip := false
		for _, e := range except {
			skip = skip || c.SHEBA == e
		}
		if !skip && (best == nil || *c.BalanceRial > *best.BalanceRial) {
			best = c
		}
	}
	if best == nil {
		w.t.Fatalf("bank %s has no active, non-magic customer with %d rial", bank, min)
	}
	return *best
}

// satnaAs returns w for a subtest: its helpers fail t, not the parent.
func (w *world) satnaAs(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

// satnaHeld returns a customer's book balance, as the operator sees it.
func (w *world) satnaHeld(bank, shebaNo string) int64 {
	w.t.Helper()
	for _, c := range w.customers(bank).Customers {
		if c.SHEBA == shebaNo {
			if c.BalanceRial == nil {
				w.t.Fatalf("%s: no balance for the operator", shebaNo)
			}
			return *c.BalanceRial
		}
	}
	w.t.Fatalf("no customer %s in bank %s", shebaNo, bank)
	return 0
}

// satnaSettlement returns a bank's settlement balance at the CBI, read with the bank's own key.
func (w *world) satnaSettlement(bank string) int64 {
	w.t.Helper()
	var a api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank(bank), nil, &a)
	return a.BalanceRial
}

// satnaBalances reads the settlement balances of banks.
func (w *world) satnaBalances(banks ...string) map[string]int64 {
	w.t.Helper()
	m := map[string]int64{}
	for _, b := range banks {
		m[b] = w.satnaSettlement(b)
	}
	return m
}

// satnaExpectMoved fails unless every bank's settlement balance is before's plus delta.
func (w *world) satnaExpectMoved(what string, before, delta map[string]int64) {
	w.t.Helper()
	for bank, b := range before {
		if got, want := w.satnaSettlement(bank), b+delta[bank]; got != want {
			w.t.Errorf("%s: settlement account of %s: got %d, want %d (moved %d, want %d)", what, bank, got, want, got-b, delta[bank])
		}
	}
}

// satnaDrain withdraws bank's settlement balance down to leave.
func (w *world) satnaDrain(bank string, leave int64, ref string) {
	w.t.Helper()
	var l api.Liquidity
	amount := w.satnaSettlement(bank) - leave
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
		api.LiquidityRequest{BankCode: bank, AmountRial: -amount, Reference: ref}, &l)
	if l.Status != "applied" || l.BalanceRial != leave {
		w.t.Fatalf("withdrawing %d from %s: %+v, want applied with %d left", amount, bank, l, leave)
	}
}

// satnaInject gives bank amount of settlement liquidity.
func (w *world) satnaInject(bank string, amount int64, ref string) {
	w.t.Helper()
	var l api.Liquidity
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(),
		api.LiquidityRequest{BankCode: bank, AmountRial: amount, Reference: ref}, &l)
	if l.Status != "applied" {
		w.t.Fatalf("injecting %d into %s: %+v", amount, bank, l)
	}
}

func satnaCustomerOrder(payer, payee api.Customer, amount int64, ref string) api.SATNAOrderRequest {
	return api.SATNAOrderRequest{Type: "customer", PayerSHEBA: payer.SHEBA, PayerName: payer.Name, PayeeSHEBA: payee.SHEBA,
		PayeeName: payee.Name, AmountRial: amount, Description: "scenario " + ref, Reference: ref}
}

func satnaInterbank(to string, amount int64, ref string) api.SATNAOrderRequest {
	return api.SATNAOrderRequest{Type: "interbank", ReceiverBank: to, AmountRial: amount, Reference: ref}
}

// satnaSubmit sends an order from bank, which must answer status, and returns the order.
func (w *world) satnaSubmit(bank string, req api.SATNAOrderRequest, status int) api.SATNAOrder {
	w.t.Helper()
	var o api.SATNAOrder
	w.must(status, http.MethodPost, "/v1/satna/orders", w.bank(bank), req, &o)
	if o.ID == "" {
		w.t.Fatalf("order %s from %s: no id in the answer", req.Reference, bank)
	}
	return o
}

// satnaReject sends an order from bank that must be refused with 422, and returns the error body.
func (w *world) satnaReject(bank string, req api.SATNAOrderRequest) satnaErr {
	w.t.Helper()
	status, body := w.do(http.MethodPost, "/v1/satna/orders", w.bank(bank), req)
	var e satnaErr
	if status != http.StatusUnprocessableEntity {
		w.t.Errorf("order %s from %s: status %d, want 422: %s", req.Reference, bank, status, body)
		return e
	}
	if err := json.Unmarshal(body, &e); err != nil {
		w.t.Errorf("order %s: %v: %s", req.Reference, err, body)
	}
	return e
}

func (w *world) satnaGet(bank, id string) api.SATNAOrder {
	w.t.Helper()
	var o api.SATNAOrder
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+id, w.bank(bank), nil, &o)
	return o
}

// satnaAwait polls an order, as bank sees it, until it has status; the clock is left alone. Bounded.
func (w *world) satnaAwait(bank, id, status string) api.SATNAOrder {
	w.t.Helper()
	var o api.SATNAOrder
	for i := 0; i < 400; i++ {
		if o = w.satnaGet(bank, id); o.Status == status {
			return o
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("order %s (%s) stayed %s, want %s: %+v", id, o.Reference, o.Status, status, o)
	return o
}

// satnaList lists bank's orders with the query (direction, status), by id.
func (w *world) satnaList(bank, query string) map[string]api.SATNAOrder {
	w.t.Helper()
	var p api.SATNAOrderPage
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders?limit=1000&"+query, w.bank(bank), nil, &p)
	m := map[string]api.SATNAOrder{}
	for _, o := range p.Orders {
		m[o.ID] = o
	}
	return m
}

// satnaQueue is the operator's view of the queue and the warehouse: id → status.
func (w *world) satnaQueue() map[string]string {
	w.t.Helper()
	var q struct {
		Orders []api.SATNAOrder `json:"orders"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/satna/queue", w.operator(), nil, &q)
	m := map[string]string{}
	for _, o := range q.Orders {
		m[o.ID] = o.Status
	}
	return m
}

// satnaAdvance moves the simulated clock to at.
func (w *world) satnaAdvance(at time.Time) {
	w.t.Helper()
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(),
		api.AdvanceRequest{To: at.Format(time.RFC3339)}, nil)
}

// satnaHeard reports whether bank's feed holds an event of type typ about order id (its id in the event's data).
func (w *world) satnaHeard(bank, typ, id string) bool {
	w.t.Helper()
	var feed api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank(bank), nil, &feed)
	for _, e := range feed.Events {
		data, _ := json.Marshal(e.Data)
		if e.Type == typ && strings.Contains(string(data), id) {
			return true
		}
	}
	return false
}

// satnaAwaitHeard waits (bounded, clock left alone) until bank has heard typ about id.
func (w *world) satnaAwaitHeard(bank, typ, id string) {
	w.t.Helper()
	for i := 0; i < 200; i++ {
		if w.satnaHeard(bank, typ, id) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	var feed api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank(bank), nil, &feed)
	var seen []string
	for _, e := range feed.Events {
		if data, _ := json.Marshal(e.Data); strings.Contains(string(data), id) {
			seen = append(seen, e.Type)
		}
	}
	w.t.Errorf("bank %s never got a %s event about order %s; it got %v", bank, typ, id, seen)
}

// satnaToday is the Tehran date of a Jalali time.
func satnaToday(t *testing.T, at string) calendar.Date { return calendar.DateOf(jalali(t, at)) }

func satnaBusinessDays(t *testing.T, d calendar.Date, n int) calendar.Date {
	t.Helper()
	out, err := calendar.Default().AddBusinessDays(d, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// satnaWithin fails unless at is set and in [from, from+1m].
func satnaWithin(t *testing.T, what string, at *time.Time, from time.Time) {
	t.Helper()
	if at == nil {
		t.Errorf("%s: no settled_at, want %s", what, tehran(from))
		return
	}
	if at.Before(from) || at.After(from.Add(time.Minute)) {
		t.Errorf("%s: settled_at %s, want %s or just after", what, tehran(*at), tehran(from))
	}
}

// TestSATNACustomerAndInterbankSettleAtOnce: in hours, a customer order settles in the 201 and moves the payer's
// book, both settlement accounts and the payee's book by the amount (seed: no fee); an interbank order moves the
// settlement accounts alone, no customer's balance.
func TestSATNACustomerAndInterbankSettleAtOnce(t *testing.T) {
	start := "1404/02/01 09:00"
	w := boot(t, start)
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	payerBefore, payeeBefore := payer.BalanceRial, payee.BalanceRial
	before := w.satnaBalances("017", "054", "012")

	o := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "cust-1"), http.StatusCreated)
	want := api.SATNAOrder{Type: "customer", Status: satnaSettled("customer"), SenderBank: "017", ReceiverBank: "054", PayerSHEBA: payer.SHEBA,
		PayerName: payer.Name, PayeeSHEBA: payee.SHEBA, PayeeName: payee.Name, AmountRial: satnaAmount, FeeRial: 0,
		Reference: "cust-1", Priority: "normal"}
	got := api.SATNAOrder{Type: o.Type, Status: o.Status, SenderBank: o.SenderBank, ReceiverBank: o.ReceiverBank, PayerSHEBA: o.PayerSHEBA,
		PayerName: o.PayerName, PayeeSHEBA: o.PayeeSHEBA, PayeeName: o.PayeeName, AmountRial: o.AmountRial, FeeRial: o.FeeRial,
		Reference: o.Reference, Priority: o.Priority}
	if got != want {
		t.Errorf("order\n got %+v\nwant %+v", got, want)
	}
	if o.Code != "" {
		t.Errorf("a settled order carries code %q", o.Code)
	}
	satnaWithin(t, "customer order", o.SettledAt, jalali(t, start))
	if g := w.satnaHeld("017", payer.SHEBA); g != *payerBefore-satnaAmount {
		t.Errorf("payer: got %d, want %d", g, *payerBefore-satnaAmount)
	}
	if g := w.satnaHeld("054", payee.SHEBA); g != *payeeBefore+satnaAmount {
		t.Errorf("payee: got %d, want %d", g, *payeeBefore+satnaAmount)
	}
	w.satnaExpectMoved("customer order", before, map[string]int64{"017": -satnaAmount, "054": satnaAmount})
	w.audit()

	// Interbank: only the settlement accounts move.
	books := map[string]api.CustomerPage{"017": w.customers("017"), "054": w.customers("054")}
	before = w.satnaBalances("017", "054", "012")
	const ib int64 = 7_000_000_000
	o = w.satnaSubmit("054", satnaInterbank("017", ib, "ib-1"), http.StatusCreated)
	if o.Type != "interbank" || o.Status != "settled" || o.SenderBank != "054" || o.ReceiverBank != "017" || o.AmountRial != ib || o.FeeRial != 0 {
		t.Errorf("interbank order %+v", o)
	}
	satnaWithin(t, "interbank order", o.SettledAt, jalali(t, start))
	w.satnaExpectMoved("interbank order", before, map[string]int64{"054": -ib, "017": ib})
	for bank, page := range books {
		now := w.customers(bank)
		for i, c := range page.Customers {
			if i >= len(now.Customers) || now.Customers[i].SHEBA != c.SHEBA || *now.Customers[i].BalanceRial != *c.BalanceRial {
				t.Errorf("an interbank order moved customer %s of %s", c.SHEBA, bank)
			}
		}
	}
	w.audit()
}

// TestSATNARepeatReturnsTheOriginal: an order is idempotent on (sending bank, reference): the same reference and
// fields answer 200 with the original, moving nothing again; other fields 409 reference_reused; another bank's
// use of the same reference is an order of its own.
func TestSATNARepeatReturnsTheOriginal(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	req := satnaCustomerOrder(payer, payee, satnaAmount, "dup-1")
	first := w.satnaSubmit("017", req, http.StatusCreated)
	before := w.satnaBalances("017", "054")
	payerBefore := w.satnaHeld("017", payer.SHEBA)

	again := w.satnaSubmit("017", req, http.StatusOK)
	if again.ID != first.ID || again.Status != first.Status || again.AmountRial != first.AmountRial {
		t.Errorf("repeat: got %s %s, want the original %s %s", again.ID, again.Status, first.ID, first.Status)
	}
	w.satnaExpectMoved("a repeat", before, nil)
	if g := w.satnaHeld("017", payer.SHEBA); g != payerBefore {
		t.Errorf("a repeat moved the payer: %d, was %d", g, payerBefore)
	}

	for _, tc := range []struct {
		name   string
		change func(*api.SATNAOrderRequest)
	}{
		{"another amount", func(r *api.SATNAOrderRequest) { r.AmountRial++ }},
		{"another payee name", func(r *api.SATNAOrderRequest) { r.PayeeName += " x" }},
		{"another priority", func(r *api.SATNAOrderRequest) { r.Priority = "urgent" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.satnaAs(t)
			r := req
			tc.change(&r)
			status, body := w.do(http.MethodPost, "/v1/satna/orders", w.bank("017"), r)
			if status != http.StatusConflict || !contains(body, `"code":"reference_reused"`) {
				t.Errorf("same reference, %s: %d %s, want 409 reference_reused", tc.name, status, body)
			}
		})
	}
	w.satnaExpectMoved("refused reuses", before, nil)

	// The reference is the sender's: 054 may use it for an order of its own.
	other := w.satnaSubmit("054", satnaInterbank("017", 1_000_000, "dup-1"), http.StatusCreated)
	if other.ID == first.ID {
		t.Errorf("054's order with 017's reference got 017's order %s", first.ID)
	}
	w.audit()
}

// TestSATNAStatelessRejectionsStoreNothing: what the request alone shows answers 422 with the rtgs code and its
// field, and nothing is stored: the lists and the queue stay empty and the reference stays free.
func TestSATNAStatelessRejectionsStoreNothing(t *testing.T) {
	start := "1404/02/01 09:00"
	w := boot(t, start)
	today := satnaToday(t, start)
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	sameBank := w.satnaPick("017", 0, payer.SHEBA)
	foreignPayer := w.satnaPick("054", 0, payee.SHEBA)
	badPayee := payee
	last := badPayee.SHEBA[len(badPayee.SHEBA)-1]
	badPayee.SHEBA = badPayee.SHEBA[:len(badPayee.SHEBA)-1] + string('0'+(last-'0'+1)%10) // breaks mod 97
	before := w.satnaBalances("017", "054", "012")

	ok := func(mod func(*api.SATNAOrderRequest)) api.SATNAOrderRequest {
		r := satnaCustomerOrder(payer, payee, satnaAmount, "")
		mod(&r)
		return r
	}
	cases := []struct {
		name, code, field string
		req               api.SATNAOrderRequest
	}{
		{"zero amount", "amount_invalid", "amount_rial", ok(func(r *api.SATNAOrderRequest) { r.AmountRial = 0 })},
		{"no payer name", "payer_name_invalid", "payer_name", ok(func(r *api.SATNAOrderRequest) { r.PayerName = "" })},
		{"unknown receiver bank", "receiver_bank_unknown", "receiver_bank", satnaInterbank("999", 1_000_000, "")},
		{"payee SHEBA check digits", "payee_sheba_invalid", "payee_sheba", ok(func(r *api.SATNAOrderRequest) { r.PayeeSHEBA = badPayee.SHEBA })},
		{"payer of another bank", "payer_bank_mismatch", "payer_sheba", ok(func(r *api.SATNAOrderRequest) { r.PayerSHEBA = foreignPayer.SHEBA })},
		{"receiver bank not the payee's", "payee_bank_mismatch", "payee_sheba", ok(func(r *api.SATNAOrderRequest) { r.ReceiverBank = "012" })},
		{"interbank to itself", "sender_is_receiver", "receiver_bank", satnaInterbank("017", 1_000_000, "")},
		{"on us", "on_us", "payee_sheba", ok(func(r *api.SATNAOrderRequest) { r.PayeeSHEBA, r.PayeeName = sameBank.SHEBA, sameBank.Name })},
		{"below the minimum", "below_minimum", "amount_rial", ok(func(r *api.SATNAOrderRequest) { r.AmountRial = 149_999_999 })},
		{"effective yesterday", "effective_date_past", "effective_date", ok(func(r *api.SATNAOrderRequest) { r.EffectiveDate = today.AddDays(-1).String() })},
		{"six business days ahead", "effective_date_too_far", "effective_date", ok(func(r *api.SATNAOrderRequest) {
			r.EffectiveDate = satnaBusinessDays(t, today, 6).String()
		})},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := w.satnaAs(t)
			tc.req.Reference = fmt.Sprintf("bad-%d", i)
			e := w.satnaReject("017", tc.req)
			if e.Code != tc.code || e.Field != tc.field {
				t.Errorf("got %s on %q, want %s on %q: %s", e.Code, e.Field, tc.code, tc.field, e.Message)
			}
			if tc.code == "below_minimum" && !strings.Contains(strings.ToUpper(e.Message), "PAYA") {
				t.Errorf("below_minimum does not point to PAYA: %q", e.Message)
			}
		})
	}
	if n := len(w.satnaList("017", "")); n != 0 {
		t.Errorf("017 lists %d orders after only rejections", n)
	}
	if q := w.satnaQueue(); len(q) != 0 {
		t.Errorf("the queue holds %v after only rejections", q)
	}
	w.satnaExpectMoved("rejections", before, nil)
	// Nothing was stored under the references: a good order with one of them is new.
	if o := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "bad-0"), http.StatusCreated); o.Status != satnaSettled("customer") {
		t.Errorf("a good order on a refused reference: %+v", o)
	}
	w.audit()
}

// TestSATNAMinimumBySeedAnd1404Profiles: the same 500,000,000-rial customer order is SATNA's under seed (minimum
// 150,000,000) and PAYA's under 1404 (minimum 1,000,000,000).
func TestSATNAMinimumBySeedAnd1404Profiles(t *testing.T) {
	for _, tc := range []struct {
		rules string
		code  string // "" when accepted
	}{
		{"seed", ""},
		{"1404", "below_minimum"},
	} {
		t.Run(tc.rules, func(t *testing.T) {
			w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.Rules = tc.rules })
			payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
			req := satnaCustomerOrder(payer, payee, satnaAmount, "min-"+tc.rules)
			if tc.code == "" {
				if o := w.satnaSubmit("017", req, http.StatusCreated); o.Status != satnaSettled("customer") || o.FeeRial != 0 {
					t.Errorf("under %s: %s with fee %d, want %s with none", tc.rules, o.Status, o.FeeRial, satnaSettled("customer"))
				}
				w.audit()
				return
			}
			e := w.satnaReject("017", req)
			if e.Code != tc.code || e.Field != "amount_rial" || !strings.Contains(strings.ToUpper(e.Message), "PAYA") {
				t.Errorf("under %s: %+v, want %s on amount_rial pointing to PAYA", tc.rules, e, tc.code)
			}
			if n := len(w.satnaList("017", "")); n != 0 {
				t.Errorf("under %s: %d orders stored", tc.rules, n)
			}
		})
	}
}

// TestSATNASuspendedReceiverIsAStoredRejection: what state decides is a stored order, status rejected with its
// code, answered again on a repeat; it moves nothing; once the bank is resumed orders settle again.
func TestSATNASuspendedReceiverIsAStoredRejection(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	before := w.satnaBalances("017", "054")
	payerBefore := w.satnaHeld("017", payer.SHEBA)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/054/suspend", w.operator(), nil, nil)

	for _, req := range []api.SATNAOrderRequest{
		satnaCustomerOrder(payer, payee, satnaAmount, "sus-cust"),
		satnaInterbank("054", 3_000_000_000, "sus-ib"),
	} {
		t.Run(req.Type, func(t *testing.T) {
			w := w.satnaAs(t)
			o := w.satnaSubmit("017", req, http.StatusCreated)
			if o.Status != "rejected" || o.Code != "receiver_bank_suspended" || o.SettledAt != nil {
				t.Errorf("to a suspended bank: %s %s settled_at %v, want rejected receiver_bank_suspended", o.Status, o.Code, o.SettledAt)
			}
			again := w.satnaSubmit("017", req, http.StatusOK)
			if again.ID != o.ID || again.Status != "rejected" || again.Code != o.Code {
				t.Errorf("repeat: %s %s %s, want %s rejected %s", again.ID, again.Status, again.Code, o.ID, o.Code)
			}
			if g := w.satnaGet("017", o.ID); g.Status != "rejected" {
				t.Errorf("GET: %s", g.Status)
			}
			if _, ok := w.satnaList("017", "direction=out&status=rejected")[o.ID]; !ok {
				t.Errorf("017's rejected orders do not list %s", o.ID)
			}
			w.satnaAwaitHeard("017", "satna.order.rejected", o.ID)
		})
	}
	w.satnaExpectMoved("rejected orders", before, nil)
	if g := w.satnaHeld("017", payer.SHEBA); g != payerBefore {
		t.Errorf("a rejected order moved the payer: %d, was %d", g, payerBefore)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/054/resume", w.operator(), nil, nil)
	if o := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "sus-after"), http.StatusCreated); o.Status != satnaSettled("customer") {
		t.Errorf("after resuming: %s %s", o.Status, o.Code)
	}
	w.audit()
}

// TestSATNAWarehousedUntilItsDayOpens: outside hours, on a holiday or a Friday, or future-dated, an order is
// warehoused until 06:00 of its business day (computed here from the calendar) and settles when the clock
// reaches it, not a minute before; in hours it settles at once. Cut-offs are excluded: 14:30 for customer
// orders, 15:00 for interbank ones.
func TestSATNAWarehousedUntilItsDayOpens(t *testing.T) {
	cal := calendar.Default()
	nextOpen := func(t *testing.T, at string, after bool) time.Time { // 06:00 of the first business day on (or after) at's day
		t.Helper()
		d := satnaToday(t, at)
		if after {
			d = d.AddDays(1)
		}
		d, err := cal.NextBusinessDay(d)
		if err != nil {
			t.Fatal(err)
		}
		return d.At(6, 0)
	}
	// The acceptance dates, checked against the calendar: Nowruz 1404 opens on 1404/01/05 = 2025-03-25, +03:30.
	if got, want := nextOpen(t, "1404/01/01 10:00", false), time.Date(2025, 3, 25, 6, 0, 0, 0, time.FixedZone("", 3*3600+1800)); !got.Equal(want) {
		t.Fatalf("the calendar opens after 1404/01/01 at %s, the issue says %s", tehran(got), tehran(want))
	}
	if d := satnaToday(t, "1404/02/05 10:00"); d.Weekday() != time.Friday {
		t.Fatalf("1404/02/05 is a %s, the Friday case needs a Friday", d.Weekday())
	}
	for _, tc := range []struct {
		name, at, typ string
		aheadDays     int       // effective_date: business days after today; 0: none
		open          time.Time // zero: settles at once
	}{
		{"customer on Nowruz", "1404/01/01 10:00", "customer", 0, nextOpen(t, "1404/01/01 10:00", false)},
		{"customer before the opening", "1404/02/01 05:00", "customer", 0, nextOpen(t, "1404/02/01 05:00", false)},
		{"customer at its cut-off", "1404/02/01 14:30", "customer", 0, nextOpen(t, "1404/02/01 14:30", true)},
		{"customer after its cut-off", "1404/02/01 15:00", "customer", 0, nextOpen(t, "1404/02/01 15:00", true)},
		{"interbank between the cut-offs", "1404/02/01 14:45", "interbank", 0, time.Time{}},
		{"interbank at its cut-off", "1404/02/01 15:00", "interbank", 0, nextOpen(t, "1404/02/01 15:00", true)},
		{"interbank on a Friday", "1404/02/05 10:00", "interbank", 0, nextOpen(t, "1404/02/05 10:00", false)},
		{"customer dated two business days ahead", "1404/02/01 09:00", "customer", 2, satnaBusinessDays(t, satnaToday(t, "1404/02/01 09:00"), 2).At(6, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := boot(t, tc.at)
			payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
			req := satnaInterbank("054", satnaAmount, "wh")
			if tc.typ == "customer" {
				req = satnaCustomerOrder(payer, payee, satnaAmount, "wh")
			}
			var wantDate string
			if tc.aheadDays > 0 {
				d := satnaBusinessDays(t, satnaToday(t, tc.at), tc.aheadDays)
				req.EffectiveDate, wantDate = d.Jalali().String(), d.String() // sent in Jalali, answered in ISO
			}
			before := w.satnaBalances("017", "054")
			payerBefore, payeeBefore := w.satnaHeld("017", payer.SHEBA), w.satnaHeld("054", payee.SHEBA)
			o := w.satnaSubmit("017", req, http.StatusCreated)
			settleAt := tc.open
			if tc.open.IsZero() {
				if o.Status != satnaSettled(tc.typ) {
					t.Fatalf("at %s: %s, want %s at once", tc.at, o.Status, satnaSettled(tc.typ))
				}
				settleAt = jalali(t, tc.at)
			} else {
				if o.Status != "warehoused" || o.SettleAfter == nil || !o.SettleAfter.Equal(tc.open) {
					t.Fatalf("at %s: %s settle_after %v, want warehoused until %s", tc.at, o.Status, o.SettleAfter, tehran(tc.open))
				}
				if wantDate != "" && o.EffectiveDate != wantDate {
					t.Errorf("effective_date %q, want %q", o.EffectiveDate, wantDate)
				}
				if q := w.satnaQueue(); q[o.ID] != "warehoused" {
					t.Errorf("the operator's queue: %v, want %s warehoused", q, o.ID)
				}
				w.satnaExpectMoved("warehoused", before, nil)
				w.satnaAdvance(tc.open.Add(-time.Minute))
				if g := w.satnaGet("017", o.ID); g.Status != "warehoused" {
					t.Errorf("a minute before %s: %s, want still warehoused", tehran(tc.open), g.Status)
				}
				w.satnaAdvance(tc.open)
				o = w.satnaAwait("017", o.ID, satnaSettled(tc.typ))
				if q := w.satnaQueue(); q[o.ID] != "" {
					t.Errorf("settled, still in the operator's queue as %s", q[o.ID])
				}
			}
			satnaWithin(t, tc.name, o.SettledAt, settleAt)
			w.satnaExpectMoved(tc.name, before, map[string]int64{"017": -satnaAmount, "054": satnaAmount})
			moved := int64(0)
			if tc.typ == "customer" {
				moved = satnaAmount
			}
			if g := w.satnaHeld("017", payer.SHEBA); g != payerBefore-moved {
				t.Errorf("payer: got %d, want %d", g, payerBefore-moved)
			}
			if g := w.satnaHeld("054", payee.SHEBA); g != payeeBefore+moved {
				t.Errorf("payee: got %d, want %d", g, payeeBefore+moved)
			}
			w.audit()
		})
	}
}

// TestSATNAQueuedSettlesWhenFundsArrive: an order beyond its sender's settlement balance is queued (nothing
// moves), and settles as soon as the balance rises: an incoming interbank payment, an injection, or an injection
// after the cut-offs (the queue keeps settling until the end of day).
func TestSATNAQueuedSettlesWhenFundsArrive(t *testing.T) {
	const low, funds int64 = 100_000_000, 1_000_000_000
	for _, tc := range []struct {
		name  string
		fund  func(t *testing.T, w *world)
		delta map[string]int64 // besides the queued order
	}{
		{"incoming payment", func(t *testing.T, w *world) {
			if o := w.satnaSubmit("054", satnaInterbank("017", funds, "in-1"), http.StatusCreated); o.Status != "settled" {
				t.Errorf("the incoming payment: %s", o.Status)
			}
		}, map[string]int64{"017": funds, "054": -funds}},
		{"injection", func(_ *testing.T, w *world) { w.satnaInject("017", funds, "inj-1") }, map[string]int64{"017": funds}},
		{"injection after the cut-offs", func(t *testing.T, w *world) {
			w.satnaAdvance(jalali(t, "1404/02/01 15:30"))
			w.satnaInject("017", funds, "inj-2")
		}, map[string]int64{"017": funds}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := boot(t, "1404/02/01 09:00")
			payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
			w.satnaDrain("017", low, "drain")
			before := w.satnaBalances("017", "054", "012")
			payerBefore, payeeBefore := w.satnaHeld("017", payer.SHEBA), w.satnaHeld("054", payee.SHEBA)

			o := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "q-1"), http.StatusCreated)
			if o.Status != "queued" || o.SettledAt != nil {
				t.Fatalf("%d rial with %d in the account: %s, want queued", satnaAmount, low, o.Status)
			}
			if q := w.satnaQueue(); q[o.ID] != "queued" {
				t.Errorf("the operator's queue: %v, want %s queued", q, o.ID)
			}
			if _, ok := w.satnaList("017", "direction=out&status=queued")[o.ID]; !ok {
				t.Errorf("017's queued orders do not list %s", o.ID)
			}
			w.satnaExpectMoved("queued", before, nil)

			tc.fund(t, w)
			o = w.satnaAwait("017", o.ID, satnaSettled("customer"))
			if o.SettledAt == nil {
				t.Errorf("settled without settled_at")
			}
			want := map[string]int64{"017": tc.delta["017"] - satnaAmount, "054": tc.delta["054"] + satnaAmount}
			w.satnaExpectMoved("queued then settled", before, want)
			if g := w.satnaHeld("017", payer.SHEBA); g != payerBefore-satnaAmount {
				t.Errorf("payer: got %d, want %d", g, payerBefore-satnaAmount)
			}
			if g := w.satnaHeld("054", payee.SHEBA); g != payeeBefore+satnaAmount {
				t.Errorf("payee: got %d, want %d", g, payeeBefore+satnaAmount)
			}
			if q := w.satnaQueue(); q[o.ID] != "" {
				t.Errorf("settled, still in the operator's queue as %s", q[o.ID])
			}
			w.audit()
		})
	}
}

// TestSATNAEndOfDayCancelsUnfunded: at the end of day (16:00) orders still queued are cancelled_eod with
// insufficient_liquidity_at_cutoff, the sender is told, nothing moves, and later funds do not revive them.
func TestSATNAEndOfDayCancelsUnfunded(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	w.satnaDrain("017", 100_000_000, "drain")
	before := w.satnaBalances("017", "054")
	payerBefore := w.satnaHeld("017", payer.SHEBA)
	queued := []api.SATNAOrder{
		w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "eod-cust"), http.StatusCreated),
		w.satnaSubmit("017", satnaInterbank("054", 2_000_000_000, "eod-ib"), http.StatusCreated),
	}
	for _, o := range queued {
		if o.Status != "queued" {
			t.Fatalf("%s: %s, want queued", o.Reference, o.Status)
		}
	}
	end := satnaToday(t, "1404/02/01 09:00").At(16, 0)
	w.satnaAdvance(end.Add(-time.Minute))
	for _, o := range queued {
		if g := w.satnaGet("017", o.ID); g.Status != "queued" {
			t.Errorf("%s a minute before the end of day: %s, want queued", o.Reference, g.Status)
		}
	}
	w.satnaAdvance(end.Add(time.Minute))
	for _, o := range queued {
		g := w.satnaAwait("017", o.ID, "cancelled_eod")
		if g.Code != "insufficient_liquidity_at_cutoff" || g.SettledAt != nil {
			t.Errorf("%s: code %q settled_at %v, want insufficient_liquidity_at_cutoff, unsettled", o.Reference, g.Code, g.SettledAt)
		}
		w.satnaAwaitHeard("017", "satna.order.cancelled_eod", o.ID)
	}
	if q := w.satnaQueue(); len(q) != 0 {
		t.Errorf("the queue after the end of day: %v", q)
	}
	w.satnaExpectMoved("cancelled at the end of day", before, nil)
	w.satnaInject("017", 10_000_000_000, "late")
	for _, o := range queued {
		if g := w.satnaGet("017", o.ID); g.Status != "cancelled_eod" {
			t.Errorf("%s after funds arrived: %s, want still cancelled_eod", o.Reference, g.Status)
		}
	}
	w.satnaExpectMoved("after the late injection", before, map[string]int64{"017": 10_000_000_000})
	if g := w.satnaHeld("017", payer.SHEBA); g != payerBefore {
		t.Errorf("a cancelled order moved the payer: %d, was %d", g, payerBefore)
	}
	w.audit()
}

// TestSATNARevoke: the sender may revoke a warehoused or a queued order (200 revoked; neither settles later); a
// settled or credited order is final (409 irrevocable); a revoked one is closed (409 order_closed).
func TestSATNARevoke(t *testing.T) {
	start := "1404/02/01 09:00"
	w := boot(t, start)
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	tomorrow := satnaBusinessDays(t, satnaToday(t, start), 1)

	settled := w.satnaSubmit("017", satnaInterbank("054", 1_000_000, "rv-settled"), http.StatusCreated)
	if settled.Status != "settled" {
		t.Fatalf("rv-settled: %s", settled.Status)
	}
	payer2 := w.satnaPick("017", satnaAmount, payer.SHEBA)
	credited := w.satnaSubmit("017", satnaCustomerOrder(payer2, payee, satnaAmount, "rv-credited"), http.StatusCreated)
	if credited.Status != satnaSettled("customer") {
		t.Fatalf("rv-credited: %s", credited.Status)
	}
	wreq := satnaInterbank("054", 4_000_000_000, "rv-wh2")
	wreq.EffectiveDate = tomorrow.String()
	wh := w.satnaSubmit("017", wreq, http.StatusCreated)
	if wh.Status != "warehoused" {
		t.Fatalf("dated %s: %s, want warehoused", tomorrow, wh.Status)
	}
	w.satnaDrain("017", 100_000_000, "drain")
	q := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "rv-q"), http.StatusCreated)
	if q.Status != "queued" {
		t.Fatalf("rv-q: %s, want queued", q.Status)
	}
	before := w.satnaBalances("017", "054")
	payerBefore := w.satnaHeld("017", payer.SHEBA)

	for _, tc := range []struct {
		name       string
		id         string
		status     int
		wantStatus string // the order's after the revoke
		code       string // the error's, when refused
	}{
		{"warehoused", wh.ID, http.StatusOK, "revoked", ""},
		{"queued", q.ID, http.StatusOK, "revoked", ""},
		{"settled", settled.ID, http.StatusConflict, "settled", "irrevocable"},
		{"credited", credited.ID, http.StatusConflict, credited.Status, "irrevocable"},
		{"already revoked", q.ID, http.StatusConflict, "revoked", "order_closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.satnaAs(t)
			status, body := w.do(http.MethodPost, "/v1/satna/orders/"+tc.id+"/revoke", w.bank("017"), nil)
			if status != tc.status {
				t.Fatalf("revoke: %d %s, want %d", status, body, tc.status)
			}
			if tc.code != "" && !contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("revoke: %s, want code %s", body, tc.code)
			}
			if tc.code == "" {
				var o api.SATNAOrder
				if err := json.Unmarshal(body, &o); err != nil || o.ID != tc.id || o.Status != tc.wantStatus {
					t.Errorf("revoke answered %s (%v), want the order %s", body, err, tc.wantStatus)
				}
			}
			if g := w.satnaGet("017", tc.id); g.Status != tc.wantStatus {
				t.Errorf("after the revoke: %s, want %s", g.Status, tc.wantStatus)
			}
		})
	}
	if left := w.satnaQueue(); len(left) != 0 {
		t.Errorf("the queue after revoking everything in it: %v", left)
	}
	// Funds arrive and the warehoused order's day opens: neither revoked order settles.
	w.satnaInject("017", 10_000_000_000, "after-revoke")
	w.satnaAdvance(tomorrow.At(6, 1))
	for _, id := range []string{wh.ID, q.ID} {
		if g := w.satnaGet("017", id); g.Status != "revoked" || g.SettledAt != nil {
			t.Errorf("revoked order %s later: %s settled_at %v", g.Reference, g.Status, g.SettledAt)
		}
	}
	w.satnaExpectMoved("revoked orders", before, map[string]int64{"017": 10_000_000_000})
	if g := w.satnaHeld("017", payer.SHEBA); g != payerBefore {
		t.Errorf("a revoked order moved the payer: %d, was %d", g, payerBefore)
	}
	w.audit()
}

// TestSATNAConfidentialityListsAndEvents: an order is the sender's and the receiver's: a third bank gets 404 and
// nothing of it, the lists filter by direction and status, and both banks concerned hear satna.order.<status>.
func TestSATNAConfidentialityListsAndEvents(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer, payee := w.satnaPick("017", satnaAmount), w.satnaPick("054", 0)
	cust := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, satnaAmount, "conf-satna"), http.StatusCreated)
	ib := w.satnaSubmit("017", satnaInterbank("054", 9_000_000, "conf-ib"), http.StatusCreated)
	if cust.Status != satnaSettled("customer") || ib.Status != satnaSettled("interbank") {
		t.Fatalf("customer order %s, interbank order %s", cust.Status, ib.Status)
	}
	if g := w.satnaGet("054", cust.ID); g.ID != cust.ID || g.AmountRial != cust.AmountRial || g.SenderBank != "017" || g.PayeeSHEBA != payee.SHEBA {
		t.Errorf("the receiver's view: %+v", g)
	}
	for _, probe := range []struct{ method, path string }{
		{http.MethodGet, "/v1/satna/orders/" + cust.ID},
		{http.MethodPost, "/v1/satna/orders/" + cust.ID + "/revoke"},
		{http.MethodGet, "/v1/satna/orders/" + ib.ID},
	} {
		status, body := w.do(probe.method, probe.path, w.bank("012"), nil)
		if status != http.StatusNotFound || !contains(body, `"code":"not_found"`) {
			t.Errorf("012 %s %s: %d %s, want 404 not_found", probe.method, probe.path, status, body)
		}
		for _, leak := range []string{"conf-satna", "conf-ib", payer.SHEBA, payee.SHEBA, fmt.Sprint(satnaAmount)} {
			if contains(body, leak) {
				t.Errorf("012 %s %s sees %q: %s", probe.method, probe.path, leak, body)
			}
		}
	}
	for _, tc := range []struct {
		bank, query string
		cust, ib    bool // listed
	}{
		{"017", "direction=out", true, true},
		{"017", "direction=in", false, false},
		{"017", "direction=out&status=" + satnaSettled("customer"), true, satnaSettled("customer") == satnaSettled("interbank")},
		{"017", "direction=out&status=settled", satnaSettled("customer") == "settled", true},
		{"017", "direction=out&status=queued", false, false},
		{"054", "direction=in", true, true},
		{"054", "direction=in&status=settled", satnaSettled("customer") == "settled", true},
		{"054", "direction=out", false, false},
		{"054", "", true, true},
		{"012", "", false, false},
		{"012", "direction=in", false, false},
	} {
		t.Run(tc.bank+"?"+tc.query, func(t *testing.T) {
			w := w.satnaAs(t)
			l := w.satnaList(tc.bank, tc.query)
			if _, got := l[cust.ID]; got != tc.cust {
				t.Errorf("customer order listed %v, want %v", got, tc.cust)
			}
			if _, got := l[ib.ID]; got != tc.ib {
				t.Errorf("interbank order listed %v, want %v", got, tc.ib)
			}
		})
	}
	for _, o := range []api.SATNAOrder{cust, ib} {
		for _, bank := range []string{"017", "054"} {
			w.satnaAwaitHeard(bank, "satna.order."+o.Status, o.ID)
		}
		if w.satnaHeard("012", "satna.order."+o.Status, o.ID) {
			t.Errorf("012 heard of order %s between 017 and 054", o.Reference)
		}
	}
	w.audit()
}

// TestSATNARestartKeepsQueueAndWarehouse: a switch restarted with orders queued, warehoused, settled, rejected and
// revoked finds every one exactly as it was and the same queue; then the queued one settles on an incoming
// payment and the warehoused one when its day opens.
func TestSATNARestartKeepsQueueAndWarehouse(t *testing.T) {
	start := "1404/02/01 09:00"
	w := boot(t, start)
	tomorrow := satnaBusinessDays(t, satnaToday(t, start), 1)
	payer054, payee017 := w.satnaPick("054", satnaAmount), w.satnaPick("017", 0)

	orders := map[string]api.SATNAOrder{} // by role; sender in SenderBank
	orders["settled"] = w.satnaSubmit("054", satnaInterbank("012", 2_000_000, "rs-settled"), http.StatusCreated)
	wreq := satnaCustomerOrder(payer054, payee017, satnaAmount, "rs-wh")
	wreq.EffectiveDate = tomorrow.String()
	orders["warehoused"] = w.satnaSubmit("054", wreq, http.StatusCreated)
	rreq := satnaInterbank("017", 3_000_000, "rs-revoked")
	rreq.EffectiveDate = tomorrow.String()
	rv := w.satnaSubmit("054", rreq, http.StatusCreated)
	w.must(http.StatusOK, http.MethodPost, "/v1/satna/orders/"+rv.ID+"/revoke", w.bank("054"), nil, nil)
	orders["revoked"] = w.satnaGet("054", rv.ID)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/012/suspend", w.operator(), nil, nil)
	orders["rejected"] = w.satnaSubmit("017", satnaInterbank("012", 4_000_000, "rs-rejected"), http.StatusCreated)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/012/resume", w.operator(), nil, nil)
	w.satnaDrain("017", 100_000_000, "drain")
	orders["queued"] = w.satnaSubmit("017", satnaInterbank("054", 600_000_000, "rs-queued"), http.StatusCreated)
	for role, o := range orders {
		if o.Status != role {
			t.Fatalf("%s: %s, want %s", o.Reference, o.Status, role)
		}
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for role, o := range orders {
			g := w.satnaGet(o.SenderBank, o.ID)
			b, _ := json.Marshal(struct {
				Status, Code, EffectiveDate, Priority string
				Amount, Fee                           int64
				SettleAfter, SettledAt                string
			}{g.Status, g.Code, g.EffectiveDate, g.Priority, g.AmountRial, g.FeeRial, satnaInstant(g.SettleAfter), satnaInstant(g.SettledAt)})
			m[role] = string(b)
		}
		return m
	}
	queueIDs := func() string {
		var s []string
		for id, st := range w.satnaQueue() {
			s = append(s, id+" "+st)
		}
		sort.Strings(s)
		return strings.Join(s, ", ")
	}
	wantQueue := []string{orders["queued"].ID + " queued", orders["warehoused"].ID + " warehoused"}
	sort.Strings(wantQueue)
	beforeOrders, beforeQueue := snapshot(), queueIDs()
	if beforeQueue != strings.Join(wantQueue, ", ") {
		t.Errorf("queue before the restart: %s, want %s", beforeQueue, strings.Join(wantQueue, ", "))
	}
	balances := w.satnaBalances("017", "054", "012")
	payerBefore, payeeBefore := w.satnaHeld("054", payer054.SHEBA), w.satnaHeld("017", payee017.SHEBA)

	w.restart()

	after := snapshot()
	for role, b := range beforeOrders {
		if after[role] != b {
			t.Errorf("%s order after the restart:\n got %s\nwant %s", role, after[role], b)
		}
	}
	if q := queueIDs(); q != beforeQueue {
		t.Errorf("queue after the restart: %s, want %s", q, beforeQueue)
	}
	w.satnaExpectMoved("the restart", balances, nil)
	w.audit()

	// The queue still works: an incoming payment frees the queued order.
	const in int64 = 1_000_000_000
	w.satnaSubmit("012", satnaInterbank("017", in, "rs-in"), http.StatusCreated)
	w.satnaAwait("017", orders["queued"].ID, "settled")
	// The warehouse still works: tomorrow's opening settles the warehoused order, and only it.
	w.satnaAdvance(tomorrow.At(6, 0))
	o := w.satnaAwait("054", orders["warehoused"].ID, satnaSettled("customer"))
	satnaWithin(t, "warehoused after the restart", o.SettledAt, tomorrow.At(6, 0))
	for _, role := range []string{"settled", "revoked", "rejected"} {
		if g := w.satnaGet(orders[role].SenderBank, orders[role].ID); g.Status != role {
			t.Errorf("%s order later: %s", role, g.Status)
		}
	}
	w.satnaExpectMoved("after the restart", balances, map[string]int64{
		"012": -in, "017": in - 600_000_000 + satnaAmount, "054": 600_000_000 - satnaAmount})
	if g := w.satnaHeld("054", payer054.SHEBA); g != payerBefore-satnaAmount {
		t.Errorf("payer: got %d, want %d", g, payerBefore-satnaAmount)
	}
	if g := w.satnaHeld("017", payee017.SHEBA); g != payeeBefore+satnaAmount {
		t.Errorf("payee: got %d, want %d", g, payeeBefore+satnaAmount)
	}
	if q := w.satnaQueue(); len(q) != 0 {
		t.Errorf("queue at the end: %v", q)
	}
	w.audit()
}

// satnaInstant shows an optional instant as UTC RFC 3339 (nanoseconds), "" when absent.
func satnaInstant(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
