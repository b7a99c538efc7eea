package ach

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
)

// atTehran is an instant on the Tehran wall clock.
func atTehran(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, calendar.Tehran)
}

func date(t testing.TB, s string) calendar.Date {
	t.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// validMandateRequest is validDebit's mandate: a water company banking with 012 Mellat over a Melli
// customer's account, for 1404.
func validMandateRequest(t testing.TB) MandateRequest {
	d := validDebit(t)
	return MandateRequest{
		BillerBank:        "012",
		BillerSHEBA:       d.PayeeSHEBA,
		BillerName:        d.PayeeName,
		PayerSHEBA:        d.PayerSHEBA,
		PayerName:         d.PayerName,
		MaxPerDebitRial:   5_000_000,
		MaxDebitsPerMonth: 2,
		Start:             date(t, "1404/01/01"),
		End:               date(t, "1404/12/29"),
		BillerReference:   "WTR-SUB-778",
	}
}

// mandateAt is the instant the tests' requests are received: 1404/01/15 10:00 Tehran.
var mandateAt = atTehran(2025, 4, 4, 10, 0)

func TestValidateMandateRequestAccepts(t *testing.T) {
	req := validMandateRequest(t)
	want := req.PayerSHEBA
	req.PayerSHEBA = strings.ToLower(want[:2]) + toPersianDigits(want[2:])
	m, rej, err := ValidateMandateRequest(req, mandateAt, testEnv(t, "seed"))
	if err != nil || rej != nil {
		t.Fatalf("ValidateMandateRequest: %v, %v", rej, err)
	}
	wantM := Mandate{
		Status: MandateRequested, BillerBank: "012", BillerSHEBA: req.BillerSHEBA, BillerName: req.BillerName,
		PayerBank: "017", PayerSHEBA: want, PayerName: req.PayerName, MaxPerDebitRial: 5_000_000, MaxDebitsPerMonth: 2,
		Start: req.Start, End: req.End, BillerReference: req.BillerReference,
	}
	if m != wantM {
		t.Errorf("mandate\n got %+v\nwant %+v", m, wantM)
	}
}

func TestValidateMandateRequestRoutesMergedPayer(t *testing.T) {
	req := validMandateRequest(t)
	req.PayerSHEBA = account(t, "063", "12345") // 063 Ansar, merged into 015 Sepah
	m, rej, err := ValidateMandateRequest(req, mandateAt, testEnv(t, "seed"))
	if err != nil || rej != nil {
		t.Fatalf("ValidateMandateRequest: %v, %v", rej, err)
	}
	if m.PayerBank != "015" {
		t.Errorf("payer bank %s, want 015 (Ansar's successor)", m.PayerBank)
	}
}

func TestValidateMandateRequestCodes(t *testing.T) {
	long := strings.Repeat("ن", NameLenMax+1)
	tests := []struct {
		name   string
		change func(*MandateRequest, *Env)
		code   Code
		field  string
		in     string // a part of the message
	}{
		{"reference missing", func(r *MandateRequest, _ *Env) { r.BillerReference = " " }, CodeReferenceInvalid, FieldBillerReference, "missing"},
		{"reference too long", func(r *MandateRequest, _ *Env) { r.BillerReference = strings.Repeat("x", ReferenceLenMax+1) }, CodeReferenceInvalid, FieldBillerReference, "36 characters"},
		{"biller name missing", func(r *MandateRequest, _ *Env) { r.BillerName = "" }, CodeNameMissing, FieldBillerName, "missing"},
		{"biller name too long", func(r *MandateRequest, _ *Env) { r.BillerName = long }, CodeNameTooLong, FieldBillerName, "141"},
		{"payer name too long", func(r *MandateRequest, _ *Env) { r.PayerName = long }, CodeNameTooLong, FieldPayerName, "141"},
		{"payer name invalid", func(r *MandateRequest, _ *Env) { r.PayerName = "a\u202Eb" }, CodeNameInvalid, FieldPayerName, "position 2"},
		{"max per debit zero", func(r *MandateRequest, _ *Env) { r.MaxPerDebitRial = 0 }, CodeMandateLimitInvalid, FieldMaxPerDebit, "positive"},
		{"max per debit at the seed cap", func(r *MandateRequest, _ *Env) { r.MaxPerDebitRial = 150_000_000 }, CodeMandateLimitInvalid, FieldMaxPerDebit, "never be collected"},
		{"max per debit over the 1404 cap", func(r *MandateRequest, e *Env) {
			r.MaxPerDebitRial = 2_000_000_001
			e.Profile = profile(t, "1404")
		}, CodeMandateLimitInvalid, FieldMaxPerDebit, "1404"},
		{"no debits a month", func(r *MandateRequest, _ *Env) { r.MaxDebitsPerMonth = 0 }, CodeMandateLimitInvalid, FieldMaxDebitsPerMonth, "1 to 1000"},
		{"too many debits a month", func(r *MandateRequest, _ *Env) { r.MaxDebitsPerMonth = MandateDebitsPerMonthMax + 1 }, CodeMandateLimitInvalid, FieldMaxDebitsPerMonth, "1001"},
		{"no start", func(r *MandateRequest, _ *Env) { r.Start = calendar.Date{} }, CodeMandateDatesInvalid, FieldStartDate, "start_date"},
		{"no end", func(r *MandateRequest, _ *Env) { r.End = calendar.Date{} }, CodeMandateDatesInvalid, FieldEndDate, "end_date"},
		{"start after end", func(r *MandateRequest, _ *Env) { r.Start, r.End = date(t, "1404/02/02"), date(t, "1404/02/01") }, CodeMandateDatesInvalid, FieldStartDate, "after end_date"},
		{"end yesterday", func(r *MandateRequest, _ *Env) { r.End = date(t, "1404/01/14") }, CodeMandateDatesInvalid, FieldEndDate, "has passed"},
		{"too long", func(r *MandateRequest, _ *Env) { r.End = r.Start.AddDays(MandateDaysMax + 1) }, CodeMandateDatesInvalid, FieldEndDate, "more than 1830"},
		{"biller bank not a code", func(r *MandateRequest, _ *Env) { r.BillerBank = "12" }, CodeBankUnknown, FieldBillerBank, "3-digit"},
		{"biller bank unknown", func(r *MandateRequest, _ *Env) { r.BillerBank = "999" }, CodeBankUnknown, FieldBillerBank, "names no bank"},
		{"biller bank merged", func(r *MandateRequest, _ *Env) { r.BillerBank = "063" }, CodeBankInactive, FieldBillerBank, "015"},
		{"biller sheba checksum", func(r *MandateRequest, _ *Env) { r.BillerSHEBA = breakChecksum(r.BillerSHEBA) }, CodeSHEBAInvalid, FieldBillerSHEBA, "biller_sheba"},
		{"payer sheba checksum", func(r *MandateRequest, _ *Env) { r.PayerSHEBA = breakChecksum(r.PayerSHEBA) }, CodeSHEBAInvalid, FieldPayerSHEBA, "payer_sheba"},
		{"biller sheba of another bank", func(r *MandateRequest, _ *Env) { r.BillerSHEBA = pasargadSHEBA }, CodeOriginatingBankMismatch, FieldBillerSHEBA, "057"},
		{"payer at the biller's bank", func(r *MandateRequest, _ *Env) { r.PayerSHEBA = account(t, "012", "42") }, CodeOnUs, FieldPayerSHEBA, "biller's bank"},
		{"biller bank suspended", func(_ *MandateRequest, e *Env) { e.Banks = suspend(t, e.Banks, "012") }, CodeBankSuspended, FieldBillerBank, "012"},
		{"payer bank suspended", func(_ *MandateRequest, e *Env) { e.Banks = suspend(t, e.Banks, "017") }, CodeBankSuspended, FieldPayerSHEBA, "017"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, env := validMandateRequest(t), testEnv(t, "seed")
			tt.change(&req, &env)
			m, rej, err := ValidateMandateRequest(req, mandateAt, env)
			if err != nil {
				t.Fatal(err)
			}
			if rej == nil {
				t.Fatalf("accepted %+v, want %s", m, tt.code)
			}
			if rej.Code != tt.code || rej.Field != tt.field || !strings.Contains(rej.Message, tt.in) {
				t.Errorf("got %s (field %s), want %s (field %s) with %q", rej, rej.Field, tt.code, tt.field, tt.in)
			}
			if m != (Mandate{}) {
				t.Errorf("a rejection came with a mandate: %+v", m)
			}
		})
	}
}

