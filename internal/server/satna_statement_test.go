package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
)

// TestSATNAStatementOfADay: the day's opening balance, every posted movement with the balance after it, the
// closing balance; a day without movements opens and closes at the previous close; Jalali and Gregorian
// dates name the same day.
func TestSATNAStatementOfADay(t *testing.T) {
	w := boot(t, "1404/02/01 09:00") // 2025-04-21; funding happens at boot
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "012", AmountRial: 7_000_000, Reference: "st-1"}, nil)
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("012"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "017", AmountRial: 2_000_000, Reference: "st-2"}, nil)
	var st api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/1404-02-01", w.bank("017"), nil, &st)
	var acct api.SettlementAccount
	w.must(http.StatusOK, http.MethodGet, "/v1/settlement-account", w.bank("017"), nil, &acct)
	if st.Date != "2025-04-21" || st.Jalali != "1404/02/01" || st.OpeningRial != 0 || st.ClosingRial != acct.BalanceRial || len(st.Movements) != 3 {
		t.Fatalf("statement %+v (balance now %d)", st, acct.BalanceRial)
	}
	run := st.OpeningRial
	for _, m := range st.Movements {
		if m.Direction == "debit" {
			run -= m.AmountRial
		} else {
			run += m.AmountRial
		}
		if m.BalanceRial != run {
			t.Errorf("line %s: balance %d, want %d", m.ID, m.BalanceRial, run)
		}
	}
	if k := st.Movements[1]; k.Kind != "satna" || k.Direction != "debit" || k.AmountRial != 7_000_000 {
		t.Errorf("the order's line: %+v", k)
	}
	var next api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/2025-04-22", w.bank("017"), nil, &next)
	if next.OpeningRial != st.ClosingRial || next.ClosingRial != st.ClosingRial || len(next.Movements) != 0 {
		t.Errorf("a quiet day: %+v", next)
	}
	w.must(http.StatusUnprocessableEntity, http.MethodGet, "/v1/satna/statements/21-04-2025", w.bank("017"), nil, nil)
	w.audit()
}

// get sends a GET with key and, when not empty, an Accept header; it returns the status, headers and body.
func (w *world) get(path, key, accept string) (int, http.Header, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.url+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// statementCSV fetches a statement as CSV and checks what every CSV answer carries: the media type, the
// attachment's name and Vary.
func (w *world) statementCSV(path, key, accept, filename string) []byte {
	w.t.Helper()
	status, h, body := w.get(path, key, accept)
	if status != http.StatusOK {
		w.t.Fatalf("GET %s (Accept %q): %d %s", path, accept, status, body)
	}
	if ct := h.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		w.t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if cd, want := h.Get("Content-Disposition"), `attachment; filename="`+filename+`"`; cd != want {
		w.t.Errorf("GET %s: Content-Disposition %q, want %q", path, cd, want)
	}
	if v := h.Get("Vary"); v != "Accept" {
		w.t.Errorf("GET %s: Vary %q, want Accept", path, v)
	}
	if !utf8.Valid(body) || bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		w.t.Errorf("GET %s: not UTF-8 without a BOM: %q", path, body)
	}
	return body
}

// unguard undoes the CSV's formula guard as the route documents it: a single quote before what would start a
// formula, or before a single quote, is dropped; any other cell is the value itself (so a guard where none is
// due shows up as a difference from the JSON).
func unguard(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r\n'", rune(s[1])) {
		return s[1:]
	}
	return s
}

