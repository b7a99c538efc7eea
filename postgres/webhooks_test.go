package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/postgres"
)

var webhookNow = time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC)

var secretText = regexp.MustCompile(`^[0-9a-f]{64}$`)

func newWebhooks(t *testing.T) (*pgxpool.Pool, *postgres.Webhooks) {
	pool, _ := pgtest.Schema(t)
	return pool, postgres.NewWebhooks(pool)
}

func mustSet(t *testing.T, w *postgres.Webhooks, bank, url string, rotate bool) string {
	t.Helper()
	secret, err := w.Set(context.Background(), bank, url, rotate, webhookNow)
	if err != nil {
		t.Fatalf("Set(%s, %s): %v", bank, url, err)
	}
	return secret
}

func notify(t *testing.T, pool *pgxpool.Pool, bank string) notice {
	t.Helper()
	return insertNotice(t, context.Background(), pool, postgres.TopicNotifications, bank, fmt.Sprintf(`{"bank":%q}`, bank))
}

func deliveries(t *testing.T, w *postgres.Webhooks, bank string) []postgres.WebhookDelivery {
	t.Helper()
	ds, err := w.Deliveries(context.Background(), bank, 0, postgres.WebhookPageMax)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func deliveredSeqs(ds []postgres.WebhookDelivery) []int64 {
	seqs := make([]int64, len(ds))
	for i, d := range ds {
		seqs[i] = d.EventSeq
	}
	slices.Sort(seqs)
	return seqs
}

func TestWebhooksSetCreatesSecretOnceAndOnRotate(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	before := notify(t, pool, "017")

	first := mustSet(t, w, "017", "https://bank.example/hook", false)
	if !secretText.MatchString(first) {
		t.Fatalf("first secret %q: want 64 lower-case hex digits", first)
	}
	e, found, err := w.Endpoint(ctx, "017")
	if err != nil || !found {
		t.Fatalf("Endpoint: found %v, err %v", found, err)
	}
	if e.URL != "https://bank.example/hook" || e.Secret != first || e.FromSeq != before.seq || e.Bank != "017" {
		t.Errorf("endpoint: got %+v, want url, first secret and from seq %d", e, before.seq)
	}

	if got := mustSet(t, w, "017", "https://bank.example/v2", false); got != "" {
		t.Errorf("changing the url: got secret %q, want none", got)
	}
	e, _, _ = w.Endpoint(ctx, "017")
	if e.URL != "https://bank.example/v2" || e.Secret != first || e.FromSeq != before.seq {
		t.Errorf("after the url change: got %+v, want the new url, the same secret and from seq", e)
	}

	rotated := mustSet(t, w, "017", "https://bank.example/v2", true)
	if !secretText.MatchString(rotated) || rotated == first {
		t.Errorf("rotated secret %q: want a new 64-digit hex secret", rotated)
	}
	e, _, _ = w.Endpoint(ctx, "017")
	if e.Secret != rotated || e.FromSeq != before.seq {
		t.Errorf("after rotating: got secret %q from seq %d, want %q from %d", e.Secret, e.FromSeq, rotated, before.seq)
	}

	if _, found, err := w.Endpoint(ctx, "012"); found || err != nil {
		t.Errorf("bank without an endpoint: found %v, err %v", found, err)
	}
}

func TestWebhooksSetRefusesInvalidArguments(t *testing.T) {
	_, w := newWebhooks(t)
	for _, tc := range []struct{ name, bank, url string }{
		{"short bank", "17", "https://x.example/"},
		{"long bank", "0170", "https://x.example/"},
		{"letters", "o17", "https://x.example/"},
		{"empty url", "017", ""},
		{"long url", "017", "https://x.example/" + strings.Repeat("a", postgres.WebhookURLBytesMax)},
		{"nul in url", "017", "https://x.example/\x00"},
		{"invalid utf-8", "017", "https://x.example/\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.Set(context.Background(), tc.bank, tc.url, false, webhookNow)
			if !errors.Is(err, postgres.ErrWebhookInvalid) {
				t.Errorf("got %v, want ErrWebhookInvalid", err)
			}
		})
	}
	url := "https://x.example/" + strings.Repeat("a", postgres.WebhookURLBytesMax-len("https://x.example/"))
	if _, err := w.Set(context.Background(), "017", url, false, webhookNow); err != nil {
		t.Errorf("url of exactly %d bytes: %v", postgres.WebhookURLBytesMax, err)
	}
}

