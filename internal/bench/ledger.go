// Package bench holds the load generators behind `tasvieh bench`: they drive the production adapters from
// outside, so that no benchmark code ships inside an adapter.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// BenchOptions shapes `tasvieh bench ledger`.
type BenchOptions struct {
	Duration         time.Duration // per throughput phase: each naive worker count and each saturation run
	LatencyDuration  time.Duration // the open-loop latency phase, which always includes a checkpoint
	Accounts         int           // customer accounts transfers move between
	NaiveWorkers     []int         // concurrency levels tried for the naive strategy; the best is reported
	Callers          int           // concurrent callers driving the batched writer with one transfer per request
	MultiCallers     int           // concurrent callers driving it with RequestTransfers transfers per request
	RequestTransfers int           // k: transfers per request in the headline saturation phase
	OfferedPerSec    int           // the open-loop rate for the latency measurement
	Log              *slog.Logger
	Progress         func(format string, args ...any)
}

// Defaults of the ledger bench.
const (
	// LatencyDurationDefault is the minimum for the latency phase: long enough to hold a checkpoint
	// and the writes around it, not a quiet window between two.
	LatencyDurationDefault = 60 * time.Second
	// RequestTransfersDefault is k, the transfers one caller submits per request at saturation: a card
	// switch's or a SATNA/PAYA member's submission carries many (the API's own bound is
	// postgres.RequestTransfersMax). 128, from a sweep on this machine kind, three runs each back to back (README,
	// "Measured figures"): k = 64 gave 112,000–141,000 transfers/s, k = 128 126,000–153,000, the writes growing
	// from some 6,500 to 13,000–14,000 transfers.
	RequestTransfersDefault = 128
	// MultiCallersDefault keeps about 32,000 transfers in flight at k = 128, some two write transactions' worth
	// at the writer's measured batch sizes: enough to saturate it, few enough to leave the CPU to PostgreSQL.
	MultiCallersDefault = 256
)

// DefaultBenchOptions are the figures the README reports.
func DefaultBenchOptions() BenchOptions {
	return BenchOptions{
		Duration:         5 * time.Second,
		LatencyDuration:  LatencyDurationDefault,
		Accounts:         1_000,
		NaiveWorkers:     []int{1, 4, 16, 32},
		Callers:          6_000,
		MultiCallers:     MultiCallersDefault,
		RequestTransfers: RequestTransfersDefault,
		OfferedPerSec:    5_000,
	}
}

// BenchResult is what `tasvieh bench ledger --json` prints. The headline saturation (batched_per_s, ratio) is
// with k transfers per request; the one-transfer-per-request figures are beside it. The naive strategy is one
// transfer per database transaction either way.
type BenchResult struct {
	NaivePerSec            float64 `json:"naive_per_s"`
	NaiveWorkers           int     `json:"naive_workers"`
	BatchedPerSec          float64 `json:"batched_per_s"`
	TransfersPerRequest    int     `json:"transfers_per_request"`
	MultiCallers           int     `json:"callers"`
	Ratio                  float64 `json:"ratio"`
	MeanBatch              float64 `json:"mean_batch_at_saturation"`
	OnePerRequestPerSec    float64 `json:"batched_one_per_request_per_s"`
	OnePerRequestCallers   int     `json:"one_per_request_callers"`
	RatioOnePerRequest     float64 `json:"ratio_one_per_request"`
	MeanBatchOnePerRequest float64 `json:"mean_batch_one_per_request"`
	P50MsAt5000            float64 `json:"p50_ms_at_5000"`
	P99MsAt5000            float64 `json:"p99_ms_at_5000"`
	P999MsAt5000           float64 `json:"p999_ms_at_5000"`
	MaxMsAt5000            float64 `json:"max_ms_at_5000"`
	P99MsAroundCheckpoint  float64 `json:"p99_ms_around_checkpoint"` // requests due from the CHECKPOINT until 5 s after it ended
	OfferedPerSec          int     `json:"offered_per_s"`
	AchievedPerSec         float64 `json:"achieved_per_s_at_offered"`
	LatencySeconds         float64 `json:"latency_phase_s"`
	CheckpointAtSeconds    float64 `json:"checkpoint_at_s"` // when the phase's CHECKPOINT was issued, from the phase's start
	CheckpointMs           float64 `json:"checkpoint_ms"`   // how long that CHECKPOINT took
	CheckpointsBefore      int64   `json:"checkpoints_before"`
	CheckpointsAfter       int64   `json:"checkpoints_after"` // pg_stat_bgwriter: checkpoints_timed + checkpoints_req
	AuditClean             bool    `json:"audit_clean"`
	TransfersStored        int64   `json:"transfers_stored"`
}

