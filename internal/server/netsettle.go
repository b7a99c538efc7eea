package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
)

// Net settlement for the deferred rails (issue 8, item 5): PAYA and the card switch hand rtgs a set of
// obligations; the switch settles the banks' nets as ONE netted chain on the settlement accounts, outside
// SATNA's hours and queue, with no minimum and no SATNA fee, and answers which nets settled and which banks
// were left out. The rules, which a central bank would defend:
//   - A bank suspended by the operator, or merged or dissolved since, is left out before anything is planned:
//     a suspended participant neither pays nor is paid through the switch until it is resumed, so every
//     obligation to or from it waits with the rail (its customers' money stays in the clearing accounts).
//   - Then rtgs.PlanNets on the settlement accounts' available balances, read inside the writer: while a bank
//     cannot cover its net debit, the one with the largest shortfall is left out and the nets recomputed
//     (DOMAIN.md §5). A bank that is owed is never short.
//   - The nets left settle all at once: debtors' settlement accounts → the rail's CBI net account
//     (KeyNet, floor zero, empty again after the chain) → creditors' settlement accounts, and in each
//     simulated bank's book its mirror against its clearing account for the rail (a debtor: clearing → mirror;
//     a creditor: mirror → clearing), so that mirrors still equal settlement accounts and clearing accounts
//     still equal positions, each settled bank's position moving by −net. An external bank's settlement
//     account moves alone.
//   - The set's record (kind rtgs.netset), the positions and one notification per bank of the set
//     (rtgs.netset.settled with its own net, rtgs.netset.excluded with why) commit in the same batch.
//   - Idempotent by the set's id: a repeat answers the first result and moves nothing; the same id with other
//     obligations is refused (ErrNetSetReused); two calls with one id at once apply once.

const kindNetSet = "rtgs.netset"

// Errors of SettleNets. Both mean that nothing of the set moved.
var (
	// ErrNetSet wraps a malformed set (and rtgs.ErrNets when the engine found it): nothing of it can settle.
	ErrNetSet = errors.New("server: net settlement refused")
	// ErrNetSetReused is a set id already decided for other obligations or another rail.
	ErrNetSetReused = errors.New("server: net set id already used for other obligations")
)

// netChainMax is the longest chain a set can need: a set's banks are 3-digit codes, at most 1,000, and each
// settled bank has one leg on ledger 1 and at most one in its book. So a set always fits one request of the
// store, and its chain never needs splitting (which would break its atomicity).
const netChainMax = 2 * 1000

// A compile-time check of the claim above: the array's length is negative, and the build fails, if a chain
// of netChainMax transfers no longer fits one request (or its events and rows, one per bank plus the set's).
var (
	_ [postgres.RequestTransfersMax - netChainMax]struct{}
	_ [postgres.EventsPerRequestMax - netChainMax/2]struct{}
	_ [postgres.RowsPerRequestMax - netChainMax/2 - 1]struct{}
)

var _ rtgs.NetSettler = (*Server)(nil)

// netRails maps the names a rail may give NetSet.Rail to its clearing accounts' rail.
var netRails = map[string]string{"paya": "paya", "card": "card", "shahab": "card"}

// netCodes are the net settlement's transfer codes per rail (layout.go).
var netCodes = map[string]uint16{"paya": CodePAYANet, "card": CodeCardNet}

// netClaims keeps one SettleNets per set id at a time: a second call with the same id waits for the first,
// then answers what the first stored.
type netClaims = claims[[16]byte]

// errNetSetApplied says the ledger already holds the set's chain: a call that found no record got there
// after another's decision committed it (its record is then stored too).
var errNetSetApplied = errors.New("server: the net set's chain is already applied")

