package webhook

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tasvieh/tasvieh/clock"
)

// Defaults and limits of a Deliverer's Config.
const (
	// BackoffMinDefault is the wait before the second attempt: a receiver that dropped one request is
	// usually back within a second.
	BackoffMinDefault = time.Second
	// BackoffMaxDefault caps the wait between attempts: a receiver that is down for longer is asked every
	// five minutes, not ever more rarely.
	BackoffMaxDefault = 5 * time.Minute
	// AttemptsMaxDefault is how many attempts a delivery gets before it is failed. From BackoffMinDefault
	// doubling to BackoffMaxDefault, 20 attempts make 19 waits of 1+2+...+256 s, then 10 of 5 min: 3,511 s
	// before jitter, so a receiver down for 30 to 60 minutes still gets every event. An outage longer than
	// that is what the bank's cursor feed (GET /v1/events) and Retry are for; reaching a day with 20
	// attempts would need a cap of about two hours.
	AttemptsMaxDefault = 20
	// AttemptsMaxLimit bounds Config.AttemptsMax: every attempt is a row in the attempt log.
	AttemptsMaxLimit = 1000
	// TimeoutDefault bounds one attempt, from connecting to the end of the answer's headers: a receiver
	// acknowledges and does its work afterwards, so ten seconds is generous.
	TimeoutDefault = 10 * time.Second
	// PollDefault is how often the deliverer looks for new events and due retries without being kicked:
	// half a second keeps a missed Kick cheap and unnoticed.
	PollDefault = 500 * time.Millisecond
	// BatchMaxDefault bounds one round's Enqueue and Due: 100 attempts in flight at most, shared among banks.
	BatchMaxDefault = 100
	// BatchMaxLimit is the store's own bound on a batch (postgres.WebhookBatchMax).
	BatchMaxLimit = 1000
	// ResponseBytesMax bounds what is read of a delivery's answer (and thrown away, so that the connection
	// can be reused): an acknowledgement is a status line; 64 KiB covers any error page.
	ResponseBytesMax = 64 << 10
	// deadlinesMax bounds the retry and pause times a Deliverer remembers for its clock timer; past it the
	// poll still finds what falls due.
	deadlinesMax = 4096
)

// ErrConfig is wrapped by every error NewDeliverer returns.
var ErrConfig = errors.New("webhook: invalid deliverer config")

// errTimeout is the cause of an attempt cancelled at Config.Timeout.
var errTimeout = errors.New("webhook: attempt timed out")

// Config configures a Deliverer. Zero durations and counts take the defaults above.
type Config struct {
	Store Store
	// Clock is the business clock, simulated or real: when deliveries are due, when an attempt is made, when
	// it is retried. Required.
	Clock clock.Clock
	// Wall is the network's clock (clock.Real() when nil): the signed timestamp, which a receiver checks
	// against its own clock, the per-attempt Timeout, the Poll, and the pause after a store failure. It is a
	// clock of its own because the business clock may be simulated and stand still, or leap a day: a
	// timestamp from it would be stale to every receiver, and a poll or a timeout on it would never come.
	Wall clock.Clock
	// Client makes the requests (a client of its own when nil). Its CheckRedirect is replaced: a delivery
	// never follows a redirect, a 3xx is a failed attempt.
	Client *http.Client
	// Log receives a line per failed attempt and round (discarded when nil).
	Log         *slog.Logger
	BackoffMin  time.Duration // the wait after the first failed attempt, doubling after each
	BackoffMax  time.Duration // the longest wait
	AttemptsMax int           // attempts before a delivery is failed
	Timeout     time.Duration // one attempt, on Wall
	Poll        time.Duration // the wait between rounds when nothing kicks, on Wall
	BatchMax    int           // deliveries enqueued and attempted per round
}

