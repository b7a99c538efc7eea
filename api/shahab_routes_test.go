package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// shahabStub is a ShahabBackend that records what it was asked and answers fixed values: the routes'
// conventions (statuses, access, validation, the repeat) are under test, over real HTTP. The switch's own
// tests drive the real backend.
type shahabStub struct {
	mu        sync.Mutex
	bank      string // the caller's bank of the last bank call
	transfer  ShahabTransferRequest
	status    string // the last list's filters
	direction string
	limit     int
	answer    ShahabAnswerRequest
	date      string // the last reconciliation's date
	dateAsked bool
	settled   int
}

var _ ShahabBackend = (*shahabStub)(nil)

func (s *shahabStub) caller(bank string) {
	s.mu.Lock()
	s.bank = bank
	s.mu.Unlock()
}

func (s *shahabStub) Inquire(_ context.Context, bank string, req ShahabInquiryRequest) (ShahabInquiry, error) {
	s.caller(bank)
	if req.DestinationPAN == "6037990000000000" {
		return ShahabInquiry{}, Errorf(CodeCardNotFound, "no card %s", req.DestinationPAN)
	}
	return ShahabInquiry{DestinationPAN: "603799******1234", Name: "Sara Ahmadi", Bank: "017", BankName: "Bank Melli Iran"}, nil
}

func (s *shahabStub) IssueOTP(_ context.Context, bank string, req ShahabOTPRequest) (ShahabOTP, error) {
	s.caller(bank)
	if req.SourcePAN == "static" {
		return ShahabOTP{}, Errorf(CodeOTPOff, "the rulebook in force uses the static second PIN")
	}
	return ShahabOTP{SourcePAN: "589210******0001", OTP: "482913", ExpiresAt: time.Date(2025, 4, 21, 6, 32, 0, 0, time.UTC), ValidSeconds: 120}, nil
}

func (s *shahabStub) SubmitTransfer(_ context.Context, bank string, req ShahabTransferRequest) (ShahabTransfer, bool, error) {
	s.mu.Lock()
	s.bank, s.transfer = bank, req
	s.mu.Unlock()
	t := ShahabTransfer{ID: "t1", Status: "succeeded", Code: "approved", AmountRial: req.AmountRial, SubmittingBank: bank,
		SourceBank: "012", DestinationBank: "017", Route: "interbank", Reference: req.Reference, RRN: "000000000001"}
	return t, req.Reference != "again", nil
}

func (s *shahabStub) ShahabTransfer(_ context.Context, bank, id string) (ShahabTransfer, error) {
	s.caller(bank)
	if id != "t1" {
		return ShahabTransfer{}, Errorf(CodeNotFound, "no transfer %s", id)
	}
	return ShahabTransfer{ID: id, Status: "succeeded", Code: "approved", Route: "on_us"}, nil
}

func (s *shahabStub) ShahabTransfers(_ context.Context, bank, status, direction, _ string, limit int) (ShahabTransferPage, error) {
	s.mu.Lock()
	s.bank, s.status, s.direction, s.limit = bank, status, direction, limit
	s.mu.Unlock()
	return ShahabTransferPage{Transfers: []ShahabTransfer{}}, nil
}

func (s *shahabStub) AnswerTransfer(_ context.Context, bank, id string, req ShahabAnswerRequest) (ShahabTransfer, error) {
	s.mu.Lock()
	s.bank, s.answer = bank, req
	s.mu.Unlock()
	if id == "closed" {
		return ShahabTransfer{}, Errorf(CodeAnswerClosed, "transfer %s is not waiting for an answer", id)
	}
	return ShahabTransfer{ID: id, Status: "succeeded", Code: "approved"}, nil
}

func (s *shahabStub) ShahabReconciliation(_ context.Context, date string) (ShahabReconciliation, error) {
	s.mu.Lock()
	s.date, s.dateAsked = date, true
	s.mu.Unlock()
	return ShahabReconciliation{Cases: []ShahabTransfer{}}, nil
}

