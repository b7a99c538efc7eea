package server_test

// Adversarial tests of `tasvieh serve` (review of issue 7). Each test names the defect it reproduces, or the
// attack that held up.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// raw sends a request with an exact body and content type.
func (w *world) raw(method, path, key, ctype string, body []byte) (int, http.Header, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.url+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, res.Header, b.Bytes()
}

// errorBody checks the API's one error body: code, message, field and the optional details of api.Error (reason,
// position, row, original_id) only; a status from api's table.
func errorBody(t *testing.T, what string, status int, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("%s: %d, not a JSON error body: %q", what, status, b)
		return nil
	}
	for k := range m {
		switch k {
		case "code", "message", "field", "reason", "position", "row", "original_id":
		default:
			t.Errorf("%s: extra key %q in error body %s", what, k, b)
		}
	}
	code, _ := m["code"].(string)
	if code == "" || m["message"] == nil {
		t.Errorf("%s: error body without code/message: %s", what, b)
	}
	if want := api.Status(code); want != status {
		t.Errorf("%s: status %d but code %q maps to %d", what, status, code, want)
	}
	if status >= 500 && code != api.CodeOutcomeUnknown && code != api.CodeUnavailable && code != api.CodeTimeout {
		t.Errorf("%s: %d %s for a bad request", what, status, b)
	}
	return m
}

func liquidity(bank string, amount int64, ref string) api.LiquidityRequest {
	return api.LiquidityRequest{BankCode: bank, AmountRial: amount, Reference: ref}
}

func (w *world) balance(bank string) int64 {
	w.t.Helper()
	var a api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account?bank="+bank, w.operator(), nil, &a)
	return a.BalanceRial
}

// Found by the review (fixed; kept as a regression test): a bank laid out as simulated at first start (funding chain linked to its mirror) and then played as
// external cannot be restarted: fund() rebuilds the funding chain without the mirror leg and without
// FlagLinked, the ledger answers exists_with_different_fields for the same derived id, and Open fails.
func TestAdvRestartAfterBankGoesExternal(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	w.srv.Close()
	w.srv = nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := server.Open(ctx, w.cfg)
	if err != nil {
		t.Fatalf("restart after 012 went external: %v", err)
	}
	w.srv = srv
	if w.url, err = srv.Listen(); err != nil {
		t.Fatal(err)
	}
}

// Found by the review (fixed; kept as a regression test): the mirror image: external at first start (funding is one plain transfer), simulated later (its
// book is laid out), restart: fund() now builds a linked two-leg chain for the same id and Open fails.
func TestAdvRestartAfterExternalBankGoesSimulated(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.External = []string{"012"} })
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
	w.audit()
	w.srv.Close()
	w.srv = nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := server.Open(ctx, w.cfg)
	if err != nil {
		t.Fatalf("restart after 012 went simulated: %v", err)
	}
	w.srv = srv
	if w.url, err = srv.Listen(); err != nil {
		t.Fatal(err)
	}
}

// Found by the review (fixed; kept as a regression test): a restart with another --funding does not start: the funding transfer's derived id exists with
// another amount. Either keep the stored funding (as the book keeps its seed) or say so clearly.
func TestAdvRestartWithOtherFunding(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	w.srv.Close()
	w.srv = nil
	w.cfg.FundingRial = 2_000_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := server.Open(ctx, w.cfg)
	if err != nil {
		t.Fatalf("restart with another --funding: %v", err)
	}
	w.srv = srv
	if w.url, err = srv.Listen(); err != nil {
		t.Fatal(err)
	}
}