// SettleNets implements rtgs.NetSettler for PAYA and the card switch: see the rules at the top of this file.
// It must not be called from inside a clearing decision.
func (s *Server) SettleNets(ctx context.Context, set rtgs.NetSet) (rtgs.NetResult, error) {
	rail, ok := netRails[set.Rail]
	if !ok {
		return rtgs.NetResult{}, fmt.Errorf("%w: rail %q: want paya or card (shahab)", ErrNetSet, set.Rail)
	}
	if set.ID == ([16]byte{}) {
		return rtgs.NetResult{}, fmt.Errorf("%w: the set has no id", ErrNetSet)
	}
	whole, err := rtgs.Nets(set.Obligations) // validates every obligation, as PlanNets will
	if err != nil {
		return rtgs.NetResult{}, fmt.Errorf("%w: %w", ErrNetSet, err)
	}
	sum := summarize(set.Obligations)
	for _, code := range sum.banks {
		if !s.world.isMember(code) {
			return rtgs.NetResult{}, fmt.Errorf("%w: bank %s is no member of the switch: it has no settlement account", ErrNetSet, code)
		}
	}
	release, err := s.netClaims.claim(ctx, set.ID)
	if err != nil {
		return rtgs.NetResult{}, err
	}
	defer release()
	id := ids.String(set.ID)
	repeat := func() (rtgs.NetResult, bool, error) {
		row, found, err := s.store.RailObject(ctx, kindNetSet, id)
		if err != nil || !found {
			return rtgs.NetResult{}, found, err
		}
		var rec api.NetSet
		if err := json.Unmarshal(row.Body, &rec); err != nil {
			return rtgs.NetResult{}, true, fmt.Errorf("server: %s %s: %w", kindNetSet, id, err)
		}
		if rec.Rail != rail || rec.Obligations.Digest != sum.Digest {
			return rtgs.NetResult{}, true, fmt.Errorf("%w: set %s was settled for %s with obligations %s", ErrNetSetReused, id, rec.Rail, rec.Obligations.Digest)
		}
		return netResult(rec), true, nil
	}
	if res, found, err := repeat(); found || err != nil {
		return res, err
	}
	var rec api.NetSet
	var moved bool
	err = s.clearing.decide(ctx, func(x *postgres.Decision) error {
		var err error
		rec, moved, err = s.settleNetsIn(x, set, rail, sum, whole)
		return err
	})
	if errors.Is(err, errNetSetApplied) {
		res, found, err := repeat()
		if err == nil && !found {
			err = fmt.Errorf("server: set %s: its chain is in the ledger but its record is not", id)
		}
		return res, err
	}
	if err != nil {
		return rtgs.NetResult{}, err
	}
	if !moved {
		// Nothing to move (every bank left out, or every net zero): the record and the notifications are
		// one transaction of their own.
		row := postgres.Row{Kind: kindNetSet, ID: id, Status: rec.Status, Body: mustJSON(rec)}
		if err := postgres.Notice(ctx, s.pool, s.clk.Now(), []postgres.Row{row}, s.netNotices(rec, sum.banks)); err != nil {
			return rtgs.NetResult{}, err
		}
	}
	s.relay.Notify()
	s.deliver.Kick()
	return netResult(rec), nil
}

// netSummary is what the record keeps of a set's obligations; the set's banks by code; and its obligations
// summed by pair, in pair order, which is all PlanNets needs of them (it sums by pair itself) — so the
// decision inside the writer handles at most one obligation per pair, however many entries the rail sent.
type netSummary struct {
	api.NetObligations
	banks []string
	pairs []rtgs.Obligation
}

// summarize sums validated obligations by pair and digests them: the same obligations in any order or
// split, the same digest.
func summarize(obs []rtgs.Obligation) netSummary {
	pairs := map[[2]string]int64{}
	in := map[string]bool{}
	var total int64
	for _, o := range obs {
		pairs[[2]string{o.From, o.To}] += o.AmountRial
		total += o.AmountRial
		in[o.From], in[o.To] = true, true
	}
	keys := slices.SortedFunc(maps.Keys(pairs), func(a, b [2]string) int {
		if a[0] != b[0] {
			return strings.Compare(a[0], b[0])
		}
		return strings.Compare(a[1], b[1])
	})
	h := sha256.New()
	summed := make([]rtgs.Obligation, len(keys))
	for i, k := range keys {
		fmt.Fprintf(h, "%s>%s:%d\n", k[0], k[1], pairs[k])
		summed[i] = rtgs.Obligation{From: k[0], To: k[1], AmountRial: pairs[k]}
	}
	return netSummary{NetObligations: api.NetObligations{Count: len(obs), Pairs: len(pairs), TotalRial: total,
		Digest: hex.EncodeToString(h.Sum(nil))}, banks: slices.Sorted(maps.Keys(in)), pairs: summed}
}

// netResult is the engine's answer from a record.
func netResult(rec api.NetSet) rtgs.NetResult {
	var out rtgs.NetResult
	for _, n := range rec.Settled {
		out.Settled = append(out.Settled, rtgs.Net{Bank: n.Bank, AmountRial: n.NetRial})
	}
	for _, e := range rec.Excluded {
		out.Excluded = append(out.Excluded, e.Bank)
	}
	return out
}

