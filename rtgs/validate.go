package rtgs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/sheba"
)

// Limits on an order's text fields, in characters (runes). The API bounds the body as a whole; these bound
// each field, so that a stored order, an event and a statement line stay small.
const (
	// ReferenceLenMax is ISO 20022's Max35Text, the length of a credit transfer's end-to-end identification:
	// room for any bank's own reference (SWIFT MT103's field 20, which banks used before, holds 16).
	ReferenceLenMax = 35
	// NameLenMax is ISO 20022's Max140Text, the length of a party's name.
	NameLenMax = 140
	// DescriptionLenMax is ISO 20022's Max140Text, the length of unstructured remittance information.
	DescriptionLenMax = 140
)

// ErrEnv is returned by Validate when its environment is incomplete or the order lacks what the wiring must
// set (ReceivedAt): a bug of the caller, never a rejection.
var ErrEnv = errors.New("rtgs: incomplete environment")

// Env is what Validate checks an order against.
type Env struct {
	// Banks is the registry as of the order's day (banks.Registry.AsOf), with the operator's suspensions.
	Banks *banks.Registry
	// Profile is the rulebook profile in force when the order is received.
	Profile rulebook.Profile
	// Calendar answers the business-day questions of the effective date.
	Calendar *calendar.Calendar
}

// Decision is what Validate decides about an accepted order.
type Decision struct {
	// Order is the order as validated, its SHEBAs in canonical form ("IR" and 24 digits).
	Order Order
	// FeeRial is the SATNA fee of the profile in force (rulebook.Profile.SATNAFee), charged to the payer on
	// top of the amount: customer orders only, and never on a return (it carries the return fee instead).
	// Interbank orders pay none: the profiles' fee is the CBI's tariff on customer transfers.
	FeeRial int64
	// Profile names the rulebook profile the decision used.
	Profile string
}

// Validate decides whether o may enter SATNA: nil and a Decision when it may, else the first Rejection in
// the order of precedence of the codes (doc.go, "Validation"). Every stateless rule is checked before any
// rule of state, so that a request the API answers with 422 is refused the same way whatever the switch's
// state. An error is operational — an incomplete Env, a zero ReceivedAt, a calendar with no holiday table
// for a date the rules must count through (calendar.ErrNoTable) — and decides nothing.
func Validate(o Order, env Env) (Decision, *Rejection, error) {
	if env.Banks == nil || env.Calendar == nil {
		return Decision{}, nil, fmt.Errorf("%w: Env needs Banks and Calendar", ErrEnv)
	}
	if o.ReceivedAt.IsZero() {
		return Decision{}, nil, fmt.Errorf("%w: order %s has no ReceivedAt", ErrEnv, o.ID)
	}
	if r := checkShape(o); r != nil {
		return Decision{}, r, nil
	}
	o, r := checkIdentifiers(o, env.Banks)
	if r != nil {
		return Decision{}, r, nil
	}
	if r, err := checkRules(o, env.Profile, env.Calendar); r != nil || err != nil {
		return Decision{}, r, err
	}
	if r := CheckState(o, env.Banks); r != nil {
		return Decision{}, r, nil
	}
	d := Decision{Order: o, Profile: env.Profile.Name}
	if o.Type == TypeCustomer && !o.IsReturn() {
		d.FeeRial = env.Profile.SATNAFee.For(o.AmountRial)
	}
	return d, nil, nil
}

// CheckState checks the rules of state alone: the sending bank, then the receiving bank, must not be
// suspended in reg. Validate applies it last; the wiring applies it again when an order leaves the warehouse
// (its day opens) and refuses it then with the same codes. o must have passed Validate's stateless rules.
func CheckState(o Order, reg *banks.Registry) *Rejection {
	for _, side := range []struct {
		code string
		c    Code
		name string
	}{{o.SenderBank, CodeSenderBankSuspended, "sender_bank"}, {o.ReceiverBank, CodeReceiverBankSuspended, "receiver_bank"}} {
		if b, ok := reg.ByCode(side.code); ok && b.Status == banks.StatusSuspended {
			return reject(side.c, 0, "%s %s is suspended by the operator", side.name, b.Label())
		}
	}
	return nil
}

