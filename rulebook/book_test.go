package rulebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
)

func clock(h, m int) ClockTime { return ClockTime{Hour: h, Minute: m} }

func date(y int, m time.Month, d int) calendar.Date { return calendar.Date{Year: y, Month: m, Day: d} }

// wantProfiles are the figures of DOMAIN.md §9, typed in from its table, and
// the simulator defaults doc.go documents.
var wantProfiles = map[string]Profile{
	"seed": {
		Name:                            "seed",
		Source:                          "user's design card",
		PAYACap:                         Limit{AmountRial: 150_000_000, Inclusive: false}, // < 150,000,000
		SATNAMinCustomerRial:            150_000_000,
		CardDailyLimitRial:              150_000_000,
		SATNAOpen:                       clock(6, 0),
		SATNACustomerCutoff:             clock(14, 30),
		SATNAInterbankCutoff:            clock(15, 0),
		SATNAEndOfDay:                   clock(16, 0),
		SATNADaysAheadMax:               5,
		PAYACycles:                      []ClockTime{clock(3, 45), clock(9, 45), clock(12, 45), clock(18, 45)},
		SATNAFee:                        Fee{}, // the seed says free
		PAYAFee:                         Fee{},
		SATNAReturnFee:                  Fee{MinRial: 50_000, MaxRial: 50_000},
		SATNAReturnDeadlineBusinessDays: 1,
		PAYAReturnDeadlineCycles:        1,
		CardFee:                         Fee{MinRial: 7200, MaxRial: 7200},
		CardDynamicPIN2:                 false,
		CardOTPSeconds:                  120,
		CardPIN2TriesMax:                3,
		CardAnswerDeadlineSeconds:       15,
		CardWindows:                     []ClockTime{{4, 0}, {10, 0}, {16, 0}, {22, 0}},
		SimulatorDefaults:               []string{"paya_holiday_cycles", "paya_return_deadline_cycles", "satna_end_of_day", "satna_days_ahead_max", "satna_return_fee", "satna_return_deadline_business_days", "card_fee", "card_pin2_tries_max", "card_answer_deadline_seconds", "card_windows"},
	},
	"1400": {
		Name:                            "1400",
		Effective:                       date(2022, time.January, 15), // 1400-10-25
		Source:                          "CBI circular reported in the press",
		PAYACap:                         Limit{AmountRial: 1_000_000_000, Inclusive: true}, // ≤ 1,000,000,000
		SATNAMinCustomerRial:            500_000_000,
		CardDailyLimitRial:              100_000_000,
		SATNAOpen:                       clock(6, 0),
		SATNACustomerCutoff:             clock(14, 30),
		SATNAInterbankCutoff:            clock(15, 0),
		SATNAEndOfDay:                   clock(16, 0),
		SATNADaysAheadMax:               5,
		PAYACycles:                      []ClockTime{clock(3, 45), clock(9, 45), clock(12, 45), clock(18, 45)},
		SATNAFee:                        Fee{Percent: 200, MaxRial: 250_000},                // 0.02 %, max 250,000
		PAYAFee:                         Fee{Percent: 100, MinRial: 2_000, MaxRial: 25_000}, // 0.01 %, min 2,000, max 25,000
		SATNAReturnFee:                  Fee{MinRial: 50_000, MaxRial: 50_000},
		SATNAReturnDeadlineBusinessDays: 1,
		PAYAReturnDeadlineCycles:        1,
		CardFee:                         Fee{MinRial: 7200, MaxRial: 7200},
		CardDynamicPIN2:                 true,
		CardOTPSeconds:                  120,
		CardPIN2TriesMax:                3,
		CardAnswerDeadlineSeconds:       15,
		CardWindows:                     []ClockTime{{4, 0}, {10, 0}, {16, 0}, {22, 0}},
		SimulatorDefaults:               []string{"paya_holiday_cycles", "paya_return_deadline_cycles", "satna_end_of_day", "satna_days_ahead_max", "satna_return_fee", "satna_return_deadline_business_days", "card_fee", "card_pin2_tries_max", "card_answer_deadline_seconds", "card_windows"},
	},
	"1404": {
		Name:                            "1404",
		Effective:                       date(2025, time.May, 4), // 1404-02-14
		Source:                          "CBI circular reported in the press",
		PAYACap:                         Limit{AmountRial: 2_000_000_000, Inclusive: true}, // ≤ 2,000,000,000
		SATNAMinCustomerRial:            1_000_000_000,
		CardDailyLimitRial:              100_000_000,
		SATNAOpen:                       clock(6, 0),
		SATNACustomerCutoff:             clock(14, 30),
		SATNAInterbankCutoff:            clock(15, 0),
		SATNAEndOfDay:                   clock(16, 0),
		SATNADaysAheadMax:               5,
		PAYACycles:                      []ClockTime{clock(3, 45), clock(9, 45), clock(12, 45), clock(18, 45)},
		SATNAFee:                        Fee{Percent: 200, MaxRial: 250_000},
		PAYAFee:                         Fee{Percent: 100, MinRial: 2_000, MaxRial: 25_000},
		SATNAReturnFee:                  Fee{MinRial: 50_000, MaxRial: 50_000},
		SATNAReturnDeadlineBusinessDays: 1,
		PAYAReturnDeadlineCycles:        1,
		CardFee:                         Fee{MinRial: 7200, MaxRial: 7200},
		CardDynamicPIN2:                 true,
		CardOTPSeconds:                  120,
		CardPIN2TriesMax:                3,
		CardAnswerDeadlineSeconds:       15,
		CardWindows:                     []ClockTime{{4, 0}, {10, 0}, {16, 0}, {22, 0}},
		SimulatorDefaults:               []string{"paya_holiday_cycles", "paya_return_deadline_cycles", "satna_end_of_day", "satna_days_ahead_max", "satna_return_fee", "satna_return_deadline_business_days", "card_fee", "card_pin2_tries_max", "card_answer_deadline_seconds", "card_windows"},
	},
}