// TestValidateMandateRequestEdges: the figures exactly at their limits pass.
func TestValidateMandateRequestEdges(t *testing.T) {
	tests := []struct {
		name   string
		change func(*MandateRequest)
	}{
		{"just under the seed cap", func(r *MandateRequest) { r.MaxPerDebitRial = 149_999_999 }},
		{"1 rial", func(r *MandateRequest) { r.MaxPerDebitRial = 1 }},
		{"1000 debits a month", func(r *MandateRequest) { r.MaxDebitsPerMonth = MandateDebitsPerMonthMax }},
		{"1 debit a month", func(r *MandateRequest) { r.MaxDebitsPerMonth = 1 }},
		{"one day", func(r *MandateRequest) { r.Start, r.End = date(t, "1404/01/15"), date(t, "1404/01/15") }},
		{"ends today", func(r *MandateRequest) { r.End = date(t, "1404/01/15") }},
		{"started in the past", func(r *MandateRequest) { r.Start = date(t, "1403/06/01") }},
		{"the longest span", func(r *MandateRequest) { r.End = r.Start.AddDays(MandateDaysMax) }},
		{"no payer name", func(r *MandateRequest) { r.PayerName = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validMandateRequest(t)
			tt.change(&req)
			if _, rej, err := ValidateMandateRequest(req, mandateAt, testEnv(t, "seed")); rej != nil || err != nil {
				t.Errorf("got %v, %v; want accepted", rej, err)
			}
		})
	}
}

