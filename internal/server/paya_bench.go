package server

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// What `tasvieh bench paya` (internal/bench/paya.go) needs of a server in its own process: PAYA's backend as
// the API calls it, an employer funded for a payroll of a million rows, and a cycle timed by its stages.

// PAYA is the rail's backend, the methods the API's routes call (for the benchmark and callers in this
// process).
func (s *Server) PAYA() api.PAYABackend { return backend{s} }

// BenchFundCustomer credits a simulated bank's customer with amount from the bank's equity in its book, once
// per (bank, sheba, ref): a benchmark's employer must cover a payroll far larger than any opening balance.
// Inside one book, as an opening balance is: the bank's mirror and the CBI do not move.
func (s *Server) BenchFundCustomer(ctx context.Context, bank, sheba, ref string, amount int64) error {
	if !s.world.live(bank) {
		return fmt.Errorf("server: bench funding: bank %s has no simulated book", bank)
	}
	l := BookLedger(bank)
	t := ledger.Transfer{ID: ledger.ID(derivedTransfer("bench.funding", bank, sheba, ref)), DebitAccountID: AccountID(l, KeyEquity),
		CreditAccountID: AccountID(l, sheba), Amount: amount, Ledger: l, Code: CodeOpening, Reference: "bench funding"}
	res, err := s.store.Submit(ctx, postgres.Submission{Transfers: []ledger.Transfer{t}})
	if err != nil {
		return err
	}
	if len(res) != 1 || (res[0] != ledger.OK && res[0] != ledger.Exists) {
		return fmt.Errorf("server: bench funding of %s at %s: %v", sheba, bank, res)
	}
	return nil
}

// PAYACycleBench is one cycle as BenchPAYACycle timed it, by its stages (paya_cycle.go runCycle).
type PAYACycleBench struct {
	Cycle api.PAYACycle
	// Close is the window's closing, the wait for the processor and the obligations read (PAYAPairs).
	Close time.Duration
	// Settle is the net settlement through SettleNets, and the deferral of left-out banks' entries.
	Settle time.Duration
	// Deliver is the delivery decisions (a chunk each, posting or returning in the books), the tally of the
	// cycle's counts and its last row.
	Deliver time.Duration
	// FirstChunk is the first delivery decision alone, with the read of its rows.
	FirstChunk time.Duration
}

// BenchPAYACycle runs the cycle id to its end as the operator's run does, timing its stages on the real
// clock: the stage probe is the rail's test fault hook, set only for this run (under the cycle lock, which
// every reader of the hook holds).
func (s *Server) BenchPAYACycle(ctx context.Context, id string) (PAYACycleBench, error) {
	var res PAYACycleBench
	cut, err := parseCycleID(id)
	if err != nil {
		return res, err
	}
	if ok, err := s.paya.isSlot(cut); err != nil || !ok {
		return res, fmt.Errorf("server: bench cycle: %s is not a cut-off (%v)", id, err)
	}
	wall := s.cfg.Real
	at := map[string]time.Time{}
	p := s.paya
	p.cycleMu.Lock()
	p.fault = func(stage string) error {
		at[stage] = wall.Now()
		return nil
	}
	p.cycleMu.Unlock()
	defer func() {
		p.cycleMu.Lock()
		p.fault = nil
		p.cycleMu.Unlock()
	}()
	t0 := wall.Now()
	rec, err := p.runCycle(ctx, cut)
	end := wall.Now()
	if err != nil {
		return res, storeErr(err)
	}
	settling, delivering := at[payaStageSettling], at[payaStageDelivering]
	if settling.IsZero() || delivering.IsZero() {
		return res, fmt.Errorf("server: bench cycle: %s did not pass its stages (done before?)", id)
	}
	res.Cycle, res.Close, res.Settle, res.Deliver = rec.PAYACycle, settling.Sub(t0), delivering.Sub(settling), end.Sub(delivering)
	if first, ok := at[payaFaultDelivered]; ok {
		res.FirstChunk = first.Sub(delivering)
	}
	return res, nil
}

// PAYATables are the tables PAYA's intake, processor and cycle write rows to (StoredRowsByTable).
var PAYATables = []string{"transfers", "pending_transfers", "account_batches", "outbox", "inbox", "rail_objects", "paya_entries", "paya_window"}

// StoredRowsByTable counts the rows of each of tables in the server's schema (`tasvieh bench paya`'s rows
// per entry, measured rather than assumed). tables must be names the caller chose, never input.
func (s *Server) StoredRowsByTable(ctx context.Context, tables []string) (map[string]int64, error) {
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("server: counting %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}
