package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// demoPAYARows is the size of the demo's payroll file.
const demoPAYARows = 10_000

// demoPAYA shows PAYA on the demo's switch, on the business day 1404/01/07 from 00:00: a 10,000-row payroll
// file with four bad rows (dry run, then upload), other banks' credits so that the 03:45 cycle nets three
// ways, bills collected under mandates — one over its limit, one after its mandate was revoked — and a credit
// to a closed account returned in its cycle, the return settling in the next one.
func demoPAYA(ctx context.Context, w io.Writer, srv *server.Server, op *opClient) error {
	bank := func(code string) *opClient {
		return &opClient{base: srv.URL(), key: srv.Keys().Banks[code], http: op.http}
	}
	customers := func(code string) ([]api.Customer, error) {
		var pg api.CustomerPage
		err := op.call(ctx, http.MethodGet, "/v1/directory/customers?limit=1000&bank="+code, nil, &pg)
		return pg.Customers, err
	}
	fmt.Fprintln(w, "  PAYA, at 1404/01/07 00:00 (Thursday, a business day; cycles at 03:45, 09:45, 12:45, 18:45):")

	// The employer: 017's richest ordinary customer; the payees: ordinary customers of four other banks.
	c017, err := customers("017")
	if err != nil {
		return err
	}
	var employer api.Customer
	for _, c := range c017 {
		if c.Status == "active" && c.Magic == "" && (employer.SHEBA == "" || *c.BalanceRial > *employer.BalanceRial) {
			employer = c
		}
	}
	var payees []api.Customer
	for _, code := range []string{"012", "054", "055", "057"} {
		cs, err := customers(code)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Status == "active" && c.Magic == "" {
				payees = append(payees, c)
			}
		}
	}
	if employer.SHEBA == "" || len(payees) == 0 {
		return errors.New("demo: no employer or payees in the directory")
	}
	file, bad := demoPayroll(payees)
	q := url.Values{"format": {"csv"}, "reference": {"payroll-1404-01"}, "payer_sheba": {employer.SHEBA}, "payer_name": {"شرکت نمونه"}}
	upload := func(dry bool) (api.PAYAFile, int, error) {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		if dry {
			v.Set("dry_run", "true")
		}
		res, err := bank("017").raw(ctx, http.MethodPost, "/v1/paya/files?"+v.Encode(), "text/csv", bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return api.PAYAFile{}, 0, err
		}
		defer res.Body.Close()
		var f api.PAYAFile
		b, _ := io.ReadAll(io.LimitReader(res.Body, 16<<20))
		if err := json.Unmarshal(b, &f); err != nil || res.StatusCode >= 300 && res.StatusCode != http.StatusConflict {
			return f, res.StatusCode, fmt.Errorf("upload: %d %s", res.StatusCode, b)
		}
		return f, res.StatusCode, nil
	}
	dry, _, err := upload(true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "    POST /v1/paya/files?dry_run=true — a %d-row payroll CSV (%s bytes), %d rows bad on purpose: %s\n",
		demoPAYARows, groupDigits(int64(len(file))), len(bad), dry.Status)
	f, st, err := upload(false)
	if err != nil {
		return err
	}
	rep := f.Report
	fmt.Fprintf(w, "    POST /v1/paya/files → %d %s: %d rows, %d accepted (%s rial), %d rejected:\n", st, f.Status, rep.Rows,
		rep.Accepted, groupDigits(rep.AcceptedRial), rep.Rejected)
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "      row %-6d %-8s %-22s %s\n", e.Row, e.Field, e.Code, e.Message)
	}
	for _, b := range rep.Banks {
		fmt.Fprintf(w, "      to %s: %5d entries, %18s rial\n", b.Bank, b.Entries, groupDigits(b.AmountRial))
	}
	if rep.Accepted != demoPAYARows-len(bad) || rep.Rejected != len(bad) {
		return fmt.Errorf("demo: the file's report has %d accepted, %d rejected; want %d and %d", rep.Accepted, rep.Rejected, demoPAYARows-len(bad), len(bad))
	}
	if _, st, err := upload(false); err != nil || st != http.StatusConflict {
		return fmt.Errorf("demo: the file sent again answered %d (%v), want 409", st, err)
	}
	fmt.Fprintln(w, "    the same file again → 409 duplicate_file, naming the first: nothing enters twice")

	// Credits the other way, so that the cycle nets: 012 and 054 pay 017's customers.
	pick := func(cs []api.Customer, magic string) api.Customer {
		for _, c := range cs {
			if c.Magic == magic && (magic != "" || c.Status == "active") {
				return c
			}
		}
		return api.Customer{}
	}
	c012, err := customers("012")
	if err != nil {
		return err
	}
	c054, err := customers("054")
	if err != nil {
		return err
	}
	submit := func(code string, req api.PAYAEntryRequest) (api.PAYAEntry, error) {
		var e api.PAYAEntry
		err := bank(code).call(ctx, http.MethodPost, "/v1/paya/entries", req, &e)
		return e, err
	}
	credit := func(payer, payee api.Customer, amount int64, ref string) api.PAYAEntryRequest {
		return api.PAYAEntryRequest{Core: "credit", PayerSHEBA: payer.SHEBA, PayerName: payer.Name, PayeeSHEBA: payee.SHEBA,
			PayeeName: payee.Name, AmountRial: amount, Reference: ref, Description: "اجاره"}
	}
	for _, e := range []struct {
		code         string
		payer, payee api.Customer
		amount       int64
	}{{"012", richest(c012), pick(c017, ""), 120_000_000}, {"054", richest(c054), pick(c017, ""), 90_000_000}} {
		if _, err := submit(e.code, credit(e.payer, e.payee, e.amount, "rent-"+e.code)); err != nil {
			return err
		}
	}
	closed := pick(c012, "account_closed")
	toClosed, err := submit("017", credit(employer, closed, 45_000_000, "to-closed"))
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "    single entries: 012 and 054 pay 017's customers 120,000,000 and 90,000,000; 017 pays 45,000,000 to 012's closed account")

	// Bills under mandates: 012 is the water company's bank, its subscribers bank at 017.
	subscriber := c017[len(c017)/2]
	for _, c := range c017 {
		if c.Status == "active" && c.Magic == "" && c.SHEBA != employer.SHEBA && *c.BalanceRial > 100_000_000 {
			subscriber = c
			break
		}
	}
	biller := pick(c012, "")
	mandate := func(ref string, max int64) (api.PAYAMandate, error) {
		var m api.PAYAMandate
		err := bank("012").call(ctx, http.MethodPost, "/v1/paya/mandates", api.PAYAMandateRequest{BillerSHEBA: biller.SHEBA,
			BillerName: "شرکت آب و فاضلاب", PayerSHEBA: subscriber.SHEBA, PayerName: subscriber.Name, MaxPerDebitRial: max,
			MaxDebitsPerMonth: 2, StartDate: "1404/01/01", EndDate: "1404/12/29", BillerReference: ref}, &m)
		return m, err
	}
	m1, err := mandate("water-1001", 5_000_000)
	if err != nil {
		return err
	}
	m2, err := mandate("sewer-1001", 3_000_000)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "    mandates requested by 012 for 017's customer: %s… %s (max %s a debit, 2 a month), %s… %s\n",
		m1.ID[:8], m1.Status, groupDigits(m1.MaxPerDebitRial), m2.ID[:8], m2.Status)
	debit := func(ref string, amount int64, m api.PAYAMandate) api.PAYAEntryRequest {
		return api.PAYAEntryRequest{Core: "debit", PayerSHEBA: subscriber.SHEBA, PayerName: subscriber.Name, PayeeSHEBA: biller.SHEBA,
			PayeeName: "شرکت آب و فاضلاب", AmountRial: amount, Reference: ref, MandateID: m.ID, Description: "قبض فروردین"}
	}
	bill, err := submit("012", debit("bill-1", 4_200_000, m1))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "    a bill of 4,200,000 under the first: %s\n", bill.Status)
	var over *api.Error
	_, err = submit("012", debit("bill-2", 6_000_000, m1))
	if !errors.As(err, &over) {
		return fmt.Errorf("demo: a debit over its mandate's maximum: %v", err)
	}
	fmt.Fprintf(w, "    a bill of 6,000,000 under it → %d %s (%s)\n", over.GetStatus(), over.Reason, over.Message)
	if err := bank("017").call(ctx, http.MethodPost, "/v1/paya/mandates/"+m2.ID+"/revoke", api.PAYAMandateDecision{Reason: "the customer asked"}, &m2); err != nil {
		return err
	}
	var revoked *api.Error
	_, err = submit("012", debit("bill-3", 2_000_000, m2))
	if !errors.As(err, &revoked) {
		return fmt.Errorf("demo: a debit under a revoked mandate: %v", err)
	}
	fmt.Fprintf(w, "    017 revokes the second for its customer (%s); a bill under it → %d %s\n", m2.Status, revoked.GetStatus(), revoked.Reason)

	// The 03:45 cycle, then the 09:45 one that carries the return.
	var adv api.AdvanceResult
	if err := op.call(ctx, http.MethodPost, "/v1/operator/clock/advance", api.AdvanceRequest{To: "1404/01/07 04:00"}, &adv); err != nil {
		return err
	}
	var cy api.PAYACycle
	if err := op.call(ctx, http.MethodGet, "/v1/paya/cycles/"+toClosed.Cycle, nil, &cy); err != nil {
		return err
	}
	fmt.Fprintf(w, "    the clock to 04:00: cycle %s (%s) %s — %d entries, %s rial, netted to one set per bank:\n",
		cy.Jalali, cy.ID, cy.Status, cy.Entries, groupDigits(cy.TotalRial))
	for _, n := range cy.Nets {
		fmt.Fprintf(w, "      %s sent %5d (%18s) received %5d (%18s) net %19s  posted %5d returned %d\n", n.Bank, n.SentEntries,
			groupDigits(n.SentRial), n.RecvEntries, groupDigits(n.RecvRial), groupDigits(n.NetRial), n.Posted, n.Returned)
	}
	var got api.PAYAEntry
	if err := bank("017").call(ctx, http.MethodGet, "/v1/paya/entries/"+toClosed.ID, nil, &got); err != nil {
		return err
	}
	var ret api.PAYAEntry
	if err := bank("017").call(ctx, http.MethodGet, "/v1/paya/entries/"+got.ReturnedBy, nil, &ret); err != nil {
		return err
	}
	fmt.Fprintf(w, "    the credit to the closed account: %s (%s); its return %s… is %s, in cycle %s\n", got.Status, got.ReturnCode,
		ret.ID[:8], ret.Status, ret.Cycle)
	if err := bank("012").call(ctx, http.MethodGet, "/v1/paya/entries/"+bill.ID, nil, &got); err != nil {
		return err
	}
	fmt.Fprintf(w, "    the bill: %s — 017 debited its customer, 012 credited the water company\n", got.Status)
	if err := op.call(ctx, http.MethodPost, "/v1/operator/clock/advance", api.AdvanceRequest{To: "1404/01/07 10:00"}, &adv); err != nil {
		return err
	}
	if err := bank("017").call(ctx, http.MethodGet, "/v1/paya/entries/"+ret.ID, nil, &ret); err != nil {
		return err
	}
	fmt.Fprintf(w, "    the clock to 10:00: the return settled in the 09:45 cycle and is %s: 45,000,000 back with 017's employer\n", ret.Status)
	return nil
}

