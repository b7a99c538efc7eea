package shahab

import (
	"errors"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/rulebook"
)

// dir routes two BINs to two banks and a merged bank's BIN to its successor.
type dir map[string][2]string

func (d dir) LookupBIN(bin string) (string, string, bool) {
	b, ok := d[bin]
	return b[0], b[1], ok
}

var testDir = dir{"603799": {"017", "Melli"}, "610433": {"012", "Mellat"}, "627381": {"015", "Sepah"}}

func pan(t *testing.T, bin string, serial uint64) string {
	t.Helper()
	p, err := card.Generate(bin, serial)
	if err != nil {
		t.Fatal(err)
	}
	return p.String()
}

func TestValidate(t *testing.T) {
	melli, mellat, ansar := pan(t, "603799", 1001), pan(t, "610433", 1002), pan(t, "627381", 1003)
	good := Request{SourcePAN: melli, DestinationPAN: mellat, AmountRial: 1_000_000, Expiry: "0812", CVV2: "123", PIN2: "123456", Reference: "r1"}
	tests := []struct {
		name      string
		change    func(r *Request)
		wantField string
		wantPos   int
	}{
		{"good", func(*Request) {}, "", 0},
		{"source luhn", func(r *Request) { r.SourcePAN = melli[:15] + string('0'+(melli[15]-'0'+1)%10) }, "source_pan", 16},
		{"destination letter", func(r *Request) { r.DestinationPAN = "6104-33x" }, "destination_pan", 8},
		{"zero amount", func(r *Request) { r.AmountRial = 0 }, "amount_rial", 0},
		{"amount too large", func(r *Request) { r.AmountRial = AmountRialMax + 1 }, "amount_rial", 0},
		{"expiry month 13", func(r *Request) { r.Expiry = "0813" }, "expiry", 0},
		{"expiry short", func(r *Request) { r.Expiry = "081" }, "expiry", 0},
		{"cvv2 letters", func(r *Request) { r.CVV2 = "12a" }, "cvv2", 0},
		{"pin2 short", func(r *Request) { r.PIN2 = "1234" }, "pin2", 0},
		{"empty reference", func(r *Request) { r.Reference = "" }, "reference", 0},
		{"reference control", func(r *Request) { r.Reference = "ab\x01" }, "reference", 3},
		{"reference bad utf-8", func(r *Request) { r.Reference = "é\xff" }, "reference", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.change(&r)
			_, err := Validate(r, testDir)
			var fe *FieldError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.wantField == "":
			case !errors.As(err, &fe) || !errors.Is(err, ErrInvalid):
				t.Fatalf("Validate = %v, want a *FieldError wrapping ErrInvalid", err)
			case fe.Field != tt.wantField || fe.Position != tt.wantPos:
				t.Errorf("Validate = %s at %d, want %s at %d (%v)", fe.Field, fe.Position, tt.wantField, tt.wantPos, err)
			}
		})
	}
	p, err := Validate(Request{SourcePAN: ansar, DestinationPAN: melli, AmountRial: 1, Expiry: "0812", CVV2: "123", PIN2: "12345", Reference: "x"}, testDir)
	if err != nil || p.SourceBank.Code != "015" || p.OnUs() {
		t.Errorf("merged BIN: %+v %v, want routed to 015, interbank", p, err)
	}
}

