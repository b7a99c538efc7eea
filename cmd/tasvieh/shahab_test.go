package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// shahabFake is a SHAHAB backend with fixed answers that records what it was asked: enough to drive
// `tasvieh shahab` over real HTTP through the API's own routes, before the switch serves SHAHAB. Transfers
// are decided by their destination card: …0001 refunded (its bank offline), …0002 rejected (the daily
// limit), any other succeeded; a reference seen before is a repeat.
type shahabFake struct {
	mu        sync.Mutex
	bank      string
	transfers []api.ShahabTransferRequest
	seen      map[string]api.ShahabTransfer
	list      [2]string // status, direction
	answer    api.ShahabAnswerRequest
	date      string
	window    string
	settled   int
}

var _ api.ShahabBackend = (*shahabFake)(nil)

// shahabAt is the fake's instant: 1404/02/01 10:00 Tehran.
var shahabAt = time.Date(2025, 4, 21, 6, 30, 0, 0, time.UTC)

func (b *shahabFake) Inquire(_ context.Context, bank string, req api.ShahabInquiryRequest) (api.ShahabInquiry, error) {
	b.mu.Lock()
	b.bank = bank
	b.mu.Unlock()
	if strings.HasSuffix(req.DestinationPAN, "9999") {
		return api.ShahabInquiry{}, api.Errorf(api.CodeCardNotFound, "no card %s", req.DestinationPAN)
	}
	return api.ShahabInquiry{DestinationPAN: "603799******1234", Name: "Sara Ahmadi", Bank: "017", BankName: "Bank Melli Iran"}, nil
}

func (b *shahabFake) IssueOTP(_ context.Context, _ string, req api.ShahabOTPRequest) (api.ShahabOTP, error) {
	return api.ShahabOTP{SourcePAN: "589210******0001", OTP: "482913", ExpiresAt: shahabAt.Add(2 * time.Minute), ValidSeconds: 120}, nil
}

func (b *shahabFake) SubmitTransfer(_ context.Context, bank string, req api.ShahabTransferRequest) (api.ShahabTransfer, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bank = bank
	b.transfers = append(b.transfers, req)
	if t, ok := b.seen[req.Reference]; ok {
		return t, false, nil
	}
	t := api.ShahabTransfer{ID: "t" + string(rune('0'+len(b.seen)+1)), Status: "succeeded", Code: "approved", AmountRial: req.AmountRial,
		FeeRial: 5_000, SourceBank: "012", DestinationBank: "017", SubmittingBank: bank, Route: "interbank",
		Reference: req.Reference, RRN: "000000000042", Window: "2025-04-21T14:00", CreatedAt: shahabAt}
	switch {
	case strings.HasSuffix(req.DestinationPAN, "0001"):
		t.Status, t.Code, t.FeeRial, t.Window = "refunded", "destination_unavailable", 0, ""
	case strings.HasSuffix(req.DestinationPAN, "0002"):
		t.Status, t.Code, t.FeeRial, t.RRN, t.Window = "rejected", "daily_limit_exceeded", 0, "", ""
	}
	b.seen[req.Reference] = t
	return t, true, nil
}

func (b *shahabFake) ShahabTransfer(_ context.Context, _, id string) (api.ShahabTransfer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.seen {
		if t.ID == id {
			return t, nil
		}
	}
	return api.ShahabTransfer{}, api.Errorf(api.CodeNotFound, "no transfer %s", id)
}

func (b *shahabFake) ShahabTransfers(_ context.Context, _, status, direction, _ string, _ int) (api.ShahabTransferPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = [2]string{status, direction}
	pg := api.ShahabTransferPage{Transfers: []api.ShahabTransfer{}}
	for _, t := range b.seen {
		if status == "" || t.Status == status {
			pg.Transfers = append(pg.Transfers, t)
		}
	}
	return pg, nil
}

func (b *shahabFake) AnswerTransfer(_ context.Context, _, id string, req api.ShahabAnswerRequest) (api.ShahabTransfer, error) {
	b.mu.Lock()
	b.answer = req
	b.mu.Unlock()
	return api.ShahabTransfer{ID: id, Status: "refunded", Code: req.Code, Route: "interbank"}, nil
}