// TestWebhooksEnqueueStartsAfterRegistrationOnce: notifications from before the registration, for another
// bank or on another topic are not delivered; the rest are, each once, however often Enqueue runs, even
// from a cursor put back.
func TestWebhooksEnqueueStartsAfterRegistrationOnce(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	notify(t, pool, "017") // before the registration
	mustSet(t, w, "017", "https://bank.example/hook", false)
	a := notify(t, pool, "017")
	notify(t, pool, "012") // no endpoint
	insertNotice(t, ctx, pool, "paya.credit", "017", `{}`)
	b := notify(t, pool, "017")

	for i, want := range []int{2, 0} {
		n, err := w.Enqueue(ctx, webhookNow, postgres.WebhookBatchMax)
		if err != nil || n != want {
			t.Fatalf("Enqueue %d: got %d, %v; want %d", i+1, n, err, want)
		}
	}
	if _, err := pool.Exec(ctx, "UPDATE webhook_endpoints SET cursor_seq = from_seq"); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Enqueue(ctx, webhookNow, postgres.WebhookBatchMax); err != nil || n != 0 {
		t.Fatalf("Enqueue from a cursor put back: got %d, %v; want 0 (each delivery once)", n, err)
	}
	ds := deliveries(t, w, "017")
	if got, want := fmt.Sprint(deliveredSeqs(ds)), fmt.Sprint([]int64{a.seq, b.seq}); got != want {
		t.Fatalf("delivered seqs: got %s, want %s", got, want)
	}
	for _, d := range ds {
		if d.Status != postgres.WebhookPending || d.Attempts != 0 || !d.NextAt.Equal(webhookNow) || d.Payload != nil || d.Secret != "" || d.URL != "" {
			t.Errorf("fresh delivery in the log: got %+v, want pending, due now, no attempts, no payload, url or secret", d)
		}
	}
	if ds[0].EventID != a.id || ds[0].EventType != a.typ || !ds[0].EventCreatedAt.Equal(a.created) {
		t.Errorf("first delivery's event: got %s %s %v, want %s %s %v", ds[0].EventID, ds[0].EventType, ds[0].EventCreatedAt, a.id, a.typ, a.created)
	}
}

// TestWebhooksEnqueueLimitTakesTheOldestPrefix: with a small limit, calls take the oldest notifications
// across banks, and each bank's cursor skips none of its own.
func TestWebhooksEnqueueLimitTakesTheOldestPrefix(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	mustSet(t, w, "017", "https://a.example/", false)
	mustSet(t, w, "012", "https://b.example/", false)
	var all []int64
	want := map[string][]int64{}
	for i := range 7 {
		bank := []string{"017", "012", "017"}[i%3]
		n := notify(t, pool, bank)
		all = append(all, n.seq)
		want[bank] = append(want[bank], n.seq)
	}
	var counts []int
	for range 6 {
		n, err := w.Enqueue(ctx, webhookNow, 2)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, n)
		got := append(deliveredSeqs(deliveries(t, w, "017")), deliveredSeqs(deliveries(t, w, "012"))...)
		slices.Sort(got)
		total := 0
		for _, c := range counts {
			total += c
		}
		if fmt.Sprint(got) != fmt.Sprint(all[:total]) {
			t.Fatalf("after %v: enqueued seqs %v, want the %d oldest %v", counts, got, total, all[:total])
		}
	}
	if fmt.Sprint(counts) != fmt.Sprint([]int{2, 2, 2, 1, 0, 0}) {
		t.Errorf("counts: got %v, want [2 2 2 1 0 0]", counts)
	}
	for bank, seqs := range want {
		if got := deliveredSeqs(deliveries(t, w, bank)); fmt.Sprint(got) != fmt.Sprint(seqs) {
			t.Errorf("bank %s: got %v, want %v", bank, got, seqs)
		}
	}
}

