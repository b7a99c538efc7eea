package server_test

import (
	"context"
	"fmt"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/internal/pgtest"
	"github.com/tasvieh/tasvieh/internal/server"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
)

// Adversarial SATNA scenarios: each names the defect it reproduces (or the property that held).

// advFailOn installs a trigger that makes any write of a satna.order row with status st fail, until the
// returned function drops it: a deterministic failure of one store write, production code untouched.
func (w *world) advFailOn(st string) func() {
	w.t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE OR REPLACE FUNCTION adv_fail() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN IF NEW.kind = 'satna.order' AND NEW.status = TG_ARGV[0] THEN RAISE EXCEPTION 'adv: injected failure'; END IF; RETURN NEW; END $$`,
		`DROP TRIGGER IF EXISTS adv_fail ON rail_objects`,
		`CREATE TRIGGER adv_fail BEFORE INSERT OR UPDATE ON rail_objects FOR EACH ROW EXECUTE FUNCTION adv_fail('` + st + `')`,
	} {
		if _, err := w.pool.Exec(ctx, q); err != nil {
			w.t.Fatal(err)
		}
	}
	return func() {
		if _, err := w.pool.Exec(ctx, `DROP TRIGGER IF EXISTS adv_fail ON rail_objects`); err != nil {
			w.t.Fatal(err)
		}
	}
}

// advStatus is an order's status straight from its row.
func (w *world) advStatus(id string) string {
	w.t.Helper()
	var st string
	if err := w.pool.QueryRow(context.Background(), `SELECT status FROM rail_objects WHERE kind = 'satna.order' AND id = $1`, id).Scan(&st); err != nil {
		w.t.Fatal(err)
	}
	return st
}

// advConsistent fails when the operator's queue (memory) and the rows disagree about any queued or warehoused order.
func (w *world) advConsistent(what string) {
	w.t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT id, status FROM rail_objects WHERE kind = 'satna.order' AND status IN ('queued','warehoused')`)
	if err != nil {
		w.t.Fatal(err)
	}
	db := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			w.t.Fatal(err)
		}
		db[id] = st
	}
	rows.Close()
	mem := w.satnaQueue()
	for id, st := range db {
		if mem[id] != st {
			w.t.Errorf("%s: order %s is %s in its row, %q in the rail's memory", what, id, st, mem[id])
		}
	}
	for id, st := range mem {
		if db[id] != st {
			w.t.Errorf("%s: order %s is %s in the rail's memory, %q in its row", what, id, st, db[id])
		}
	}
}

// TestSATNAAdvReleaseDropsOrderAfterPayerRejection: a payer queues two orders that together exceed its balance
// (the queue holds none of the payer's money); the sender's release assumes both settle and credits the receiver
// with both, so the receiver's own queued order is released on money it never gets. settleIn then leaves it
// (short) — but it was already taken out of the queue and out of r.queued, and nothing is written: the row
// says queued, memory has forgotten it; it never settles on later funds and the end of day never cancels it.
func TestSATNAAdvReleaseDropsOrderAfterPayerRejection(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer := w.satnaPick("017", 400_000_000)
	payee := w.satnaPick("054", 0)
	a := *payer.BalanceRial/2 + 1
	w.satnaDrain("017", 0, "drain-017")
	w.satnaDrain("054", 0, "drain-054")
	o1 := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, a, "two-1"), http.StatusCreated)
	o2 := w.satnaSubmit("017", satnaCustomerOrder(payer, payee, a, "two-2"), http.StatusCreated)
	ob := w.satnaSubmit("054", satnaInterbank("012", 2*a, "needs-both"), http.StatusCreated)
	for _, o := range []api.SATNAOrder{o1, o2, ob} {
		if o.Status != "queued" {
			t.Fatalf("%s: %s, want queued", o.Reference, o.Status)
		}
	}
	w.satnaInject("017", 2*a, "inj-017")
	if g := w.satnaGet("017", o1.ID); g.Status != "credited" {
		t.Errorf("first order: %s, want credited", g.Status)
	}
	if g := w.satnaGet("017", o2.ID); g.Status != "rejected" {
		t.Errorf("second order (payer short): %s %s, want rejected", g.Status, g.Code)
	}
	w.advConsistent("after the release")
	w.satnaInject("054", a, "inj-054") // now 054 holds 2a: its order must settle
	if g := w.satnaGet("054", ob.ID); g.Status != "settled" {
		t.Errorf("054's order with 2a in the account after the second injection: %s, want settled", g.Status)
	}
	w.satnaAdvance(jalali(t, "1404/02/01 16:01"))
	if st := w.advStatus(ob.ID); st == "queued" {
		t.Errorf("054's order still queued in its row after the end of day")
	}
	w.audit()
}