func (s *shahabStub) ShahabWindows(context.Context, string, int) (ShahabWindowPage, error) {
	return ShahabWindowPage{Windows: []ShahabWindow{}}, nil
}

func (s *shahabStub) ShahabWindow(_ context.Context, id string) (ShahabWindow, error) {
	if id != "2025-04-21T14:00" {
		return ShahabWindow{}, Errorf(CodeNotFound, "no window %s", id)
	}
	return ShahabWindow{ID: id, Status: "settled", Obligations: []ShahabObligation{}, Nets: []NetPosition{}, Excluded: []string{}}, nil
}

func (s *shahabStub) SettleShahabWindow(context.Context) (ShahabWindow, error) {
	s.mu.Lock()
	s.settled++
	s.mu.Unlock()
	return ShahabWindow{ID: "2025-04-21T14:00", Status: "settled", Obligations: []ShahabObligation{}, Nets: []NetPosition{}, Excluded: []string{}}, nil
}

func serveShahab(t *testing.T, b ShahabBackend) *httptest.Server {
	t.Helper()
	s, err := New(Config{Backend: stub{}, Keys: map[string]Principal{
		opKey: {Role: RoleOperator}, bankKey: {Role: RoleBank, Bank: "017"}}})
	if err != nil {
		t.Fatal(err)
	}
	RegisterShahab(s, b)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// shahabTransferBody is a well-formed transfer request with reference ref and amount amount (JSON).
func shahabTransferBody(ref, amount string) string {
	return `{"source_pan":"5892101234567890","destination_pan":"6037991234567890","amount_rial":` + amount +
		`,"expiry":"0512","cvv2":"123","pin2":"12345","reference":"` + ref + `"}`
}

func TestShahabRoutes(t *testing.T) {
	b := &shahabStub{}
	ts := serveShahab(t, b)
	for _, tc := range []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"inquiry", "POST", "/v1/shahab/inquiries", bankKey, `{"destination_pan":"6037991234567890"}`, 200, "", ""},
		{"inquiry of no card", "POST", "/v1/shahab/inquiries", bankKey, `{"destination_pan":"6037990000000000"}`, 404, CodeCardNotFound, ""},
		{"inquiry without its card", "POST", "/v1/shahab/inquiries", bankKey, `{}`, 422, CodeInvalid, ""},
		{"inquiry with a number for a PAN", "POST", "/v1/shahab/inquiries", bankKey, `{"destination_pan":6037991234567890}`, 422, CodeInvalid, "destination_pan"},
		{"inquiry not JSON", "POST", "/v1/shahab/inquiries", bankKey, `{"destination_pan":`, 422, CodeInvalid, ""},
		{"inquiry by the operator", "POST", "/v1/shahab/inquiries", opKey, `{"destination_pan":"6037991234567890"}`, 403, CodeForbidden, ""},
		{"inquiry without a key", "POST", "/v1/shahab/inquiries", "", `{"destination_pan":"6037991234567890"}`, 401, CodeUnauthorized, ""},
		{"otp", "POST", "/v1/shahab/otp", bankKey, `{"source_pan":"5892101234567890"}`, 201, "", ""},
		{"otp off", "POST", "/v1/shahab/otp", bankKey, `{"source_pan":"static"}`, 409, CodeOTPOff, ""},
		{"otp with a PAN too long", "POST", "/v1/shahab/otp", bankKey, `{"source_pan":"` + strings.Repeat("1", 65) + `"}`, 422, CodeInvalid, "source_pan"},
		{"otp by the operator", "POST", "/v1/shahab/otp", opKey, `{"source_pan":"5892101234567890"}`, 403, CodeForbidden, ""},
		{"transfer", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("r1", "1000000"), 201, "", ""},
		{"transfer repeated", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("again", "1000000"), 200, "", ""},
		{"transfer of nothing", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("r1", "0"), 422, CodeInvalid, "amount_rial"},
		{"transfer of less than nothing", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("r1", "-5"), 422, CodeInvalid, "amount_rial"},
		{"transfer amount as text", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("r1", `"ten"`), 422, CodeInvalid, "amount_rial"},
		{"transfer amount with a fraction", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("r1", "1.5"), 422, CodeInvalid, "amount_rial"},
		{"transfer without a reference", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody("", "1000000"), 422, CodeInvalid, "reference"},
		{"transfer reference with a control character", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody(`a\u0007b`, "1000000"), 422, CodeInvalid, "reference"},
		{"transfer reference too long", "POST", "/v1/shahab/transfers", bankKey, shahabTransferBody(strings.Repeat("r", 65), "1000000"), 422, CodeInvalid, "reference"},
		{"transfer expiry too long", "POST", "/v1/shahab/transfers", bankKey, strings.Replace(shahabTransferBody("r1", "1"), `"0512"`, `"05122"`, 1), 422, CodeInvalid, "expiry"},
		{"transfer without a cvv2", "POST", "/v1/shahab/transfers", bankKey, strings.Replace(shahabTransferBody("r1", "1"), `"cvv2":"123",`, "", 1), 422, CodeInvalid, ""},
		{"transfer by the operator", "POST", "/v1/shahab/transfers", opKey, shahabTransferBody("r1", "1000000"), 403, CodeForbidden, ""},
		{"get", "GET", "/v1/shahab/transfers/t1", bankKey, "", 200, "", ""},
		{"get no such transfer", "GET", "/v1/shahab/transfers/t2", bankKey, "", 404, CodeNotFound, ""},
		{"get an id too long", "GET", "/v1/shahab/transfers/" + strings.Repeat("x", 37), bankKey, "", 422, CodeInvalid, "id"},
		{"get by the operator", "GET", "/v1/shahab/transfers/t1", opKey, "", 403, CodeForbidden, ""},
		{"list", "GET", "/v1/shahab/transfers?status=refunded&direction=incoming&limit=7", bankKey, "", 200, "", ""},
		{"list bad status", "GET", "/v1/shahab/transfers?status=lost", bankKey, "", 422, CodeInvalid, "status"},
		{"list bad direction", "GET", "/v1/shahab/transfers?direction=in", bankKey, "", 422, CodeInvalid, "direction"},
		{"list limit 0", "GET", "/v1/shahab/transfers?limit=0", bankKey, "", 422, CodeInvalid, "limit"},
		{"list limit over the page", "GET", "/v1/shahab/transfers?limit=1001", bankKey, "", 422, CodeInvalid, "limit"},
		{"list by the operator", "GET", "/v1/shahab/transfers", opKey, "", 403, CodeForbidden, ""},
		{"answer credited", "POST", "/v1/shahab/transfers/t1/answer", bankKey, `{"result":"credited"}`, 200, "", ""},
		{"answer refused with a code", "POST", "/v1/shahab/transfers/t1/answer", bankKey, `{"result":"refused","code":"card_blocked"}`, 200, "", ""},
		{"answer neither", "POST", "/v1/shahab/transfers/t1/answer", bankKey, `{"result":"maybe"}`, 422, CodeInvalid, "result"},
		{"answer without a body", "POST", "/v1/shahab/transfers/t1/answer", bankKey, "", 422, CodeInvalid, ""},
		{"answer code with a control character", "POST", "/v1/shahab/transfers/t1/answer", bankKey, `{"result":"refused","code":"a\u0000"}`, 422, CodeInvalid, "code"},
		{"answer closed", "POST", "/v1/shahab/transfers/closed/answer", bankKey, `{"result":"credited"}`, 409, CodeAnswerClosed, ""},
		{"answer by the operator", "POST", "/v1/shahab/transfers/t1/answer", opKey, `{"result":"credited"}`, 403, CodeForbidden, ""},
		{"reconciliation", "GET", "/v1/operator/shahab/reconciliation", opKey, "", 200, "", ""},
		{"reconciliation bad date", "GET", "/v1/operator/shahab/reconciliation?date=2025-13-01", opKey, "", 422, CodeInvalid, "date"},
		{"reconciliation date too long", "GET", "/v1/operator/shahab/reconciliation?date=2025-04-21T00", opKey, "", 422, CodeInvalid, "date"},
		{"reconciliation by a bank", "GET", "/v1/operator/shahab/reconciliation", bankKey, "", 403, CodeForbidden, ""},
		{"windows", "GET", "/v1/operator/shahab/windows?limit=5", opKey, "", 200, "", ""},
		{"windows bad limit", "GET", "/v1/operator/shahab/windows?limit=x", opKey, "", 422, CodeInvalid, "limit"},
		{"windows by a bank", "GET", "/v1/operator/shahab/windows", bankKey, "", 403, CodeForbidden, ""},
		{"window", "GET", "/v1/operator/shahab/windows/2025-04-21T14:00", opKey, "", 200, "", ""},
		{"no such window", "GET", "/v1/operator/shahab/windows/2025-04-21T15:00", opKey, "", 404, CodeNotFound, ""},
		{"window by a bank", "GET", "/v1/operator/shahab/windows/2025-04-21T14:00", bankKey, "", 403, CodeForbidden, ""},
		{"settle", "POST", "/v1/operator/shahab/windows/settle", opKey, "", 200, "", ""},
		{"settle by a bank", "POST", "/v1/operator/shahab/windows/settle", bankKey, "", 403, CodeForbidden, ""},
		{"settle with GET is a window named settle", "GET", "/v1/operator/shahab/windows/settle", opKey, "", 404, CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := call(t, ts, tc.method, tc.path, tc.key, tc.body)
			if status != tc.status || e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Errorf("got %d %+v, want %d %q field %q", status, e, tc.status, tc.code, tc.field)
			}
		})
	}
	if b.settled != 1 {
		t.Errorf("the backend settled %d windows, want 1 (a bank's call must not reach it)", b.settled)
	}
}

