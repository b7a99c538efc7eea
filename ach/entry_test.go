package ach

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/banks"
)

func TestValidateAcceptsAndCanonicalises(t *testing.T) {
	env := testEnv(t, "seed")
	e := validCredit(t)
	want := e.PayeeSHEBA
	// As people type it: spaces, lower case, Persian digits.
	e.PayeeSHEBA = "ir" + strings.Join(splitEvery(toPersianDigits(want[2:]), 4), " ")
	d, rej, err := Validate(e, env)
	if err != nil || rej != nil {
		t.Fatalf("Validate: %v, %v", rej, err)
	}
	if d.Entry.PayeeSHEBA != want || d.ReceivingBank != "017" || d.Profile != "seed" || d.FeeRial != 0 {
		t.Errorf("decision %+v: want payee %s, receiving 017, profile seed, no fee", d, want)
	}
	// Validating the decided entry again gives the same decision.
	if d2, rej, err := Validate(d.Entry, env); err != nil || rej != nil || d2 != d {
		t.Errorf("again: %+v, %v, %v; want %+v", d2, rej, err, d)
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

func splitEvery(s string, n int) []string {
	var out []string
	rs := []rune(s)
	for len(rs) > n {
		out, rs = append(out, string(rs[:n])), rs[n:]
	}
	return append(out, string(rs))
}

func TestValidateDebit(t *testing.T) {
	d, rej, err := Validate(validDebit(t), testEnv(t, "seed"))
	if err != nil || rej != nil {
		t.Fatalf("Validate: %v, %v", rej, err)
	}
	if d.ReceivingBank != "017" {
		t.Errorf("a debit is received by the payer's bank, 017; got %s", d.ReceivingBank)
	}
}

// TestCapBoundary is the cap of each embedded profile at its edge: seed's is exclusive (< 150,000,000), the
// later ones inclusive (≤).
func TestCapBoundary(t *testing.T) {
	for _, c := range []struct {
		profile string
		amount  int64
		ok      bool
	}{
		{"seed", 1, true},
		{"seed", 149_999_999, true},
		{"seed", 150_000_000, false},
		{"seed", 150_000_001, false},
		{"1400", 1_000_000_000, true},
		{"1400", 1_000_000_001, false},
		{"1404", 2_000_000_000, true},
		{"1404", 2_000_000_001, false},
	} {
		e := validCredit(t)
		e.AmountRial = c.amount
		_, rej, err := Validate(e, testEnv(t, c.profile))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.ok && rej != nil:
			t.Errorf("%s, %d rial: %v, want accepted", c.profile, c.amount, rej)
		case !c.ok && (rej == nil || rej.Code != CodeAmountAtOrOverCap || rej.Field != FieldAmount):
			t.Errorf("%s, %d rial: %v, want amount_at_or_over_cap on amount_rial", c.profile, c.amount, rej)
		}
	}
}

func TestOverCapHintsSATNA(t *testing.T) {
	e := validCredit(t)
	e.AmountRial = 150_000_000
	_, rej, _ := Validate(e, testEnv(t, "seed"))
	if rej == nil || !strings.Contains(rej.Hint, "SATNA") || !strings.Contains(rej.Hint, "150,000,000") ||
		!strings.Contains(rej.Message, "< 150,000,000 rial") {
		t.Errorf("rejection %+v: want the cap in the message and SATNA's minimum in the hint", rej)
	}
}

// TestValidateCodes gives each code (and each field a code can name) an entry that breaks that rule alone.
func TestValidateCodes(t *testing.T) {
	long := func(n int) string { return strings.Repeat("ن", n) }
	mellat := account(t, "012", "777")
	for _, c := range []struct {
		name     string
		change   func(*Entry, *Env)
		code     Code
		field    string
		position int
		words    []string // the message contains each
	}{
		{"no core", func(e *Entry, _ *Env) { e.Core = 0 }, CodeCoreInvalid, FieldCore, 0, nil},
		{"core 3", func(e *Entry, _ *Env) { e.Core = 3 }, CodeCoreInvalid, FieldCore, 0, []string{"Core(3)"}},
		{"zero amount", func(e *Entry, _ *Env) { e.AmountRial = 0 }, CodeAmountNotPositive, FieldAmount, 0, nil},
		{"negative amount", func(e *Entry, _ *Env) { e.AmountRial = -5 }, CodeAmountNotPositive, FieldAmount, 0, []string{"-5"}},
		{"amount at the cap", func(e *Entry, _ *Env) { e.AmountRial = 150_000_000 }, CodeAmountAtOrOverCap, FieldAmount, 0, []string{"150,000,000", "seed"}},
		{"no reference", func(e *Entry, _ *Env) { e.Reference = "" }, CodeReferenceInvalid, FieldReference, 0, []string{"missing"}},
		{"blank reference", func(e *Entry, _ *Env) { e.Reference = "   " }, CodeReferenceInvalid, FieldReference, 0, []string{"missing"}},
		{"reference of 36", func(e *Entry, _ *Env) { e.Reference = strings.Repeat("R", 36) }, CodeReferenceInvalid, FieldReference, 0, []string{"36", "35"}},
		{"reference with a tab", func(e *Entry, _ *Env) { e.Reference = "ab\tc" }, CodeReferenceInvalid, FieldReference, 3, []string{"U+0009", "position 3"}},
		{"no payer name", func(e *Entry, _ *Env) { e.PayerName = "" }, CodeNameMissing, FieldPayerName, 0, nil},
		{"no payee name", func(e *Entry, _ *Env) { e.PayeeName = " \u00a0 " }, CodeNameMissing, FieldPayeeName, 0, nil},
		{"payee name of 141", func(e *Entry, _ *Env) { e.PayeeName = long(141) }, CodeNameTooLong, FieldPayeeName, 0, []string{"141", "140"}},
		{"payer name of 141", func(e *Entry, _ *Env) { e.PayerName = long(141) }, CodeNameTooLong, FieldPayerName, 0, nil},
		{"payee name overridden", func(e *Entry, _ *Env) { e.PayeeName = "علی\u202eرضا" }, CodeNameInvalid, FieldPayeeName, 4, []string{"U+202E"}},
		{"payee name not UTF-8", func(e *Entry, _ *Env) { e.PayeeName = "ab\xffc" }, CodeNameInvalid, FieldPayeeName, 3, []string{"0xff", "UTF-8"}},
		{"payee name with a line break", func(e *Entry, _ *Env) { e.PayeeName = "علی\nرضا" }, CodeNameInvalid, FieldPayeeName, 4, nil},
		{"description of 141", func(e *Entry, _ *Env) { e.Description = long(141) }, CodeDescriptionTooLong, FieldDescription, 0, nil},
		{"description with a BOM", func(e *Entry, _ *Env) { e.Description = "x\ufeff" }, CodeDescriptionInvalid, FieldDescription, 2, nil},
		{"mandate on a credit", func(e *Entry, _ *Env) { e.MandateID = "M-1" }, CodeMandateNotAllowed, FieldMandateID, 0, nil},
		{"debit without mandate", func(e *Entry, _ *Env) { *e = validDebit(t); e.MandateID = "" }, CodeMandateMissing, FieldMandateID, 0, nil},
		{"mandate with a space", func(e *Entry, _ *Env) { *e = validDebit(t); e.MandateID = "abc def" }, CodeMandateInvalid, FieldMandateID, 4, nil},
		{"mandate of 37", func(e *Entry, _ *Env) { *e = validDebit(t); e.MandateID = strings.Repeat("a", 37) }, CodeMandateInvalid, FieldMandateID, 0, []string{"37"}},
		{"bank code of 2 digits", func(e *Entry, _ *Env) { e.OriginatingBank = "54" }, CodeBankUnknown, FieldOriginatingBank, 0, []string{`"54"`}},
		{"no such bank", func(e *Entry, _ *Env) { e.OriginatingBank = "296" }, CodeBankUnknown, FieldOriginatingBank, 0, []string{"296"}},
		{"bank merged", func(e *Entry, _ *Env) { e.OriginatingBank = "063" }, CodeBankInactive, FieldOriginatingBank, 0, []string{"063 Ansar", "merged", "015 Sepah"}},
		{"bank dissolved", func(e *Entry, _ *Env) { e.OriginatingBank = "062" }, CodeBankInactive, FieldOriginatingBank, 0, []string{"062 Ayandeh", "dissolved", "017 Melli"}},
		{"payer checksum", func(e *Entry, _ *Env) { e.PayerSHEBA = breakChecksum(parsianSHEBA) }, CodeSHEBAInvalid, FieldPayerSHEBA, 3, []string{"checksum"}},
		{"payee bad character", func(e *Entry, _ *Env) { e.PayeeSHEBA = "IR82-0540102680020817909002" }, CodeSHEBAInvalid, FieldPayeeSHEBA, 5, []string{"character"}},
		{"payee bank 296", func(e *Entry, _ *Env) { e.PayeeSHEBA = account(t, "296", "1") }, CodeSHEBAInvalid, FieldPayeeSHEBA, 5, []string{"unknown_bank"}},
		{"payer at another bank", func(e *Entry, _ *Env) { e.PayerSHEBA = mellat }, CodeOriginatingBankMismatch, FieldPayerSHEBA, 0, []string{"012 Mellat", "054 Parsian"}},
		{"debit originated by the payer's bank", func(e *Entry, _ *Env) { *e = validDebit(t); e.OriginatingBank = "017" }, CodeOriginatingBankMismatch, FieldPayeeSHEBA, 0, nil},
		{"payee at the payer's bank", func(e *Entry, _ *Env) { e.PayeeSHEBA = account(t, "054", "42") }, CodeOnUs, FieldPayeeSHEBA, 0, []string{"054 Parsian"}},
		{"debit on us", func(e *Entry, _ *Env) { *e = validDebit(t); e.PayerSHEBA = account(t, "012", "42") }, CodeOnUs, FieldPayerSHEBA, 0, nil},
		{"payee at a merged bank of the payer's", func(e *Entry, env *Env) {
			e.OriginatingBank, e.PayerSHEBA, e.PayeeSHEBA = "015", account(t, "015", "1"), account(t, "063", "2")
		}, CodeOnUs, FieldPayeeSHEBA, 0, []string{"015 Sepah"}},
		{"originating bank suspended", func(_ *Entry, env *Env) { env.Banks = suspend(t, env.Banks, "054") }, CodeBankSuspended, FieldOriginatingBank, 0, []string{"054 Parsian", "suspended"}},
		{"receiving bank suspended", func(_ *Entry, env *Env) { env.Banks = suspend(t, env.Banks, "017") }, CodeBankSuspended, FieldPayeeSHEBA, 0, []string{"017 Melli"}},
		{"debit's receiving bank suspended", func(e *Entry, env *Env) { *e = validDebit(t); env.Banks = suspend(t, env.Banks, "017") }, CodeBankSuspended, FieldPayerSHEBA, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, env := validCredit(t), testEnv(t, "seed")
			c.change(&e, &env)
			d, rej, err := Validate(e, env)
			if err != nil {
				t.Fatal(err)
			}
			if rej == nil {
				t.Fatalf("accepted (%+v), want %s", d, c.code)
			}
			if rej.Code != c.code || rej.Field != c.field || rej.Position != c.position {
				t.Errorf("got %s on %q at %d (%s), want %s on %q at %d", rej.Code, rej.Field, rej.Position, rej.Message, c.code, c.field, c.position)
			}
			for _, w := range c.words {
				if !strings.Contains(rej.Message, w) {
					t.Errorf("message %q does not say %q", rej.Message, w)
				}
			}
			if rej.Message != strings.ToLower(rej.Message[:1])+rej.Message[1:] {
				t.Errorf("message %q starts with a capital", rej.Message)
			}
		})
	}
}

