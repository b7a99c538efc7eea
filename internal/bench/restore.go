package bench

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// The goal for start-up, which `tasvieh bench restore` checks: with 10,000,000 stored transfers the
// store opens within RestoreGoal and the process stays within RestoreRSSGoalBytes.
const (
	RestoreGoal         = 3 * time.Second
	RestoreRSSGoalBytes = 1 << 30
	// restoreHistoryEnd is how long before now the seeded history ends: an hour and more past the retention
	// window (five minutes by default), so that start-up must not load any of it for idempotency.
	restoreHistoryEnd = 2 * time.Hour
	// restoreHistorySpan is how much time the seeded history covers: a month of traffic.
	restoreHistorySpan = 30 * 24 * time.Hour
	// restorePendingTimeout is the seeded pending transfers' timeout: the longest the ledger allows, so none
	// expires while the benchmark runs and each still goes into the expiry schedule at start-up.
	restorePendingTimeout = ledger.TimeoutMax
	// restoreChunkMax bounds the rows of one INSERT … SELECT: each is one transaction, and a million rows of
	// transfers with their four indexes is some 300 MB of WAL, which the default max_wal_size (1 GB) absorbs.
	restoreChunkMax = 1_000_000
	// restoreTransfersMax bounds what the benchmark seeds: 100 million rows is some 30 GB with indexes.
	restoreTransfersMax = 100_000_000
)

// RestoreOptions shapes `tasvieh bench restore`.
type RestoreOptions struct {
	Transfers int // stored transfers, seeded by SQL (besides one funding transfer per account)
	Accounts  int // accounts they move between, created through the store
	Pending   int // of the seeded transfers, the newest are pending and active: start-up loads each
	Runs      int // OpenStore is timed this many times
	Chunk     int // rows per INSERT … SELECT statement
	Log       *slog.Logger
	Progress  func(format string, args ...any)
}

// DefaultRestoreOptions are the figures: ten million stored transfers.
func DefaultRestoreOptions() RestoreOptions {
	return RestoreOptions{Transfers: 10_000_000, Accounts: 10_000, Pending: 5_000, Runs: 5, Chunk: 500_000}
}

// RestoreRun is one timed OpenStore.
type RestoreRun struct {
	Seconds float64 `json:"seconds"`
	// PeakRSSBytes is VmHWM after this start-up: the peak resident set of the whole bench process so far
	// (seeding runs in the server, so the process's own peak is its start-ups').
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// RSSBytes is VmRSS with the store open: what the restored ledger and the rest of the process hold.
	RSSBytes int64 `json:"rss_bytes"`
	// HeapBytes is the Go heap in use with the store open.
	HeapBytes uint64 `json:"heap_bytes"`
}

// RestoreResult is what `tasvieh bench restore --json` prints.
type RestoreResult struct {
	Seeded          bool    `json:"seeded"` // false when the schema held transfers already and was measured as it was
	SeedSeconds     float64 `json:"seed_seconds"`
	TransfersStored int64   `json:"transfers_stored"`
	Accounts        int64   `json:"accounts"`
	PendingActive   int64   `json:"pending_active"`
	// InWindow counts the stored transfers whose ts falls in the default retention window at the first run:
	// start-up loads those (and the UUIDv7 ids that recent) besides accounts and active pendings.
	InWindow     int64        `json:"transfers_in_window"`
	Runs         []RestoreRun `json:"runs"`
	BestSeconds  float64      `json:"best_seconds"`
	WorstSeconds float64      `json:"worst_seconds"`
	PeakRSSBytes int64        `json:"peak_rss_bytes"` // VmHWM at the end: the whole bench process's peak
	Stats        StoreStats   `json:"store_stats"`    // the store's counters right after the last start-up
	GoalSeconds  float64      `json:"goal_seconds"`
	GoalRSSBytes int64        `json:"goal_rss_bytes"`
	GoalMet      bool         `json:"goal_met"`
	AuditClean   bool         `json:"audit_clean"`
	AuditSeconds float64      `json:"audit_seconds"`
}

// StoreStats are postgres.Stats under the JSON names of the bench's output. The store's counters say what it
// wrote, not what the restored ledger holds, which the store does not expose.
type StoreStats struct {
	Batches    int64 `json:"batches"`
	Transfers  int64 `json:"transfers"`
	Recoveries int64 `json:"recoveries"`
	Queued     int   `json:"queued"`
}