func (b *shahabFake) ShahabReconciliation(_ context.Context, date string) (api.ShahabReconciliation, error) {
	b.mu.Lock()
	b.date = date
	b.mu.Unlock()
	late := &api.ShahabLate{Result: "credited", ReceivedAt: shahabAt.Add(time.Minute), Action: "reversed"}
	return api.ShahabReconciliation{Cases: []api.ShahabTransfer{{ID: "t9", Status: "refunded", Code: "destination_timeout",
		AmountRial: 3_000_000, SourceBank: "012", DestinationBank: "054", Route: "interbank", RRN: "000000000009", Reference: "late-1", Late: late}}}, nil
}

// fakeWindow is the fake's one window.
func fakeWindow() api.ShahabWindow {
	return api.ShahabWindow{ID: "2025-04-21T14:00", Status: "settled", CutOff: shahabAt.Add(4 * time.Hour), Transfers: 3, NetSet: "ns-1",
		Obligations: []api.ShahabObligation{{From: "012", To: "017", AmountRial: 7_000_000, Transfers: 2}, {From: "017", To: "012", AmountRial: 1_000_000, Transfers: 1}},
		Nets:        []api.NetPosition{{Bank: "012", NetRial: 6_000_000}, {Bank: "017", NetRial: -6_000_000}}, Excluded: []string{"054"}}
}

func (b *shahabFake) ShahabWindows(context.Context, string, int) (api.ShahabWindowPage, error) {
	return api.ShahabWindowPage{Windows: []api.ShahabWindow{fakeWindow()}}, nil
}

func (b *shahabFake) ShahabWindow(_ context.Context, id string) (api.ShahabWindow, error) {
	b.mu.Lock()
	b.window = id
	b.mu.Unlock()
	if id != fakeWindow().ID {
		return api.ShahabWindow{}, api.Errorf(api.CodeNotFound, "no window %s", id)
	}
	return fakeWindow(), nil
}

func (b *shahabFake) SettleShahabWindow(context.Context) (api.ShahabWindow, error) {
	b.mu.Lock()
	b.settled++
	b.mu.Unlock()
	return fakeWindow(), nil
}

// serveShahabFake serves b through the API's routes and writes keys.json and serve.json in a home of its
// own: the commands find both through TASVIEH_HOME.
func serveShahabFake(t *testing.T, b *shahabFake) map[string]string {
	t.Helper()
	s, err := api.New(api.Config{Backend: struct{ api.Backend }{}, Keys: map[string]api.Principal{
		"operator-key-0123456789": {Role: api.RoleOperator}, "bank-054-key-0123456789": {Role: api.RoleBank, Bank: "054"}}})
	if err != nil {
		t.Fatal(err)
	}
	api.RegisterShahab(s, b)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	home := t.TempDir()
	writeJSON(t, filepath.Join(home, "keys.json"), server.Keys{Operator: "operator-key-0123456789", Banks: map[string]string{"054": "bank-054-key-0123456789"}})
	writeJSON(t, filepath.Join(home, "serve.json"), server.ServeFile{URL: ts.URL})
	return map[string]string{"TASVIEH_HOME": home}
}

// shahabCard is a transfer's card flags but the destination.
var shahabCard = []string{"--source", "5892101234567890", "--amount", "2,500,000", "--expiry", "0512", "--cvv2", "123", "--pin2", "12345"}

