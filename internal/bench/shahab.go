package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// Limits and figures of `tasvieh bench shahab`.
const (
	// ShahabTransfersMax bounds the transfers of one phase: ten million is minutes at the targets,
	// and what the cards' daily limits and balances are checked against before the run.
	ShahabTransfersMax = 10_000_000
	// ShahabCallersMax bounds the engine phase's concurrent callers (goroutines in this process).
	ShahabCallersMax = 100_000
	// shahabAmountRial is every bench transfer's amount: small, so that each source card's daily limit (the
	// seed rulebook's 150,000,000 rial) and its opening balance cover thousands of transfers (checked before
	// the run, shahabCards).
	shahabAmountRial int64 = 10_000
	// shahabFeeRialMax is what the run assumes a transfer's fee may be at most when it funds the source
	// cards (every embedded profile's card fee is 7,200 rial, a simulator default).
	shahabFeeRialMax int64 = 10_000
	// shahabDailyLimitRial is the smallest card-to-card daily limit of the embedded profiles (100,000,000 rial
	// from 1400-10-25; 150,000,000 in seed): what each card's share of the run must stay within.
	shahabDailyLimitRial int64 = 100_000_000
)

// ShahabOptions shape `tasvieh bench shahab`.
type ShahabOptions struct {
	Transfers   int           // at most, per phase
	Duration    time.Duration // at most, per phase
	Callers     int           // engine phase: concurrent callers of the backend, in this process
	Connections int           // HTTP phase: keep-alive connections of the load generator
	Seed        uint64        // picks the destinations
}

// DefaultShahabOptions are the figures the README reports.
func DefaultShahabOptions() ShahabOptions {
	return ShahabOptions{Transfers: 1_000_000, Duration: 20 * time.Second, Callers: 4096, Connections: 256, Seed: 10}
}

// ShahabResult is what `tasvieh bench shahab --json` prints: the five figures first, then what
// explains them.
type ShahabResult struct {
	EnginePerSec    float64 `json:"engine_per_s"`      // interbank card transfers answered succeeded, per second, through the backend
	RowsPerTransfer float64 `json:"rows_per_transfer"` // rows written to PostgreSQL per succeeded transfer, in the engine phase
	HTTPPerSec      float64 `json:"http_per_s"`        // the same over HTTP on loopback
	HTTPP50Ms       float64 `json:"http_p50_ms"`
	HTTPP99Ms       float64 `json:"http_p99_ms"`

	EngineTransfers int     `json:"engine_transfers"` // succeeded in the engine phase
	EngineSeconds   float64 `json:"engine_seconds"`
	EngineP50Ms     float64 `json:"engine_p50_ms"` // a caller's wait for its answer: both decisions and the commit of each
	EngineP99Ms     float64 `json:"engine_p99_ms"`
	EngineErrors    int64   `json:"engine_errors"` // errors and answers other than succeeded
	HTTPTransfers   int     `json:"http_transfers"`
	HTTPSeconds     float64 `json:"http_seconds"`
	HTTPMaxMs       float64 `json:"http_max_ms"`
	HTTPErrors      int     `json:"http_errors"`
	// WriterBatches is the transactions the ledger's writer committed in the engine phase, and
	// TransfersPerBatch the ledger transfers each held on average (a card transfer is four).
	WriterBatches     int64   `json:"writer_batches"`
	TransfersPerBatch float64 `json:"transfers_per_writer_batch"`
	// RowsByTable is the engine phase's rows per succeeded transfer, by table (rows added; an update adds none).
	RowsByTable map[string]float64 `json:"rows_by_table"`
	Cards       int                `json:"cards"` // source cards, spread over every simulated bank
	Banks       int                `json:"banks"`
	Callers     int                `json:"callers"`
	Connections int                `json:"connections"`
	GOMAXPROCS  int                `json:"gomaxprocs"`
	CPUs        int                `json:"cpus"`
	// EngineCPU and HTTPCPU are how the machine's cores were used in each phase (/proc), nothing pinned.
	EngineCPU CPUSplit `json:"engine_cpu"`
	HTTPCPU   CPUSplit `json:"http_cpu"`
	// FirstError is the first error or unexpected answer, for the reader.
	FirstError string `json:"first_error,omitempty"`
}

