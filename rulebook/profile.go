package rulebook

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tasvieh/tasvieh/calendar"
)

// Profile is one named, dated set of the figures of DOMAIN.md §9. Amounts
// are whole rial; times are on the Tehran wall clock.
type Profile struct {
	// Name identifies the profile in a Book: "seed", "1400", "1404".
	Name string `json:"name"`
	// Effective is the day the figures came into force; zero for an undated
	// profile such as seed, which Book.At never picks.
	Effective calendar.Date `json:"effective,omitzero"`
	// Source says where the figures come from: "user's design card", "CBI
	// circular reported in the press". Fields listed in SimulatorDefaults
	// come from the simulator instead.
	Source string `json:"source"`

	// PAYACap bounds each PAYA entry.
	PAYACap Limit `json:"paya_cap"`
	// SATNAMinCustomerRial is the least a customer SATNA order may carry
	// (amount ≥ it); below it the order belongs in PAYA.
	SATNAMinCustomerRial int64 `json:"satna_min_customer_rial"`
	// CardDailyLimitRial bounds the card-to-card transfers of one source
	// card in one day, all channels together (total ≤ it).
	CardDailyLimitRial int64 `json:"card_daily_limit_rial"`

	// SATNAOpen is when SATNA starts taking orders.
	SATNAOpen ClockTime `json:"satna_open"`
	// SATNACustomerCutoff is the last minute for customer orders: an order
	// at or after it settles on the next business day.
	SATNACustomerCutoff ClockTime `json:"satna_customer_cutoff"`
	// SATNAInterbankCutoff is the same for bank-to-bank orders.
	SATNAInterbankCutoff ClockTime `json:"satna_interbank_cutoff"`
	// SATNAEndOfDay closes SATNA's business day, after the bank-to-bank
	// cut-off: until then the liquidity queue may still settle orders
	// accepted before their cut-off; at it, those still unfunded are
	// cancelled. It is also the hour of a return deadline's last day.
	SATNAEndOfDay ClockTime `json:"satna_end_of_day"`
	// SATNADaysAheadMax is how many business days after the day it is
	// received an order's effective date may fall: 0 allows today only.
	SATNADaysAheadMax int `json:"satna_days_ahead_max"`
	// PAYACycles are the cut-offs of PAYA's cycles on a business day, in
	// order.
	PAYACycles []ClockTime `json:"paya_cycles"`
	// PAYAHolidayCycles is what a day that is not a business day runs: 0,
	// no cycle (entries wait for the next business day's first), or 1, one
	// cycle at the day's last cut-off of PAYACycles.
	PAYAHolidayCycles int `json:"paya_holiday_cycles"`
	// PAYAReturnDeadlineCycles is how many cycles after the one that
	// delivered it an external receiving bank may return an entry: until
	// that cycle's cut-off, so that the return rides it. Past it, the entry
	// is posted.
	PAYAReturnDeadlineCycles int `json:"paya_return_deadline_cycles"`

	// SATNAFee and PAYAFee are charged per order and per entry.
	SATNAFee Fee `json:"satna_fee"`
	PAYAFee  Fee `json:"paya_fee"`
	// SATNAReturnFee is deducted from a SATNA credit the receiving bank
	// returns.
	SATNAReturnFee Fee `json:"satna_return_fee"`
	// SATNAReturnDeadlineBusinessDays is how many business days after
	// receipt a receiving bank has to return a credit it cannot post, by
	// the end of that day: 1 is "by the end of the next business day".
	SATNAReturnDeadlineBusinessDays int `json:"satna_return_deadline_business_days"`

	// CardFee is charged to the source cardholder on a card-to-card transfer
	// that succeeds, on-us or interbank; a refunded or rejected transfer
	// pays nothing.
	CardFee Fee `json:"card_fee"`
	// CardDynamicPIN2 is whether the second PIN must be a one-time code
	// from the issuer (valid CardOTPSeconds, used once) instead of the
	// card's static one, as Iranian banks have required since 1399.
	CardDynamicPIN2 bool `json:"card_dynamic_pin2"`
	// CardOTPSeconds is how long a one-time second PIN stays valid.
	CardOTPSeconds int `json:"card_otp_seconds"`
	// CardPIN2TriesMax is how many wrong second PINs in a row block the
	// source card.
	CardPIN2TriesMax int `json:"card_pin2_tries_max"`
	// CardAnswerDeadlineSeconds is how long the switch waits for the
	// destination bank's answer to a credit request before it refunds the
	// source; an answer after it is late (reversed if a credit).
	CardAnswerDeadlineSeconds int `json:"card_answer_deadline_seconds"`
	// CardWindows are the cut-offs of the card switch's settlement windows
	// on every day (the switch runs on holidays too), in order: at each,
	// the window's interbank obligations are netted and settled.
	CardWindows []ClockTime `json:"card_windows"`

	// SimulatorDefaults names (by their JSON names) the fields whose values
	// the simulator chose, because Source says nothing about them.
	SimulatorDefaults []string `json:"simulator_defaults"`
}