func TestValidateMandateRequestEnv(t *testing.T) {
	_, rej, err := ValidateMandateRequest(validMandateRequest(t), mandateAt, Env{Banks: banks.Default()})
	if !errors.Is(err, ErrEnv) || rej != nil {
		t.Errorf("got %v, %v; want ErrEnv", rej, err)
	}
}

func TestMandateTransitions(t *testing.T) {
	m := Mandate{ID: "m1", End: date(t, "1404/12/29")}
	during, after := atTehran(2025, 6, 1, 12, 0), atTehran(2026, 3, 21, 0, 1) // after: 1405/01/01 00:01
	type change func(Mandate) (Mandate, error)
	approve := func(at time.Time) change { return func(m Mandate) (Mandate, error) { return m.Approve(at) } }
	expire := func(at time.Time) change { return func(m Mandate) (Mandate, error) { return m.Expire(at) } }
	reject := Mandate.Reject
	revoke := Mandate.Revoke
	tests := []struct {
		name   string
		from   MandateStatus
		change change
		want   MandateStatus // 0: an error wrapping ErrMandateState
		in     string        // a part of the error
	}{
		{"approve requested", MandateRequested, approve(during), MandateActive, ""},
		{"approve requested past its end", MandateRequested, approve(after), 0, "ended on"},
		{"approve active", MandateActive, approve(during), 0, "is active: approve needs requested"},
		{"approve revoked", MandateRevoked, approve(during), 0, "is revoked"},
		{"approve rejected", MandateRejected, approve(during), 0, "is rejected"},
		{"approve expired", MandateExpired, approve(during), 0, "is expired"},
		{"reject requested", MandateRequested, reject, MandateRejected, ""},
		{"reject active", MandateActive, reject, 0, "is active: reject needs requested"},
		{"reject rejected", MandateRejected, reject, 0, "is rejected"},
		{"revoke active", MandateActive, revoke, MandateRevoked, ""},
		{"revoke requested", MandateRequested, revoke, MandateRevoked, ""},
		{"revoke revoked", MandateRevoked, revoke, 0, "is revoked: revoke needs active or requested"},
		{"revoke expired", MandateExpired, revoke, 0, "is expired"},
		{"revoke rejected", MandateRejected, revoke, 0, "is rejected"},
		{"expire active past its end", MandateActive, expire(after), MandateExpired, ""},
		{"expire requested past its end", MandateRequested, expire(after), MandateExpired, ""},
		{"expire active on its last day", MandateActive, expire(atTehran(2026, 3, 20, 23, 59)), 0, "runs until"},
		{"expire revoked", MandateRevoked, expire(after), 0, "is revoked: expire needs active or requested"},
		{"expire expired", MandateExpired, expire(after), 0, "is expired"},
		{"expire rejected", MandateRejected, expire(after), 0, "is rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := m
			from.Status = tt.from
			got, err := tt.change(from)
			if tt.want == 0 {
				if !errors.Is(err, ErrMandateState) || !strings.Contains(err.Error(), tt.in) || !strings.Contains(err.Error(), "m1") {
					t.Errorf("error %v: want ErrMandateState naming m1 and %q", err, tt.in)
				}
				if got != from {
					t.Errorf("a refused change changed the mandate: %+v", got)
				}
				return
			}
			if err != nil || got.Status != tt.want {
				t.Errorf("got %s, %v; want %s", got.Status, err, tt.want)
			}
			if got.ID != from.ID || got.End != from.End {
				t.Errorf("a change touched more than the status: %+v", got)
			}
		})
	}
}

