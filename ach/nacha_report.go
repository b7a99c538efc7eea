package ach

import (
	"errors"
	"fmt"
	"io"
)

// DryRunNACHA validates a NACHA file in the PAYA profile from rd and returns its report, moving nothing, as
// DryRunCSV does a CSV file: each entry ReadNACHA reads becomes an Entry — a credit from o to the entry's
// SHEBA, or a debit from the entry's SHEBA to o — and goes through Validate under env. The entry's batch
// names its originating bank (the ODFI). o is checked first, once per core the file holds
// (CheckOriginator): a fault there is an *OriginatorError. A file that cannot be read as a whole is a
// *NACHAError; the report then holds the entries read before it (a NACHA file's control records follow its
// entries, so such a file is refused whatever its entries were).
//
// A row of the report is the physical line of the entry detail record. An entry the profile rejects
// (NACHAProblem) is reported under the ach code nearest its NACHA code, which leads its message
// ("nacha routing_check_digit: …"): record, transaction_code, addenda_missing and addenda as nacha_record;
// routing, routing_check_digit, sheba, bank_mismatch and account_mismatch as sheba_invalid (field sheba);
// amount_zero as amount_not_positive; name as name_missing or name_invalid. A Rejection's field is named as
// the CSV columns are (sheba, amount, name, reference); Column is 0, NACHA's fields being fixed-width.
// Memory is bounded as ReadNACHA's and the Report's are.
func DryRunNACHA(rd io.Reader, opts NACHAReadOptions, o Originator, env Env) (*Report, error) {
	rep := NewReport(env.Profile.Name)
	if env.Banks == nil {
		return rep, fmt.Errorf("ach: dry run: no bank registry: %w", ErrEnv)
	}
	if opts.Directory == nil {
		opts.Directory = env.Banks
	}
	checked := map[Core]bool{}
	_, err := ReadNACHA(rd, opts, func(e NACHAEntry) error {
		row := Row{Line: e.Line, SHEBA: e.SHEBA, AmountRial: e.AmountRial, Name: e.Name, Reference: e.Reference}
		core := CoreCredit
		if e.Debit {
			core = CoreDebit
		}
		if !checked[core] {
			rej, err := CheckOriginator(core, o, env)
			if err != nil {
				return err
			}
			if rej != nil {
				return &OriginatorError{Rejection: rej}
			}
			checked[core] = true
		}
		if e.Problem != nil {
			rep.Reject(row, nachaRowError(e))
			return nil
		}
		entry := Entry{Core: core, OriginatingBank: e.OriginBank, PayerSHEBA: o.SHEBA, PayerName: o.Name,
			PayeeSHEBA: e.SHEBA, PayeeName: e.Name, AmountRial: e.AmountRial, Reference: e.Reference}
		if e.Debit {
			entry.PayerSHEBA, entry.PayerName, entry.PayeeSHEBA, entry.PayeeName = e.SHEBA, e.Name, o.SHEBA, o.Name
		}
		d, rej, err := Validate(entry, env)
		if err != nil {
			return err
		}
		if rej != nil {
			rep.Reject(row, &RowError{Row: e.Line, Line: e.Line, Field: nachaColumn(rej.Field), Code: rej.Code, Message: rej.Message, Hint: rej.Hint})
			return nil
		}
		return rep.Accept(e.Line, d)
	})
	var oe *OriginatorError
	if errors.As(err, &oe) {
		return rep, oe
	}
	return rep, err
}

// nachaRowError is the RowError of an entry the profile rejects.
func nachaRowError(e NACHAEntry) *RowError {
	p := e.Problem
	re := &RowError{Row: e.Line, Line: p.Line, Message: "nacha " + string(p.Code) + ": " + p.Message}
	if re.Line == 0 {
		re.Line = e.Line
	}
	switch p.Code {
	case NACHARoutingBad, NACHACheckDigit, NACHASHEBA, NACHABank, NACHAAccount:
		re.Code, re.Field = CodeSHEBAInvalid, ColumnSHEBA
	case NACHAAmountZero:
		re.Code, re.Field = CodeAmountNotPositive, ColumnAmount
	case NACHAName:
		re.Code, re.Field = CodeNameInvalid, ColumnName
		if e.Name == "" {
			re.Code = CodeNameMissing
		}
	default:
		re.Code = CodeNACHARecord
	}
	return re
}

// nachaColumn names an Entry field as the file's column: the entry's own side (its SHEBA, name, amount,
// reference) has the CSV columns' names; the originator's fields keep their Entry names.
func nachaColumn(field string) string {
	switch field {
	case FieldPayeeSHEBA, FieldPayerSHEBA:
		return ColumnSHEBA
	case FieldPayeeName, FieldPayerName:
		return ColumnName
	case FieldAmount:
		return ColumnAmount
	case FieldReference:
		return ColumnReference
	case FieldDescription:
		return ColumnDescription
	}
	return field
}