func TestDefaultProfilesPinned(t *testing.T) {
	b := Default()
	if got, want := b.Names(), []string{"seed", "1400", "1404"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got := b.DefaultName(); got != "seed" {
		t.Errorf("DefaultName() = %q, want seed", got)
	}
	for name, want := range wantProfiles {
		t.Run(name, func(t *testing.T) {
			got, err := b.Profile(name)
			if err != nil {
				t.Fatalf("Profile(%q): %v", name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Profile(%q) =\n%+v\nwant\n%+v", name, got, want)
			}
		})
	}
	if _, err := b.Profile("1399"); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("Profile(1399) error = %v, want ErrUnknownProfile", err)
	}
}

// jsonNames lists the JSON names of Profile's fields, from its struct tags.
func jsonNames(t *testing.T) []string {
	t.Helper()
	var names []string
	rt := reflect.TypeFor[Profile]()
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if tag == "" {
			t.Fatalf("field %s has no json name", rt.Field(i).Name)
		}
		names = append(names, tag)
	}
	return names
}

func TestProfileFieldNames(t *testing.T) {
	if got := jsonNames(t); !slices.Equal(got, profileFields) {
		t.Errorf("Profile's json names = %v, profileFields = %v", got, profileFields)
	}
}

// TestEmbeddedFilesSetEveryField keeps the embedded profiles explicit: each
// file gives every field (seed has no date), none left to a zero value.
func TestEmbeddedFilesSetEveryField(t *testing.T) {
	for _, name := range embeddedNames {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile("profiles/" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			want := jsonNames(t)
			if name == "seed" {
				want = slices.DeleteFunc(want, func(s string) bool { return s == "effective" })
			}
			if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("profiles/%s.json sets %v, want %v", name, got, slices.Sorted(slices.Values(want)))
			}
		})
	}
}

func TestAt(t *testing.T) {
	jalali := func(s string) calendar.Date {
		d, err := calendar.ParseDate(s)
		if err != nil {
			t.Fatalf("ParseDate(%q): %v", s, err)
		}
		return d
	}
	tests := []struct {
		name string
		d    calendar.Date
		want string // "" for ErrNoProfile
	}{
		{"long before any dated profile", date(2000, time.January, 1), ""},
		{"the day before 1400-10-25", jalali("1400/10/24"), ""},
		{"1400-10-25 itself", jalali("1400/10/25"), "1400"},
		{"the day after 1400-10-25", jalali("1400/10/26"), "1400"},
		{"the day before 1404-02-14", jalali("1404/02/13"), "1400"},
		{"1404-02-14 itself", jalali("1404/02/14"), "1404"},
		{"1404-02-14 as Gregorian", date(2025, time.May, 4), "1404"},
		{"the day before, Gregorian", date(2025, time.May, 3), "1400"},
		{"long after", date(2030, time.June, 1), "1404"},
		{"invalid date", date(2025, time.February, 30), ""},
		{"zero date", calendar.Date{}, ""},
	}
	b := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.At(tt.d)
			if tt.want == "" {
				if !errors.Is(err, ErrNoProfile) {
					t.Errorf("At(%s) = %s, %v; want ErrNoProfile", tt.d, got.Name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("At(%s) error: %v", tt.d, err)
			}
			if got.Name != tt.want {
				t.Errorf("At(%s) = %s, want %s", tt.d, got.Name, tt.want)
			}
		})
	}
}

