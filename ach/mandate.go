package ach

// Direct-debit mandates (DOMAIN.md §5, issue 9 §4): the rules of one mandate as pure functions over a
// value. The switch keeps mandates in its store; this file decides what a request, a change of state and
// a debit may do to one, and never keeps one itself.
//
// A biller's bank (the submitting bank) requests a mandate for its customer, the biller, over a payer's
// account at another bank: ValidateMandateRequest. The payer's bank approves or rejects it (Approve,
// Reject); the payer revokes it through its bank (Revoke); it expires after its end date (Expire). Every
// debit entry of the debit core names one, and CheckDebit decides at intake whether the mandate allows it,
// counting the debits of each Jalali month.
//
// Dates. A mandate's Start and End are calendar.Date values, civil days in Tehran; End is inclusive. A
// mandate is in force from Start's midnight in Tehran to the midnight that ends End, Tehran time, whatever
// the zone of the instant it is asked about: calendar.DateOf(at) is the day compared.
//
// Months. MaxDebitsPerMonth counts debits per Jalali month in Tehran time. The mandate value carries the
// month it has counted (Month, "YYYY/MM") and the count (DebitsThisMonth); a debit in a later month starts
// the count afresh. So a debit at 23:59 on 1404/01/31 Tehran counts in Farvardin and one two minutes later,
// at 00:01 on 1404/02/01, in Ordibehesht, even though both are the same UTC day (2025-04-20).

import (
	"errors"
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/sheba"
)

// Limits of a mandate.
const (
	// MandateDebitsPerMonthMax bounds MaxDebitsPerMonth: the API's bound (api.PAYAMandateRequest,
	// maximum 1000). A bill is collected once or a few times a month; a thousand is over thirty a day,
	// room for any instalment or metered service without letting one mandate stand for unbounded pulls.
	MandateDebitsPerMonthMax = 1000
	// MandateDaysMax bounds a mandate's span from Start to End, in days: five years of leap years (5 × 366),
	// so that a five-year mandate is never refused for its leap days. Five years is a simulator default
	// (issue 9 names none): longer contracts (a mortgage) renew their mandate, and a bound keeps a
	// forgotten mandate from pulling for decades.
	MandateDaysMax = 5 * 366
)

// The JSON names of a mandate request's fields, as a Rejection's Field names them (api.PAYAMandateRequest);
// its payer's are an entry's, FieldPayerSHEBA and FieldPayerName.
const (
	FieldBillerBank        = "biller_bank"
	FieldBillerSHEBA       = "biller_sheba"
	FieldBillerName        = "biller_name"
	FieldMaxPerDebit       = "max_per_debit_rial"
	FieldMaxDebitsPerMonth = "max_debits_per_month"
	FieldStartDate         = "start_date"
	FieldEndDate           = "end_date"
	FieldBillerReference   = "biller_reference"
)

// MandateStatus is where a mandate stands: requested → active → revoked | expired, or rejected.
type MandateStatus uint8

// The statuses. The zero MandateStatus is none, which no mandate has.
const (
	// MandateRequested waits for the payer's bank to approve or reject it.
	MandateRequested MandateStatus = iota + 1
	// MandateActive allows debits within its limits and dates.
	MandateActive
	// MandateRevoked was revoked by the payer, through its bank: no more debits.
	MandateRevoked
	// MandateExpired has passed its end date.
	MandateExpired
	// MandateRejected was refused by the payer's bank.
	MandateRejected
)

var mandateStatusNames = [...]string{
	MandateRequested: "requested",
	MandateActive:    "active",
	MandateRevoked:   "revoked",
	MandateExpired:   "expired",
	MandateRejected:  "rejected",
}

// String returns the status's name ("requested", "active", …), or "MandateStatus(n)" for a value that is none.
func (s MandateStatus) String() string {
	if s.Valid() {
		return mandateStatusNames[s]
	}
	return fmt.Sprintf("MandateStatus(%d)", uint8(s))
}

// Valid reports whether s is one of the statuses.
func (s MandateStatus) Valid() bool { return s >= MandateRequested && s <= MandateRejected }