// richest is the active, ordinary customer with the largest balance.
func richest(cs []api.Customer) api.Customer {
	var best api.Customer
	for _, c := range cs {
		if c.Status == "active" && c.Magic == "" && c.BalanceRial != nil && (best.SHEBA == "" || *c.BalanceRial > *best.BalanceRial) {
			best = c
		}
	}
	return best
}

// demoPayroll builds the demo's payroll CSV: demoPAYARows rows to the payees in turn, four of them bad (a
// SHEBA with its check digits off by one, an amount of exactly the seed cap, an amount that is not a number,
// an empty name), and answers the bad rows' lines.
func demoPayroll(payees []api.Customer) ([]byte, []int) {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"sheba", "amount", "name", "description", "reference"})
	var bad []int
	for i := 1; i <= demoPAYARows; i++ {
		p := payees[i%len(payees)]
		row := []string{p.SHEBA, groupDigits(int64(2_000_000 + (i%97)*10_000)), p.Name, "حقوق فروردین ۱۴۰۴", "emp-" + strconv.Itoa(i)}
		switch i {
		case 1234:
			d := (int(p.SHEBA[2]-'0')*10 + int(p.SHEBA[3]-'0') + 1) % 100
			row[0] = fmt.Sprintf("%s%02d%s", p.SHEBA[:2], d, p.SHEBA[4:])
		case 4321:
			row[1] = "150,000,000"
		case 6000:
			row[1] = "۱۲الف"
		case 9999:
			row[2] = ""
		default:
			_ = cw.Write(row)
			continue
		}
		bad = append(bad, i+1) // the header is line 1
		_ = cw.Write(row)
	}
	cw.Flush()
	slices.Sort(bad)
	return b.Bytes(), bad
}