// checkShape checks what the order says about itself, field by field.
func checkShape(o Order) *Rejection {
	switch {
	case !o.Type.Valid():
		return reject(CodeTypeInvalid, 0, "type %s: want customer or interbank", o.Type)
	case !o.Priority.Valid():
		return reject(CodePriorityInvalid, 0, "priority %s: want urgent, high or normal", o.Priority)
	case o.AmountRial <= 0 || o.AmountRial > rulebook.AmountRialMax:
		return reject(CodeAmountInvalid, 0, "amount_rial %d: want 1 to %d", o.AmountRial, rulebook.AmountRialMax)
	}
	if r := checkText(CodeReferenceInvalid, o.Reference, true, ReferenceLenMax); r != nil {
		return r
	}
	customer := o.Type == TypeCustomer
	for _, f := range []struct {
		c Code
		s string
	}{{CodePayerNameInvalid, o.PayerName}, {CodePayeeNameInvalid, o.PayeeName}} {
		if !customer {
			if f.s != "" {
				return reject(f.c, 0, "%s given on an interbank order, which moves the banks' own money", f.c.Field())
			}
			continue
		}
		if r := checkText(f.c, f.s, true, NameLenMax); r != nil {
			return r
		}
	}
	return checkText(CodeDescriptionInvalid, o.Description, false, DescriptionLenMax)
}

// checkText checks a text field: present when required, at most max characters, every one printable.
func checkText(c Code, s string, required bool, max int) *Rejection {
	field := c.Field()
	if required && strings.TrimSpace(s) == "" {
		return reject(c, 0, "%s missing", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return reject(c, 0, "%s: %d characters, more than %d", field, n, max)
	}
	pos := 0
	for i, r := range s {
		pos++
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
				return reject(c, pos, "%s: byte %#x at position %d is not UTF-8", field, s[i], pos)
			}
		}
		if !printable(r) {
			return reject(c, pos, "%s: character %U at position %d is not printable text", field, r, pos)
		}
	}
	return nil
}

// printable reports whether r may appear in an order's text: not a control character (C0, DEL, C1: tabs and
// line breaks included), not the replacement character (text mangled on its way), not a line or paragraph
// separator, not a bidirectional embedding, override or isolate, which can make a name display as another.
// The zero-width non-joiner and the left-to-right and right-to-left marks of Persian text are allowed.
func printable(r rune) bool {
	switch {
	case unicode.IsControl(r), r == utf8.RuneError, r == '\u2028', r == '\u2029':
		return false
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return false
	}
	return true
}

// routingDirectory is the registry as sheba.Parse sees it on the rails: a merged or dissolved bank's SHEBAs
// are still accounts, held by its successor (Registry.Route), as the BINs of merged banks still route
// (DOMAIN.md §2); only a code that names no bank is refused.
type routingDirectory struct{ reg *banks.Registry }

// LookupSHEBA implements sheba.Directory.
func (d routingDirectory) LookupSHEBA(code string) (found, active bool, successor string) {
	found, _, _ = d.reg.LookupSHEBA(code)
	return found, true, ""
}

