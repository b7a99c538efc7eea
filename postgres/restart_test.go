package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// Limits of the restart fault test.
const (
	// restartCallers is how many callers submit at once: enough that a batch is always being written when the
	// server dies, so the stop lands mid-batch.
	restartCallers = 32
	// restartCount is how many times the server is stopped under load.
	restartCount = 2
	// restartLoadBefore, restartLoadBetween and restartLoadAfter are how long the load runs before the first
	// restart, after each recovery and after the last: a few seconds in all.
	restartLoadBefore  = 1500 * time.Millisecond
	restartLoadBetween = time.Second
	// restartDown is how long the server stays down, so that callers arrive while nothing listens.
	restartDown = 500 * time.Millisecond
	// restartRecoverWait bounds one recovery under load: the store's backoff tops out at 2 s, a crash
	// recovery of a small cluster takes a second or two.
	restartRecoverWait = 60 * time.Second
	// restartCallTimeout bounds one Submit: a caller still waiting after it means the store hung.
	restartCallTimeout = 30 * time.Second
	// restartRetriesMax bounds the retries of one unanswered request after recovery.
	restartRetriesMax = 50
	// restartBanks is how many funded banks the pairs move money between.
	restartBanks = 16
	// restartFunding is each bank's starting balance: far more than the pairs can drain, so that a pair is
	// rejected only when it is meant to be.
	restartFunding = 1_000_000_000_000
	// restartOverdrawEvery makes one pair in so many overdraw on its second leg, so acknowledged rejections
	// are part of the load.
	restartOverdrawEvery = 16
	// restartFindingsMax bounds the pairs named in failures; the counts stay exact.
	restartFindingsMax = 20
)

// pairOutcome is how a caller's first attempt at a pair ended.
type pairOutcome uint8

const (
	pairAcked      pairOutcome = iota + 1 // results returned
	pairUnknown                           // ErrOutcomeUnknown
	pairNotApplied                        // ErrNotApplied
	pairOther                             // any other error: a failure of the store
)

// pair is one request: A→B linked with B→C, so that a half-applied request shows as one leg stored.
type pair struct {
	legs    [2]ledger.Transfer
	outcome pairOutcome
	results []ledger.Result // of the first attempt, when acknowledged
	err     error
	final   []ledger.Result // the answer that settles it: the first attempt's, or the retry's
	retries int
}

// applied reports whether results say both legs are (or already were) applied; ok is false for a result that
// is neither that nor a whole-chain rejection.
func pairApplied(res []ledger.Result) (applied, ok bool) {
	if len(res) != 2 {
		return false, false
	}
	switch {
	case res[0] == ledger.OK && res[1] == ledger.OK, res[0] == ledger.Exists && res[1] == ledger.Exists:
		return true, true
	case res[0] == ledger.LinkedEventFailed && res[1] != ledger.OK && res[1] != ledger.Exists && res[1] != ledger.LinkedEventFailed,
		res[1] == ledger.LinkedEventFailed && res[0] != ledger.OK && res[0] != ledger.Exists && res[0] != ledger.LinkedEventFailed:
		return false, true
	}
	return false, false
}