// ParseMandateStatus reads a status's name.
func ParseMandateStatus(s string) (MandateStatus, error) {
	for v := MandateRequested; v <= MandateRejected; v++ {
		if mandateStatusNames[v] == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("ach: mandate status %q: want requested, active, revoked, expired or rejected: %w", s, ErrSyntax)
}

// MarshalText writes the status's name; a value that is none is an error.
func (s MandateStatus) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("ach: %s is not a mandate status: %w", s, ErrSyntax)
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads what ParseMandateStatus reads.
func (s *MandateStatus) UnmarshalText(b []byte) error {
	v, err := ParseMandateStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MandateRequest is a biller's request for a mandate, through its bank. It maps field for field onto
// api.PAYAMandateRequest, with the dates parsed (calendar.ParseDate reads both Gregorian and Jalali) and
// the submitting bank as BillerBank.
type MandateRequest struct {
	// BillerBank is the 3-digit code of the bank that submits the request: the biller's bank, which will
	// originate the debits.
	BillerBank  string `json:"biller_bank"`
	BillerSHEBA string `json:"biller_sheba"`
	BillerName  string `json:"biller_name"`
	PayerSHEBA  string `json:"payer_sheba"`
	// PayerName is optional: a biller may know the payer only by account.
	PayerName         string `json:"payer_name,omitempty"`
	MaxPerDebitRial   int64  `json:"max_per_debit_rial"`
	MaxDebitsPerMonth int    `json:"max_debits_per_month"`
	// Start and End are civil days in Tehran, End inclusive.
	Start calendar.Date `json:"start_date"`
	End   calendar.Date `json:"end_date"`
	// BillerReference is the biller's own reference for the mandate (a contract or subscriber number).
	BillerReference string `json:"biller_reference"`
}

// Mandate is a direct-debit mandate as the switch keeps it. Its rules are the functions of this file; it
// holds no pointer, so a copy is a snapshot and every change returns a new value.
type Mandate struct {
	// ID is the switch's id of the mandate, the MandateID of the debits collected under it. The caller
	// assigns it; ValidateMandateRequest leaves it empty.
	ID     string        `json:"id"`
	Status MandateStatus `json:"status"`
	// BillerBank is the code of the bank that requested it and originates its debits.
	BillerBank  string `json:"biller_bank"`
	BillerSHEBA string `json:"biller_sheba"` // canonical form
	BillerName  string `json:"biller_name"`
	// PayerBank is the code of the bank that holds the payer's account, after routing (a merged bank's
	// SHEBA is its successor's account): the bank that approves the mandate and receives its debits.
	PayerBank         string        `json:"payer_bank"`
	PayerSHEBA        string        `json:"payer_sheba"` // canonical form
	PayerName         string        `json:"payer_name,omitempty"`
	MaxPerDebitRial   int64         `json:"max_per_debit_rial"`
	MaxDebitsPerMonth int           `json:"max_debits_per_month"`
	Start             calendar.Date `json:"start_date"`
	End               calendar.Date `json:"end_date"` // inclusive
	BillerReference   string        `json:"biller_reference"`
	// Month is the Jalali month (JalaliMonth: "YYYY/MM", Tehran time) whose debits DebitsThisMonth counts;
	// empty before the first debit.
	Month           string `json:"month,omitempty"`
	DebitsThisMonth int    `json:"debits_this_month"`
}

// ErrMandateState is wrapped by the errors of Approve, Reject, Revoke and Expire when the mandate's status
// (or, for Expire, its end date) does not allow the change. The message names the status.
var ErrMandateState = errors.New("mandate state does not allow this")

// JalaliMonth returns the Jalali month in Tehran at instant at, as "YYYY/MM" ("1404/02"): the month a
// debit at that instant counts in. The strings of two months compare in time order.
func JalaliMonth(at time.Time) string {
	j := calendar.DateOf(at).Jalali()
	return fmt.Sprintf("%04d/%02d", j.Year, j.Month)
}

// ValidateMandateRequest checks a biller's request for a mandate against env, as of instant at (the time it
// is received, whose Tehran day decides whether its end date has passed), and returns the mandate it
// makes: status requested, SHEBAs in canonical form, PayerBank the payer's bank after routing, no ID (the
// caller assigns it), no debits counted. A request that breaks a rule gets a Rejection and no mandate; an
// incomplete env is an error (ErrEnv).
//
// The checks, in the order of their codes (the first failure is reported):
//
//  1. Text: biller_reference (reference_invalid: required, at most ReferenceLenMax characters, printable),
//     biller_name (name_missing, name_too_long, name_invalid), payer_name (optional; name_too_long,
//     name_invalid), with entry.go's limits, so that every debit's names and reference fit an entry.
//  2. Figures: mandate_limit_invalid when max_per_debit_rial is not positive or not allowed by the
//     profile's PAYA cap (a debit above the cap could never be collected, so such a mandate promises what
//     PAYA cannot do), or max_debits_per_month is outside 1..MandateDebitsPerMonthMax.
//  3. Dates: mandate_dates_invalid when either date is not a real day, start is after end, end is before
//     the day of at (Tehran), or end is more than MandateDaysMax days after start.
//  4. Identifiers: biller_bank (bank_unknown, bank_inactive naming the successor), biller_sheba then
//     payer_sheba (sheba_invalid with its position).
//  5. Agreement: originating_bank_mismatch when biller_sheba is not an account of biller_bank; on_us when
//     the payer's account is at the biller's bank (its debits would be on_us entries, which PAYA refuses).
//  6. State: bank_suspended, the biller's bank then the payer's.
func ValidateMandateRequest(req MandateRequest, at time.Time, env Env) (Mandate, *Rejection, error) {
	if err := env.check(); err != nil {
		return Mandate{}, nil, err
	}
	if r := checkMandateShape(req, at, env); r != nil {
		return Mandate{}, r, nil
	}
	reg := env.Banks
	biller, r := checkMandateBank(req.BillerBank, reg)
	if r != nil {
		return Mandate{}, r, nil
	}
	billerSHEBA, r := parseSHEBA(FieldBillerSHEBA, req.BillerSHEBA, reg)
	if r != nil {
		return Mandate{}, r, nil
	}
	payerSHEBA, r := parseSHEBA(FieldPayerSHEBA, req.PayerSHEBA, reg)
	if r != nil {
		return Mandate{}, r, nil
	}
	if r := checkOriginatorAgrees(FieldBillerSHEBA, billerSHEBA, req.BillerBank, reg); r != nil {
		return Mandate{}, r, nil
	}
	payerBank, _ := reg.Route(payerSHEBA.BankCode()) // parseSHEBA checked that the code names a bank
	if payerBank.Code == biller.Code {
		return Mandate{}, reject(CodeOnUs, FieldPayerSHEBA, 0,
			"payer_sheba %s is an account of %s, the biller's bank itself: its debits would be the bank's own book entries, not the clearing house's",
			payerSHEBA, payerBank.Label()), nil
	}
	if r := checkSuspended(FieldBillerBank, biller); r != nil {
		return Mandate{}, r, nil
	}
	if r := checkSuspended(FieldPayerSHEBA, payerBank); r != nil {
		return Mandate{}, r, nil
	}
	return Mandate{
		Status:            MandateRequested,
		BillerBank:        biller.Code,
		BillerSHEBA:       billerSHEBA.String(),
		BillerName:        req.BillerName,
		PayerBank:         payerBank.Code,
		PayerSHEBA:        payerSHEBA.String(),
		PayerName:         req.PayerName,
		MaxPerDebitRial:   req.MaxPerDebitRial,
		MaxDebitsPerMonth: req.MaxDebitsPerMonth,
		Start:             req.Start,
		End:               req.End,
		BillerReference:   req.BillerReference,
	}, nil, nil
}

// checkMandateShape checks what a request says about itself: its text, its figures, its dates.
func checkMandateShape(req MandateRequest, at time.Time, env Env) *Rejection {
	if r := checkText(FieldBillerReference, req.BillerReference, true, ReferenceLenMax,
		CodeReferenceInvalid, CodeReferenceInvalid, CodeReferenceInvalid); r != nil {
		return r
	}
	if r := checkName(FieldBillerName, req.BillerName); r != nil {
		return r
	}
	if r := checkText(FieldPayerName, req.PayerName, false, NameLenMax,
		CodeOK, CodeNameTooLong, CodeNameInvalid); r != nil {
		return r
	}
	p := env.Profile
	switch {
	case req.MaxPerDebitRial <= 0:
		return reject(CodeMandateLimitInvalid, FieldMaxPerDebit, 0, "max_per_debit_rial %d: want a positive amount", req.MaxPerDebitRial)
	case !p.PAYACap.Allows(req.MaxPerDebitRial):
		return reject(CodeMandateLimitInvalid, FieldMaxPerDebit, 0,
			"max_per_debit_rial %s is outside PAYA's cap per entry, %s (profile %s): a debit that large could never be collected",
			groupThousands(req.MaxPerDebitRial), p.PAYACap, p.Name)
	case req.MaxDebitsPerMonth < 1 || req.MaxDebitsPerMonth > MandateDebitsPerMonthMax:
		return reject(CodeMandateLimitInvalid, FieldMaxDebitsPerMonth, 0, "max_debits_per_month %d: want 1 to %d",
			req.MaxDebitsPerMonth, MandateDebitsPerMonthMax)
	}
	if err := req.Start.Validate(); err != nil {
		return reject(CodeMandateDatesInvalid, FieldStartDate, 0, "start_date: %v", err)
	}
	if err := req.End.Validate(); err != nil {
		return reject(CodeMandateDatesInvalid, FieldEndDate, 0, "end_date: %v", err)
	}
	today := calendar.DateOf(at)
	switch {
	case req.Start.After(req.End):
		return reject(CodeMandateDatesInvalid, FieldStartDate, 0, "start_date %s is after end_date %s", req.Start.Display(), req.End.Display())
	case req.End.Before(today):
		return reject(CodeMandateDatesInvalid, FieldEndDate, 0, "end_date %s has passed: today is %s in Tehran", req.End.Display(), today.Display())
	case req.Start.DaysUntil(req.End) > MandateDaysMax:
		return reject(CodeMandateDatesInvalid, FieldEndDate, 0, "end_date %s is %d days after start_date %s, more than %d",
			req.End.Display(), req.Start.DaysUntil(req.End), req.Start.Display(), MandateDaysMax)
	}
	return nil
}

// checkMandateBank checks that code names a bank that still exists on its own, as checkOriginatingBank
// does for an entry, naming the mandate's field.
func checkMandateBank(code string, reg *banks.Registry) (banks.Bank, *Rejection) {
	if !bankCodeSyntax(code) {
		return banks.Bank{}, reject(CodeBankUnknown, FieldBillerBank, 0, "biller_bank %q: want a 3-digit CBI bank code", code)
	}
	b, ok := reg.ByCode(code)
	if !ok {
		return banks.Bank{}, reject(CodeBankUnknown, FieldBillerBank, 0, "biller_bank %s names no bank", code)
	}
	if b.Status == banks.StatusMerged || b.Status == banks.StatusDissolved {
		succ, _ := reg.Route(code)
		return banks.Bank{}, reject(CodeBankInactive, FieldBillerBank, 0, "biller_bank %s was %s into %s, which requests its customers' mandates",
			b.Label(), b.Status, succ.Label())
	}
	return b, nil
}

// stateError is the error of a change the mandate's status does not allow.
func (m Mandate) stateError(change, want string) error {
	return fmt.Errorf("ach: mandate %s is %s: %s needs %s: %w", m.ID, m.Status, change, want, ErrMandateState)
}

// Ended reports whether the mandate's end date has passed at instant at: the Tehran day of at is after End.
func (m Mandate) Ended(at time.Time) bool { return calendar.DateOf(at).After(m.End) }

// Approve is the payer's bank approving a requested mandate at instant at: it becomes active. Only a
// requested mandate whose end date has not passed can be approved (one that has passed is for Expire).
func (m Mandate) Approve(at time.Time) (Mandate, error) {
	if m.Status != MandateRequested {
		return m, m.stateError("approve", "requested")
	}
	if m.Ended(at) {
		return m, fmt.Errorf("ach: mandate %s ended on %s: approve needs a mandate still in its dates: %w", m.ID, m.End.Display(), ErrMandateState)
	}
	m.Status = MandateActive
	return m, nil
}

// Reject is the payer's bank refusing a requested mandate: it becomes rejected, for good.
func (m Mandate) Reject() (Mandate, error) {
	if m.Status != MandateRequested {
		return m, m.stateError("reject", "requested")
	}
	m.Status = MandateRejected
	return m, nil
}

// Revoke is the payer withdrawing the mandate through its bank: an active mandate, or a requested one not
// yet decided, becomes revoked, for good.
func (m Mandate) Revoke() (Mandate, error) {
	if m.Status != MandateActive && m.Status != MandateRequested {
		return m, m.stateError("revoke", "active or requested")
	}
	m.Status = MandateRevoked
	return m, nil
}

// Expire marks an active or requested mandate whose end date has passed at instant at (Ended) as expired.
// A mandate still in its dates, or in another status, is an error wrapping ErrMandateState. CheckDebit
// refuses debits past End whether or not Expire has run, so expiring is bookkeeping, not a guard.
func (m Mandate) Expire(at time.Time) (Mandate, error) {
	if m.Status != MandateActive && m.Status != MandateRequested {
		return m, m.stateError("expire", "active or requested")
	}
	if !m.Ended(at) {
		return m, fmt.Errorf("ach: mandate %s runs until %s, not over on %s: %w", m.ID, m.End.Display(), calendar.DateOf(at).Display(), ErrMandateState)
	}
	m.Status = MandateExpired
	return m, nil
}

// CheckDebit is the check at intake of a debit entry e against the mandate it names, at instant at (its
// intake). found says whether the store holds a mandate of e.MandateID; m is that mandate when found. e is
// the entry as Validate accepted it (Decision.Entry); its SHEBAs are compared in canonical form whatever
// their spelling. On success it returns the mandate with the debit counted: Month set to at's Jalali month
// and DebitsThisMonth one more (counted from zero when the month changed). On a rejection it returns m
// unchanged. The checks, in the order of their codes:
//
//  1. mandate_not_allowed: e is not a debit (Validate refuses that first).
//  2. no_mandate: not found, or a mandate of another id, or of another biller bank than e's originating
//     bank — a bank learns nothing about another bank's mandates — or one the payer's bank rejected.
//  3. mandate_not_active: requested, not yet approved; or at's Tehran day is before Start.
//  4. mandate_revoked, mandate_expired (expired, or at's Tehran day is after End).
//  5. mandate_mismatch: payer_sheba, then payee_sheba, not the mandate's payer's and biller's.
//  6. mandate_limit_exceeded: the amount over MaxPerDebitRial; or MaxDebitsPerMonth debits already counted
//     in at's Jalali month (Tehran time). A debit dated in a month before the one the mandate has counted
//     (a clock that went back) is refused the same way rather than counted in a month whose count is lost.
func CheckDebit(m Mandate, found bool, e Entry, at time.Time) (Mandate, *Rejection) {
	if e.Core != CoreDebit {
		return m, reject(CodeMandateNotAllowed, FieldMandateID, 0, "a %s is not collected under a mandate", e.Core)
	}
	if !found || m.ID != e.MandateID || m.BillerBank != e.OriginatingBank {
		return m, reject(CodeNoMandate, FieldMandateID, 0, "mandate_id %s names no mandate of bank %s", e.MandateID, e.OriginatingBank)
	}
	day := calendar.DateOf(at)
	switch m.Status {
	case MandateActive:
	case MandateRejected:
		return m, reject(CodeNoMandate, FieldMandateID, 0, "mandate %s was rejected by the payer's bank", m.ID)
	case MandateRequested:
		return m, reject(CodeMandateNotActive, FieldMandateID, 0, "mandate %s awaits the payer's bank's approval", m.ID)
	case MandateRevoked:
		return m, reject(CodeMandateRevoked, FieldMandateID, 0, "mandate %s was revoked by the payer", m.ID)
	case MandateExpired:
		return m, reject(CodeMandateExpired, FieldMandateID, 0, "mandate %s expired after %s", m.ID, m.End.Display())
	default:
		return m, reject(CodeNoMandate, FieldMandateID, 0, "mandate %s has no status (%s)", m.ID, m.Status)
	}
	if day.Before(m.Start) {
		return m, reject(CodeMandateNotActive, FieldMandateID, 0, "mandate %s starts on %s; today is %s in Tehran", m.ID, m.Start.Display(), day.Display())
	}
	if day.After(m.End) {
		return m, reject(CodeMandateExpired, FieldMandateID, 0, "mandate %s ended on %s; today is %s in Tehran", m.ID, m.End.Display(), day.Display())
	}
	if !sameSHEBA(e.PayerSHEBA, m.PayerSHEBA) {
		return m, reject(CodeMandateMismatch, FieldPayerSHEBA, 0, "payer_sheba %s is not mandate %s's payer", e.PayerSHEBA, m.ID)
	}
	if !sameSHEBA(e.PayeeSHEBA, m.BillerSHEBA) {
		return m, reject(CodeMandateMismatch, FieldPayeeSHEBA, 0, "payee_sheba %s is not mandate %s's biller", e.PayeeSHEBA, m.ID)
	}
	if e.AmountRial > m.MaxPerDebitRial {
		return m, reject(CodeMandateLimitExceeded, FieldAmount, 0, "amount_rial %s is over mandate %s's maximum per debit, %s",
			groupThousands(e.AmountRial), m.ID, groupThousands(m.MaxPerDebitRial))
	}
	month := JalaliMonth(at)
	count := 0
	switch {
	case month == m.Month:
		count = m.DebitsThisMonth
	case m.Month != "" && month < m.Month:
		return m, reject(CodeMandateLimitExceeded, FieldMandateID, 0,
			"mandate %s has counted debits of %s; a debit dated %s, an earlier month, cannot be counted", m.ID, m.Month, month)
	}
	if count >= m.MaxDebitsPerMonth {
		return m, reject(CodeMandateLimitExceeded, FieldMandateID, 0, "mandate %s has had %d debits in %s, its maximum per month",
			m.ID, count, month)
	}
	m.Month, m.DebitsThisMonth = month, count+1
	return m, nil
}

// sameSHEBA reports whether two spellings name the same valid SHEBA.
func sameSHEBA(a, b string) bool {
	x, err := sheba.Parse(a, nil)
	if err != nil {
		return false
	}
	y, err := sheba.Parse(b, nil)
	return err == nil && x == y
}
