package ach

import (
	"bytes"
	"fmt"
	"testing"
)

// TestGeneratePayees: with Payees given, every good row pays one of them (the report's receiving banks are
// theirs alone), and the bad rows are still the ones the generator says, with their codes.
func TestGeneratePayees(t *testing.T) {
	env := testEnv(t, "seed")
	payees := []string{account(t, "017", "1001"), account(t, "012", "2002"), account(t, "012", "2003")}
	for _, tc := range []struct {
		format    string
		rows, bad int
	}{
		{FormatCSV, 500, 16},
		{FormatNACHA, 500, 8},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			res, err := Generate(&buf, GenerateOptions{Format: tc.format, Rows: tc.rows, Bad: tc.bad, Seed: 3, Payees: payees})
			if err != nil {
				t.Fatal(err)
			}
			var rep *Report
			if tc.format == FormatCSV {
				rep, err = DryRunCSV(bytes.NewReader(buf.Bytes()), CSVOptions{}, res.Payer, env)
			} else {
				rep, err = DryRunNACHA(bytes.NewReader(buf.Bytes()), NACHAReadOptions{}, res.Payer, env)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprint(rejectedRows(rep)), fmt.Sprint(badRows(res)); got != want {
				t.Errorf("rejected rows\n got %s\nwant %s", got, want)
			}
			got := map[string]int{}
			for _, b := range rep.Banks {
				got[b.Bank] = b.Entries
			}
			if got["017"] == 0 || got["012"] == 0 || len(got) != 2 || got["017"]+got["012"] != tc.rows-tc.bad {
				t.Errorf("entries by receiving bank %v, want only 017 and 012, %d in all", got, tc.rows-tc.bad)
			}
		})
	}
}