// activeMandate is validDebit's mandate, approved: at most 5,000,000 rial a debit, 2 debits a month, over
// 1404.
func activeMandate(t testing.TB) Mandate {
	m, rej, err := ValidateMandateRequest(validMandateRequest(t), mandateAt, testEnv(t, "seed"))
	if err != nil || rej != nil {
		t.Fatalf("ValidateMandateRequest: %v, %v", rej, err)
	}
	m.ID = validDebit(t).MandateID
	if m, err = m.Approve(mandateAt); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCheckDebitCodes(t *testing.T) {
	during := atTehran(2025, 6, 1, 12, 0)
	tests := []struct {
		name   string
		found  bool
		change func(*Mandate, *Entry)
		at     time.Time
		code   Code
		field  string
		in     string
	}{
		{"credit", true, func(_ *Mandate, e *Entry) { e.Core = CoreCredit }, during, CodeMandateNotAllowed, FieldMandateID, "credit"},
		{"not found", false, nil, during, CodeNoMandate, FieldMandateID, "names no mandate of bank 012"},
		{"another id", true, func(m *Mandate, _ *Entry) { m.ID = "other" }, during, CodeNoMandate, FieldMandateID, "names no mandate"},
		{"another bank's mandate", true, func(m *Mandate, _ *Entry) { m.BillerBank = "054" }, during, CodeNoMandate, FieldMandateID, "of bank 012"},
		{"rejected", true, func(m *Mandate, _ *Entry) { m.Status = MandateRejected }, during, CodeNoMandate, FieldMandateID, "rejected"},
		{"no status", true, func(m *Mandate, _ *Entry) { m.Status = 0 }, during, CodeNoMandate, FieldMandateID, "no status"},
		{"requested", true, func(m *Mandate, _ *Entry) { m.Status = MandateRequested }, during, CodeMandateNotActive, FieldMandateID, "awaits"},
		{"before its start", true, func(m *Mandate, _ *Entry) { m.Start = date(t, "1404/03/12") }, during, CodeMandateNotActive, FieldMandateID, "starts on 1404/03/12"},
		{"revoked", true, func(m *Mandate, _ *Entry) { m.Status = MandateRevoked }, during, CodeMandateRevoked, FieldMandateID, "revoked"},
		{"revoked past its end", true, func(m *Mandate, _ *Entry) { m.Status = MandateRevoked }, atTehran(2026, 3, 21, 0, 1), CodeMandateRevoked, FieldMandateID, "revoked"},
		{"expired", true, func(m *Mandate, _ *Entry) { m.Status = MandateExpired }, during, CodeMandateExpired, FieldMandateID, "expired"},
		{"active past its end, Tehran", true, nil, atTehran(2026, 3, 21, 0, 1), CodeMandateExpired, FieldMandateID, "ended on 1404/12/29"},
		{"payer differs", true, func(_ *Mandate, e *Entry) { e.PayerSHEBA = account(t, "017", "1") }, during, CodeMandateMismatch, FieldPayerSHEBA, "payer"},
		{"payee differs", true, func(_ *Mandate, e *Entry) { e.PayeeSHEBA = account(t, "012", "1") }, during, CodeMandateMismatch, FieldPayeeSHEBA, "biller"},
		{"amount over", true, func(_ *Mandate, e *Entry) { e.AmountRial = 5_000_001 }, during, CodeMandateLimitExceeded, FieldAmount, "5,000,001"},
		{"month used up", true, func(m *Mandate, _ *Entry) { m.Month, m.DebitsThisMonth = "1404/03", 2 }, during, CodeMandateLimitExceeded, FieldMandateID, "had 2 debits in 1404/03"},
		{"an earlier month than counted", true, func(m *Mandate, _ *Entry) { m.Month, m.DebitsThisMonth = "1404/04", 0 }, during, CodeMandateLimitExceeded, FieldMandateID, "earlier month"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, e := activeMandate(t), validDebit(t)
			if tt.change != nil {
				tt.change(&m, &e)
			}
			got, rej := CheckDebit(m, tt.found, e, tt.at)
			if rej == nil {
				t.Fatalf("allowed: %+v; want %s", got, tt.code)
			}
			if rej.Code != tt.code || rej.Field != tt.field || !strings.Contains(rej.Message, tt.in) {
				t.Errorf("got %s (field %s), want %s (field %s) with %q", rej, rej.Field, tt.code, tt.field, tt.in)
			}
			if got != m {
				t.Errorf("a refused debit changed the mandate: %+v, was %+v", got, m)
			}
		})
	}
}