// advRef is a valid 35-character-or-less reference whose UTF-8 form exceeds the ledger's 64-byte reference:
// legs() cuts it at byte 64, in the middle of a rune.
var advRef = strings.Repeat("€", 22)

// TestSATNAAdvMultibyteReferenceAtOnce: a reference rtgs accepts (22 characters) fails in the ledger once cut
// at byte 64 (reference_invalid): the order cannot settle.
func TestSATNAAdvMultibyteReferenceAtOnce(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	status, body := w.do(http.MethodPost, "/v1/satna/orders", w.bank("017"), satnaInterbank("054", 1_000_000, advRef))
	if status != http.StatusCreated {
		t.Errorf("interbank order with reference %q: %d %s, want 201 settled", advRef, status, body)
	}
}

// TestSATNAAdvMultibyteReferencePoisonsQueue: the same reference on a queued order: every release that
// reaches it fails as a whole, so every other bank's queued order behind it in the batch stays queued too.
func TestSATNAAdvMultibyteReferencePoisonsQueue(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	w.satnaDrain("012", 0, "drain-012")
	w.satnaDrain("017", 0, "drain-017")
	poison := w.satnaSubmit("012", satnaInterbank("054", 100_000_000, advRef), http.StatusCreated)
	victim := w.satnaSubmit("017", satnaInterbank("054", 100_000_000, "victim"), http.StatusCreated)
	if poison.Status != "queued" || victim.Status != "queued" {
		t.Fatalf("poison %s, victim %s, want both queued", poison.Status, victim.Status)
	}
	w.satnaInject("012", 200_000_000, "inj-012")
	w.satnaInject("017", 200_000_000, "inj-017")
	if g := w.satnaGet("017", victim.ID); g.Status != "settled" {
		t.Errorf("017's order, funded, behind 012's multibyte reference: %s, want settled", g.Status)
	}
	if g := w.satnaGet("012", poison.ID); g.Status != "settled" {
		t.Errorf("012's order, funded: %s, want settled", g.Status)
	}
	w.audit()
}

// TestSATNAAdvReturnReferenceCutMidRune: the return's reference "return of " + ref is cut at 35 BYTES
// (rtgs.ReferenceLenMax counts characters), in the middle of a Persian letter: the return order's reference is
// mangled (U+FFFD) or refused.
func TestSATNAAdvReturnReferenceCutMidRune(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer := w.satnaPick("017", satnaAmount)
	var blocked api.Customer
	for _, c := range w.customers("054").Customers {
		if c.Status == "blocked" {
			blocked = c
			break
		}
	}
	if blocked.SHEBA == "" {
		t.Skip("054 has no blocked customer")
	}
	ref := "پرداخت شماره یک" // 15 characters, 2 bytes a letter
	o := w.satnaSubmit("017", satnaCustomerOrder(payer, blocked, satnaAmount, ref), http.StatusCreated)
	if o.Status != "returned" || o.ReturnedBy == "" {
		t.Fatalf("to a blocked payee: %s, want returned", o.Status)
	}
	ret := w.satnaGet("017", o.ReturnedBy)
	if strings.ContainsRune(ret.Reference, '\uFFFD') || !strings.HasPrefix("return of "+ref, ret.Reference) {
		t.Errorf("the return's reference %q, want a prefix of %q cut on a character", ret.Reference, "return of "+ref)
	}
	w.audit()
}

// TestSATNAAdvGridlockWithBlockedPayee: a three-bank gridlock at zero balances whose one customer order goes to
// a blocked payee: the netted set leaves every bank at zero, and the return that follows (receiver → sender,
// gross) cannot be funded; the whole decision fails.
func TestSATNAAdvGridlockWithBlockedPayee(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	payer := w.satnaPick("017", 700_000_000)
	var blocked api.Customer
	for _, c := range w.customers("012").Customers {
		if c.Status == "blocked" {
			blocked = c
			break
		}
	}
	if blocked.SHEBA == "" {
		t.Skip("012 has no blocked customer")
	}
	for _, b := range []string{"017", "012", "054"} {
		w.satnaDrain(b, 0, "drain-"+b)
	}
	const a int64 = 700_000_000
	o1 := w.satnaSubmit("017", satnaCustomerOrder(payer, blocked, a, "gl-cust"), http.StatusCreated)
	o2 := w.satnaSubmit("012", satnaInterbank("054", a, "gl-012"), http.StatusCreated)
	status, body := w.do(http.MethodPost, "/v1/satna/orders", w.bank("054"), satnaInterbank("017", a, "gl-054"))
	if status != http.StatusCreated {
		t.Errorf("the order closing the gridlock: %d %s, want 201", status, body)
		// A failed answer — yet store.Decide commits whatever f proposed before its error: the netted set.
		var st string
		if err := w.pool.QueryRow(context.Background(), `SELECT status FROM rail_objects WHERE kind = 'satna.order' AND body->>'reference' = 'gl-054'`).Scan(&st); err == nil {
			t.Errorf("the order answered %d is stored, status %s (the decision's error did not undo its proposals)", status, st)
		}
	}
	for _, o := range []api.SATNAOrder{o1, o2} {
		g := w.satnaGet(o.SenderBank, o.ID)
		t.Logf("%s: %s", o.Reference, g.Status)
	}
	w.advConsistent("after the gridlock")
	// Funds for everyone: nothing may stay stuck.
	for _, b := range []string{"017", "012", "054"} {
		w.satnaInject(b, 2*a, "inj-"+b)
	}
	if g := w.satnaGet("017", o1.ID); g.Status != "returned" {
		t.Errorf("customer order to a blocked payee, all banks funded: %s, want returned", g.Status)
	}
	if g := w.satnaGet("012", o2.ID); g.Status != "settled" {
		t.Errorf("012's order, funded: %s, want settled", g.Status)
	}
	w.advConsistent("after the injections")
	w.audit()
}

