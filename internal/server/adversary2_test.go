package server_test

// Second adversarial review of `tasvieh serve` (issue 7). Each test names the defect it reproduces (and stays
// failing until it is fixed), or the attack that held up.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/webhook"
)

// tryOpen opens a server on a fresh schema with cfg changed by mod and returns Open's error (closing the
// server when it opened).
func tryOpen(t *testing.T, mod ...func(*server.Config)) (*server.Server, error) {
	t.Helper()
	pool, _ := pgtest.Schema(t)
	cfg := server.Config{Pool: pool, Home: t.TempDir(), Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: jalali(t, "1404/02/01 09:00"), Seed: 7, Customers: testCustomers, Log: testLog()}
	for _, m := range mod {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := server.Open(ctx, cfg)
	if err == nil {
		t.Cleanup(srv.Close)
	}
	return srv, err
}

// Found by the second review (fixed; kept as a regression test), from the UTF-8 fix: api.Server.ServeHTTP reads and checks every body before routing and before
// authentication: a request with no key (or to no route at all) and a body that is not UTF-8 answers 422
// invalid_request instead of 401 / 404. The matrix says "no key → 401"; the middleware's own comment
// says access is enforced "before its body is read".
func TestAdv2BodyCheckedBeforeAuthentication(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	bad := []byte("{\"bank_code\":\"017\",\"amount_rial\":1,\"reference\":\"x\xff\"}")
	if st, _, b := w.raw(http.MethodPost, "/v1/operator/liquidity", "", "application/json", bad); st != http.StatusUnauthorized {
		t.Errorf("no key, non-UTF-8 body: %d %s, want 401 unauthorized", st, b)
	}
	if st, _, b := w.raw(http.MethodPost, "/v1/operator/liquidity", w.bank("017"), "application/json", bad); st != http.StatusForbidden {
		t.Errorf("bank key on an operator route, non-UTF-8 body: %d %s, want 403 forbidden", st, b)
	}
	if st, _, b := w.raw(http.MethodPost, "/v1/no-such-route", "", "application/json", bad); st != http.StatusNotFound {
		t.Errorf("no route, non-UTF-8 body: %d %s, want 404 not_found", st, b)
	}
}

// Found by the second review (fixed; kept as a regression test), from the UTF-8 fix: The body is read in ServeHTTP with io.ReadAll before huma, so huma's body read
// deadline (Operation.BodyReadTimeout, 5 s by default) never applies, and the http.Server has no ReadTimeout:
// a client that sends its headers and then trickles (or withholds) the body holds a goroutine and a
// connection for ever — with no key at all. "A deadline on every request" (README: "each request has a 30 s
// deadline") does not hold; a graceful shutdown also waits its whole ShutdownTimeout for such a connection.
func TestAdv2SlowBodyHasNoDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the request deadline")
	}
	w := boot(t, "1404/02/01 09:00")
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/operator/liquidity HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	limit := api.RequestTimeoutDefault + 5*time.Second
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	line, err := bufio.NewReader(conn).ReadString('\n')
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a request whose body never comes is still open after %v, unanswered and with no key: no deadline", limit)
	}
	t.Logf("answered or closed: %q %v", line, err)
}

// Found by the second review (fixed; kept as a regression test): Bodies are "64 KiB (api.BodyBytesMax)", and ServeHTTP's own check accepts 65,536 bytes, but
// huma's readBody refuses a body whose length equals MaxBodyBytes (count == maxBytes → 413): the real limit is
// 65,535 bytes. Over the limit, chunked or not, 413; a chunked body with a bad byte, 422 (held).
func TestAdv2BodyLimitEdges(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	pad := func(n int) []byte { // a valid liquidity body of exactly n bytes
		b := []byte(`{"bank_code":"017","amount_rial":5,"reference":"edge-` + fmt.Sprint(n) + `"}`)
		return append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), n-len(b)), '}')...)
	}
	send := func(body []byte, chunked bool) (int, []byte) {
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // hides the length: the client sends it chunked
		}
		req, _ := http.NewRequest(http.MethodPost, w.url+"/v1/operator/liquidity", r)
		req.Header.Set("Authorization", "Bearer "+w.operator())
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	for _, chunked := range []bool{false, true} {
		if st, b := send(pad(api.BodyBytesMax), chunked); st != http.StatusOK {
			t.Errorf("chunked=%v: a body of exactly %d bytes: %d %s", chunked, api.BodyBytesMax, st, b)
		}
		if st, b := send(pad(api.BodyBytesMax+1), chunked); st != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: a body of %d bytes: %d %s, want 413", chunked, api.BodyBytesMax+1, st, b)
		}
	}
	bad := []byte("{\"bank_code\":\"017\",\"amount_rial\":5,\"reference\":\"chunk\xc3\"}")
	if st, b := send(bad, true); st != http.StatusUnprocessableEntity {
		t.Errorf("chunked non-UTF-8 body: %d %s, want 422", st, b)
	}
}

