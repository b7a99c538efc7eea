package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/sheba"
)

// The PAYA scenarios (issue 9, DOMAIN.md §5): each boots its own switch on the simulated clock, with real
// PostgreSQL and the embedded Kafka broker, moves entries through the API, runs cycles by moving the clock, and
// ends with the audit clean (boot's cleanup runs it; the tests run it after each cycle too). Expected figures
// are computed here from what the test sent, never read back from the server's answers.

// u is a million rial: the scenarios' amounts are under the seed cap of 150,000,000.
const u int64 = 1_000_000

// payaCredit is a credit entry from payer to payee.
func payaCredit(payer, payee api.Customer, amount int64, ref string) api.PAYAEntryRequest {
	return api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "پرداخت‌کننده " + ref, PayeeSHEBA: payee.SHEBA,
		PayeeName: "گیرنده " + ref, AmountRial: amount, Reference: ref, Description: "آزمون " + ref}
}

// paySubmit submits an entry that must be accepted.
func (w *world) paySubmit(bank string, req api.PAYAEntryRequest) api.PAYAEntry {
	w.t.Helper()
	var e api.PAYAEntry
	w.must(http.StatusCreated, http.MethodPost, "/v1/paya/entries", w.bank(bank), req, &e)
	if e.Status != "accepted" {
		w.t.Fatalf("entry %s: status %s, want accepted", req.Reference, e.Status)
	}
	return e
}

// payRejected submits an entry that must be refused with the entry code reason on field.
func (w *world) payRejected(bank string, req api.PAYAEntryRequest, reason, field string) {
	w.t.Helper()
	var e api.Error
	w.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/paya/entries", w.bank(bank), req, &e)
	if e.Code != api.CodeEntryRejected || e.Reason != reason || e.Field != field {
		w.t.Errorf("entry %s: %+v, want entry_rejected %s on %s", req.Reference, e, reason, field)
	}
}

// payGet reads an entry as bank.
func (w *world) payGet(bank, id string) api.PAYAEntry {
	w.t.Helper()
	var e api.PAYAEntry
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/entries/"+id, w.bank(bank), nil, &e)
	return e
}

// payAdvance moves the simulated clock to a Jalali Tehran time: the cycles due run on the way.
func (w *world) payAdvance(to string) {
	w.t.Helper()
	w.must(http.StatusOK, http.MethodPost, "/v1/operator/clock/advance", w.operator(), api.AdvanceRequest{To: to}, nil)
}

// payCycle reads a cycle as the operator.
func (w *world) payCycle(id string) api.PAYACycle {
	w.t.Helper()
	var c api.PAYACycle
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/cycles/"+id, w.operator(), nil, &c)
	return c
}

// cycleOf names the cycle of a Jalali cut-off ("1404/02/01 09:45"), as the calendar says.
func cycleOf(t *testing.T, jalaliCut string) string {
	return jalali(t, jalaliCut).In(calendar.Tehran).Format("2006-01-02T15:04")
}

// payNets are a cycle's nets by bank.
func payNets(c api.PAYACycle) map[string]int64 {
	m := map[string]int64{}
	for _, n := range c.Nets {
		m[n.Bank] = n.NetRial
	}
	return m
}

// payCSV builds a payroll file: a header, then one line per row.
func payCSV(rows [][]string) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"sheba", "amount", "name", "description", "reference"})
	for _, r := range rows {
		_ = cw.Write(r)
	}
	cw.Flush()
	return b.Bytes()
}

// payUpload uploads a file and answers the status and the file.
func (w *world) payUpload(bank, ref string, payer api.Customer, body []byte, dry bool) (int, api.PAYAFile, []byte) {
	w.t.Helper()
	q := url.Values{"format": {"csv"}, "reference": {ref}, "payer_sheba": {payer.SHEBA}, "payer_name": {"شرکت نمونه"}}
	if dry {
		q.Set("dry_run", "true")
	}
	st, _, b := w.raw(http.MethodPost, "/v1/paya/files?"+q.Encode(), w.bank(bank), "text/csv", body)
	var f api.PAYAFile
	_ = json.Unmarshal(b, &f)
	return st, f, b
}

