package rtgs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/rulebook"
)

// breach is one way to break one rule: the code it must get, the fields (and parts of the environment) it
// touches, and the change.
type breach struct {
	code   Code
	touch  []string
	change func(t *testing.T, o *Order, env *Env)
}

// breaches breaks each rule Validate checks, one per code, in order of precedence.
func breaches() []breach {
	return []breach{
		{CodeTypeInvalid, []string{"type"}, func(_ *testing.T, o *Order, _ *Env) { o.Type = 7 }},
		{CodePriorityInvalid, []string{"priority"}, func(_ *testing.T, o *Order, _ *Env) { o.Priority = 0 }},
		{CodeAmountInvalid, []string{"amount"}, func(_ *testing.T, o *Order, _ *Env) { o.AmountRial = 0 }},
		{CodeReferenceInvalid, []string{"reference"}, func(_ *testing.T, o *Order, _ *Env) { o.Reference = "" }},
		{CodePayerNameInvalid, []string{"payer_name"}, func(_ *testing.T, o *Order, _ *Env) { o.PayerName = "a\x00b" }},
		{CodePayeeNameInvalid, []string{"payee_name"}, func(_ *testing.T, o *Order, _ *Env) {
			o.PayeeName = strings.Repeat("ن", NameLenMax+1)
		}},
		{CodeDescriptionInvalid, []string{"description"}, func(_ *testing.T, o *Order, _ *Env) { o.Description = "line\nbreak" }},
		{CodeSenderBankUnknown, []string{"sender"}, func(_ *testing.T, o *Order, _ *Env) { o.SenderBank = "296" }},
		{CodeSenderBankInactive, []string{"sender"}, func(_ *testing.T, o *Order, _ *Env) { o.SenderBank = "063" }},
		{CodeReceiverBankUnknown, []string{"receiver"}, func(_ *testing.T, o *Order, _ *Env) { o.ReceiverBank = "17" }},
		{CodeReceiverBankInactive, []string{"receiver"}, func(_ *testing.T, o *Order, _ *Env) { o.ReceiverBank = "062" }},
		{CodePayerSHEBAInvalid, []string{"payer_sheba"}, func(_ *testing.T, o *Order, _ *Env) {
			o.PayerSHEBA = "IR830540102680020817909002" // check digits off by one
		}},
		{CodePayeeSHEBAInvalid, []string{"payee_sheba"}, func(_ *testing.T, o *Order, _ *Env) { o.PayeeSHEBA = "IR12" }},
		{CodePayerBankMismatch, []string{"payer_sheba"}, func(t *testing.T, o *Order, _ *Env) {
			o.PayerSHEBA = account(t, "012", "55")
		}},
		{CodePayeeBankMismatch, []string{"payee_sheba"}, func(t *testing.T, o *Order, _ *Env) {
			o.PayeeSHEBA = account(t, "012", "66")
		}},
		{CodeSenderIsReceiver, []string{"type", "receiver", "payer_name", "payee_name", "payer_sheba", "payee_sheba"},
			func(_ *testing.T, o *Order, _ *Env) {
				o.Type, o.ReceiverBank = TypeInterbank, o.SenderBank
				o.PayerSHEBA, o.PayerName, o.PayeeSHEBA, o.PayeeName = "", "", "", ""
			}},
		{CodeOnUs, []string{"receiver", "payee_sheba"}, func(t *testing.T, o *Order, _ *Env) {
			o.ReceiverBank, o.PayeeSHEBA = "054", account(t, "054", "77")
		}},
		{CodeBelowMinimum, []string{"amount"}, func(_ *testing.T, o *Order, _ *Env) { o.AmountRial = 149_999_999 }},
		{CodeEffectiveDateInvalid, []string{"effective"}, func(_ *testing.T, o *Order, _ *Env) {
			o.EffectiveDate = calendar.Date{Year: 2025, Month: 2, Day: 30}
		}},
		{CodeEffectiveDatePast, []string{"effective"}, func(t *testing.T, o *Order, _ *Env) { o.EffectiveDate = jalali(t, "1404/01/17") }},
		{CodeEffectiveDateTooFar, []string{"effective"}, func(t *testing.T, o *Order, _ *Env) { o.EffectiveDate = jalali(t, "1404/01/25") }},
		{CodeSenderBankSuspended, []string{"env_sender"}, func(t *testing.T, _ *Order, env *Env) { env.Banks = suspend(t, env.Banks, "054") }},
		{CodeReceiverBankSuspended, []string{"env_receiver"}, func(t *testing.T, _ *Order, env *Env) { env.Banks = suspend(t, env.Banks, "017") }},
	}
}