// TestValidateAccepts are entries at the edges of the rules that must pass.
func TestValidateAccepts(t *testing.T) {
	for _, c := range []struct {
		name      string
		change    func(*Entry, *Env)
		receiving string
	}{
		{"names of 140 Persian characters", func(e *Entry, _ *Env) {
			e.PayerName, e.PayeeName = strings.Repeat("ی", 140), strings.Repeat("ک", 140)
		}, "017"},
		{"reference of 35", func(e *Entry, _ *Env) { e.Reference = strings.Repeat("۹", 35) }, "017"},
		{"no description", func(e *Entry, _ *Env) { e.Description = "" }, "017"},
		{"direction marks in a name", func(e *Entry, _ *Env) { e.PayeeName = "\u200fعلی\u200e" }, "017"},
		{"payee of a merged bank goes to its successor", func(e *Entry, _ *Env) { e.PayeeSHEBA = account(t, "063", "9") }, "015"},
		{"the successor originates for a merged bank's account", func(e *Entry, _ *Env) {
			e.OriginatingBank, e.PayerSHEBA = "015", account(t, "052", "3")
		}, "017"},
		{"Ayandeh before its dissolution receives itself", func(e *Entry, env *Env) {
			env.Banks = banks.Default().AsOf("2025-10-01")
			e.PayeeSHEBA = account(t, "062", "5")
		}, "062"},
		{"Ayandeh after its dissolution is Melli", func(e *Entry, _ *Env) { e.PayeeSHEBA = account(t, "062", "5") }, "017"},
		{"the central bank's account", func(e *Entry, _ *Env) { e.PayeeSHEBA = account(t, "010", "11") }, "010"},
		{"a suspended bank elsewhere", func(_ *Entry, env *Env) { env.Banks = suspend(t, env.Banks, "012") }, "017"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, env := validCredit(t), testEnv(t, "seed")
			c.change(&e, &env)
			d, rej, err := Validate(e, env)
			if err != nil || rej != nil {
				t.Fatalf("Validate: %v, %v", rej, err)
			}
			if d.ReceivingBank != c.receiving {
				t.Errorf("receiving bank %s, want %s", d.ReceivingBank, c.receiving)
			}
		})
	}
}

