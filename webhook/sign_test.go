package webhook

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testSecret = "3f1c0e6a9b2d4c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e"

// TestSignKnownAnswer checks Sign against a value computed outside Go:
// printf '%s' '1700000000.{"amount_rial":150000000}' | openssl dgst -sha256 -hmac <testSecret>
func TestSignKnownAnswer(t *testing.T) {
	got := Sign(testSecret, time.Unix(1700000000, 0), []byte(`{"amount_rial":150000000}`))
	want := "v1=7d59cb6c06232edd3d3a66ed42724aa30464027dedd6cc3633625afd08bba3d2"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func signed(secret string, ts time.Time, body string) http.Header {
	h := http.Header{}
	SignHeader(h, secret, ts, []byte(body))
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1774429200, 0) // 2026-03-25 09:00 UTC
	body := `{"id":"0190f3c2-0000-7000-8000-000000000001","type":"satna.order.settled"}`
	good := signed(testSecret, now, body)
	with := func(h http.Header, key string, values ...string) http.Header {
		h = h.Clone()
		h.Del(key)
		for _, v := range values {
			h.Add(key, v)
		}
		return h
	}
	other := Sign("another secret", now, []byte(body))
	for _, tc := range []struct {
		name      string
		header    http.Header
		body      string
		now       time.Time
		tolerance time.Duration
		want      error // nil: accepted
	}{
		{name: "valid", header: good, body: body, now: now},
		{name: "valid, signed 4 minutes ago", header: signed(testSecret, now.Add(-4*time.Minute), body), body: body, now: now},
		{name: "valid, signed 4 minutes ahead", header: signed(testSecret, now.Add(4*time.Minute), body), body: body, now: now},
		{name: "tampered body", header: good, body: strings.Replace(body, "settled", "returned", 1), now: now, want: ErrSignature},
		{name: "body with a space added", header: good, body: body + " ", now: now, want: ErrSignature},
		{name: "wrong secret", header: signed("another secret", now, body), body: body, now: now, want: ErrSignature},
		{name: "stale: 6 minutes old", header: signed(testSecret, now.Add(-6*time.Minute), body), body: body, now: now, want: ErrStale},
		{name: "stale: 6 minutes ahead", header: signed(testSecret, now.Add(6*time.Minute), body), body: body, now: now, want: ErrStale},
		{name: "stale under a tolerance of 1 minute", header: signed(testSecret, now.Add(-2*time.Minute), body), body: body, now: now,
			tolerance: time.Minute, want: ErrStale},
		{name: "fresh under a tolerance of 1 hour", header: signed(testSecret, now.Add(-50*time.Minute), body), body: body, now: now,
			tolerance: time.Hour},
		{name: "timestamp changed after signing", header: with(good, HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)), body: body,
			now: now, want: ErrSignature},
		{name: "missing timestamp", header: with(good, HeaderTimestamp), body: body, now: now, want: ErrSignature},
		{name: "missing signature", header: with(good, HeaderSignature), body: body, now: now, want: ErrSignature},
		{name: "no headers", header: http.Header{}, body: body, now: now, want: ErrSignature},
		{name: "timestamp not decimal", header: with(good, HeaderTimestamp, "1774429200.0"), body: body, now: now, want: ErrSignature},
		{name: "leading zero added after signing", header: with(good, HeaderTimestamp, "0"+good.Get(HeaderTimestamp)), body: body, now: now,
			want: ErrSignature},
		{name: "negative timestamp", header: with(good, HeaderTimestamp, "-1"), body: body, now: now, want: ErrSignature},
		{name: "timestamp beyond int64", header: with(good, HeaderTimestamp, "9999999999999999999"), body: body, now: now, want: ErrSignature},
		{name: "another version only", header: with(good, HeaderSignature, "v0="+strings.TrimPrefix(good.Get(HeaderSignature), "v1=")),
			body: body, now: now, want: ErrSignature},
		{name: "not hex", header: with(good, HeaderSignature, "v1=zz"), body: body, now: now, want: ErrSignature},
		{name: "truncated", header: with(good, HeaderSignature, good.Get(HeaderSignature)[:40]), body: body, now: now, want: ErrSignature},
		{name: "upper-case hex", header: with(good, HeaderSignature, "v1="+strings.ToUpper(strings.TrimPrefix(good.Get(HeaderSignature), "v1="))),
			body: body, now: now},
		{name: "second of two entries matches", header: with(good, HeaderSignature, other+", "+good.Get(HeaderSignature)), body: body, now: now},
		{name: "second of two header lines matches", header: with(good, HeaderSignature, other, good.Get(HeaderSignature)), body: body, now: now},
		{name: "unknown version beside v1", header: with(good, HeaderSignature, "v9=abc,"+good.Get(HeaderSignature)), body: body, now: now},
		{name: "oversized signature header", header: with(good, HeaderSignature, strings.Repeat(other+",", 20)+good.Get(HeaderSignature)),
			body: body, now: now, want: ErrSignature},
		{name: "bad signature and stale: the signature counts first", header: with(signed(testSecret, now.Add(-time.Hour), body), HeaderSignature, other),
			body: body, now: now, want: ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(testSecret, tc.header, []byte(tc.body), tc.now, tc.tolerance)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("got %v, want accepted", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("got %v, want %v", err, tc.want)
			case tc.want == ErrSignature && errors.Is(err, ErrStale), tc.want == ErrStale && errors.Is(err, ErrSignature):
				t.Errorf("got %v: both sentinels", err)
			}
		})
	}
}

// FuzzVerify: Verify never panics, fails only with its sentinels, and accepts only what Sign made within
// the tolerance.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1774429200, 0)
	body := `{"id":"x"}`
	good := signed(testSecret, now, body)
	f.Add(testSecret, good.Get(HeaderTimestamp), good.Get(HeaderSignature), []byte(body), now.Unix(), int64(0))
	f.Add(testSecret, "1774429200", "v1=,v1=00", []byte(""), now.Unix(), int64(time.Second))
	f.Add("", "0", Sign("", time.Unix(0, 0), nil), []byte(nil), int64(0), int64(time.Hour))
	f.Add(testSecret, "99999999999999999999", "v1="+strings.Repeat("a", 64), []byte("{}"), int64(-1), int64(-1))
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte, nowUnix, tolerance int64) {
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(secret, h, body, time.Unix(nowUnix, 0), time.Duration(tolerance))
		if err != nil {
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrStale) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		unix, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil {
			t.Fatalf("accepted timestamp %q, which is not an int64", ts)
		}
		want := "v1=" + hex.EncodeToString(mac(secret, ts, body))
		found := false
		for e := range strings.SplitSeq(sig, ",") {
			if strings.EqualFold(strings.TrimSpace(e), want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("accepted signature %q, want one entry %s", sig, want)
		}
		tol := time.Duration(tolerance)
		if tol <= 0 {
			tol = ToleranceDefault
		}
		if skew := nowUnix - unix; skew > int64(tol/time.Second) || -skew > int64(tol/time.Second) {
			t.Fatalf("accepted a timestamp %d s from now, tolerance %v", skew, tol)
		}
	})
}
