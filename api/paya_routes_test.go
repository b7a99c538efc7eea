package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// payaStub is a PAYABackend that records what it was asked and answers fixed values: the routes' conventions
// (statuses, content types, limits, streaming) are under test, over real HTTP.
type payaStub struct {
	PAYABackend

	mu        sync.Mutex
	uploads   int
	read      int64 // bytes UploadFile read, over all its reads
	readErr   error // the error that ended UploadFile's reading
	req       PAYAFileRequest
	firstData chan struct{} // closed once UploadFile has read uploadSeen bytes
	file      PAYAFile      // UploadFile's answer
	created   bool
	cycleBank string
	delivery  string // what PAYADelivery writes; "" answers delivery_not_made
	decision  [2]string
}

// uploadSeen is how far UploadFile must have read before the streaming test's client sends the rest.
const uploadSeen = 1 << 20

func (s *payaStub) UploadFile(_ context.Context, _ string, req PAYAFileRequest, body io.Reader) (PAYAFile, bool, error) {
	s.mu.Lock()
	s.uploads++
	s.req = req
	s.mu.Unlock()
	buf := make([]byte, 32<<10)
	var n int64
	signalled := false
	for {
		k, err := body.Read(buf)
		n += int64(k)
		if n >= uploadSeen && !signalled && s.firstData != nil {
			close(s.firstData)
			signalled = true
		}
		if err != nil {
			s.mu.Lock()
			s.read, s.readErr = n, err
			s.mu.Unlock()
			if err == io.EOF {
				break
			}
			return PAYAFile{}, false, fmt.Errorf("stub: reading the file: %w", err)
		}
	}
	f := s.file
	f.Format = req.Format
	return f, s.created, nil
}

func (s *payaStub) SubmitEntry(_ context.Context, bank string, req PAYAEntryRequest) (PAYAEntry, bool, error) {
	return PAYAEntry{ID: "e1", OriginatingBank: bank, Reference: req.Reference}, req.Reference != "again", nil
}

func (s *payaStub) RequestMandate(_ context.Context, bank string, req PAYAMandateRequest) (PAYAMandate, bool, error) {
	return PAYAMandate{ID: "m1", BillerBank: bank}, req.BillerReference != "again", nil
}

func (s *payaStub) DecideMandate(_ context.Context, _, id, action, reason string) (PAYAMandate, error) {
	s.mu.Lock()
	s.decision = [2]string{action, reason}
	s.mu.Unlock()
	return PAYAMandate{ID: id}, nil
}

func (s *payaStub) RunCycle(_ context.Context, req PAYACycleRun) (PAYACycle, error) {
	return PAYACycle{ID: req.Cycle, Status: "done"}, nil
}

func (s *payaStub) PAYACycle(_ context.Context, bank, id string) (PAYACycle, error) {
	s.mu.Lock()
	s.cycleBank = bank
	s.mu.Unlock()
	if id != "2025-04-21T09:45" {
		return PAYACycle{}, Errorf(CodeNotFound, "no cycle %s", id)
	}
	return testCycle(), nil
}

func (s *payaStub) PAYADelivery(_ context.Context, _, _, format string, w io.Writer) error {
	if s.delivery == "" {
		return Errorf(CodeDeliveryMissing, "the cycle has not delivered yet")
	}
	_, err := io.WriteString(w, format+":"+s.delivery)
	return err
}

func testCycle() PAYACycle {
	cut := time.Date(2025, 4, 21, 6, 15, 0, 0, time.UTC) // 09:45 Tehran
	return PAYACycle{ID: "2025-04-21T09:45", Jalali: "1404/02/01 09:45", Status: "done", CutOff: cut,
		Nets:     []PAYANet{{Bank: "017", SentEntries: 3, SentRial: 45_000_000, RecvEntries: 1, RecvRial: 10_000_000, NetRial: 35_000_000, Posted: 1}},
		Excluded: []PAYAExcluded{{Bank: "054", Reason: "=short"}}}
}

