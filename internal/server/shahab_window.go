package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
	"github.com/tasvieh/tasvieh/shahab"
)

// The card switch's settlement windows. Every succeeded interbank transfer adds its amount to the open
// window's obligation from the issuer to the destination bank, in the decision that posts it, and the window's
// row is written in the same batch: what a window owes is exactly its transfers, with no scan of them. At each
// of the rulebook's cut-offs (the scheduler; or the operator, at once) the open window is closed and the next
// opened in one decision — a transfer is in one or the other, never both — then the closed one's obligations
// settle as one set through SettleNets (rail "card", code 399) on the CBI accounts. A bank the set leaves out
// (suspended, or short of its net debit) keeps its obligations, carried into the open window. Every step is
// recorded; a window closed but not settled when the switch stopped is settled at start.

const kindShahabWindow = "shahab.window"

// Window statuses.
const (
	windowOpen    = "open"
	windowClosing = "closing" // closed to transfers, its set not yet settled
	windowSettled = "settled"
	windowEmpty   = "empty" // closed with nothing owed
)

// windowPair is what one bank's cards paid another's over a window.
type windowPair struct {
	From       string `json:"from"`
	To         string `json:"to"`
	AmountRial int64  `json:"amount_rial"`
	Transfers  int64  `json:"transfers"`
	Carried    bool   `json:"carried,omitempty"` // carried in from an earlier window whose set left a bank out
}

// windowRecord is a window's row.
type windowRecord struct {
	ID        string            `json:"id"`
	Status    string            `json:"status"`
	CutOff    time.Time         `json:"cut_off"`
	ClosedAt  time.Time         `json:"closed_at,omitzero"`
	Pairs     windowPairs       `json:"pairs"`
	NetSet    string            `json:"net_set,omitempty"`
	Nets      []api.NetPosition `json:"nets,omitempty"`
	Excluded  []string          `json:"excluded,omitempty"`
	Transfers int64             `json:"transfers"`
}

// windowPairs are a window's obligations by "from>to". Stored as rows of [from, to, amount_rial, transfers,
// carried (0 or 1)], sorted: with some thirty banks a window holds up to some nine hundred pairs, and as
// objects they would pass the row's bound (postgres.RowBodyBytesMax, 64 KiB) — the window's row is written
// with every batch that posts a transfer, so its size is also write cost.
type windowPairs map[string]*windowPair

func (ps windowPairs) MarshalJSON() ([]byte, error) {
	keys := slices.Sorted(maps.Keys(ps))
	b := make([]byte, 0, 2+36*len(keys))
	b = append(b, '[')
	for i, k := range keys {
		p := ps[k]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendQuote(b, p.From)
		b = append(b, ',')
		b = strconv.AppendQuote(b, p.To)
		b = append(b, ',')
		b = strconv.AppendInt(b, p.AmountRial, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, p.Transfers, 10)
		if p.Carried {
			b = append(b, ",1]"...)
		} else {
			b = append(b, ",0]"...)
		}
	}
	return append(b, ']'), nil
}

func (ps *windowPairs) UnmarshalJSON(b []byte) error {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil {
		return err
	}
	out := make(windowPairs, len(rows))
	for i, r := range rows {
		var p windowPair
		var carried int
		if len(r) != 5 {
			return fmt.Errorf("pair %d: %d fields, want 5", i, len(r))
		}
		for j, dst := range []any{&p.From, &p.To, &p.AmountRial, &p.Transfers, &carried} {
			if err := json.Unmarshal(r[j], dst); err != nil {
				return fmt.Errorf("pair %d, field %d: %w", i, j, err)
			}
		}
		p.Carried = carried == 1
		out[p.From+">"+p.To] = &p
	}
	*ps = out
	return nil
}

func (w *windowRecord) add(from, to string, amount int64) {
	k := from + ">" + to
	p := w.Pairs[k]
	if p == nil {
		p = &windowPair{From: from, To: to}
		w.Pairs[k] = p
	}
	p.AmountRial += amount
	p.Transfers++
	w.Transfers++
}

func (w *windowRecord) row() postgres.Row {
	return postgres.Row{Kind: kindShahabWindow, ID: w.ID, Status: w.Status, Body: mustJSON(w)}
}

