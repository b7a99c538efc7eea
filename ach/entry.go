package ach

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/sheba"
)

// Core is one of PAYA's two independent cores (DOMAIN.md §5).
type Core uint8

// The cores. The zero Core is none, and Validate refuses it.
const (
	// CoreCredit pushes money: the payer's bank originates the entry, the payee's bank receives and posts it
	// (payroll, pensions, dividends, rent, single transfers).
	CoreCredit Core = iota + 1
	// CoreDebit pulls money under a mandate the payer signed: the payee's (the biller's) bank originates the
	// entry, the payer's bank receives it and debits its customer (bills, premiums, instalments, tuition).
	CoreDebit
)

// String returns "credit" or "debit", or "Core(n)" for a value that is neither.
func (c Core) String() string {
	switch c {
	case CoreCredit:
		return "credit"
	case CoreDebit:
		return "debit"
	}
	return fmt.Sprintf("Core(%d)", uint8(c))
}

// Valid reports whether c is CoreCredit or CoreDebit.
func (c Core) Valid() bool { return c == CoreCredit || c == CoreDebit }

// ParseCore reads "credit" or "debit".
func ParseCore(s string) (Core, error) {
	switch s {
	case "credit":
		return CoreCredit, nil
	case "debit":
		return CoreDebit, nil
	}
	return 0, fmt.Errorf("ach: core %q: want credit or debit: %w", s, ErrSyntax)
}

