package rtgs

import (
	"fmt"
	"strings"
)

// Code is the reason an order is refused, cancelled or cannot be revoked. Codes are numbered in their order of
// precedence: an order that breaks several rules gets the first (smallest) code it breaks, so the same order
// in the same state always gets the same answer. Every code is stateless (the request alone shows it: the
// API answers 422 with Field and stores nothing) or not (the switch's state decides it: the order is stored
// with status rejected, or the code explains a later status). The numbers are never persisted — names are —
// so a new code goes in at its place; the names are stable and must never change.
type Code uint8

// The codes, in order of precedence. doc.go gives the rules in full.
const (
	CodeOK Code = iota // no rejection

	// What the request alone shows: its shape.
	CodeTypeInvalid        // type is neither customer nor interbank
	CodePriorityInvalid    // priority is not urgent, high or normal
	CodeAmountInvalid      // amount_rial ≤ 0 or above rulebook.AmountRialMax
	CodeReferenceInvalid   // reference missing, too long, or not printable text
	CodePayerNameInvalid   // payer_name missing (customer), too long, not printable, or given on an interbank order
	CodePayeeNameInvalid   // payee_name, the same
	CodeDescriptionInvalid // description too long or not printable

	// Its identifiers, against the bank registry's table.
	CodeSenderBankUnknown    // sender_bank is not the 3-digit CBI code of a bank
	CodeSenderBankInactive   // sender_bank was merged or dissolved: the message names its successor
	CodeReceiverBankUnknown  // receiver_bank, the same
	CodeReceiverBankInactive // receiver_bank, the same
	CodePayerSHEBAInvalid    // payer_sheba fails sheba.Parse (Position says where), or is given on an interbank order
	CodePayeeSHEBAInvalid    // payee_sheba, the same

	// How they agree.
	CodePayerBankMismatch // the payer's SHEBA routes to a bank other than sender_bank
	CodePayeeBankMismatch // the payee's SHEBA routes to a bank other than receiver_bank
	CodeSenderIsReceiver  // an interbank order from a bank to itself moves nothing
	CodeOnUs              // a customer order within one bank is that bank's book entry, not SATNA's business

	// The rulebook's figures for its day.
	CodeBelowMinimum         // a customer order below the rulebook minimum: PAYA carries it (Hint)
	CodeEffectiveDateInvalid // effective_date is not a real day
	CodeEffectiveDatePast    // effective_date is before the day the order is received
	CodeEffectiveDateTooFar  // effective_date is more than the rulebook's business days ahead

	// What the switch's state decides: the order is stored, rejected.
	CodeSenderBankSuspended   // the operator has suspended the sending bank
	CodeReceiverBankSuspended // the operator has suspended the receiving bank
	CodeQueueFull             // the liquidity queue holds QueueOrdersMax orders or QueuedRialMax rial

	// What happens to an accepted order.
	CodeInsufficientLiquidityAtCutoff // still queued at the end of day: cancelled (status cancelled_eod)
	CodeIrrevocable                   // revoke of a settled order: final (DOMAIN.md §4); the API answers 409
	CodeOrderClosed                   // revoke of an order already rejected, revoked or cancelled

	codeCount // not a code: the number of codes
)

// codeInfo is what a code says about itself.
type codeInfo struct {
	name      string
	field     string // the JSON name of the field at fault, "" when it is no one field
	stateless bool
}

