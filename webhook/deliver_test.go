package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/clock"
)

// testWait bounds every wait for something the deliverer does; each normally comes in milliseconds. Tests
// assert on what happened, never on how long it took.
const testWait = 20 * time.Second

var (
	businessStart = time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC)
	wallStart     = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testWait):
		t.Fatalf("no %s within %v", what, testWait)
		var zero T
		return zero
	}
}

// request is one request a receiver got.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a bank's endpoint on loopback: status answers the nth request (from 1); a nil block lets
// every request through at once, otherwise a request waits for block to close.
type receiver struct {
	srv    *httptest.Server
	status func(n int) int
	block  chan struct{}

	mu       sync.Mutex
	requests []request
	arrived  chan int // the number of each request, as it arrives
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status, arrived: make(chan int, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, request{req.Header.Clone(), body})
		n := len(r.requests)
		r.mu.Unlock()
		r.arrived <- n
		if r.block != nil {
			<-r.block
		}
		w.WriteHeader(r.status(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

// rig is one test's deliverer: a simulated business clock, a simulated wall clock (so that neither the
// poll nor a timeout comes unless the test moves it), a memStore.
type rig struct {
	biz, wall *clock.Simulated
	store     *memStore
	d         *Deliverer
}

func newRig(t *testing.T, edit func(*Config)) *rig {
	r := &rig{biz: clock.NewSimulated(businessStart), wall: clock.NewSimulated(wallStart), store: newMemStore()}
	cfg := Config{Store: r.store, Clock: r.biz, Wall: r.wall}
	if edit != nil {
		edit(&cfg)
	}
	d, err := NewDeliverer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	return r
}

// run starts Run and returns a function that stops it and waits for it; the test's end stops it too.
func (r *rig) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := recv(t, done, "return from Run"); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestDelivererAcceptance is the acceptance case: a receiver that answers 500 three times, then 200, gets
// the event exactly once after the retries, signed so that Verify accepts it; the store holds one delivery,
// delivered, after four attempts. Retries wake on the business clock's timer as the test moves it.
func TestDelivererAcceptance(t *testing.T) {
	recvr := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	r := newRig(t, nil)
	r.store.setEndpoint("017", recvr.srv.URL+"/hooks", testSecret)
	createdAt := businessStart.Add(-time.Minute)
	eventID := r.store.notify("017", "satna.order.settled", `{"order":"A-1","amount_rial":150000000}`, createdAt)
	stop := r.run(t)
	r.d.Kick()

	var log []Attempt
	for i := range 3 {
		a := recv(t, r.store.recorded, fmt.Sprintf("attempt %d", i+1))
		if a.Outcome != OutcomeRetry || a.StatusCode != 500 || !a.NextAt.After(r.biz.Now()) {
			t.Fatalf("attempt %d: got %+v, want a retry after status 500", i+1, a)
		}
		log = append(log, a)
		if err := r.biz.Set(a.NextAt); err != nil { // the retry falls due: the deliverer's timer fires
			t.Fatal(err)
		}
	}
	last := recv(t, r.store.recorded, "attempt 4")
	log = append(log, last)
	stop()

	reqs := recvr.got()
	successes := 0
	for i, req := range reqs {
		if recvr.status(i+1) == http.StatusOK {
			successes++
		}
		if err := Verify(testSecret, req.header, req.body, r.wall.Now(), 0); err != nil {
			t.Errorf("request %d: Verify: %v", i+1, err)
		}
		if got := req.header.Get(HeaderEventID); got != eventID {
			t.Errorf("request %d: %s %q, want %q", i+1, HeaderEventID, got, eventID)
		}
		if got := req.header.Get(HeaderDeliveryID); got != "1" {
			t.Errorf("request %d: %s %q, want 1 in every attempt", i+1, HeaderDeliveryID, got)
		}
		if got := req.header.Get(HeaderEventType); got != "satna.order.settled" {
			t.Errorf("request %d: %s %q", i+1, HeaderEventType, got)
		}
		var b struct {
			ID        string          `json:"id"`
			Type      string          `json:"type"`
			CreatedAt time.Time       `json:"created_at"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(req.body, &b); err != nil {
			t.Fatalf("request %d: body %s: %v", i+1, req.body, err)
		}
		if b.ID != eventID || b.Type != "satna.order.settled" || !b.CreatedAt.Equal(createdAt) || string(b.Data) != `{"order":"A-1","amount_rial":150000000}` {
			t.Errorf("request %d: body %s, want the event wrapped", i+1, req.body)
		}
	}
	if len(reqs) != 4 || successes != 1 {
		t.Errorf("receiver got %d requests, %d answered 200: want 4 and exactly 1", len(reqs), successes)
	}
	d, attempts := r.store.delivery(1)
	if d.Status != StatusDelivered || d.Attempts != 4 || d.LastStatus != 200 || len(attempts) != 4 {
		t.Errorf("delivery: got %+v with %d attempts logged, want delivered after 4", d, len(attempts))
	}
	if last.Outcome != StatusDelivered || last.Error != "" {
		t.Errorf("last attempt: got %+v, want delivered", last)
	}
	// Each wait is the backoff of its attempt: 1 s, 2 s, 4 s, with the upper half jittered.
	for i, a := range log[:3] {
		wait := a.NextAt.Sub(a.At)
		base := BackoffMinDefault << i
		if wait < base/2 || wait > base {
			t.Errorf("attempt %d: retry after %v, want %v..%v", i+1, wait, base/2, base)
		}
	}
}

// TestDelivererPollsWithAFrozenBusinessClock: with a simulated business clock that nobody moves and no Kick,
// a new event still goes out, found by the poll on the (real) wall clock.
func TestDelivererPollsWithAFrozenBusinessClock(t *testing.T) {
	recvr := newReceiver(t, func(int) int { return http.StatusNoContent })
	r := newRig(t, func(c *Config) { c.Wall, c.Poll = clock.Real(), time.Millisecond })
	r.store.setEndpoint("012", recvr.srv.URL, testSecret)
	r.run(t)
	id := r.store.notify("012", "paya.entry.credited", `{}`, businessStart)
	a := recv(t, r.store.recorded, "an attempt found by the poll")
	if a.Outcome != StatusDelivered {
		t.Fatalf("got %+v, want delivered", a)
	}
	if got := recvr.got()[0].header.Get(HeaderEventID); got != id {
		t.Errorf("delivered %s, want %s", got, id)
	}
}

func TestDelivererFailsAfterAttemptsMax(t *testing.T) {
	recvr := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	r := newRig(t, func(c *Config) { c.AttemptsMax = 3 })
	r.store.setEndpoint("017", recvr.srv.URL, testSecret)
	r.store.notify("017", "satna.order.settled", `{}`, businessStart)
	stop := r.run(t)
	r.d.Kick()
	var outcomes []string
	for i := range 3 {
		a := recv(t, r.store.recorded, fmt.Sprintf("attempt %d", i+1))
		outcomes = append(outcomes, a.Outcome)
		if a.Outcome == OutcomeRetry {
			if err := r.biz.Set(a.NextAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Far past any retry: a failed delivery is not attempted again.
	if err := r.biz.Advance(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	r.d.Kick()
	recv(t, r.store.rounds, "a round after the last attempt")
	r.d.Kick()
	recv(t, r.store.rounds, "a second round after the last attempt")
	stop()
	if fmt.Sprint(outcomes) != "[retry retry failed]" {
		t.Errorf("outcomes: got %v, want [retry retry failed]", outcomes)
	}
	d, _ := r.store.delivery(1)
	if d.Status != StatusFailed || d.Attempts != 3 || len(recvr.got()) != 3 {
		t.Errorf("got status %s after %d attempts, %d requests; want failed after 3", d.Status, d.Attempts, len(recvr.got()))
	}
}

// TestDelivererTimeout: a receiver that does not answer within Timeout (on the wall clock) is a failed
// attempt with no status, retried. The timeout is an hour that the simulated wall clock passes at once: only
// a timer on the injected wall clock can fire within the test.
func TestDelivererTimeout(t *testing.T) {
	recvr := newReceiver(t, func(int) int { return http.StatusOK })
	recvr.block = make(chan struct{})
	t.Cleanup(func() { close(recvr.block) }) // runs before the server's Close
	r := newRig(t, func(c *Config) { c.Timeout = time.Hour })
	r.store.setEndpoint("017", recvr.srv.URL, testSecret)
	r.store.notify("017", "satna.order.settled", `{}`, businessStart)
	r.run(t)
	r.d.Kick()
	recv(t, recvr.arrived, "the request")
	if err := r.wall.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	a := recv(t, r.store.recorded, "the timed-out attempt")
	if a.Outcome != OutcomeRetry || a.StatusCode != 0 || a.Error != "no answer within 1h0m0s" || a.Duration != time.Hour {
		t.Errorf("got %+v, want a retry with no status, error %q, duration 1h", a, "no answer within 1h0m0s")
	}
}

// TestDelivererResendsWhenRecordIsLost: an attempt whose outcome is not recorded (the process stopped
// between the POST and Record) is sent again, with the same event and delivery ids: at least once.
func TestDelivererResendsWhenRecordIsLost(t *testing.T) {
	recvr := newReceiver(t, func(int) int { return http.StatusOK })
	r := newRig(t, nil)
	r.store.failRecord = 1
	r.store.setEndpoint("017", recvr.srv.URL, testSecret)
	r.store.notify("017", "satna.order.settled", `{}`, businessStart)
	r.run(t)
	r.d.Kick()
	recv(t, r.store.failed, "the lost Record")
	r.d.Kick()
	a := recv(t, r.store.recorded, "the attempt after the lost one")
	reqs := recvr.got()
	if a.Outcome != StatusDelivered || len(reqs) != 2 {
		t.Fatalf("got %+v after %d requests, want delivered on the second", a, len(reqs))
	}
	for _, h := range []string{HeaderEventID, HeaderDeliveryID} {
		if reqs[0].header.Get(h) != reqs[1].header.Get(h) || reqs[0].header.Get(h) == "" {
			t.Errorf("%s: %q then %q, want the same", h, reqs[0].header.Get(h), reqs[1].header.Get(h))
		}
	}
	if d, _ := r.store.delivery(1); d.Attempts != 1 || d.Status != StatusDelivered {
		t.Errorf("got %+v, want delivered with the one recorded attempt", d)
	}
}

// TestDelivererSlowBankDoesNotHoldOthers: while bank 017's endpoint holds its request, bank 012's delivery
// in the same round goes through.
func TestDelivererSlowBankDoesNotHoldOthers(t *testing.T) {
	slow := newReceiver(t, func(int) int { return http.StatusOK })
	slow.block = make(chan struct{})
	t.Cleanup(func() { close(slow.block) })
	fast := newReceiver(t, func(int) int { return http.StatusOK })
	r := newRig(t, nil)
	r.store.setEndpoint("017", slow.srv.URL, testSecret)
	r.store.setEndpoint("012", fast.srv.URL, testSecret)
	r.store.notify("017", "satna.order.settled", `{}`, businessStart)
	r.store.notify("012", "satna.order.settled", `{}`, businessStart)
	r.run(t)
	r.d.Kick()
	recv(t, slow.arrived, "bank 017's request")
	a := recv(t, r.store.recorded, "bank 012's attempt")
	if a.Outcome != StatusDelivered || len(fast.got()) != 1 {
		t.Fatalf("got %+v, %d requests at 012, want 012 delivered while 017 waits", a, len(fast.got()))
	}
	if d, _ := r.store.delivery(1); d.Attempts != 0 {
		t.Errorf("bank 017's delivery: %d attempts recorded while its request is held, want 0", d.Attempts)
	}
}

// TestDelivererPausesAFailingBank: after a failed attempt, a bank gets no request for its other due events
// until that attempt's retry is due, however many rounds run meanwhile.
func TestDelivererPausesAFailingBank(t *testing.T) {
	recvr := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	r := newRig(t, nil)
	r.store.setEndpoint("017", recvr.srv.URL, testSecret)
	for i := range 5 {
		r.store.notify("017", "satna.order.settled", fmt.Sprintf(`{"n":%d}`, i), businessStart)
	}
	r.run(t)
	r.d.Kick()
	first := recv(t, r.store.recorded, "the first attempt")
	if first.Outcome != OutcomeRetry {
		t.Fatalf("first attempt: %+v, want a retry", first)
	}
	for range 3 {
		r.d.Kick()
		recv(t, r.store.rounds, "a round")
	}
	if n := len(recvr.got()); n != 1 {
		t.Fatalf("the paused bank got %d requests, want 1", n)
	}
	if err := r.biz.Set(first.NextAt); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if a := recv(t, r.store.recorded, fmt.Sprintf("attempt after the pause %d", i+1)); a.Outcome != StatusDelivered {
			t.Errorf("after the pause: %+v, want delivered", a)
		}
	}
	if n := len(recvr.got()); n != 6 {
		t.Errorf("got %d requests, want 6: the probe, its retry and the other 4", n)
	}
}

func TestDelivererDoesNotFollowRedirects(t *testing.T) {
	target := newReceiver(t, func(int) int { return http.StatusOK })
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	r := newRig(t, nil)
	r.store.setEndpoint("017", redirect.URL, testSecret)
	r.store.notify("017", "satna.order.settled", `{}`, businessStart)
	r.run(t)
	r.d.Kick()
	a := recv(t, r.store.recorded, "the attempt")
	if a.Outcome != OutcomeRetry || a.StatusCode != http.StatusTemporaryRedirect || len(target.got()) != 0 {
		t.Errorf("got %+v, %d requests at the target; want a retry with status 307 and none", a, len(target.got()))
	}
}

func TestDelivererFailsAnEventThatIsNotJSON(t *testing.T) {
	recvr := newReceiver(t, func(int) int { return http.StatusOK })
	r := newRig(t, nil)
	r.store.setEndpoint("017", recvr.srv.URL, testSecret)
	r.store.notify("017", "broken", `{"no":`, businessStart)
	r.store.notify("017", "satna.order.settled", `{}`, businessStart)
	r.run(t)
	r.d.Kick()
	a := recv(t, r.store.recorded, "the broken event's attempt")
	b := recv(t, r.store.recorded, "the next event's attempt")
	if a.Outcome != StatusFailed || a.StatusCode != 0 || b.Outcome != StatusDelivered || len(recvr.got()) != 1 {
		t.Errorf("got %+v then %+v with %d requests: want failed without a request, then the next delivered", a, b, len(recvr.got()))
	}
}

func TestDelivererRunsOnce(t *testing.T) {
	r := newRig(t, nil)
	r.run(t)
	r.d.Kick()
	recv(t, r.store.rounds, "a round") // the first Run is going
	if err := r.d.Run(context.Background()); err == nil {
		t.Error("a second Run at once: got nil, want an error")
	}
}

func TestNewDelivererConfig(t *testing.T) {
	base := func() Config { return Config{Store: newMemStore(), Clock: clock.NewSimulated(businessStart)} }
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no store", func(c *Config) { c.Store = nil }},
		{"no clock", func(c *Config) { c.Clock = nil }},
		{"negative backoff", func(c *Config) { c.BackoffMin = -time.Second }},
		{"max below min", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Minute, time.Second }},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }},
		{"negative poll", func(c *Config) { c.Poll = -1 }},
		{"negative attempts", func(c *Config) { c.AttemptsMax = -1 }},
		{"attempts above the limit", func(c *Config) { c.AttemptsMax = AttemptsMaxLimit + 1 }},
		{"batch above the store's", func(c *Config) { c.BatchMax = BatchMaxLimit + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			if _, err := NewDeliverer(c); !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want ErrConfig", err)
			}
		})
	}
	d, err := NewDeliverer(base())
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(d.cfg.BackoffMin, d.cfg.BackoffMax, d.cfg.AttemptsMax, d.cfg.Timeout, d.cfg.Poll, d.cfg.BatchMax)
	want := fmt.Sprint(BackoffMinDefault, BackoffMaxDefault, AttemptsMaxDefault, TimeoutDefault, PollDefault, BatchMaxDefault)
	if got != want || d.wall == nil || d.log == nil || d.client == nil {
		t.Errorf("defaults: got %s, want %s, with a wall clock, a log and a client", got, want)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		base time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second}, {10, 5 * time.Minute}, {20, 5 * time.Minute},
		{1000, 5 * time.Minute}} {
		if got := exponential(time.Second, 5*time.Minute, tc.n); got != tc.base {
			t.Errorf("exponential(%d): got %v, want %v", tc.n, got, tc.base)
		}
		spread := map[time.Duration]bool{}
		for id := int64(1); id <= 50; id++ {
			got := backoff(time.Second, 5*time.Minute, id, tc.n)
			if got < tc.base/2 || got > tc.base {
				t.Errorf("backoff(id %d, n %d): got %v, want %v..%v", id, tc.n, got, tc.base/2, tc.base)
			}
			if again := backoff(time.Second, 5*time.Minute, id, tc.n); again != got {
				t.Errorf("backoff(id %d, n %d): %v then %v, want the same (deterministic)", id, tc.n, got, again)
			}
			spread[got] = true
		}
		if len(spread) < 40 {
			t.Errorf("backoff(n %d) over 50 ids: %d distinct waits, want them spread", tc.n, len(spread))
		}
	}
	if got := exponential(time.Hour, time.Duration(1<<62), 200); got != time.Duration(1<<62) {
		t.Errorf("exponential overflowing: got %v, want the cap", got)
	}
}