func TestCheckDebitAllows(t *testing.T) {
	during := atTehran(2025, 6, 1, 12, 0) // 1404/03/11
	tests := []struct {
		name      string
		change    func(*Mandate, *Entry)
		at        time.Time
		wantMonth string
		wantCount int
	}{
		{"first debit", nil, during, "1404/03", 1},
		{"amount at the maximum", func(_ *Mandate, e *Entry) { e.AmountRial = 5_000_000 }, during, "1404/03", 1},
		{"second of two", func(m *Mandate, _ *Entry) { m.Month, m.DebitsThisMonth = "1404/03", 1 }, during, "1404/03", 2},
		{"a new month resets the count", func(m *Mandate, _ *Entry) { m.Month, m.DebitsThisMonth = "1404/02", 2 }, during, "1404/03", 1},
		{"on its first day", nil, atTehran(2025, 3, 21, 0, 0), "1404/01", 1},
		{"on its last day, 23:59 Tehran", nil, atTehran(2026, 3, 20, 23, 59), "1404/12", 1},
		{"SHEBAs as people type them", func(_ *Mandate, e *Entry) {
			e.PayerSHEBA = strings.ToLower(e.PayerSHEBA[:2]) + toPersianDigits(e.PayerSHEBA[2:])
		}, during, "1404/03", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, e := activeMandate(t), validDebit(t)
			if tt.change != nil {
				tt.change(&m, &e)
			}
			got, rej := CheckDebit(m, true, e, tt.at)
			if rej != nil {
				t.Fatalf("refused: %s", rej)
			}
			want := m
			want.Month, want.DebitsThisMonth = tt.wantMonth, tt.wantCount
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestCheckDebitMonthBoundaryTehran: 1404/01/31 23:59 and 1404/02/01 00:01 Tehran are the same UTC day
// (2025-04-20), but different Jalali months: a mandate of one debit a month takes one in each.
func TestCheckDebitMonthBoundaryTehran(t *testing.T) {
	before := atTehran(2025, 4, 20, 23, 59)
	after := atTehran(2025, 4, 21, 0, 1)
	if before.UTC().YearDay() != after.UTC().YearDay() {
		t.Fatalf("the test's instants are meant to share a UTC day: %v, %v", before.UTC(), after.UTC())
	}
	m := activeMandate(t)
	m.MaxDebitsPerMonth = 1
	e := validDebit(t)
	steps := []struct {
		name      string
		at        time.Time
		code      Code // CodeOK: allowed
		wantMonth string
	}{
		{"23:59 on 1404/01/31", before.UTC(), CodeOK, "1404/01"},
		{"23:59:59 on 1404/01/31, the month used up", before.Add(59 * time.Second), CodeMandateLimitExceeded, "1404/01"},
		{"00:01 on 1404/02/01", after.UTC(), CodeOK, "1404/02"},
		{"00:02 on 1404/02/01, the month used up", after.Add(time.Minute), CodeMandateLimitExceeded, "1404/02"},
	}
	for _, s := range steps {
		got, rej := CheckDebit(m, true, e, s.at)
		switch {
		case s.code == CodeOK && rej != nil:
			t.Fatalf("%s: refused: %s", s.name, rej)
		case s.code != CodeOK && (rej == nil || rej.Code != s.code):
			t.Fatalf("%s: got %v, want %s", s.name, rej, s.code)
		}
		if got.Month != s.wantMonth || got.DebitsThisMonth != 1 {
			t.Fatalf("%s: counted %d in %q, want 1 in %s", s.name, got.DebitsThisMonth, got.Month, s.wantMonth)
		}
		m = got
	}
}

func TestJalaliMonth(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{atTehran(2025, 3, 20, 23, 59), "1403/12"},
		{atTehran(2025, 3, 21, 0, 0), "1404/01"},
		{time.Date(2025, 4, 20, 20, 29, 0, 0, time.UTC), "1404/01"}, // 23:59 Tehran
		{time.Date(2025, 4, 20, 20, 31, 0, 0, time.UTC), "1404/02"}, // 00:01 Tehran
	}
	for _, tt := range tests {
		if got := JalaliMonth(tt.at); got != tt.want {
			t.Errorf("JalaliMonth(%v) = %s, want %s", tt.at, got, tt.want)
		}
	}
}

func TestMandateStatusText(t *testing.T) {
	for s := MandateRequested; s <= MandateRejected; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back MandateStatus
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%s: read back %s, %v", s, back, err)
		}
	}
	if _, err := MandateStatus(0).MarshalText(); !errors.Is(err, ErrSyntax) {
		t.Errorf("the zero status marshals: %v", err)
	}
	if _, err := ParseMandateStatus("Active"); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseMandateStatus(Active): %v, want ErrSyntax", err)
	}
	b, err := json.Marshal(activeMandate(t))
	if err != nil || !strings.Contains(string(b), `"status":"active"`) || !strings.Contains(string(b), `"start_date":"2025-03-21"`) {
		t.Errorf("json %s, %v", b, err)
	}
}