// benchAmount is small against the funding so no transfer fails for want of balance.
const (
	benchAmount  = 1_000
	benchFunding = 1_000_000_000_000
	// checkpointWindow is how long after a checkpoint ends its effects (full-page images, the flushed pages'
	// I/O) are counted in p99_ms_around_checkpoint.
	checkpointWindow = 5 * time.Second
)

// BenchLedger measures, on one fresh schema of one database: the naive strategy (one database transaction per
// transfer, several worker counts, the best reported), the batched writer at saturation (one transfer per
// request, then k per request), and the batched writer's latency at a fixed offered rate over a phase with a
// CHECKPOINT issued in its middle. It ends with the audit, which must be clean.
func BenchLedger(ctx context.Context, pool *pgxpool.Pool, o BenchOptions) (BenchResult, error) {
	var res BenchResult
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	accounts, err := benchSetup(ctx, pool, o.Accounts)
	if err != nil {
		return res, err
	}

	for _, n := range o.NaiveWorkers {
		rate, err := benchNaive(ctx, pool, accounts, n, o.Duration)
		if err != nil {
			return res, fmt.Errorf("naive, %d workers: %w", n, err)
		}
		progress("naive: %d workers, %.0f transfers/s", n, rate)
		if rate > res.NaivePerSec {
			res.NaivePerSec, res.NaiveWorkers = rate, n
		}
	}

	store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall, Log: log})
	if err != nil {
		return res, err
	}
	defer store.Close()
	saturate := func(callers, k int) (rate, meanBatch float64, err error) {
		before := store.Stats()
		rate, err = benchSaturate(ctx, store, accounts, callers, k, o.Duration)
		if st := store.Stats(); st.Batches > before.Batches {
			meanBatch = float64(st.Transfers-before.Transfers) / float64(st.Batches-before.Batches)
		}
		return rate, meanBatch, err
	}
	res.OnePerRequestCallers = o.Callers
	if res.OnePerRequestPerSec, res.MeanBatchOnePerRequest, err = saturate(o.Callers, 1); err != nil {
		return res, err
	}
	progress("batched, 1 transfer per request: %d callers, %.0f transfers/s, mean batch %.0f", o.Callers,
		res.OnePerRequestPerSec, res.MeanBatchOnePerRequest)
	res.TransfersPerRequest, res.MultiCallers = o.RequestTransfers, o.MultiCallers
	if res.BatchedPerSec, res.MeanBatch, err = saturate(o.MultiCallers, o.RequestTransfers); err != nil {
		return res, err
	}
	progress("batched, %d transfers per request: %d callers, %.0f transfers/s, mean batch %.0f", o.RequestTransfers,
		o.MultiCallers, res.BatchedPerSec, res.MeanBatch)
	if res.NaivePerSec > 0 {
		res.Ratio = res.BatchedPerSec / res.NaivePerSec
		res.RatioOnePerRequest = res.OnePerRequestPerSec / res.NaivePerSec
	}

	res.OfferedPerSec = o.OfferedPerSec
	lr, err := benchLatency(ctx, pool, store, accounts, o.OfferedPerSec, o.LatencyDuration)
	if err != nil {
		return res, err
	}
	store.Close()
	res.P50MsAt5000 = percentileMs(lr.lat, 0.50)
	res.P99MsAt5000 = percentileMs(lr.lat, 0.99)
	res.P999MsAt5000 = percentileMs(lr.lat, 0.999)
	res.MaxMsAt5000 = percentileMs(lr.lat, 1)
	res.P99MsAroundCheckpoint = percentileMs(lr.aroundCheckpoint, 0.99)
	res.AchievedPerSec, res.LatencySeconds = lr.achieved, lr.seconds
	res.CheckpointAtSeconds, res.CheckpointMs = lr.checkpointAt.Seconds(), float64(lr.checkpointTook)/float64(time.Millisecond)
	res.CheckpointsBefore, res.CheckpointsAfter = lr.checkpointsBefore, lr.checkpointsAfter
	progress("batched at %d/s offered for %.0f s: p50 %.2f ms, p99 %.2f ms (around the checkpoint %.2f ms), checkpoints %d -> %d",
		o.OfferedPerSec, lr.seconds, res.P50MsAt5000, res.P99MsAt5000, res.P99MsAroundCheckpoint, lr.checkpointsBefore, lr.checkpointsAfter)

	rep, err := postgres.Audit(ctx, pool)
	if err != nil {
		return res, err
	}
	res.AuditClean = rep.Clean()
	res.TransfersStored = rep.Transfers
	if !rep.Clean() {
		return res, fmt.Errorf("audit after bench:\n%s", rep)
	}
	return res, nil
}