// Limits on a profile.
const (
	// profileNameMax bounds a profile name in bytes; names are short labels
	// typed on a command line ("seed", "1404").
	profileNameMax = 64
	// sourceMax bounds Source in bytes: a sentence.
	sourceMax = 500
	// payaCyclesMax bounds the cycles of a day: one every 30 minutes, far
	// more often than the four a day PAYA has run.
	payaCyclesMax = 48
	// cardOTPSecondsMax bounds CardOTPSeconds: ten minutes, five times the
	// 120 s Iranian issuers give a one-time second PIN.
	cardOTPSecondsMax = 600
	// cardPIN2TriesMaxMax bounds CardPIN2TriesMax: banks block after three.
	cardPIN2TriesMaxMax = 10
	// cardAnswerDeadlineSecondsMax bounds CardAnswerDeadlineSeconds: the
	// answer comes in the cardholder's request, which the API holds open for
	// at most 30 s (api.RequestTimeoutDefault); 25 leaves the switch time to
	// refund and answer within it.
	cardAnswerDeadlineSecondsMax = 25
	// cardWindowsMax bounds the card windows of a day: one an hour.
	cardWindowsMax = 24
	// returnDeadlineBusinessDaysMax bounds the SATNA return deadline: two
	// working weeks, against DOMAIN.md's one business day.
	returnDeadlineBusinessDaysMax = 10
	// daysAheadMaxMax bounds SATNADaysAheadMax: four working weeks, against
	// the five business days TARGET2 lets a payment be warehoused ahead.
	daysAheadMaxMax = 20
)

// profileFields are the JSON names of Profile's fields, in declaration
// order. SimulatorDefaults may name any of them.
var profileFields = []string{
	"name", "effective", "source",
	"paya_cap", "satna_min_customer_rial", "card_daily_limit_rial",
	"satna_open", "satna_customer_cutoff", "satna_interbank_cutoff", "satna_end_of_day", "satna_days_ahead_max",
	"paya_cycles", "paya_holiday_cycles", "paya_return_deadline_cycles",
	"satna_fee", "paya_fee", "satna_return_fee", "satna_return_deadline_business_days",
	"card_fee", "card_dynamic_pin2", "card_otp_seconds", "card_pin2_tries_max", "card_answer_deadline_seconds", "card_windows",
	"simulator_defaults",
}