// Found by the review (fixed; kept as a regression test): two liquidity requests with the same reference and different amounts at once: both miss the
// RailObject look-up, the first applies, the second's chain is exists_with_different_fields and is stored as
// a *rejected* row over the applied one (Notice upserts). The money moved but the record says rejected, with
// the other amount; the caller of the applied one gets 409 on its safe retry.
func TestAdvConcurrentLiquiditySameReference(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	for round := 0; round < 8; round++ {
		ref := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		bodies := make([][]byte, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], bodies[i] = w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", int64(100+i), ref))
			}()
		}
		wg.Wait()
		// Whatever happened, the stored object for ref must describe the money that moved.
		var o [2]api.Liquidity
		var got [2]int
		for i := range 2 {
			var b []byte
			got[i], b = w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", int64(100+i), ref))
			_ = json.Unmarshal(b, &o[i])
		}
		applied := 0
		for i := range 2 {
			if got[i] == http.StatusOK && o[i].Status == "applied" {
				applied++
			}
		}
		if applied != 1 {
			t.Fatalf("round %d: after a race on %s, repeats answer %d %+v / %d %+v (first answers %d %s / %d %s); want exactly one applied",
				round, ref, got[0], o[0], got[1], o[1], statuses[0], bodies[0], statuses[1], bodies[1])
		}
	}
}

// Held: concurrent same reference, same amount: applied once.
func TestAdvConcurrentLiquiditySameReferenceSameAmount(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b := w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", 5, "same"))
			if st != http.StatusOK {
				t.Errorf("%d %s", st, b)
			}
		}()
	}
	wg.Wait()
	if got := w.balance("012"); got != 1_000_005 {
		t.Errorf("balance %d, want 1000005", got)
	}
}

// Found by the review (fixed; kept as a regression test): world.update reads the bank's state, releases the lock, writes the row and then stores the state it
// read: a suspension and a simulation change at once lose one of them (memory and the database may even keep
// different ones).
func TestAdvConcurrentSuspendAndSimulationLoseNoUpdate(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	for round := 0; round < 10; round++ {
		lat := round + 1
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/017/suspend", w.operator(), nil, nil)
		}()
		go func() {
			defer wg.Done()
			w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/017/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true, LatencyMS: lat}, nil)
		}()
		wg.Wait()
		var b api.Bank
		w.must(http.StatusOK, http.MethodGet, "/v1/banks/017", w.operator(), nil, &b)
		if b.Status != "suspended" || b.Simulation == nil || b.Simulation.LatencyMS != lat {
			t.Fatalf("round %d: after suspend ∥ simulation(latency %d): status %s simulation %+v", round, lat, b.Status, b.Simulation)
		}
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/017/resume", w.operator(), nil, nil)
	}
}

// Found by the review (fixed; kept as a regression test): the bank.* notification id is derived from the clock's time and the new state; on the simulated
// clock, suspend → resume → suspend within one instant gives the second suspension the first one's id, and
// ON CONFLICT DO NOTHING drops it: the bank never hears it was suspended again.
func TestAdvRepeatedSuspensionIsNotified(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	for _, p := range []string{"suspend", "resume", "suspend"} {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/017/"+p, w.operator(), nil, nil)
	}
	var pg api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank("017"), nil, &pg)
	var types []string
	for _, e := range pg.Events {
		if strings.HasPrefix(e.Type, "bank.") {
			types = append(types, e.Type)
		}
	}
	if strings.Join(types, ",") != "bank.suspended,bank.resumed,bank.suspended" {
		t.Errorf("bank events %v, want suspended, resumed, suspended", types)
	}
}

// Found by the review (fixed; kept as a regression test): AdvanceClock checks the mode before taking advanceMu; a mode switch to real queued ahead of it (both
// waiting for a long advance) makes clk.Set fail with clock.ErrMode, which is not mapped: 500 internal.
func TestAdvAdvanceRacesModeSwitch(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // holds advanceMu for the whole month's runs
		defer wg.Done()
		w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "744h"})
	}()
	time.Sleep(150 * time.Millisecond)
	var modeSt int
	go func() {
		defer wg.Done()
		modeSt, _ = w.do(http.MethodPost, "/v1/operator/clock/mode", w.operator(), api.ModeRequest{Mode: "real"})
	}()
	time.Sleep(50 * time.Millisecond)
	var st int
	var b []byte
	go func() {
		defer wg.Done()
		st, b = w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "1m"})
	}()
	wg.Wait()
	t.Logf("mode switch: %d; queued advance: %d %s", modeSt, st, b)
	if st >= 500 {
		t.Errorf("an advance queued behind a switch to real answers %d %s; want 409 clock_mode", st, b)
	}
}