// BenchRestore measures start-up with a large history. On a schema that holds no transfers it creates the
// accounts through the store (an issuance account and o.Accounts accounts with the floor), then seeds by SQL
// in bulk one funding transfer per account and o.Transfers transfers between pairs of accounts, the newest
// o.Pending of them pending and active; ids are UUIDv7s of the transfers' times, a month ending two hours ago,
// so that none is in the retention window; last it sets every account's balances to exactly the sums of its
// transfers, as the writer would have. A schema that holds transfers already is measured as it is. Then it
// times OpenStore o.Runs times, reading the process's memory after each, and ends with the audit, which must
// be clean.
func BenchRestore(ctx context.Context, pool *pgxpool.Pool, o RestoreOptions) (RestoreResult, error) {
	res := RestoreResult{GoalSeconds: RestoreGoal.Seconds(), GoalRSSBytes: RestoreRSSGoalBytes}
	if o.Transfers < 0 || o.Transfers > restoreTransfersMax || o.Accounts < 2 || o.Pending < 0 || o.Pending > o.Transfers ||
		o.Runs < 1 || o.Chunk < 1 || o.Chunk > restoreChunkMax {
		return res, fmt.Errorf("bench restore: options out of range: %+v", o)
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM transfers").Scan(&res.TransfersStored); err != nil {
		return res, err
	}
	if res.TransfersStored == 0 {
		began := wall.Now()
		if err := restoreSeed(ctx, pool, o, log, progress); err != nil {
			return res, err
		}
		res.Seeded, res.SeedSeconds = true, wall.Now().Sub(began).Seconds()
	} else {
		progress("the schema holds %d transfers already: measuring it as it is", res.TransfersStored)
	}
	cutoff := wall.Now().Add(-postgres.RetentionDefault).UnixNano()
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM transfers), (SELECT count(*) FROM accounts),
		(SELECT count(*) FROM pending_transfers WHERE state = $1), (SELECT count(*) FROM transfers WHERE ts >= $2)`,
		int16(ledger.PendingActive), cutoff).Scan(&res.TransfersStored, &res.Accounts, &res.PendingActive, &res.InWindow); err != nil {
		return res, err
	}
	progress("stored: %d transfers, %d accounts, %d active pending, %d transfers in the retention window",
		res.TransfersStored, res.Accounts, res.PendingActive, res.InWindow)

	for i := 0; i < o.Runs; i++ {
		runtime.GC()
		debug.FreeOSMemory() // so that one run's garbage does not count against the next
		began := wall.Now()
		store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall, Log: log})
		took := wall.Now().Sub(began)
		if err != nil {
			return res, fmt.Errorf("start-up %d: %w", i+1, err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mem, err := procMemory()
		st := store.Stats()
		res.Stats = StoreStats{Batches: st.Batches, Transfers: st.Transfers, Recoveries: st.Recoveries, Queued: st.Queued}
		store.Close()
		if err != nil {
			return res, err
		}
		// VmHWM comes from per-thread counters the kernel folds in lazily, so successive readings can dip by a
		// few hundred KiB: the peak so far is the largest reading.
		res.PeakRSSBytes = max(res.PeakRSSBytes, mem.peak, mem.rss)
		run := RestoreRun{Seconds: took.Seconds(), PeakRSSBytes: res.PeakRSSBytes, RSSBytes: mem.rss, HeapBytes: ms.HeapInuse}
		res.Runs = append(res.Runs, run)
		if i == 0 || run.Seconds < res.BestSeconds {
			res.BestSeconds = run.Seconds
		}
		res.WorstSeconds = max(res.WorstSeconds, run.Seconds)
		progress("start-up %d: %.3f s, RSS %s with the store open (Go heap %s), peak RSS of the bench process so far %s",
			i+1, run.Seconds, mib(run.RSSBytes), mib(int64(run.HeapBytes)), mib(run.PeakRSSBytes))
	}
	mem, err := procMemory()
	if err != nil {
		return res, err
	}
	res.PeakRSSBytes = max(res.PeakRSSBytes, mem.peak)
	res.GoalMet = res.WorstSeconds <= res.GoalSeconds && res.PeakRSSBytes <= res.GoalRSSBytes

	progress("auditing %d transfers …", res.TransfersStored)
	began := wall.Now()
	rep, err := postgres.Audit(ctx, pool)
	res.AuditSeconds = wall.Now().Sub(began).Seconds()
	if err != nil {
		return res, fmt.Errorf("audit: %w", err)
	}
	res.AuditClean = rep.Clean()
	if !rep.Clean() {
		return res, fmt.Errorf("audit after bench restore:\n%s", rep)
	}
	return res, nil
}

// restoreSeed creates the accounts through the store, seeds the transfers by SQL and sets the balances.
func restoreSeed(ctx context.Context, pool *pgxpool.Pool, o RestoreOptions, log *slog.Logger, progress func(string, ...any)) error {
	store, err := postgres.OpenStore(ctx, pool, postgres.Config{Clock: wall, Log: log})
	if err != nil {
		return err
	}
	issuance := NewID()
	accts := []ledger.Account{{ID: issuance, Ledger: ledger.LedgerCBI, Kind: ledger.KindIssuance,
		Flags: ledger.FlagNegativeAllowed, Name: "bench issuance"}}
	accounts := make([]pgtype.UUID, o.Accounts)
	for i := range accounts {
		id := NewID()
		accounts[i] = pgUUID(id)
		accts = append(accts, ledger.Account{ID: id, Ledger: ledger.LedgerCBI, Kind: ledger.KindCustomer,
			Name: fmt.Sprintf("bench %d", i)})
	}
	for len(accts) > 0 {
		chunk := accts[:min(len(accts), postgres.RequestTransfersMax)]
		accts = accts[len(chunk):]
		results, err := store.CreateAccounts(ctx, chunk)
		if err != nil {
			store.Close()
			return err
		}
		for i, r := range results {
			if r != ledger.AccountOK {
				store.Close()
				return fmt.Errorf("bench account %s: %v", chunk[i].Name, r)
			}
		}
	}
	store.Close()
	progress("created %d accounts through the store", o.Accounts+1)

	// Row g of the history (0-based) is, in time order: a funding transfer from issuance to account g for
	// g < accounts, then the transfers between pairs of accounts, the last o.Pending of them pending. Times
	// are spread evenly over the span; an id is a UUIDv7 of its row's time (the millisecond, the version
	// nibble 7, the variant bits 10, the rest the md5 of the row number and a per-run salt — gen_random_uuid
	// costs some 10 µs a call here, md5 a tenth of that), so rows are keyed in time order as the writer's are.
	// Accounts are numbered in a temporary table of the seeding connection, joined by number: a uuid[]
	// parameter indexed per row is much slower.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "CREATE TEMPORARY TABLE bench_accounts (i int8 PRIMARY KEY, id uuid NOT NULL)"); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS bench_accounts") //nolint:errcheck // a temporary table: gone with the session anyway
	if _, err := conn.Exec(ctx, "INSERT INTO bench_accounts (i, id) SELECT n - 1, id FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)",
		accounts); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE bench_accounts"); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	na := int64(o.Accounts)
	total := na + int64(o.Transfers)
	end := wall.Now().Add(-restoreHistoryEnd).UnixNano()
	start := end - int64(restoreHistorySpan)
	step := int64(restoreHistorySpan) / max(total, 1)
	salt := fmt.Sprintf("%x", NewID())
	// $1 ledger, $2..$3 rows, $4 accounts, $5 issuance, $6 funding, $7 first pending row, $8 pending flag,
	// $9 pending timeout, $10 start, $11 step, $12 salt. Row k of the transfers between accounts (g = accounts
	// + k) debits account k mod A and credits another, which moves on by one every A rows, so every ordered
	// pair occurs and no account pays itself.
	const insert = `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags,
			timeout_s, reference, ts)
		SELECT encode(set_byte(set_byte(b, 6, (get_byte(b, 6) & 15) | 112), 8, (get_byte(b, 8) & 63) | 128), 'hex')::uuid,
			coalesce(d.id, $5), c.id, CASE WHEN g < $4 THEN $6::int8 ELSE 1 + (g * 7919) % 1000 END, $1,
			CASE WHEN g < $4 THEN 1 ELSE 2 END,
			CASE WHEN g >= $7 THEN $8::int2 ELSE 0::int2 END,
			CASE WHEN g >= $7 THEN $9::int8 ELSE 0::int8 END,
			CASE WHEN g < $4 THEN 'bench funding' ELSE 'bench history' END, ts
		FROM (SELECT g, ts, substring(int8send(ts / 1000000) FROM 3 FOR 6) || substring(decode(md5(g::text || $12::text), 'hex') FROM 7 FOR 10) AS b,
				CASE WHEN g < $4 THEN -1 ELSE (g - $4) % $4 END AS di,
				CASE WHEN g < $4 THEN g ELSE ((g - $4) % $4 + 1 + ((g - $4) / $4) % ($4 - 1)) % $4 END AS ci
			FROM (SELECT g, $10::int8 + g * $11::int8 AS ts FROM generate_series($2::int8, $3::int8) AS g) AS s) AS r
		LEFT JOIN bench_accounts d ON d.i = r.di
		JOIN bench_accounts c ON c.i = r.ci`
	pendingFrom := total - int64(o.Pending)
	began := wall.Now()
	for lo := int64(0); lo < total; lo += int64(o.Chunk) {
		hi := min(lo+int64(o.Chunk), total) - 1
		tag, err := conn.Exec(ctx, insert, int32(ledger.LedgerCBI), lo, hi, na, pgUUID(issuance), int64(benchFunding),
			pendingFrom, int16(ledger.FlagPending), int64(restorePendingTimeout), start, step, salt)
		if err != nil {
			return fmt.Errorf("seed rows %d–%d: %w", lo, hi, err)
		}
		if tag.RowsAffected() != hi-lo+1 {
			return fmt.Errorf("seed rows %d–%d: inserted %d", lo, hi, tag.RowsAffected())
		}
		progress("seeded %d of %d transfers (%.0f s)", hi+1, total, wall.Now().Sub(began).Seconds())
	}
	if _, err := pool.Exec(ctx, `INSERT INTO pending_transfers (id, state)
		SELECT id, $1 FROM transfers WHERE ts >= $2 AND (flags & $3) <> 0`,
		int16(ledger.PendingActive), start+pendingFrom*step, int16(ledger.FlagPending)); err != nil {
		return fmt.Errorf("seed pending states: %w", err)
	}
	// The balances the writer would have stored: the audit's own recomputation, written back.
	tag, err := pool.Exec(ctx, `
		WITH moves AS (
			SELECT t.debit_account_id AS debit, t.credit_account_id AS credit, t.amount,
				(t.flags & ($1 | $2 | $3)) = 0 OR (t.flags & $2) <> 0 AS posted,
				(t.flags & $1) <> 0 AND p.state = $4 AS pending
			FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id AND (t.flags & $1) <> 0
		), sums AS (
			SELECT debit AS id, sum(amount) FILTER (WHERE posted) AS dpo, sum(amount) FILTER (WHERE pending) AS dp,
				0::numeric AS cpo, 0::numeric AS cp FROM moves GROUP BY debit
			UNION ALL
			SELECT credit, 0, 0, sum(amount) FILTER (WHERE posted), sum(amount) FILTER (WHERE pending)
			FROM moves GROUP BY credit
		), recomputed AS (
			SELECT id, coalesce(sum(dpo), 0)::int8 AS dpo, coalesce(sum(dp), 0)::int8 AS dp,
				coalesce(sum(cpo), 0)::int8 AS cpo, coalesce(sum(cp), 0)::int8 AS cp FROM sums GROUP BY id
		)
		UPDATE accounts a SET debits_posted = r.dpo, debits_pending = r.dp, credits_posted = r.cpo, credits_pending = r.cp
		FROM recomputed r WHERE a.id = r.id`,
		int16(ledger.FlagPending), int16(ledger.FlagPostPending), int16(ledger.FlagVoidPending), int16(ledger.PendingActive))
	if err != nil {
		return fmt.Errorf("seed balances: %w", err)
	}
	if tag.RowsAffected() != int64(o.Accounts+1) {
		return fmt.Errorf("seed balances: updated %d accounts, want %d", tag.RowsAffected(), o.Accounts+1)
	}
	// What autovacuum would have done by the time a server restarts on a month of history.
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE transfers, pending_transfers, accounts"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	progress("seeded %d transfers by SQL and set the balances to their sums (%.0f s)", total, wall.Now().Sub(began).Seconds())
	return nil
}

type memory struct{ rss, peak int64 }

// procMemory reads VmRSS and VmHWM (the peak resident set) of this process from /proc/self/status.
func procMemory() (memory, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return memory{}, fmt.Errorf("process memory: %w", err)
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("process memory: %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.peak = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return memory{}, fmt.Errorf("process memory: %w", err)
	}
	if m.peak == 0 {
		return memory{}, fmt.Errorf("process memory: no VmHWM in /proc/self/status")
	}
	return m, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