// TestValidateOrder breaks two rules at once, for every pair of rules that touch different fields, and
// expects the earlier one in doc.go's order to be reported.
func TestValidateOrder(t *testing.T) {
	mellat := account(t, "012", "777")
	// faults in doc.go's order; those of one group change the same field and cannot be combined.
	faults := []struct {
		name   string
		group  string
		change func(*Entry, *Env)
		code   Code
		field  string
	}{
		{"core", "core", func(e *Entry, _ *Env) { e.Core = 0 }, CodeCoreInvalid, FieldCore},
		{"amount zero", "amount", func(e *Entry, _ *Env) { e.AmountRial = 0 }, CodeAmountNotPositive, FieldAmount},
		{"amount over cap", "amount", func(e *Entry, _ *Env) { e.AmountRial = 200_000_000 }, CodeAmountAtOrOverCap, FieldAmount},
		{"reference", "reference", func(e *Entry, _ *Env) { e.Reference = "" }, CodeReferenceInvalid, FieldReference},
		{"payer name", "payer_name", func(e *Entry, _ *Env) { e.PayerName = "" }, CodeNameMissing, FieldPayerName},
		{"payee name", "payee_name", func(e *Entry, _ *Env) { e.PayeeName = strings.Repeat("x", 141) }, CodeNameTooLong, FieldPayeeName},
		{"description", "description", func(e *Entry, _ *Env) { e.Description = "a\x00" }, CodeDescriptionInvalid, FieldDescription},
		{"mandate", "mandate", func(e *Entry, _ *Env) { e.MandateID = "M" }, CodeMandateNotAllowed, FieldMandateID},
		{"originating bank", "bank", func(e *Entry, _ *Env) { e.OriginatingBank = "296" }, CodeBankUnknown, FieldOriginatingBank},
		{"payer sheba", "payer_sheba", func(e *Entry, _ *Env) { e.PayerSHEBA = breakChecksum(parsianSHEBA) }, CodeSHEBAInvalid, FieldPayerSHEBA},
		{"payee sheba", "payee_sheba", func(e *Entry, _ *Env) { e.PayeeSHEBA = "IR12" }, CodeSHEBAInvalid, FieldPayeeSHEBA},
		{"mismatch", "payer_sheba", func(e *Entry, _ *Env) { e.PayerSHEBA = mellat }, CodeOriginatingBankMismatch, FieldPayerSHEBA},
		{"on us", "payee_sheba", func(e *Entry, _ *Env) { e.PayeeSHEBA = account(t, "054", "1") }, CodeOnUs, FieldPayeeSHEBA},
		{"originating suspended", "suspend_054", func(_ *Entry, env *Env) { env.Banks = suspend(t, env.Banks, "054") }, CodeBankSuspended, FieldOriginatingBank},
		{"receiving suspended", "suspend_017", func(_ *Entry, env *Env) { env.Banks = suspend(t, env.Banks, "017") }, CodeBankSuspended, FieldPayeeSHEBA},
	}
	for i, a := range faults {
		if i > 0 && faults[i-1].code > a.code {
			t.Fatalf("faults out of the codes' order at %s", a.name)
		}
		for _, b := range faults[i+1:] {
			if a.group == b.group {
				continue
			}
			for _, order := range [][2]int{{0, 1}, {1, 0}} { // the order of the changes does not matter
				e, env := validCredit(t), testEnv(t, "seed")
				pair := [2]func(*Entry, *Env){a.change, b.change}
				pair[order[0]](&e, &env)
				pair[order[1]](&e, &env)
				_, rej, err := Validate(e, env)
				if err != nil {
					t.Fatal(err)
				}
				if rej == nil || rej.Code != a.code || rej.Field != a.field {
					t.Errorf("%s with %s: got %v, want %s on %s", a.name, b.name, rej, a.code, a.field)
				}
			}
		}
	}
}