// checkStatementCSV parses a CSV statement and checks it against the JSON one record by record: the header,
// the opening record at 00:00 Tehran, one movement per JSON line with the same fields, the closing record at
// the day's end; and that the CSV alone adds up: opening plus each signed amount gives each balance, and the
// last the closing one.
func checkStatementCSV(t *testing.T, body []byte, st api.Statement) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll() // every row must have the header's width
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, body)
	}
	header := []string{"record", "jalali", "at", "id", "kind", "direction", "amount_rial", "balance_after_rial", "counterpart", "reference"}
	if len(rows) != len(st.Movements)+3 || !slices.Equal(rows[0], header) {
		t.Fatalf("%d rows (want a header, an opening, %d movements, a closing), header %q\n%s", len(rows), len(st.Movements), rows[0], body)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	field := func(row []string, name string) string { return row[col[name]] }
	rial := func(row []string, name string) int64 {
		n, err := strconv.ParseInt(field(row, name), 10, 64)
		if err != nil {
			t.Fatalf("%s %q: %v", name, field(row, name), err)
		}
		return n
	}
	at := func(row []string) time.Time {
		s := field(row, "at")
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !strings.HasSuffix(s, "+03:30") {
			t.Fatalf("at %q: not RFC 3339 at Tehran's offset (%v)", s, err)
		}
		return v
	}
	day, err := calendar.ParseDate(st.Date)
	if err != nil {
		t.Fatal(err)
	}
	open, closing := rows[1], rows[len(rows)-1]
	if field(open, "record") != "opening" || field(open, "jalali") != st.Jalali+" 00:00" || !at(open).Equal(day.At(0, 0)) ||
		rial(open, "balance_after_rial") != st.OpeningRial {
		t.Errorf("opening record %q, want %s 00:00 and %d", open, st.Jalali, st.OpeningRial)
	}
	end := day.AddDays(1)
	if field(closing, "record") != "closing" || field(closing, "jalali") != end.Jalali().String()+" 00:00" || !at(closing).Equal(end.At(0, 0)) ||
		rial(closing, "balance_after_rial") != st.ClosingRial {
		t.Errorf("closing record %q, want %s 00:00 and %d", closing, end.Jalali(), st.ClosingRial)
	}
	run := rial(open, "balance_after_rial")
	for i, m := range st.Movements {
		row := rows[i+2]
		got := api.StatementLine{At: at(row), Jalali: field(row, "jalali"), ID: unguard(field(row, "id")),
			Direction: unguard(field(row, "direction")), AmountRial: rial(row, "amount_rial"), Kind: unguard(field(row, "kind")),
			Reference: unguard(field(row, "reference")), Counterpart: unguard(field(row, "counterpart")),
			BalanceRial: rial(row, "balance_after_rial")}
		if field(row, "record") != "movement" || !got.At.Equal(m.At) {
			t.Errorf("row %d: record %q at %s, want a movement at %s", i+2, field(row, "record"), got.At, m.At)
		}
		got.At = m.At // compared above as instants; the zones' names may differ
		if got != m {
			t.Errorf("row %d:\n  csv  %+v\n  json %+v", i+2, got, m)
		}
		switch got.Direction {
		case "debit":
			run -= got.AmountRial
		case "credit":
			run += got.AmountRial
		default:
			t.Errorf("row %d: direction %q", i+2, got.Direction)
		}
		if got.BalanceRial != run {
			t.Errorf("row %d: balance %d, but the CSV's own sum is %d", i+2, got.BalanceRial, run)
		}
	}
	if run != rial(closing, "balance_after_rial") {
		t.Errorf("the CSV sums to %d, its closing record says %d", run, rial(closing, "balance_after_rial"))
	}
	for i, row := range rows {
		for j, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r\n", rune(c[0])) {
				t.Errorf("row %d column %s: %q would start a spreadsheet formula", i, header[j], c)
			}
		}
	}
	return rows
}

