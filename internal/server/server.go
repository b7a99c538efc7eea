package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/kafka"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/scheduler"
	"github.com/tasvieh/tasvieh/webhook"
)

// Defaults of `tasvieh serve`.
const (
	AddrDefault = "127.0.0.1:8080"
	// FundingDefault is each bank's opening settlement balance: 1,000 billion rial (100 billion toman), well
	// above a day of the largest SATNA orders a test sends, and small enough that a withdrawal brings a bank to
	// zero in one call.
	FundingDefault int64 = 1_000_000_000_000
	// ReadTimeout bounds reading one request, headers and body: three times the API's body-read deadline.
	ReadTimeout = 3 * api.BodyReadTimeout
	// ShutdownTimeout bounds the drain on SIGINT/SIGTERM: the request deadline, so requests in flight finish.
	ShutdownTimeout = api.RequestTimeoutDefault
	// TopicNotifications carries every bank's notifications, keyed by bank code.
	TopicNotifications = "notifications"
)

// Config is everything a Server needs; cmd/tasvieh fills it from flags and the environment.
type Config struct {
	Pool         *pgxpool.Pool // migrated; the server's schema
	KafkaBrokers []string      // empty: the embedded broker
	Home         string        // keys.json and serve.json live here
	Addr         string        // default AddrDefault

	ClockMode clock.Mode // real or simulated
	Start     time.Time  // the simulated clock's start; zero: where it stood at the last run, or now
	Real      clock.Clock

	Seed        uint64
	Customers   int
	Rules       string // seed | 1400 | 1404 | dated
	Rulebook    *rulebook.Book
	FundingRial int64
	External    []string // banks played as external (under test) from the start

	Version       string
	Log           *slog.Logger
	WebhookClient *http.Client
}

// Server is `tasvieh serve`: the switch, the simulated banks and the API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	clk      *clock.Switch
	ids      *ids.Source
	store    *postgres.Store
	outbox   *postgres.Outbox
	runs     *postgres.JobRuns
	hooks    *postgres.Webhooks
	cal      *calendar.Calendar
	kafka    *kafka.Cluster
	relay    *kafka.Relay
	sched    *scheduler.Scheduler
	deliver  *webhook.Deliverer
	api      *api.Server
	keys     Keys
	world    *world
	satna    *satna
	paya     *paya
	mandates *mandates
	shahab   *shahabRail

	webhookClient *http.Client

	clearing  *clearing // the deferred rails' clearing positions
	netClaims netClaims // one SettleNets per set id at a time

	advanceMu   sync.Mutex // one clock move at a time
	liquidityMu sync.Mutex // one liquidity request at a time
	firedMu     sync.Mutex
	fired       *[]scheduler.Run // the runs of the move in progress, when one is

	http    *http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	url     string
	closeMu sync.Mutex
	closed  bool
	onClose []func()

	openHooks, closeHooks []DayHook // the rails' day open and close hooks, run by the day jobs
}