// MarshalText writes "credit" or "debit"; any other value is an error.
func (c Core) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("ach: %s is not a core: %w", c, ErrSyntax)
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads what ParseCore reads.
func (c *Core) UnmarshalText(b []byte) error {
	v, err := ParseCore(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// The JSON names of an Entry's fields, as a Rejection's Field names them.
const (
	FieldCore            = "core"
	FieldOriginatingBank = "originating_bank"
	FieldPayerSHEBA      = "payer_sheba"
	FieldPayerName       = "payer_name"
	FieldPayeeSHEBA      = "payee_sheba"
	FieldPayeeName       = "payee_name"
	FieldAmount          = "amount_rial"
	FieldDescription     = "description"
	FieldReference       = "reference"
	FieldMandateID       = "mandate_id"
)

// Limits on an entry's text fields, in characters (runes). They are the same as SATNA's (package rtgs), so
// that a payment refused by one rail for its size is not refused by the other for its text.
const (
	// ReferenceLenMax is ISO 20022's Max35Text, the length of a credit transfer's end-to-end identification:
	// room for any bank's or payroll system's own reference.
	ReferenceLenMax = 35
	// NameLenMax is ISO 20022's Max140Text, the length of a party's name. A Persian full name with titles is
	// well under 100 characters; NACHA's 22-character individual name field could not hold one.
	NameLenMax = 140
	// DescriptionLenMax is ISO 20022's Max140Text for unstructured remittance information (NACHA's addenda
	// payment information holds 80).
	DescriptionLenMax = 140
	// MandateIDLenMax fits a UUID in its text form (36 characters), the form of the project's identifiers;
	// ISO 20022's mandate identification is Max35Text, one short of it.
	MandateIDLenMax = 36
)

// Entry is one PAYA credit or debit, submitted alone (API) or as a row of a file. Which party originates
// depends on the core: on a credit the payer's bank, on a debit the payee's (the biller's).
type Entry struct {
	Core Core `json:"core"`
	// OriginatingBank is the 3-digit CBI code of the bank that submits the entry and settles its side of it:
	// the payer's bank on a credit, the payee's on a debit.
	OriginatingBank string `json:"originating_bank"`
	// PayerSHEBA and PayerName are the account money leaves and its holder.
	PayerSHEBA string `json:"payer_sheba"`
	PayerName  string `json:"payer_name"`
	// PayeeSHEBA and PayeeName are the account money reaches and its holder.
	PayeeSHEBA string `json:"payee_sheba"`
	PayeeName  string `json:"payee_name"`
	// AmountRial is the amount, whole rial.
	AmountRial int64 `json:"amount_rial"`
	// Description is optional remittance text ("حقوق فروردین ۱۴۰۴").
	Description string `json:"description,omitempty"`
	// Reference is the originator's own reference, required: with OriginatingBank it keys the entry's
	// idempotency.
	Reference string `json:"reference"`
	// MandateID names the mandate a debit is collected under; a credit has none.
	MandateID string `json:"mandate_id,omitempty"`
}

// parties says which fields of an entry belong to its originator and which to its receiver, for its core.
type parties struct {
	originatorSHEBA, originatorName string // JSON field names
	receiverSHEBA                   string
}

func (c Core) parties() parties {
	if c == CoreDebit {
		return parties{FieldPayeeSHEBA, FieldPayeeName, FieldPayerSHEBA}
	}
	return parties{FieldPayerSHEBA, FieldPayerName, FieldPayeeSHEBA}
}

// Rejection is why an entry is refused: a code, the field at fault, where in it, and a message for people.
type Rejection struct {
	Code Code `json:"code"`
	// Field is the JSON name of the Entry field at fault (FieldAmount, FieldPayeeSHEBA, …), "" when none.
	Field string `json:"field,omitempty"`
	// Position is the 1-based character position of the fault within the field's value as given (a bad
	// character in a SHEBA or a name), 0 when the fault is about the whole value.
	Position int `json:"position,omitempty"`
	// Message says what is wrong, lower case, for people.
	Message string `json:"message"`
	// Hint says what to do instead, when there is something: an over-cap amount points to SATNA.
	Hint string `json:"hint,omitempty"`
}

// String renders r as "code: message (hint)".
func (r *Rejection) String() string {
	s := r.Code.String() + ": " + r.Message
	if r.Hint != "" {
		s += " (" + r.Hint + ")"
	}
	return s
}

func reject(c Code, field string, position int, format string, args ...any) *Rejection {
	return &Rejection{Code: c, Field: field, Position: position, Message: fmt.Sprintf(format, args...)}
}

// ErrEnv is returned when an Env is incomplete: a bug of the caller, never a rejection.
var ErrEnv = errors.New("ach: incomplete environment")

// Env is what Validate checks an entry against: the reference data of the entry's day.
type Env struct {
	// Banks is the registry as of the entry's day (banks.Registry.AsOf) with the operator's suspensions.
	Banks *banks.Registry
	// Profile is the rulebook profile in force when the entry is received: its PAYACap and PAYAFee.
	Profile rulebook.Profile
}

func (env Env) check() error {
	switch {
	case env.Banks == nil:
		return fmt.Errorf("%w: Env needs Banks", ErrEnv)
	case env.Profile.Name == "" || env.Profile.PAYACap.AmountRial <= 0:
		return fmt.Errorf("%w: Env needs a rulebook profile with a PAYA cap, not %q", ErrEnv, env.Profile.Name)
	}
	return nil
}

// Decision is what Validate decides about an accepted entry.
type Decision struct {
	// Entry is the entry as validated, its SHEBAs in canonical form ("IR" and 24 ASCII digits).
	Entry Entry `json:"entry"`
	// ReceivingBank is the code of the bank that posts the entry — the payee's on a credit, the payer's on
	// a debit — after routing: a SHEBA of a merged or dissolved bank is received by its successor.
	ReceivingBank string `json:"receiving_bank"`
	// FeeRial is the PAYA fee of the profile in force, charged to the originator (Fee).
	FeeRial int64 `json:"fee_rial"`
	// Profile names the rulebook profile the decision used.
	Profile string `json:"profile"`
}

// Fee returns the PAYA fee on an entry of amountRial under p, in whole rial: p.PAYAFee.For, that is the
// profile's rate (in millionths: 0.01 % is one basis point, 100 millionths) of the amount, rounded half up to
// the rial, then raised to the minimum and cut to the maximum. Under 1400 and 1404 (0.01 %, min 2,000, max
// 25,000): 10,000,000 rial pays 2,000 (1,000 raised to the minimum); 149,999,999 pays 15,000 (14,999.9999
// rounded); 1,000,000,000 pays 25,000 (100,000 cut to the maximum). Under seed: nothing. The originator pays
// it on top of the amount, on credits and debits alike; the receiver gets the whole amount. amountRial must
// not be negative.
func Fee(p rulebook.Profile, amountRial int64) int64 { return p.PAYAFee.For(amountRial) }

// Validate decides whether e may enter PAYA: nil and a Decision when it may, else the first Rejection in the
// order of precedence of the codes (doc.go, "Validation"). It is pure: the same entry and Env always get the
// same answer. An error means the Env is incomplete (ErrEnv) and decides nothing.
func Validate(e Entry, env Env) (Decision, *Rejection, error) {
	if err := env.check(); err != nil {
		return Decision{}, nil, err
	}
	if r := checkShape(e, env.Profile); r != nil {
		return Decision{}, r, nil
	}
	reg := env.Banks
	origin, r := checkOriginatingBank(e.OriginatingBank, reg)
	if r != nil {
		return Decision{}, r, nil
	}
	payer, r := parseSHEBA(FieldPayerSHEBA, e.PayerSHEBA, reg)
	if r != nil {
		return Decision{}, r, nil
	}
	payee, r := parseSHEBA(FieldPayeeSHEBA, e.PayeeSHEBA, reg)
	if r != nil {
		return Decision{}, r, nil
	}
	p := e.Core.parties()
	originator, receiver := payer, payee
	if e.Core == CoreDebit {
		originator, receiver = payee, payer
	}
	if r := checkOriginatorAgrees(p.originatorSHEBA, originator, e.OriginatingBank, reg); r != nil {
		return Decision{}, r, nil
	}
	receiving, _ := reg.Route(receiver.BankCode()) // parseSHEBA checked that the code names a bank
	if receiving.Code == e.OriginatingBank {
		return Decision{}, reject(CodeOnUs, p.receiverSHEBA, 0,
			"%s %s is an account of %s, the originating bank itself: an entry within one bank is its own book entry, not the clearing house's",
			p.receiverSHEBA, receiver, receiving.Label()), nil
	}
	if r := checkSuspended(FieldOriginatingBank, origin); r != nil {
		return Decision{}, r, nil
	}
	if r := checkSuspended(p.receiverSHEBA, receiving); r != nil {
		return Decision{}, r, nil
	}
	e.PayerSHEBA, e.PayeeSHEBA = payer.String(), payee.String()
	return Decision{Entry: e, ReceivingBank: receiving.Code, FeeRial: Fee(env.Profile, e.AmountRial), Profile: env.Profile.Name}, nil, nil
}

// Originator is the side of a batch of entries that is the same on every row of a file: the bank that
// submits it, and its customer's account and name — on a payroll file (credits), the employer.
type Originator struct {
	Bank  string `json:"bank"`
	SHEBA string `json:"sheba"`
	Name  string `json:"name"`
}

// CheckOriginator applies to o alone the checks Validate applies to an entry's originator, in the same
// order: its name, its bank (known, neither merged nor dissolved), its SHEBA (valid, an account of its bank),
// its bank not suspended. A file is checked with it once, before its rows, so that a fault of the originator
// is the whole file's, not repeated on every row. Field names the entry field o's value goes into for core
// (payer_* on a credit, payee_* on a debit).
func CheckOriginator(core Core, o Originator, env Env) (*Rejection, error) {
	if err := env.check(); err != nil {
		return nil, err
	}
	if !core.Valid() {
		return reject(CodeCoreInvalid, FieldCore, 0, "core %s: want credit or debit", core), nil
	}
	p := core.parties()
	if r := checkName(p.originatorName, o.Name); r != nil {
		return r, nil
	}
	origin, r := checkOriginatingBank(o.Bank, env.Banks)
	if r != nil {
		return r, nil
	}
	x, r := parseSHEBA(p.originatorSHEBA, o.SHEBA, env.Banks)
	if r != nil {
		return r, nil
	}
	if r := checkOriginatorAgrees(p.originatorSHEBA, x, o.Bank, env.Banks); r != nil {
		return r, nil
	}
	return checkSuspended(FieldOriginatingBank, origin), nil
}

// checkShape checks what the entry says about itself, field by field, and its amount against the cap.
func checkShape(e Entry, p rulebook.Profile) *Rejection {
	if !e.Core.Valid() {
		return reject(CodeCoreInvalid, FieldCore, 0, "core %s: want credit or debit", e.Core)
	}
	if r := checkAmount(e.AmountRial, p); r != nil {
		return r
	}
	if r := checkText(FieldReference, e.Reference, true, ReferenceLenMax,
		CodeReferenceInvalid, CodeReferenceInvalid, CodeReferenceInvalid); r != nil {
		return r
	}
	if r := checkName(FieldPayerName, e.PayerName); r != nil {
		return r
	}
	if r := checkName(FieldPayeeName, e.PayeeName); r != nil {
		return r
	}
	if r := checkText(FieldDescription, e.Description, false, DescriptionLenMax,
		CodeOK, CodeDescriptionTooLong, CodeDescriptionInvalid); r != nil {
		return r
	}
	return checkMandate(e.Core, e.MandateID)
}

// checkAmount checks that an amount is positive and within the profile's cap. An amount at or over the cap
// gets a Hint when SATNA's minimum for customer orders lets SATNA carry it.
func checkAmount(amount int64, p rulebook.Profile) *Rejection {
	if amount <= 0 {
		return reject(CodeAmountNotPositive, FieldAmount, 0, "amount_rial %d: want a positive amount", amount)
	}
	if !p.PAYACap.Allows(amount) {
		r := reject(CodeAmountAtOrOverCap, FieldAmount, 0, "amount_rial %s is outside PAYA's cap per entry, %s (profile %s)",
			groupThousands(amount), p.PAYACap, p.Name)
		if amount >= p.SATNAMinCustomerRial {
			r.Hint = "SATNA carries customer payments of at least " + groupThousands(p.SATNAMinCustomerRial) + " rial"
		}
		return r
	}
	return nil
}

func checkName(field, s string) *Rejection {
	return checkText(field, s, true, NameLenMax, CodeNameMissing, CodeNameTooLong, CodeNameInvalid)
}

// checkText checks a text field: present when required (missing), at most max characters (tooLong), every
// character printable text (invalid, with its position).
func checkText(field, s string, required bool, max int, missing, tooLong, invalid Code) *Rejection {
	if required && strings.TrimSpace(s) == "" {
		return reject(missing, field, 0, "%s missing", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return reject(tooLong, field, 0, "%s has %d characters, more than %d", field, n, max)
	}
	pos := 0
	for i, r := range s {
		pos++
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
				return reject(invalid, field, pos, "%s: byte %#x at position %d is not UTF-8", field, s[i], pos)
			}
		}
		if !printable(r) {
			return reject(invalid, field, pos, "%s: character %U at position %d is not printable text", field, r, pos)
		}
	}
	return nil
}

// printable reports whether r may appear in an entry's text: not a control character (C0, DEL, C1: tabs and
// line breaks included), not the replacement character (text mangled on its way), not a byte-order mark, not
// a line or paragraph separator, not a bidirectional embedding, override or isolate (U+202A–U+202E,
// U+2066–U+2069), which can make one name display as another. The zero-width non-joiner and the direction
// marks of Persian text are allowed.
func printable(r rune) bool {
	switch {
	case unicode.IsControl(r), r == utf8.RuneError, r == '\uFEFF', r == '\u2028', r == '\u2029':
		return false
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return false
	}
	return true
}

// checkMandate checks that a debit names a well-formed mandate and a credit none. Whether the mandate exists,
// is active and allows this debit is the mandates' business, decided against their state.
func checkMandate(c Core, id string) *Rejection {
	if c == CoreCredit {
		if id != "" {
			return reject(CodeMandateNotAllowed, FieldMandateID, 0, "mandate_id given on a credit: only debits are collected under a mandate")
		}
		return nil
	}
	if id == "" {
		return reject(CodeMandateMissing, FieldMandateID, 0, "mandate_id missing: a debit is collected under a mandate the payer signed")
	}
	if len(id) > MandateIDLenMax {
		return reject(CodeMandateInvalid, FieldMandateID, 0, "mandate_id has %d bytes, more than %d", len(id), MandateIDLenMax)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return reject(CodeMandateInvalid, FieldMandateID, i+1, "mandate_id: byte %q at position %d: want ASCII letters, digits and '-'", c, i+1)
		}
	}
	return nil
}

