package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/tasvieh/tasvieh/api"
)

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// spec loads the served OpenAPI document with kin-openapi, which reads 3.1.
func (w *world) spec() *openapi3.T {
	w.t.Helper()
	status, body := w.do(http.MethodGet, "/openapi.json", "", nil)
	if status != http.StatusOK {
		w.t.Fatalf("/openapi.json: %d", status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		w.t.Fatalf("kin-openapi cannot read /openapi.json: %v", err)
	}
	return doc
}

// fill replaces a path's parameters with values that exist.
func fill(path string) string {
	return strings.NewReplacer("{code}", "017", "{id}", "1").Replace(path)
}

// TestConfidentialityMatrix walks every operation of the document: no key → 401 (except /healthz); a bank key
// on an operator route → 403; an operator key on a bank's own route → 403; and each route that reads a bank's
// objects answers another bank's with 404 and no data.
func TestConfidentialityMatrix(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	doc := w.spec()
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			secured := op.Security != nil && len(*op.Security) > 0
			if path == "/healthz" {
				if secured {
					t.Errorf("/healthz must need no key")
				}
				continue
			}
			if !secured {
				t.Errorf("%s %s declares no security", method, path)
			}
			p := fill(path)
			if status, body := w.do(method, p, "", nil); status != http.StatusUnauthorized || !contains(body, `"code":"unauthorized"`) {
				t.Errorf("%s %s without a key: %d %s, want 401 unauthorized", method, p, status, body)
			}
			if status, _ := w.do(method, p, "not-a-key-of-this-server", nil); status != http.StatusUnauthorized {
				t.Errorf("%s %s with a wrong key: %d, want 401", method, p, status)
			}
			if strings.HasPrefix(path, "/v1/operator/") {
				if status, body := w.do(method, p, w.bank("017"), nil); status != http.StatusForbidden || !contains(body, `"code":"forbidden"`) {
					t.Errorf("%s %s with a bank key: %d %s, want 403 forbidden", method, p, status, body)
				}
			}
			if strings.HasPrefix(path, "/v1/webhook") {
				if status, _ := w.do(method, p, w.operator(), nil); status != http.StatusForbidden {
					t.Errorf("%s %s with the operator's key: %d, want 403", method, p, status)
				}
			}
			if _, ok := op.Responses.Map()["401"]; !ok {
				t.Errorf("%s %s does not declare its 401", method, path)
			}
		}
	}
	if ops < 18 {
		t.Errorf("only %d operations in the document", ops)
	}

	// Another bank's objects: 404 and nothing of theirs in the body.
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: 777_000, Reference: "conf-1"}, nil)
	var hook api.Webhook
	sink := newSink(t, 0)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("012"), api.WebhookRequest{URL: sink.URL}, &hook)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), api.LiquidityRequest{BankCode: "012", AmountRial: 1, Reference: "conf-2"}, nil)
	var ds api.DeliveryPage
	waitFor(t, w, func() bool {
		w.must(http.StatusOK, http.MethodGet, "/v1/webhook/deliveries", w.bank("012"), nil, &ds)
		return len(ds.Deliveries) > 0
	})
	for _, probe := range []struct{ method, path string }{
		{http.MethodGet, "/v1/settlement-account?bank=012"},
		{http.MethodGet, "/v1/events?bank=012"},
		{http.MethodPost, "/v1/webhook/deliveries/" + ds.Deliveries[0].ID + "/retry"},
	} {
		status, body := w.do(probe.method, probe.path, w.bank("017"), nil)
		if status != http.StatusNotFound || !contains(body, `"code":"not_found"`) {
			t.Errorf("017 reading 012's %s: %d %s, want 404", probe.path, status, body)
		}
		for _, leak := range []string{"777000", "conf-1", ds.Deliveries[0].EventID, "012"} {
			if contains(body, leak) {
				t.Errorf("017 reading 012's %s sees %q: %s", probe.path, leak, body)
			}
		}
	}
	// 017's own feed holds nothing of 012's.
	_, body := w.do(http.MethodGet, "/v1/events", w.bank("017"), nil)
	if contains(body, "conf-1") {
		t.Errorf("017's feed holds 012's event: %s", body)
	}
	// A bank's directory view carries no balances; the operator's does.
	_, body = w.do(http.MethodGet, "/v1/directory/customers?bank=012", w.bank("017"), nil)
	if contains(body, "balance_rial") {
		t.Errorf("a bank key sees customer balances: %.200s", body)
	}
	_, body = w.do(http.MethodGet, "/v1/directory/customers?bank=012", w.operator(), nil)
	if !contains(body, "balance_rial") {
		t.Errorf("the operator sees no balances: %.200s", body)
	}
}