// Found by the second review (fixed; kept as a regression test): A 405 must carry Allow (RFC 9110 §15.5.6: "The origin server MUST generate an Allow header
// field in a 405 response"); the new 405 handler sends none, so a client cannot learn the method.
func TestAdv2MethodNotAllowedCarriesAllow(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	st, h, b := w.raw(http.MethodDelete, "/v1/me", w.bank("017"), "", nil)
	if st != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /v1/me: %d %s", st, b)
	}
	if h.Get("Allow") == "" {
		t.Errorf("405 without an Allow header: %v", h)
	}
}

// Found by the second review (fixed; kept as a regression test): The member banks are fixed when the server opens (world.members, from the registry on the
// start date) while "bank status and successors follow the clock's date". Advance the clock past Ayandeh's
// dissolution (062, 2025-10-25 = 1404/08/03): /v1/banks says dissolved, yet the operator can still suspend it
// and inject liquidity into it (bank_inactive is the table's code for exactly this), the day jobs still tell
// it day.opened, and the directory still serves its magic values. After a restart the same bank is no member
// (404 / 409) with its key still valid and its settlement balance stranded: a restart does not resume exactly.
func TestAdv2DissolvedBankStaysAMemberUntilRestart(t *testing.T) {
	w := boot(t, "1404/08/02 20:00")
	var b api.Bank
	w.must(http.StatusOK, http.MethodGet, "/v1/banks/062", w.operator(), nil, &b)
	if b.Status != "active" {
		t.Fatalf("062 on 1404/08/02: %s", b.Status)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: "1404/08/03 12:00"}, nil)
	w.must(http.StatusOK, http.MethodGet, "/v1/banks/062", w.operator(), nil, &b)
	if b.Status != "dissolved" {
		t.Fatalf("062 on 1404/08/03: %s, want dissolved (the registry follows the clock)", b.Status)
	}
	if st, body := w.do(http.MethodPost, "/v1/operator/banks/062/suspend", w.operator(), nil); st != http.StatusConflict {
		t.Errorf("suspend a dissolved bank: %d %s, want 409 bank_inactive", st, body)
	}
	if st, body := w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("062", 1000, "to-dissolved")); st == http.StatusOK {
		t.Errorf("liquidity into a dissolved bank applied: %s", body)
	}
	var ev api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?bank=062", w.operator(), nil, &ev)
	for _, e := range ev.Events {
		if e.Type == "day.opened" && e.CreatedAt.After(jalali(t, "1404/08/03 00:00")) {
			t.Errorf("a dissolved bank is told the day opened: %+v", e)
		}
	}
	var magic struct{ Magic []api.MagicValue }
	w.must(http.StatusOK, http.MethodGet, "/v1/directory/magic", w.operator(), nil, &magic)
	for _, m := range magic.Magic {
		if m.BankCode == "062" {
			t.Errorf("the directory serves a dissolved bank's magic values: %+v", m)
			break
		}
	}
	key := w.bank("062")
	before, _ := w.do(http.MethodGet, "/v1/settlement-account", key, nil)
	w.restart(func(c *server.Config) { c.Start = time.Time{} }) // resume where the clock stood
	after, body := w.do(http.MethodGet, "/v1/settlement-account", key, nil)
	if before != after {
		t.Errorf("062's own settlement account: %d before a restart, %d after (%s): a restart does not resume exactly", before, after, body)
	}
}