// TestSATNAAdvRevokeWriteFails: RevokeOrder takes the order out of the queue before its row is written; when
// the write fails the row stays queued and memory has lost it.
func TestSATNAAdvRevokeWriteFails(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	w.satnaDrain("017", 0, "drain")
	o := w.satnaSubmit("017", satnaInterbank("054", 100_000_000, "rv-fail"), http.StatusCreated)
	drop := w.advFailOn("revoked")
	status, body := w.do(http.MethodPost, "/v1/satna/orders/"+o.ID+"/revoke", w.bank("017"), nil)
	drop()
	if status < 500 {
		t.Logf("revoke with the write failing: %d %s", status, body)
	}
	w.advConsistent("after a failed revoke")
	if st := w.advStatus(o.ID); st == "queued" {
		w.satnaInject("017", 200_000_000, "inj")
		if st := w.advStatus(o.ID); st != "settled" {
			t.Errorf("an order whose revoke failed (row: queued), funded: row %s, want settled", st)
		}
	}
	w.audit()
}

// TestSATNAAdvEndOfDayWriteFails: dayClose empties the queue (CancelAll) before writing any cancellation; one
// failed write leaves the rest queued in their rows and nowhere in memory: the next end of day never cancels
// them, and after a restart yesterday's orders are back in today's queue.
func TestSATNAAdvEndOfDayWriteFails(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	w.satnaDrain("017", 0, "drain")
	var os []api.SATNAOrder
	for _, ref := range []string{"eod-1", "eod-2", "eod-3"} {
		os = append(os, w.satnaSubmit("017", satnaInterbank("054", 100_000_000, ref), http.StatusCreated))
	}
	drop := w.advFailOn("cancelled_eod")
	w.satnaAdvance(jalali(t, "1404/02/01 16:01"))
	drop()
	w.advConsistent("after a failed end of day")
	next := satnaBusinessDays(t, satnaToday(t, "1404/02/01 09:00"), 1)
	w.satnaAdvance(next.At(16, 1))
	for _, o := range os {
		if st := w.advStatus(o.ID); st != "cancelled_eod" {
			t.Errorf("%s after the next end of day: row %s, want cancelled_eod", o.Reference, st)
		}
	}
	w.audit()
}

// TestSATNAAdvDissolvedReceiverAfterWarehouse: an order to 062 (Ayandeh) warehoused for 1404-08-03, the day
// 062 is dissolved into 017: on release the state checks see only suspensions; the money must not land in a
// dissolved bank's settlement account.
func TestSATNAAdvDissolvedReceiverAfterWarehouse(t *testing.T) {
	start := "1404/08/01 09:00"
	w := boot(t, start)
	if w.bank("062") == "" {
		t.Skip("062 is not a member on " + start)
	}
	day := calendar.DateOf(jalali(t, "1404/08/03 09:00"))
	req := satnaInterbank("062", 1_000_000_000, "to-ayandeh")
	req.EffectiveDate = day.String()
	o := w.satnaSubmit("054", req, http.StatusCreated)
	if o.Status != "warehoused" {
		t.Fatalf("dated %s: %s", day, o.Status)
	}
	req2 := satnaInterbank("054", 1_000_000_000, "from-ayandeh")
	req2.EffectiveDate = day.String()
	o2 := w.satnaSubmit("062", req2, http.StatusCreated)
	w.satnaAdvance(day.At(6, 1))
	time.Sleep(200 * time.Millisecond)
	g := w.satnaGet("054", o.ID)
	if g.Status == "settled" && g.ReceiverBank == "062" {
		t.Errorf("released on %s: settled into dissolved 062's settlement account: %+v", day, g)
	}
	var g2 api.SATNAOrder
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/orders/"+o2.ID, w.bank("054"), nil, &g2)
	if g2.Status == "settled" && g2.SenderBank == "062" {
		t.Errorf("released on %s: dissolved 062 sent %d rial", day, g2.AmountRial)
	}
	w.audit()
}