// CPUSplit is a phase's use of the machine's cores, in cores busy on average (2.0 is both of two cores):
// this process (the switch and the load generator together), the PostgreSQL cluster's processes (every
// one of them: the cluster is shared, so other users' backends count too), and everything else.
type CPUSplit struct {
	Process  float64 `json:"process_cores"`
	Postgres float64 `json:"postgres_cores"`
	Other    float64 `json:"other_cores"`
	Idle     float64 `json:"idle_cores"`
	// Source is "proc", or why the split could not be read.
	Source string `json:"source"`
}

// shahabCard is a bench cardholder: an active, ordinary card of a simulated bank's active customer.
type shahabCard struct {
	bank string
	card api.CustomerCard
}

// Shahab measures SHAHAB's two-phase interbank card transfers on a running in-process server srv (simulated
// clock inside a business day, every bank simulated, online, no latency): first through the backend method
// the API's route calls, from opts.Callers goroutines, then over HTTP on loopback from opts.Connections
// keep-alive connections, closed loop. Each phase runs until opts.Transfers have been sent or
// opts.Duration has passed. Source card i%n pays a card of another bank: every card's share of the run is
// checked against its daily limit and balance first.
func Shahab(ctx context.Context, srv *server.Server, o ShahabOptions) (ShahabResult, error) {
	res := ShahabResult{Callers: o.Callers, Connections: o.Connections, GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: runtime.NumCPU()}
	switch {
	case o.Transfers < 1 || o.Transfers > ShahabTransfersMax:
		return res, fmt.Errorf("bench: shahab: transfers %d outside 1..%d", o.Transfers, ShahabTransfersMax)
	case o.Callers < 1 || o.Callers > ShahabCallersMax:
		return res, fmt.Errorf("bench: shahab: callers %d outside 1..%d", o.Callers, ShahabCallersMax)
	case o.Connections < 1 || o.Connections > LoadConnectionsMax:
		return res, fmt.Errorf("bench: shahab: connections %d outside 1..%d", o.Connections, LoadConnectionsMax)
	case o.Duration <= 0 || o.Duration > LoadDurationMax:
		return res, fmt.Errorf("bench: shahab: duration %s outside (0, %s]", o.Duration, LoadDurationMax)
	}
	cards, banks, err := shahabCards(ctx, srv, 2*o.Transfers)
	if err != nil {
		return res, err
	}
	res.Cards, res.Banks = len(cards), banks
	byBank := map[string][]shahabCard{}
	for _, c := range cards {
		byBank[c.bank] = append(byBank[c.bank], c)
	}
	var codes []string
	for b := range byBank {
		codes = append(codes, b)
	}
	sort.Strings(codes)
	// The n-th transfer of a phase: source card n%len(cards), to a card of another bank picked from the seed.
	request := func(phase string, n int) (string, api.ShahabTransferRequest) {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(n)))
		src := cards[n%len(cards)]
		dbank := codes[rng.IntN(len(codes))]
		for dbank == src.bank {
			dbank = codes[rng.IntN(len(codes))]
		}
		dsts := byBank[dbank]
		dst := dsts[rng.IntN(len(dsts))]
		return src.bank, api.ShahabTransferRequest{SourcePAN: src.card.PAN, DestinationPAN: dst.card.PAN, AmountRial: shahabAmountRial,
			Expiry: src.card.Expiry, CVV2: src.card.CVV2, PIN2: src.card.PIN2, Reference: phase + "-" + strconv.Itoa(n)}
	}
	var first atomic.Value
	note := func(s string) { first.CompareAndSwap(nil, s) }

	// Phase 1: the engine, through the backend.
	before, err := srv.StoredRowsByTable(ctx, server.ShahabTables)
	if err != nil {
		return res, err
	}
	cpu0, st0 := readCPU(), srv.Store().Stats()
	rctx, cancel := context.WithTimeout(ctx, o.Duration)
	var (
		seq   atomic.Int64
		errs  atomic.Int64
		mu    sync.Mutex
		lat   = make([]time.Duration, 0, min(o.Transfers, 1<<20))
		wg    sync.WaitGroup
		start = time.Now()
	)
	for range o.Callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rctx.Err() == nil {
				n := int(seq.Add(1) - 1)
				if n >= o.Transfers {
					return
				}
				bank, req := request("e", n)
				t0 := time.Now()
				t, _, err := srv.SubmitShahab(rctx, bank, req)
				d := time.Since(t0)
				switch {
				case err != nil:
					if rctx.Err() == nil {
						errs.Add(1)
						note(err.Error())
					}
				case t.Status != "succeeded":
					errs.Add(1)
					note(fmt.Sprintf("transfer %s: %s %s", req.Reference, t.Status, t.Code))
				default:
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	res.EngineCPU = readCPU().since(cpu0)
	if st := srv.Store().Stats(); st.Batches > st0.Batches {
		res.WriterBatches = st.Batches - st0.Batches
		res.TransfersPerBatch = float64(st.Transfers-st0.Transfers) / float64(res.WriterBatches)
	}
	res.EngineTransfers, res.EngineSeconds, res.EngineErrors = len(lat), elapsed.Seconds(), errs.Load()
	res.EnginePerSec = float64(len(lat)) / elapsed.Seconds()
	res.EngineP50Ms, res.EngineP99Ms, _ = percentiles(lat)
	after, err := srv.StoredRowsByTable(ctx, server.ShahabTables)
	if err != nil {
		return res, err
	}
	res.RowsByTable = map[string]float64{}
	if n := len(lat); n > 0 {
		var total int64
		for _, t := range server.ShahabTables {
			d := after[t] - before[t]
			total += d
			res.RowsByTable[t] = float64(d) / float64(n)
		}
		res.RowsPerTransfer = float64(total) / float64(n)
	}

	// Phase 2: over HTTP on loopback, the generator in this process with the switch.
	url, err := srv.Listen()
	if err != nil {
		return res, err
	}
	var keys []string
	for _, b := range codes {
		if k, ok := srv.Keys().Banks[b]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return res, errors.New("bench: shahab: no bank keys")
	}
	// Each connection sends as one bank (its key); the transfer's source card is the n-th's, whoever submits.
	cpu1 := readCPU()
	lr, err := LoadHTTP(ctx, LoadOptions{URL: url, Method: http.MethodPost, Path: "/v1/shahab/transfers", Keys: keys,
		Connections: o.Connections, Requests: o.Transfers, Duration: o.Duration,
		Body: func(n int) []byte {
			_, req := request("h", n)
			b, _ := json.Marshal(req)
			return b
		},
		OK: func(status int, body []byte) bool {
			if status == http.StatusCreated && bytes.Contains(body, []byte(`"status":"succeeded"`)) {
				return true
			}
			note(fmt.Sprintf("HTTP %d: %.200s", status, body))
			return false
		}})
	if err != nil {
		return res, err
	}
	res.HTTPCPU = readCPU().since(cpu1)
	res.HTTPPerSec, res.HTTPP50Ms, res.HTTPP99Ms, res.HTTPMaxMs = lr.PerSec, lr.P50Ms, lr.P99Ms, lr.MaxMs
	res.HTTPTransfers, res.HTTPSeconds, res.HTTPErrors = lr.Requests, lr.Seconds, lr.Errors
	if s, ok := first.Load().(string); ok {
		res.FirstError = s
	}
	return res, nil
}

// shahabCards gathers the source and destination cards of the run: every simulated bank's active
// customers' active, ordinary cards, one per customer. A run of transfers spread round-robin over them must
// leave each card inside the smallest daily limit — else more customers are needed, and the run says so
// rather than measure rejections — and within its balance: a customer holding less than its card's share
// (at the largest fee assumed) is funded for it first (server.BenchFundCustomer, inside its bank's book).
func shahabCards(ctx context.Context, srv *server.Server, transfers int) ([]shahabCard, int, error) {
	type short struct {
		bank, sheba string
		need        int64
	}
	var cards []shahabCard
	var balances []int64
	var sheba []string
	banks := 0
	for _, b := range srv.Members() {
		pg, err := srv.Customers(ctx, b)
		if err != nil {
			continue // an external bank has no directory
		}
		n := 0
		for _, c := range pg.Customers {
			if c.Status != "active" || c.Magic != "" || c.BalanceRial == nil {
				continue
			}
			for _, k := range c.Cards {
				if k.Status == "active" && k.Magic == "" {
					cards = append(cards, shahabCard{bank: b, card: k})
					balances, sheba = append(balances, *c.BalanceRial), append(sheba, c.SHEBA)
					n++
					break
				}
			}
		}
		if n > 0 {
			banks++
		}
	}
	if banks < 2 {
		return nil, 0, fmt.Errorf("bench: shahab: %d simulated banks with cardholders, want at least 2", banks)
	}
	each := int64((transfers + len(cards) - 1) / len(cards))
	if each*shahabAmountRial > shahabDailyLimitRial {
		return nil, 0, fmt.Errorf("bench: shahab: %d transfers over %d cards is %d a card: beyond a card's daily limit (%d rial)",
			transfers, len(cards), each, shahabDailyLimitRial)
	}
	need := each * (shahabAmountRial + shahabFeeRialMax)
	var shorts []short
	for i, c := range cards {
		if balances[i] < need {
			shorts = append(shorts, short{c.bank, sheba[i], need - balances[i]})
		}
	}
	// Funded concurrently, as callers of the writer: each one durable before the run starts.
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		ferr  error
		ferrM sync.Mutex
	)
	for range min(64, len(shorts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(shorts); i = int(next.Add(1) - 1) {
				s := shorts[i]
				if err := srv.BenchFundCustomer(ctx, s.bank, s.sheba, "bench shahab", s.need); err != nil {
					ferrM.Lock()
					ferr = errors.Join(ferr, err)
					ferrM.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return nil, 0, fmt.Errorf("bench: shahab: funding the cardholders: %w", ferr)
	}
	return cards, banks, nil
}

func percentiles(lat []time.Duration) (p50, p99, max float64) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
}

// cpuSample is the machine's and the processes' CPU time at one moment, in clock ticks.
type cpuSample struct {
	at                        time.Time
	total, idle, self, postgr int64
	err                       error
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture Go supports.
const clockTicks = 100

func readCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		s.err = err
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		s.err = errors.New("/proc/stat: no cpu line")
		return s
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i < 8 { // user nice system idle iowait irq softirq steal; guest is inside user
			s.total += n
		}
		if i == 3 || i == 4 {
			s.idle += n
		}
	}
	s.self = procTicks("/proc/self/stat")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		s.postgr += procTicks(filepath.Join("/proc", e.Name(), "stat"))
	}
	return s
}