// TestSATNAStatementCSV: the CSV statement agrees with the JSON one movement for movement and carries the
// opening and closing balances itself; ?format=csv and Accept: text/csv give the same file; references the
// other bank chose — a sender's reference lands on the receiver's statement — are quoted where they hold commas
// and quotes and guarded where a spreadsheet would run them; a format the route does not know is 422.
func TestSATNAStatementCSV(t *testing.T) {
	w := boot(t, "1404/02/01 09:00") // 2025-04-21
	refs := map[string]string{
		"017": `INV-7, "April"`, // a comma and quotes: encoding/csv must quote the cell
		"012": `=HYPERLINK("http://e.x","go")`,
		"011": `'kept`, // starts with the guard itself
	}
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "012", AmountRial: 7_000_000, Reference: refs["017"]}, nil)
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("012"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "017", AmountRial: 2_000_000, Reference: refs["012"]}, nil)
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("011"),
		api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "017", AmountRial: 3_000_000, Reference: refs["011"]}, nil)
	for _, r := range []string{"@SUM(A1)", "+98 21", "-1+1"} {
		w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("012"),
			api.SATNAOrderRequest{Type: "interbank", ReceiverBank: "017", AmountRial: 1_000, Reference: r}, nil)
	}
	payer, payee := richCustomer(t, w, "017"), richCustomer(t, w, "012")
	w.must(http.StatusCreated, http.MethodPost, "/v1/satna/orders", w.bank("017"),
		api.SATNAOrderRequest{Type: "customer", PayerSHEBA: payer, PayerName: "Sara Ahmadi", PayeeSHEBA: payee, PayeeName: "Reza Karimi",
			AmountRial: 200_000_000, Reference: "cust-1"}, nil)

	var st api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/1404-02-01", w.bank("017"), nil, &st)
	if len(st.Movements) != 8 {
		t.Fatalf("%d movements, want funding and 7 orders: %+v", len(st.Movements), st.Movements)
	}
	const name = "satna-statement-017-2025-04-21.csv"
	body := w.statementCSV("/v1/satna/statements/1404-02-01?format=csv", w.bank("017"), "", name)
	rows := checkStatementCSV(t, body, st)
	if byAccept := w.statementCSV("/v1/satna/statements/2025-04-21", w.bank("017"), "text/csv", name); !bytes.Equal(byAccept, body) {
		t.Errorf("Accept: text/csv gives another file than ?format=csv:\n%s\n%s", byAccept, body)
	}
	if !bytes.Contains(body, []byte(`,"INV-7, ""April"""`)) {
		t.Errorf("the reference with a comma and quotes is not one quoted cell (RFC 4180):\n%s", body)
	}
	cells := map[string]string{}
	for _, row := range rows[2 : len(rows)-1] {
		cells[unguard(row[9])] = row[9]
	}
	for ref, want := range map[string]string{
		refs["017"]: refs["017"], refs["012"]: "'" + refs["012"], refs["011"]: "''kept",
		"@SUM(A1)": "'@SUM(A1)", "+98 21": "'+98 21", "-1+1": "'-1+1", "cust-1": "cust-1",
	} {
		if got, ok := cells[ref]; !ok || got != want {
			t.Errorf("reference %q: cell %q (present %v), want %q", ref, got, ok, want)
		}
	}

	// The receiving bank's statement carries the sender's reference too, guarded the same way.
	var st012 api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/1404-02-01", w.bank("012"), nil, &st012)
	checkStatementCSV(t, w.statementCSV("/v1/satna/statements/1404-02-01?format=csv", w.bank("012"), "", "satna-statement-012-2025-04-21.csv"), st012)

	// A quiet day: the opening and closing records only, at the previous close.
	var quiet api.Statement
	w.must(http.StatusOK, http.MethodGet, "/v1/satna/statements/2025-04-22", w.bank("017"), nil, &quiet)
	if rows := checkStatementCSV(t, w.statementCSV("/v1/satna/statements/2025-04-22?format=csv", w.bank("017"), "", "satna-statement-017-2025-04-22.csv"), quiet); len(rows) != 3 || quiet.OpeningRial != st.ClosingRial {
		t.Errorf("a quiet day: %q, opening %d, previous close %d", rows, quiet.OpeningRial, st.ClosingRial)
	}

	// JSON when the request says so, or prefers it; errors are JSON whatever was asked.
	for _, c := range []struct{ path, accept string }{
		{"/v1/satna/statements/1404-02-01?format=json", "text/csv"},
		{"/v1/satna/statements/1404-02-01", "text/csv;q=0.5, application/json"},
		{"/v1/satna/statements/1404-02-01", "*/*"},
		{"/v1/satna/statements/1404-02-01", ""},
	} {
		status, h, b := w.get(c.path, w.bank("017"), c.accept)
		var got api.Statement
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal(b, &got) != nil || len(got.Movements) != len(st.Movements) {
			t.Errorf("GET %s (Accept %q): %d %s %.120s, want the JSON statement", c.path, c.accept, status, h.Get("Content-Type"), b)
		}
	}
	for _, c := range []struct{ path, accept, field string }{
		{"/v1/satna/statements/1404-02-01?format=xml", "", "format"},
		{"/v1/satna/statements/1404-02-01?format=CSV", "", "format"},
		{"/v1/satna/statements/21-04-2025?format=csv", "", "date"},
		{"/v1/satna/statements/21-04-2025", "text/csv", "date"},
	} {
		status, h, b := w.get(c.path, w.bank("017"), c.accept)
		var e api.Error
		if status != http.StatusUnprocessableEntity || json.Unmarshal(b, &e) != nil || e.Code != api.CodeInvalid || e.Field != c.field ||
			h.Get("Content-Disposition") != "" {
			t.Errorf("GET %s (Accept %q): %d %s, want 422 invalid_request on %s, as JSON", c.path, c.accept, status, b, c.field)
		}
	}
	w.audit()
}
