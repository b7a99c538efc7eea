package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/postgres"
)

var _ api.PAYABackend = backend{}

// payaEnv is what ach.Validate checks entries against now.
func (s *Server) payaEnv(now time.Time) (ach.Env, error) {
	prof, err := s.profile(now)
	if err != nil {
		return ach.Env{}, err
	}
	return ach.Env{Banks: s.world.registry(), Profile: prof}, nil
}

// newRecord makes an accepted entry's record from ach's decision.
func newRecord(d ach.Decision, id, file string, row int) payaRecord {
	e := d.Entry
	r := payaRecord{PAYAEntry: api.PAYAEntry{ID: id, Core: e.Core.String(), OriginatingBank: e.OriginatingBank,
		ReceivingBank: d.ReceivingBank, PayerSHEBA: e.PayerSHEBA, PayerName: e.PayerName, PayeeSHEBA: e.PayeeSHEBA,
		PayeeName: e.PayeeName, AmountRial: e.AmountRial, FeeRial: d.FeeRial, Description: e.Description,
		Reference: e.Reference, MandateID: e.MandateID, FileID: file, Row: row}}
	r.PayerBank, r.PayeeBank = e.OriginatingBank, d.ReceivingBank
	if e.Core == ach.CoreDebit {
		r.PayerBank, r.PayeeBank = d.ReceivingBank, e.OriginatingBank
	}
	return r
}

// sameEntry reports whether a repeat asks for the entry stored.
func sameEntry(a, b payaRecord) bool {
	return a.Core == b.Core && a.PayerSHEBA == b.PayerSHEBA && a.PayeeSHEBA == b.PayeeSHEBA && a.AmountRial == b.AmountRial &&
		a.PayerName == b.PayerName && a.PayeeName == b.PayeeName && a.Description == b.Description && a.MandateID == b.MandateID
}

// view is an entry as the API shows it: an entry of a cycle that has settled is settled until it is posted
// or returned; one handed to an external bank is settled until its deadline.
func (p *paya) view(r payaRecord) api.PAYAEntry {
	e := r.PAYAEntry
	switch r.Status {
	case "delivered":
		e.Status = "settled"
	case "accepted", "deferred":
		if st := p.stageOf(r.Cycle); st == payaStageDelivering || st == payaStageDone {
			e.Status = "settled"
		}
	}
	return e
}

// stageOf is a cycle's stage, "" when it has not closed.
func (p *paya) stageOf(id string) string {
	p.stagesMu.Lock()
	defer p.stagesMu.Unlock()
	return p.stages[id]
}

func (b backend) SubmitEntry(ctx context.Context, bank string, req api.PAYAEntryRequest) (api.PAYAEntry, bool, error) {
	s, p := b.s, b.s.paya
	core, err := ach.ParseCore(req.Core)
	if err != nil {
		return api.PAYAEntry{}, false, api.FieldErrorf("core", "core %q: want credit or debit", req.Core)
	}
	env, err := s.payaEnv(s.clk.Now())
	if err != nil {
		return api.PAYAEntry{}, false, err
	}
	d, rej, err := ach.Validate(ach.Entry{Core: core, OriginatingBank: bank, PayerSHEBA: req.PayerSHEBA, PayerName: req.PayerName,
		PayeeSHEBA: req.PayeeSHEBA, PayeeName: req.PayeeName, AmountRial: req.AmountRial, Description: req.Description,
		Reference: req.Reference, MandateID: req.MandateID}, env)
	if err != nil {
		return api.PAYAEntry{}, false, err
	}
	if rej != nil {
		return api.PAYAEntry{}, false, rejectionError(rej)
	}
	id := payaEntryID(bank, d.Entry.Reference)
	release, err := p.intakes.claim(ctx, bank)
	if err != nil {
		return api.PAYAEntry{}, false, api.Errorf(api.CodeTimeout, "waiting for an earlier submission of reference %q", req.Reference)
	}
	defer release()
	rec := newRecord(d, id, "", 0)
	if row, found, err := postgres.PAYAEntry(ctx, s.pool, id); err != nil {
		return api.PAYAEntry{}, false, err
	} else if found {
		old, err := payaFromRow(row)
		if err != nil {
			return api.PAYAEntry{}, false, err
		}
		if !sameEntry(old, rec) || old.FileID != "" {
			return api.PAYAEntry{}, false, api.Errorf(api.CodeReferenceReused, "reference %q was used for another entry (%s)", req.Reference, id)
		}
		return p.view(old), false, nil
	}
	ins := []*payaIn{{rec: rec}}
	if _, err := p.intake(ctx, ins, nil); err != nil {
		return api.PAYAEntry{}, false, storeErr(err)
	}
	if ins[0].rej != nil {
		return api.PAYAEntry{}, false, rejectionError(ins[0].rej)
	}
	return p.view(ins[0].rec), true, nil
}

