package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
)

// GridlockBench is what BenchGridlock measured.
type GridlockBench struct {
	Orders   int           // queued among the members
	Settled  int           // settled by the offsetting set
	Decide   time.Duration // the offsetting decision in the writer: rtgs.Offset over the queue, and the set's chain built
	Commit   time.Duration // the set's commit point and completion, durable (satna_offset.go when it is large)
	Stranded int           // still queued after it
}

// BenchGridlock is `tasvieh bench rtgs`'s gridlock: it queues n interbank orders among the members (random
// pairs and amounts from seed, as if each had been submitted and found its sender short — their rows written,
// straight into the queue), sets every bank's settlement balance to a tenth of what it owes in them, then
// runs one offsetting pass in the writer, timing the choice of the set and, separately, its commit. For a
// server of its own: it moves the banks' balances.
func (s *Server) BenchGridlock(ctx context.Context, n int, seed uint64) (GridlockBench, error) {
	r := s.satna
	r.mu.Lock()
	defer r.mu.Unlock()
	res := GridlockBench{Orders: n}
	members := s.world.members
	rng := rand.New(rand.NewPCG(seed, seed))
	now := s.clk.Now().In(calendar.Tehran)
	owed := map[string]int64{}
	recs := make([]satnaRecord, n)
	for i := range recs {
		from, to := members[rng.IntN(len(members))], members[rng.IntN(len(members))]
		for to == from {
			to = members[rng.IntN(len(members))]
		}
		ref := fmt.Sprintf("gridlock-%d-%d", seed, i)
		amount := 1_000_000 + rng.Int64N(100_000_000)
		recs[i] = satnaRecord{SATNAOrder: api.SATNAOrder{ID: orderID(from, ref).String(), Type: "interbank", Status: "queued",
			SenderBank: from, ReceiverBank: to, AmountRial: amount, Reference: ref,
			Priority: rtgs.Priority(1 + rng.IntN(3)).String(), CreatedAt: now}, ReceivedAt: now.Add(time.Duration(i) * time.Microsecond)}
		owed[from] += amount
	}
	for start := 0; start < n; start += postgres.NoticesMax {
		var rows []postgres.Row
		for _, rec := range recs[start:min(start+postgres.NoticesMax, n)] {
			rows = append(rows, postgres.Row{Kind: kindSATNAOrder, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)})
		}
		if err := postgres.Notice(ctx, s.pool, s.clk.Now(), rows, nil); err != nil {
			return res, err
		}
	}
	for _, code := range members {
		a, ok, err := s.store.Account(ctx, AccountID(ledger.LedgerCBI, KeySettlement(code)))
		if err != nil || !ok {
			return res, fmt.Errorf("server: bench gridlock: %s's settlement account: %v", code, err)
		}
		if d := owed[code]/10 - a.Available(); d != 0 {
			id := ledger.ID(ids.Derive("tasvieh.bench.gridlock", fmt.Sprint(seed), code))
			if _, err := s.store.Submit(ctx, postgres.Submission{Transfers: s.world.liquidityChain(code, d, id, "bench gridlock")}); err != nil {
				return res, err
			}
		}
	}
	for _, rec := range recs {
		o, err := rec.order()
		if err != nil {
			return res, err
		}
		if err := r.queue.Add(o); err != nil {
			return res, err
		}
		r.queued[o.ID] = rec
	}
	var decide time.Duration
	t0 := time.Now()
	err := r.decide(ctx, func(x *postgres.Decision) error {
		t := time.Now()
		defer func() { decide = time.Since(t) }()
		return r.offsetIn(x)
	})
	if err != nil {
		return res, err
	}
	if r.bigSet != nil {
		t0 = time.Now()
		if err := r.offsetLarge(ctx); err != nil {
			return res, err
		}
	}
	res.Commit, res.Decide = time.Since(t0), decide
	res.Stranded = r.queue.Len()
	res.Settled = n - res.Stranded
	return res, nil
}

// StoredRows counts the rows the rails and the ledger have written: transfers, outbox events and rail rows
// (`tasvieh bench rtgs`'s rows per order, measured rather than assumed).
func (s *Server) StoredRows(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM transfers) + (SELECT count(*) FROM outbox)
		+ (SELECT count(*) FROM rail_objects)`).Scan(&n)
	return n, err
}