// Found by the second review (fixed; kept as a regression test): keys.json is trusted as it is: two banks with the same key, or a bank with the
// operator's key, start without a word. principals() then maps the shared key to whichever entry the map's
// iteration order puts last: one bank authenticates as another (confidentiality), or the operator is locked
// out because its key now reads as a bank's.
func TestAdv2KeysJSONWithSharedKeys(t *testing.T) {
	k1, k2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for name, keys := range map[string]server.Keys{
		"two banks share a key":     {Operator: k1, Banks: map[string]string{"012": k2, "017": k2}},
		"a bank has the operator's": {Operator: k1, Banks: map[string]string{"017": k1}},
	} {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			b, _ := json.Marshal(keys)
			if err := os.WriteFile(filepath.Join(home, "keys.json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			srv, err := tryOpen(t, func(c *server.Config) { c.Home = home })
			if err != nil {
				return // refused: the fix
			}
			url, err := srv.Listen()
			if err != nil {
				t.Logf("Listen refused it: %v", err)
				return
			}
			req, _ := http.NewRequest(http.MethodGet, url+"/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+keys.Banks["017"])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			me, _ := io.ReadAll(res.Body)
			t.Errorf("a keys.json whose keys are not distinct was accepted; the shared key answers /v1/me as %s", me)
		})
	}
}

// Found by the second review (fixed; kept as a regression test): --external names the banks under test, but a code that is no member (a merged bank, a
// code that does not exist, a typo of a real one) is dropped silently: the tester's bank "under test" is not
// one, and nothing says so. cmd checks only that each code has three digits.
func TestAdv2ExternalCodesThatAreNotMembers(t *testing.T) {
	for _, code := range []string{"052", "999"} {
		if _, err := tryOpen(t, func(c *server.Config) { c.External = []string{code} }); err == nil {
			t.Errorf("--external %s (no member bank) accepted silently", code)
		}
	}
}

// Found by the second review (fixed; kept as a regression test): /v1/events takes any number as a cursor: one beyond the end answers an empty page whose
// next_cursor is that number, so a client that stored a wrong cursor (another server's, a typo) silently
// skips every event until the outbox grows past it. "not a cursor this server gave" is the message for
// malformed cursors; a cursor past the last seq is not one this server gave either.
func TestAdv2EventsCursorBeyondTheEnd(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	// Fixed: a cursor past the last event is refused (422, field after), so it cannot silently skip events.
	w.must(http.StatusUnprocessableEntity, http.MethodGet, "/v1/events?after=999999999", w.bank("017"), nil, nil)
	var pg api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events", w.bank("017"), nil, &pg)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", 10, "cursor-1"), nil)
	var next api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?after="+pg.NextCursor, w.bank("017"), nil, &next)
	if len(next.Events) != 1 || next.Events[0].Type != "settlement.liquidity" {
		t.Errorf("after the last cursor, the next event: %+v", next.Events)
	}
}

// slowSink answers 200 after a pause; fastSink records when each request came.
func slowSink(t *testing.T, pause time.Duration) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(pause)
	}))
	t.Cleanup(s.Close)
	return s
}