func (w *windowRecord) clone() *windowRecord {
	c := *w
	c.Pairs = make(map[string]*windowPair, len(w.Pairs))
	for k, p := range w.Pairs {
		q := *p
		c.Pairs[k] = &q
	}
	c.Nets, c.Excluded = slices.Clone(w.Nets), slices.Clone(w.Excluded)
	return &c
}

func decodeWindow(o postgres.RailObject) (*windowRecord, error) {
	var w windowRecord
	if err := json.Unmarshal(o.Body, &w); err != nil {
		return nil, fmt.Errorf("server: %s %s: %w", kindShahabWindow, o.ID, err)
	}
	if w.Pairs == nil {
		w.Pairs = map[string]*windowPair{}
	}
	return &w, nil
}

// windows reads every window with one of statuses.
func (r *shahabRail) windows(ctx context.Context, statuses ...string) ([]*windowRecord, error) {
	var out []*windowRecord
	err := eachRailRow(ctx, r.s.pool, kindShahabWindow, statuses, func(o postgres.RailObject) error {
		w, err := decodeWindow(o)
		if err == nil {
			out = append(out, w)
		}
		return err
	})
	return out, err
}

// loadOpenWindow is the open window's row, or a new window at the clock's next cut-off (its row is written
// with the first transfer it takes, or when it closes).
func (r *shahabRail) loadOpenWindow(ctx context.Context) (*windowRecord, error) {
	open, err := r.windows(ctx, windowOpen)
	if err != nil {
		return nil, err
	}
	if len(open) > 1 {
		return nil, fmt.Errorf("server: shahab: %d open windows", len(open))
	}
	if len(open) == 1 {
		return open[0], nil
	}
	p, err := r.profileNow()
	if err != nil {
		return nil, err
	}
	id, cut := shahab.WindowAt(r.s.clk.Now(), p.CardWindows)
	return &windowRecord{ID: id, Status: windowOpen, CutOff: cut, Pairs: map[string]*windowPair{}}, nil
}

// nextWindowID names the window opened at now after closing the one named last: the window of now's next
// cut-off, or — when the operator closed last before its cut-off, so that now's window is last's own — last's
// id with a sequence number ("…T10:00-2").
func nextWindowID(last, next string) string {
	if next > last && !strings.HasPrefix(last, next+"-") {
		return next
	}
	base, n := last, 1
	if i := strings.LastIndexByte(last, '-'); i > len("1404-02-01T10:00")-1 {
		if k, err := strconv.Atoi(last[i+1:]); err == nil {
			base, n = last[:i], k
		}
	}
	return base + "-" + strconv.Itoa(n+1)
}

// closeWindow closes the open window and settles it. A scheduled run (early false) closes it only when its
// cut-off is at or before at; the operator's (early true) closes it whatever its cut-off. It answers the
// closed window, or nil when there was none due.
func (r *shahabRail) closeWindow(ctx context.Context, at time.Time, early bool) (*windowRecord, error) {
	r.windowMu.Lock()
	defer r.windowMu.Unlock()
	p, err := r.s.profile(at)
	if err != nil {
		return nil, err
	}
	var closed *windowRecord
	err = r.s.clearing.decide(ctx, func(x *postgres.Decision) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		w := r.win
		if !early && w.CutOff.After(at) {
			return nil
		}
		closed = w.clone()
		closed.Status, closed.ClosedAt = windowClosing, x.Now().UTC()
		nid, ncut := shahab.WindowAt(x.Now(), p.CardWindows)
		if id := nextWindowID(w.ID, nid); id != nid {
			nid, ncut = id, w.CutOff
		}
		next := &windowRecord{ID: nid, Status: windowOpen, CutOff: ncut, Pairs: map[string]*windowPair{}}
		if _, ok, err := x.Propose(postgres.Submission{Rows: []postgres.Row{closed.row(), next.row()}}); err != nil || !ok {
			return fmt.Errorf("server: shahab: closing window %s refused: %v", w.ID, err)
		}
		r.win = next
		return nil
	})
	if err != nil {
		r.reloadAfter(ctx, err)
		return nil, err
	}
	if closed == nil {
		return nil, nil
	}
	return closed, r.settleWindow(ctx, closed)
}

// windowIDShape reports whether id can name a window: "1404-02-01T10:00", perhaps with "-N" after it.
func windowIDShape(id string) bool {
	base, seq, more := strings.Cut(id, "T")
	if !more || len(base) != 10 || len(seq) < 5 || len(id) > 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c == '-' || c == ':' || c == 'T') {
			return false
		}
	}
	return true
}