// TestResponsesValidateAgainstOpenAPI sends a request to every GET route and a set of writes, successes and
// errors, and validates each response (status declared, body matching its schema) with kin-openapi.
func TestResponsesValidateAgainstOpenAPI(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	doc := w.spec()
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink(t, 0)
	var lastBody []byte
	type call struct {
		method, path, key string
		body              any
		want              int
	}
	op, b := w.operator(), w.bank("017")
	payer, payee := richCustomer(t, w, "017"), richCustomer(t, w, "012")
	order := api.SATNAOrderRequest{Type: "customer", PayerSHEBA: payer, PayerName: "payer", PayeeSHEBA: payee, PayeeName: "payee",
		AmountRial: 200_000_000, Reference: "v-satna-1"}
	small := order
	small.AmountRial, small.Reference = 1_000, "v-satna-2"
	var created api.SATNAOrder
	payaEntry := api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer, PayerName: "payer", PayeeSHEBA: payee, PayeeName: "payee",
		AmountRial: 10_000_000, Reference: "v-paya-1"}
	payaOver := payaEntry
	payaOver.AmountRial, payaOver.Reference = 150_000_000, "v-paya-2"
	payaFile := "/v1/paya/files?format=csv&reference=v-file-1&payer_name=payer&payer_sheba=" + payer
	payroll := payCSV([][]string{{payee, "1000000", "payee", "", "v-row-1"}, {payee, "0", "payee", "", "v-row-2"}})
	mandate := api.PAYAMandateRequest{BillerSHEBA: payee, BillerName: "biller", PayerSHEBA: payer, MaxPerDebitRial: 1_000_000,
		MaxDebitsPerMonth: 2, StartDate: "1404/02/01", EndDate: "1404/06/31", BillerReference: "v-mandate-1"}
	src, dst := w.holders("017", 1, 50*u)[0], w.holders("012", 1, 0)[0]
	card := cardReq(src, dst.card, u, "v-card-1")
	cardZero := card
	cardZero.AmountRial, cardZero.Reference = 0, "v-card-2"
	calls := []call{
		{"POST", "/v1/satna/orders", b, order, 201},
		{"POST", "/v1/satna/orders", b, order, 200},
		{"POST", "/v1/satna/orders", b, small, 422},
		{"GET", "/v1/satna/orders", b, nil, 200},
		{"GET", "/v1/satna/orders?direction=in", w.bank("012"), nil, 200},
		{"GET", "/v1/satna/orders/00000000-0000-0000-0000-000000000000", b, nil, 404},
		{"GET", "/v1/operator/satna/queue", op, nil, 200},
		{"GET", "/v1/operator/satna/positions", op, nil, 200},
		{"GET", "/v1/operator/satna/positions?date=1404/02/01", op, nil, 200},
		{"GET", "/v1/operator/satna/positions?date=yesterday", op, nil, 422},
		{"GET", "/v1/operator/satna/positions", b, nil, 403},
		{"GET", "/v1/operator/rtgs/netsets", op, nil, 200},
		{"GET", "/v1/operator/rtgs/netsets?rail=paya&limit=5", op, nil, 200},
		{"GET", "/v1/operator/rtgs/netsets?rail=satna", op, nil, 422},
		{"GET", "/v1/operator/rtgs/netsets/00000000-0000-0000-0000-000000000000", op, nil, 404},
		{"GET", "/v1/operator/clearing/positions", op, nil, 200},
		{"GET", "/v1/operator/clearing/positions?rail=card", op, nil, 200},
		{"GET", "/v1/satna/statements/1404-02-01", b, nil, 200},
		{"GET", "/v1/satna/statements/1404-02-01?format=csv", b, nil, 200},
		{"GET", "/v1/satna/statements/1404-02-01?format=xml", b, nil, 422},
		{"GET", "/v1/satna/statements/21-04-2025?format=csv", b, nil, 422},
		{"POST", "/v1/satna/orders/00000000-0000-0000-0000-000000000000/credit", b, nil, 404},
		{"POST", "/v1/satna/orders/00000000-0000-0000-0000-000000000000/return", b, api.SATNAReturnRequest{Reason: "account_closed"}, 404},
		{"POST", "/v1/paya/entries", b, payaEntry, 201},
		{"POST", "/v1/paya/entries", b, payaEntry, 200},
		{"POST", "/v1/paya/entries", b, payaOver, 422},
		{"GET", "/v1/paya/entries/00000000-0000-0000-0000-000000000000", b, nil, 404},
		{"GET", "/v1/paya/entries?cycle=2025-04-21T09:45", b, nil, 200},
		{"GET", "/v1/paya/entries?status=lost&cycle=2025-04-21T09:45", b, nil, 422},
		{"POST", "/v1/paya/entries/00000000-0000-0000-0000-000000000000/return", b, api.PAYAReturnRequest{Code: "account_closed"}, 404},
		{"POST", "/v1/paya/entries/00000000-0000-0000-0000-000000000000/return", b, api.PAYAReturnRequest{Code: "bored"}, 422},
		{"POST", payaFile + "&dry_run=true", b, rawBody{"text/csv", payroll}, 200},
		{"POST", payaFile, b, rawBody{"text/csv", payroll}, 201},
		{"POST", payaFile, b, rawBody{"text/csv", payroll}, 409},
		{"POST", payaFile, b, rawBody{"application/json", payroll}, 422},
		{"GET", "/v1/paya/files/00000000-0000-0000-0000-000000000000", b, nil, 404},
		{"GET", "/v1/paya/files/00000000-0000-0000-0000-000000000000/errors", b, nil, 404},
		{"POST", "/v1/paya/mandates", w.bank("012"), mandate, 201},
		{"POST", "/v1/paya/mandates", w.bank("012"), mandate, 200},
		{"GET", "/v1/paya/mandates", b, nil, 200},
		{"GET", "/v1/paya/mandates/00000000-0000-0000-0000-000000000000", b, nil, 404},
		{"POST", "/v1/paya/mandates/00000000-0000-0000-0000-000000000000/approve", b, nil, 404},
		{"POST", "/v1/paya/mandates/00000000-0000-0000-0000-000000000000/reject", b, api.PAYAMandateDecision{Reason: "no"}, 404},
		{"POST", "/v1/paya/mandates/00000000-0000-0000-0000-000000000000/revoke", b, nil, 404},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45", op, nil, 404},
		{"GET", "/v1/paya/cycles/yesterday", op, nil, 422},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45/delivery?format=csv", w.bank("012"), nil, 404},
		{"POST", "/v1/operator/paya/cycles/run", b, api.PAYACycleRun{}, 403},
		{"POST", "/v1/operator/paya/cycles/run", op, api.PAYACycleRun{Cycle: "2025-04-21T09:50"}, 409},
		{"POST", "/v1/operator/paya/cycles/run", op, api.PAYACycleRun{}, 200},
		{"GET", "/v1/paya/cycles", b, nil, 200},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45", op, nil, 200},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45?format=csv", b, nil, 200},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45/delivery?format=csv", w.bank("012"), nil, 200},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45/delivery?format=nacha", w.bank("012"), nil, 200},
		{"GET", "/v1/paya/cycles/2025-04-21T09:45/delivery?format=xml", w.bank("012"), nil, 422},
		{"POST", "/v1/shahab/inquiries", b, api.ShahabInquiryRequest{DestinationPAN: dst.card.PAN}, 200},
		{"POST", "/v1/shahab/inquiries", b, api.ShahabInquiryRequest{DestinationPAN: "6037991234567890"}, 422},
		{"POST", "/v1/shahab/otp", b, api.ShahabOTPRequest{SourcePAN: src.card.PAN}, 409},
		{"POST", "/v1/shahab/transfers", b, card, 201},
		{"POST", "/v1/shahab/transfers", b, card, 200},
		{"POST", "/v1/shahab/transfers", b, cardZero, 422},
		{"GET", "/v1/shahab/transfers", b, nil, 200},
		{"GET", "/v1/shahab/transfers?direction=sideways", b, nil, 422},
		{"GET", "/v1/shahab/transfers/00000000-0000-0000-0000-000000000000", b, nil, 404},
		{"POST", "/v1/shahab/transfers/00000000-0000-0000-0000-000000000000/answer", w.bank("012"), api.ShahabAnswerRequest{Result: "credited"}, 404},
		{"GET", "/v1/operator/shahab/reconciliation", op, nil, 200},
		{"GET", "/v1/operator/shahab/reconciliation?date=yesterday", op, nil, 422},
		{"GET", "/v1/operator/shahab/windows", op, nil, 200},
		{"GET", "/v1/operator/shahab/windows/1404-02-01T10:00", op, nil, 200},
		{"GET", "/v1/operator/shahab/windows/1404-01-01T10:00", op, nil, 404},
		{"POST", "/v1/operator/shahab/windows/settle", b, nil, 403},
		{"POST", "/v1/operator/shahab/windows/settle", op, nil, 200},
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/v1/me", b, nil, 200},
		{"GET", "/v1/me", op, nil, 200},
		{"GET", "/v1/banks", b, nil, 200},
		{"GET", "/v1/banks/017", b, nil, 200},
		{"GET", "/v1/banks/999", b, nil, 404},
		{"GET", "/v1/banks/01x", b, nil, 422},
		{"GET", "/v1/settlement-account", b, nil, 200},
		{"GET", "/v1/settlement-account?bank=017", op, nil, 200},
		{"GET", "/v1/settlement-account", op, nil, 422},
		{"GET", "/v1/settlement-account?limit=5000", b, nil, 422},
		{"GET", "/v1/clock", b, nil, 200},
		{"GET", "/v1/directory/customers?bank=017", b, nil, 200},
		{"GET", "/v1/directory/customers?bank=017", op, nil, 200},
		{"GET", "/v1/directory/customers?bank=999", b, nil, 404},
		{"GET", "/v1/directory/magic", b, nil, 200},
		{"GET", "/v1/directory/magic?bank=017", b, nil, 200},
		{"GET", "/v1/events", b, nil, 200},
		{"GET", "/v1/events?after=zz", b, nil, 422},
		{"PUT", "/v1/webhook", b, api.WebhookRequest{URL: sink.URL}, 200},
		{"PUT", "/v1/webhook", b, api.WebhookRequest{URL: "ftp://x"}, 422},
		{"GET", "/v1/webhook/deliveries", b, nil, 200},
		{"POST", "/v1/webhook/deliveries/99999/retry", b, nil, 404},
		{"POST", "/v1/operator/clock/advance", op, api.AdvanceRequest{By: "1h"}, 200},
		{"POST", "/v1/operator/clock/advance", op, api.AdvanceRequest{By: "nonsense"}, 422},
		{"POST", "/v1/operator/clock/advance", op, api.AdvanceRequest{To: "1400/01/01 00:00"}, 409},
		{"POST", "/v1/operator/liquidity", op, api.LiquidityRequest{BankCode: "017", AmountRial: 5, Reference: "v-1"}, 200},
		{"POST", "/v1/operator/liquidity", op, api.LiquidityRequest{BankCode: "017", AmountRial: 6, Reference: "v-1"}, 409},
		{"POST", "/v1/operator/liquidity", op, api.LiquidityRequest{BankCode: "017", AmountRial: 0, Reference: "v-2"}, 422},
		{"POST", "/v1/operator/liquidity", op, map[string]any{"bank_code": "017", "amount_rial": "ten", "reference": "v-3"}, 422},
		{"POST", "/v1/operator/banks/017/suspend", op, nil, 200},
		{"POST", "/v1/operator/banks/017/resume", op, nil, 200},
		{"POST", "/v1/operator/banks/063/suspend", op, nil, 409},
		{"PUT", "/v1/operator/banks/017/simulation", op, api.Simulation{Mode: "simulated", Online: true, LatencyMS: 5}, 200},
		{"PUT", "/v1/operator/banks/017/simulation", op, api.Simulation{Mode: "sideways"}, 422},
		{"GET", "/v1/me", "", nil, 401},
		{"POST", "/v1/operator/clock/mode", b, api.ModeRequest{Mode: "real"}, 403},
	}
	seen := map[string]bool{}
	for i := 0; i < len(calls); i++ {
		c := calls[i]
		if i == 1 { // the order created by the first call: get it, and fail to revoke it (settled is final)
			if err := json.Unmarshal(lastBody, &created); err != nil || created.ID == "" {
				t.Fatalf("no order created: %s", lastBody)
			}
			calls = append(calls, call{"GET", "/v1/satna/orders/" + created.ID, b, nil, 200},
				call{"POST", "/v1/satna/orders/" + created.ID + "/revoke", b, nil, 409})
		}
		var body []byte
		ctype := "application/json"
		if raw, ok := c.body.(rawBody); ok {
			body, ctype = raw.data, raw.ctype
		} else if c.body != nil {
			body, _ = json.Marshal(c.body)
		}
		req, _ := http.NewRequest(c.method, w.url+c.path, bytes.NewReader(body))
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		if body != nil {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		lastBody = rb
		if res.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, res.StatusCode, c.want, rb)
			continue
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: not in the document: %v", c.method, c.path, err)
			continue
		}
		seen[c.method+" "+route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		out.SetBodyBytes(rb)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s → %d does not validate: %v\n%s", c.method, c.path, res.StatusCode, err, rb)
		}
		var e api.Error
		if res.StatusCode >= 400 && (json.Unmarshal(rb, &e) != nil || e.Code == "" || api.Status(e.Code) != res.StatusCode) {
			t.Errorf("%s %s → %d: error body %s does not carry a code of that status", c.method, c.path, res.StatusCode, rb)
		}
	}
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !seen[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations no call validated: %v", missing)
	}
}

// rawBody is a call's body sent as it is, with its content type (a file upload).
type rawBody struct {
	ctype string
	data  []byte
}

// richCustomer is an active, ordinary customer of bank able to pay 10,000,000,000 rial.
func richCustomer(t *testing.T, w *world, bank string) string {
	t.Helper()
	for _, c := range w.customers(bank).Customers {
		if c.Status == "active" && c.Magic == "" && c.BalanceRial != nil && *c.BalanceRial >= 10_000_000_000 {
			return c.SHEBA
		}
	}
	t.Fatalf("bank %s has no customer holding 10,000,000,000 rial", bank)
	return ""
}