// TestShahabCommands drives each command against the API's routes: its exit code, its human line, what the
// backend was asked.
func TestShahabCommands(t *testing.T) {
	b := &shahabFake{seen: map[string]api.ShahabTransfer{}}
	env := serveShahabFake(t, b)
	transfer := func(dest string, more ...string) []string {
		return append(append([]string{"shahab", "--bank", "054", "transfer", "--destination", dest}, shahabCard...), more...)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		exit   int
		stdout []string // each in stdout
		stderr string   // the one line of stderr, its start; "" none
	}{
		{"inquiry", []string{"shahab", "--bank", "054", "inquiry", "--destination", "6037991234561234"}, exitOK,
			[]string{"603799******1234  Sara Ahmadi  bank 017 Bank Melli Iran\n"}, ""},
		{"inquiry of no card", []string{"shahab", "--bank", "054", "inquiry", "--destination", "6037991234569999"}, exitInvalid,
			nil, "tasvieh shahab: card_not_found: no card"},
		{"otp", []string{"shahab", "--bank", "054", "otp", "--source", "5892101234567890"}, exitOK,
			[]string{"otp 482913 for 589210******0001, valid 120 s, until 2025-04-21T10:02:00+03:30\n"}, ""},
		{"transfer succeeded", transfer("6037991234561234", "--reference", "r-1"), exitOK,
			[]string{"t1  succeeded approved", "2,500,000 rial  fee 5,000  012 → 017 interbank  rrn 000000000042  ref r-1  window 2025-04-21T14:00\n"}, ""},
		{"transfer repeated", transfer("6037991234561234", "--reference", "r-1"), exitOK, []string{"t1  succeeded", "ref r-1"}, ""},
		{"transfer refunded", transfer("6037991234560001", "--reference", "r-2"), exitInvalid,
			[]string{"t2  refunded  destination_unavailable", "fee 0", "rrn 000000000042  ref r-2\n"}, "tasvieh shahab: transfer t2 refunded: destination_unavailable"},
		{"transfer rejected", transfer("6037991234560002", "--reference", "r-3"), exitInvalid,
			[]string{"t3  rejected  daily_limit_exceeded", "rrn -  ref r-3"}, "tasvieh shahab: transfer t3 rejected: daily_limit_exceeded"},
		{"get", []string{"shahab", "--bank", "054", "get", "t1"}, exitOK, []string{"t1  succeeded", "ref r-1"}, ""},
		{"get no such transfer", []string{"shahab", "--bank", "054", "get", "t7"}, exitInvalid, nil, "tasvieh shahab: not_found: no transfer t7"},
		{"list refunded", []string{"shahab", "--bank", "054", "list", "--status", "refunded", "--direction", "outgoing"}, exitOK, []string{"t2  refunded"}, ""},
		{"answer", []string{"shahab", "--bank", "054", "answer", "t4", "--result", "refused", "--code", "card_blocked"}, exitOK, []string{"t4  refunded  card_blocked"}, ""},
		{"windows", []string{"shahab", "windows"}, exitOK,
			[]string{"2025-04-21T14:00  settled cut-off 2025-04-21T14:00:00+03:30  3 transfers  2 obligations  net set ns-1\n"}, ""},
		{"window", []string{"shahab", "windows", "2025-04-21T14:00"}, exitOK,
			[]string{"window 2025-04-21T14:00  settled  cut-off 2025-04-21T14:00:00+03:30  3 transfers  net set ns-1\n", "012   017", "7,000,000  2",
				"+6,000,000", "-6,000,000", "excluded 054: carried to the next window\n"}, ""},
		{"no such window", []string{"shahab", "windows", "2025-04-21T15:00"}, exitInvalid, nil, "tasvieh shahab: not_found: no window"},
		{"settle", []string{"shahab", "windows", "settle"}, exitOK, []string{"window 2025-04-21T14:00  settled"}, ""},
		{"reconciliation", []string{"shahab", "reconciliation", "--date", "1404/02/01"}, exitOK,
			[]string{"SHAHAB reconciliation, 2025-04-21: 1 late answers\n", "t9  refunded  destination_timeout", "late credited at 2025-04-21T10:01:00+03:30: reversed\n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, env, tc.args...)
			if code != tc.exit {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.exit, stdout, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if tc.stderr == "" && stderr != "" {
				t.Errorf("stderr %q, want none", stderr)
			}
			if tc.stderr != "" {
				oneLine(t, tc.name, stderr, tc.stderr)
			}
		})
	}
	want := api.ShahabTransferRequest{SourcePAN: "5892101234567890", DestinationPAN: "6037991234561234", AmountRial: 2_500_000,
		Expiry: "0512", CVV2: "123", PIN2: "12345", Reference: "r-1"}
	if len(b.transfers) < 2 || b.transfers[0] != want || b.transfers[1] != want || b.bank != "054" {
		t.Errorf("the backend got %+v from %q, want twice %+v from 054", b.transfers, b.bank, want)
	}
	if b.list != [2]string{"refunded", "outgoing"} || b.answer != (api.ShahabAnswerRequest{Result: "refused", Code: "card_blocked"}) ||
		b.date != "2025-04-21" || b.settled != 1 {
		t.Errorf("the backend got list %v, answer %+v, date %q, %d settlements", b.list, b.answer, b.date, b.settled)
	}
}

// TestShahabTransferReference: without --reference each transfer gets a fresh one, shown in its line, and
// --json prints the server's transfer.
func TestShahabTransferReference(t *testing.T) {
	b := &shahabFake{seen: map[string]api.ShahabTransfer{}}
	env := serveShahabFake(t, b)
	refs := map[string]bool{}
	for range 2 {
		code, stdout, stderr := run(t, env, append([]string{"shahab", "--bank", "054", "--json", "transfer", "--destination", "6037991234561234"}, shahabCard...)...)
		var got api.ShahabTransfer
		if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil || got.Status != "succeeded" {
			t.Fatalf("exit %d %v\n%s%s", code, err, stdout, stderr)
		}
		if !strings.HasPrefix(got.Reference, "sh-") || len(got.Reference) != len("sh-")+16 {
			t.Errorf("reference %q, want sh- and 16 hex digits", got.Reference)
		}
		refs[got.Reference] = true
	}
	if len(refs) != 2 {
		t.Errorf("two transfers without --reference got references %v, want two different ones", refs)
	}
}

// TestShahabUsage: a wrong command line exits 2 with one line saying why, before any server is looked for
// (the home here has neither keys.json nor serve.json); an unknown subcommand prints the usage.
func TestShahabUsage(t *testing.T) {
	env := map[string]string{"TASVIEH_HOME": t.TempDir()}
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"transfer", "--destination", "6037991234561234"}, "tasvieh: shahab transfer: --bank CODE is required"},
		{[]string{"--bank", "054", "transfer", "--destination", "6037991234561234"}, "tasvieh: shahab transfer: --source, --amount, --expiry, --cvv2, --pin2 required"},
		{append([]string{"--bank", "054", "transfer", "--destination", "6037991234561234", "--amount", "ten"}, shahabCard[:2]...), "tasvieh: shahab transfer: --expiry"},
		{append(append([]string{"--bank", "054", "transfer", "--destination", "6037991234561234"}, shahabCard...), "--amount", "2.5"), "tasvieh: shahab transfer: --amount \"2.5\" is not a whole number"},
		{[]string{"--bank", "054", "inquiry"}, "tasvieh: shahab inquiry: --destination PAN is required"},
		{[]string{"--bank", "054", "otp"}, "tasvieh: shahab otp: --source PAN is required"},
		{[]string{"--bank", "054", "list", "--direction", "in"}, "tasvieh: shahab list: --direction \"in\""},
		{[]string{"--bank", "054", "list", "--status", "lost"}, "tasvieh: shahab list: --status \"lost\""},
		{[]string{"--bank", "054", "answer", "t1"}, "tasvieh: shahab answer: --result \"\" is neither"},
		{[]string{"--bank", "054", "answer", "t1", "--result", "credited", "--code", "x"}, "tasvieh: shahab answer: --code"},
		{[]string{"--bank", "054", "windows"}, "tasvieh: shahab windows is the operator's: no --bank"},
		{[]string{"--bank", "054", "reconciliation"}, "tasvieh: shahab reconciliation is the operator's"},
		{[]string{"reconciliation", "--date", "21/04/2025"}, "tasvieh: shahab reconciliation: --date: "},
	} {
		code, stdout, stderr := run(t, env, append([]string{"shahab"}, tc.args...)...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit %d stdout %q, want %d and none", tc.args, code, stdout, exitUsage)
		}
		oneLine(t, strings.Join(tc.args, " "), stderr, tc.prefix)
	}
	for _, args := range [][]string{{}, {"--bank", "054", "send"}, {"--bank", "054", "get"}, {"--bank", "054", "get", "a", "b"}, {"windows", "a", "b"}, {"--nope"}} {
		code, _, stderr := run(t, env, append([]string{"shahab"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "usage: tasvieh shahab") {
			t.Errorf("%q: exit %d, want %d and the usage:\n%s", args, code, exitUsage, stderr)
		}
	}
	if code, _, stderr := run(t, env, "shahab", "--help"); code != exitOK || !strings.Contains(stderr, "fresh random one") {
		t.Errorf("--help: exit %d, want 0 and the usage naming the default reference:\n%s", code, stderr)
	}
	// The command line is right, but there is no server to send it to.
	code, _, stderr := run(t, env, "shahab", "windows")
	if code != exitInvalid {
		t.Errorf("no server: exit %d, want 1", code)
	}
	oneLine(t, "no server", stderr, "tasvieh shahab: no --server given")
}

func TestUsageListsShahab(t *testing.T) {
	if _, _, stderr := run(t, nil, "--help"); !strings.Contains(stderr, "shahab ") {
		t.Errorf("the usage does not list shahab:\n%s", stderr)
	}
}