func (b backend) PAYAEntry(ctx context.Context, bank, id string) (api.PAYAEntry, error) {
	r, err := b.s.paya.entry(ctx, bank, id)
	return b.s.paya.view(r), err
}

// entry reads one entry of the caller's, as originator or receiver.
func (p *paya) entry(ctx context.Context, bank, id string) (payaRecord, error) {
	row, found, err := postgres.PAYAEntry(ctx, p.s.pool, id)
	if err != nil {
		return payaRecord{}, err
	}
	if !found {
		return payaRecord{}, api.Errorf(api.CodeNotFound, "no entry %s", id)
	}
	r, err := payaFromRow(row)
	if err != nil {
		return r, err
	}
	if bank != "" && r.OriginatingBank != bank && r.ReceivingBank != bank {
		return payaRecord{}, api.Errorf(api.CodeNotFound, "no entry %s", id)
	}
	return r, nil
}

// payaStatuses are the row statuses behind an API status.
var payaStatuses = map[string][]string{
	"accepted": {"accepted"}, "deferred": {"deferred"}, "settled": {"accepted", "deferred", "delivered"},
	"posted": {"posted"}, "returned": {"returned"},
}

func (b backend) PAYAEntries(ctx context.Context, bank, status, direction, file, cycle, cursor string, limit int) (api.PAYAEntryPage, error) {
	p := b.s.paya
	if limit <= 0 || limit > api.PageMax {
		limit = api.PageDefault
	}
	if file == "" && cycle == "" {
		return api.PAYAEntryPage{}, api.FieldErrorf("cycle", "name a cycle or a file: a bank's entries are listed per cycle or per file")
	}
	pg := api.PAYAEntryPage{Entries: []api.PAYAEntry{}}
	statuses := []string{"accepted", "deferred", "delivered", "posted", "returned"}
	if status != "" {
		statuses = payaStatuses[status]
	}
	after := cursor
	// Read pages until the page is full: rows of other banks, or of other statuses in the view, are skipped.
	for range 64 {
		var rows []postgres.PAYAEntryRow
		var err error
		if file != "" {
			rows, err = postgres.PAYAEntriesOfFile(ctx, b.s.pool, file, after, postgres.RailObjectsMax)
		} else {
			rows, err = postgres.PAYAEntries(ctx, b.s.pool, cycle, "", statuses, after, postgres.RailObjectsMax)
		}
		if err != nil {
			return pg, err
		}
		for _, row := range rows {
			r, err := payaFromRow(row)
			if err != nil {
				return pg, err
			}
			after = row.ID
			mine := (direction != "in" && r.OriginatingBank == bank) || (direction != "out" && r.ReceivingBank == bank)
			if cycle != "" && r.Cycle != cycle {
				mine = false
			}
			v := p.view(r)
			if !mine || (status != "" && v.Status != status) {
				continue
			}
			pg.Entries = append(pg.Entries, v)
			if len(pg.Entries) == limit {
				pg.NextCursor = row.ID
				return pg, nil
			}
		}
		if len(rows) < postgres.RailObjectsMax {
			return pg, nil
		}
	}
	pg.NextCursor = after
	return pg, nil
}

func (b backend) ReturnEntry(ctx context.Context, bank, id, code string) (api.PAYAEntry, error) {
	if _, err := ach.ParseReturnCode(code); err != nil {
		return api.PAYAEntry{}, api.FieldErrorf("code", "code %q is not a PAYA return code", code)
	}
	r, err := b.s.paya.returnExternal(ctx, bank, id, code)
	if err != nil {
		return api.PAYAEntry{}, storeErr(err)
	}
	return b.s.paya.view(r), nil
}

