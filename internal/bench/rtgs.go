package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/rtgs"
)

// RTGSOptions shapes `tasvieh bench rtgs`.
type RTGSOptions struct {
	Duration       time.Duration // per measured phase
	Callers        int           // concurrent submitters
	GridlockOrders int           // orders in the gridlock the engine resolves
}

// DefaultRTGSOptions are the figures the README reports.
func DefaultRTGSOptions() RTGSOptions {
	return RTGSOptions{Duration: 5 * time.Second, Callers: 2048, GridlockOrders: 100_000}
}

// RTGSResult is what `tasvieh bench rtgs --json` prints.
type RTGSResult struct {
	OrdersPerSec         float64  `json:"orders_per_s"`
	CustomerOrdersPerSec float64  `json:"customer_orders_per_s"`
	RowsPerOrder         float64  `json:"rows_per_order"`          // interbank: transfers, events and rail rows written, per order settled
	CustomerRowsPerOrder float64  `json:"customer_rows_per_order"` // the same for customer orders
	GridlockOrders       int      `json:"gridlock_orders"`
	GridlockMs           float64  `json:"gridlock_ms"`
	GridlockCommitMs     *float64 `json:"gridlock_commit_ms"`
	GridlockEngineMs     float64  `json:"gridlock_engine_ms"` // rtgs.Offset alone over a queue like it, in memory
	GridlockSettled      int      `json:"gridlock_settled"`
	Errors               int64    `json:"errors"`
	FirstError           string   `json:"first_error,omitempty"`
}

// RTGS measures SATNA on a running in-process server srv (simulated clock on a business day in hours):
// interbank orders between random member banks, then customer orders between simulated banks' customers,
// each submitted as the API does (validation, its order row, its status events, the ledger chain, durable),
// from opts.Callers goroutines; then the engine's gridlock resolution over a generated queue.
func RTGS(ctx context.Context, srv *server.Server, opts RTGSOptions) (RTGSResult, error) {
	var res RTGSResult
	banks := srv.Members()
	var seq atomic.Int64
	interbank := func(rng *rand.Rand) (string, api.SATNAOrderRequest) {
		from := banks[rng.IntN(len(banks))]
		to := banks[rng.IntN(len(banks))]
		for to == from {
			to = banks[rng.IntN(len(banks))]
		}
		return from, api.SATNAOrderRequest{Type: "interbank", ReceiverBank: to, AmountRial: 1_000_000 + rng.Int64N(1_000_000),
			Reference: fmt.Sprintf("b-%d", seq.Add(1))}
	}
	var errs atomic.Int64
	var first atomic.Value
	var err error
	if res.OrdersPerSec, res.RowsPerOrder, err = submitFor(ctx, srv, opts, &errs, &first, interbank); err != nil {
		return res, err
	}
	type payer struct{ bank, sheba, name string }
	var payers []payer
	var payees []payer
	for _, b := range banks {
		pg, err := srv.Customers(ctx, b)
		if err != nil {
			continue // an external bank has none
		}
		for _, c := range pg.Customers {
			if c.Status != "active" || c.Magic != "" || c.BalanceRial == nil {
				continue
			}
			payees = append(payees, payer{b, c.SHEBA, c.Name})
			if *c.BalanceRial >= 10_000_000_000 {
				payers = append(payers, payer{b, c.SHEBA, c.Name})
			}
		}
	}
	if len(payers) == 0 || len(payees) < 2 {
		return res, fmt.Errorf("bench: no customers to pay from")
	}
	customer := func(rng *rand.Rand) (string, api.SATNAOrderRequest) {
		p := payers[rng.IntN(len(payers))]
		q := payees[rng.IntN(len(payees))]
		for q.bank == p.bank {
			q = payees[rng.IntN(len(payees))]
		}
		return p.bank, api.SATNAOrderRequest{Type: "customer", PayerSHEBA: p.sheba, PayerName: p.name, PayeeSHEBA: q.sheba,
			PayeeName: q.name, AmountRial: 150_000_000, Reference: fmt.Sprintf("c-%d", seq.Add(1))}
	}
	if res.CustomerOrdersPerSec, res.CustomerRowsPerOrder, err = submitFor(ctx, srv, opts, &errs, &first, customer); err != nil {
		return res, err
	}
	res.Errors = errs.Load()
	if e, ok := first.Load().(string); ok {
		res.FirstError = e
	}

	// The gridlock, in the engine alone: GridlockOrders queued orders among the members, balances a tenth of
	// what they owe.
	rng := rand.New(rand.NewPCG(7, 7))
	orders := make([]rtgs.Order, opts.GridlockOrders)
	owed := map[string]int64{}
	start := time.Date(2025, 4, 21, 9, 0, 0, 0, time.UTC)
	for i := range orders {
		from, to := banks[rng.IntN(len(banks))], banks[rng.IntN(len(banks))]
		for to == from {
			to = banks[rng.IntN(len(banks))]
		}
		var id rtgs.OrderID
		id[0], id[1], id[2], id[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		orders[i] = rtgs.Order{ID: id, Type: rtgs.TypeInterbank, SenderBank: from, ReceiverBank: to,
			AmountRial: 1_000_000 + rng.Int64N(100_000_000), Priority: rtgs.Priority(1 + rng.IntN(3)),
			ReceivedAt: start.Add(time.Duration(i) * time.Millisecond)}
		owed[from] += orders[i].AmountRial
	}
	balances := map[string]int64{}
	for b, v := range owed {
		balances[b] = v / 10
	}
	t0 := time.Now()
	rtgs.Offset(orders, balances)
	res.GridlockEngineMs = ms(time.Since(t0))

	// The same in the server: the orders queued in the rail, one offsetting decision in the writer, and the
	// set's commit (in two stages when it is larger than one ledger request), durable.
	g, err := srv.BenchGridlock(ctx, opts.GridlockOrders, 7)
	if err != nil {
		return res, fmt.Errorf("bench: gridlock: %w", err)
	}
	commit := ms(g.Commit)
	res.GridlockOrders, res.GridlockSettled, res.GridlockMs, res.GridlockCommitMs = g.Orders, g.Settled, ms(g.Decide), &commit
	return res, nil
}

// submitFor runs opts.Callers submitters for opts.Duration and answers the orders settled per second (settled
// or credited at once: gross settlement), and the rows written per order settled.
func submitFor(ctx context.Context, srv *server.Server, opts RTGSOptions, errs *atomic.Int64, first *atomic.Value,
	next func(*rand.Rand) (string, api.SATNAOrderRequest)) (perSec, rowsPer float64, err error) {
	before, err := srv.StoredRows(ctx)
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	var done atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range opts.Callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for rctx.Err() == nil {
				bank, req := next(rng)
				o, _, err := srv.SubmitSATNA(rctx, bank, req)
				switch {
				case err != nil && rctx.Err() == nil:
					errs.Add(1)
					first.CompareAndSwap(nil, err.Error())
				case err == nil && (o.Status == "settled" || o.Status == "credited"):
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	perSec = float64(done.Load()) / time.Since(t0).Seconds()
	after, err := srv.StoredRows(ctx)
	if err != nil {
		return 0, 0, err
	}
	if n := done.Load(); n > 0 {
		rowsPer = float64(after-before) / float64(n)
	}
	return perSec, rowsPer, nil
}
