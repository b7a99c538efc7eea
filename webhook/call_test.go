package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bankAnswer is how a test bank answers a credit request it verified: it signs (or forges, or omits) the
// signature of its answer.
type bankAnswer struct {
	body   []byte
	secret string    // "" leaves the answer unsigned
	at     time.Time // when the bank signs
	status int
}

// newBank serves a bank's endpoint that verifies each call as a receiver must, and answers as told. A call
// that does not verify gets 401, unsigned: the test then fails on the status.
func newBank(t *testing.T, now time.Time, answer bankAnswer, block chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(testSecret, r.Header, body, now, 0); err != nil || r.Header.Get(HeaderEventType) != "shahab.credit" ||
			r.Method != http.MethodPost || !bytes.Equal(body, []byte(`{"pan":"6037991234567890","amount_rial":5000000}`)) {
			t.Errorf("bank: call does not verify (%v) or is not the credit request: %s %s %s", err, r.Method, r.Header.Get(HeaderEventType), body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if block != nil {
			<-block
		}
		if answer.secret != "" {
			SignHeader(w.Header(), answer.secret, answer.at, answer.body)
		}
		w.WriteHeader(answer.status)
		w.Write(answer.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCall(t *testing.T) {
	now := time.Unix(1774429200, 0)
	request := []byte(`{"pan":"6037991234567890","amount_rial":5000000}`)
	credited := []byte(`{"result":"credited","reference":"R-77"}`)
	for _, tc := range []struct {
		name       string
		answer     bankAnswer
		wantStatus int
		wantBody   []byte
		wantErr    error
	}{
		{"signed answer", bankAnswer{credited, testSecret, now.Add(time.Second), 200}, 200, credited, nil},
		{"signed refusal", bankAnswer{[]byte(`{"result":"card_blocked"}`), testSecret, now, 422}, 422, []byte(`{"result":"card_blocked"}`), nil},
		{"unsigned answer", bankAnswer{credited, "", now, 200}, 200, nil, ErrSignature},
		{"forged answer", bankAnswer{credited, "not the secret", now, 200}, 200, nil, ErrSignature},
		{"stale answer", bankAnswer{credited, testSecret, now.Add(-time.Hour), 200}, 200, nil, ErrStale},
		{"oversized answer", bankAnswer{bytes.Repeat([]byte("x"), 4*CallResponseBytesMax), testSecret, now, 200}, 200, nil, ErrResponseTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newBank(t, now, tc.answer, nil)
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			status, body, err := Call(ctx, srv.Client(), srv.URL+"/hooks", testSecret, "shahab.credit", request, now)
			if status != tc.wantStatus || !bytes.Equal(body, tc.wantBody) || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("got %d %q %v, want %d %q %v", status, body, err, tc.wantStatus, tc.wantBody, tc.wantErr)
			}
		})
	}
}

func TestCallAnswerExactlyAtTheLimit(t *testing.T) {
	now := time.Unix(1774429200, 0)
	answer := bytes.Repeat([]byte("x"), CallResponseBytesMax)
	srv := newBank(t, now, bankAnswer{answer, testSecret, now, 200}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	_, body, err := Call(ctx, srv.Client(), srv.URL, testSecret, "shahab.credit", []byte(`{"pan":"6037991234567890","amount_rial":5000000}`), now)
	if err != nil || len(body) != CallResponseBytesMax {
		t.Errorf("answer of exactly %d bytes: got %d bytes, %v", CallResponseBytesMax, len(body), err)
	}
}

// TestCallTimeout: a bank that does not answer within the call's deadline fails the call with the
// context's error. The bank holds its answer until the test ends, so only the deadline can end the call.
func TestCallTimeout(t *testing.T) {
	now := time.Unix(1774429200, 0)
	block := make(chan struct{})
	srv := newBank(t, now, bankAnswer{[]byte(`{}`), testSecret, now, 200}, block)
	t.Cleanup(func() { close(block) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	status, body, err := Call(ctx, srv.Client(), srv.URL, testSecret, "shahab.credit", []byte(`{"pan":"6037991234567890","amount_rial":5000000}`), now)
	if !errors.Is(err, context.DeadlineExceeded) || status != 0 || body != nil {
		t.Errorf("got %d %q %v, want the deadline's error", status, body, err)
	}
}

func TestCallRefusesInvalidArguments(t *testing.T) {
	now := time.Unix(1774429200, 0)
	ok := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		t.Cleanup(cancel)
		return ctx
	}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		client *http.Client
		url    string
		typ    string
		body   []byte
		want   error
	}{
		{"bad url", ok(), nil, "ftp://bank.example/", "shahab.credit", nil, ErrURL},
		{"no type", ok(), nil, "https://bank.example/", "", nil, ErrCall},
		{"type with a newline", ok(), nil, "https://bank.example/", "shahab\r\nX-Evil: 1", nil, ErrCall},
		{"long type", ok(), nil, "https://bank.example/", strings.Repeat("t", 65), nil, ErrCall},
		{"body too long", ok(), nil, "https://bank.example/", "shahab.credit", make([]byte, CallBodyBytesMax+1), ErrCall},
		{"no deadline", context.Background(), nil, "https://bank.example/", "shahab.credit", nil, ErrNoDeadline},
		{"no deadline, client without timeout", context.Background(), &http.Client{}, "https://bank.example/", "shahab.credit", nil, ErrNoDeadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Call(tc.ctx, tc.client, tc.url, testSecret, tc.typ, tc.body, now); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}