// benchSetup creates an issuance account and n customer accounts that must not go negative, each funded.
func benchSetup(ctx context.Context, pool *pgxpool.Pool, n int) ([]ledger.ID, error) {
	store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	issuance := NewID()
	accts := []ledger.Account{{ID: issuance, Ledger: ledger.LedgerCBI, Kind: ledger.KindIssuance,
		Flags: ledger.FlagNegativeAllowed, Name: "bench issuance"}}
	ids := make([]ledger.ID, n)
	for i := range ids {
		ids[i] = NewID()
		accts = append(accts, ledger.Account{ID: ids[i], Ledger: ledger.LedgerCBI, Kind: ledger.KindCustomer,
			Name: fmt.Sprintf("bench %d", i)})
	}
	if _, err := store.CreateAccounts(ctx, accts); err != nil {
		return nil, err
	}
	funding := make([]ledger.Transfer, n)
	for i, id := range ids {
		funding[i] = ledger.Transfer{ID: NewID(), DebitAccountID: issuance, CreditAccountID: id, Amount: benchFunding,
			Ledger: ledger.LedgerCBI, Code: 1, Reference: "bench funding"}
	}
	for len(funding) > 0 {
		chunk := funding[:min(len(funding), postgres.RequestTransfersMax)]
		funding = funding[len(chunk):]
		results, err := store.Submit(ctx, postgres.Submission{Transfers: chunk})
		if err != nil {
			return nil, err
		}
		for i, r := range results {
			if r != ledger.OK {
				return nil, fmt.Errorf("bench funding %d: %v", i, r)
			}
		}
	}
	return ids, nil
}

// benchNaive runs workers that each commit one database transaction per transfer, locking the two accounts in
// a fixed order (so they cannot deadlock), checking the balance in SQL, and inserting the transfer row.
func benchNaive(ctx context.Context, pool *pgxpool.Pool, accounts []ledger.ID, workers int, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := wall.Now().Add(d)
	var wg sync.WaitGroup
	start := wall.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for wall.Now().Before(deadline) {
				from, to := pickPair(rng, accounts)
				if err := naiveTransfer(ctx, pool, from, to, benchAmount); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}(uint64(w))
	}
	wg.Wait()
	return float64(done.Load()) / wall.Now().Sub(start).Seconds(), firstErr
}

var errNaiveShort = errors.New("naive: exceeds balance")

func naiveTransfer(ctx context.Context, pool *pgxpool.Pool, from, to ledger.ID, amount int64) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		first, second := from, to
		if string(second[:]) < string(first[:]) {
			first, second = second, first
		}
		if _, err := tx.Exec(ctx, "SELECT 1 FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE", pgUUID(first), pgUUID(second)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE accounts SET debits_posted = debits_posted + $2
			WHERE id = $1 AND credits_posted - debits_posted - debits_pending >= $2`, pgUUID(from), amount)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errNaiveShort
		}
		if _, err := tx.Exec(ctx, "UPDATE accounts SET credits_posted = credits_posted + $2 WHERE id = $1", pgUUID(to), amount); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, reference, ts)
			VALUES ($1, $2, $3, $4, $5, 1, 0, 'bench naive', $6)`, pgUUID(NewID()), pgUUID(from), pgUUID(to), amount,
			int32(ledger.LedgerCBI), wall.Now().UnixNano())
		return err
	})
}

// benchSaturate keeps `callers` goroutines submitting requests of k transfers each, back to back, for d.
func benchSaturate(ctx context.Context, store *postgres.Store, accounts []ledger.ID, callers, k int, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := wall.Now().Add(d)
	var wg sync.WaitGroup
	start := wall.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 11))
			t := make([]ledger.Transfer, k)
			for wall.Now().Before(deadline) {
				for i := range t {
					from, to := pickPair(rng, accounts)
					t[i] = ledger.Transfer{ID: NewID(), DebitAccountID: from, CreditAccountID: to, Amount: benchAmount,
						Ledger: ledger.LedgerCBI, Code: 1}
				}
				r, err := store.Submit(ctx, postgres.Submission{Transfers: t})
				if err == nil {
					for i := range r {
						if r[i] != ledger.OK {
							err = fmt.Errorf("transfer %d of a request: %v", i, r[i])
							break
						}
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(int64(k))
			}
		}(uint64(c))
	}
	wg.Wait()
	return float64(done.Load()) / wall.Now().Sub(start).Seconds(), firstErr
}