func TestProfileIsACopy(t *testing.T) {
	b := Default()
	p, _ := b.Profile("seed")
	p.PAYACycles[0] = clock(1, 0)
	p.SimulatorDefaults[0] = "changed"
	q, _ := b.At(date(2025, time.June, 1))
	q.PAYACycles[0] = clock(1, 0)
	for _, name := range b.Names() {
		again, _ := b.Profile(name)
		if !reflect.DeepEqual(again, wantProfiles[name]) {
			t.Errorf("Profile(%q) changed after a caller changed its copy: %+v", name, again)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Run("empty config is the default book", func(t *testing.T) {
		b, err := Load(strings.NewReader(`{}`))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		for name, want := range wantProfiles {
			if got, _ := b.Profile(name); !reflect.DeepEqual(got, want) {
				t.Errorf("Profile(%q) = %+v, want %+v", name, got, want)
			}
		}
	})
	t.Run("partial override keeps the rest", func(t *testing.T) {
		b, err := Load(strings.NewReader(`{"profiles": {"1404": {"paya_cap": {"amount_rial": 3000000000}}}}`))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		got, _ := b.Profile("1404")
		want := wantProfiles["1404"].clone()
		want.PAYACap.AmountRial = 3_000_000_000 // Inclusive stays true
		want.Source += "; changed by a config file"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Profile(1404) =\n%+v\nwant\n%+v", got, want)
		}
		if p, _ := b.Profile("1400"); !reflect.DeepEqual(p, wantProfiles["1400"]) {
			t.Errorf("Profile(1400) changed: %+v", p)
		}
		if p, _ := Default().Profile("1404"); !reflect.DeepEqual(p, wantProfiles["1404"]) {
			t.Errorf("Default().Profile(1404) changed by Load: %+v", p)
		}
	})
	t.Run("a list is replaced whole, the default book untouched", func(t *testing.T) {
		b, err := Load(strings.NewReader(`{"profiles": {"seed": {"paya_cycles": ["10:00"], "source": "test bench"}}}`))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		got, _ := b.Profile("seed")
		if !slices.Equal(got.PAYACycles, []ClockTime{clock(10, 0)}) || got.Source != "test bench" {
			t.Errorf("seed cycles %v, source %q; want [10:00], \"test bench\"", got.PAYACycles, got.Source)
		}
		if p, _ := Default().Profile("seed"); !reflect.DeepEqual(p, wantProfiles["seed"]) {
			t.Errorf("Default().Profile(seed) changed by Load: %+v", p)
		}
	})
	t.Run("new dated profile from a base", func(t *testing.T) {
		b, err := Load(strings.NewReader(`{"profiles": {"stress": {"base": "1404", "effective": "1405/01/01", "card_daily_limit_rial": 1000000}}}`))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got, want := b.Names(), []string{"seed", "1400", "1404", "stress"}; !slices.Equal(got, want) {
			t.Errorf("Names() = %v, want %v", got, want)
		}
		got, _ := b.At(date(2026, time.March, 21)) // 1405-01-01
		want := wantProfiles["1404"].clone()
		want.Name, want.Effective, want.CardDailyLimitRial = "stress", date(2026, time.March, 21), 1_000_000
		want.Source = "config file, based on 1404 (CBI circular reported in the press)"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("At(1405-01-01) =\n%+v\nwant\n%+v", got, want)
		}
		if p, _ := b.At(date(2026, time.March, 20)); p.Name != "1404" {
			t.Errorf("At(1404-12-29) = %s, want 1404", p.Name)
		}
	})
	t.Run("new undated profile, chosen as default", func(t *testing.T) {
		b, err := Load(strings.NewReader(`{"default": "lab", "profiles": {"lab": {"base": "1404"}}}`))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if b.DefaultName() != "lab" {
			t.Errorf("DefaultName() = %q, want lab", b.DefaultName())
		}
		p, _ := b.Profile("lab")
		if !p.Effective.IsZero() || p.SATNAMinCustomerRial != 1_000_000_000 {
			t.Errorf("lab = %+v, want undated with 1404's figures", p)
		}
		if p, _ := b.At(date(2030, time.January, 1)); p.Name != "1404" {
			t.Errorf("At(2030) = %s, want 1404 (undated profiles are never chosen by date)", p.Name)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantIs    error
		wantInErr []string
		wantField string // when the error is a *FieldError
	}{
		{"unknown top-level field", `{"profile": {}}`, ErrInvalid, []string{`unknown field "profile"`}, ""},
		{"unknown profile field", `{"profiles": {"1404": {"paya_capp": {}}}}`, ErrInvalid,
			[]string{`profile "1404"`, `unknown field "paya_capp"`}, ""},
		{"unknown nested field", `{"profiles": {"seed": {"paya_cap": {"amount": 1}}}}`, ErrInvalid,
			[]string{`profile "seed"`, `unknown field "amount"`}, ""},
		{"wrong type", `{"profiles": {"seed": {"satna_min_customer_rial": "lots"}}}`, ErrInvalid,
			[]string{`profile "seed"`, "satna_min_customer_rial"}, ""},
		{"bad clock time", `{"profiles": {"seed": {"satna_open": "6h"}}}`, ErrInvalid,
			[]string{`profile "seed"`, `"6h"`}, ""},
		{"bad date", `{"profiles": {"1404": {"effective": "1404/13/01"}}}`, ErrInvalid,
			[]string{`profile "1404"`, "month 13"}, ""},
		{"cut-off before opening", `{"profiles": {"seed": {"satna_customer_cutoff": "05:00"}}}`, ErrInvalid,
			[]string{"05:00 is not after satna_open 06:00"}, "satna_customer_cutoff"},
		{"end of day before the cut-off", `{"profiles": {"seed": {"satna_end_of_day": "14:00"}}}`, ErrInvalid,
			[]string{"14:00 is not after satna_interbank_cutoff 15:00"}, "satna_end_of_day"},
		{"days ahead as text", `{"profiles": {"seed": {"satna_days_ahead_max": "5"}}}`, ErrInvalid,
			[]string{`profile "seed"`, "satna_days_ahead_max"}, ""},
		{"fee max below min", `{"profiles": {"1400": {"paya_fee": {"max_rial": 1000}}}}`, ErrInvalid,
			[]string{"1000 below min_rial 2000"}, "paya_fee.max_rial"},
		{"zero cap", `{"profiles": {"1400": {"paya_cap": {"amount_rial": 0}}}}`, ErrInvalid,
			[]string{"0 outside 1.."}, "paya_cap.amount_rial"},
		{"new profile without base", `{"profiles": {"x": {"card_daily_limit_rial": 1}}}`, ErrInvalid,
			[]string{`profile "x"`, "needs a base"}, ""},
		{"base on an existing profile", `{"profiles": {"1404": {"base": "seed"}}}`, ErrInvalid,
			[]string{`profile "1404"`, "only a new profile has a base"}, ""},
		{"unknown base", `{"profiles": {"x": {"base": "1399"}}}`, ErrUnknownProfile, []string{`base "1399"`}, ""},
		{"new profiles are not bases", `{"profiles": {"x": {"base": "seed"}, "y": {"base": "x"}}}`, ErrUnknownProfile,
			[]string{`base "x"`}, ""},
		{"unknown default", `{"default": "1399"}`, ErrUnknownProfile, []string{`"1399"`}, ""},
		{"two profiles on one date", `{"profiles": {"x": {"base": "seed", "effective": "1404/02/14"}}}`, ErrInvalid,
			[]string{`"1404" and "x" both take effect on 2025-05-04`}, ""},
		{"name differs from key", `{"profiles": {"1404": {"name": "other"}}}`, ErrInvalid,
			[]string{`"other" differs from its key`}, ""},
		{"bad name", `{"profiles": {"a b": {"base": "seed"}}}`, ErrInvalid, []string{`"a b"`}, "name"},
		{"data after the value", `{} {}`, ErrInvalid, []string{"data after the JSON value"}, ""},
		{"not JSON", `profiles = 1`, ErrInvalid, []string{"invalid character"}, ""},
		{"too long", `{"default": "seed"` + strings.Repeat(" ", configBytesMax) + `}`, ErrInvalid,
			[]string{"longer than 1048576 bytes"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Load(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Load = %v, want an error", b.Names())
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tt.wantIs)
			}
			for _, s := range tt.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error = %q, want it to contain %q", err, s)
				}
			}
			var fe *FieldError
			if tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField) {
				t.Errorf("error = %#v, want a *FieldError on %q", err, tt.wantField)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(p *Profile)
		wantField string
	}{
		{"empty name", func(p *Profile) { p.Name = "" }, "name"},
		{"empty source", func(p *Profile) { p.Source = " " }, "source"},
		{"invalid effective", func(p *Profile) { p.Effective = date(2025, time.February, 30) }, "effective"},
		{"negative cap", func(p *Profile) { p.PAYACap.AmountRial = -1 }, "paya_cap.amount_rial"},
		{"cap above the maximum", func(p *Profile) { p.PAYACap.AmountRial = AmountRialMax + 1 }, "paya_cap.amount_rial"},
		{"zero SATNA minimum", func(p *Profile) { p.SATNAMinCustomerRial = 0 }, "satna_min_customer_rial"},
		{"zero card limit", func(p *Profile) { p.CardDailyLimitRial = 0 }, "card_daily_limit_rial"},
		{"hour 24", func(p *Profile) { p.SATNAOpen = clock(24, 0) }, "satna_open"},
		{"interbank before customer", func(p *Profile) { p.SATNAInterbankCutoff = clock(14, 0) }, "satna_interbank_cutoff"},
		{"bad end of day", func(p *Profile) { p.SATNAEndOfDay = clock(16, 60) }, "satna_end_of_day"},
		{"end of day at the interbank cut-off", func(p *Profile) { p.SATNAEndOfDay = clock(15, 0) }, "satna_end_of_day"},
		{"end of day before the interbank cut-off", func(p *Profile) { p.SATNAEndOfDay = clock(14, 45) }, "satna_end_of_day"},
		{"interbank cut-off after the end of day", func(p *Profile) { p.SATNAInterbankCutoff = clock(16, 30) }, "satna_end_of_day"},
		{"negative days ahead", func(p *Profile) { p.SATNADaysAheadMax = -1 }, "satna_days_ahead_max"},
		{"days ahead too many", func(p *Profile) { p.SATNADaysAheadMax = daysAheadMaxMax + 1 }, "satna_days_ahead_max"},
		{"no cycles", func(p *Profile) { p.PAYACycles = nil }, "paya_cycles"},
		{"too many cycles", func(p *Profile) { p.PAYACycles = make([]ClockTime, payaCyclesMax+1) }, "paya_cycles"},
		{"cycles out of order", func(p *Profile) { p.PAYACycles = []ClockTime{clock(9, 45), clock(3, 45)} }, "paya_cycles[1]"},
		{"repeated cycle", func(p *Profile) { p.PAYACycles = []ClockTime{clock(9, 45), clock(9, 45)} }, "paya_cycles[1]"},
		{"bad cycle", func(p *Profile) { p.PAYACycles = []ClockTime{clock(9, 61)} }, "paya_cycles[0]"},
		{"rate over 100 %", func(p *Profile) { p.SATNAFee.Percent = rateMax + 1 }, "satna_fee.percent"},
		{"negative min", func(p *Profile) { p.PAYAFee.MinRial = -1 }, "paya_fee.min_rial"},
		{"return fee max below min", func(p *Profile) { p.SATNAReturnFee.MaxRial = 1 }, "satna_return_fee.max_rial"},
		{"negative deadline", func(p *Profile) { p.SATNAReturnDeadlineBusinessDays = -1 }, "satna_return_deadline_business_days"},
		{"deadline too long", func(p *Profile) { p.SATNAReturnDeadlineBusinessDays = 11 }, "satna_return_deadline_business_days"},
		{"card fee max below min", func(p *Profile) { p.CardFee.MaxRial = 1 }, "card_fee.max_rial"},
		{"no OTP validity", func(p *Profile) { p.CardOTPSeconds = 0 }, "card_otp_seconds"},
		{"OTP too long", func(p *Profile) { p.CardOTPSeconds = cardOTPSecondsMax + 1 }, "card_otp_seconds"},
		{"no PIN tries", func(p *Profile) { p.CardPIN2TriesMax = 0 }, "card_pin2_tries_max"},
		{"answer deadline too long", func(p *Profile) { p.CardAnswerDeadlineSeconds = cardAnswerDeadlineSecondsMax + 1 }, "card_answer_deadline_seconds"},
		{"no card windows", func(p *Profile) { p.CardWindows = nil }, "card_windows"},
		{"card windows out of order", func(p *Profile) { p.CardWindows = []ClockTime{clock(10, 0), clock(4, 0)} }, "card_windows[1]"},
		{"bad card window", func(p *Profile) { p.CardWindows = []ClockTime{clock(25, 0)} }, "card_windows[0]"},
		{"unknown default field", func(p *Profile) { p.SimulatorDefaults = []string{"return_fee"} }, "simulator_defaults[0]"},
		{"default listed twice", func(p *Profile) { p.SimulatorDefaults = []string{"paya_fee", "paya_fee"} }, "simulator_defaults[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wantProfiles["1404"].clone()
			if err := p.Validate(); err != nil {
				t.Fatalf("the unchanged profile is invalid: %v", err)
			}
			tt.change(&p)
			err := p.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("Validate() = %v, want a *FieldError on %q", err, tt.wantField)
			}
			if !errors.Is(err, ErrInvalid) || fe.Profile != "1404" && tt.wantField != "name" {
				t.Errorf("Validate() = %v, want ErrInvalid naming profile 1404", err)
			}
		})
	}
}