func TestCheckOrder(t *testing.T) {
	ok := Source{Found: true, Status: "active", Expiry: "0812", CVV2OK: true, PIN2OK: true, AccountUsable: true, AvailableRial: 10_000}
	lim := Limits{DailyRial: 5_000, PIN2TriesMax: 3, Today: "0402"}
	tests := []struct {
		name   string
		change func(s *Source, l *Limits, typed *string)
		amount int64
		want   Outcome
	}{
		{"approved", func(*Source, *Limits, *string) {}, 1_000, Outcome{Code: CodeApproved}},
		{"not found first", func(s *Source, _ *Limits, _ *string) { s.Found, s.CVV2OK = false, false }, 1_000, Outcome{Code: CodeCardNotFound}},
		{"blocked before cvv2", func(s *Source, _ *Limits, _ *string) { s.Status, s.CVV2OK = "blocked", false }, 1_000, Outcome{Code: CodeCardBlocked}},
		{"lost", func(s *Source, _ *Limits, _ *string) { s.Status = "lost" }, 1_000, Outcome{Code: CodeCardLost}},
		{"expired status", func(s *Source, _ *Limits, _ *string) { s.Status = "expired" }, 1_000, Outcome{Code: CodeCardExpired}},
		{"expiry passed", func(s *Source, l *Limits, typed *string) { s.Expiry, *typed = "0401", "0401" }, 1_000, Outcome{Code: CodeCardExpired}},
		{"expiry this month still good", func(s *Source, l *Limits, typed *string) { s.Expiry, *typed = "0402", "0402" }, 1_000, Outcome{Code: CodeApproved}},
		{"expiry mismatch before cvv2", func(s *Source, _ *Limits, typed *string) { *typed, s.CVV2OK = "0811", false }, 1_000, Outcome{Code: CodeExpiryMismatch}},
		{"cvv2 before pin2", func(s *Source, _ *Limits, _ *string) { s.CVV2OK, s.PIN2OK = false, false }, 1_000, Outcome{Code: CodeCVV2Wrong}},
		{"pin2 first wrong", func(s *Source, _ *Limits, _ *string) { s.PIN2OK = false }, 1_000, Outcome{Code: CodePIN2Wrong, WrongPIN2: 1}},
		{"pin2 third wrong blocks", func(s *Source, _ *Limits, _ *string) { s.PIN2OK, s.WrongPIN2 = false, 2 }, 1_000, Outcome{Code: CodePIN2TriesExceeded, Block: true, WrongPIN2: 3}},
		{"pin2 before limit", func(s *Source, _ *Limits, _ *string) { s.PIN2OK = false }, 9_000, Outcome{Code: CodePIN2Wrong, WrongPIN2: 1}},
		{"limit exactly reached", func(_ *Source, l *Limits, _ *string) { l.UsedTodayRial = 4_000 }, 1_000, Outcome{Code: CodeApproved}},
		{"limit crossed", func(_ *Source, l *Limits, _ *string) { l.UsedTodayRial = 4_001 }, 1_000, Outcome{Code: CodeDailyLimitExceeded}},
		{"limit before balance", func(s *Source, _ *Limits, _ *string) { s.AvailableRial = 0 }, 6_000, Outcome{Code: CodeDailyLimitExceeded}},
		{"account blocked", func(s *Source, _ *Limits, _ *string) { s.AccountUsable = false }, 1_000, Outcome{Code: CodeAccountBlocked}},
		{"fee counts in balance", func(s *Source, _ *Limits, _ *string) { s.AvailableRial = 1_050 }, 1_000, Outcome{Code: CodeInsufficientFunds}},
		{"balance exactly", func(s *Source, _ *Limits, _ *string) { s.AvailableRial = 1_100 }, 1_000, Outcome{Code: CodeApproved}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, l, typed := ok, lim, "0812"
			tt.change(&s, &l, &typed)
			if got := Check(s, typed, tt.amount, 100, l); got != tt.want {
				t.Errorf("Check = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestUsageResetsAtANewDay(t *testing.T) {
	u := NewUsage()
	u.Add("2025-04-21", "p", 100)
	u.Add("2025-04-21", "p", 50)
	if got := u.Used("2025-04-21", "p"); got != 150 {
		t.Errorf("Used = %d, want 150", got)
	}
	u.Add("2025-04-21", "p", -150)
	if got := u.Cards(); got != 0 {
		t.Errorf("Cards after release = %d, want 0", got)
	}
	u.Add("2025-04-21", "p", 70)
	u.Add("2025-04-22", "q", 10)
	if got := u.Used("2025-04-22", "p"); got != 0 {
		t.Errorf("Used next day = %d, want 0", got)
	}
	u.Add("2025-04-21", "p", 10) // a late release or use of yesterday changes nothing today
	if got, want := [2]int64{u.Used("2025-04-22", "p"), u.Used("2025-04-22", "q")}, [2]int64{0, 10}; got != want {
		t.Errorf("Used = %v, want %v", got, want)
	}
}

func TestWindowAt(t *testing.T) {
	cuts := []rulebook.ClockTime{{Hour: 4}, {Hour: 10}, {Hour: 16}, {Hour: 22}}
	day := calendar.Date{Year: 2025, Month: time.April, Day: 21} // 1404/02/01
	tests := []struct {
		at     time.Time
		wantID string
	}{
		{day.At(3, 59), "1404-02-01T04:00"},
		{day.At(4, 0), "1404-02-01T10:00"},
		{day.At(15, 30), "1404-02-01T16:00"},
		{day.At(22, 0), "1404-02-02T04:00"},
		{day.At(23, 59), "1404-02-02T04:00"},
	}
	for _, tt := range tests {
		id, cut := WindowAt(tt.at, cuts)
		if id != tt.wantID || !cut.After(tt.at) || WindowID(cut) != id {
			t.Errorf("WindowAt(%v) = %s %v, want %s after it", tt.at, id, cut, tt.wantID)
		}
	}
	if got := TodayYYMM(day.At(12, 0)); got != "0402" {
		t.Errorf("TodayYYMM = %s, want 0402", got)
	}
	if got := RRN([16]byte{0, 0, 0, 0, 0, 0, 0, 42}); got != "000000000042" {
		t.Errorf("RRN = %s", got)
	}
}