// Held: concurrent advances are serialised; every occurrence fires once.
func TestAdvConcurrentAdvances(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r api.AdvanceResult
			w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "4h"}, &r)
			mu.Lock()
			for _, f := range r.Fired {
				seen[f.Job+" "+f.Scheduled.String()]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	var c api.ClockInfo
	w.must(http.StatusOK, http.MethodGet, "/v1/clock", w.operator(), nil, &c)
	if want := jalali(t, "1404/02/02 09:00"); !c.Now.Equal(want) {
		t.Errorf("clock %s, want %s", tehran(c.Now), tehran(want))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s fired %d times", k, n)
		}
	}
	if len(seen) != 24+2 { // 24 hourly expiries, day close 16:00, day open 06:00 next day (a business day?)
		t.Logf("fired %d distinct runs: %v", len(seen), seen)
	}
}

// TestAdvBadInputAnswersTheErrorBody throws odd input at every route: each answer is the one error body with
// its table's status, never a 500 and never another bank's data.
func TestAdvBadInputAnswersTheErrorBody(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	op, b17 := w.operator(), w.bank("017")
	big := bytes.Repeat([]byte("a"), api.BodyBytesMax+10)
	type tc struct {
		name, method, path, key, ctype string
		body                           []byte
		want                           int
	}
	j := "application/json"
	cases := []tc{
		{"no key", "GET", "/v1/me", "", "", nil, 401},
		{"lower-case bearer", "GET", "/v1/me", "", "", nil, 401},
		{"bank on operator", "POST", "/v1/operator/clock/advance", b17, j, []byte(`{"by":"1h"}`), 403},
		{"operator on bank route", "GET", "/v1/webhook/deliveries", op, "", nil, 403},
		{"unknown route", "GET", "/v1/nope", op, "", nil, 404},
		{"wrong method", "DELETE", "/v1/me", op, "", nil, 405},
		{"bank code not digits", "GET", "/v1/banks/abc", op, "", nil, 422},
		{"bank code unknown", "GET", "/v1/banks/999", op, "", nil, 404},
		{"bank code 4 digits", "GET", "/v1/banks/0170", op, "", nil, 422},
		{"bank code unicode digits", "GET", "/v1/banks/%DB%B0%DB%B1%DB%B7", op, "", nil, 422},
		{"bank code NUL", "GET", "/v1/banks/01%00", op, "", nil, 422},
		{"settlement other bank", "GET", "/v1/settlement-account?bank=012", b17, "", nil, 404},
		{"settlement operator no bank", "GET", "/v1/settlement-account", op, "", nil, 422},
		{"settlement cursor garbage", "GET", "/v1/settlement-account?cursor=abc", b17, "", nil, 422},
		{"settlement cursor negative", "GET", "/v1/settlement-account?cursor=-1", b17, "", nil, 422},
		{"settlement cursor overflow", "GET", "/v1/settlement-account?cursor=99999999999999999999", b17, "", nil, 422},
		{"settlement cursor max", "GET", "/v1/settlement-account?cursor=9223372036854775807", b17, "", nil, 200},
		{"settlement cursor too long", "GET", "/v1/settlement-account?cursor=" + strings.Repeat("1", 200), b17, "", nil, 422},
		{"limit 0", "GET", "/v1/settlement-account?limit=0", b17, "", nil, 422},
		{"limit -1", "GET", "/v1/settlement-account?limit=-1", b17, "", nil, 422},
		{"limit 1001", "GET", "/v1/settlement-account?limit=1001", b17, "", nil, 422},
		{"limit text", "GET", "/v1/settlement-account?limit=ten", b17, "", nil, 422},
		{"limit float", "GET", "/v1/settlement-account?limit=1.5", b17, "", nil, 422},
		{"limit huge", "GET", "/v1/settlement-account?limit=99999999999999999999999", b17, "", nil, 422},
		{"events after garbage", "GET", "/v1/events?after=%FF%FE", b17, "", nil, 422},
		{"events after negative", "GET", "/v1/events?after=-5", b17, "", nil, 422},
		{"events after huge", "GET", "/v1/events?after=9223372036854775807", b17, "", nil, 422},
		{"events other bank", "GET", "/v1/events?bank=012", b17, "", nil, 404},
		{"customers no bank", "GET", "/v1/directory/customers", b17, "", nil, 422},
		{"customers unknown", "GET", "/v1/directory/customers?bank=999", b17, "", nil, 404},
		{"customers cursor huge", "GET", "/v1/directory/customers?bank=017&cursor=9223372036854775807", b17, "", nil, 200},
		{"customers cursor negative", "GET", "/v1/directory/customers?bank=017&cursor=-1", b17, "", nil, 422},
		{"magic bad bank", "GET", "/v1/directory/magic?bank=xyz", b17, "", nil, 422},
		{"retry delivery text", "POST", "/v1/webhook/deliveries/abc/retry", b17, "", nil, 404},
		{"retry delivery negative", "POST", "/v1/webhook/deliveries/-1/retry", b17, "", nil, 404},
		{"retry delivery 0", "POST", "/v1/webhook/deliveries/0/retry", b17, "", nil, 404},
		{"retry delivery overflow", "POST", "/v1/webhook/deliveries/99999999999999999999/retry", b17, "", nil, 404},
		{"retry delivery too long", "POST", "/v1/webhook/deliveries/" + strings.Repeat("9", 40) + "/retry", b17, "", nil, 422},
		{"webhook no body", "PUT", "/v1/webhook", b17, j, nil, 422},
		{"webhook ftp", "PUT", "/v1/webhook", b17, j, []byte(`{"url":"ftp://x"}`), 422},
		{"webhook javascript", "PUT", "/v1/webhook", b17, j, []byte(`{"url":"javascript:alert(1)"}`), 422},
		{"webhook broken host", "PUT", "/v1/webhook", b17, j, []byte(`{"url":"http://[::1"}`), 422},
		{"webhook url too long", "PUT", "/v1/webhook", b17, j, []byte(`{"url":"http://x/` + strings.Repeat("a", 3000) + `"}`), 422},
		{"webhook not json", "PUT", "/v1/webhook", b17, j, []byte(`{"url":`), 422},
		{"webhook text/plain", "PUT", "/v1/webhook", b17, "text/plain", []byte(`{"url":"http://127.0.0.1:1/"}`), 0},
		{"webhook xml", "PUT", "/v1/webhook", b17, "application/xml", []byte(`<url/>`), 0},
		{"webhook body too large", "PUT", "/v1/webhook", b17, j, append(append([]byte(`{"url":"`), big...), []byte(`"}`)...), 413},
		{"liquidity too large", "POST", "/v1/operator/liquidity", op, j, append(append([]byte(`{"reference":"`), big...), []byte(`"}`)...), 413},
		{"liquidity array", "POST", "/v1/operator/liquidity", op, j, []byte(`[1,2]`), 422},
		{"liquidity null", "POST", "/v1/operator/liquidity", op, j, []byte(`null`), 422},
		{"liquidity zero", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":0,"reference":"z"}`), 422},
		{"liquidity overflow", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":9223372036854775808,"reference":"o"}`), 422},
		{"liquidity min int64", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":-9223372036854775808,"reference":"m"}`), 422},
		{"liquidity float", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":1.5,"reference":"f"}`), 422},
		{"liquidity exp", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":1e30,"reference":"e"}`), 422},
		{"liquidity string amount", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":"5","reference":"s"}`), 422},
		{"liquidity no reference", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":5}`), 422},
		{"liquidity NUL reference", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":5,"reference":"a\u0000b"}`), 422},
		{"liquidity control reference", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":5,"reference":"a\u0007b"}`), 422},
		{"liquidity invalid utf8", "POST", "/v1/operator/liquidity", op, j, []byte("{\"bank_code\":\"017\",\"amount_rial\":5,\"reference\":\"a\xff\xfeb\"}"), 422},
		{"liquidity lone surrogate", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":5,"reference":"a\ud800b"}`), 422},
		{"liquidity 65-char persian ref", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":5,"reference":"` + strings.Repeat("ش", 65) + `"}`), 422},
		{"liquidity unknown bank", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"999","amount_rial":5,"reference":"u"}`), 404},
		{"liquidity CBI", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"010","amount_rial":5,"reference":"c"}`), 404},
		{"liquidity unknown field", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","amount_rial":5,"reference":"uf","evil":true}`), 0},
		{"liquidity duplicate key", "POST", "/v1/operator/liquidity", op, j, []byte(`{"bank_code":"017","bank_code":"012","amount_rial":5,"reference":"dk"}`), 0},
		{"advance none", "POST", "/v1/operator/clock/advance", op, j, []byte(`{}`), 422},
		{"advance both", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"by":"1h","to":"1404/02/02 09:00"}`), 422},
		{"advance zero", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"by":"0s"}`), 422},
		{"advance negative", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"by":"-1h"}`), 422},
		{"advance overflow", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"by":"9999999999h"}`), 422},
		{"advance max duration", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"by":"2562047h"}`), 422},
		{"advance too far", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"by":"745h"}`), 422},
		{"advance to garbage", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"tomorrow"}`), 422},
		{"advance to month 13", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"1404/13/01 00:00"}`), 422},
		{"advance to 25:00", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"1404/02/02 25:00"}`), 422},
		{"advance to past", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"1403/01/01 00:00"}`), 409},
		{"advance to year 1", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"0001-01-01T00:00:00Z"}`), 409},
		{"advance to year 9999", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"9999-12-31T23:59:59Z"}`), 422},
		{"advance to persian digits", "POST", "/v1/operator/clock/advance", op, j, []byte(`{"to":"۱۴۰۴/۰۲/۰۲ ۰۹:۰۰"}`), 0},
		{"mode bad", "POST", "/v1/operator/clock/mode", op, j, []byte(`{"mode":"REAL"}`), 422},
		{"suspend unknown", "POST", "/v1/operator/banks/999/suspend", op, "", nil, 404},
		{"suspend CBI", "POST", "/v1/operator/banks/010/suspend", op, "", nil, 409},
		{"simulation bad mode", "PUT", "/v1/operator/banks/017/simulation", op, j, []byte(`{"mode":"zombie","online":true}`), 422},
		{"simulation latency -1", "PUT", "/v1/operator/banks/017/simulation", op, j, []byte(`{"mode":"simulated","online":true,"latency_ms":-1}`), 422},
		{"simulation failure 2", "PUT", "/v1/operator/banks/017/simulation", op, j, []byte(`{"mode":"simulated","online":true,"failure_rate":2}`), 422},
		{"simulation latency huge", "PUT", "/v1/operator/banks/017/simulation", op, j, []byte(`{"mode":"simulated","online":true,"latency_ms":99999999999}`), 422},
	}
	for _, c := range cases {
		key := c.key
		var st int
		var h http.Header
		var b []byte
		if c.name == "lower-case bearer" {
			req, _ := http.NewRequest("GET", w.url+c.path, nil)
			req.Header.Set("Authorization", "bearer "+op)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(res.Body)
			res.Body.Close()
			st, h, b = res.StatusCode, res.Header, buf.Bytes()
			if st != 200 {
				t.Errorf("%s → %d: the scheme is case-insensitive (RFC 9110 §11.1)", c.name, st)
			}
			continue
		}
		st, h, b = w.raw(c.method, c.path, key, c.ctype, c.body)
		what := c.name + " (" + c.method + " " + c.path[:min(len(c.path), 60)] + ")"
		if st >= 300 {
			errorBody(t, what, st, b)
			if ct := h.Get("Content-Type"); !strings.Contains(ct, "json") {
				t.Errorf("%s: content type %q", what, ct)
			}
		}
		if c.want != 0 && st != c.want {
			t.Errorf("%s: %d, want %d: %.200s", what, st, c.want, b)
		}
		if c.want == 0 {
			t.Logf("%s: %d %.200s", what, st, b)
		}
		if st == 200 && c.key == b17 && bytes.Contains(b, []byte(`"bank_code":"012"`)) {
			t.Errorf("%s: 017's key sees 012's data: %.200s", what, b)
		}
	}
	// Nothing of the above moved money or stored objects.
	w.audit()
}