// latencyRun is what the open-loop phase measured.
type latencyRun struct {
	lat, aroundCheckpoint               []time.Duration
	achieved, seconds                   float64
	checkpointAt, checkpointTook        time.Duration
	checkpointsBefore, checkpointsAfter int64
}

// benchLatency runs the open loop for d with a CHECKPOINT issued from another connection halfway through, so
// that the phase holds a checkpoint and the writes that follow it (their full-page images) rather than a quiet
// window between two; the server's own checkpoint count before and after proves it ran.
func benchLatency(ctx context.Context, pool *pgxpool.Pool, store *postgres.Store, accounts []ledger.ID, rate int, d time.Duration) (latencyRun, error) {
	var lr latencyRun
	var err error
	if lr.checkpointsBefore, err = checkpointCount(ctx, pool); err != nil {
		return lr, err
	}
	start := wall.Now()
	ckErr := make(chan error, 1)
	var ckFrom, ckTo time.Time
	go func() {
		<-wall.NewTimer(d / 2).C()
		ckFrom = wall.Now()
		_, err := pool.Exec(ctx, "CHECKPOINT")
		ckTo = wall.Now()
		ckErr <- err
	}()
	lat, due, achieved, err := benchOpenLoop(ctx, store, accounts, rate, start, d)
	if cerr := <-ckErr; err == nil && cerr != nil {
		err = fmt.Errorf("checkpoint: %w", cerr)
	}
	if err != nil {
		return lr, err
	}
	lr.seconds = wall.Now().Sub(start).Seconds()
	if lr.checkpointsAfter, err = checkpointCount(ctx, pool); err != nil {
		return lr, err
	}
	lr.lat, lr.achieved = lat, achieved
	lr.checkpointAt, lr.checkpointTook = ckFrom.Sub(start), ckTo.Sub(ckFrom)
	for i, at := range due {
		if !at.Before(ckFrom) && at.Before(ckTo.Add(checkpointWindow)) {
			lr.aroundCheckpoint = append(lr.aroundCheckpoint, lat[i])
		}
	}
	return lr, nil
}

// checkpointCount is the server's count of checkpoints done, timed and requested (PostgreSQL 15's
// pg_stat_bgwriter; 17 moved them to pg_stat_checkpointer).
func checkpointCount(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	if err := pool.QueryRow(ctx, "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter").Scan(&n); err != nil {
		return 0, fmt.Errorf("checkpoint count: %w", err)
	}
	return n, nil
}

// benchOpenLoop offers `rate` single-transfer requests per second from start for d, each on its own goroutine
// at its scheduled moment (so a slow answer never delays the next request: no coordinated omission), and
// records each latency from its scheduled moment to its answer, with that moment.
func benchOpenLoop(ctx context.Context, store *postgres.Store, accounts []ledger.ID, rate int, start time.Time, d time.Duration) ([]time.Duration, []time.Time, float64, error) {
	n := int(d.Seconds() * float64(rate))
	lat := make([]time.Duration, n)
	due := make([]time.Time, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(3, 5))
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := at.Sub(wall.Now()); wait > 0 {
			<-wall.NewTimer(wait).C()
		}
		from, to := pickPair(rng, accounts)
		due[i] = at
		wg.Add(1)
		go func(i int, at time.Time) {
			defer wg.Done()
			r, err := store.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{{ID: NewID(), DebitAccountID: from,
				CreditAccountID: to, Amount: benchAmount, Ledger: ledger.LedgerCBI, Code: 1}}})
			lat[i] = wall.Now().Sub(at)
			if err == nil && r[0] != ledger.OK {
				err = fmt.Errorf("transfer: %v", r[0])
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}(i, at)
	}
	wg.Wait()
	achieved := float64(n) / wall.Now().Sub(start).Seconds()
	select {
	case err := <-errs:
		return nil, nil, 0, err
	default:
	}
	return lat, due, achieved, nil
}

func pickPair(rng *rand.Rand, accounts []ledger.ID) (ledger.ID, ledger.ID) {
	i := rng.IntN(len(accounts))
	j := rng.IntN(len(accounts) - 1)
	if j >= i {
		j++
	}
	return accounts[i], accounts[j]
}

func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

// wall is the benchmark's clock: the real one, through the injected interface like everything else. It
// times the phases, and the store's batches run on it too.
var wall = clock.Real()

// idSource mints the benchmark's ids on the same clock as the store.
var idSource = ids.NewRandomSource(wall)

// NewID returns a time-ordered (version 7) UUID as a ledger id, so that stored rows are keyed in time order.
func NewID() ledger.ID { return ledger.ID(idSource.New()) }

func pgUUID(id ledger.ID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }
