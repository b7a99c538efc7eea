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
	Duration      time.Duration // per measured phase
	Accounts      int           // customer accounts transfers move between
	NaiveWorkers  []int         // concurrency levels tried for the naive strategy; the best is reported
	Callers       int           // concurrent callers driving the batched writer at saturation
	OfferedPerSec int           // the open-loop rate for the latency measurement
	Log           *slog.Logger
	Progress      func(format string, args ...any)
}

// DefaultBenchOptions are the figures the README reports.
func DefaultBenchOptions() BenchOptions {
	return BenchOptions{
		Duration:      5 * time.Second,
		Accounts:      1_000,
		NaiveWorkers:  []int{1, 4, 16, 32},
		Callers:       6_000,
		OfferedPerSec: 5_000,
	}
}

// BenchResult is what `tasvieh bench ledger --json` prints.
type BenchResult struct {
	NaivePerSec     float64 `json:"naive_per_s"`
	NaiveWorkers    int     `json:"naive_workers"`
	BatchedPerSec   float64 `json:"batched_per_s"`
	Ratio           float64 `json:"ratio"`
	P50MsAt5000     float64 `json:"p50_ms_at_5000"`
	P99MsAt5000     float64 `json:"p99_ms_at_5000"`
	OfferedPerSec   int     `json:"offered_per_s"`
	AchievedPerSec  float64 `json:"achieved_per_s_at_offered"`
	MeanBatch       float64 `json:"mean_batch_at_saturation"`
	AuditClean      bool    `json:"audit_clean"`
	TransfersStored int64   `json:"transfers_stored"`
}

// benchAmount is small against the funding so no transfer fails for want of balance.
const (
	benchAmount  = 1_000
	benchFunding = 1_000_000_000_000
)

// BenchLedger measures, on one fresh schema of one database: the naive strategy (one database transaction per
// transfer, several worker counts, the best reported), the batched writer at saturation, and the batched
// writer's latency at a fixed offered rate. It ends with the audit, which must be clean.
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
	before := store.Stats()
	res.BatchedPerSec, err = benchSaturate(ctx, store, accounts, o.Callers, o.Duration)
	if err != nil {
		store.Close()
		return res, err
	}
	if st := store.Stats(); st.Batches > before.Batches {
		res.MeanBatch = float64(st.Transfers-before.Transfers) / float64(st.Batches-before.Batches)
	}
	progress("batched: %d callers, %.0f transfers/s, mean batch %.0f", o.Callers, res.BatchedPerSec, res.MeanBatch)
	if res.NaivePerSec > 0 {
		res.Ratio = res.BatchedPerSec / res.NaivePerSec
	}
	res.OfferedPerSec = o.OfferedPerSec
	var lat []time.Duration
	lat, res.AchievedPerSec, err = benchOpenLoop(ctx, store, accounts, o.OfferedPerSec, o.Duration)
	store.Close()
	if err != nil {
		return res, err
	}
	res.P50MsAt5000 = percentileMs(lat, 0.50)
	res.P99MsAt5000 = percentileMs(lat, 0.99)
	progress("batched at %d/s offered: p50 %.2f ms, p99 %.2f ms", o.OfferedPerSec, res.P50MsAt5000, res.P99MsAt5000)

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

// benchSaturate keeps `callers` goroutines submitting one transfer each, back to back, for d.
func benchSaturate(ctx context.Context, store *postgres.Store, accounts []ledger.ID, callers int, d time.Duration) (float64, error) {
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
			t := make([]ledger.Transfer, 1)
			for wall.Now().Before(deadline) {
				from, to := pickPair(rng, accounts)
				t[0] = ledger.Transfer{ID: NewID(), DebitAccountID: from, CreditAccountID: to, Amount: benchAmount,
					Ledger: ledger.LedgerCBI, Code: 1}
				r, err := store.Submit(ctx, postgres.Submission{Transfers: t})
				if err == nil && r[0] != ledger.OK {
					err = fmt.Errorf("transfer: %v", r[0])
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}(uint64(c))
	}
	wg.Wait()
	return float64(done.Load()) / wall.Now().Sub(start).Seconds(), firstErr
}

// benchOpenLoop offers `rate` single-transfer requests per second, each on its own goroutine at its scheduled
// moment (so a slow answer never delays the next request: no coordinated omission), and records each latency
// from its scheduled moment to its answer.
func benchOpenLoop(ctx context.Context, store *postgres.Store, accounts []ledger.ID, rate int, d time.Duration) ([]time.Duration, float64, error) {
	n := int(d.Seconds() * float64(rate))
	lat := make([]time.Duration, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(3, 5))
	interval := time.Second / time.Duration(rate)
	start := wall.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := at.Sub(wall.Now()); wait > 0 {
			<-wall.NewTimer(wait).C()
		}
		from, to := pickPair(rng, accounts)
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
		return nil, 0, err
	default:
	}
	return lat, achieved, nil
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