// Confidentiality beyond the matrix: a bank key reads another bank's directory (sandbox data) but never its
// balances; its feed has only its own events; another bank's delivery id answers 404.
func TestAdvConfidentialityDetails(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	var cp api.CustomerPage
	w.must(http.StatusOK, http.MethodGet, "/v1/directory/customers?bank=012", w.bank("017"), nil, &cp)
	for _, c := range cp.Customers {
		if c.BalanceRial != nil {
			t.Fatalf("a bank key sees another bank's customer balance: %+v", c)
		}
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", 7, "secret-012"), nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/012/suspend", w.operator(), nil, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/banks/012/resume", w.operator(), nil, nil)
	_, b := w.do(http.MethodGet, "/v1/events?limit=1000", w.bank("017"), nil)
	if contains(b, "secret-012") || contains(b, "bank.suspended") {
		t.Errorf("017's feed shows 012's events: %.300s", b)
	}
	s := newSink(t, 0)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("012"), api.WebhookRequest{URL: s.URL}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", 7, "secret-012b"), nil)
	var page api.DeliveryPage
	waitFor(t, w, func() bool {
		w.must(http.StatusOK, http.MethodGet, "/v1/webhook/deliveries", w.bank("012"), nil, &page)
		return len(page.Deliveries) > 0
	})
	st, body := w.do(http.MethodPost, "/v1/webhook/deliveries/"+page.Deliveries[0].ID+"/retry", w.bank("017"), nil)
	if st != http.StatusNotFound || contains(body, "secret") || contains(body, "012") {
		t.Errorf("another bank's delivery: %d %s", st, body)
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/webhook/deliveries", w.bank("017"), nil, &page)
	if len(page.Deliveries) != 0 {
		t.Errorf("017 sees deliveries: %+v", page)
	}
}

// writerPID is the backend holding the schema's writer lock.
func (w *world) writerPID() int32 {
	var pid int32
	err := w.pool.QueryRow(context.Background(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND ((classid::int8 << 32) | objid::int8) = hashtextextended('tasvieh.ledger.' || current_schema(), 0) LIMIT 1`).Scan(&pid)
	if err != nil {
		return 0 // the writer is between connections
	}
	return pid
}

// killAll terminates the writer's backend and every idle connection of the pool (the server's pool).
func (w *world) killAll() {
	ctx := context.Background()
	pids := []int32{w.writerPID()}
	for _, c := range w.pool.AcquireAllIdle(ctx) {
		var pid int32
		if err := c.Conn().QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err == nil {
			pids = append(pids, pid)
		}
		c.Release()
	}
	conn, err := pgxConnect(w.t)
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, pid := range pids {
		if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			w.t.Fatal(err)
		}
	}
}

// TestAdvDatabaseConnectionsKilled kills the writer and the pool's connections between and during liquidity
// requests. Each request answers applied, or 503 (unavailable / outcome unknown) and is then retried with the
// same reference; at the end each reference moved money exactly once, and the audit is clean. A read whose
// connection died must not answer 500 either.
func TestAdvDatabaseConnectionsKilled(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	var fivehundreds []string
	var fmu sync.Mutex
	const n = 30
	var wg sync.WaitGroup
	results := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := fmt.Sprintf("kill-%d", i)
			for attempt := 0; attempt < 50; attempt++ {
				st, b := w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("054", int64(i+1), ref))
				if st == http.StatusOK {
					results[i] = st
					return
				}
				if st >= 500 && st != 503 {
					fmu.Lock()
					fivehundreds = append(fivehundreds, fmt.Sprintf("%s: %d %s", ref, st, b))
					fmu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		if i%5 == 2 {
			w.killAll()
		}
	}
	wg.Wait()
	for i, r := range results {
		if r != http.StatusOK {
			t.Errorf("kill-%d never applied", i)
		}
	}
	want := int64(1_000_000 + n*(n+1)/2)
	if got := w.balance("054"); got != want {
		t.Errorf("balance %d, want %d", got, want)
	}
	// Reads after a kill: 503 is fine, 500 is not.
	w.killAll()
	for _, p := range []string{"/v1/clock", "/v1/settlement-account?bank=054", "/v1/events?bank=054", "/healthz"} {
		st, b := w.do(http.MethodGet, p, w.operator(), nil)
		if st >= 500 && st != 503 {
			fivehundreds = append(fivehundreds, fmt.Sprintf("GET %s after kill: %d %s", p, st, b))
		}
	}
	w.killAll()
	st, b := w.do(http.MethodPost, "/v1/operator/banks/054/suspend", w.operator(), nil)
	if st >= 500 && st != 503 {
		fivehundreds = append(fivehundreds, fmt.Sprintf("suspend after kill: %d %s", st, b))
	}
	if len(fivehundreds) > 0 {
		t.Errorf("answers 500 on a lost connection (want 503):\n%s", strings.Join(fivehundreds, "\n"))
	}
	w.pool.Reset() // the test's own pooled connections were killed too
	w.audit()
}

// A book half laid out (the process stopped before its switch.book row said open) and then started with
// another --seed must be finished with the seed it was started with: found by the review, when the redo took
// the new seed and orphaned the first seed's customers.
func TestAdvHalfLaidBookRestartedWithOtherSeed(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	ctx := context.Background()
	// The crash: everything of 017's book is written but its done-row, which still says laying_out (the row
	// written before the first chunk).
	if _, err := w.pool.Exec(ctx, `UPDATE rail_objects SET status = 'laying_out' WHERE kind = 'switch.book' AND id = '017'`); err != nil {
		t.Fatal(err)
	}
	w.restart(func(c *server.Config) { c.Seed = 8 })
	var n int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM accounts WHERE ledger = $1 AND kind = $2`, 1017, int(ledger.KindCustomer)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	listed := len(w.customers("017").Customers)
	if n != listed {
		t.Errorf("book 017 holds %d customer accounts after the redo with another seed; its directory lists %d", n, listed)
	}
}

// A job whose run fails (its rail row refused by the database) is retried and recorded failed; once the
// cause is gone, a restart catches it up once, and it tells each bank once.
func TestAdvFailingJobCaughtUpOnce(t *testing.T) {
	w := boot(t, "1404/02/01 05:00")
	ctx := context.Background()
	if _, err := w.pool.Exec(ctx, `ALTER TABLE rail_objects ADD CONSTRAINT adv_no_day CHECK (kind <> 'switch.day') NOT VALID`); err != nil {
		t.Fatal(err)
	}
	var r api.AdvanceResult
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "2h"}, &r)
	failed := 0
	for _, f := range r.Fired {
		if f.Job == server.JobDayOpen && f.Outcome == "failed" {
			failed++
		}
		if f.Job == server.JobDayOpen && f.Outcome == "ok" {
			t.Fatalf("day.open ok with its row refused: %+v", f)
		}
	}
	if failed == 0 {
		t.Fatalf("no failed day.open recorded: %+v", r.Fired)
	}
	if _, err := w.pool.Exec(ctx, `ALTER TABLE rail_objects DROP CONSTRAINT adv_no_day`); err != nil {
		t.Fatal(err)
	}
	w.restart(func(c *server.Config) { c.Start = time.Time{} })
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "1m"}, nil)
	var pg api.EventPage
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank("017"), nil, &pg)
	opened := 0
	for _, e := range pg.Events {
		if e.Type == "day.opened" {
			opened++
		}
	}
	if opened != 1 {
		t.Errorf("day.opened told %d times after the failed run was caught up; want once", opened)
	}
}

// Paging a settlement account one transfer at a time gives the same transfers as one page.
func TestAdvSettlementPagingLimitOne(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	for i := range 7 {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("017", int64(i+1), fmt.Sprintf("p%d", i)), nil)
	}
	var all api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account?limit=1000", w.bank("017"), nil, &all)
	var ids []string
	cursor := ""
	for range 20 {
		var pg api.SettlementAccount
		w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account?limit=1&cursor="+cursor, w.bank("017"), nil, &pg)
		for _, m := range pg.Transfers {
			ids = append(ids, m.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	var want []string
	for _, m := range all.Transfers {
		want = append(want, m.ID)
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") || len(want) != 8 {
		t.Errorf("paged %v\n  one page %v", ids, want)
	}
}

// Checked by the review (held): the liquidity chain is built from w.live() before Submit; a bank turned external →
// simulated in between (its resync decided first) gets a settlement movement without the mirror leg, and the
// mirror is left behind (audit fails).
func TestAdvToggleSimulationUnderLiquidity(t *testing.T) {
	w := boot(t, "1404/02/01 09:00", func(c *server.Config) { c.FundingRial = 1_000_000 })
	for round := 0; round < 15; round++ {
		w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, b := w.do(http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("012", int64(i+1), fmt.Sprintf("tog-%d-%d", round, i)))
				if st != 200 {
					t.Errorf("%d %s", st, b)
				}
			}()
		}
		w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/012/simulation", w.operator(), api.Simulation{Mode: "simulated", Online: true}, nil)
		wg.Wait()
		rep, err := postgres.Audit(context.Background(), w.pool)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Clean() {
			t.Fatalf("round %d: audit after toggling 012 under liquidity:\n%s", round, rep)
		}
	}
}

// Webhooks delivered before a restart are not delivered again after it (the embedded broker is republished).
func TestAdvWebhookNotRedeliveredAfterRestart(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	s := newSink(t, 0)
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: s.URL}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("054", 9, "wh-r"), nil)
	// Delivered and recorded (delivery is at least once: one received but not yet recorded when the server
	// stops goes again after the restart, by design — that is not what this test is about).
	waitFor(t, w, func() bool {
		var pg api.DeliveryPage
		w.must(http.StatusOK, http.MethodGet, "/v1/webhook/deliveries", w.bank("054"), nil, &pg)
		return len(pg.Deliveries) == 1 && pg.Deliveries[0].Status == "delivered"
	})
	w.restart()
	for range 5 {
		w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "10m"}, nil)
		time.Sleep(100 * time.Millisecond)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/liquidity", w.operator(), liquidity("054", 9, "wh-r2"), nil)
	waitFor(t, w, func() bool { _, g := s.snapshot(); return len(g) >= 2 })
	time.Sleep(300 * time.Millisecond)
	if _, g := s.snapshot(); len(g) != 2 {
		t.Errorf("receiver got %d deliveries, want 2 (one per event)", len(g))
	}
}

func pgxConnect(t *testing.T) (*pgx.Conn, error) {
	return pgx.Connect(context.Background(), pgtest.URL(t))
}