var codeInfos = [codeCount]codeInfo{
	CodeOK:                            {"ok", "", true},
	CodeTypeInvalid:                   {"type_invalid", "type", true},
	CodePriorityInvalid:               {"priority_invalid", "priority", true},
	CodeAmountInvalid:                 {"amount_invalid", "amount_rial", true},
	CodeReferenceInvalid:              {"reference_invalid", "reference", true},
	CodePayerNameInvalid:              {"payer_name_invalid", "payer_name", true},
	CodePayeeNameInvalid:              {"payee_name_invalid", "payee_name", true},
	CodeDescriptionInvalid:            {"description_invalid", "description", true},
	CodeSenderBankUnknown:             {"sender_bank_unknown", "sender_bank", true},
	CodeSenderBankInactive:            {"sender_bank_inactive", "sender_bank", true},
	CodeReceiverBankUnknown:           {"receiver_bank_unknown", "receiver_bank", true},
	CodeReceiverBankInactive:          {"receiver_bank_inactive", "receiver_bank", true},
	CodePayerSHEBAInvalid:             {"payer_sheba_invalid", "payer_sheba", true},
	CodePayeeSHEBAInvalid:             {"payee_sheba_invalid", "payee_sheba", true},
	CodePayerBankMismatch:             {"payer_bank_mismatch", "payer_sheba", true},
	CodePayeeBankMismatch:             {"payee_bank_mismatch", "payee_sheba", true},
	CodeSenderIsReceiver:              {"sender_is_receiver", "receiver_bank", true},
	CodeOnUs:                          {"on_us", "payee_sheba", true},
	CodeBelowMinimum:                  {"below_minimum", "amount_rial", true},
	CodeEffectiveDateInvalid:          {"effective_date_invalid", "effective_date", true},
	CodeEffectiveDatePast:             {"effective_date_past", "effective_date", true},
	CodeEffectiveDateTooFar:           {"effective_date_too_far", "effective_date", true},
	CodeSenderBankSuspended:           {"sender_bank_suspended", "sender_bank", false},
	CodeReceiverBankSuspended:         {"receiver_bank_suspended", "receiver_bank", false},
	CodeQueueFull:                     {"queue_full", "", false},
	CodeInsufficientLiquidityAtCutoff: {"insufficient_liquidity_at_cutoff", "", false},
	CodeIrrevocable:                   {"irrevocable", "", false},
	CodeOrderClosed:                   {"order_closed", "", false},
}

func (c Code) info() codeInfo {
	if c < codeCount {
		return codeInfos[c]
	}
	return codeInfo{name: fmt.Sprintf("Code(%d)", uint8(c))}
}

// String returns the code's stable snake_case name, e.g. "below_minimum".
func (c Code) String() string { return c.info().name }

// Stateless reports whether the request alone shows the fault — its shape, its identifiers, the rulebook
// figures of its day — so that the API answers 422 and stores nothing. A code that is not stateless is
// decided by the switch's state (a suspension, the queue, the clock reaching the end of day, an order's
// status); an order refused by one is stored with status rejected. CodeOK is stateless.
func (c Code) Stateless() bool { return c.info().stateless }

// Field returns the JSON name of the order field a code concerns ("amount_rial", "payer_sheba"), or "" for a
// code about no one field.
func (c Code) Field() string { return c.info().field }

// ParseCode reads a code's name.
func ParseCode(s string) (Code, error) {
	for c := range codeCount {
		if codeInfos[c].name == s && s != "" {
			return c, nil
		}
	}
	return 0, fmt.Errorf("rtgs: code %q names no code: %w", s, ErrSyntax)
}

// MarshalText writes c's name; a value beyond the codes is an error.
func (c Code) MarshalText() ([]byte, error) { return marshalEnum(c < codeCount, c.String(), "code") }

// UnmarshalText reads what ParseCode reads.
func (c *Code) UnmarshalText(b []byte) error {
	v, err := ParseCode(string(b))
	*c = v
	return err
}

// Rejection is why an order is refused: a code, the field at fault, where in it, and a message for people.
type Rejection struct {
	Code Code
	// Field is Code.Field(): the JSON name of the field at fault, "" when none.
	Field string
	// Position is the 1-based character position of the fault within the field's value as given (a bad
	// character in a SHEBA or a name), 0 when the fault is about the whole value.
	Position int
	// Message says what is wrong, lower case, for people: "amount_rial 0: want 1 to 1000000000000000".
	Message string
	// Hint says what to do instead, when there is something: below_minimum points to PAYA and its cap.
	Hint string
}

// String renders r as "code: message (hint)".
func (r *Rejection) String() string {
	var b strings.Builder
	b.WriteString(r.Code.String())
	if r.Message != "" {
		b.WriteString(": " + r.Message)
	}
	if r.Hint != "" {
		b.WriteString(" (" + r.Hint + ")")
	}
	return b.String()
}

// reject makes the Rejection of code c, with its field.
func reject(c Code, position int, format string, args ...any) *Rejection {
	return &Rejection{Code: c, Field: c.Field(), Position: position, Message: fmt.Sprintf(format, args...)}
}