func servePAYA(t *testing.T, b PAYABackend) *httptest.Server {
	t.Helper()
	s, err := New(Config{Backend: stub{}, Keys: map[string]Principal{
		opKey: {Role: RoleOperator}, bankKey: {Role: RoleBank, Bank: "017"}}})
	if err != nil {
		t.Fatal(err)
	}
	RegisterPAYA(s, b)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// do sends a request and returns the status, the headers and the body.
func do(t *testing.T, ts *httptest.Server, method, path, key, contentType string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func TestPAYAUploadStatuses(t *testing.T) {
	for _, tc := range []struct {
		name, query, contentType string
		file                     PAYAFile
		created                  bool
		status                   int
		code, field, originalID  string
		uploads                  int
	}{
		{"accepted", "?reference=f1&payer_sheba=S&payer_name=N", "text/csv", PAYAFile{ID: "f1", Status: "accepted"}, true, 201, "", "", "", 1},
		{"dry run", "?reference=f1&dry_run=true", "text/csv; charset=utf-8", PAYAFile{Status: "validated"}, false, 200, "", "", "", 1},
		{"duplicate", "?reference=f1", "application/octet-stream", PAYAFile{Status: "refused", Code: CodeDuplicateFile, OriginalID: "f0"}, false, 409, CodeDuplicateFile, "", "f0", 1},
		{"duplicate without its code", "?reference=f1", "text/plain", PAYAFile{Status: "refused", OriginalID: "f0"}, false, 409, CodeDuplicateFile, "", "f0", 1},
		{"refused", "?reference=f1", "text/csv", PAYAFile{Status: "refused", Code: CodeFileRefused}, false, 422, CodeFileRefused, "", "", 1},
		{"nacha", "?reference=f1&format=nacha", "text/plain", PAYAFile{ID: "f1", Status: "accepted"}, true, 201, "", "", "", 1},
		{"bad format", "?reference=f1&format=xlsx", "text/csv", PAYAFile{}, false, 422, CodeInvalid, "format", "", 0},
		{"no reference", "?format=csv", "text/csv", PAYAFile{}, false, 422, CodeInvalid, "reference", "", 0},
		{"JSON is not a file", "?reference=f1", "application/json", PAYAFile{}, false, 422, CodeInvalid, "Content-Type", "", 0},
		{"no content type", "?reference=f1", "", PAYAFile{}, false, 422, CodeInvalid, "Content-Type", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &payaStub{file: tc.file, created: tc.created}
			ts := servePAYA(t, b)
			status, _, body := do(t, ts, "POST", "/v1/paya/files"+tc.query, bankKey, tc.contentType, strings.NewReader("sheba,amount,name,description,reference\n"))
			var got PAYAFile
			var e Error
			_ = json.Unmarshal(body, &got)
			_ = json.Unmarshal(body, &e)
			if status != tc.status || e.Code != tc.code || got.OriginalID != tc.originalID || (tc.field != "" && e.Field != tc.field) {
				t.Errorf("got %d %s, want %d code %q field %q original %q", status, body, tc.status, tc.code, tc.field, tc.originalID)
			}
			if b.uploads != tc.uploads {
				t.Errorf("the backend got %d uploads, want %d", b.uploads, tc.uploads)
			}
			if tc.uploads == 1 && b.read != int64(len("sheba,amount,name,description,reference\n")) {
				t.Errorf("the backend read %d bytes of the body", b.read)
			}
		})
	}
}

func TestPAYAUploadDefaultsToCSV(t *testing.T) {
	b := &payaStub{file: PAYAFile{Status: "validated"}}
	ts := servePAYA(t, b)
	if status, _, body := do(t, ts, "POST", "/v1/paya/files?reference=r&dry_run=true", bankKey, "text/csv", strings.NewReader("x")); status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	if got, want := b.req, (PAYAFileRequest{Format: "csv", Reference: "r", DryRun: true}); got != want {
		t.Errorf("the backend got %+v, want %+v", got, want)
	}
}

// gatedBody is an upload body of size bytes that sends the first gateAt bytes, then waits until gate is
// closed (the backend has read uploadSeen bytes) before it sends the rest: a server that buffered the body
// before calling the backend would never close it.
type gatedBody struct {
	size, sent, gateAt int64
	gate               <-chan struct{}
	stuck              chan struct{} // closed if the gate stayed shut
	once               sync.Once
}

// gateWait bounds how long the body waits for the backend. It is not a timing assertion: a streaming server
// passes the gate as soon as the bytes arrive; only one that buffers the whole body waits this long, and fails.
const gateWait = 30 * time.Second

func (g *gatedBody) Read(p []byte) (int, error) {
	if g.sent >= g.size {
		return 0, io.EOF
	}
	if g.sent >= g.gateAt {
		g.once.Do(func() {
			select {
			case <-g.gate:
			case <-time.After(gateWait):
				close(g.stuck)
			}
		})
	}
	n := int64(len(p))
	if left := g.size - g.sent; n > left {
		n = left
	}
	if g.sent < g.gateAt && g.sent+n > g.gateAt {
		n = g.gateAt - g.sent
	}
	for i := range p[:n] {
		p[i] = 'a'
	}
	g.sent += n
	return int(n), nil
}

// TestPAYAUploadStreamsAndStopsAtTheLimit: the backend reads the body while the client is still sending it
// (the client holds back all but its first 2 MiB until the backend has read 1 MiB), and a body past PAYAFileBytesMax is
// cut at exactly the limit and answered 413, with the limit in the message.
func TestPAYAUploadStreamsAndStopsAtTheLimit(t *testing.T) {
	b := &payaStub{firstData: make(chan struct{})}
	ts := servePAYA(t, b)
	// 64 KiB past the limit: the client has written all of it by the time the server answers, so it reads the
	// answer. (A client still writing a much larger body when the server closes the connection may see the
	// reset before the answer; the CLI checks a file's size before it sends it.)
	body := &gatedBody{size: PAYAFileBytesMax + 64<<10, gateAt: 2 * uploadSeen, gate: b.firstData, stuck: make(chan struct{})}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/paya/files?reference=big", body)
	req.Header.Set("Authorization", "Bearer "+bankKey)
	req.Header.Set("Content-Type", "text/csv")
	res, err := ts.Client().Do(req)
	select {
	case <-body.stuck:
		t.Fatal("the backend had not read 1 MiB while the client held back the rest: the server buffers the body")
	default:
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	var e Error
	_ = json.Unmarshal(got, &e)
	if res.StatusCode != 413 || e.Code != CodeBodyTooLarge || !strings.Contains(e.Message, fmt.Sprint(PAYAFileBytesMax)) {
		t.Errorf("got %d %s, want 413 body_too_large naming %d", res.StatusCode, got, PAYAFileBytesMax)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read != PAYAFileBytesMax || !errors.Is(b.readErr, errFileTooLarge) {
		t.Errorf("the backend read %d bytes and then %v; want exactly %d, then the limit's error", b.read, b.readErr, PAYAFileBytesMax)
	}
}

// TestPAYAUploadAtTheLimitIsRead: a body of exactly PAYAFileBytesMax bytes is not too large.
func TestPAYAUploadAtTheLimitIsRead(t *testing.T) {
	b := &payaStub{file: PAYAFile{Status: "validated"}}
	ts := servePAYA(t, b)
	body := &gatedBody{size: PAYAFileBytesMax, gateAt: PAYAFileBytesMax + 1}
	status, _, got := do(t, ts, "POST", "/v1/paya/files?reference=r&dry_run=true", bankKey, "text/csv", body)
	if status != 200 || b.read != PAYAFileBytesMax || b.readErr != io.EOF {
		t.Errorf("got %d %s; the backend read %d then %v", status, got, b.read, b.readErr)
	}
}

// TestPAYAUploadDeclaredTooLarge: a Content-Length past the limit answers 413 before the backend is called
// (sent by hand: no body follows the headers, and the server must not wait for one).
func TestPAYAUploadDeclaredTooLarge(t *testing.T) {
	b := &payaStub{}
	ts := servePAYA(t, b)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/paya/files?reference=r HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n",
		bankKey, PAYAFileBytesMax+1)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != 413 || !strings.Contains(string(got), CodeBodyTooLarge) || b.uploads != 0 {
		t.Errorf("got %d %s, %d uploads; want 413 body_too_large and none", res.StatusCode, got, b.uploads)
	}
}

func TestPAYARoutes(t *testing.T) {
	b := &payaStub{}
	ts := servePAYA(t, b)
	for _, tc := range []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"entry created", "POST", "/v1/paya/entries", bankKey, `{"core":"credit","payer_sheba":"a","payer_name":"b","payee_sheba":"c","payee_name":"d","amount_rial":1,"reference":"r"}`, 201, "", ""},
		{"entry repeated", "POST", "/v1/paya/entries", bankKey, `{"core":"credit","payer_sheba":"a","payer_name":"b","payee_sheba":"c","payee_name":"d","amount_rial":1,"reference":"again"}`, 200, "", ""},
		{"entry bad core", "POST", "/v1/paya/entries", bankKey, `{"core":"push","payer_sheba":"a","payer_name":"b","payee_sheba":"c","payee_name":"d","amount_rial":1,"reference":"r"}`, 422, CodeInvalid, "core"},
		{"entry by the operator", "POST", "/v1/paya/entries", opKey, `{"core":"credit","payer_sheba":"a","payer_name":"b","payee_sheba":"c","payee_name":"d","amount_rial":1,"reference":"r"}`, 403, CodeForbidden, ""},
		{"entries bad direction", "GET", "/v1/paya/entries?direction=sideways", bankKey, "", 422, CodeInvalid, "direction"},
		{"return bad code", "POST", "/v1/paya/entries/e1/return", bankKey, `{"code":"because"}`, 422, CodeInvalid, "code"},
		{"mandate created", "POST", "/v1/paya/mandates", bankKey, `{"biller_sheba":"a","biller_name":"b","payer_sheba":"c","max_per_debit_rial":1,"max_debits_per_month":1,"start_date":"2025-04-21","end_date":"2026-04-21","biller_reference":"r"}`, 201, "", ""},
		{"mandate repeated", "POST", "/v1/paya/mandates", bankKey, `{"biller_sheba":"a","biller_name":"b","payer_sheba":"c","max_per_debit_rial":1,"max_debits_per_month":1,"start_date":"2025-04-21","end_date":"2026-04-21","biller_reference":"again"}`, 200, "", ""},
		{"approve without a body", "POST", "/v1/paya/mandates/m1/approve", bankKey, "", 200, "", ""},
		{"reject with a reason", "POST", "/v1/paya/mandates/m1/reject", bankKey, `{"reason":"account closed"}`, 200, "", ""},
		{"revoke with a control character", "POST", "/v1/paya/mandates/m1/revoke", bankKey, `{"reason":"a\u0007b"}`, 422, CodeInvalid, "reason"},
		{"mandates bad status", "GET", "/v1/paya/mandates?status=maybe", bankKey, "", 422, CodeInvalid, "status"},
		{"run a cycle", "POST", "/v1/operator/paya/cycles/run", opKey, `{"cycle":"2025-04-21T09:45"}`, 200, "", ""},
		{"run a cycle without a body", "POST", "/v1/operator/paya/cycles/run", opKey, "", 200, "", ""},
		{"a bank runs a cycle", "POST", "/v1/operator/paya/cycles/run", bankKey, "", 403, CodeForbidden, ""},
		{"cycle bad format", "GET", "/v1/paya/cycles/2025-04-21T09:45?format=xml", bankKey, "", 422, CodeInvalid, "format"},
		{"no such cycle", "GET", "/v1/paya/cycles/2025-04-21T12:45", bankKey, "", 404, CodeNotFound, ""},
		{"delivery bad format", "GET", "/v1/paya/cycles/2025-04-21T09:45/delivery?format=pdf", bankKey, "", 422, CodeInvalid, "format"},
		{"delivery not made", "GET", "/v1/paya/cycles/2025-04-21T09:45/delivery", bankKey, "", 404, CodeDeliveryMissing, ""},
		{"delivery for the operator", "GET", "/v1/paya/cycles/2025-04-21T09:45/delivery", opKey, "", 403, CodeForbidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := call(t, ts, tc.method, tc.path, tc.key, tc.body)
			if status != tc.status || e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Errorf("got %d %+v, want %d %s field %q", status, e, tc.status, tc.code, tc.field)
			}
		})
	}
	if b.decision != [2]string{"reject", "account closed"} {
		t.Errorf("the last decision the backend got: %v", b.decision)
	}
}