func TestValidateEachCode(t *testing.T) {
	bs := breaches()
	for i, b := range bs {
		if i > 0 && b.code <= bs[i-1].code {
			t.Fatalf("breaches out of order: %s after %s", b.code, bs[i-1].code)
		}
		t.Run(b.code.String(), func(t *testing.T) {
			o, env := customerOrder(t), testEnv(t)
			b.change(t, &o, &env)
			_, got, err := Validate(o, env)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got == nil || got.Code != b.code {
				t.Fatalf("Validate = %v, want %s", got, b.code)
			}
			if got.Field != b.code.Field() {
				t.Errorf("Field = %q, want %q", got.Field, b.code.Field())
			}
			if got.Message == "" {
				t.Errorf("no message")
			}
			wantStateless := b.code < CodeSenderBankSuspended
			if b.code.Stateless() != wantStateless {
				t.Errorf("Stateless() = %v, want %v", b.code.Stateless(), wantStateless)
			}
		})
	}
}

// TestValidatePrecedence breaks every pair of rules that touch different fields at once: the order gets the
// earlier code.
func TestValidatePrecedence(t *testing.T) {
	bs := breaches()
	pairs := 0
	for i, first := range bs {
		for _, second := range bs[i+1:] {
			if overlaps(first.touch, second.touch) {
				continue
			}
			pairs++
			t.Run(first.code.String()+"+"+second.code.String(), func(t *testing.T) {
				o, env := customerOrder(t), testEnv(t)
				first.change(t, &o, &env)
				second.change(t, &o, &env)
				_, got, err := Validate(o, env)
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if got == nil || got.Code != first.code {
					t.Errorf("Validate = %v, want %s", got, first.code)
				}
			})
		}
	}
	if pairs < 200 {
		t.Errorf("only %d pairs checked", pairs)
	}
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func TestValidateRejections(t *testing.T) {
	tests := []struct {
		name         string
		change       func(t *testing.T, o *Order, env *Env)
		want         Code
		wantPosition int
		wantInMsg    []string
	}{
		{"negative amount", func(_ *testing.T, o *Order, _ *Env) { o.AmountRial = -1 }, CodeAmountInvalid, 0, []string{"-1"}},
		{"amount above the maximum", func(_ *testing.T, o *Order, _ *Env) { o.AmountRial = rulebook.AmountRialMax + 1 }, CodeAmountInvalid, 0, nil},
		{"reference of spaces", func(_ *testing.T, o *Order, _ *Env) { o.Reference = "   " }, CodeReferenceInvalid, 0, []string{"missing"}},
		{"reference too long", func(_ *testing.T, o *Order, _ *Env) { o.Reference = strings.Repeat("x", ReferenceLenMax+1) }, CodeReferenceInvalid, 0,
			[]string{"36 characters, more than 35"}},
		{"reference with a tab", func(_ *testing.T, o *Order, _ *Env) { o.Reference = "PRS\t1" }, CodeReferenceInvalid, 4, []string{"U+0009"}},
		{"reference not UTF-8", func(_ *testing.T, o *Order, _ *Env) { o.Reference = "ab\xffc" }, CodeReferenceInvalid, 3, []string{"0xff"}},
		{"payer name with a bidi override", func(_ *testing.T, o *Order, _ *Env) { o.PayerName = "علی\u202Eرضا" }, CodePayerNameInvalid, 4,
			[]string{"U+202E"}},
		{"payer name with the replacement character", func(_ *testing.T, o *Order, _ *Env) { o.PayerName = "a\uFFFD" }, CodePayerNameInvalid, 2, nil},
		{"payee name with a line separator", func(_ *testing.T, o *Order, _ *Env) { o.PayeeName = "a\u2028b" }, CodePayeeNameInvalid, 2, nil},
		{"payee name missing", func(_ *testing.T, o *Order, _ *Env) { o.PayeeName = "" }, CodePayeeNameInvalid, 0, []string{"missing"}},
		{"description too long", func(_ *testing.T, o *Order, _ *Env) { o.Description = strings.Repeat("ش", DescriptionLenMax+1) }, CodeDescriptionInvalid, 0, nil},
		{"sender code not digits", func(_ *testing.T, o *Order, _ *Env) { o.SenderBank = "05a" }, CodeSenderBankUnknown, 0, []string{"3-digit"}},
		{"sender merged", func(_ *testing.T, o *Order, _ *Env) { o.SenderBank = "063" }, CodeSenderBankInactive, 0, []string{"063 Ansar", "merged", "015 Sepah"}},
		{"receiver dissolved", func(_ *testing.T, o *Order, _ *Env) { o.ReceiverBank = "062" }, CodeReceiverBankInactive, 0, []string{"062 Ayandeh", "dissolved", "017 Melli"}},
		{"payer SHEBA checksum", func(_ *testing.T, o *Order, _ *Env) { o.PayerSHEBA = "IR830540102680020817909002" }, CodePayerSHEBAInvalid, 3, []string{"checksum"}},
		{"payee SHEBA bad character", func(_ *testing.T, o *Order, _ *Env) { o.PayeeSHEBA = "IR82-0540102680020817909002" }, CodePayeeSHEBAInvalid, 5, []string{"character"}},
		{"payee SHEBA names no bank", func(t *testing.T, o *Order, _ *Env) { o.PayeeSHEBA = account(t, "296", "1") }, CodePayeeSHEBAInvalid, 5, []string{"unknown_bank"}},
		{"payer SHEBA of another bank", func(t *testing.T, o *Order, _ *Env) { o.PayerSHEBA = account(t, "012", "9") }, CodePayerBankMismatch, 0,
			[]string{"012 Mellat", "not of sender_bank 054 Parsian"}},
		{"payee SHEBA of a merged bank, routed elsewhere", func(t *testing.T, o *Order, _ *Env) { o.PayeeSHEBA = account(t, "063", "9") }, CodePayeeBankMismatch, 0,
			[]string{"015 Sepah", "063 Ansar, merged into it", "not of receiver_bank 017 Melli"}},
		{"interbank with a payer SHEBA", func(_ *testing.T, o *Order, _ *Env) {
			o.Type, o.PayerName, o.PayeeName, o.PayeeSHEBA = TypeInterbank, "", "", ""
		}, CodePayerSHEBAInvalid, 0, []string{"interbank"}},
		{"interbank with a payee name", func(_ *testing.T, o *Order, _ *Env) {
			o.Type, o.PayerName, o.PayerSHEBA, o.PayeeSHEBA = TypeInterbank, "", "", ""
		}, CodePayeeNameInvalid, 0, []string{"interbank"}},
		{"on-us", func(t *testing.T, o *Order, _ *Env) { o.ReceiverBank, o.PayeeSHEBA = "054", account(t, "054", "8") }, CodeOnUs, 0,
			[]string{"not SATNA's business"}},
		{"too far, the day after the last", func(t *testing.T, o *Order, _ *Env) { o.EffectiveDate = jalali(t, "1404/01/25") }, CodeEffectiveDateTooFar, 0,
			[]string{"the last allowed is 1404/01/24 (2025-04-13)", "5 business days"}},
		{"too far with a window of 0", func(t *testing.T, o *Order, env *Env) {
			env.Profile.SATNADaysAheadMax, o.EffectiveDate = 0, jalali(t, "1404/01/19")
		}, CodeEffectiveDateTooFar, 0, nil},
		{"sender and receiver suspended", func(t *testing.T, _ *Order, env *Env) { env.Banks = suspend(t, env.Banks, "017", "054") },
			CodeSenderBankSuspended, 0, []string{"054 Parsian"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, env := customerOrder(t), testEnv(t)
			tt.change(t, &o, &env)
			_, got, err := Validate(o, env)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got == nil || got.Code != tt.want {
				t.Fatalf("Validate = %v, want %s", got, tt.want)
			}
			if got.Position != tt.wantPosition {
				t.Errorf("Position = %d, want %d (%s)", got.Position, tt.wantPosition, got)
			}
			for _, w := range tt.wantInMsg {
				if !strings.Contains(got.String(), w) {
					t.Errorf("rejection %q lacks %q", got, w)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		order   func(t *testing.T) Order
		wantFee int64
		check   func(t *testing.T, d Decision)
	}{
		{"customer order, seed: free", "seed", func(t *testing.T) Order { return customerOrder(t) }, 0, nil},
		{"customer order, 1400: 0.02 %", "1400", func(t *testing.T) Order {
			o := customerOrder(t)
			o.AmountRial = 600_000_000
			return o
		}, 120_000, nil},
		{"customer order, 1404: 0.02 % capped at 250,000", "1404", func(t *testing.T) Order {
			o := customerOrder(t)
			o.AmountRial = 5_000_000_000
			return o
		}, 250_000, nil},
		{"interbank order pays no fee, even in 1404, and has no minimum", "1404", func(t *testing.T) Order {
			o := interbankOrder(t)
			o.AmountRial = 1
			return o
		}, 0, nil},
		{"SHEBAs as people type them come back canonical", "seed", func(t *testing.T) Order {
			o := customerOrder(t)
			o.PayerSHEBA = "ir82 0540 1026 8002 0817 9090 02"
			o.PayeeSHEBA = toPersianDigits(o.PayeeSHEBA)
			return o
		}, 0, func(t *testing.T, d Decision) {
			if d.Order.PayerSHEBA != parsianSHEBA || d.Order.PayeeSHEBA != account(t, "017", "123456789") {
				t.Errorf("SHEBAs %s, %s: want canonical", d.Order.PayerSHEBA, d.Order.PayeeSHEBA)
			}
		}},
		{"payee SHEBA of a merged bank routes to its successor", "seed", func(t *testing.T) Order {
			o := customerOrder(t)
			o.ReceiverBank, o.PayeeSHEBA = "015", account(t, "063", "42")
			return o
		}, 0, nil},
		{"effective today", "seed", func(t *testing.T) Order {
			o := customerOrder(t)
			o.EffectiveDate = jalali(t, "1404/01/18")
			return o
		}, 0, nil},
		{"effective on the last day of the window", "seed", func(t *testing.T) Order {
			o := customerOrder(t)
			o.EffectiveDate = jalali(t, "1404/01/24")
			return o
		}, 0, nil},
		{"effective on a Friday inside the window", "seed", func(t *testing.T) Order {
			o := customerOrder(t)
			o.EffectiveDate = jalali(t, "1404/01/22")
			return o
		}, 0, nil},
		{"a return below the minimum pays no fee", "1404", func(t *testing.T) Order {
			o := customerOrder(t)
			o.AmountRial, o.ReturnOf = 999_950_000, id(99)
			return o
		}, 0, nil},
		{"the central bank sends", "seed", func(t *testing.T) Order {
			o := interbankOrder(t)
			o.SenderBank = "010"
			return o
		}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(t)
			env.Profile = profile(t, tt.profile)
			o := tt.order(t)
			d, r, err := Validate(o, env)
			if err != nil || r != nil {
				t.Fatalf("Validate = %v, %v; want accepted", r, err)
			}
			if d.FeeRial != tt.wantFee || d.Profile != tt.profile {
				t.Errorf("fee %d, profile %s; want %d, %s", d.FeeRial, d.Profile, tt.wantFee, tt.profile)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func toPersianDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}

// TestBelowMinimumByProfile: the same order under seed and 1404 shows the documented difference.
func TestBelowMinimumByProfile(t *testing.T) {
	tests := []struct {
		profile  string
		amount   int64
		want     Code
		wantHint string
	}{
		{"seed", 149_999_999, CodeBelowMinimum, "PAYA carries such amounts: its cap per entry is < 150,000,000 rial"},
		{"seed", 150_000_000, CodeOK, ""},
		{"seed", 500_000_000, CodeOK, ""},
		{"1400", 499_999_999, CodeBelowMinimum, "PAYA carries such amounts: its cap per entry is ≤ 1,000,000,000 rial"},
		{"1404", 500_000_000, CodeBelowMinimum, "PAYA carries such amounts: its cap per entry is ≤ 2,000,000,000 rial"},
		{"1404", 1_000_000_000, CodeOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.profile+" "+formatRial(tt.amount), func(t *testing.T) {
			env := testEnv(t)
			env.Profile = profile(t, tt.profile)
			o := customerOrder(t)
			o.AmountRial = tt.amount
			_, r, err := Validate(o, env)
			if err != nil {
				t.Fatal(err)
			}
			got := CodeOK
			if r != nil {
				got = r.Code
			}
			if got != tt.want {
				t.Fatalf("Validate = %v, want %s", r, tt.want)
			}
			if r != nil && (r.Hint != tt.wantHint || r.Field != "amount_rial") {
				t.Errorf("hint %q field %q, want %q on amount_rial", r.Hint, r.Field, tt.wantHint)
			}
		})
	}
	t.Run("a minimum above PAYA's cap says PAYA cannot carry it either", func(t *testing.T) {
		env := testEnv(t)
		env.Profile.SATNAMinCustomerRial = 300_000_000
		o := customerOrder(t)
		_, r, _ := Validate(o, env)
		if r == nil || !strings.Contains(r.Hint, "does not carry it either") {
			t.Errorf("Validate = %v", r)
		}
	})
}

func TestValidateErrors(t *testing.T) {
	o, env := customerOrder(t), testEnv(t)
	if _, _, err := Validate(o, Env{Profile: env.Profile}); !errors.Is(err, ErrEnv) {
		t.Errorf("no registry or calendar: %v, want ErrEnv", err)
	}
	zero := o
	zero.ReceivedAt = time.Time{}
	if _, _, err := Validate(zero, env); !errors.Is(err, ErrEnv) {
		t.Errorf("zero ReceivedAt: %v, want ErrEnv", err)
	}
	// Received on the last business days of 1405, the last table: the window runs into 1406.
	late := customerOrder(t)
	late.ReceivedAt = at(t, "1405/12/24", 10, 0)
	late.EffectiveDate = jalali(t, "1405/12/25")
	if _, _, err := Validate(late, env); !errors.Is(err, calendar.ErrNoTable) {
		t.Errorf("window into 1406: %v, want ErrNoTable", err)
	}
}

func TestCheckStateOnRelease(t *testing.T) {
	o, env := customerOrder(t), testEnv(t)
	if r := CheckState(o, env.Banks); r != nil {
		t.Fatalf("CheckState = %v", r)
	}
	if r := CheckState(o, suspend(t, env.Banks, "017")); r == nil || r.Code != CodeReceiverBankSuspended || r.Code.Stateless() {
		t.Errorf("CheckState = %v, want receiver_bank_suspended, not stateless", r)
	}
}

func BenchmarkValidate(b *testing.B) {
	o, env := customerOrder(b), testEnv(b)
	env.Profile = profile(b, "1404")
	o.AmountRial = 2_000_000_000
	for b.Loop() {
		if _, r, err := Validate(o, env); r != nil || err != nil {
			b.Fatal(r, err)
		}
	}
}