// settleNetsIn decides a set on the writer's stable balances and proposes its chain, with the record, the
// positions and the notifications. moved is false when there was nothing to move: the caller writes the
// record then. Only inside clearing.decide.
func (s *Server) settleNetsIn(x *postgres.Decision, set rtgs.NetSet, rail string, sum netSummary, whole []rtgs.Net) (rec api.NetSet, moved bool, err error) {
	w := s.world
	reg := w.registry()
	wholeNet := map[string]int64{}
	for _, n := range whole {
		wholeNet[n.Bank] = n.AmountRial
	}
	now := x.Now().In(calendar.Tehran)
	rec = api.NetSet{ID: ids.String(set.ID), Rail: rail, Obligations: sum.NetObligations, Settled: []api.NetPosition{},
		Excluded: []api.NetExclusion{}, SettledAt: now, Jalali: jalaliOf(now)}

	// Left out first: suspended, merged or dissolved banks.
	out := map[string]bool{}
	for _, code := range sum.banks {
		reason := ""
		if b, _ := reg.ByCode(code); !w.active(code) {
			reason = "inactive"
		} else if b.Status == banks.StatusSuspended {
			reason = "suspended"
		}
		if reason != "" {
			out[code] = true
			rec.Excluded = append(rec.Excluded, api.NetExclusion{Bank: code, Reason: reason, NetRial: wholeNet[code]})
		}
	}
	kept := make([]rtgs.Obligation, 0, len(sum.pairs))
	balances := map[string]int64{}
	for _, o := range sum.pairs {
		if out[o.From] || out[o.To] {
			continue
		}
		kept = append(kept, o)
		for _, b := range []string{o.From, o.To} {
			if _, ok := balances[b]; !ok {
				a, ok := x.Account(AccountID(ledger.LedgerCBI, KeySettlement(b)))
				if !ok {
					return rec, false, fmt.Errorf("server: no settlement account for %s", b)
				}
				balances[b] = a.Available()
			}
		}
	}
	settle, short, err := rtgs.PlanNets(kept, balances)
	if err != nil {
		return rec, false, fmt.Errorf("%w: %w", ErrNetSet, err) // validated before: not reached
	}
	for _, code := range short {
		rec.Excluded = append(rec.Excluded, api.NetExclusion{Bank: code, Reason: "short", NetRial: wholeNet[code]})
	}
	for _, n := range settle {
		rec.Settled = append(rec.Settled, api.NetPosition{Bank: n.Bank, NetRial: n.AmountRial})
	}
	switch {
	case len(rec.Excluded) == 0:
		rec.Status = "settled"
	case settling(kept, short):
		rec.Status = "partial"
	default:
		rec.Status = "excluded"
	}
	if len(settle) == 0 {
		return rec, false, nil
	}

	// The chain: debtors into the rail's net account, the net account out to creditors, then the books.
	code, transit := netCodes[rail], AccountID(ledger.LedgerCBI, KeyNet(rail))
	leg := func(bank, part string) ledger.ID {
		return ledger.ID(ids.Derive("tasvieh.netset.transfer", rec.ID, bank, part))
	}
	ref := rail + " net settlement"
	base := ledger.Transfer{Code: code, UserData: ledger.ID(set.ID), Reference: ref}
	var chain []ledger.Transfer
	for _, debtors := range []bool{true, false} {
		for _, n := range settle {
			if (n.AmountRial > 0) != debtors {
				continue
			}
			t := base
			t.ID, t.Ledger, t.Amount = leg(n.Bank, "cbi"), ledger.LedgerCBI, n.AmountRial
			t.DebitAccountID, t.CreditAccountID = AccountID(ledger.LedgerCBI, KeySettlement(n.Bank)), transit
			if !debtors {
				t.Amount, t.DebitAccountID, t.CreditAccountID = -n.AmountRial, transit, AccountID(ledger.LedgerCBI, KeySettlement(n.Bank))
			}
			chain = append(chain, t)
		}
	}
	m := s.clearing.move()
	for _, n := range settle {
		m.shiftIn(rail, n.Bank, -n.AmountRial)
		if !w.live(n.Bank) {
			continue // an external bank's book, if any, is frozen: its settlement account moves alone
		}
		book := BookLedger(n.Bank)
		t := base
		t.ID, t.Ledger = leg(n.Bank, "book"), book
		mirror, clr := AccountID(book, KeyMirror), AccountID(book, KeyClearing(rail))
		if n.AmountRial > 0 { // it paid: its settlement account fell, so its mirror is credited
			t.DebitAccountID, t.CreditAccountID, t.Amount = clr, mirror, n.AmountRial
		} else {
			t.DebitAccountID, t.CreditAccountID, t.Amount = mirror, clr, -n.AmountRial
		}
		chain = append(chain, t)
	}
	if len(chain) > netChainMax || len(chain) > postgres.RequestTransfersMax {
		panic(fmt.Sprintf("server: a net set's chain of %d transfers: more than %d banks' legs", len(chain), netChainMax))
	}
	for i := range chain {
		chain[i].Flags = ledger.FlagNet | ledger.FlagLinked
	}
	chain[len(chain)-1].Flags = ledger.FlagNet
	m.Sub.Transfers = chain
	m.Sub.Rows = []postgres.Row{{Transfer: chain[0].ID, Kind: kindNetSet, ID: rec.ID, Status: rec.Status, Body: mustJSON(rec)}}
	for _, e := range s.netNotices(rec, sum.banks) {
		m.event(e)
	}
	res, ok, err := m.proposeIn(x)
	if err != nil {
		return rec, false, err
	}
	if !ok {
		if slices.Contains(res, ledger.Exists) {
			return rec, false, errNetSetApplied
		}
		return rec, false, fmt.Errorf("server: set %s: the ledger refused its netted chain: %v", rec.ID, res)
	}
	return rec, true, nil
}