// checkIdentifiers checks the banks and SHEBAs and how they agree, returning o with canonical SHEBAs.
func checkIdentifiers(o Order, reg *banks.Registry) (Order, *Rejection) {
	for _, side := range []struct {
		code              string
		unknown, inactive Code
	}{
		{o.SenderBank, CodeSenderBankUnknown, CodeSenderBankInactive},
		{o.ReceiverBank, CodeReceiverBankUnknown, CodeReceiverBankInactive},
	} {
		field := side.unknown.Field()
		if !bankCodeSyntax(side.code) {
			return o, reject(side.unknown, 0, "%s %q: want a 3-digit CBI bank code", field, side.code)
		}
		b, ok := reg.ByCode(side.code)
		if !ok {
			return o, reject(side.unknown, 0, "%s %s names no bank", field, side.code)
		}
		if b.Status == banks.StatusMerged || b.Status == banks.StatusDissolved {
			succ, _ := reg.Route(b.Code)
			return o, reject(side.inactive, 0, "%s %s was %s into %s, which sends and receives its orders", field, b.Label(), b.Status, succ.Label())
		}
	}
	parties := []struct {
		s        *string
		invalid  Code
		mismatch Code
		bank     string
		role     string
	}{
		{&o.PayerSHEBA, CodePayerSHEBAInvalid, CodePayerBankMismatch, o.SenderBank, "sender_bank"},
		{&o.PayeeSHEBA, CodePayeeSHEBAInvalid, CodePayeeBankMismatch, o.ReceiverBank, "receiver_bank"},
	}
	if o.Type == TypeInterbank {
		for _, p := range parties {
			if *p.s != "" {
				return o, reject(p.invalid, 0, "%s given on an interbank order, which moves the banks' own money", p.invalid.Field())
			}
		}
		if o.SenderBank == o.ReceiverBank {
			return o, reject(CodeSenderIsReceiver, 0, "an interbank order from %s to itself moves nothing", o.SenderBank)
		}
		return o, nil
	}
	var parsed [2]sheba.SHEBA
	for i, p := range parties {
		x, err := sheba.Parse(*p.s, routingDirectory{reg})
		if err != nil {
			var se *sheba.Error
			if errors.As(err, &se) {
				return o, reject(p.invalid, se.Position, "%s: %s (%s)", p.invalid.Field(), se.Message, se.Code)
			}
			return o, reject(p.invalid, 0, "%s: %v", p.invalid.Field(), err)
		}
		parsed[i] = x
		*p.s = x.String()
	}
	for i, p := range parties {
		code := parsed[i].BankCode()
		routed, _ := reg.Route(code)
		if routed.Code == p.bank {
			continue
		}
		own := ""
		if routed.Code != code {
			b, _ := reg.ByCode(code)
			own = fmt.Sprintf(" (its bank code %s, %s into it)", b.Label(), b.Status)
		}
		bank, _ := reg.ByCode(p.bank)
		return o, reject(p.mismatch, 0, "%s %s is an account of %s%s, not of %s %s",
			p.mismatch.Field(), parsed[i], routed.Label(), own, p.role, bank.Label())
	}
	if o.SenderBank == o.ReceiverBank {
		return o, reject(CodeOnUs, 0, "payer and payee are both customers of %s: a transfer within one bank is its own book entry, not SATNA's business", o.SenderBank)
	}
	return o, nil
}

// bankCodeSyntax reports whether s is three ASCII digits.
func bankCodeSyntax(s string) bool {
	return len(s) == 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// checkRules checks the rulebook's figures for the order's day: the minimum, then the effective date.
func checkRules(o Order, p rulebook.Profile, cal *calendar.Calendar) (*Rejection, error) {
	if o.Type == TypeCustomer && !o.IsReturn() && o.AmountRial < p.SATNAMinCustomerRial {
		r := reject(CodeBelowMinimum, 0, "amount_rial %s is below SATNA's minimum for customer orders, %s (profile %s)",
			formatRial(o.AmountRial), formatRial(p.SATNAMinCustomerRial), p.Name)
		if p.PAYACap.Allows(o.AmountRial) {
			r.Hint = "PAYA carries such amounts: its cap per entry is " + p.PAYACap.String()
		} else {
			r.Hint = "PAYA's cap per entry, " + p.PAYACap.String() + ", does not carry it either"
		}
		return r, nil
	}
	if o.EffectiveDate.IsZero() {
		return nil, nil
	}
	if err := o.EffectiveDate.Validate(); err != nil {
		return reject(CodeEffectiveDateInvalid, 0, "effective_date: %v", err), nil
	}
	today := calendar.DateOf(o.ReceivedAt)
	if o.EffectiveDate.Before(today) {
		return reject(CodeEffectiveDatePast, 0, "effective_date %s is before the day the order was received, %s",
			o.EffectiveDate.Display(), today.Display()), nil
	}
	last, err := cal.AddBusinessDays(today, p.SATNADaysAheadMax)
	if err != nil {
		return nil, fmt.Errorf("rtgs: the last effective date allowed on %s: %w", today, err)
	}
	if o.EffectiveDate.After(last) {
		return reject(CodeEffectiveDateTooFar, 0, "effective_date %s is more than %d business days after %s: the last allowed is %s (profile %s)",
			o.EffectiveDate.Display(), p.SATNADaysAheadMax, today.Display(), last.Display(), p.Name), nil
	}
	return nil, nil
}

// formatRial groups the digits of n by thousands: "150,000,000 rial".
func formatRial(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String() + " rial"
}