// Found by the second review (fixed; kept as a regression test): webhook.Deliverer's doc says "a slow one delays only itself", but a round waits for every
// bank's part (wg.Wait) before enqueueing anything new, and one bank's part sends all its due deliveries one
// after the other. A receiver that acknowledges each event in 1.5 s (inside the 10 s timeout, so it never
// fails) with ten events waiting holds every other bank's new events for ~15 s.
func TestAdv2SlowReceiverDelaysOtherBanks(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	slow := slowSink(t, 1500*time.Millisecond)
	var mu sync.Mutex
	var got time.Time
	fast := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		if got.IsZero() {
			got = time.Now()
		}
		mu.Unlock()
	}))
	t.Cleanup(fast.Close)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("017"), api.WebhookRequest{URL: slow.URL}, nil)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: fast.URL}, nil)
	for i := range 10 {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", int64(i+1), fmt.Sprintf("slow-%d", i)), nil)
	}
	time.Sleep(2 * time.Second) // the slow bank's round is under way
	sent := time.Now()
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("054", 1, "fast-1"), nil)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		g := got
		mu.Unlock()
		if !g.IsZero() {
			if d := g.Sub(sent); d > 5*time.Second {
				t.Errorf("bank 054's event reached its (fast) receiver %v after it was committed: held up by bank 017's slow receiver", d.Round(100*time.Millisecond))
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("bank 054's event never arrived")
}

// Held: an endpoint changed (and its secret rotated) while deliveries are pending: every pending delivery
// goes to the new URL, signed with the new secret, each event once.
func TestAdv2EndpointChangedWhileDeliveriesPending(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	dead := newSink(t, 1<<30)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("017"), api.WebhookRequest{URL: dead.URL}, nil)
	for i := range 3 {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", int64(i+1), fmt.Sprintf("move-%d", i)), nil)
	}
	waitFor(t, w, func() bool { a, _ := dead.snapshot(); return a >= 1 })
	live := newSink(t, 0)
	var hook api.Webhook
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("017"), api.WebhookRequest{URL: live.URL, RotateSecret: true}, &hook)
	if hook.Secret == "" {
		t.Fatal("rotation answered no secret")
	}
	waitFor(t, w, func() bool { _, g := live.snapshot(); return len(g) >= 3 })
	_, got := live.snapshot()
	ids := map[string]bool{}
	for _, r := range got {
		if err := webhook.Verify(hook.Secret, r.header, r.body, time.Now(), time.Hour); err != nil {
			t.Errorf("a delivery to the new endpoint is not signed with the new secret: %v", err)
		}
		ids[r.header.Get("Tasvieh-Event-Id")] = true
	}
	if len(ids) != 3 {
		t.Errorf("%d distinct events at the new endpoint (%d receipts), want 3", len(ids), len(got))
	}
}

// Held: concurrent first registrations of one bank's endpoint: exactly one answer carries the secret, and it
// signs what is then delivered.
func TestAdv2ConcurrentFirstWebhookRegistration(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	s := newSink(t, 0)
	var mu sync.Mutex
	var secrets []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h api.Webhook
			st, b := w.do(http.MethodPut, "/v1/webhook", w.bank("012"), api.WebhookRequest{URL: s.URL})
			if st != http.StatusOK {
				t.Errorf("PUT /v1/webhook: %d %s", st, b)
				return
			}
			_ = json.Unmarshal(b, &h)
			if h.Secret != "" {
				mu.Lock()
				secrets = append(secrets, h.Secret)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(secrets) != 1 {
		t.Fatalf("%d answers carried a secret, want exactly 1", len(secrets))
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", 3, "conc-hook"), nil)
	waitFor(t, w, func() bool { _, g := s.snapshot(); return len(g) == 1 })
	_, got := s.snapshot()
	if err := webhook.Verify(secrets[0], got[0].header, got[0].body, time.Now(), time.Hour); err != nil {
		t.Errorf("the one secret shown does not verify: %v", err)
	}
}

// Held: a receiver that answers a redirect is a failed attempt; the redirect is not followed.
func TestAdv2WebhookRedirectNotFollowed(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	target := newSink(t, 0)
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redir.Close)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("017"), api.WebhookRequest{URL: redir.URL}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", 3, "redir"), nil)
	var page api.DeliveryPage
	waitFor(t, w, func() bool {
		w.must(http.StatusOK, http.MethodGet, "/v1/webhook/deliveries", w.bank("017"), nil, &page)
		return len(page.Deliveries) == 1 && page.Deliveries[0].Attempts >= 1
	})
	if page.Deliveries[0].Status == "delivered" || page.Deliveries[0].LastStatus != http.StatusTemporaryRedirect {
		t.Errorf("a redirect: %+v", page.Deliveries[0])
	}
	if a, _ := target.snapshot(); a != 0 {
		t.Errorf("the redirect was followed: %d requests at its target", a)
	}
}

// Found by the second review (fixed; kept as a regression test): --rules dated on a date before the first dated profile (1400/10/25) starts without a word:
// jobs() falls back to seed silently, and /v1/clock's rules is empty, so the operator cannot tell which
// figures are in force. Either refuse at start or name what is in force. (On 1403/01/10 it is 1400: held.)
func TestAdv2DatedRulesBeforeTheFirstProfile(t *testing.T) {
	for start, want := range map[string]string{"1403/01/10 09:00": "1400", "1400/05/01 09:00": "(refused or named)"} {
		srv, err := tryOpen(t, func(c *server.Config) { c.Rules = "dated"; c.Start = jalali(t, start) })
		if err != nil {
			t.Logf("--rules dated --start %s refused: %v", start, err)
			continue
		}
		url, err := srv.Listen()
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/clock", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Keys().Operator)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var c api.ClockInfo
		_ = json.NewDecoder(res.Body).Decode(&c)
		res.Body.Close()
		if c.Rules == "" || (want == "1400" && c.Rules != want) {
			t.Errorf("--rules dated --start %s: started, /v1/clock rules %q, want %s", start, c.Rules, want)
		}
	}
}

// Probe of the liquidity conflict fix on its other path: two withdrawals at once with one reference and
// different amounts, both beyond the balance. The first fix covers exists_with_different_fields on an applied
// chain; a remembered rejection answers its original code whatever the fields, so both callers may be told
// "rejected" for their own figures, the later Notice overwriting the other's record — and a retry of the
// first then conflicts with a record it never made.
func TestAdv2ConcurrentRejectedLiquiditySameReference(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	bothRejected := 0
	for round := range 10 {
		ref := fmt.Sprintf("rej-%d", round)
		amounts := []int64{-2 * server.FundingDefault, -3 * server.FundingDefault}
		status := make([]int, 2)
		bodies := make([][]byte, 2)
		var wg sync.WaitGroup
		for i, a := range amounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status[i], bodies[i] = w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", a, ref))
			}()
		}
		wg.Wait()
		if status[0] == http.StatusOK && status[1] == http.StatusOK {
			bothRejected++
			// Each caller's safe retry must get its own answer again.
			for i, a := range amounts {
				if st, b := w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", a, ref)); st != http.StatusOK {
					t.Errorf("round %d: caller %d was answered %s, its retry now %d %s", round, i, bodies[i], st, b)
				}
			}
		}
	}
	if bothRejected > 0 {
		t.Errorf("%d of 10 rounds: one reference with two different amounts answered 200 rejected to both callers (want one 409 conflict)", bothRejected)
	}
}