func TestPAYACycleReport(t *testing.T) {
	b := &payaStub{}
	ts := servePAYA(t, b)
	status, h, body := do(t, ts, "GET", "/v1/paya/cycles/2025-04-21T09:45?format=csv", bankKey, "", nil)
	if status != 200 || h.Get("Content-Type") != MediaCSV || !strings.Contains(h.Get("Content-Disposition"), `filename="paya-cycle-2025-04-21T0945.csv"`) {
		t.Fatalf("got %d %v %s", status, h, body)
	}
	if b.cycleBank != "017" {
		t.Errorf("the backend was asked for bank %q's view, want 017", b.cycleBank)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		payaCycleCSVColumns,
		{"net", "2025-04-21T09:45", "1404/02/01 09:45", "2025-04-21T09:45:00+03:30", "done", "017", "3", "45000000", "1", "10000000", "35000000", "1", "0", "0", ""},
		{"excluded", "2025-04-21T09:45", "1404/02/01 09:45", "2025-04-21T09:45:00+03:30", "done", "054", "", "", "", "", "", "", "", "", "'=short"},
	}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Errorf("got\n%q\nwant\n%q", recs, want)
	}
	// By Accept, and JSON by default; the operator's view names no bank.
	if status, h, _ := do(t, ts, "GET", "/v1/paya/cycles/2025-04-21T09:45", opKey, "", nil); status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || b.cycleBank != "" {
		t.Errorf("JSON: %d %v, bank %q", status, h, b.cycleBank)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/v1/paya/cycles/2025-04-21T09:45", nil)
	req.Header.Set("Authorization", "Bearer "+bankKey)
	req.Header.Set("Accept", "text/csv")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Content-Type") != MediaCSV {
		t.Errorf("Accept: text/csv answered %q", res.Header.Get("Content-Type"))
	}
}