// windowSetID is a window's net settlement's id: derived, so settling it again is a repeat.
func windowSetID(id string) [16]byte { return ids.Derive("tasvieh.shahab.window", id) }

// settleWindow settles a closed window's obligations, carries those of banks left out into the open window,
// and records the outcome. Under windowMu.
func (r *shahabRail) settleWindow(ctx context.Context, w *windowRecord) error {
	keys := make([]string, 0, len(w.Pairs))
	for k := range w.Pairs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var obl []rtgs.Obligation
	for _, k := range keys {
		p := w.Pairs[k]
		if p.AmountRial > 0 {
			obl = append(obl, rtgs.Obligation{From: p.From, To: p.To, AmountRial: p.AmountRial})
		}
	}
	var res rtgs.NetResult
	if len(obl) > 0 {
		var err error
		if res, err = r.s.SettleNets(ctx, rtgs.NetSet{ID: windowSetID(w.ID), Rail: "card", Obligations: obl}); err != nil {
			return err
		}
	}
	err := r.s.clearing.decide(ctx, func(x *postgres.Decision) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		done := w.clone()
		done.Status = windowEmpty
		if len(obl) > 0 {
			done.Status, done.NetSet = windowSettled, ids.String(windowSetID(w.ID))
		}
		done.Nets = []api.NetPosition{}
		for _, n := range res.Settled {
			done.Nets = append(done.Nets, api.NetPosition{Bank: n.Bank, NetRial: n.AmountRial})
		}
		done.Excluded = slices.Clone(res.Excluded)
		rows := []postgres.Row{done.row()}
		if len(res.Excluded) > 0 {
			for _, k := range keys {
				p := w.Pairs[k]
				if slices.Contains(res.Excluded, p.From) || slices.Contains(res.Excluded, p.To) {
					q := r.win.Pairs[k]
					if q == nil {
						q = &windowPair{From: p.From, To: p.To}
						r.win.Pairs[k] = q
					}
					q.AmountRial += p.AmountRial
					q.Transfers += p.Transfers
					q.Carried = true
					r.win.Transfers += p.Transfers
				}
			}
			rows = append(rows, r.win.row())
		}
		if _, ok, err := x.Propose(postgres.Submission{Rows: rows}); err != nil || !ok {
			return fmt.Errorf("server: shahab: recording window %s refused: %v", w.ID, err)
		}
		return nil
	})
	if err != nil {
		r.reloadAfter(ctx, err)
	}
	return err
}

// reloadAfter rebuilds the rail's memory after a decision that failed or may not have committed: the open
// window (its obligations, carried ones included) is what the tables say, never what memory ran ahead to.
func (r *shahabRail) reloadAfter(ctx context.Context, err error) {
	// Under the positions' mutex, as the batcher reloads: no decision of the rail runs meanwhile, so what is
	// read is not overwritten by a batch deciding on memory the reload then replaces with older rows.
	r.s.clearing.mu.Lock()
	defer r.s.clearing.mu.Unlock()
	if rerr := r.reload(context.WithoutCancel(ctx)); rerr != nil {
		r.s.log.Error("server: shahab: reloading after a failed decision", "err", rerr, "after", err)
	}
}

// resume settles the windows a stop left closing, and answers the transfers it left pending.
func (r *shahabRail) resume(ctx context.Context) {
	r.windowMu.Lock()
	closing, err := r.windows(ctx, windowClosing)
	for _, w := range closing {
		if err == nil {
			err = r.settleWindow(ctx, w)
		}
	}
	r.windowMu.Unlock()
	if err != nil {
		r.s.log.Error("server: shahab: settling the windows left closing", "err", err)
	}
	due, err := postgres.ShahabLateDue(ctx, r.s.pool)
	if err != nil {
		r.s.log.Error("server: shahab: reading the late credits still to come", "err", err)
	}
	for _, row := range due {
		r.lateLater(row.ID, time.Unix(0, row.LateDue))
	}
	pending, err := postgres.ShahabPending(ctx, r.s.pool)
	if err != nil {
		r.s.log.Error("server: shahab: reading the transfers left pending", "err", err)
		return
	}
	for _, row := range pending {
		r.s.wg.Add(1)
		go func() {
			defer r.s.wg.Done()
			if _, err := r.complete(ctx, row); err != nil {
				r.s.log.Warn("server: shahab: answering a transfer left pending", "id", row.ID, "err", err)
			}
		}()
	}
}

