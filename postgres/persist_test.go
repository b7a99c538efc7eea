package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// TestStoreWritePathsAgree writes one request of n transfers for sizes on both sides of the pipelined write's
// bound (a small write goes as one pipelined round trip of INSERTs, a large one by COPY) and checks that what
// each stores is the same: every field of every transfer, a rejection remembered, a pending transfer's state,
// the account ranges, balances that a fresh store restores, and a clean audit.
func TestStoreWritePathsAgree(t *testing.T) {
	for _, n := range []int{1, 3, postgres.PipelinedTransfersMax, postgres.PipelinedTransfersMax + 1, 1_500} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			pool, _ := pgtest.Schema(t)
			e := newEnv(t, pool)
			s := e.open()
			w := e.setup(s, 4, 1_000_000_000)
			ts := make([]ledger.Transfer, 0, n+1)
			for i := 0; i < n; i++ {
				tr := e.plain(w.banks[i%4], w.banks[(i+1)%4], int64(1+i))
				switch i % 3 {
				case 1:
					tr.Reference, tr.UserData = fmt.Sprintf("ref %d", i), e.id()
				case 2:
					tr.Flags, tr.Timeout = ledger.FlagPending, 3600
				}
				ts = append(ts, tr)
			}
			over := e.plain(w.banks[0], w.banks[1], 2_000_000_000) // exceeds the balance: remembered
			ts = append(ts, over)
			res, err := s.Submit(context.Background(), postgres.Submission{Transfers: ts})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res[:n] {
				if r != ledger.OK {
					t.Fatalf("transfer %d: got %v, want ok", i, r)
				}
			}
			if got := res[n]; got != ledger.ExceedsBalance {
				t.Fatalf("overdraft: got %v, want %v", got, ledger.ExceedsBalance)
			}
			for i, want := range ts[:n] {
				got, ok, err := s.Transfer(context.Background(), want.ID)
				if err != nil || !ok {
					t.Fatalf("transfer %d: found %v, %v", i, ok, err)
				}
				got.Timestamp, want.Timestamp = 0, 0
				if got != want {
					t.Fatalf("transfer %d stored as\n%+v\nwant\n%+v", i, got, want)
				}
			}
			if r, ok, err := s.Rejection(context.Background(), over.ID); err != nil || !ok || r != ledger.ExceedsBalance {
				t.Errorf("rejection: got %v, %v, %v; want exceeds_balance remembered", r, ok, err)
			}
			if n >= 3 {
				if st, ok, err := s.PendingState(context.Background(), ts[2].ID); err != nil || !ok || st != ledger.PendingActive {
					t.Errorf("pending state: got %v, %v, %v; want active", st, ok, err)
				}
			}
			// Each account's transfers in this write are reachable through its account range.
			if got := count(t, pool, "SELECT count(*) FROM account_batches WHERE ts_last >= (SELECT min(ts) FROM transfers WHERE id = $1)", ts[0].ID); got != 4 && n >= 4 {
				t.Errorf("account ranges of the write: got %d, want 4 (one per account)", got)
			}
			want := make([]int64, 4)
			for i, b := range w.banks {
				want[i] = balance(t, s, b)
			}
			s.Close()
			s2 := e.open()
			defer s2.Close()
			for i, b := range w.banks {
				if got := balance(t, s2, b); got != want[i] {
					t.Errorf("bank %d after restore: balance %d, want %d", i, got, want[i])
				}
			}
			mustAudit(t, pool)
		})
	}
}