// describeLine returns the line of a Describe table that starts with label.
func describeLine(t *testing.T, desc, label string) string {
	t.Helper()
	for line := range strings.Lines(desc) {
		if strings.HasPrefix(line, label) {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no line %q in\n%s", label, desc)
	return ""
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		profile, label string
		want           []string
		notWant        string
	}{
		{"seed", "in force", []string{"undated"}, ""},
		{"seed", "PAYA cap per entry", []string{"< 150,000,000 rial"}, "simulator default"},
		{"seed", "SATNA minimum, customer orders", []string{"≥ 150,000,000 rial"}, ""},
		{"seed", "card-to-card per source card per day", []string{"≤ 150,000,000 rial"}, ""},
		{"seed", "SATNA fee", []string{"none"}, ""},
		{"seed", "PAYA cycles", []string{"03:45, 09:45, 12:45, 18:45"}, ""},
		{"seed", "SATNA return fee", []string{"flat 50,000 rial", "(simulator default)"}, ""},
		{"seed", "SATNA return deadline", []string{"end of the next business day", "(simulator default)"}, ""},
		{"seed", "SATNA end of day", []string{"16:00", "(simulator default)"}, ""},
		{"seed", "SATNA orders dated ahead", []string{"up to 5 business days", "(simulator default)"}, ""},
		{"1404", "SATNA end of day", []string{"16:00", "(simulator default)"}, ""},
		{"1404", "SATNA orders dated ahead", []string{"up to 5 business days", "(simulator default)"}, ""},
		{"1400", "in force from", []string{"1400/10/25 (2022-01-15)"}, ""},
		{"1400", "PAYA cap per entry", []string{"≤ 1,000,000,000 rial"}, ""},
		{"1400", "SATNA minimum, customer orders", []string{"≥ 500,000,000 rial"}, ""},
		{"1404", "in force from", []string{"1404/02/14 (2025-05-04)"}, ""},
		{"1404", "source", []string{"CBI circular reported in the press"}, ""},
		{"1404", "PAYA cap per entry", []string{"≤ 2,000,000,000 rial"}, ""},
		{"1404", "SATNA minimum, customer orders", []string{"≥ 1,000,000,000 rial"}, ""},
		{"1404", "card-to-card per source card per day", []string{"≤ 100,000,000 rial"}, ""},
		{"1404", "SATNA hours, customer orders", []string{"06:00–14:30"}, ""},
		{"1404", "SATNA hours, bank-to-bank", []string{"06:00–15:00"}, ""},
		{"1404", "SATNA fee", []string{"0.02 %, max 250,000 rial"}, "simulator default"},
		{"1404", "PAYA fee", []string{"0.01 %, min 2,000 rial, max 25,000 rial"}, "simulator default"},
	}
	for _, tt := range tests {
		t.Run(tt.profile+" "+tt.label, func(t *testing.T) {
			p, _ := Default().Profile(tt.profile)
			line := describeLine(t, p.Describe(), tt.label)
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("line %q lacks %q", line, w)
				}
			}
			if tt.notWant != "" && strings.Contains(line, tt.notWant) {
				t.Errorf("line %q has %q", line, tt.notWant)
			}
		})
	}
	p := wantProfiles["1404"].clone()
	p.SATNAReturnDeadlineBusinessDays = 2
	if line := describeLine(t, p.Describe(), "SATNA return deadline"); !strings.Contains(line, "end of the 2nd business day after receipt") {
		t.Errorf("deadline 2: line %q", line)
	}
	for _, tt := range []struct {
		days int
		want string
	}{{0, "today only"}, {1, "up to 1 business day"}, {20, "up to 20 business days"}} {
		p.SATNADaysAheadMax = tt.days
		if line := describeLine(t, p.Describe(), "SATNA orders dated ahead"); !strings.Contains(line, tt.want) {
			t.Errorf("days ahead %d: line %q, want %q", tt.days, line, tt.want)
		}
	}
}