// procTicks is a process's user and system time from its stat file (fields 14 and 15), 0 when unreadable.
func procTicks(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b[i+1:]))
	sc.Split(bufio.ScanWords)
	var t int64
	for k := 3; sc.Scan(); k++ {
		if k == 14 || k == 15 {
			n, _ := strconv.ParseInt(sc.Text(), 10, 64)
			t += n
		}
		if k > 15 {
			break
		}
	}
	return t
}

// since is the split of the cores between s0 and s, in cores busy on average. Postgres processes that
// started or ended in between count only their time at the ends they were seen: a lower bound.
func (s cpuSample) since(s0 cpuSample) CPUSplit {
	if s.err != nil || s0.err != nil {
		return CPUSplit{Source: fmt.Sprint("unreadable: ", errors.Join(s.err, s0.err))}
	}
	secs := s.at.Sub(s0.at).Seconds()
	if secs <= 0 {
		return CPUSplit{Source: "no time passed"}
	}
	cores := func(ticks int64) float64 { return float64(ticks) / clockTicks / secs }
	busy := cores(s.total - s.idle - (s0.total - s0.idle))
	out := CPUSplit{Process: cores(s.self - s0.self), Postgres: max(cores(s.postgr-s0.postgr), 0),
		Idle: cores(s.idle - s0.idle), Source: "proc"}
	out.Other = max(busy-out.Process-out.Postgres, 0)
	return out
}