// checkOriginatingBank checks that code names a bank that still exists on its own, and returns it.
func checkOriginatingBank(code string, reg *banks.Registry) (banks.Bank, *Rejection) {
	if !bankCodeSyntax(code) {
		return banks.Bank{}, reject(CodeBankUnknown, FieldOriginatingBank, 0, "originating_bank %q: want a 3-digit CBI bank code", code)
	}
	b, ok := reg.ByCode(code)
	if !ok {
		return banks.Bank{}, reject(CodeBankUnknown, FieldOriginatingBank, 0, "originating_bank %s names no bank", code)
	}
	if b.Status == banks.StatusMerged || b.Status == banks.StatusDissolved {
		succ, _ := reg.Route(code)
		return banks.Bank{}, reject(CodeBankInactive, FieldOriginatingBank, 0, "originating_bank %s was %s into %s, which originates its customers' entries",
			b.Label(), b.Status, succ.Label())
	}
	return b, nil
}

// routingDirectory is the registry as sheba.Parse sees it on the rails: a merged or dissolved bank's SHEBAs
// are still accounts, held by its successor (Registry.Route), as the BINs of merged banks still route
// (DOMAIN.md §2) and as SATNA treats them; only a code that names no bank is refused.
type routingDirectory struct{ reg *banks.Registry }