// payees are active, ordinary customers of the banks, in turn.
func (w *world) payees(banks ...string) []api.Customer {
	w.t.Helper()
	var out []api.Customer
	for _, b := range banks {
		for _, c := range w.customers(b).Customers {
			if c.Status == "active" && c.Magic == "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// magic is bank's test customer with the magic behaviour effect.
func (w *world) magic(bank, effect string) string {
	w.t.Helper()
	for _, c := range w.customers(bank).Customers {
		if c.Magic == effect {
			return c.SHEBA
		}
	}
	w.t.Fatalf("bank %s has no %s customer", bank, effect)
	return ""
}

// TestPAYAPayrollFile: a 1,000-row payroll file with three bad rows — a SHEBA with a wrong checksum, an amount
// of exactly 150,000,000, an unknown bank — accepts 997, reports the three with their lines and fields, and the
// next cycle credits every payee.
func TestPAYAPayrollFile(t *testing.T) {
	w := boot(t, "1404/02/01 08:00") // Monday: cycles at 09:45, 12:45, 18:45
	payer := w.satnaPick("017", 10_000_000_000)
	ps := w.payees("012", "054", "055", "057")
	credited := map[string]int64{}
	badChecksum := func(s string) string { // the check digits moved by one: still digits, no longer mod-97
		d := (int(s[2]-'0')*10 + int(s[3]-'0') + 1) % 100
		return fmt.Sprintf("%s%02d%s", s[:2], d, s[4:])
	}
	unknown, err := sheba.Generate("099", 0, "123456789")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	var total int64
	for i := 1; i <= 1000; i++ {
		p := ps[i%len(ps)]
		amount := int64(1_000_000 + i*1_000)
		row := []string{p.SHEBA, fmt.Sprint(amount), "کارمند " + fmt.Sprint(i), "حقوق اردیبهشت", fmt.Sprintf("pay-%04d", i)}
		switch i {
		case 101:
			row[0] = badChecksum(p.SHEBA)
		case 501:
			row[1] = "150,000,000"
		case 901:
			row[0] = unknown.String()
		default:
			credited[p.SHEBA] += amount
			total += amount
		}
		rows = append(rows, row)
	}
	body := payCSV(rows)
	before := map[string]int64{}
	for s := range credited {
		before[s] = w.payHeld(s)
	}
	payerBefore := w.satnaHeld("017", payer.SHEBA)

	st, dry, b := w.payUpload("017", "payroll-1", payer, body, true)
	if st != http.StatusOK || dry.Status != "validated" || dry.Report.Accepted != 997 || dry.Report.Rejected != 3 {
		t.Fatalf("dry run: %d %s", st, b)
	}
	if held := w.satnaHeld("017", payer.SHEBA); held != payerBefore {
		t.Fatalf("a dry run moved the payer's balance: %d → %d", payerBefore, held)
	}
	st, f, b := w.payUpload("017", "payroll-1", payer, body, false)
	if st != http.StatusCreated || f.Status != "accepted" || f.ID == "" {
		t.Fatalf("upload: %d %s", st, b)
	}
	rep := f.Report
	if rep.Rows != 1000 || rep.Accepted != 997 || rep.Rejected != 3 || rep.AcceptedRial != total {
		t.Fatalf("report: rows %d accepted %d rejected %d rial %d, want 1000 997 3 %d", rep.Rows, rep.Accepted, rep.Rejected, rep.AcceptedRial, total)
	}
	want := []struct {
		row         int
		field, code string
	}{{102, "sheba", "sheba_invalid"}, {502, "amount", "amount_at_or_over_cap"}, {902, "sheba", "bank_unknown"}}
	if len(rep.Errors) != 3 {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	for i, e := range rep.Errors {
		if e.Row != want[i].row || e.Field != want[i].field {
			t.Errorf("error %d: row %d field %q (%s), want row %d field %q", i, e.Row, e.Field, e.Code, want[i].row, want[i].field)
		}
	}
	if rep.Errors[1].Code.String() != want[1].code || rep.Errors[0].Code.String() != want[0].code {
		t.Errorf("codes %s %s %s", rep.Errors[0].Code, rep.Errors[1].Code, rep.Errors[2].Code)
	}
	// The file and its errors read back, paged.
	var got api.PAYAFile
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/files/"+f.ID, w.bank("017"), nil, &got)
	if got.Report.Accepted != 997 || len(got.Report.Errors) != 3 {
		t.Errorf("the stored file: %+v", got.Report)
	}
	var pg api.PAYAFileErrors
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/files/"+f.ID+"/errors?limit=2", w.bank("017"), nil, &pg)
	if len(pg.Errors) != 2 || pg.NextCursor == "" || pg.Errors[1].Row != 502 {
		t.Fatalf("errors page 1: %+v", pg)
	}
	cursor := pg.NextCursor
	pg = api.PAYAFileErrors{}
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/files/"+f.ID+"/errors?limit=2&cursor="+cursor, w.bank("017"), nil, &pg)
	if len(pg.Errors) != 1 || pg.NextCursor != "" || pg.Errors[0].Row != 902 {
		t.Fatalf("errors page 2: %+v", pg)
	}
	if held := w.satnaHeld("017", payer.SHEBA); held != payerBefore-total {
		t.Errorf("payer after intake: %d, want %d", held, payerBefore-total)
	}
	w.audit()

	w.payAdvance("1404/02/01 10:00")
	c := w.payCycle(cycleOf(t, "1404/02/01 09:45"))
	if c.Status != "done" || c.Entries != 997 || c.TotalRial != total || payNets(c)["017"] != total {
		t.Fatalf("cycle: %+v", c)
	}
	for s, amt := range credited {
		if got := w.payHeld(s); got != before[s]+amt {
			t.Errorf("payee %s: %d, want %d", s, got, before[s]+amt)
		}
	}
	var page api.PAYAEntryPage
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/entries?file="+f.ID+"&status=posted&limit=1000", w.bank("017"), nil, &page)
	if len(page.Entries) != 997 {
		t.Errorf("posted entries of the file: %d, want 997", len(page.Entries))
	}
	w.audit()
}

// payHeld is a customer's balance, whichever bank holds it.
func (w *world) payHeld(s string) int64 {
	w.t.Helper()
	x, err := sheba.Parse(s, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.satnaHeld(x.BankCode(), s)
}

// TestPAYADuplicateFile: a file sent again under its reference is refused with the original's id, and
// nothing of it enters PAYA twice.
func TestPAYADuplicateFile(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	payer := w.satnaPick("017", 1_000_000_000)
	ps := w.payees("012")
	body := payCSV([][]string{{ps[0].SHEBA, "5000000", "الف", "", "d-1"}, {ps[1].SHEBA, "6000000", "ب", "", "d-2"}})
	st, f, b := w.payUpload("017", "dup-1", payer, body, false)
	if st != http.StatusCreated || f.Report.Accepted != 2 {
		t.Fatalf("first upload: %d %s", st, b)
	}
	held := w.satnaHeld("017", payer.SHEBA)
	st, again, b := w.payUpload("017", "dup-1", payer, body, false)
	if st != http.StatusConflict || !strings.Contains(string(b), f.ID) {
		t.Fatalf("second upload: %d %s, want 409 naming %s", st, b, f.ID)
	}
	_ = again
	if now := w.satnaHeld("017", payer.SHEBA); now != held {
		t.Errorf("the duplicate moved the payer: %d → %d", held, now)
	}
	var page api.PAYAEntryPage
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/entries?file="+f.ID, w.bank("017"), nil, &page)
	if len(page.Entries) != 2 {
		t.Errorf("entries of the file: %d", len(page.Entries))
	}
	// A single entry repeated answers the original (200); the same reference with other fields is a 409.
	req := payaCredit(payer, ps[2], 7*u, "single-1")
	e := w.paySubmit("017", req)
	var rep api.PAYAEntry
	w.must(http.StatusOK, http.MethodPost, "/v1/paya/entries", w.bank("017"), req, &rep)
	if rep.ID != e.ID {
		t.Errorf("repeat: %s, want %s", rep.ID, e.ID)
	}
	req.AmountRial++
	w.must(http.StatusConflict, http.MethodPost, "/v1/paya/entries", w.bank("017"), req, nil)
}

// TestPAYAHolidayWaits: entries submitted on a holiday (Friday 1404/02/05) wait for the next business day's
// first cycle (Saturday 03:45); the holiday runs none (the seed rulebook's paya_holiday_cycles is 0).
func TestPAYAHolidayWaits(t *testing.T) {
	w := boot(t, "1404/02/05 10:00")
	payer := w.satnaPick("017", 1_000_000_000)
	payee := w.payees("012")[0]
	e := w.paySubmit("017", payaCredit(payer, payee, 9*u, "holiday-1"))
	day, err := calendar.Default().NextBusinessDay(calendar.DateOf(jalali(t, "1404/02/05 10:00")).AddDays(1))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%sT03:45", day)
	if e.Cycle != want {
		t.Fatalf("cycle %s, want %s (the next business day's first)", e.Cycle, want)
	}
	w.payAdvance("1404/02/05 23:00") // past every cut-off of the holiday
	if got := w.payGet("017", e.ID); got.Status != "accepted" {
		t.Fatalf("after the holiday's cut-offs: %s, want accepted", got.Status)
	}
	var cs api.PAYACyclePage
	w.must(http.StatusOK, http.MethodGet, "/v1/paya/cycles", w.operator(), nil, &cs)
	if len(cs.Cycles) != 0 {
		t.Errorf("cycles ran on the holiday: %+v", cs.Cycles)
	}
	w.payAdvance(day.Jalali().String() + " 04:00")
	if got := w.payGet("012", e.ID); got.Status != "posted" {
		t.Fatalf("after the first cycle of %s: %s, want posted", day, got.Status)
	}
	w.audit()
}

// TestPAYANettingAndShortBank: three banks' entries net to a hand-computed set, settled at once; then a bank
// short of liquidity is left out of the next cycle, its entries carried to the one after, the others settle.
func TestPAYANettingAndShortBank(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	a, b, c := w.satnaPick("017", 2_000_000_000), w.satnaPick("012", 2_000_000_000), w.satnaPick("054", 2_000_000_000)
	pb, pc, pa := w.payees("012")[1], w.payees("054")[1], w.payees("017")[1]
	// 017 → 012: 100u, 012 → 054: 70u, 054 → 017: 50u, 017 → 054: 30u.
	w.paySubmit("017", payaCredit(a, pb, 100*u, "n-1"))
	w.paySubmit("012", payaCredit(b, pc, 70*u, "n-2"))
	w.paySubmit("054", payaCredit(c, pa, 50*u, "n-3"))
	w.paySubmit("017", payaCredit(a, pc, 30*u, "n-4"))
	// By hand: 017 pays 100 + 30 − 50 = 80; 012 receives 100 − 70 = 30; 054 receives 70 + 30 − 50 = 50.
	nets := map[string]int64{"017": 80 * u, "012": -30 * u, "054": -50 * u}
	before := w.satnaBalances("017", "012", "054")
	w.payAdvance("1404/02/01 10:00")
	cy := w.payCycle(cycleOf(t, "1404/02/01 09:45"))
	if got := payNets(cy); len(got) != 3 || got["017"] != nets["017"] || got["012"] != nets["012"] || got["054"] != nets["054"] {
		t.Fatalf("nets %v, want %v", got, nets)
	}
	w.satnaExpectMoved("the netted cycle", before, map[string]int64{"017": -80 * u, "012": 30 * u, "054": 50 * u})
	w.audit()

	// 055 owes 120u but holds 1u: left out; 017 → 012 10u settles; 055's entry waits.
	d := w.satnaPick("055", 1_000_000_000)
	short := w.paySubmit("055", payaCredit(d, pa, 120*u, "s-1"))
	other := w.paySubmit("017", payaCredit(a, pb, 10*u, "s-2"))
	w.satnaDrain("055", 1*u, "drain-055")
	before = w.satnaBalances("017", "012", "055")
	w.payAdvance("1404/02/01 13:00")
	cy = w.payCycle(cycleOf(t, "1404/02/01 12:45"))
	if len(cy.Excluded) != 1 || cy.Excluded[0] != (api.PAYAExcluded{Bank: "055", Reason: "short"}) || cy.Deferred != 1 {
		t.Fatalf("cycle: excluded %+v, deferred %d", cy.Excluded, cy.Deferred)
	}
	w.satnaExpectMoved("the cycle without 055", before, map[string]int64{"017": -10 * u, "012": 10 * u})
	if got := w.payGet("055", short.ID); got.Status != "deferred" || got.Cycle != cycleOf(t, "1404/02/01 18:45") {
		t.Errorf("055's entry: %s in %s, want deferred to the 18:45 cycle", got.Status, got.Cycle)
	}
	if got := w.payGet("017", other.ID); got.Status != "posted" {
		t.Errorf("017's entry: %s, want posted", got.Status)
	}
	if n := w.payNotices("055", "paya.cycle.deferred"); n != 1 {
		t.Errorf("055 told of its deferral %d times, want once", n)
	}
	w.audit()
	// With liquidity, the next cycle settles it.
	w.satnaInject("055", 200*u, "inject-055")
	w.payAdvance("1404/02/01 19:00")
	if got := w.payGet("055", short.ID); got.Status != "posted" {
		t.Errorf("055's entry after the 18:45 cycle: %s, want posted", got.Status)
	}
	w.audit()
}

// payNotices counts bank's events of type typ.
func (w *world) payNotices(bank, typ string) int {
	w.t.Helper()
	var page struct {
		Events []api.Event `json:"events"`
	}
	w.must(http.StatusOK, http.MethodGet, "/v1/events?limit=1000", w.bank(bank), nil, &page)
	n := 0
	for _, e := range page.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestPAYAReturns: a credit to a closed account is returned by its simulated bank in its cycle, and the return
// settles in the next, giving the payer back the amount.
func TestPAYAReturns(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	payer := w.satnaPick("017", 1_000_000_000)
	closed := w.magic("012", "account_closed")
	held := w.satnaHeld("017", payer.SHEBA)
	e := w.paySubmit("017", api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: "الف", PayeeSHEBA: closed,
		PayeeName: "بسته", AmountRial: 40 * u, Reference: "r-1"})
	w.payAdvance("1404/02/01 10:00")
	got := w.payGet("017", e.ID)
	if got.Status != "returned" || got.ReturnCode != "account_closed" || got.ReturnedBy == "" {
		t.Fatalf("entry: %+v, want returned account_closed", got)
	}
	ret := w.payGet("017", got.ReturnedBy)
	if ret.ReturnOf != e.ID || ret.Cycle != cycleOf(t, "1404/02/01 12:45") || ret.Status != "accepted" {
		t.Fatalf("return: %+v, want accepted into the 12:45 cycle", ret)
	}
	if now := w.satnaHeld("017", payer.SHEBA); now != held-40*u {
		t.Errorf("payer before the return settles: %d, want %d", now, held-40*u)
	}
	w.audit()
	before := w.satnaBalances("017", "012")
	w.payAdvance("1404/02/01 13:00")
	if ret = w.payGet("017", ret.ID); ret.Status != "posted" {
		t.Fatalf("return after its cycle: %s, want posted", ret.Status)
	}
	w.satnaExpectMoved("the return's cycle", before, map[string]int64{"017": 40 * u, "012": -40 * u})
	if now := w.satnaHeld("017", payer.SHEBA); now != held {
		t.Errorf("payer after the return: %d, want %d", now, held)
	}
}

// TestPAYAMandates: debits under a mandate — one without a mandate is rejected, one over the maximum per debit
// is rejected, the month's count is enforced, a revoked mandate stops the next debit at intake, and one
// accepted before the revocation is returned mandate_revoked by the payer's bank.
func TestPAYAMandates(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	biller := w.satnaPick("012", 0)
	payer := w.satnaPick("017", 1_000_000_000)
	var m api.PAYAMandate
	w.must(http.StatusCreated, http.MethodPost, "/v1/paya/mandates", w.bank("012"), api.PAYAMandateRequest{BillerSHEBA: biller.SHEBA,
		BillerName: "شرکت آب", PayerSHEBA: payer.SHEBA, PayerName: "مشترک", MaxPerDebitRial: 20 * u, MaxDebitsPerMonth: 3,
		StartDate: "1404/02/01", EndDate: "1405/01/31", BillerReference: "water-1"}, &m)
	if m.Status != "active" || m.PayerBank != "017" {
		t.Fatalf("mandate: %+v, want active (a simulated payer's bank approves at once)", m)
	}
	debit := func(ref string, amount int64, mandate string) api.PAYAEntryRequest {
		return api.PAYAEntryRequest{Core: "debit", PayerSHEBA: payer.SHEBA, PayerName: "مشترک", PayeeSHEBA: biller.SHEBA,
			PayeeName: "شرکت آب", AmountRial: amount, Reference: ref, MandateID: mandate}
	}
	w.payRejected("012", debit("b-0", 5*u, ""), "mandate_missing", "mandate_id")
	w.payRejected("012", debit("b-1", 5*u, "0196590a-6f00-7a3e-8c01-5d2e4b7f9a10"), "no_mandate", "mandate_id")
	w.payRejected("012", debit("b-2", 21*u, m.ID), "mandate_limit_exceeded", "amount_rial")
	payerHeld, billerHeld := w.satnaHeld("017", payer.SHEBA), w.satnaHeld("012", biller.SHEBA)
	d1 := w.paySubmit("012", debit("b-3", 20*u, m.ID))
	d2 := w.paySubmit("012", debit("b-4", 10*u, m.ID))
	w.payAdvance("1404/02/01 10:00")
	for _, d := range []api.PAYAEntry{d1, d2} {
		if got := w.payGet("012", d.ID); got.Status != "posted" {
			t.Errorf("debit %s: %s, want posted", d.Reference, got.Status)
		}
	}
	if p, b := w.satnaHeld("017", payer.SHEBA), w.satnaHeld("012", biller.SHEBA); p != payerHeld-30*u || b != billerHeld+30*u {
		t.Errorf("payer %d → %d, biller %d → %d: want 30u moved", payerHeld, p, billerHeld, b)
	}
	d3 := w.paySubmit("012", debit("b-5", 1*u, m.ID))                                     // the month's third
	w.payRejected("012", debit("b-6", 1*u, m.ID), "mandate_limit_exceeded", "mandate_id") // a fourth in 1404/02
	// Revoked by the payer, through its bank: d3 (accepted before) is returned; a new debit is refused.
	w.must(http.StatusOK, http.MethodPost, "/v1/paya/mandates/"+m.ID+"/revoke", w.bank("017"), api.PAYAMandateDecision{}, &m)
	if m.Status != "revoked" {
		t.Fatalf("after revoke: %s", m.Status)
	}
	w.must(http.StatusForbidden, http.MethodPost, "/v1/paya/mandates/"+m.ID+"/approve", w.bank("012"), api.PAYAMandateDecision{}, nil)
	w.payAdvance("1404/02/01 13:00")
	if got := w.payGet("012", d3.ID); got.Status != "returned" || got.ReturnCode != "mandate_revoked" {
		t.Errorf("debit after the revocation: %s %s, want returned mandate_revoked", got.Status, got.ReturnCode)
	}
	// The next month's first debit would be counted afresh, but the mandate is revoked.
	w.payAdvance("1404/03/01 08:00")
	w.payRejected("012", debit("b-7", 1*u, m.ID), "mandate_revoked", "mandate_id")
	w.payAdvance("1404/03/01 13:00")
	if p := w.satnaHeld("017", payer.SHEBA); p != payerHeld-30*u {
		t.Errorf("payer after the returned debit: %d, want %d", p, payerHeld-30*u)
	}
	w.audit()
}

// TestPAYADebitInsufficientFunds: a debit whose payer cannot cover it is returned insufficient_funds, and its
// return (which moves no customer: neither leg was booked) settles in the next cycle.
func TestPAYADebitInsufficientFunds(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	biller := w.satnaPick("012", 0)
	var poor api.Customer
	for _, c := range w.payees("017") {
		if c.BalanceRial != nil && *c.BalanceRial < 100*u && (poor.SHEBA == "" || *c.BalanceRial < *poor.BalanceRial) {
			poor = c
		}
	}
	if poor.SHEBA == "" {
		t.Skip("no customer of 017 under 100,000,000 rial in this seed")
	}
	amount := min(*poor.BalanceRial+1, 149*u)
	var m api.PAYAMandate
	w.must(http.StatusCreated, http.MethodPost, "/v1/paya/mandates", w.bank("012"), api.PAYAMandateRequest{BillerSHEBA: biller.SHEBA,
		BillerName: "بیمه", PayerSHEBA: poor.SHEBA, MaxPerDebitRial: 149 * u, MaxDebitsPerMonth: 5,
		StartDate: "1404/02/01", EndDate: "1404/12/29", BillerReference: "ins-1"}, &m)
	d := w.paySubmit("012", api.PAYAEntryRequest{Core: "debit", PayerSHEBA: poor.SHEBA, PayerName: "بیمه‌گذار", PayeeSHEBA: biller.SHEBA,
		PayeeName: "بیمه", AmountRial: amount, Reference: "ins-d1", MandateID: m.ID})
	held := w.satnaHeld("012", biller.SHEBA)
	w.payAdvance("1404/02/01 10:00")
	got := w.payGet("012", d.ID)
	if got.Status != "returned" || got.ReturnCode != "insufficient_funds" {
		t.Fatalf("debit: %s %s, want returned insufficient_funds", got.Status, got.ReturnCode)
	}
	w.payAdvance("1404/02/01 13:00")
	if ret := w.payGet("012", got.ReturnedBy); ret.Status != "posted" {
		t.Errorf("return: %s, want posted", ret.Status)
	}
	if now := w.satnaHeld("012", biller.SHEBA); now != held {
		t.Errorf("biller credited for a debit returned: %d → %d", held, now)
	}
	if now := w.satnaHeld("017", poor.SHEBA); now != *poor.BalanceRial {
		t.Errorf("payer moved by a debit returned: %d → %d", *poor.BalanceRial, now)
	}
	w.audit()
}

// TestPAYAHolidayCycleConfigured: with the rulebook's paya_holiday_cycles at 1, a Friday runs one cycle, at the
// day's last cut-off (18:45), and an entry of the morning settles in it; the 09:45 cut-off runs nothing.
func TestPAYAHolidayCycleConfigured(t *testing.T) {
	book, err := rulebook.Load(strings.NewReader(`{"profiles": {"seed": {"paya_holiday_cycles": 1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	w := boot(t, "1404/02/05 08:00", func(c *server.Config) { c.Rulebook = book })
	payer := w.satnaPick("017", 1_000_000_000)
	e := w.paySubmit("017", payaCredit(payer, w.payees("012")[0], 9*u, "friday-1"))
	if want := cycleOf(t, "1404/02/05 18:45"); e.Cycle != want {
		t.Fatalf("cycle %s, want %s (the holiday's one cycle)", e.Cycle, want)
	}
	w.payAdvance("1404/02/05 10:00")
	if got := w.payGet("017", e.ID); got.Status != "accepted" {
		t.Fatalf("after 09:45 on the holiday: %s, want accepted", got.Status)
	}
	w.payAdvance("1404/02/05 19:00")
	if got := w.payGet("017", e.ID); got.Status != "posted" {
		t.Fatalf("after the holiday's 18:45 cycle: %s, want posted", got.Status)
	}
	w.audit()
}

// TestPAYACreditFee: under the 1404 rulebook a credit pays 0.01 % (at least 2,000, at most 25,000 rial) on top:
// 100,000,000 rial costs its payer 100,010,000, and 500,000,000 costs 500,025,000 (the maximum).
func TestPAYACreditFee(t *testing.T) {
	w := boot(t, "1404/02/20 08:00", func(c *server.Config) { c.Rules = "1404" })
	payer := w.satnaPick("017", 1_000_000_000)
	payee := w.payees("012")[0]
	for _, c := range []struct {
		amount, fee int64
	}{{100 * u, 10_000}, {500 * u, 25_000}, {1 * u, 2_000}} {
		held := w.satnaHeld("017", payer.SHEBA)
		e := w.paySubmit("017", payaCredit(payer, payee, c.amount, fmt.Sprintf("fee-%d", c.amount)))
		if e.FeeRial != c.fee {
			t.Errorf("%d rial: fee %d, want %d", c.amount, e.FeeRial, c.fee)
		}
		if got := held - w.satnaHeld("017", payer.SHEBA); got != c.amount+c.fee {
			t.Errorf("%d rial: the payer paid %d, want %d", c.amount, got, c.amount+c.fee)
		}
	}
	w.payAdvance("1404/02/20 10:00")
	w.audit()
}