func TestValidateEnv(t *testing.T) {
	for _, env := range []Env{{}, {Banks: banks.Default()}} {
		if _, rej, err := Validate(validCredit(t), env); !errors.Is(err, ErrEnv) || rej != nil {
			t.Errorf("Env %+v: %v, %v; want ErrEnv", env, rej, err)
		}
	}
}

func TestCheckOriginator(t *testing.T) {
	env := testEnv(t, "seed")
	for _, c := range []struct {
		name  string
		core  Core
		o     Originator
		env   Env
		code  Code
		field string
	}{
		{"employer", CoreCredit, employer, env, CodeOK, ""},
		{"biller", CoreDebit, Originator{Bank: "012", SHEBA: account(t, "012", "900100200"), Name: "آبفا"}, env, CodeOK, ""},
		{"no core", 0, employer, env, CodeCoreInvalid, FieldCore},
		{"no name", CoreCredit, Originator{Bank: "054", SHEBA: parsianSHEBA}, env, CodeNameMissing, FieldPayerName},
		{"biller without a name", CoreDebit, Originator{Bank: "057", SHEBA: pasargadSHEBA}, env, CodeNameMissing, FieldPayeeName},
		{"merged bank", CoreCredit, Originator{Bank: "063", SHEBA: parsianSHEBA, Name: "x"}, env, CodeBankInactive, FieldOriginatingBank},
		{"bad sheba", CoreCredit, Originator{Bank: "054", SHEBA: "IR00", Name: "x"}, env, CodeSHEBAInvalid, FieldPayerSHEBA},
		{"sheba of another bank", CoreCredit, Originator{Bank: "054", SHEBA: pasargadSHEBA, Name: "x"}, env, CodeOriginatingBankMismatch, FieldPayerSHEBA},
		{"suspended", CoreCredit, employer, Env{Banks: suspend(t, banks.Default(), "054"), Profile: env.Profile}, CodeBankSuspended, FieldOriginatingBank},
	} {
		t.Run(c.name, func(t *testing.T) {
			rej, err := CheckOriginator(c.core, c.o, c.env)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.code == CodeOK && rej != nil:
				t.Errorf("refused: %v", rej)
			case c.code != CodeOK && (rej == nil || rej.Code != c.code || rej.Field != c.field):
				t.Errorf("got %v, want %s on %s", rej, c.code, c.field)
			}
		})
	}
}

