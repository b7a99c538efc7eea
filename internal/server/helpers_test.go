package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// testCustomers keeps books small: every test lays out ~35 books.
const testCustomers = 12

// jalali parses a Jalali "YYYY/MM/DD HH:MM" Tehran time, failing the test when it cannot.
func jalali(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := server.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func testLog() *slog.Logger {
	level := slog.LevelError + 4
	if os.Getenv("TASVIEH_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// world is one test's switch: a server on a schema of its own, listening on loopback.
type world struct {
	t    *testing.T
	srv  *server.Server
	pool *pgxpool.Pool
	cfg  server.Config
	url  string
}

// boot starts a server on the simulated clock at start (Jalali, Tehran) with its own schema and home.
func boot(t *testing.T, start string, mod ...func(*server.Config)) *world {
	t.Helper()
	pool, _ := pgtest.Schema(t)
	cfg := server.Config{Pool: pool, Home: t.TempDir(), Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: jalali(t, start), Seed: 7, Customers: testCustomers, Log: testLog()}
	for _, m := range mod {
		m(&cfg)
	}
	w := &world{t: t, pool: pool, cfg: cfg}
	w.open()
	t.Cleanup(func() {
		if w.srv != nil {
			w.audit()
			w.srv.Close()
		}
	})
	return w
}

func (w *world) open() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := server.Open(ctx, w.cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	url, err := srv.Listen()
	if err != nil {
		srv.Close()
		w.t.Fatal(err)
	}
	w.srv, w.url = srv, url
}

// restart closes the server and opens it again on the same schema and home, with cfg changed by mod.
func (w *world) restart(mod ...func(*server.Config)) {
	w.t.Helper()
	w.srv.Close()
	w.srv = nil
	for _, m := range mod {
		m(&w.cfg)
	}
	w.open()
}

// audit fails the test unless the stored ledger and the books check out.
func (w *world) audit() {
	w.t.Helper()
	rep, err := postgres.Audit(context.Background(), w.pool)
	if err != nil {
		w.t.Fatal(err)
	}
	if !rep.Clean() {
		w.t.Errorf("audit:\n%s", rep)
	}
}

func (w *world) operator() string        { return w.srv.Keys().Operator }
func (w *world) bank(code string) string { return w.srv.Keys().Banks[code] }

// do sends a request with key (none when empty) and returns the status and body.
func (w *world) do(method, path, key string, body any) (int, []byte) {
	w.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.url+path, r)
	if err != nil {
		w.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.StatusCode, b
}

// must sends a request that must answer want, decoding the body into out (when not nil).
func (w *world) must(want int, method, path, key string, body, out any) {
	w.t.Helper()
	got, b := w.do(method, path, key, body)
	if got != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// tehran shows a time in Tehran, for messages.
func tehran(t time.Time) string { return t.In(calendar.Tehran).Format("2006-01-02 15:04 MST") }
