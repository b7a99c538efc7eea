package ach

import (
	"errors"
	"fmt"
)

// Code is why an entry or a row of a file is refused. Codes are numbered in their order of precedence: a row
// that breaks several rules gets the first (smallest) code it breaks, so the same row always gets the same
// answer. The numbers are never stored or sent — names are — so a new code goes in at its place; the names
// are stable and must never change.
type Code uint8

// The codes, in order of precedence. doc.go gives the rules in full.
const (
	CodeOK Code = iota // no rejection

	// A record of a CSV file (CSVReader): its shape as CSV, then its bytes, then the amount's syntax.
	CodeQuoteUnterminated // a quoted field never closes: the rest of the file was read as that field
	CodeRecordTooLong     // a record is longer than the reader's RecordBytesMax
	CodeCSVSyntax         // a quote inside an unquoted field, or something other than a comma after a closing quote
	CodeFieldsTooMany     // more fields than CSVFieldsMax
	CodeFieldCount        // not as many fields as the header has columns
	CodeUTF8Invalid       // a byte that is not UTF-8
	CodeAmountInvalid     // the amount column is not a whole number of rial as the reader reads one
	CodeNACHARecord       // an entry of a NACHA file breaks the profile's records: its entry detail, transaction code or addenda (DryRunNACHA)

	// An entry's shape, field by field, and the rulebook's cap.
	CodeCoreInvalid        // core is neither credit nor debit
	CodeAmountNotPositive  // amount_rial ≤ 0
	CodeAmountAtOrOverCap  // amount_rial not below (seed) or above (1400 on) the rulebook's cap per entry
	CodeReferenceInvalid   // reference missing, longer than ReferenceLenMax, or not printable text
	CodeNameMissing        // payer_name or payee_name empty
	CodeNameTooLong        // a name longer than NameLenMax
	CodeNameInvalid        // a name with a character that is not printable text
	CodeDescriptionTooLong // description longer than DescriptionLenMax
	CodeDescriptionInvalid // description with a character that is not printable text
	CodeMandateMissing     // a debit without mandate_id
	CodeMandateNotAllowed  // a credit with a mandate_id: credits need no mandate
	CodeMandateInvalid     // mandate_id longer than MandateIDLenMax or not letters, digits and '-'

	// Its identifiers, against the bank registry of its day.
	CodeBankUnknown  // originating_bank is not the 3-digit code of a bank
	CodeBankInactive // originating_bank was merged or dissolved: the message names its successor
	CodeSHEBAInvalid // payer_sheba or payee_sheba fails sheba.Parse (Position says where)

	// How they agree.
	CodeOriginatingBankMismatch // the originator's SHEBA is not an account of originating_bank
	CodeOnUs                    // both accounts are at one bank: its own book entry, not the clearing house's

	// The switch's state: the operator's suspensions.
	CodeBankSuspended // the originating or the receiving bank is suspended by the operator

	codeCount // not a code: the number of codes
)

var codeNames = [codeCount]string{
	CodeOK:                      "ok",
	CodeQuoteUnterminated:       "quote_unterminated",
	CodeRecordTooLong:           "record_too_long",
	CodeCSVSyntax:               "csv_syntax",
	CodeFieldsTooMany:           "fields_too_many",
	CodeFieldCount:              "field_count",
	CodeUTF8Invalid:             "utf8_invalid",
	CodeAmountInvalid:           "amount_invalid",
	CodeNACHARecord:             "nacha_record",
	CodeCoreInvalid:             "core_invalid",
	CodeAmountNotPositive:       "amount_not_positive",
	CodeAmountAtOrOverCap:       "amount_at_or_over_cap",
	CodeReferenceInvalid:        "reference_invalid",
	CodeNameMissing:             "name_missing",
	CodeNameTooLong:             "name_too_long",
	CodeNameInvalid:             "name_invalid",
	CodeDescriptionTooLong:      "description_too_long",
	CodeDescriptionInvalid:      "description_invalid",
	CodeMandateMissing:          "mandate_missing",
	CodeMandateNotAllowed:       "mandate_not_allowed",
	CodeMandateInvalid:          "mandate_invalid",
	CodeBankUnknown:             "bank_unknown",
	CodeBankInactive:            "bank_inactive",
	CodeSHEBAInvalid:            "sheba_invalid",
	CodeOriginatingBankMismatch: "originating_bank_mismatch",
	CodeOnUs:                    "on_us",
	CodeBankSuspended:           "bank_suspended",
}

// ErrSyntax is wrapped by the errors of ParseCode and ParseCore.
var ErrSyntax = errors.New("ach: syntax")

// String returns the code's stable snake_case name, e.g. "amount_at_or_over_cap".
func (c Code) String() string {
	if c < codeCount {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// ParseCode reads a code's name.
func ParseCode(s string) (Code, error) {
	for c := range codeCount {
		if codeNames[c] == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("ach: code %q names no code: %w", s, ErrSyntax)
}

// MarshalText writes c's name; a value beyond the codes is an error.
func (c Code) MarshalText() ([]byte, error) {
	if c >= codeCount {
		return nil, fmt.Errorf("ach: %s is not a code: %w", c, ErrSyntax)
	}
	return []byte(codeNames[c]), nil
}

// UnmarshalText reads what ParseCode reads.
func (c *Code) UnmarshalText(b []byte) error {
	v, err := ParseCode(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