// Found by the review (fixed; kept as a regression test): the simulated clock is saved only after a whole advance; a server killed in the middle of a long
// advance restarts at the time before it, although jobs up to some later time already ran (and told the
// banks): the clock reads earlier than runs it has recorded, and events are stamped in its future.
func TestAdvKilledMidAdvanceClockResumesAfterFiredJobs(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	home := t.TempDir()
	cmd, url := startChild(t, schema, home, "1404/02/01 05:00")
	defer cmd.Process.Kill()
	keys, err := server.LoadKeys(home+"/keys.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		body := strings.NewReader(`{"by":"744h"}`)
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/operator/clock/advance", body)
		req.Header.Set("Authorization", "Bearer "+keys.Operator)
		req.Header.Set("Content-Type", "application/json")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	ctx := context.Background()
	for i := 0; ; i++ {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM job_runs").Scan(&n)
		if n >= 40 {
			break
		}
		if i > 2000 {
			t.Fatal("the advance fired nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	var last time.Time
	if err := pool.QueryRow(ctx, "SELECT max(scheduled_at) FROM job_runs").Scan(&last); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, pool: pool, cfg: server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Seed: 7, Customers: testCustomers, Log: testLog()}}
	w.open()
	defer func() { w.audit(); w.srv.Close() }()
	var c api.ClockInfo
	w.must(http.StatusOK, http.MethodGet, "/v1/clock", keys.Operator, nil, &c)
	if c.Now.Before(last) {
		t.Errorf("after the kill the clock reads %s, before the last job run it recorded (%s)", tehran(c.Now), tehran(last))
	}
}