// Open brings the switch up to the point of serving: clock, store (restored), books laid out and funded, outbox
// republished, missed jobs caught up. Listen starts the HTTP side.
func Open(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Pool == nil {
		return nil, errors.New("server: no database")
	}
	if cfg.Addr == "" {
		cfg.Addr = AddrDefault
	}
	if cfg.Real == nil {
		cfg.Real = clock.Real()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rulebook == nil {
		cfg.Rulebook = rulebook.Default()
	}
	if cfg.Rules == "" {
		cfg.Rules = rulebook.DefaultName
	}
	if cfg.FundingRial == 0 {
		cfg.FundingRial = FundingDefault
	}
	if cfg.FundingRial < 0 || cfg.FundingRial > rulebook.AmountRialMax {
		return nil, fmt.Errorf("server: funding %d rial is outside 0..%d", cfg.FundingRial, rulebook.AmountRialMax)
	}
	if cfg.Customers == 0 {
		cfg.Customers = customersDefault
	}
	if cfg.Home == "" {
		cfg.Home = ".tasvieh"
	}
	s := &Server{cfg: cfg, log: cfg.Log, pool: cfg.Pool, cal: calendar.Default()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel

	s.runs = postgres.NewJobRuns(cfg.Pool)
	if err := s.openClock(ctx); err != nil {
		return nil, err
	}
	if _, err := s.profile(s.clk.Now()); err != nil {
		return nil, fmt.Errorf("server: --rules %s: %w", cfg.Rules, err)
	}
	s.ids = ids.NewRandomSource(s.clk)
	if s.store, err = postgres.OpenStore(ctx, cfg.Pool, postgres.Config{Clock: s.clk, Log: cfg.Log}); err != nil {
		return nil, err
	}
	s.outbox = postgres.NewOutbox(cfg.Pool)
	s.hooks = postgres.NewWebhooks(cfg.Pool)
	// The positions first: laying out a book brings its clearing accounts to them.
	if s.clearing, err = newClearing(ctx, s); err != nil {
		return nil, err
	}
	if s.world, err = openWorld(ctx, s); err != nil {
		return nil, err
	}
	if s.satna, err = newSATNA(ctx, s); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.satna.batcher(runCtx) }()
	if s.mandates, err = newMandates(ctx, s); err != nil {
		return nil, err
	}
	if s.paya, err = newPAYA(ctx, s); err != nil {
		return nil, err
	}
	if s.shahab, err = newShahab(ctx, runCtx, s); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.shahab.batcher(runCtx) }()
	if s.keys, err = LoadKeys(filepath.Join(cfg.Home, "keys.json"), s.world.memberCodes()); err != nil {
		return nil, err
	}

	// Kafka: the embedded broker keeps nothing, so every event goes out again (consumers deduplicate by id).
	if s.kafka, err = kafka.Start(ctx, kafka.Config{Brokers: cfg.KafkaBrokers,
		Topics: []string{TopicNotifications, postgres.ExpiryTopic, TopicPAYACredit, TopicPAYADebit}, Partitions: 8}, cfg.Log); err != nil {
		return nil, err
	}
	if s.kafka.Embedded() {
		n, err := s.outbox.ResetSent(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			s.log.Info("server: republishing the outbox to the embedded broker", "events", n)
		}
	}
	if s.relay, err = kafka.NewRelay(s.outbox, s.kafka.NewPublisher(), kafka.RelayConfig{Now: s.clk.Now}, cfg.Log); err != nil {
		return nil, err
	}
	s.goRun(runCtx, "relay", s.relay.Run)
	if err := s.paya.startConsumers(runCtx); err != nil {
		return nil, err
	}

	client := cfg.WebhookClient
	if client == nil {
		client = &http.Client{}
	}
	s.webhookClient = client
	if s.deliver, err = webhook.NewDeliverer(webhook.Config{Store: s.hooks, Clock: s.clk, Client: client, Log: cfg.Log}); err != nil {
		return nil, err
	}
	s.goRun(runCtx, "webhooks", s.deliver.Run)

	if s.sched, err = scheduler.New(scheduler.Config{Clock: s.clk, Calendar: s.cal, Runs: s.runs, Log: cfg.Log, OnRun: s.onRun}, s.jobs()...); err != nil {
		return nil, err
	}
	if err := s.sched.Start(runCtx); err != nil { // its runs live as long as the server, not as the opening
		return nil, err
	}
	// PAYA cycles a crash stopped half-way complete now, before anything else closes a later one.
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.paya.resume(runCtx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.shahab.resume(runCtx) }()
	return s, nil
}

// goRun runs a component's loop until the server closes, logging an unexpected end.
func (s *Server) goRun(ctx context.Context, name string, run func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("server: component stopped", "component", name, "err", err)
		}
	}()
}

// openClock makes the switch's clock. The simulated time is persisted, so a restart resumes where it stood
// (a later --start moves it on; an earlier one is refused: the clock never moves backwards).
func (s *Server) openClock(ctx context.Context) error {
	_, stood, ok, err := s.runs.LoadClock(ctx)
	if err != nil {
		return err
	}
	// A run recorded after the clock was last saved (a kill between the two) still moved time that far.
	if last, err := s.runs.Recent(ctx, 1); err != nil {
		return err
	} else if len(last) == 1 && last[0].Scheduled.After(stood) {
		stood, ok = last[0].Scheduled, true
	}
	real := s.cfg.Real.Now()
	start := s.cfg.Start
	switch {
	case s.cfg.ClockMode == clock.ModeReal && ok && stood.After(real):
		return fmt.Errorf("server: the simulated clock stood at %s, later than the real clock (%s): start with --clock simulated, "+
			"since time never moves backwards here", stood.In(calendar.Tehran).Format(time.RFC3339), real.In(calendar.Tehran).Format(time.RFC3339))
	case s.cfg.ClockMode == clock.ModeReal:
	case start.IsZero() && ok:
		start = stood
	case start.IsZero():
		start = real
	case ok && start.Before(stood):
		return fmt.Errorf("server: --start %s is before the simulated clock's last time %s: it never moves backwards",
			start.In(calendar.Tehran).Format(time.RFC3339), stood.In(calendar.Tehran).Format(time.RFC3339))
	}
	s.clk = clock.NewSwitch(s.cfg.Real, s.cfg.ClockMode, start.In(calendar.Tehran))
	return s.runs.SaveClock(ctx, string(s.clk.Mode()), s.clk.Now())
}