// The acceptance fault test: PostgreSQL is stopped with -m immediate (a crash: no checkpoint, backends killed
// mid-transaction) twice while 32 callers submit linked pairs. No acknowledged transfer may be lost or doubled,
// no pair half-applied; callers in flight hear outcome unknown or not applied, never a raw error; the store
// resumes by itself; retries of the unanswered ids learn the truth; the audit is clean.
//
// It runs its own cluster, because the other packages' tests share the project's private one.
func TestStoreSurvivesPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and crashes a PostgreSQL cluster of its own")
	}
	began := time.Now()
	ctx := context.Background()
	e := newEnv(t, nil)
	e.clock = nil
	e.ids = ids.NewRandomSource(clock.Real())
	e.cfg.Clock = clock.Real()
	e.cfg.WriteTimeout = 2 * time.Second

	cluster := ownCluster(t, e)
	url, err := postgres.EnsureLocal(ctx, cluster, e.cfg.Log)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	e.pool = pool
	s := e.open()
	t.Cleanup(s.Close)
	w := e.setup(s, restartBanks, restartFunding)
	t.Logf("own cluster at %s (%s), set up in %v", url, cluster.Dir, time.Since(began).Round(time.Millisecond))

	// The load: every caller submits fresh pairs, one at a time, until told to stop.
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		pairs   []*pair
		unknown atomic.Int64
	)
	// Runs before the store closes, also when the test stops early.
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	for c := 0; c < restartCallers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			var mine []*pair
			for n := 0; !stop.Load(); n++ {
				p := &pair{legs: newPair(e, w, rng, n%restartOverdrawEvery == c%restartOverdrawEvery)}
				cctx, cancel := context.WithTimeout(ctx, restartCallTimeout)
				p.results, p.err = s.Submit(cctx, postgres.Submission{Transfers: p.legs[:]})
				cancel()
				switch {
				case p.err == nil:
					p.outcome, p.final = pairAcked, p.results
				case errors.Is(p.err, postgres.ErrOutcomeUnknown):
					p.outcome = pairUnknown
					unknown.Add(1)
				case errors.Is(p.err, postgres.ErrNotApplied):
					p.outcome = pairNotApplied
				default:
					p.outcome = pairOther
				}
				mine = append(mine, p)
			}
			mu.Lock()
			pairs = append(pairs, mine...)
			mu.Unlock()
		}(c)
	}

	// The faults: crash the server mid-load, keep it down a moment, start it again, and let the store find
	// its way back by itself while the load goes on.
	var recoveries []time.Duration
	time.Sleep(restartLoadBefore)
	for i := 1; i <= restartCount; i++ {
		before := s.Stats()
		unknownBefore := unknown.Load()
		at := time.Now()
		crashLocal(t, cluster)
		time.Sleep(restartDown)
		if _, err := postgres.EnsureLocal(ctx, cluster, e.cfg.Log); err != nil {
			t.Fatalf("restart %d: start again: %v", i, err)
		}
		up := time.Since(at)
		deadline := time.Now().Add(restartRecoverWait)
		for s.Stats().Recoveries < int64(i) {
			if time.Now().After(deadline) {
				t.Fatalf("restart %d: the store did not resume within %v: %+v", i, restartRecoverWait, s.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
		recoveries = append(recoveries, time.Since(at))
		t.Logf("restart %d: server back after %v, store resumed after %v; %d batches written before it, %d callers told outcome unknown",
			i, up.Round(time.Millisecond), time.Since(at).Round(time.Millisecond), before.Batches, unknown.Load()-unknownBefore)
		time.Sleep(restartLoadBetween)
	}
	stop.Store(true)
	wg.Wait()
	waitRecovered(t, s, restartCount)
	if got := s.Stats().Recoveries; got != restartCount {
		t.Logf("recoveries: %d for %d restarts", got, restartCount)
	}

	// Every caller left without an answer asks again with the same ids until it gets one.
	var tried, acked, notApplied, other, retried int
	retryAnswers := map[string]int{} // "unknown→exists": how the unanswered turned out
	var unknownN int
	for _, p := range pairs {
		tried++
		switch p.outcome {
		case pairAcked:
			acked++
			continue
		case pairUnknown:
			unknownN++
		case pairNotApplied:
			notApplied++
		case pairOther:
			other++
			continue
		}
		retried++
		for p.final == nil {
			p.retries++
			res, err := s.Submit(ctx, postgres.Submission{Transfers: p.legs[:]})
			switch {
			case err == nil:
				p.final = res
				from := "unknown"
				if p.outcome == pairNotApplied {
					from = "not_applied"
				}
				retryAnswers[fmt.Sprintf("%s→%v", from, res[0])]++
			case isUnknownOrNotApplied(err) && p.retries < restartRetriesMax:
				time.Sleep(100 * time.Millisecond)
			default:
				t.Fatalf("retry %d of pair %s: %v", p.retries, p.legs[0].ID, err)
			}
		}
	}
	if other > 0 {
		seen := map[string]int{}
		for _, p := range pairs {
			if p.outcome == pairOther {
				seen[p.err.Error()]++
			}
		}
		for msg, n := range seen {
			t.Errorf("%d callers got an error that is neither outcome unknown nor not applied: %s", n, msg)
		}
	}

	// The truth, from the tables.
	stored := map[ledger.ID]int{}
	rows, err := pool.Query(ctx, "SELECT id FROM transfers WHERE code = 2")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id pgtype.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[ledger.ID(id.Bytes)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	doubled := count(t, pool, "SELECT count(*) - count(DISTINCT id) FROM transfers")
	var lost, half, phantom, wrongAnswer, notAppliedButWritten, ackedRejected int
	var findings int
	errorf := func(format string, args ...any) { // the first few of each run: one broken invariant floods otherwise
		t.Helper()
		if findings++; findings <= restartFindingsMax {
			t.Errorf(format, args...)
		} else if findings == restartFindingsMax+1 {
			t.Error("… more findings left off")
		}
	}
	var wantStored int
	balances := map[ledger.ID]int64{}
	for _, b := range w.banks {
		balances[b] = restartFunding
	}
	for _, p := range pairs {
		if p.outcome == pairOther {
			continue
		}
		n := stored[p.legs[0].ID] + stored[p.legs[1].ID]
		if n != 0 && n != 2 {
			half++
			errorf("pair %s: %d of 2 legs stored (first answer %v %v, final %v)", p.legs[0].ID, n, p.results, p.err, p.final)
			continue
		}
		applied, ok := pairApplied(p.final)
		if !ok {
			wrongAnswer++
			errorf("pair %s: answer %v is neither both applied nor a whole-chain rejection", p.legs[0].ID, p.final)
			continue
		}
		if p.outcome == pairAcked && p.final[0] == ledger.Exists {
			wrongAnswer++
			errorf("pair %s: fresh ids answered %v on the first attempt", p.legs[0].ID, p.final)
		}
		if p.outcome == pairAcked && !applied {
			ackedRejected++
		}
		if p.outcome == pairNotApplied && p.final[0] == ledger.Exists {
			notAppliedButWritten++
			errorf("pair %s: told not applied, yet its retry answered %v: it had been written", p.legs[0].ID, p.final)
		}
		switch {
		case applied && n == 0:
			lost++
			errorf("pair %s: answered %v (first attempt %v %v) but not stored", p.legs[0].ID, p.final, p.results, p.err)
		case !applied && n == 2:
			phantom++
			errorf("pair %s: answered %v (first attempt %v %v) but stored", p.legs[0].ID, p.final, p.results, p.err)
		}
		if applied {
			wantStored += 2
			for _, leg := range p.legs {
				balances[leg.DebitAccountID] -= leg.Amount
				balances[leg.CreditAccountID] += leg.Amount
			}
		}
	}
	if doubled != 0 {
		t.Errorf("transfer ids stored more than once: %d", doubled)
	}
	if len(stored) != wantStored {
		t.Errorf("pair transfers stored: %d, want %d (the answered ones)", len(stored), wantStored)
	}

	// The database's balances and the writer's memory both match the callers' own account of what happened.
	if err := s.Decide(ctx, func(d *postgres.Decision) {
		for _, b := range w.banks {
			if a, _ := d.Account(b); a.Balance() != balances[b] {
				t.Errorf("writer's memory: bank %s holds %d, want %d", b, a.Balance(), balances[b])
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, b := range w.banks {
		if got := balance(t, s, b); got != balances[b] {
			t.Errorf("database: bank %s holds %d, want %d", b, got, balances[b])
		}
	}
	rep := mustAudit(t, pool)
	if unknownN == 0 {
		t.Errorf("no caller was told outcome unknown: the restarts did not land mid-batch")
	}

	t.Logf("tried %d pairs: %d acknowledged (%d of them rejections), %d outcome unknown, %d not applied, %d other errors; %d retried, %d half-applied, %d answered rejected but stored; audit: %d transfers",
		tried, acked, ackedRejected, unknownN, notApplied, other, retried, half, phantom, rep.Transfers)
	t.Logf("retries answered (first leg): %v; recoveries after each restart: %v; test took %v",
		retryAnswers, recoveries, time.Since(began).Round(time.Millisecond))
	line := fmt.Sprintf("restart-fault: tried %d acknowledged %d unknown %d not_applied %d lost %d doubled %d restarts %d",
		tried, acked, unknownN, notApplied, lost, doubled, restartCount)
	t.Log(line)
	fmt.Println(line)
}

// newPair makes a fresh linked pair A→B, B→C between three distinct banks; an overdrawing pair's second leg
// asks for more than any bank holds.
func newPair(e *env, w world, rng *mrand.Rand, overdraw bool) [2]ledger.Transfer {
	perm := rng.Perm(len(w.banks))
	a, b, c := w.banks[perm[0]], w.banks[perm[1]], w.banks[perm[2]]
	first := e.plain(a, b, 1+rng.Int64N(1_000))
	first.Flags = ledger.FlagLinked
	second := e.plain(b, c, 1+rng.Int64N(1_000))
	if overdraw {
		second.Amount = restartFunding * restartBanks * 2
	}
	return [2]ledger.Transfer{first, second}
}

// ownCluster names a cluster folder of this test's own under the module's .tasvieh folder (which the postgres
// user can reach, unlike a t.TempDir when running as root), on a port away from the shared cluster's, and
// stops and removes it when the test ends.
func ownCluster(t *testing.T, e *env) postgres.LocalCluster {
	t.Helper()
	root, err := pgtest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	// A port from a range of its own, so that two runs of this test, or a shared cluster being created at
	// the default port, do not race for the same free port.
	off, _ := rand.Int(rand.Reader, big.NewInt(1000))
	c := postgres.LocalCluster{Dir: filepath.Join(root, ".tasvieh", "restart-"+hex.EncodeToString(b[:])),
		Port: 55000 + int(off.Int64())}
	t.Cleanup(func() {
		if t.Failed() {
			if tail, err := os.ReadFile(filepath.Join(c.Dir, "server.log")); err == nil {
				lines := strings.Split(strings.TrimRight(string(tail), "\n"), "\n")
				t.Logf("server log, last lines:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
		if err := postgres.StopLocal(context.Background(), c); err != nil {
			t.Errorf("stop own cluster: %v", err)
		}
		if err := os.RemoveAll(c.Dir); err != nil {
			t.Errorf("remove own cluster: %v", err)
		}
	})
	return c
}

// crashLocal stops the cluster with pg_ctl stop -m immediate: the postmaster kills every backend at once,
// without a checkpoint, and the next start runs crash recovery from the WAL — the harshest stop short of
// pulling the plug. It runs pg_ctl as cluster.go does: as the postgres user when running as root.
func crashLocal(t *testing.T, c postgres.LocalCluster) {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		t.Fatal("no pg_ctl under /usr/lib/postgresql")
	}
	version := func(p string) int { v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p)))); return v }
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, matches[0], "stop", "-m", "immediate", "-w", "-D", filepath.Join(c.Dir, "data"))
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = "/"
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v: %s", err, out.String())
	}
}