// FieldError says which field of which profile is wrong.
type FieldError struct {
	Profile string
	Field   string // JSON name, with a path inside it: "satna_fee.max_rial"
	Msg     string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("rulebook: profile %q: %s: %s", e.Profile, e.Field, e.Msg)
}

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Validate checks every figure of p: amounts positive and at most
// AmountRialMax, times real, SATNA opening before its customer cut-off, that
// not after the bank-to-bank one, and that before the end of day, orders
// dated 0 to 20 business days ahead, 1 to 48 PAYA cycles in strictly
// increasing order, fees well formed, SimulatorDefaults naming real fields.
// The first problem found is returned as a *FieldError wrapping ErrInvalid.
func (p Profile) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Profile: p.Name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	amount := func(field string, v int64) error {
		if v <= 0 || v > AmountRialMax {
			return bad(field, "%d outside 1..%d", v, AmountRialMax)
		}
		return nil
	}
	switch {
	case p.Name == "" || len(p.Name) > profileNameMax || strings.ContainsFunc(p.Name, badNameRune):
		return bad("name", "%q: want 1 to %d letters, digits, '-', '_' or '.'", p.Name, profileNameMax)
	case !p.Effective.IsZero() && p.Effective.Validate() != nil:
		return bad("effective", "%v", p.Effective.Validate())
	case strings.TrimSpace(p.Source) == "" || len(p.Source) > sourceMax:
		return bad("source", "want 1 to %d bytes of text", sourceMax)
	}
	for _, a := range []struct {
		field string
		v     int64
	}{
		{"paya_cap.amount_rial", p.PAYACap.AmountRial},
		{"satna_min_customer_rial", p.SATNAMinCustomerRial},
		{"card_daily_limit_rial", p.CardDailyLimitRial},
	} {
		if err := amount(a.field, a.v); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		field string
		v     ClockTime
	}{
		{"satna_open", p.SATNAOpen},
		{"satna_customer_cutoff", p.SATNACustomerCutoff},
		{"satna_interbank_cutoff", p.SATNAInterbankCutoff},
		{"satna_end_of_day", p.SATNAEndOfDay},
	} {
		if err := c.v.validate(); err != nil {
			return bad(c.field, "%v", err)
		}
	}
	switch {
	case !p.SATNAOpen.Before(p.SATNACustomerCutoff):
		return bad("satna_customer_cutoff", "%s is not after satna_open %s", p.SATNACustomerCutoff, p.SATNAOpen)
	case p.SATNAInterbankCutoff.Before(p.SATNACustomerCutoff):
		return bad("satna_interbank_cutoff", "%s is before satna_customer_cutoff %s", p.SATNAInterbankCutoff, p.SATNACustomerCutoff)
	case !p.SATNAInterbankCutoff.Before(p.SATNAEndOfDay):
		return bad("satna_end_of_day", "%s is not after satna_interbank_cutoff %s", p.SATNAEndOfDay, p.SATNAInterbankCutoff)
	case p.SATNADaysAheadMax < 0 || p.SATNADaysAheadMax > daysAheadMaxMax:
		return bad("satna_days_ahead_max", "%d outside 0..%d", p.SATNADaysAheadMax, daysAheadMaxMax)
	case len(p.PAYACycles) == 0 || len(p.PAYACycles) > payaCyclesMax:
		return bad("paya_cycles", "%d cycles, want 1 to %d", len(p.PAYACycles), payaCyclesMax)
	}
	for i, c := range p.PAYACycles {
		if err := c.validate(); err != nil {
			return bad(fmt.Sprintf("paya_cycles[%d]", i), "%v", err)
		}
		if i > 0 && !p.PAYACycles[i-1].Before(c) {
			return bad(fmt.Sprintf("paya_cycles[%d]", i), "%s is not after %s", c, p.PAYACycles[i-1])
		}
	}
	for _, f := range []struct {
		field string
		v     Fee
	}{
		{"satna_fee", p.SATNAFee}, {"paya_fee", p.PAYAFee}, {"satna_return_fee", p.SATNAReturnFee},
	} {
		if sub, msg := f.v.problem(); sub != "" {
			return bad(f.field+"."+sub, "%s", msg)
		}
	}
	if h := p.PAYAHolidayCycles; h < 0 || h > 1 {
		return bad("paya_holiday_cycles", "%d: want 0 (none) or 1", h)
	}
	if d := p.PAYAReturnDeadlineCycles; d < 1 || d > payaCyclesMax {
		return bad("paya_return_deadline_cycles", "%d outside 1..%d", d, payaCyclesMax)
	}
	if sub, msg := p.CardFee.problem(); sub != "" {
		return bad("card_fee."+sub, "%s", msg)
	}
	switch {
	case p.CardOTPSeconds < 1 || p.CardOTPSeconds > cardOTPSecondsMax:
		return bad("card_otp_seconds", "%d outside 1..%d", p.CardOTPSeconds, cardOTPSecondsMax)
	case p.CardPIN2TriesMax < 1 || p.CardPIN2TriesMax > cardPIN2TriesMaxMax:
		return bad("card_pin2_tries_max", "%d outside 1..%d", p.CardPIN2TriesMax, cardPIN2TriesMaxMax)
	case p.CardAnswerDeadlineSeconds < 1 || p.CardAnswerDeadlineSeconds > cardAnswerDeadlineSecondsMax:
		return bad("card_answer_deadline_seconds", "%d outside 1..%d", p.CardAnswerDeadlineSeconds, cardAnswerDeadlineSecondsMax)
	case len(p.CardWindows) < 1 || len(p.CardWindows) > cardWindowsMax:
		return bad("card_windows", "%d windows: want 1 to %d", len(p.CardWindows), cardWindowsMax)
	}
	for i, c := range p.CardWindows {
		if err := c.validate(); err != nil {
			return bad(fmt.Sprintf("card_windows[%d]", i), "%v", err)
		}
		if i > 0 && !p.CardWindows[i-1].Before(c) {
			return bad(fmt.Sprintf("card_windows[%d]", i), "%s is not after %s", c, p.CardWindows[i-1])
		}
	}
	if d := p.SATNAReturnDeadlineBusinessDays; d < 0 || d > returnDeadlineBusinessDaysMax {
		return bad("satna_return_deadline_business_days", "%d outside 0..%d", d, returnDeadlineBusinessDaysMax)
	}
	for i, f := range p.SimulatorDefaults {
		switch {
		case !slices.Contains(profileFields, f):
			return bad(fmt.Sprintf("simulator_defaults[%d]", i), "%q is not a field of a profile", f)
		case slices.Index(p.SimulatorDefaults, f) != i:
			return bad(fmt.Sprintf("simulator_defaults[%d]", i), "%q listed twice", f)
		}
	}
	return nil
}

func badNameRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// clone returns a copy of p sharing no memory with it.
func (p Profile) clone() Profile {
	p.PAYACycles = slices.Clone(p.PAYACycles)
	p.CardWindows = slices.Clone(p.CardWindows)
	p.SimulatorDefaults = slices.Clone(p.SimulatorDefaults)
	return p
}

// IsSimulatorDefault reports whether the field of JSON name field holds a
// value the simulator chose rather than one from Source.
func (p Profile) IsSimulatorDefault(field string) bool {
	return slices.Contains(p.SimulatorDefaults, field)
}

// String names p and its date: "1404, in force from 1404/02/14
// (2025-05-04)", "seed, undated".
func (p Profile) String() string {
	if p.Effective.IsZero() {
		return p.Name + ", undated"
	}
	return p.Name + ", in force from " + p.Effective.Display()
}

// ordinal writes n as "2nd", "3rd", "11th".
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n) + suffix
}

// Describe renders p as a table for people (`tasvieh rules show`), amounts
// grouped by thousands, bounds with ≤, < or ≥ as they apply, and the figures
// the simulator chose marked as simulator defaults.
func (p Profile) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s\n", p.Name)
	if p.Effective.IsZero() {
		b.WriteString("in force: undated (chosen by name, never by date)\n")
	} else {
		fmt.Fprintf(&b, "in force from: %s\n", p.Effective.Display())
	}
	fmt.Fprintf(&b, "source: %s\n\n", p.Source)

	cycles := make([]string, len(p.PAYACycles))
	for i, c := range p.PAYACycles {
		cycles[i] = c.String()
	}
	deadline := fmt.Sprintf("end of the %s business day after receipt", ordinal(p.SATNAReturnDeadlineBusinessDays))
	switch p.SATNAReturnDeadlineBusinessDays {
	case 0:
		deadline = "end of the business day of receipt"
	case 1:
		deadline = "end of the next business day"
	}
	daysAhead := fmt.Sprintf("up to %d business days", p.SATNADaysAheadMax)
	switch p.SATNADaysAheadMax {
	case 0:
		daysAhead = "today only"
	case 1:
		daysAhead = "up to 1 business day"
	}
	pin2 := "static"
	if p.CardDynamicPIN2 {
		pin2 = fmt.Sprintf("one-time code, valid %d s", p.CardOTPSeconds)
	}
	windows := make([]string, len(p.CardWindows))
	for i, c := range p.CardWindows {
		windows[i] = c.String()
	}
	rows := []struct{ field, label, value string }{
		{"paya_cap", "PAYA cap per entry", p.PAYACap.String()},
		{"satna_min_customer_rial", "SATNA minimum, customer orders", "≥ " + formatRial(p.SATNAMinCustomerRial)},
		{"card_daily_limit_rial", "card-to-card per source card per day", "≤ " + formatRial(p.CardDailyLimitRial)},
		{"satna_customer_cutoff", "SATNA hours, customer orders", p.SATNAOpen.String() + "–" + p.SATNACustomerCutoff.String()},
		{"satna_interbank_cutoff", "SATNA hours, bank-to-bank", p.SATNAOpen.String() + "–" + p.SATNAInterbankCutoff.String()},
		{"satna_end_of_day", "SATNA end of day", p.SATNAEndOfDay.String()},
		{"satna_days_ahead_max", "SATNA orders dated ahead", daysAhead},
		{"paya_cycles", "PAYA cycles", strings.Join(cycles, ", ")},
		{"satna_fee", "SATNA fee", p.SATNAFee.String()},
		{"paya_fee", "PAYA fee", p.PAYAFee.String()},
		{"satna_return_fee", "SATNA return fee", p.SATNAReturnFee.String()},
		{"satna_return_deadline_business_days", "SATNA return deadline", deadline},
		{"card_fee", "card-to-card fee (on success only)", p.CardFee.String()},
		{"card_dynamic_pin2", "card second PIN", pin2},
		{"card_pin2_tries_max", "wrong second PINs that block a card", fmt.Sprint(p.CardPIN2TriesMax)},
		{"card_answer_deadline_seconds", "card destination's answer deadline", fmt.Sprintf("%d s", p.CardAnswerDeadlineSeconds)},
		{"card_windows", "card switch settlement windows", strings.Join(windows, ", ")},
	}
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		note := ""
		if p.IsSimulatorDefault(r.field) {
			note = "\t(simulator default)"
		}
		fmt.Fprintf(w, "%s\t%s%s\n", r.label, r.value, note)
	}
	w.Flush()
	return b.String()
}
