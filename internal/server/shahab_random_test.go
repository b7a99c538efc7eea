package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/internal/server"
)

// TestShahabPendingSurvivesRestart: the switch stops while a transfer waits for a slow destination; started
// again, it resolves the transfer at its deadline (refund) and still reverses the late credit.
func TestShahabPendingSurvivesRestart(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	a := w.holders("017", 1, 50*u)[0]
	b := w.holders("012", 1, 0)[0]
	a0, b0 := w.held("017", a.c.SHEBA), w.held("012", b.c.SHEBA)
	w.simulate("012", api.Simulation{Online: true, LatencyMS: 20_000})
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.do(http.MethodPost, "/v1/shahab/transfers", w.bank("017"), cardReq(a, b.card, 4*u, "across-restart")) // its answer is lost with the server
	}()
	p := w.waitPendingTransfer(t, "017")
	w.restart(func(c *server.Config) { c.Start = time.Time{} })
	<-done
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "16s"}, nil)
	got := w.waitStatus(t, "017", p.ID, "refunded")
	if got.Code != "destination_timeout" || got.FeeRial != 0 {
		t.Errorf("after the restart: %+v, want refunded destination_timeout", got)
	}
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "10s"}, nil)
	for range 200 {
		if got = w.getTransfer("017", p.ID); got.Late != nil {
			break
		}
		sleepBriefly()
	}
	if got.Late == nil || got.Late.Action != "reversed" {
		t.Errorf("late credit after the restart: %+v, want reversed", got.Late)
	}
	if g, want := [2]int64{w.held("017", a.c.SHEBA), w.held("012", b.c.SHEBA)}, [2]int64{a0, b0}; g != want {
		t.Errorf("balances = %v, want %v", g, want)
	}
	w.audit()
}

func (w *world) getTransfer(bank, id string) api.ShahabTransfer {
	w.t.Helper()
	var t api.ShahabTransfer
	w.must(http.StatusOK, http.MethodGet, "/v1/shahab/transfers/"+id, w.bank(bank), nil, &t)
	return t
}

func (w *world) waitStatus(t *testing.T, bank, id, status string) api.ShahabTransfer {
	t.Helper()
	for range 500 {
		if got := w.getTransfer(bank, id); got.Status == status {
			return got
		}
		sleepBriefly()
	}
	t.Fatalf("transfer %s never became %s", id, status)
	return api.ShahabTransfer{}
}