func TestProfileString(t *testing.T) {
	if got, want := wantProfiles["1404"].String(), "1404, in force from 1404/02/14 (2025-05-04)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := wantProfiles["seed"].String(), "seed, undated"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestProfileJSON(t *testing.T) {
	for name, p := range wantProfiles {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			want := jsonNames(t)
			if p.Effective.IsZero() {
				want = slices.DeleteFunc(want, func(s string) bool { return s == "effective" })
			}
			if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("JSON keys = %v, want %v", got, want)
			}
			var back Profile
			if err := decodeStrict(b, &back); err != nil {
				t.Fatalf("decode the marshalled profile: %v", err)
			}
			if !reflect.DeepEqual(back, p) {
				t.Errorf("round trip =\n%+v\nwant\n%+v", back, p)
			}
		})
	}
	b, _ := json.Marshal(wantProfiles["1400"])
	for _, s := range []string{`"effective":"2022-01-15"`, `"paya_cap":{"amount_rial":1000000000,"inclusive":true}`,
		`"satna_fee":{"percent":"0.02","min_rial":0,"max_rial":250000}`, `"paya_cycles":["03:45","09:45","12:45","18:45"]`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("JSON %s lacks %s", b, s)
		}
	}
}

// bookConfig writes every profile of b as a config file for Load.
func bookConfig(t *testing.T, b *Book) []byte {
	t.Helper()
	cfg := map[string]any{"default": b.DefaultName()}
	profiles := map[string]any{}
	for _, name := range b.Names() {
		p, _ := b.Profile(name)
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal %s: %v", name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := wantProfiles[name]; !ok {
			m["base"] = DefaultName
		}
		profiles[name] = m
	}
	cfg["profiles"] = profiles
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"profiles": {"1404": {"paya_cap": {"amount_rial": 3000000000}}}}`))
	f.Add([]byte(`{"default": "lab", "profiles": {"lab": {"base": "1404", "effective": "1405/01/01", "paya_cycles": ["01:00", "02:00"]}}}`))
	f.Add([]byte(`{"profiles": {"seed": {"satna_fee": {"percent": 0.5, "min_rial": 10, "max_rial": 0}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Load(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnknownProfile) {
				t.Fatalf("Load error %v wraps neither ErrInvalid nor ErrUnknownProfile", err)
			}
			return
		}
		for _, name := range b.Names() {
			p, err := b.Profile(name)
			if err != nil {
				t.Fatalf("Profile(%q) of Names(): %v", name, err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("Load accepted an invalid profile: %v", err)
			}
		}
		// Write the whole book out and read it back: the same book.
		out := bookConfig(t, b)
		again, err := Load(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("Load(write(Load(data))): %v\n%s", err, out)
		}
		if again2 := bookConfig(t, again); !bytes.Equal(again2, out) {
			t.Fatalf("round trip differs:\n%s\n%s", out, again2)
		}
	})
}

func BenchmarkAt(b *testing.B) {
	book := Default()
	d := date(2025, time.June, 1)
	for b.Loop() {
		if _, err := book.At(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	cfg := []byte(`{"profiles": {"1404": {"paya_cap": {"amount_rial": 3000000000}}, "lab": {"base": "seed"}}}`)
	b.SetBytes(int64(len(cfg)))
	for b.Loop() {
		if _, err := Load(bytes.NewReader(cfg)); err != nil {
			b.Fatal(err)
		}
	}
}