// TestSATNAAdvSameReferenceAtOnce: many callers send one reference at once: one order, money moved once.
func TestSATNAAdvSameReferenceAtOnce(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	before := w.satnaBalances("017", "054")
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := w.do(http.MethodPost, "/v1/satna/orders", w.bank("017"), satnaInterbank("054", 5_000_000, "same"))
			codes <- s
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[201] != 1 || n[200] != 15 {
		t.Errorf("answers %v, want one 201 and fifteen 200", n)
	}
	w.satnaExpectMoved("one reference sixteen times", before, map[string]int64{"017": -5_000_000, "054": 5_000_000})
	w.audit()
}

// TestSATNAAdvRevokeRacesRelease: revokes race the injection that releases the same orders: each order ends
// revoked (nothing moved) or settled (money moved), never both, never queued with its money moved.
func TestSATNAAdvRevokeRacesRelease(t *testing.T) {
	w := boot(t, "1404/02/01 09:00")
	w.satnaDrain("017", 0, "drain")
	before := w.satnaBalances("017", "054")
	const n, amt = 20, int64(10_000_000)
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, w.satnaSubmit("017", satnaInterbank("054", amt, "race-"+string(rune('a'+i))), http.StatusCreated).ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			w.do(http.MethodPost, "/v1/satna/orders/"+id+"/revoke", w.bank("017"), nil)
		}(id)
	}
	wg.Add(1)
	go func() { defer wg.Done(); w.satnaInject("017", n*amt, "inj") }()
	wg.Wait()
	settled := int64(0)
	for _, id := range ids {
		switch st := w.advStatus(id); st {
		case "settled":
			settled++
		case "revoked":
		default:
			t.Errorf("order %s: %s", id, st)
		}
	}
	w.satnaExpectMoved("revokes racing a release", before, map[string]int64{"017": n*amt - settled*amt, "054": settled * amt})
	w.advConsistent("after the race")
	w.audit()
}

// TestSATNAAdvKilledDuringDayOpenRelease: a child server with many warehoused orders is SIGKILLed while the
// day.open job releases them; a new server on the same database (later that morning) must end with every order
// settled exactly once — or still warehoused only until a release that does come — and the money moved once.
func TestSATNAAdvKilledDuringDayOpenRelease(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	home := t.TempDir()
	cmd, url := startChild(t, schema, home, "1404/02/01 05:00")
	defer cmd.Process.Kill()
	child := &world{t: t, url: url}
	keys, err := server.LoadKeys(home+"/keys.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var before api.SettlementAccount
	child.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", keys.Banks["017"], nil, &before)
	const n, amt = 300, int64(10_000_000)
	var ids []string
	for i := 0; i < n; i++ {
		var o api.SATNAOrder
		child.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", keys.Banks["017"],
			satnaInterbank("054", amt, fmt.Sprintf("kill-%03d", i)), &o)
		if o.Status != "warehoused" {
			t.Fatalf("before 06:00: %s", o.Status)
		}
		ids = append(ids, o.ID)
	}
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/operator/clock/advance", strings.NewReader(`{"to":"1404/02/01 06:05"}`))
		req.Header.Set("Authorization", "Bearer "+keys.Operator)
		req.Header.Set("Content-Type", "application/json")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	// Kill once some, not all, are settled.
	for i := 0; i < 400; i++ {
		var k int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM rail_objects WHERE kind='satna.order' AND status='settled'`).Scan(&k)
		if k > 20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	var mid int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM rail_objects WHERE kind='satna.order' AND status='settled'`).Scan(&mid)
	t.Logf("settled when killed: %d of %d", mid, n)

	w := &world{t: t, pool: pool, cfg: server.Config{Pool: pool, Home: home, Addr: "127.0.0.1:0", ClockMode: clock.ModeSimulated,
		Start: jalali(t, "1404/02/01 07:00"), Seed: 7, Customers: testCustomers, Log: testLog()}}
	w.open()
	defer func() { w.audit(); w.srv.Close() }()
	w.satnaAdvance(jalali(t, "1404/02/01 07:30"))
	settled := int64(0)
	for _, id := range ids {
		switch st := w.advStatus(id); st {
		case "settled":
			settled++
		default:
			t.Errorf("order %s after the restart past the day's opening: %s, want settled", id, st)
		}
	}
	var after api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", keys.Banks["017"], nil, &after)
	if got := before.BalanceRial - after.BalanceRial; got != settled*amt {
		t.Errorf("017 paid %d for %d settled orders of %d", got, settled, amt)
	}
	w.advConsistent("after the restart")
}