// Probe: real → simulated → real with an injected "real" clock: the mode switches succeed, jobs fire on the
// real clock's time again, nothing fires twice, and a restart in real mode starts.
func TestAdv2ClockRealSimulatedReal(t *testing.T) {
	fake := clock.NewSimulated(jalali(t, "1404/02/01 05:00"))
	w := boot(t, "1404/02/01 05:00", func(c *server.Config) { c.ClockMode = clock.ModeReal; c.Start = time.Time{}; c.Real = fake })
	var c api.ClockInfo
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/mode", w.operator(), api.ModeRequest{Mode: "simulated"}, &c)
	var adv api.AdvanceResult
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "2h"}, &adv)
	if st, b := w.do(http.MethodPost, "/v1/operator/clock/mode", w.operator(), api.ModeRequest{Mode: "real"}); st != http.StatusConflict {
		t.Errorf("going real while simulated is 2 h ahead: %d %s, want 409", st, b)
	}
	if err := fake.Advance(3 * time.Hour); err != nil { // real time passes
		t.Fatal(err)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/mode", w.operator(), api.ModeRequest{Mode: "real"}, &c)
	if c.Mode != "real" || !c.Now.Equal(fake.Now()) {
		t.Errorf("back to real: %+v, real now %s", c, tehran(fake.Now()))
	}
	if err := fake.Advance(12 * time.Hour); err != nil { // day close at 16:00 on the real clock
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	runs := map[string]int{}
	for _, r := range adv.Fired {
		runs[r.Job+" "+r.Jalali]++
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/clock", w.operator(), nil, &c)
	for _, r := range c.RecentRuns {
		runs[r.Job+" "+r.Jalali]++
		if runs[r.Job+" "+r.Jalali] > 1 {
			t.Errorf("ran twice: %s %s", r.Job, r.Jalali)
		}
	}
	if runs["day.open 1404/02/01 06:00"] != 1 || runs["day.close 1404/02/01 16:00"] != 1 {
		t.Errorf("runs after real → simulated → real: %v", runs)
	}
	w.restart()
}