// Listen serves the API on cfg.Addr until Close, writes serve.json and returns the base URL.
func (s *Server) Listen() (string, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return "", fmt.Errorf("server: listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	if s.api, err = api.New(api.Config{Backend: backend{s}, Keys: s.principals(), URL: s.url, Version: s.cfg.Version, Log: s.log, Classify: classify}); err != nil {
		ln.Close()
		return "", err
	}
	api.RegisterSATNA(s.api, backend{s})
	api.RegisterNets(s.api, backend{s})
	api.RegisterPAYA(s.api, backend{s})
	api.RegisterShahab(s.api, backend{s})
	s.http = &http.Server{
		Handler:           s.api,
		ReadHeaderTimeout: 5 * time.Second, // a slow client cannot hold a connection open without a request
		// The whole request, body included: a body (at most 64 KiB here) that trickles or never comes cannot
		// hold a connection either — net/http itself reads what a handler left unread before it answers.
		ReadTimeout:    ReadTimeout,
		IdleTimeout:    2 * time.Minute, // keep-alive connections of a load generator stay up
		MaxHeaderBytes: 16 << 10,        // a bearer key and a few headers; far below the default 1 MiB
		WriteTimeout:   api.RequestTimeoutDefault + 5*time.Second,
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server: http", "err", err)
		}
	}()
	keys, _ := filepath.Abs(filepath.Join(s.cfg.Home, "keys.json"))
	if err := WriteServeFile(filepath.Join(s.cfg.Home, "serve.json"), ServeFile{URL: s.url,
		Keys: keys, Clock: string(s.clk.Mode()), PID: os.Getpid()}); err != nil {
		return s.url, err
	}
	return s.url, nil
}

// URL is the base URL the server listens on (after Listen).
func (s *Server) URL() string { return s.url }

// Keys returns keys.json's content.
func (s *Server) Keys() Keys { return s.keys }

// Clock returns the switch's clock.
func (s *Server) Clock() *clock.Switch { return s.clk }

// Store returns the ledger store (for the audit and tests).
func (s *Server) Store() *postgres.Store { return s.store }

func (s *Server) principals() map[string]api.Principal {
	m := map[string]api.Principal{s.keys.Operator: {Role: api.RoleOperator}}
	for code, k := range s.keys.Banks {
		m[k] = api.Principal{Role: api.RoleBank, Bank: code}
	}
	return m
}

// Close stops accepting requests, drains those in flight, stops the scheduler, the relay and the deliverer,
// and closes the store and the broker. A restart resumes exactly: everything that matters is in PostgreSQL.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.shahab != nil {
		s.shahab.stop() // card transfers waiting on the clock stay pending: the requests can end now
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		_ = s.http.Shutdown(ctx)
		cancel()
	}
	if s.sched != nil {
		s.sched.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.store != nil {
		s.store.Close()
	}
	if s.kafka != nil {
		_ = s.kafka.Close()
	}
	if s.clk != nil && s.clk.Mode() == clock.ModeSimulated {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.runs.SaveClock(ctx, string(s.clk.Mode()), s.clk.Now())
		cancel()
	}
	for _, f := range s.onClose {
		f()
	}
}

// Banner is the one line serve prints when ready.
func (s *Server) Banner() string {
	now := s.clk.Now().In(calendar.Tehran)
	return fmt.Sprintf("tasvieh serving %s — clock %s at %s (%s) — keys in %s", s.url, s.clk.Mode(),
		now.Format(time.RFC3339), jalaliOf(now), filepath.Join(s.cfg.Home, "keys.json"))
}

// jalaliOf shows a time as Jalali date and Tehran wall time, e.g. "1404/01/05 06:00".
func jalaliOf(t time.Time) string {
	t = t.In(calendar.Tehran)
	return fmt.Sprintf("%s %02d:%02d", calendar.DateOf(t).Jalali(), t.Hour(), t.Minute())
}

// OnClose runs f after the server has closed (cmd closes the database pool it opened).
func (s *Server) OnClose(f func()) {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.onClose = append(s.onClose, f)
}

// Pool returns the server's database pool (for the audit).
func (s *Server) Pool() *pgxpool.Pool { return s.pool }

// SubmitSATNA submits a SATNA order as bank would over the API (for the benchmark and the demo's callers in
// this process).
func (s *Server) SubmitSATNA(ctx context.Context, bank string, req api.SATNAOrderRequest) (api.SATNAOrder, bool, error) {
	return s.satna.SubmitOrder(ctx, bank, req)
}

// Customers answers a simulated bank's test customers with their balances (for the benchmark).
func (s *Server) Customers(ctx context.Context, bank string) (api.CustomerPage, error) {
	return backend{s}.Customers(ctx, bank, true, "", api.PageMax)
}

// Members lists the member banks' codes.
func (s *Server) Members() []string { return s.world.memberCodes() }