// TestShahabTransferRepeat: a transfer answers 201 with the decided transfer, a repeat of its reference 200
// with the original; the backend gets the caller's bank from the key and the body as sent.
func TestShahabTransferRepeat(t *testing.T) {
	b := &shahabStub{}
	ts := serveShahab(t, b)
	for _, tc := range []struct {
		ref    string
		status int
	}{{"r1", 201}, {"again", 200}} {
		status, _, body := do(t, ts, "POST", "/v1/shahab/transfers", bankKey, "application/json", strings.NewReader(shahabTransferBody(tc.ref, "2500000")))
		var got ShahabTransfer
		if err := json.Unmarshal(body, &got); err != nil || status != tc.status || got.Reference != tc.ref || got.ID != "t1" || got.Status != "succeeded" {
			t.Errorf("%s: got %d %s (%v), want %d with transfer t1", tc.ref, status, body, err, tc.status)
		}
	}
	want := ShahabTransferRequest{SourcePAN: "5892101234567890", DestinationPAN: "6037991234567890", AmountRial: 2_500_000,
		Expiry: "0512", CVV2: "123", PIN2: "12345", Reference: "again"}
	if b.bank != "017" || b.transfer != want {
		t.Errorf("the backend got %q %+v, want 017 %+v", b.bank, b.transfer, want)
	}
}