// TestFee checks the fee of each profile against amounts worked by hand: 0.01 % is a ten-thousandth,
// rounded half up to the rial, then kept within 2,000..25,000.
func TestFee(t *testing.T) {
	for _, c := range []struct {
		profile string
		amount  int64
		fee     int64
	}{
		{"seed", 1, 0},
		{"seed", 149_999_999, 0},
		{"1400", 1, 2_000},              // 0.0001 → the minimum
		{"1400", 10_000_000, 2_000},     // 1,000 → the minimum
		{"1400", 20_000_000, 2_000},     // exactly the minimum
		{"1400", 20_004_999, 2_000},     // 2,000.4999 rounds down
		{"1400", 20_005_000, 2_001},     // 2,000.5 rounds up
		{"1400", 149_999_999, 15_000},   // 14,999.9999
		{"1400", 250_000_000, 25_000},   // exactly the maximum
		{"1400", 250_010_000, 25_000},   // 25,001 → the maximum
		{"1404", 1_000_000_000, 25_000}, // 100,000 → the maximum
		{"1404", 123_456_789, 12_346},   // 12,345.6789
	} {
		p := profile(t, c.profile)
		if got := Fee(p, c.amount); got != c.fee {
			t.Errorf("%s: fee on %d = %d, want %d", c.profile, c.amount, got, c.fee)
		}
		e := validCredit(t)
		e.AmountRial = c.amount
		if d, rej, err := Validate(e, Env{Banks: banks.Default(), Profile: p}); err != nil || rej != nil || d.FeeRial != c.fee {
			t.Errorf("%s: Validate of %d: fee %d, %v, %v; want %d", c.profile, c.amount, d.FeeRial, rej, err, c.fee)
		}
	}
}

func TestCodeNames(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for c := range codeCount {
		s := c.String()
		if !snake.MatchString(s) || seen[s] {
			t.Errorf("code %d: name %q is not snake_case or is not unique", c, s)
		}
		seen[s] = true
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Code
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("code %s read back as %v, %v", s, back, err)
		}
	}
	if _, err := codeCount.MarshalText(); !errors.Is(err, ErrSyntax) {
		t.Errorf("MarshalText of a value past the codes: %v", err)
	}
	if _, err := ParseCode("nope"); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseCode(nope): %v", err)
	}
}

func TestCoreText(t *testing.T) {
	for _, c := range []Core{CoreCredit, CoreDebit} {
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Core
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("%s read back as %v, %v", c, back, err)
		}
	}
	for _, bad := range []Core{0, 3} {
		if _, err := bad.MarshalText(); !errors.Is(err, ErrSyntax) {
			t.Errorf("MarshalText(%d): %v", bad, err)
		}
	}
	if _, err := ParseCore("Credit"); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseCore(Credit): %v, want case-sensitive names", err)
	}
}
