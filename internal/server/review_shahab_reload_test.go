package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestReviewShahabReloadRacesBatcher: closeWindow and settleWindow rebuild the rail's memory (reloadAfter)
// after a failed or cancelled decision — e.g. the operator's POST …/windows/settle whose request ends while it
// waits for the clearing mutex — without holding the clearing mutex. Meanwhile the batcher's decisions add
// obligations to r.win and usage in memory; the reload replaces them with the tables' older state, and the
// next batch writes the stale window row. Afterwards the settled windows plus the open one no longer equal the
// succeeded interbank transfers (the positions, kept by the clearing under its mutex, still do).
func TestReviewShahabReloadRacesBatcher(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	srcs := w.holders("017", 8, 50*u)
	b := w.holders("012", 1, 0)[0]
	var ok atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var rl sync.WaitGroup
	rl.Add(1)
	go func() {
		defer rl.Done()
		for {
			select {
			case <-stop:
				return
			default:
				server.ShahabReloadAfterForTest(w.srv)
			}
		}
	}()
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(srcs[g], b.card, 1_000, fmt.Sprintf("rl-%d-%d", g, i)))
				if st == http.StatusCreated && decode[api.ShahabTransfer](t, body).Status == "succeeded" {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rl.Wait()
	var open api.ShahabWindow
	var page api.ShahabWindowPage
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/shahab/windows", w.operator(), nil, &page)
	for _, x := range page.Windows {
		if x.Status == "open" {
			open = x
		}
	}
	pos := w.cardPositions()
	t.Logf("%d succeeded; open window %d transfers; 017 position %d", ok.Load(), open.Transfers, pos["017"])
	if open.Transfers != ok.Load() || pos["017"] != ok.Load()*1_000 {
		t.Errorf("the open window holds %d transfers, the positions %d rial, want %d succeeded transfers (%d rial): obligations lost to a reload outside the clearing mutex",
			open.Transfers, pos["017"], ok.Load(), ok.Load()*1_000)
	}
	var win api.ShahabWindow
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/shahab/windows/settle", w.operator(), nil, &win)
	if got := w.cardPositions(); len(got) != 0 {
		t.Errorf("positions left after the window settled: %v", got)
	}
	w.audit()
}
