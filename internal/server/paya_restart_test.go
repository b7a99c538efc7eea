package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/sheba"
)

// payWaitCycle waits (bounded: the resumption runs in the background after a restart) until a cycle is done.
func (w *world) payWaitCycle(id string) api.PAYACycle {
	w.t.Helper()
	for range 600 {
		st, b := w.do(http.MethodGet, "/v1/paya/cycles/"+id, w.operator(), nil)
		if st == http.StatusOK && strings.Contains(string(b), `"status":"done"`) {
			return w.payCycle(id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("cycle %s not done", id)
	return api.PAYACycle{}
}

// payKillEntries makes a cycle of many delivery decisions (payaDeliverChunk is 250) and two intake decisions.
const payKillEntries = 3000

// TestPAYACycleKilledAndRestarted: a cycle of 3,000 entries (twelve delivery decisions) stopped at each stage —
// before its nets settle, once they have, after the first delivery — and the switch restarted completes it
// exactly once: one net settlement, every entry posted, every payee credited once.
func TestPAYACycleKilledAndRestarted(t *testing.T) {
	for _, stage := range []string{"settling", "delivering", "delivered-one"} {
		t.Run(stage, func(t *testing.T) {
			w := boot(t, "1404/02/01 08:00")
			payer := w.satnaPick("017", 10_000_000_000)
			ps := w.payees("012", "054")
			want := map[string]int64{}
			var rows [][]string
			for i := 1; i <= payKillEntries; i++ {
				p := ps[i%len(ps)]
				amount := int64(1_000_000 + i)
				want[p.SHEBA] += amount
				rows = append(rows, []string{p.SHEBA, fmt.Sprint(amount), "کارمند", "", fmt.Sprintf("k-%04d", i)})
			}
			before := map[string]int64{}
			for s := range want {
				before[s] = w.payHeld(s)
			}
			st, f, b := w.payUpload("017", "kill-1", payer, payCSV(rows), false)
			if st != http.StatusCreated || f.Report.Accepted != payKillEntries {
				t.Fatalf("upload: %d %s", st, b)
			}
			// The fault stops the cycle at the stage, and keeps it stopped through the scheduler's retries until the
			// restart: after the first delivery, any later run fails before delivering more.
			var hit atomic.Bool
			server.SetPAYAFault(w.srv, func(s string) error {
				if s == stage || (hit.Load() && s == "delivering") {
					hit.Store(true)
					return errors.New("killed")
				}
				return nil
			})
			w.payAdvance("1404/02/01 10:00") // the 09:45 cycle fails at the stage
			id := cycleOf(t, "1404/02/01 09:45")
			if c := w.payCycle(id); c.Status == "done" || !hit.Load() {
				t.Fatalf("the cycle finished despite the fault: %+v", c)
			}
			w.restart(func(c *server.Config) { c.Start = jalali(t, "1404/02/01 10:00") })
			c := w.payWaitCycle(id)
			if c.Entries != payKillEntries {
				t.Errorf("cycle after the restart: %d entries, want %d", c.Entries, payKillEntries)
			}
			var sets api.NetSetPage
			w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets?rail=paya", w.operator(), nil, &sets)
			if len(sets.NetSets) != 1 {
				t.Errorf("net sets: %d, want exactly one", len(sets.NetSets))
			}
			posted := 0
			for cursor := ""; ; {
				var page api.PAYAEntryPage
				w.must(http.StatusOK, http.MethodGet, "/v1/paya/entries?file="+f.ID+"&status=posted&limit=1000&cursor="+cursor, w.bank("017"), nil, &page)
				posted += len(page.Entries)
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			if posted != payKillEntries {
				t.Errorf("posted: %d, want %d", posted, payKillEntries)
			}
			for s, amt := range want {
				if got := w.payHeld(s); got != before[s]+amt {
					t.Errorf("payee %s: %d, want %d (credited once)", s, got, before[s]+amt)
				}
			}
			w.audit()
		})
	}
}

// TestPAYAExternalBank: entries to a bank played as external are handed over (status settled, with the return
// deadline: the next cycle's cut-off), listed in its delivery file (CSV and NACHA, which read back); it returns
// one through the API, which rides the next cycle back to the payer; the other is posted at the deadline. An
// external originator's credit to a simulated bank's customer is posted there.
func TestPAYAExternalBank(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.External = []string{"056"} })
	payer := w.satnaPick("017", 1_000_000_000)
	x1, _ := sheba.Generate("056", 0, "100001")
	x2, _ := sheba.Generate("056", 0, "100002")
	held := w.satnaHeld("017", payer.SHEBA)
	e1 := w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف", PayeeSHEBA: x1.String(),
		PayeeName: "ب", AmountRial: 11 * u, Reference: "x-1"})
	e2 := w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف", PayeeSHEBA: x2.String(),
		PayeeName: "ج", AmountRial: 12 * u, Reference: "x-2"})
	local := w.satnaPick("017", 0, payer.SHEBA)
	localHeld := w.satnaHeld("017", local.SHEBA)
	e3 := w.paySubmit("056", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: x2.String(), PayerName: "ج", PayeeSHEBA: local.SHEBA,
		PayeeName: "د", AmountRial: 13 * u, Reference: "x-3"})
	w.payAdvance("1404/02/01 10:00")
	cycle := cycleOf(t, "1404/02/01 09:45")
	deadline := jalali(t, "1404/02/01 12:45")
	for _, e := range []api.PAYAEntry{e1, e2} {
		got := w.payGet("056", e.ID)
		if got.Status != "settled" || got.ReturnDeadline == nil || !got.ReturnDeadline.Equal(deadline) {
			t.Fatalf("entry %s at the external bank: %s, deadline %v, want settled until %s", e.Reference, got.Status, got.ReturnDeadline, tehran(deadline))
		}
	}
	if got := w.payGet("017", e3.ID); got.Status != "posted" || w.satnaHeld("017", local.SHEBA) != localHeld+13*u {
		t.Errorf("the external bank's credit: %s, payee %d → %d", got.Status, localHeld, w.satnaHeld("017", local.SHEBA))
	}
	// Told as events: one paya.delivery naming both entries.
	var feed struct {
		Events []struct {
			Type string `json:"type"`
			Data struct {
				Entries []api.PAYAEntry `json:"entries"`
			} `json:"data"`
		} `json:"events"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank("056"), nil, &feed)
	told := 0
	for _, e := range feed.Events {
		if e.Type == "paya.delivery" {
			told += len(e.Data.Entries)
		}
	}
	if told != 2 {
		t.Errorf("056 was told of %d delivered entries, want 2", told)
	}
	// Its delivery file, as CSV and NACHA.
	st, hdr, b := w.raw(http.MethodGet, "/v1/paya/cycles/"+cycle+"/delivery?format=csv", w.bank("056"), "", nil)
	if st != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("delivery csv: %d %s", st, b)
	}
	var ids []string
	if _, err := ach.ReadDeliveryCSV(bytes.NewReader(b), func(d ach.Delivered) error { ids = append(ids, d.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || !(ids[0] == e1.ID || ids[1] == e1.ID) {
		t.Errorf("delivery csv lists %v, want %s and %s", ids, e1.ID, e2.ID)
	}
	st, _, b = w.raw(http.MethodGet, "/v1/paya/cycles/"+cycle+"/delivery?format=nacha", w.bank("056"), "", nil)
	if st != http.StatusOK {
		t.Fatalf("delivery nacha: %d %s", st, b)
	}
	var sum int64
	if _, err := ach.ReadNACHA(bytes.NewReader(b), ach.NACHAReadOptions{}, func(e ach.NACHAEntry) error {
		if e.Problem != nil {
			return e.Problem
		}
		sum += e.AmountRial
		return nil
	}); err != nil || sum != 23*u {
		t.Errorf("delivery nacha reads back %d rial (%v), want %d", sum, err, 23*u)
	}
	// 056 returns e1; 017 (simulated) may not return anything through the API.
	var ret api.PAYAEntry
	w.must(http.StatusOK, http.MethodPost, "/v1/paya/entries/"+e1.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "account_closed"}, &ret)
	if ret.Status != "returned" || ret.ReturnedBy == "" {
		t.Fatalf("after the return: %+v", ret)
	}
	w.must(http.StatusConflict, http.MethodPost, "/v1/paya/entries/"+e1.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "account_closed"}, nil)
	w.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/paya/entries/"+e2.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "insufficient_funds"}, nil)
	w.must(http.StatusConflict, http.MethodPost, "/v1/paya/entries/"+e3.ID+"/return", w.bank("017"), api.PAYAReturnRequest{Code: "account_closed"}, nil)
	w.payAdvance("1404/02/01 13:00")
	if got := w.payGet("056", e2.ID); got.Status != "posted" {
		t.Errorf("e2 after its deadline: %s, want posted", got.Status)
	}
	w.must(http.StatusConflict, http.MethodPost, "/v1/paya/entries/"+e2.ID+"/return", w.bank("056"), api.PAYAReturnRequest{Code: "account_closed"}, nil)
	if got := w.payGet("017", ret.ReturnedBy); got.Status != "posted" {
		t.Errorf("the return: %s, want posted", got.Status)
	}
	if now := w.satnaHeld("017", payer.SHEBA); now != held-12*u {
		t.Errorf("payer: %d, want %d (e1 given back, e2 paid)", now, held-12*u)
	}
	w.audit()
}

// TestPAYACycleProcessKilled: the switch's process is killed (SIGKILL, no shutdown) in the middle of a cycle's
// delivery, after its first decision of 250 entries; a new switch on the same database completes the cycle
// once: every entry posted, every payee credited once, one net set, the audit clean.
func TestPAYACycleProcessKilled(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	home := t.TempDir()
	cmd, url := startChild(t, schema, home, "1404/02/01 08:00", "TASVIEH_PAYA_DIE_AT=delivered-one")
	defer cmd.Process.Kill()
	keys, err := server.LoadKeys(home+"/keys.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	child := &world{t: t, url: url, pool: pool}
	var page api.CustomerPage
	child.must(http.StatusOK, http.MethodGet, "/v1/directory/customers?bank=012&limit=1000", keys.Operator, nil, &page)
	var payees []api.Customer
	for _, c := range page.Customers {
		if c.Status == "active" && c.Magic == "" {
			payees = append(payees, c)
		}
	}
	want, before := map[string]int64{}, map[string]int64{}
	for _, p := range payees {
		before[p.SHEBA] = *p.BalanceRial
	}
	var page017 api.CustomerPage
	child.must(http.StatusOK, http.MethodGet, "/v1/directory/customers?bank=017&limit=1000", keys.Operator, nil, &page017)
	var payer api.Customer
	for _, c := range page017.Customers {
		if c.Status == "active" && c.Magic == "" && (payer.SHEBA == "" || *c.BalanceRial > *payer.BalanceRial) {
			payer = c
		}
	}
	var rows [][]string
	for i := 1; i <= payKillEntries; i++ {
		p := payees[i%len(payees)]
		want[p.SHEBA] += int64(1_000_000 + i)
		rows = append(rows, []string{p.SHEBA, fmt.Sprint(1_000_000 + i), "کارمند", "", fmt.Sprintf("sk-%04d", i)})
	}
	q := "/v1/paya/files?format=csv&reference=sigkill-1&payer_name=x&payer_sheba=" + payer.SHEBA
	st, _, b := child.raw(http.MethodPost, q, keys.Banks["017"], "text/csv", payCSV(rows))
	if st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, b)
	}
	// The advance reaches the 09:45 cycle, whose first delivery kills the process: no answer comes.
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/operator/clock/advance", strings.NewReader(`{"to":"1404/02/01 10:00"}`))
	req.Header.Set("Authorization", "Bearer "+keys.Operator)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the advance answered %d: the child should have died mid-cycle", res.StatusCode)
	}
	_ = cmd.Wait()

	w := &world{t: t, pool: pool, cfg: server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: jalali(t, "1404/02/01 10:00"), Seed: 7, Customers: testCustomers, Log: testLog()}}
	w.open()
	defer func() { w.audit(); w.srv.Close() }()
	c := w.payWaitCycle(cycleOf(t, "1404/02/01 09:45"))
	if c.Entries != payKillEntries {
		t.Errorf("cycle: %d entries, want %d", c.Entries, payKillEntries)
	}
	var sets api.NetSetPage
	w.must(http.StatusOK, http.MethodGet, "/v1/operator/rtgs/netsets?rail=paya", w.operator(), nil, &sets)
	if len(sets.NetSets) != 1 {
		t.Errorf("net sets: %d, want one", len(sets.NetSets))
	}
	for s, amt := range want {
		if got := w.payHeld(s); got != before[s]+amt {
			t.Errorf("payee %s: %d, want %d", s, got, before[s]+amt)
		}
	}
}
