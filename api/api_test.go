package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stub is a Backend that answers every call with err (nil: zero values); the API's conventions are what is
// under test here, over real HTTP. The switch's own tests (internal/server) drive the real backend.
type stub struct {
	Backend
	err   error
	delay time.Duration
}

func (s stub) Bank(ctx context.Context, code string) (Bank, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return Bank{}, ctx.Err()
	}
	return Bank{Code: code, BINs: []string{}}, s.err
}

func (s stub) Liquidity(ctx context.Context, req LiquidityRequest) (Liquidity, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return Liquidity{}, ctx.Err()
	}
	return Liquidity{BankCode: req.BankCode, Status: "applied"}, s.err
}

const (
	opKey   = "operator-key-0123456789"
	bankKey = "bank-017-key-0123456789"
)

func serve(t *testing.T, b Backend, timeout time.Duration) *httptest.Server {
	t.Helper()
	s, err := New(Config{Backend: b, RequestTimeout: timeout, Keys: map[string]Principal{
		opKey: {Role: RoleOperator}, bankKey: {Role: RoleBank, Bank: "017"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func call(t *testing.T, ts *httptest.Server, method, path, key, body string) (int, Error) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e Error
	if res.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil || e.Code == "" {
			t.Errorf("%s %s → %d: not the error body: %s", method, path, res.StatusCode, b)
		}
		if got := Status(e.Code); got != res.StatusCode {
			t.Errorf("%s %s → %d but code %s maps to %d", method, path, res.StatusCode, e.Code, got)
		}
	}
	return res.StatusCode, e
}

func TestConventions(t *testing.T) {
	ts := serve(t, stub{}, time.Second)
	big := `{"bank_code":"017","amount_rial":1,"reference":"` + strings.Repeat("x", BodyBytesMax) + `"}`
	for _, tc := range []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"no key", "GET", "/v1/banks/017", "", "", 401, CodeUnauthorized, ""},
		{"bank on an operator route", "POST", "/v1/operator/liquidity", bankKey, `{"bank_code":"017","amount_rial":1,"reference":"r"}`, 403, CodeForbidden, ""},
		{"operator on a bank's route", "PUT", "/v1/webhook", opKey, `{"url":"http://x"}`, 403, CodeForbidden, ""},
		{"schema: pattern", "GET", "/v1/banks/1x7", bankKey, "", 422, CodeInvalid, "code"},
		{"schema: type", "POST", "/v1/operator/liquidity", opKey, `{"bank_code":"017","amount_rial":"ten","reference":"r"}`, 422, CodeInvalid, "amount_rial"},
		{"schema: required", "POST", "/v1/operator/liquidity", opKey, `{"bank_code":"017","amount_rial":1}`, 422, CodeInvalid, ""},
		{"not JSON", "POST", "/v1/operator/liquidity", opKey, `{"bank_code":`, 422, CodeInvalid, ""},
		{"body too large", "POST", "/v1/operator/liquidity", opKey, big, 413, CodeBodyTooLarge, ""},
		{"no such route", "GET", "/v1/nothing", bankKey, "", 404, CodeNotFound, ""},
		{"fine", "POST", "/v1/operator/liquidity", opKey, `{"bank_code":"017","amount_rial":1,"reference":"r"}`, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := call(t, ts, tc.method, tc.path, tc.key, tc.body)
			if status != tc.status || e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Errorf("got %d %+v, want %d %s field %q", status, e, tc.status, tc.code, tc.field)
			}
		})
	}
}

func TestBackendErrorsKeepTheirCodeAndHideTheRest(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{Errorf(CodeOutcomeUnknown, "x"), 503, CodeOutcomeUnknown},
		{FieldErrorf("reference", "bad"), 422, CodeInvalid},
		{errors.New("pq: password for user postgres is hunter2"), 500, CodeInternal},
	} {
		ts := serve(t, stub{err: tc.err}, time.Second)
		status, e := call(t, ts, "POST", "/v1/operator/liquidity", opKey, `{"bank_code":"017","amount_rial":1,"reference":"r"}`)
		if status != tc.status || e.Code != tc.code || strings.Contains(e.Message, "hunter2") {
			t.Errorf("%v: got %d %+v", tc.err, status, e)
		}
	}
}

func TestEveryRequestHasADeadline(t *testing.T) {
	ts := serve(t, stub{delay: time.Hour}, 50*time.Millisecond)
	if status, e := call(t, ts, "GET", "/v1/banks/017", bankKey, ""); status != 504 || e.Code != CodeTimeout {
		t.Errorf("a backend past the deadline: %d %+v", status, e)
	}
}

// TestASlowRequestWithABodyKeepsItsConnection: a request with a body that takes longer than huma's default
// body-read deadline (5 s) answers, and so does the next request on the same keep-alive connection. Before the
// fix huma set that deadline after checkBody had read the body and left it: net/http's background read failed
// 5 s later and cancelled the connection's context, so both failed with "context canceled" (500). Found by a
// large SATNA offsetting set under -race.
func TestASlowRequestWithABodyKeepsItsConnection(t *testing.T) {
	ts := serve(t, stub{delay: 5500 * time.Millisecond}, 30*time.Second)
	if status, e := call(t, ts, "POST", "/v1/operator/liquidity", opKey, `{"bank_code":"017","amount_rial":1,"reference":"r"}`); status != 200 {
		t.Errorf("the slow request: %d %+v", status, e)
	}
	if status, e := call(t, ts, "POST", "/v1/operator/liquidity", opKey, `{"bank_code":"017","amount_rial":1,"reference":"s"}`); status != 200 {
		t.Errorf("the next request on the connection: %d %+v", status, e)
	}
}

func TestEveryCodeHasAStatus(t *testing.T) {
	for code, status := range Codes() {
		if status < 400 || status > 599 || strings.ToLower(code) != code || strings.Contains(code, " ") {
			t.Errorf("code %q → %d", code, status)
		}
	}
	if Status("no_such_code") != 500 {
		t.Error("an unknown code must map to 500")
	}
}