// TestShahabQueryDefaults: a list without a direction asks for all, with the page's default size; the
// reconciliation's date reaches the backend as Gregorian YYYY-MM-DD whichever calendar it was written in.
func TestShahabQueryDefaults(t *testing.T) {
	b := &shahabStub{}
	ts := serveShahab(t, b)
	for _, tc := range []struct {
		query, status, direction string
		limit                    int
	}{
		{"", "", "all", PageDefault},
		{"?direction=submitted", "", "submitted", PageDefault},
		{"?status=pending&direction=outgoing&limit=3", "pending", "outgoing", 3},
	} {
		if status, e := call(t, ts, "GET", "/v1/shahab/transfers"+tc.query, bankKey, ""); status != 200 {
			t.Fatalf("%q: %d %+v", tc.query, status, e)
		}
		if b.bank != "017" || b.status != tc.status || b.direction != tc.direction || b.limit != tc.limit {
			t.Errorf("%q: the backend got bank %q status %q direction %q limit %d, want 017 %q %q %d",
				tc.query, b.bank, b.status, b.direction, b.limit, tc.status, tc.direction, tc.limit)
		}
	}
	for _, tc := range []struct{ query, want string }{
		{"", ""},
		{"?date=2025-04-21", "2025-04-21"},
		{"?date=1404/02/01", "2025-04-21"},
		{"?date=%DB%B1%DB%B4%DB%B0%DB%B4/%DB%B0%DB%B2/%DB%B0%DB%B1", "2025-04-21"}, // Persian digits
	} {
		b.dateAsked = false
		if status, e := call(t, ts, "GET", "/v1/operator/shahab/reconciliation"+tc.query, opKey, ""); status != 200 {
			t.Fatalf("%q: %d %+v", tc.query, status, e)
		}
		if !b.dateAsked || b.date != tc.want {
			t.Errorf("%q: the backend got date %q (asked %v), want %q", tc.query, b.date, b.dateAsked, tc.want)
		}
	}
	if status, _, body := do(t, ts, "POST", "/v1/shahab/transfers/t1/answer", bankKey, "application/json",
		strings.NewReader(`{"result":"refused","code":"card_expired"}`)); status != 200 || b.answer != (ShahabAnswerRequest{Result: "refused", Code: "card_expired"}) {
		t.Errorf("answer: %d %s, the backend got %+v", status, body, b.answer)
	}
}

