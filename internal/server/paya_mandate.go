package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// Direct-debit mandates (DOMAIN.md §5): a biller asks through its bank; the payer's bank approves or rejects
// (a simulated bank approves unless the payer's account is blocked or closed, at once; an external one
// answers through the API); the payer revokes through its bank; it expires after its end date. Their rules
// are ach's (ach.ValidateMandateRequest, ach.CheckDebit); here they are kept: a row each (kind paya.mandate),
// and in memory, changed only under the clearing mutex and only once the decision that writes the row has
// committed — a debit's count moves in the same decision as the debit.

// mandateRecord is a mandate's row.
type mandateRecord struct {
	ach.Mandate
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// mandates holds every mandate in memory: a bank's mandates are few next to its entries, and a debit's
// check must not read the database inside the writer.
type mandates struct {
	s  *Server
	by map[string]mandateRecord // under s.clearing.mu
	// next are the running decision's changes, applied by committed once it has.
	next map[string]mandateRecord
}

func newMandates(ctx context.Context, s *Server) (*mandates, error) {
	ms := &mandates{s: s, by: map[string]mandateRecord{}, next: map[string]mandateRecord{}}
	err := eachRailRow(ctx, s.pool, kindPAYAMandate, nil, func(row postgres.RailObject) error {
		var m mandateRecord
		if err := json.Unmarshal(row.Body, &m); err != nil {
			return fmt.Errorf("server: %s %s: %w", row.Kind, row.ID, err)
		}
		ms.by[row.ID] = m
		return nil
	})
	return ms, err
}

// mandateID is derived from the biller's bank and its reference: a repeated request names the same mandate.
func mandateID(bank, ref string) string {
	return ids.String(ids.Derive("tasvieh.paya.mandate", bank, ref))
}

func (ms *mandates) row(m mandateRecord) postgres.Row {
	return postgres.Row{Kind: kindPAYAMandate, ID: m.ID, Status: m.Status.String(), Body: mustJSON(m)}
}

// useIn checks a debit against its mandate inside the intake's decision and counts it; the mandate's new row
// goes with the entry. The count applies in memory once the decision commits (committed).
func (ms *mandates) useIn(x *postgres.Decision, r *payaRecord, at time.Time) (postgres.Row, *ach.Rejection) {
	m, found := ms.next[r.MandateID]
	if !found {
		m, found = ms.by[r.MandateID]
	}
	e := ach.Entry{Core: ach.CoreDebit, OriginatingBank: r.OriginatingBank, PayerSHEBA: r.PayerSHEBA, PayeeSHEBA: r.PayeeSHEBA,
		AmountRial: r.AmountRial, MandateID: r.MandateID}
	nm, rej := ach.CheckDebit(m.Mandate, found, e, at)
	if rej != nil {
		return postgres.Row{}, rej
	}
	m.Mandate = nm
	ms.next[m.ID] = m
	return ms.row(m), nil
}

// committed applies the decision's changes; forget drops them.
func (ms *mandates) committed() {
	for id, m := range ms.next {
		ms.by[id] = m
	}
	clear(ms.next)
}

func (ms *mandates) forget() { clear(ms.next) }

// stillValid is the payer's bank's check at delivery: a mandate revoked (or ended) since the debit was
// accepted makes it a return. Inside a clearing decision.
func (ms *mandates) stillValid(id string, at time.Time) string {
	m, ok := ms.by[id]
	switch {
	case !ok:
		return "no_mandate"
	case m.Status == ach.MandateRevoked:
		return "mandate_revoked"
	case m.Status != ach.MandateActive:
		return "no_mandate"
	}
	return ""
}

// view is a mandate as the API shows it: an active one past its end date is expired.
func (ms *mandates) view(m mandateRecord, now time.Time) api.PAYAMandate {
	st := m.Status
	if (st == ach.MandateActive || st == ach.MandateRequested) && m.Ended(now) {
		st = ach.MandateExpired
	}
	return api.PAYAMandate{ID: m.ID, Status: st.String(), BillerBank: m.BillerBank, BillerSHEBA: m.BillerSHEBA,
		BillerName: m.BillerName, PayerBank: m.PayerBank, PayerSHEBA: m.PayerSHEBA, PayerName: m.PayerName,
		MaxPerDebitRial: m.MaxPerDebitRial, MaxDebitsPerMonth: m.MaxDebitsPerMonth, StartDate: m.Start.String(),
		EndDate: m.End.String(), BillerReference: m.BillerReference, Month: m.Month, DebitsThisMonth: m.DebitsThisMonth,
		Reason: m.Reason, CreatedAt: m.CreatedAt, DecidedAt: m.DecidedAt}
}

// request stores a biller's request (bank is the biller's bank); a simulated payer's bank decides at once.
func (ms *mandates) request(ctx context.Context, bank string, req api.PAYAMandateRequest) (api.PAYAMandate, bool, error) {
	s := ms.s
	now := s.clk.Now().In(calendar.Tehran)
	start, err := calendar.ParseDate(req.StartDate)
	if err != nil {
		return api.PAYAMandate{}, false, api.FieldErrorf("start_date", "start_date %q: %v", req.StartDate, err)
	}
	end, err := calendar.ParseDate(req.EndDate)
	if err != nil {
		return api.PAYAMandate{}, false, api.FieldErrorf("end_date", "end_date %q: %v", req.EndDate, err)
	}
	prof, err := s.profile(now)
	if err != nil {
		return api.PAYAMandate{}, false, err
	}
	m, rej, err := ach.ValidateMandateRequest(ach.MandateRequest{BillerBank: bank, BillerSHEBA: req.BillerSHEBA, BillerName: req.BillerName,
		PayerSHEBA: req.PayerSHEBA, PayerName: req.PayerName, MaxPerDebitRial: req.MaxPerDebitRial, MaxDebitsPerMonth: req.MaxDebitsPerMonth,
		Start: start, End: end, BillerReference: req.BillerReference}, now, ach.Env{Banks: s.world.registry(), Profile: prof})
	if err != nil {
		return api.PAYAMandate{}, false, err
	}
	if rej != nil {
		return api.PAYAMandate{}, false, rejectionError(rej)
	}
	m.ID = mandateID(bank, req.BillerReference)
	c := s.clearing
	var out mandateRecord
	created := false
	err = c.decide(ctx, func(x *postgres.Decision) error {
		if old, ok := ms.by[m.ID]; ok {
			same := old.BillerSHEBA == m.BillerSHEBA && old.PayerSHEBA == m.PayerSHEBA && old.MaxPerDebitRial == m.MaxPerDebitRial &&
				old.MaxDebitsPerMonth == m.MaxDebitsPerMonth && old.Start == m.Start && old.End == m.End && old.BillerName == m.BillerName
			if !same {
				return api.Errorf(api.CodeReferenceReused, "biller_reference %q was used for another mandate (%s)", req.BillerReference, old.ID)
			}
			out = old
			return nil
		}
		rec := mandateRecord{Mandate: m, CreatedAt: now}
		if s.world.live(m.PayerBank) {
			a, ok := x.AccountByKey(BookLedger(m.PayerBank), m.PayerSHEBA)
			var why string
			switch {
			case !ok:
				why = "account_not_found"
			case a.Flags&ledger.FlagClosed != 0:
				why = "account_closed"
			case a.Flags&ledger.FlagBlocked != 0:
				why = "account_blocked"
			}
			t := now
			rec.DecidedAt = &t
			if why != "" {
				rec.Mandate, _ = rec.Reject()
				rec.Reason = why
			} else if rec.Mandate, err = rec.Approve(now); err != nil {
				return err
			}
		}
		ev := notification(m.PayerBank, "paya.mandate."+rec.Status.String(), now, ms.view(rec, now), rec.ID, rec.Status.String())
		if err := x.Write(ms.row(rec)); err != nil {
			return err
		}
		ms.next[rec.ID] = rec
		out, created = rec, true
		c.later = append(c.later, ev)
		return nil
	})
	if err == nil {
		ms.committed()
	} else {
		ms.forget()
		return api.PAYAMandate{}, false, err
	}
	return ms.view(out, now), created, nil
}

// decide is the payer's bank's answer (approve, reject) or its customer's revocation (revoke).
func (ms *mandates) decide(ctx context.Context, bank, id, action, reason string) (api.PAYAMandate, error) {
	s := ms.s
	now := s.clk.Now().In(calendar.Tehran)
	var out mandateRecord
	c := s.clearing
	err := c.decide(ctx, func(x *postgres.Decision) error {
		m, ok := ms.by[id]
		if !ok || (m.PayerBank != bank && m.BillerBank != bank) {
			return api.Errorf(api.CodeNotFound, "no mandate %s", id)
		}
		if m.PayerBank != bank {
			return api.Errorf(api.CodeForbidden, "only the payer's bank (%s) may %s mandate %s", m.PayerBank, action, id)
		}
		var err error
		switch action {
		case "approve":
			m.Mandate, err = m.Approve(now)
		case "reject":
			m.Mandate, err = m.Reject()
		case "revoke":
			m.Mandate, err = m.Revoke()
		default:
			return api.Errorf(api.CodeInvalid, "action %q: want approve, reject or revoke", action)
		}
		if errors.Is(err, ach.ErrMandateState) {
			return api.Errorf(api.CodeMandateState, "%v", err)
		}
		if err != nil {
			return err
		}
		t := now
		m.DecidedAt, m.Reason = &t, reason
		if err := x.Write(ms.row(m)); err != nil {
			return err
		}
		ms.next[id] = m
		for _, b := range []string{m.BillerBank, m.PayerBank} {
			c.later = append(c.later, notification(b, "paya.mandate."+m.Status.String(), now, ms.view(m, now), id, m.Status.String()))
		}
		out = m
		return nil
	})
	if err != nil {
		ms.forget()
		return api.PAYAMandate{}, err
	}
	ms.committed()
	return ms.view(out, now), nil
}

// get is one mandate of the caller's (as biller's or payer's bank).
func (ms *mandates) get(bank, id string) (api.PAYAMandate, error) {
	c := ms.s.clearing
	c.mu.Lock()
	m, ok := ms.by[id]
	c.mu.Unlock()
	if !ok || (m.PayerBank != bank && m.BillerBank != bank) {
		return api.PAYAMandate{}, api.Errorf(api.CodeNotFound, "no mandate %s", id)
	}
	return ms.view(m, ms.s.clk.Now()), nil
}

// list pages the caller's mandates by id.
func (ms *mandates) list(bank, status, cursor string, limit int) api.PAYAMandatePage {
	now := ms.s.clk.Now()
	c := ms.s.clearing
	c.mu.Lock()
	var all []api.PAYAMandate
	for _, m := range ms.by {
		if (m.PayerBank == bank || m.BillerBank == bank) && m.ID > cursor {
			v := ms.view(m, now)
			if status == "" || v.Status == status {
				all = append(all, v)
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(all, func(a, b api.PAYAMandate) int { return strings.Compare(a.ID, b.ID) })
	if limit <= 0 || limit > api.PageMax {
		limit = api.PageDefault
	}
	pg := api.PAYAMandatePage{Mandates: []api.PAYAMandate{}}
	if len(all) > limit {
		all = all[:limit]
		pg.NextCursor = all[limit-1].ID
	}
	pg.Mandates = append(pg.Mandates, all...)
	return pg
}

// rejectionError is an entry's or a mandate's rejection as the API's error: its code, field and position.
func rejectionError(rej *ach.Rejection) *api.Error {
	e := api.Errorf(api.CodeEntryRejected, "%s", rej.String())
	e.Field, e.Reason, e.Position = rej.Field, rej.Code.String(), rej.Position
	return e
}
