package ach

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDryRunNACHA: whatever the bytes, the dry run never panics, its report adds up (Rows = Accepted +
// Rejected, every rejected row listed while under the limit), and a file it refuses is a *NACHAError.
func FuzzDryRunNACHA(f *testing.F) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Format: FormatNACHA, Rows: 5, Bad: 3, Seed: 1}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("101"))
	env := testEnv(f, "seed")
	o := Originator{Bank: "054", SHEBA: parsianSHEBA, Name: "شرکت نمونه"}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := DryRunNACHA(bytes.NewReader(b), NACHAReadOptions{}, o, env)
		if rep.Rows != rep.Accepted+rep.Rejected || len(rep.Errors)+rep.ErrorsOmitted != rep.Rejected {
			t.Errorf("report does not add up: %+v", rep)
		}
		var ne *NACHAError
		if err != nil && !errors.As(err, &ne) && !errors.Is(err, ErrTotalOverflow) {
			t.Errorf("refused with %T %v", err, err)
		}
	})
}

// TestDryRunNACHAProblems: an entry the profile rejects is reported under its ach code, the NACHA code
// leading its message; a bad originator refuses the file.
func TestDryRunNACHAProblems(t *testing.T) {
	env := testEnv(t, "seed")
	for _, tc := range []struct {
		code NACHACode
		want Code
		name string
	}{
		{NACHACheckDigit, CodeSHEBAInvalid, "x"},
		{NACHAAmountZero, CodeAmountNotPositive, "x"},
		{NACHAName, CodeNameMissing, ""},
		{NACHAName, CodeNameInvalid, "x"},
		{NACHAAddenda, CodeNACHARecord, "x"},
	} {
		re := nachaRowError(NACHAEntry{Line: 3, Name: tc.name, Problem: &NACHAProblem{Code: tc.code, Message: "m"}})
		if re.Code != tc.want || re.Row != 3 || re.Line != 3 || re.Message != "nacha "+string(tc.code)+": m" {
			t.Errorf("%s: got %+v, want code %s", tc.code, re, tc.want)
		}
	}
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Format: FormatNACHA, Rows: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := DryRunNACHA(&buf, NACHAReadOptions{}, Originator{Bank: "054", SHEBA: breakChecksum(parsianSHEBA), Name: "x"}, env)
	var oe *OriginatorError
	if !errors.As(err, &oe) || oe.Rejection.Code != CodeSHEBAInvalid {
		t.Errorf("a bad originator: %v", err)
	}
}