func TestShahabRoutesAreDocumented(t *testing.T) {
	s, err := New(Config{Backend: stub{}})
	if err != nil {
		t.Fatal(err)
	}
	RegisterShahab(s, &shahabStub{})
	doc := s.OpenAPI()
	for _, tc := range []struct {
		path, method string
		statuses     []string
	}{
		{"/v1/shahab/inquiries", "POST", []string{"200", "401", "403", "404", "409", "422", "503"}},
		{"/v1/shahab/otp", "POST", []string{"201", "409", "422"}},
		{"/v1/shahab/transfers", "POST", []string{"200", "201", "409", "413", "422", "503"}},
		{"/v1/shahab/transfers", "GET", []string{"200", "422"}},
		{"/v1/shahab/transfers/{id}", "GET", []string{"200", "404"}},
		{"/v1/shahab/transfers/{id}/answer", "POST", []string{"200", "404", "409", "422"}},
		{"/v1/operator/shahab/reconciliation", "GET", []string{"200", "403", "422"}},
		{"/v1/operator/shahab/windows", "GET", []string{"200", "403"}},
		{"/v1/operator/shahab/windows/{id}", "GET", []string{"200", "404"}},
		{"/v1/operator/shahab/windows/settle", "POST", []string{"200", "403", "409"}},
	} {
		item := doc.Paths[tc.path]
		if item == nil {
			t.Errorf("%s is not in the document", tc.path)
			continue
		}
		op := item.Get
		if tc.method == "POST" {
			op = item.Post
		}
		if op == nil {
			t.Errorf("%s %s is not in the document", tc.method, tc.path)
			continue
		}
		if len(op.Tags) != 1 || (op.Tags[0] != "shahab" && op.Tags[0] != "operator") {
			t.Errorf("%s %s: tags %v", tc.method, tc.path, op.Tags)
		}
		for _, st := range tc.statuses {
			if op.Responses[st] == nil {
				t.Errorf("%s %s does not document %s", tc.method, tc.path, st)
			}
		}
	}
	if got := doc.Paths["/v1/shahab/transfers"].Post.Responses["200"]; got == nil || got.Description != "OK" {
		t.Errorf("a repeat's 200 is not documented as the create's body: %+v", got)
	}
}