func windowAPI(w *windowRecord) api.ShahabWindow {
	out := api.ShahabWindow{ID: w.ID, Status: w.Status, CutOff: w.CutOff, Obligations: []api.ShahabObligation{},
		Nets: slices.Clone(w.Nets), Excluded: slices.Clone(w.Excluded), NetSet: w.NetSet, Transfers: w.Transfers}
	if out.Nets == nil {
		out.Nets = []api.NetPosition{}
	}
	if out.Excluded == nil {
		out.Excluded = []string{}
	}
	if !w.ClosedAt.IsZero() {
		at := w.ClosedAt
		out.ClosedAt = &at
	}
	for _, p := range w.Pairs {
		out.Obligations = append(out.Obligations, api.ShahabObligation{From: p.From, To: p.To, AmountRial: p.AmountRial, Transfers: p.Transfers})
	}
	slices.SortFunc(out.Obligations, func(a, b api.ShahabObligation) int { return strings.Compare(a.From+a.To, b.From+b.To) })
	if w.Status == windowOpen && len(w.Nets) == 0 {
		net := map[string]int64{}
		for _, p := range w.Pairs {
			net[p.From] += p.AmountRial
			net[p.To] -= p.AmountRial
		}
		for bank, n := range net {
			if n != 0 {
				out.Nets = append(out.Nets, api.NetPosition{Bank: bank, NetRial: n})
			}
		}
		slices.SortFunc(out.Nets, func(a, b api.NetPosition) int { return strings.Compare(a.Bank, b.Bank) })
	}
	return out
}

func (b backend) ShahabWindows(ctx context.Context, cursor string, limit int) (api.ShahabWindowPage, error) {
	all, err := b.s.shahab.windows(ctx)
	if err != nil {
		return api.ShahabWindowPage{}, err
	}
	b.s.shahab.mu.Lock()
	open := b.s.shahab.win.clone()
	b.s.shahab.mu.Unlock()
	if !slices.ContainsFunc(all, func(w *windowRecord) bool { return w.ID == open.ID }) {
		all = append(all, open)
	}
	for i, w := range all {
		if w.ID == open.ID {
			all[i] = open // memory is ahead of nothing: it is what the last committed decision wrote
		}
	}
	slices.SortFunc(all, func(a, b *windowRecord) int { return strings.Compare(b.ID, a.ID) })
	if limit <= 0 {
		limit = api.PageDefault
	}
	limit = min(limit, shahabPageMax)
	page := api.ShahabWindowPage{Windows: []api.ShahabWindow{}}
	for _, w := range all {
		if cursor != "" && w.ID >= cursor {
			continue
		}
		if len(page.Windows) == limit {
			page.NextCursor = page.Windows[limit-1].ID
			break
		}
		page.Windows = append(page.Windows, windowAPI(w))
	}
	return page, nil
}

func (b backend) ShahabWindow(ctx context.Context, id string) (api.ShahabWindow, error) {
	if !windowIDShape(id) {
		return api.ShahabWindow{}, api.Errorf(api.CodeNotFound, "no settlement window %q: ids are YYYY-MM-DDTHH:MM, with -N after an early close", id)
	}
	r := b.s.shahab
	r.mu.Lock()
	open := r.win.clone()
	r.mu.Unlock()
	if open.ID == id {
		return windowAPI(open), nil
	}
	o, ok, err := b.s.store.RailObject(ctx, kindShahabWindow, id)
	if err != nil {
		return api.ShahabWindow{}, err
	}
	if !ok {
		return api.ShahabWindow{}, api.Errorf(api.CodeNotFound, "no settlement window %s", id)
	}
	w, err := decodeWindow(o)
	if err != nil {
		return api.ShahabWindow{}, err
	}
	return windowAPI(w), nil
}

func (b backend) SettleShahabWindow(ctx context.Context) (api.ShahabWindow, error) {
	w, err := b.s.shahab.closeWindow(ctx, b.s.clk.Now(), true)
	if err != nil {
		return api.ShahabWindow{}, err
	}
	return b.ShahabWindow(ctx, w.ID)
}