// settling reports whether any of the kept obligations is between banks not left out as short: whether
// anything of the set settled (if only by offsetting to zero nets).
func settling(kept []rtgs.Obligation, short []string) bool {
	out := make(map[string]bool, len(short))
	for _, c := range short {
		out[c] = true
	}
	for _, o := range kept {
		if !out[o.From] && !out[o.To] {
			return true
		}
	}
	return false
}

// netNotices are a set's notifications: one to each of its banks, with its own net only.
func (s *Server) netNotices(rec api.NetSet, codes []string) []outbox.Event {
	settled := map[string]int64{}
	for _, n := range rec.Settled {
		settled[n.Bank] = n.NetRial
	}
	excluded := map[string]api.NetExclusion{}
	for _, e := range rec.Excluded {
		excluded[e.Bank] = e
	}
	var out []outbox.Event
	for _, code := range codes {
		n := api.NetSetNotice{SetID: rec.ID, Rail: rec.Rail, Bank: code, Status: "settled", NetRial: settled[code], SettledAt: rec.SettledAt}
		if e, ok := excluded[code]; ok {
			n.Status, n.NetRial, n.Reason = "excluded", e.NetRial, e.Reason
		}
		out = append(out, notification(code, "rtgs.netset."+n.Status, rec.SettledAt, n, rec.ID))
	}
	return out
}

// NetSet answers a set's record, for the operator.
func (b backend) NetSet(ctx context.Context, id string) (api.NetSet, error) {
	parsed, err := ledger.ParseID(id)
	if err != nil {
		return api.NetSet{}, api.Errorf(api.CodeNotFound, "no such net set")
	}
	row, found, err := b.s.store.RailObject(ctx, kindNetSet, parsed.String())
	if err != nil {
		return api.NetSet{}, err
	}
	if !found {
		return api.NetSet{}, api.Errorf(api.CodeNotFound, "no such net set")
	}
	var rec api.NetSet
	return rec, json.Unmarshal(row.Body, &rec)
}

// NetSets lists the sets' records by id, of one rail or of all.
func (b backend) NetSets(ctx context.Context, rail, cursor string, limit int) (api.NetSetPage, error) {
	field, values := "", []string(nil)
	if rail != "" {
		field, values = "rail", []string{rail}
	}
	if limit <= 0 || limit > api.PageMax {
		limit = api.PageDefault
	}
	out := api.NetSetPage{NetSets: []api.NetSet{}}
	rows, err := postgres.RailObjectsWhere(ctx, b.s.pool, kindNetSet, field, values, nil, cursor, limit)
	if err != nil {
		return out, err
	}
	for _, row := range rows {
		var rec api.NetSet
		if err := json.Unmarshal(row.Body, &rec); err != nil {
			return out, fmt.Errorf("server: %s %s: %w", kindNetSet, row.ID, err)
		}
		out.NetSets = append(out.NetSets, rec)
	}
	if len(rows) == limit {
		out.NextCursor = rows[len(rows)-1].ID
	}
	return out, nil
}