// Deliverer sends the banks' notifications to their webhook endpoints, signed, at least once: it moves
// events into deliveries (Store.Enqueue), POSTs what is due and records each attempt, retrying with
// exponential backoff and deterministic jitter until a 2xx answer or AttemptsMax.
//
// Each round hands the due deliveries of every bank not already being served to a goroutine of that bank,
// which sends them in order, one at a time, and does not wait for the others: a round never waits for a
// bank, so a slow one delays only itself. A bank whose attempt fails gets no more requests until that
// attempt's retry is due, so a bank that is down is asked about once per backoff, not once per waiting event.
type Deliverer struct {
	cfg     Config
	wall    clock.Clock
	client  *http.Client
	log     *slog.Logger
	kick    chan struct{}
	running atomic.Bool

	mu        sync.Mutex
	busy      map[string]bool      // banks whose goroutine is sending
	pauses    map[string]time.Time // bank → when its pause after a failed attempt ends, on Clock
	deadlines timeHeap             // retry and pause ends still ahead, on Clock
	failed    error                // a bank goroutine's store failure, reported by the next round
	banks     sync.WaitGroup       // the bank goroutines, waited for when Run ends
}

// NewDeliverer checks cfg, fills in its defaults and returns a Deliverer ready to Run.
func NewDeliverer(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: no Store", ErrConfig)
	}
	if cfg.Clock == nil {
		return nil, fmt.Errorf("%w: no Clock", ErrConfig)
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"BackoffMin", &cfg.BackoffMin, BackoffMinDefault}, {"BackoffMax", &cfg.BackoffMax, BackoffMaxDefault},
		{"Timeout", &cfg.Timeout, TimeoutDefault}, {"Poll", &cfg.Poll, PollDefault}} {
		if *f.v < 0 {
			return nil, fmt.Errorf("%w: %s %v is negative", ErrConfig, f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		return nil, fmt.Errorf("%w: BackoffMax %v is below BackoffMin %v", ErrConfig, cfg.BackoffMax, cfg.BackoffMin)
	}
	for _, f := range []struct {
		name     string
		v        *int
		def, max int
	}{{"AttemptsMax", &cfg.AttemptsMax, AttemptsMaxDefault, AttemptsMaxLimit}, {"BatchMax", &cfg.BatchMax, BatchMaxDefault, BatchMaxLimit}} {
		if *f.v < 0 || *f.v > f.max {
			return nil, fmt.Errorf("%w: %s %d: want 1..%d", ErrConfig, f.name, *f.v, f.max)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	d := &Deliverer{cfg: cfg, wall: cfg.Wall, log: cfg.Log, kick: make(chan struct{}, 1), pauses: map[string]time.Time{},
		busy: map[string]bool{}}
	if d.wall == nil {
		d.wall = clock.Real()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "webhook.deliverer")
	d.client = noRedirects(cfg.Client)
	return d, nil
}

// noRedirects returns a copy of c (a new client when nil) that never follows a redirect: following one would
// turn a POST into a GET, or send the signed body somewhere the bank did not register.
func noRedirects(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// Kick wakes Run at once instead of at its next poll: call it after committing notifications or after a
// Retry. It never blocks; kicks that come while a round runs merge into one more round.
func (d *Deliverer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done, then returns nil; it returns an error only when another Run of the same
// Deliverer is going on. A round enqueues new events and sends what is due; the next round comes at once when
// a round was full and moved something, else on a Kick, on the Poll of the Wall clock, or when the business
// Clock reaches the earliest retry this Deliverer scheduled (a timer on Clock, so a simulated clock that is
// advanced wakes it). The poll is on the Wall clock because a simulated clock may stand still: new events
// must go out all the same, and a retry that fell due while the clock was moved is found within a Poll even
// when its time was not remembered (after a restart, or past deadlinesMax). After a store failure the
// Deliverer waits BackoffMin, doubling to BackoffMax, on the Wall clock, and logs each failure.
//
// Delivery is at least once: an attempt is recorded after its answer, so a stop between the two sends the
// delivery again, with the same event and delivery ids. A stop during an attempt records nothing.
func (d *Deliverer) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhook: deliverer already running")
	}
	defer d.running.Store(false)
	defer d.banks.Wait() // an attempt in flight ends (ctx is done) before Run returns
	poll := d.wall.NewTimer(d.cfg.Poll)
	defer poll.Stop()
	var wake clock.Timer
	defer func() {
		if wake != nil {
			wake.Stop()
		}
	}()
	failures := 0
	for {
		again, err := d.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		pause := d.cfg.Poll
		if err != nil {
			failures++
			pause = exponential(d.cfg.BackoffMin, d.cfg.BackoffMax, failures)
			d.log.Warn("webhook round failed; trying again", "err", err, "failures", failures, "pause", pause)
		} else {
			if failures > 0 {
				d.log.Info("webhook rounds recovered", "failures", failures)
				failures = 0
			}
			if again {
				continue
			}
		}
		// After a store failure only the pause ends the wait: a deadline already passed must not turn it
		// into an immediate round.
		var wakeC <-chan time.Time
		d.mu.Lock()
		next, has := time.Time{}, len(d.deadlines) > 0
		if has {
			next = d.deadlines[0]
		}
		d.mu.Unlock()
		if err == nil && has {
			now := d.cfg.Clock.Now()
			if !next.After(now) {
				continue // fell due during the round
			}
			if wake == nil {
				wake = d.cfg.Clock.NewTimer(next.Sub(now))
			} else {
				wake.Reset(next.Sub(now))
			}
			wakeC = wake.C()
		}
		poll.Reset(pause)
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
		case <-poll.C():
		case <-wakeC:
		}
	}
}

// bankResult is what one bank's part of a round did.
type bankResult struct {
	delivered int
	deadlines []time.Time // retry times, and the end of a pause
	pauseTill time.Time   // zero: not paused
	err       error       // a store failure
}

// round enqueues, takes what is due and hands each idle bank its part. again reports that there may be more
// to enqueue at once; a bank's goroutine kicks the loop when it is done.
func (d *Deliverer) round(ctx context.Context) (again bool, err error) {
	now := d.cfg.Clock.Now()
	d.mu.Lock()
	for len(d.deadlines) > 0 && !d.deadlines[0].After(now) {
		heap.Pop(&d.deadlines) // due now: Due below returns what it was for
	}
	failed := d.failed
	d.failed = nil
	d.mu.Unlock()
	if failed != nil {
		return false, failed
	}
	enqueued, err := d.cfg.Store.Enqueue(ctx, now, d.cfg.BatchMax)
	if err != nil {
		return false, fmt.Errorf("webhook: enqueue: %w", err)
	}
	due, err := d.cfg.Store.Due(ctx, now, d.cfg.BatchMax)
	if err != nil {
		return false, fmt.Errorf("webhook: due: %w", err)
	}
	if len(due) > d.cfg.BatchMax {
		return false, fmt.Errorf("webhook: due: store returned %d deliveries, asked for at most %d", len(due), d.cfg.BatchMax)
	}
	// One group per bank, in the order the store gave, leaving out the banks still paused or being served.
	var banks []string
	groups := map[string][]Delivery{}
	skipped := map[string]bool{}
	d.mu.Lock()
	for _, del := range due {
		if skipped[del.Bank] {
			continue
		}
		if _, seen := groups[del.Bank]; !seen {
			if till, paused := d.pauses[del.Bank]; d.busy[del.Bank] || paused && now.Before(till) {
				skipped[del.Bank] = true
				continue
			}
			delete(d.pauses, del.Bank)
			banks = append(banks, del.Bank)
			d.busy[del.Bank] = true
		}
		groups[del.Bank] = append(groups[del.Bank], del)
	}
	d.mu.Unlock()
	for _, bank := range banks {
		d.banks.Go(func() {
			r := d.deliverBank(ctx, groups[bank])
			d.mu.Lock()
			delete(d.busy, bank)
			if !r.pauseTill.IsZero() {
				d.pauses[bank] = r.pauseTill
			}
			for _, t := range r.deadlines {
				if len(d.deadlines) < deadlinesMax {
					heap.Push(&d.deadlines, t)
				}
			}
			if r.err != nil && d.failed == nil {
				d.failed = r.err
			}
			d.mu.Unlock()
			d.Kick() // what the bank left due, or its next events, go at once
		})
	}
	return enqueued == d.cfg.BatchMax, nil
}

// deliverBank attempts one bank's due deliveries in order, and stops at its first failed attempt.
func (d *Deliverer) deliverBank(ctx context.Context, ds []Delivery) (r bankResult) {
	for _, del := range ds {
		a, sent := d.attempt(ctx, del)
		if ctx.Err() != nil {
			return r // stopping: the delivery stays due and goes again after a restart
		}
		if err := d.cfg.Store.Record(ctx, del.ID, a); err != nil {
			r.err = fmt.Errorf("webhook: record attempt %d at delivery %d: %w", del.Attempts+1, del.ID, err)
			return r
		}
		log := d.log.With("bank", del.Bank, "delivery_id", del.ID, "event_id", del.EventID, "attempt", del.Attempts+1)
		switch a.Outcome {
		case StatusDelivered:
			r.delivered++
			log.Debug("webhook delivered", "status", a.StatusCode, "duration", a.Duration)
			continue
		case OutcomeRetry:
			r.deadlines = append(r.deadlines, a.NextAt)
			log.Info("webhook attempt failed; will retry", "status", a.StatusCode, "err", a.Error, "next_at", a.NextAt)
		default:
			log.Warn("webhook delivery failed", "status", a.StatusCode, "err", a.Error)
		}
		if sent {
			// The endpoint failed: leave the bank alone until this attempt's retry would be due.
			r.pauseTill = a.NextAt
			if a.Outcome != OutcomeRetry {
				r.pauseTill = a.At.Add(backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, del.ID, del.Attempts+1))
			}
			r.deadlines = append(r.deadlines, r.pauseTill)
			return r
		}
	}
	return r
}

// attempt makes one attempt at del and returns its outcome; sent is false when no request could be made
// for a reason of tasvieh's own (an event that is not JSON), which says nothing about the endpoint.
func (d *Deliverer) attempt(ctx context.Context, del Delivery) (a Attempt, sent bool) {
	n := del.Attempts + 1
	a.At = d.cfg.Clock.Now()
	body, err := envelope(del)
	if err != nil {
		a.Outcome, a.Error = StatusFailed, err.Error()
		return a, false
	}
	start := d.wall.Now()
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := d.wall.AfterFunc(d.cfg.Timeout, func() { cancel(errTimeout) })
	defer timer.Stop()
	a.StatusCode, a.Error = d.post(actx, del, body, start)
	if a.Error != "" && errors.Is(context.Cause(actx), errTimeout) {
		a.Error = fmt.Sprintf("no answer within %v", d.cfg.Timeout)
	}
	a.Duration = max(d.wall.Now().Sub(start), 0)
	switch {
	case a.Error == "":
		a.Outcome = StatusDelivered
	case n >= d.cfg.AttemptsMax:
		a.Outcome = StatusFailed
	default:
		a.Outcome = OutcomeRetry
		a.NextAt = d.cfg.Clock.Now().Add(backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, del.ID, n))
	}
	return a, true
}