// TestWebhooksAcceptanceSequence drives the store through the webhook acceptance case: a receiver that
// answers 500 three times, then 200. The delivery log shows one delivery, four attempts, delivered.
func TestWebhooksAcceptanceSequence(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	secret := mustSet(t, w, "017", "https://bank.example/hook", false)
	ev := notify(t, pool, "017")
	if n, err := w.Enqueue(ctx, webhookNow, 10); err != nil || n != 1 {
		t.Fatalf("Enqueue: got %d, %v; want 1", n, err)
	}
	now := webhookNow
	codes := []int{500, 500, 500, 200}
	for i, code := range codes {
		due, err := w.Due(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 1 {
			t.Fatalf("attempt %d: %d due, want 1", i+1, len(due))
		}
		d := due[0]
		if d.EventID != ev.id || d.EventType != ev.typ || string(d.Payload) != ev.payload || d.URL != "https://bank.example/hook" ||
			d.Secret != secret || d.Bank != "017" || d.Attempts != i || d.Status != postgres.WebhookPending || !d.EventCreatedAt.Equal(ev.created) {
			t.Fatalf("attempt %d: due %+v, want the event, the endpoint and %d attempts", i+1, d, i)
		}
		a := postgres.WebhookAttempt{At: now, StatusCode: code, Duration: time.Duration(i+1) * 3 * time.Millisecond}
		if code == 200 {
			a.Outcome = postgres.WebhookDelivered
		} else {
			a.Outcome, a.NextAt, a.Error = postgres.WebhookRetry, now.Add(time.Duration(1<<i)*time.Second), fmt.Sprintf("status %d", code)
		}
		if err := w.Record(ctx, d.ID, a); err != nil {
			t.Fatal(err)
		}
		if code != 200 {
			if early, err := w.Due(ctx, a.NextAt.Add(-time.Millisecond), 10); err != nil || len(early) != 0 {
				t.Fatalf("attempt %d: before its retry time: got %d due, %v; want none", i+1, len(early), err)
			}
			now = a.NextAt
		}
	}
	if due, err := w.Due(ctx, now.Add(24*time.Hour), 10); err != nil || len(due) != 0 {
		t.Fatalf("after delivery: got %d due, %v; want none", len(due), err)
	}
	ds := deliveries(t, w, "017")
	if len(ds) != 1 {
		t.Fatalf("log: got %d deliveries, want 1", len(ds))
	}
	if d := ds[0]; d.Status != postgres.WebhookDelivered || d.Attempts != 4 || d.LastStatus != 200 || d.LastError != "" || !d.DeliveredAt.Equal(now) {
		t.Errorf("log: got %+v, want delivered at %v after 4 attempts, last status 200", d, now)
	}
	log, found, err := w.Attempts(ctx, "017", ds[0].ID)
	if err != nil || !found {
		t.Fatalf("Attempts: found %v, err %v", found, err)
	}
	var got []string
	for _, a := range log {
		got = append(got, fmt.Sprintf("%d:%s:%d:%q:%v", a.N, a.Outcome, a.StatusCode, a.Error, a.Duration))
	}
	want := []string{`1:retry:500:"status 500":3ms`, `2:retry:500:"status 500":6ms`, `3:retry:500:"status 500":9ms`, `4:delivered:200:"":12ms`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attempt log:\n got %v\nwant %v", got, want)
	}
	if _, found, err := w.Attempts(ctx, "012", ds[0].ID); found || err != nil {
		t.Errorf("another bank's attempt log: found %v, err %v; want not found", found, err)
	}
}

// TestWebhooksDueSharesBatchAcrossBanks: a bank's backlog does not keep another bank's due delivery out.
func TestWebhooksDueSharesBatchAcrossBanks(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	mustSet(t, w, "017", "https://a.example/", false)
	mustSet(t, w, "012", "https://b.example/", false)
	for range 5 {
		notify(t, pool, "017")
	}
	notify(t, pool, "012")
	if n, err := w.Enqueue(ctx, webhookNow, 100); err != nil || n != 6 {
		t.Fatalf("Enqueue: got %d, %v; want 6", n, err)
	}
	due, err := w.Due(ctx, webhookNow, 2)
	if err != nil {
		t.Fatal(err)
	}
	var banks []string
	for _, d := range due {
		banks = append(banks, d.Bank)
	}
	slices.Sort(banks)
	if fmt.Sprint(banks) != "[012 017]" {
		t.Errorf("a batch of 2: got banks %v, want one of each", banks)
	}
	all, err := w.Due(ctx, webhookNow, 100)
	if err != nil || len(all) != 6 {
		t.Fatalf("Due(100): got %d, %v; want 6", len(all), err)
	}
	if all[0].Bank == all[1].Bank {
		t.Errorf("Due(100) starts with %s, %s: want the banks interleaved", all[0].Bank, all[1].Bank)
	}
}

func TestWebhooksRetry(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	mustSet(t, w, "017", "https://a.example/", false)
	mustSet(t, w, "012", "https://b.example/", false)
	notify(t, pool, "017")
	if _, err := w.Enqueue(ctx, webhookNow, 10); err != nil {
		t.Fatal(err)
	}
	id := deliveries(t, w, "017")[0].ID
	if err := w.Record(ctx, id, postgres.WebhookAttempt{At: webhookNow, Outcome: postgres.WebhookFailed, StatusCode: 503, Error: "status 503"}); err != nil {
		t.Fatal(err)
	}
	later := webhookNow.Add(time.Hour)
	if due, _ := w.Due(ctx, later, 10); len(due) != 0 {
		t.Fatalf("a failed delivery is due: %+v", due)
	}

	for _, tc := range []struct {
		name string
		bank string
		id   int64
		want bool
	}{
		{"another bank's delivery", "012", id, false},
		{"unknown delivery", "017", id + 1000, false},
		{"the bank's own", "017", id, true},
	} {
		got, err := w.Retry(ctx, tc.bank, tc.id, later)
		if err != nil || got != tc.want {
			t.Errorf("%s: Retry got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	due, err := w.Due(ctx, later, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("after Retry: got %d due, %v; want 1", len(due), err)
	}
	if d := due[0]; d.ID != id || d.Status != postgres.WebhookPending || d.Attempts != 1 || !d.NextAt.Equal(later) {
		t.Errorf("after Retry: got %+v, want pending, due %v, its 1 attempt kept", d, later)
	}
	if _, err := w.Retry(ctx, "012", id, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if due, _ := w.Due(ctx, later, 10); len(due) != 1 {
		t.Errorf("another bank's Retry moved the delivery: %d due at %v, want 1", len(due), later)
	}
}

func TestWebhooksRecordRefusesInvalidAttempts(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	mustSet(t, w, "017", "https://a.example/", false)
	notify(t, pool, "017")
	if _, err := w.Enqueue(ctx, webhookNow, 10); err != nil {
		t.Fatal(err)
	}
	id := deliveries(t, w, "017")[0].ID
	ok := postgres.WebhookAttempt{At: webhookNow, Outcome: postgres.WebhookRetry, NextAt: webhookNow.Add(time.Second), StatusCode: 500}
	for _, tc := range []struct {
		name string
		id   int64
		edit func(*postgres.WebhookAttempt)
		want error
	}{
		{"unknown outcome", id, func(a *postgres.WebhookAttempt) { a.Outcome = "pending" }, postgres.ErrWebhookInvalid},
		{"zero time", id, func(a *postgres.WebhookAttempt) { a.At = time.Time{} }, postgres.ErrWebhookInvalid},
		{"retry without a time", id, func(a *postgres.WebhookAttempt) { a.NextAt = time.Time{} }, postgres.ErrWebhookInvalid},
		{"negative status", id, func(a *postgres.WebhookAttempt) { a.StatusCode = -1 }, postgres.ErrWebhookInvalid},
		{"status above 999", id, func(a *postgres.WebhookAttempt) { a.StatusCode = 1000 }, postgres.ErrWebhookInvalid},
		{"negative duration", id, func(a *postgres.WebhookAttempt) { a.Duration = -time.Second }, postgres.ErrWebhookInvalid},
		{"unknown delivery", id + 1000, func(*postgres.WebhookAttempt) {}, postgres.ErrWebhookUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.edit(&a)
			if err := w.Record(ctx, tc.id, a); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if d := deliveries(t, w, "017")[0]; d.Attempts != 0 {
		t.Errorf("refused attempts were counted: %d attempts", d.Attempts)
	}

	// An error text is stored valid, without NUL bytes, and cut at a character boundary.
	a := ok
	a.Error = "bad\x00\xffbyte " + strings.Repeat("ش", postgres.WebhookErrorBytesMax)
	if err := w.Record(ctx, id, a); err != nil {
		t.Fatal(err)
	}
	d := deliveries(t, w, "017")[0]
	if len(d.LastError) > postgres.WebhookErrorBytesMax || !utf8.ValidString(d.LastError) || strings.ContainsRune(d.LastError, 0) ||
		!strings.HasPrefix(d.LastError, "bad\uFFFDbyte ش") {
		t.Errorf("stored error of %d bytes, valid %v, starting %q: want at most %d valid bytes without NUL",
			len(d.LastError), utf8.ValidString(d.LastError), d.LastError[:min(len(d.LastError), 16)], postgres.WebhookErrorBytesMax)
	}
}

func TestWebhooksLimits(t *testing.T) {
	_, w := newWebhooks(t)
	ctx := context.Background()
	for _, limit := range []int{0, -1, postgres.WebhookBatchMax + 1} {
		if _, err := w.Enqueue(ctx, webhookNow, limit); !errors.Is(err, postgres.ErrWebhookInvalid) {
			t.Errorf("Enqueue(%d): got %v, want ErrWebhookInvalid", limit, err)
		}
		if _, err := w.Due(ctx, webhookNow, limit); !errors.Is(err, postgres.ErrWebhookInvalid) {
			t.Errorf("Due(%d): got %v, want ErrWebhookInvalid", limit, err)
		}
	}
	for _, limit := range []int{0, postgres.WebhookPageMax + 1} {
		if _, err := w.Deliveries(ctx, "017", 0, limit); !errors.Is(err, postgres.ErrWebhookInvalid) {
			t.Errorf("Deliveries(%d): got %v, want ErrWebhookInvalid", limit, err)
		}
	}
}

func TestWebhooksDeliveriesPageByID(t *testing.T) {
	pool, w := newWebhooks(t)
	ctx := context.Background()
	mustSet(t, w, "017", "https://a.example/", false)
	for range 5 {
		notify(t, pool, "017")
	}
	if _, err := w.Enqueue(ctx, webhookNow, 10); err != nil {
		t.Fatal(err)
	}
	all := deliveries(t, w, "017")
	var walked []int64
	after := int64(0)
	for range 10 {
		page, err := w.Deliveries(ctx, "017", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			walked = append(walked, d.ID)
		}
		after = page[len(page)-1].ID
	}
	var want []int64
	for _, d := range all {
		want = append(want, d.ID)
	}
	if len(want) != 5 || fmt.Sprint(walked) != fmt.Sprint(want) {
		t.Errorf("paged walk: got %v, want %v (5 ids)", walked, want)
	}
	if other := deliveries(t, w, "012"); len(other) != 0 {
		t.Errorf("another bank's log: got %d deliveries, want none", len(other))
	}
}