func (b backend) RequestMandate(ctx context.Context, bank string, req api.PAYAMandateRequest) (api.PAYAMandate, bool, error) {
	return b.s.mandates.request(ctx, bank, req)
}

func (b backend) PAYAMandate(ctx context.Context, bank, id string) (api.PAYAMandate, error) {
	return b.s.mandates.get(bank, id)
}

func (b backend) PAYAMandates(ctx context.Context, bank, status, cursor string, limit int) (api.PAYAMandatePage, error) {
	return b.s.mandates.list(bank, status, cursor, limit), nil
}

func (b backend) DecideMandate(ctx context.Context, bank, id, action, reason string) (api.PAYAMandate, error) {
	m, err := b.s.mandates.decide(ctx, bank, id, action, reason)
	return m, storeErr(err)
}

func (b backend) PAYACycles(ctx context.Context, cursor string, limit int) (api.PAYACyclePage, error) {
	if limit <= 0 || limit > api.PageMax {
		limit = api.PageDefault
	}
	var all []api.PAYACycle
	err := eachRailRow(ctx, b.s.pool, kindPAYACycle, nil, func(row postgres.RailObject) error {
		var rec cycleRecord
		if err := json.Unmarshal(row.Body, &rec); err != nil {
			return fmt.Errorf("server: %s %s: %w", row.Kind, row.ID, err)
		}
		rec.Status = row.Status
		if cursor == "" || rec.ID < cursor {
			all = append(all, rec.PAYACycle)
		}
		return nil
	})
	if err != nil {
		return api.PAYACyclePage{}, err
	}
	slices.SortFunc(all, func(a, b api.PAYACycle) int { return strings.Compare(b.ID, a.ID) })
	pg := api.PAYACyclePage{Cycles: []api.PAYACycle{}}
	if len(all) > limit {
		all = all[:limit]
		pg.NextCursor = all[limit-1].ID
	}
	pg.Cycles = append(pg.Cycles, all...)
	return pg, nil
}

func (b backend) PAYACycle(ctx context.Context, bank, id string) (api.PAYACycle, error) {
	if _, err := parseCycleID(id); err != nil {
		return api.PAYACycle{}, err
	}
	rec, found, err := b.s.paya.cycleRow(ctx, id)
	if err != nil {
		return api.PAYACycle{}, err
	}
	if !found {
		return api.PAYACycle{}, api.Errorf(api.CodeNotFound, "no cycle %s: it has not closed", id)
	}
	c := rec.PAYACycle
	if bank != "" { // a bank sees its own net only
		c.Nets = slices.DeleteFunc(slices.Clone(c.Nets), func(n api.PAYANet) bool { return n.Bank != bank })
	}
	return c, nil
}

func (b backend) PAYADelivery(ctx context.Context, bank, id, format string, w io.Writer) error {
	return b.s.paya.delivery(ctx, bank, id, format, w)
}

func (b backend) RunCycle(ctx context.Context, req api.PAYACycleRun) (api.PAYACycle, error) {
	p := b.s.paya
	var cut time.Time
	if req.Cycle != "" {
		t, err := parseCycleID(req.Cycle)
		if err != nil {
			return api.PAYACycle{}, err
		}
		ok, err := p.isSlot(t)
		if err != nil {
			return api.PAYACycle{}, err
		}
		if !ok {
			return api.PAYACycle{}, api.Errorf(api.CodeCycleNotDue, "%s is not a cycle's cut-off", req.Cycle)
		}
		cut = t
	} else {
		c := b.s.clearing
		c.mu.Lock()
		id, err := p.openCycle(b.s.clk.Now())
		c.mu.Unlock()
		if err != nil {
			return api.PAYACycle{}, err
		}
		cut, _ = parseCycleID(id)
	}
	rec, err := p.runCycle(ctx, cut)
	if err != nil {
		return rec.PAYACycle, storeErr(err)
	}
	return rec.PAYACycle, nil
}

// fileID is derived from the bank and its reference for the file.
func fileID(bank, ref string) string { return ids.String(ids.Derive("tasvieh.paya.file", bank, ref)) }

// nowTehran is the switch's time in Tehran.
func (s *Server) nowTehran() time.Time { return s.clk.Now().In(calendar.Tehran) }
