package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/sheba"
)

// TestReviewPAYADuplicateIntakeRace: two uploads by an external originator, under two file references but
// carrying the same entry references, sent at once. Each upload's flush checks the entry ids against the
// stored rows and only then calls intake, outside any claim on the entry ids: both see nothing and both
// accept the same entries. An external originator's credit has no transfer to collide on in the ledger, so
// the second intake applies too — the obligation is recorded twice, the window (primary key) holds it once,
// and the audit finds the positions off the entries.
func TestReviewPAYADuplicateIntakeRace(t *testing.T) {
	w := boot(t, "1404/02/01 08:00", func(c *server.Config) { c.External = []string{"056"} })
	x, _ := sheba.Generate("056", 0, "200001")
	payer := api.Customer{SHEBA: x.String()}
	ps := w.payees("012")
	var rows [][]string
	for i := 1; i <= 300; i++ {
		rows = append(rows, []string{ps[i%len(ps)].SHEBA, fmt.Sprint(1_000_000 + i), "کارمند", "", fmt.Sprintf("dup-%04d", i)})
	}
	body := payCSV(rows)
	var wg sync.WaitGroup
	acc := make([]int, 2)
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, f, b := w.payUpload("056", fmt.Sprintf("file-%d", k), payer, body, false)
			if st != http.StatusCreated {
				t.Errorf("upload %d: %d %s", k, st, b)
				return
			}
			acc[k] = f.Report.Accepted
		}()
	}
	wg.Wait()
	if acc[0]+acc[1] != 300 {
		t.Errorf("the two uploads accepted %d + %d entries of 300 distinct references: want 300 in all", acc[0], acc[1])
	}
	w.audit()
	w.payAdvance("1404/02/01 10:00")
	w.audit()
}
