package server_test

import (
	"bytes"
	"net/url"
	"strings"

	"fmt"
	"github.com/tasvieh/tasvieh/ach"
	"net/http"
	"testing"
)

// TestReviewPAYADryRunMissesDuplicateReferences: a file with a reference on two lines. The upload's second
// pass refuses the second line (reference_reused), but the first pass — which is the dry run's whole report —
// checks no references, so the dry run promises both rows: "a dry run returns the full validation report"
// and then the upload answers a different one.
func TestReviewPAYADryRunMissesDuplicateReferences(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	payer := w.satnaPick("017", 1_000_000_000)
	ps := w.payees("012")
	var rows [][]string
	for i := 1; i <= 5; i++ {
		rows = append(rows, []string{ps[i%len(ps)].SHEBA, fmt.Sprint(1_000_000 + i), "کارمند", "", fmt.Sprintf("dr-%d", i)})
	}
	rows = append(rows, []string{ps[0].SHEBA, "2000000", "کارمند", "", "dr-3"}) // line 7 repeats line 4's reference
	body := payCSV(rows)
	st, dry, b := w.payUpload("017", "dry-dup", payer, body, true)
	if st != http.StatusOK {
		t.Fatalf("dry run: %d %s", st, b)
	}
	st, up, b := w.payUpload("017", "dry-dup", payer, body, false)
	if st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, b)
	}
	if dry.Report.Accepted != up.Report.Accepted || dry.Report.Rejected != up.Report.Rejected {
		t.Errorf("dry run: %d accepted %d rejected; upload: %d accepted %d rejected", dry.Report.Accepted, dry.Report.Rejected,
			up.Report.Accepted, up.Report.Rejected)
	}
}

// TestReviewPAYANACHAControlTotalAtEnd (held): a 2,500-entry NACHA file whose file control record's credit
// total is off by one rial — the very last record — is refused whole, and nothing moves.
func TestReviewPAYANACHAControlTotalAtEnd(t *testing.T) {
	w := boot(t, "1404/02/01 08:00")
	payer := w.satnaPick("017", 10_000_000_000)
	var buf bytes.Buffer
	if _, err := ach.Generate(&buf, ach.GenerateOptions{Format: "nacha", Rows: 2500, Seed: 3,
		Payer: ach.Originator{Bank: "017", SHEBA: payer.SHEBA, Name: "شرکت نمونه"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	ctl := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "9") && !strings.HasPrefix(l, "9999") {
			ctl = i
		}
	}
	if ctl < 0 {
		t.Fatal("no file control record")
	}
	l := []byte(lines[ctl])
	l[54] = '0' + (l[54]-'0'+1)%10 // the credit total's last digit
	lines[ctl] = string(l)
	body := []byte(strings.Join(lines, "\n") + "\n")
	held := w.satnaHeld("017", payer.SHEBA)
	q := url.Values{"format": {"nacha"}, "reference": {"nacha-bad-total"}, "payer_sheba": {payer.SHEBA}, "payer_name": {"شرکت نمونه"}}
	st, _, b := w.raw(http.MethodPost, "/v1/paya/files?"+q.Encode(), w.bank("017"), "text/plain", body)
	if st < 400 || !strings.Contains(strings.ToLower(string(b)), "total") {
		t.Errorf("a NACHA file with a wrong control total: %d %s", st, b)
	}
	if now := w.satnaHeld("017", payer.SHEBA); now != held {
		t.Errorf("payer moved %d → %d", held, now)
	}
}