// TestShahabRandomized: at least 10,000 transfers between random cards of every simulated bank and an
// external one, with failing banks, an offline bank, a slow one (timeouts, then late credits), blocked and
// unknown destination cards, wrong CVV2s, repeated references, and the clock moving (windows closing and
// settling under the traffic). Afterwards: no transfer both credited and refunded, none refunded twice, every
// refund whole and free, conservation (the audit), and the windows' settled nets plus the open positions equal
// the sum of the succeeded interbank transfers, bank by bank.
func TestShahabRandomized(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10,000-transfer run")
	}
	w := boot(t, "1404/02/01 09:50")
	banks := []string{"017", "012", "015", "016", "018", "021", "054"}
	var srcs []holder
	var dsts []api.CustomerCard
	for _, bk := range banks[:6] {
		for _, h := range w.holders(bk, 3, 20*u) {
			srcs = append(srcs, h)
			dsts = append(dsts, h.card)
		}
		dsts = append(dsts, w.magicCard(bk, "card_blocked"), w.magicCard(bk, "card_unknown"))
	}
	// 054 plays a bank under test: it credits most requests in the call, refuses some, leaves some unanswered.
	ext := newExternalBank(t)
	w.must(http.StatusOK, http.MethodPut, "/v1/operator/banks/054/simulation", w.operator(), api.Simulation{Mode: "external", Online: true}, nil)
	var hook api.Webhook
	w.must(http.StatusOK, http.MethodPut, "/v1/webhook", w.bank("054"), api.WebhookRequest{URL: ext.URL}, &hook)
	var bank api.Bank
	w.must(http.StatusOK, http.MethodGet, "/v1/banks/054", w.bank("017"), nil, &bank)
	for i := range 3 {
		pan, _ := card.Generate(bank.BINs[0], uint64(500_000+i))
		dsts = append(dsts, api.CustomerCard{PAN: pan.String()})
	}
	ext.mu.Lock()
	ext.secret = hook.Secret
	ext.mu.Unlock()
	w.simulate("015", api.Simulation{Online: true, FailureRate: 0.3})
	w.simulate("016", api.Simulation{Online: true, LatencyMS: 20_000}) // slower than the deadline: timeouts and late credits

	const n = 10_400 // a few are repeats of the one before: at least 10,000 distinct
	rng := rand.New(rand.NewPCG(10, 10))
	type sent struct {
		req  api.ShahabTransferRequest
		bank string
	}
	reqs := make([]sent, n)
	for i := range reqs {
		s := srcs[rng.IntN(len(srcs))]
		req := cardReq(s, dsts[rng.IntN(len(dsts))], int64(1+rng.IntN(400))*1_000, fmt.Sprintf("rnd-%05d", i))
		ext.mu.Lock()
		ext.answers[req.AmountRial] = []string{"credited", "credited", "credited", "refused", ""}[req.AmountRial/1_000%5]
		ext.mu.Unlock()
		switch rng.IntN(40) {
		case 0:
			req.CVV2 = fmt.Sprintf("%03d", (atoi(req.CVV2)+1)%1000)
		case 1:
			if i > 0 {
				reqs[i] = reqs[i-1] // a repeat of the previous transfer, reference and all
				continue
			}
		}
		reqs[i] = sent{req: req, bank: banks[rng.IntN(len(banks)-1)]}
	}

	// The clock moves under the traffic: deadlines pass, the 10:00 window closes and settles.
	ctx, stop := context.WithCancel(context.Background())
	var ticks sync.WaitGroup
	ticks.Add(1)
	go func() {
		defer ticks.Done()
		for i := 0; ctx.Err() == nil; i++ {
			time.Sleep(40 * time.Millisecond)
			w.do(http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "3s"})
			if i == 50 {
				w.simulate("018", api.Simulation{Online: false})
			}
			if i == 120 {
				w.simulate("018", api.Simulation{Online: true})
			}
		}
	}()
	var next atomic.Int64
	answers := make([]api.ShahabTransfer, n)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				st, body := w.do(http.MethodPost, "/v1/shahab/transfers", w.bank(reqs[i].bank), reqs[i].req)
				if st != http.StatusCreated && st != http.StatusOK {
					t.Errorf("transfer %d: %d %s", i, st, body)
					continue
				}
				answers[i] = decode[api.ShahabTransfer](t, body)
			}
		}()
	}
	wg.Wait()
	// Late credits for every transfer the external bank left unanswered, after its refund.
	for i, a := range answers {
		if a.DestinationBank == "054" && a.Code == "destination_timeout" && reqs[i].req.Reference == a.Reference {
			w.do(http.MethodPost, "/v1/shahab/transfers/"+a.ID+"/answer", w.bank("054"), api.ShahabAnswerRequest{Result: "credited"})
		}
	}
	time.Sleep(200 * time.Millisecond)
	stop()
	ticks.Wait()
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{By: "1m"}, nil)
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/shahab/windows/settle", w.operator(), nil, nil)

	// Every transfer as stored, and what the ledger did for each.
	rows, err := w.pool.Query(context.Background(), `SELECT t.id, t.status, t.route, t.source_bank, t.destination_bank, t.amount,
		t.fee, t.late_action, coalesce(array_agg(x.code ORDER BY x.code) FILTER (WHERE x.code IS NOT NULL), '{}')
		FROM shahab_transfers t LEFT JOIN transfers x ON x.user_data = t.id::uuid AND x.code BETWEEN 300 AND 307
		GROUP BY t.id`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{} // each bank's net from the succeeded interbank transfers
	counts := map[string]int{}
	stored := 0
	for rows.Next() {
		var id, status, route, from, to, late string
		var amount, fee int64
		var codes []int16
		if err := rows.Scan(&id, &status, &route, &from, &to, &amount, &fee, &late, &codes); err != nil {
			t.Fatal(err)
		}
		stored++
		counts[status]++
		has := map[uint16]int{}
		for _, c := range codes {
			has[uint16(c)]++
		}
		bad := func(why string) {
			t.Errorf("transfer %s (%s %s, %s→%s): %s; ledger codes %v", id, status, route, from, to, why, codes)
		}
		switch {
		case status == "pending":
			bad("still pending")
		case has[server.CodeCardVoid] > 1 || has[server.CodeCardPost] > 1 || has[server.CodeCardCredit] > 1:
			bad("posted, voided or credited twice")
		case has[server.CodeCardVoid] == 1 && has[server.CodeCardPost] == 1:
			bad("both refunded and posted")
		case status == "refunded" && (has[server.CodeCardVoid] != 1 || has[server.CodeCardCredit] != 0 || fee != 0):
			bad("a refund without its void, with a credit or with a fee")
		case status == "refunded" && has[server.CodeCardLateCredit] != has[server.CodeCardReversal]:
			bad("a late credit not reversed")
		case status == "succeeded" && route == "interbank" && (has[server.CodeCardPost] != 1 || fee != cardFee):
			bad("succeeded without its post or its fee")
		case status == "succeeded" && route == "interbank" && to != "054" && has[server.CodeCardCredit] != 1:
			bad("succeeded without the destination's credit")
		case status == "rejected" && len(codes) != 0:
			bad("rejected yet the ledger moved")
		}
		if status == "succeeded" && route == "interbank" {
			want[from] += amount
			want[to] -= amount
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if stored < 10_000 || counts["succeeded"] == 0 || counts["refunded"] == 0 || counts["rejected"] == 0 {
		t.Errorf("stored %d transfers: %v; want at least 10,000 and every outcome", stored, counts)
	}
	t.Logf("%d transfers stored: %v", stored, counts)

	// The nets: every settled window's, plus what is still open, bank by bank.
	got := map[string]int64{}
	var page api.ShahabWindowPage
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/shahab/windows?limit=500", w.operator(), nil, &page)
	settled := 0
	for _, win := range page.Windows {
		if win.Status != "settled" {
			continue
		}
		settled++
		for _, n := range win.Nets {
			got[n.Bank] += n.NetRial
		}
	}
	for bank, n := range w.cardPositions() {
		got[bank] += n
	}
	for bank := range want {
		if want[bank] == 0 {
			delete(want, bank)
		}
	}
	for bank := range got {
		if got[bank] == 0 {
			delete(got, bank)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("settled nets + open positions = %v, want the succeeded transfers' %v", got, want)
	}
	if settled < 2 {
		t.Errorf("%d windows settled, want the 10:00 one under traffic and the operator's", settled)
	}
	w.audit()
}