func TestPAYADeliveryContentTypes(t *testing.T) {
	b := &payaStub{delivery: "entries"}
	ts := servePAYA(t, b)
	for _, tc := range []struct {
		query, contentType, filename, body string
	}{
		{"", MediaNACHA, "paya-2025-04-21T0945-017.ach", "nacha:entries"},
		{"?format=nacha", MediaNACHA, "paya-2025-04-21T0945-017.ach", "nacha:entries"},
		{"?format=csv", MediaCSV, "paya-2025-04-21T0945-017.csv", "csv:entries"},
	} {
		status, h, body := do(t, ts, "GET", "/v1/paya/cycles/2025-04-21T09:45/delivery"+tc.query, bankKey, "", nil)
		if status != 200 || h.Get("Content-Type") != tc.contentType || h.Get("Content-Disposition") != fmt.Sprintf("attachment; filename=%q", tc.filename) || string(body) != tc.body {
			t.Errorf("%q: got %d %q %q %q, want %q %q %q", tc.query, status, h.Get("Content-Type"), h.Get("Content-Disposition"), body, tc.contentType, tc.filename, tc.body)
		}
	}
}

func TestPAYARoutesAreDocumented(t *testing.T) {
	s, err := New(Config{Backend: stub{}})
	if err != nil {
		t.Fatal(err)
	}
	RegisterPAYA(s, &payaStub{})
	doc := s.OpenAPI()
	up := doc.Paths["/v1/paya/files"].Post
	for _, mt := range payaUploadTypes {
		if up.RequestBody == nil || up.RequestBody.Content[mt] == nil {
			t.Errorf("the upload's request body does not list %s", mt)
		}
	}
	if up.RequestBody != nil && up.RequestBody.Content["application/json"] != nil {
		t.Error("the upload's request body lists JSON")
	}
	for _, st := range []string{"200", "201", "409", "413", "422"} {
		if up.Responses[st] == nil {
			t.Errorf("the upload does not document %s", st)
		}
	}
	for _, p := range []string{"/v1/paya/entries", "/v1/paya/entries/{id}", "/v1/paya/entries/{id}/return", "/v1/paya/files/{id}",
		"/v1/paya/files/{id}/errors", "/v1/paya/mandates", "/v1/paya/mandates/{id}", "/v1/paya/mandates/{id}/approve",
		"/v1/paya/mandates/{id}/reject", "/v1/paya/mandates/{id}/revoke", "/v1/paya/cycles", "/v1/paya/cycles/{id}",
		"/v1/paya/cycles/{id}/delivery", "/v1/operator/paya/cycles/run"} {
		if doc.Paths[p] == nil {
			t.Errorf("%s is not in the document", p)
		}
	}
}