// post sends one signed request and returns the answer's status, and the attempt's error ("" for a 2xx).
func (d *Deliverer) post(ctx context.Context, del Delivery, body []byte, ts time.Time) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Sprintf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEventID, del.EventID)
	req.Header.Set(HeaderEventType, del.EventType)
	req.Header.Set(HeaderDeliveryID, strconv.FormatInt(del.ID, 10))
	SignHeader(req.Header, del.Secret, ts, body)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	// Read (a bounded part of) the answer so that the connection can carry the next request.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, ResponseBytesMax))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Sprintf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, ""
}

// userAgent names the sender to receivers' logs.
const userAgent = "tasvieh-webhook/1"

// body is what a delivery POSTs: the event's identity, type and time around its own JSON.
type body struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// envelope makes the body of del, with the event's JSON as "data", unchanged but for insignificant space.
func envelope(del Delivery) ([]byte, error) {
	if !json.Valid(del.Payload) {
		return nil, fmt.Errorf("event %s: payload is not valid JSON", del.EventID)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep the payload's text as written: no \u003c for <
	if err := enc.Encode(body{ID: del.EventID, Type: del.EventType, CreatedAt: del.EventCreatedAt.UTC(), Data: del.Payload}); err != nil {
		return nil, fmt.Errorf("event %s: %w", del.EventID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// exponential is lo × 2^(n-1), capped at hi.
func exponential(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	if d > hi || d <= 0 {
		return hi
	}
	return d
}

// backoff is the wait after failed attempt n of delivery id: exponential from lo, capped at hi, with
// "equal jitter" — the upper half of the step drawn from a hash of (id, n) — so that the retries of many
// deliveries that failed together spread out, while a replay of the same run waits exactly the same.
func backoff(lo, hi time.Duration, id int64, n int) time.Duration {
	base := exponential(lo, hi, n)
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	h.Write(b[:])
	half := base / 2
	return half + time.Duration(h.Sum64()%uint64(base-half+1))
}

// timeHeap is a min-heap of times, for the earliest deadline.
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