// LookupSHEBA implements sheba.Directory.
func (d routingDirectory) LookupSHEBA(code string) (found, active bool, successor string) {
	found, _, _ = d.reg.LookupSHEBA(code)
	return found, true, ""
}

// parseSHEBA checks a SHEBA field with sheba.Parse's checks, in its order, keeping its position.
func parseSHEBA(field, s string, reg *banks.Registry) (sheba.SHEBA, *Rejection) {
	x, err := sheba.Parse(s, routingDirectory{reg})
	if err == nil {
		return x, nil
	}
	var se *sheba.Error
	if errors.As(err, &se) {
		return sheba.SHEBA{}, reject(CodeSHEBAInvalid, field, se.Position, "%s: %s (%s)", field, se.Message, se.Code)
	}
	return sheba.SHEBA{}, reject(CodeSHEBAInvalid, field, 0, "%s: %v", field, err)
}

// checkOriginatorAgrees checks that the originator's SHEBA is an account of the originating bank, after
// routing: the successor of a merged bank originates for its old accounts.
func checkOriginatorAgrees(field string, x sheba.SHEBA, bank string, reg *banks.Registry) *Rejection {
	code := x.BankCode()
	routed, _ := reg.Route(code)
	if routed.Code == bank {
		return nil
	}
	own := ""
	if routed.Code != code {
		b, _ := reg.ByCode(code)
		own = fmt.Sprintf(" (its bank code is %s, %s into it)", b.Label(), b.Status)
	}
	ob, _ := reg.ByCode(bank)
	return reject(CodeOriginatingBankMismatch, field, 0, "%s %s is an account of %s%s, not of the originating bank %s",
		field, x, routed.Label(), own, ob.Label())
}

// checkSuspended refuses a bank the operator has suspended.
func checkSuspended(field string, b banks.Bank) *Rejection {
	if b.Status == banks.StatusSuspended {
		return reject(CodeBankSuspended, field, 0, "bank %s is suspended by the operator", b.Label())
	}
	return nil
}

// bankCodeSyntax reports whether s is three ASCII digits.
func bankCodeSyntax(s string) bool {
	return len(s) == 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// groupThousands writes n with its digits grouped by commas: "150,000,000".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
