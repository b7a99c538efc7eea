package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/scheduler"
	"github.com/tasvieh/tasvieh/sim"
	"github.com/tasvieh/tasvieh/webhook"
)

// AdvanceMax bounds one clock move: a month of schedules is about 800 job runs, each a short transaction,
// which one request finishes well inside its deadline; move further in several steps.
const AdvanceMax = 31 * 24 * time.Hour

// backend implements api.Backend over the server.
type backend struct{ s *Server }

var _ api.Backend = backend{}

// storeErr turns the store's operational errors into the API's: outcome unknown stays that (retry with the
// same reference is safe); not applied and closed are "unavailable, retry".
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, postgres.ErrOutcomeUnknown):
		return api.Errorf(api.CodeOutcomeUnknown, "the write's outcome is unknown; retrying with the same reference is safe")
	case errors.Is(err, postgres.ErrNotApplied), errors.Is(err, postgres.ErrClosed):
		return api.Errorf(api.CodeUnavailable, "not applied: the ledger is recovering; retry")
	}
	return err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the server's own types are marshalled here
	}
	return b
}

// forMembers makes one notification per member bank.
func (s *Server) forMembers(data func(code string) any, typ string, at time.Time, idParts ...string) []outbox.Event {
	var out []outbox.Event
	for _, code := range s.world.members {
		if !s.world.active(code) {
			continue // merged or dissolved since: nothing opens for it
		}
		out = append(out, notification(code, typ, at, data(code), idParts...))
	}
	return out
}

func (b backend) Health(ctx context.Context) error {
	if err := b.s.store.Err(); err != nil {
		return api.Errorf(api.CodeUnavailable, "the ledger is recovering")
	}
	if err := b.s.pool.Ping(ctx); err != nil {
		return api.Errorf(api.CodeUnavailable, "the database does not answer")
	}
	return nil
}

func (b backend) bankOf(r *banks.Registry, x banks.Bank) api.Bank {
	out := api.Bank{Code: x.Code, NameEN: x.NameEN, NameFA: x.NameFA, BINs: x.BINs, BIC: x.BIC, Status: string(x.Status),
		Successor: x.Successor, Since: x.Since}
	if out.BINs == nil {
		out.BINs = []string{}
	}
	if b.s.world.isMember(x.Code) {
		st := b.s.world.stateOf(x.Code)
		out.Simulation = &st.Simulation
	}
	return out
}

func (b backend) Banks(ctx context.Context) ([]api.Bank, error) {
	r := b.s.world.registry()
	var out []api.Bank
	for _, x := range r.All() {
		out = append(out, b.bankOf(r, x))
	}
	return out, nil
}

func (b backend) Bank(ctx context.Context, code string) (api.Bank, error) {
	r := b.s.world.registry()
	x, ok := r.ByCode(code)
	if !ok {
		return api.Bank{}, api.Errorf(api.CodeNotFound, "no bank has code %s", code)
	}
	return b.bankOf(r, x), nil
}

// cursorInt reads a cursor the server made: a decimal number. Anything else is the caller's mistake.
func cursorInt(field, c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 {
		return 0, api.FieldErrorf(field, "not a cursor this server gave")
	}
	return n, nil
}

// codeNames name the transfer codes for people; the rails add theirs.
var codeNames = map[uint16]string{CodeIssuance: "issuance", CodeWithdrawal: "withdrawal", CodeOpening: "opening", CodeResync: "resync",
	CodeSATNAOrder: "satna", CodeSATNAFee: "satna_fee", CodeSATNAReturn: "satna_return", CodeSATNAReturnFee: "satna_return_fee"}

// codeName names a transfer code, or shows its number.
func codeName(c uint16) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return strconv.Itoa(int(c))
}

func (b backend) SettlementAccount(ctx context.Context, bank, cursor string, limit int) (api.SettlementAccount, error) {
	if !b.s.world.isMember(bank) {
		return api.SettlementAccount{}, api.Errorf(api.CodeNotFound, "no such settlement account")
	}
	after, err := cursorInt("cursor", cursor)
	if err != nil {
		return api.SettlementAccount{}, err
	}
	id := AccountID(ledger.LedgerCBI, KeySettlement(bank))
	a, ok, ts, err := b.s.store.AccountPage(ctx, id, after, limit)
	if err != nil || !ok {
		return api.SettlementAccount{}, errors.Join(err, errors.New("server: settlement account missing"))
	}
	out := api.SettlementAccount{BankCode: bank, AccountID: id.String(), BalanceRial: a.Balance(), AvailableRial: a.Available(),
		DebitsPendingRial: a.DebitsPending, CreditsPendingRial: a.CreditsPending, Transfers: []api.Movement{}}
	for _, t := range ts {
		m := api.Movement{ID: t.ID.String(), At: time.Unix(0, t.Timestamp).In(calendar.Tehran), AmountRial: t.Amount,
			Kind: codeName(t.Code), Reference: t.Reference}
		other := t.DebitAccountID
		if t.DebitAccountID == id {
			m.Direction, other = "debit", t.CreditAccountID
		} else {
			m.Direction = "credit"
		}
		m.Counterpart = b.s.world.nameOf(other)
		switch {
		case t.Flags&ledger.FlagPending != 0:
			m.Pending = "pending"
		case t.Flags&ledger.FlagPostPending != 0:
			m.Pending = "post"
		case t.Flags&ledger.FlagVoidPending != 0:
			m.Pending = "void"
		}
		out.Transfers = append(out.Transfers, m)
	}
	if len(ts) == limit {
		out.NextCursor = strconv.FormatInt(ts[len(ts)-1].Timestamp, 10)
	}
	return out, nil
}

func (b backend) Clock(ctx context.Context) (api.ClockInfo, error) {
	s := b.s
	now := s.clk.Now().In(calendar.Tehran)
	info := api.ClockInfo{Now: now, Jalali: jalaliOf(now), Mode: string(s.clk.Mode()), NextJobs: []api.JobTime{}, RecentRuns: []api.JobRun{}}
	ok, why, err := s.cal.IsBusinessDay(calendar.DateOf(now))
	switch {
	case err != nil:
		info.DayReason = err.Error()
	case ok:
		info.BusinessDay = true
	default:
		info.DayReason = why.String()
	}
	if p, err := s.profile(now); err == nil {
		info.Rules = p.Name
	}
	for _, u := range s.sched.Next(8) {
		info.NextJobs = append(info.NextJobs, api.JobTime{Job: u.Job, At: u.At.In(calendar.Tehran)})
	}
	runs, err := s.runs.Recent(ctx, 10)
	if err != nil {
		return info, err
	}
	for _, r := range runs {
		info.RecentRuns = append(info.RecentRuns, jobRun(r))
	}
	return info, nil
}

func jobRun(r scheduler.Run) api.JobRun {
	return api.JobRun{Job: r.Job, Scheduled: r.Scheduled.In(calendar.Tehran), Jalali: jalaliOf(r.Scheduled), Outcome: r.Outcome, Error: r.Err, CatchUp: r.CatchUp}
}

// simulatedBook answers a bank's generated customers, or why it has none.
func (b backend) simulatedBook(code string) ([]sim.Customer, error) {
	w := b.s.world
	if !w.isMember(code) {
		return nil, api.Errorf(api.CodeNotFound, "no member bank has code %s", code).WithField("bank")
	}
	if !w.active(code) {
		return nil, api.Errorf(api.CodeBankInactive, "bank %s is no longer an active member", code).WithField("bank")
	}
	if !w.live(code) {
		return nil, api.Errorf(api.CodeBankNotSimulated, "bank %s is played as external (under test): it has no test customers here", code).WithField("bank")
	}
	return w.customersOf(code)
}

func (b backend) Customers(ctx context.Context, bank string, withBalances bool, cursor string, limit int) (api.CustomerPage, error) {
	custs, err := b.simulatedBook(bank)
	if err != nil {
		return api.CustomerPage{}, err
	}
	from, err := cursorInt("cursor", cursor)
	if err != nil {
		return api.CustomerPage{}, err
	}
	out := api.CustomerPage{BankCode: bank, Customers: []api.Customer{}}
	for i := int(min(from, int64(len(custs)))); i < len(custs) && len(out.Customers) < limit; i++ {
		c := custs[i]
		ac := api.Customer{Name: c.Name, SHEBA: c.SHEBA, Status: string(c.Status), Magic: c.Magic, Cards: []api.CustomerCard{}}
		for _, k := range c.Cards {
			ac.Cards = append(ac.Cards, api.CustomerCard{PAN: k.PAN, Expiry: k.Expiry, CVV2: k.CVV2, PIN2: k.PIN2, Status: string(k.Status), Magic: k.Magic})
		}
		if withBalances {
			a, ok, err := b.s.store.Account(ctx, AccountID(BookLedger(bank), c.SHEBA))
			if err != nil {
				return out, err
			}
			if ok {
				bal := a.Balance()
				ac.BalanceRial = &bal
			}
		}
		out.Customers = append(out.Customers, ac)
		if len(out.Customers) == limit && i+1 < len(custs) {
			out.NextCursor = strconv.Itoa(i + 1)
		}
	}
	return out, nil
}

func (b backend) Magic(ctx context.Context, bank string) ([]api.MagicValue, error) {
	w := b.s.world
	codes := w.members
	if bank != "" {
		if _, err := b.simulatedBook(bank); err != nil {
			return nil, err
		}
		codes = []string{bank}
	}
	out := []api.MagicValue{}
	for _, code := range codes {
		if !w.live(code) || !w.active(code) {
			continue
		}
		x, _ := w.atStart.ByCode(code)
		for _, m := range sim.Magic(x) {
			out = append(out, api.MagicValue{BankCode: code, Name: m.Name, Kind: m.Kind, Value: m.Value, Effect: m.Effect})
		}
	}
	return out, nil
}

func (b backend) Events(ctx context.Context, bank, after string, limit int) (api.EventPage, error) {
	seq, err := cursorInt("after", after)
	if err != nil {
		return api.EventPage{}, err
	}
	if seq > 0 {
		var last int64
		if err := b.s.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM outbox").Scan(&last); err != nil {
			return api.EventPage{}, err
		}
		if seq > last {
			return api.EventPage{}, api.FieldErrorf("after", "beyond the end of the feed: not a cursor this server gave")
		}
	}
	evs, err := b.s.outbox.Feed(ctx, bank, seq, limit)
	if err != nil {
		return api.EventPage{}, err
	}
	out := api.EventPage{Events: []api.Event{}, NextCursor: strconv.FormatInt(seq, 10)}
	for _, e := range evs {
		var data any
		if err := json.Unmarshal(e.Payload, &data); err != nil {
			data = string(e.Payload)
		}
		c := strconv.FormatInt(e.Seq, 10)
		out.Events = append(out.Events, api.Event{Cursor: c, ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.In(calendar.Tehran), Data: data})
		out.NextCursor = c
	}
	return out, nil
}

func (b backend) SetWebhook(ctx context.Context, bank string, req api.WebhookRequest) (api.Webhook, error) {
	if err := webhook.ValidateURL(req.URL); err != nil {
		return api.Webhook{}, api.FieldErrorf("url", "%v", err)
	}
	secret, err := b.s.hooks.Set(ctx, bank, req.URL, req.RotateSecret, b.s.clk.Now())
	if err != nil {
		return api.Webhook{}, err
	}
	b.s.deliver.Kick()
	return api.Webhook{URL: req.URL, Secret: secret}, nil
}

func (b backend) Deliveries(ctx context.Context, bank, cursor string, limit int) (api.DeliveryPage, error) {
	after, err := cursorInt("cursor", cursor)
	if err != nil {
		return api.DeliveryPage{}, err
	}
	ds, err := b.s.hooks.Deliveries(ctx, bank, after, limit)
	if err != nil {
		return api.DeliveryPage{}, err
	}
	out := api.DeliveryPage{Deliveries: []api.Delivery{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, delivery(d))
	}
	if len(ds) == limit {
		out.NextCursor = strconv.FormatInt(ds[len(ds)-1].ID, 10)
	}
	return out, nil
}

func (b backend) RetryDelivery(ctx context.Context, bank, id string) (api.Delivery, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return api.Delivery{}, api.Errorf(api.CodeNotFound, "no such delivery")
	}
	ok, err := b.s.hooks.Retry(ctx, bank, n, b.s.clk.Now())
	if err != nil {
		return api.Delivery{}, err
	}
	if !ok {
		return api.Delivery{}, api.Errorf(api.CodeNotFound, "no such delivery")
	}
	b.s.deliver.Kick()
	d, ok, err := b.s.oneDelivery(ctx, bank, n)
	if err != nil || !ok {
		return api.Delivery{}, errors.Join(err, errors.New("server: delivery vanished"))
	}
	return delivery(d), nil
}

// parseTime reads RFC 3339 or a Jalali "YYYY/MM/DD HH:MM" in Tehran time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	date, hm, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		hm = "00:00"
	}
	d, err := calendar.ParseDate(date)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor a Jalali YYYY/MM/DD HH:MM: %w", s, err)
	}
	c, err := rulebook.ParseClockTime(hm)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	return c.On(d), nil
}

// ParseTime is parseTime for cmd/tasvieh's --start.
func ParseTime(s string) (time.Time, error) { return parseTime(s) }

func (b backend) AdvanceClock(ctx context.Context, req api.AdvanceRequest) (api.AdvanceResult, error) {
	s := b.s
	if (req.By == "") == (req.To == "") {
		return api.AdvanceResult{}, api.FieldErrorf("by", "give exactly one of by and to")
	}
	s.advanceMu.Lock()
	defer s.advanceMu.Unlock()
	if s.clk.Mode() != clock.ModeSimulated {
		return api.AdvanceResult{}, api.Errorf(api.CodeClockMode, "the clock is real: switch it to simulated first")
	}
	now := s.clk.Now()
	var to time.Time
	if req.By != "" {
		d, err := time.ParseDuration(req.By)
		if err != nil || d <= 0 {
			return api.AdvanceResult{}, api.FieldErrorf("by", "%q is not a positive duration such as 2h30m", req.By)
		}
		to = now.Add(d)
	} else {
		t, err := parseTime(req.To)
		if err != nil {
			return api.AdvanceResult{}, api.FieldErrorf("to", "%v", err)
		}
		to = t
	}
	if to.Before(now) {
		return api.AdvanceResult{}, api.Errorf(api.CodeClockBackwards, "the simulated clock stands at %s and never moves backwards", jalaliOf(now))
	}
	if to.Sub(now) > AdvanceMax {
		return api.AdvanceResult{}, api.Errorf(api.CodeInvalid, "at most %s in one move; advance in steps", AdvanceMax).WithField(map[bool]string{true: "by", false: "to"}[req.By != ""])
	}
	var fired []scheduler.Run
	s.firedMu.Lock()
	s.fired = &fired
	s.firedMu.Unlock()
	err := s.clk.Set(to)
	s.firedMu.Lock()
	s.fired = nil
	s.firedMu.Unlock()
	if errors.Is(err, clock.ErrBackwards) {
		return api.AdvanceResult{}, api.Errorf(api.CodeClockBackwards, "the simulated clock never moves backwards")
	}
	if errors.Is(err, clock.ErrMode) {
		return api.AdvanceResult{}, api.Errorf(api.CodeClockMode, "the clock is real: switch it to simulated first")
	}
	if err != nil {
		return api.AdvanceResult{}, err
	}
	if err := s.runs.SaveClock(ctx, string(s.clk.Mode()), s.clk.Now()); err != nil {
		return api.AdvanceResult{}, err
	}
	info, err := b.Clock(ctx)
	out := api.AdvanceResult{Clock: info, Fired: []api.JobRun{}}
	for _, r := range fired {
		out.Fired = append(out.Fired, jobRun(r))
	}
	return out, err
}

func (b backend) SetClockMode(ctx context.Context, mode string) (api.ClockInfo, error) {
	s := b.s
	s.advanceMu.Lock()
	err := s.clk.SetMode(clock.Mode(mode))
	s.advanceMu.Unlock()
	if errors.Is(err, clock.ErrBackwards) {
		return api.ClockInfo{}, api.Errorf(api.CodeClockBackwards, "the simulated clock is ahead of the real one; switching would move time backwards")
	}
	if err != nil {
		return api.ClockInfo{}, api.FieldErrorf("mode", "%v", err)
	}
	if err := s.runs.SaveClock(ctx, string(s.clk.Mode()), s.clk.Now()); err != nil {
		return api.ClockInfo{}, err
	}
	return b.Clock(ctx)
}

// liquidityRecord is an operator liquidity request's row.
type liquidityRecord struct {
	ID         string `json:"id"`
	BankCode   string `json:"bank_code"`
	AmountRial int64  `json:"amount_rial"`
	Reference  string `json:"reference"`
	Code       string `json:"code,omitempty"`
}

const kindLiquidity = "operator.liquidity"

func (b backend) Liquidity(ctx context.Context, req api.LiquidityRequest) (api.Liquidity, error) {
	s := b.s
	if !s.world.isMember(req.BankCode) {
		return api.Liquidity{}, api.Errorf(api.CodeNotFound, "no member bank has code %s", req.BankCode).WithField("bank_code")
	}
	if err := b.member(req.BankCode); err != nil {
		return api.Liquidity{}, err
	}
	// One liquidity request at a time: the look-up of a reference, the write and a rejection's record must
	// not interleave with another request of the same reference (operator traffic is light).
	s.liquidityMu.Lock()
	defer s.liquidityMu.Unlock()
	if req.AmountRial == 0 || req.AmountRial > rulebook.AmountRialMax || req.AmountRial < -rulebook.AmountRialMax {
		return api.Liquidity{}, api.FieldErrorf("amount_rial", "must be non-zero and within ±%d rial", rulebook.AmountRialMax)
	}
	if err := api.Text("reference", req.Reference, ledger.ReferenceLenMax); err != nil {
		return api.Liquidity{}, err
	}
	id := ledger.ID(derivedTransfer("liquidity", req.Reference))
	rec := liquidityRecord{ID: id.String(), BankCode: req.BankCode, AmountRial: req.AmountRial, Reference: req.Reference}
	if o, ok, err := s.store.RailObject(ctx, kindLiquidity, req.Reference); err != nil {
		return api.Liquidity{}, err
	} else if ok {
		var old liquidityRecord
		if err := json.Unmarshal(o.Body, &old); err != nil {
			return api.Liquidity{}, err
		}
		if old.BankCode != rec.BankCode || old.AmountRial != rec.AmountRial {
			return api.Liquidity{}, api.Errorf(api.CodeConflict, "reference %q was used for %d rial to %s", req.Reference, old.AmountRial, old.BankCode).WithField("reference")
		}
		return b.liquidityAnswer(ctx, old, o.Status)
	}
	chain := s.world.liquidityChain(req.BankCode, req.AmountRial, id, req.Reference)
	ev := notification(req.BankCode, "settlement.liquidity", s.clk.Now(), rec, req.Reference)
	sub := postgres.Submission{Transfers: chain,
		Events: []postgres.Event{{Transfer: id, Topic: ev.Topic, Key: ev.Key, Type: ev.Type, Payload: ev.Payload}},
		Rows:   []postgres.Row{{Transfer: id, Kind: kindLiquidity, ID: req.Reference, Status: "applied", Body: mustJSON(rec)}}}
	res, err := s.store.Submit(ctx, sub)
	if err != nil {
		return api.Liquidity{}, storeErr(err)
	}
	s.relay.Notify()
	s.deliver.Kick()
	if req.AmountRial > 0 && (res[0] == ledger.OK) {
		// Liquidity in: the bank's queued SATNA orders may settle now.
		if err := s.satna.release(ctx); err != nil {
			s.log.Warn("server: satna release after liquidity", "bank", req.BankCode, "err", err)
		}
	}
	why := res[0] // the chain's own code: the member that failed, not linked_event_failed
	for _, r := range res {
		if r != ledger.LinkedEventFailed {
			why = r
			break
		}
	}
	switch why {
	case ledger.OK, ledger.Exists:
		return b.liquidityAnswer(ctx, rec, "applied")
	case ledger.ExistsWithDifferentFields:
		// Another request with this reference and other figures got there first (two at once, both past the
		// look-up above): it is that one's record, and this one conflicts with it.
		return api.Liquidity{}, api.Errorf(api.CodeConflict, "reference %q was used for another request", req.Reference).WithField("reference")
	}
	// A decision that depends on state: a stored object with status rejected, answered again on a repeat.
	rec.Code = why.String()
	if why == ledger.ExceedsBalance {
		rec.Code = api.CodeInsufficientFunds
	}
	if err := postgres.Notice(ctx, s.pool, s.clk.Now(), []postgres.Row{{Kind: kindLiquidity, ID: req.Reference, Status: "rejected", Body: mustJSON(rec)}}, nil); err != nil {
		return api.Liquidity{}, err
	}
	return b.liquidityAnswer(ctx, rec, "rejected")
}

func (b backend) liquidityAnswer(ctx context.Context, rec liquidityRecord, status string) (api.Liquidity, error) {
	a, _, err := b.s.store.Account(ctx, AccountID(ledger.LedgerCBI, KeySettlement(rec.BankCode)))
	return api.Liquidity{ID: rec.ID, BankCode: rec.BankCode, AmountRial: rec.AmountRial, Reference: rec.Reference, Status: status,
		Code: rec.Code, BalanceRial: a.Balance()}, err
}

func (b backend) member(code string) error {
	if !b.s.world.active(code) {
		if x, ok := b.s.world.registry().ByCode(code); ok {
			return api.Errorf(api.CodeBankInactive, "%s is %s: only member banks can be suspended or simulated", x.Label(), x.Status)
		}
		return api.Errorf(api.CodeNotFound, "no bank has code %s", code)
	}
	return nil
}

func (b backend) SetSuspended(ctx context.Context, code string, suspended bool) (api.Bank, error) {
	if err := b.member(code); err != nil {
		return api.Bank{}, err
	}
	typ := map[bool]string{true: "bank.suspended", false: "bank.resumed"}[suspended]
	if err := b.s.world.update(ctx, code, typ, func(st *bankState) error {
		st.Suspended = suspended
		return nil
	}); err != nil {
		return api.Bank{}, err
	}
	return b.Bank(ctx, code)
}

func (b backend) SetSimulation(ctx context.Context, code string, x api.Simulation) (api.Bank, error) {
	if err := b.member(code); err != nil {
		return api.Bank{}, err
	}
	if x.Mode != "simulated" && x.Mode != "external" {
		return api.Bank{}, api.FieldErrorf("mode", "must be simulated or external")
	}
	if err := (sim.Behaviour{Online: x.Online, LatencyMS: x.LatencyMS, FailureRate: x.FailureRate}).Validate(); err != nil {
		return api.Bank{}, api.FieldErrorf("latency_ms", "%v", err)
	}
	w := b.s.world
	if err := w.update(ctx, code, "bank.simulation", func(st *bankState) error {
		st.Simulation, st.Mode = x, x.Mode
		return nil
	}); err != nil {
		return api.Bank{}, err
	}
	if x.Mode == "simulated" {
		// A bank played as external until now gets its book (once), and its mirror catches up with the
		// settlement account, which moved without it.
		if err := w.layOutBook(ctx, code); err != nil {
			return api.Bank{}, err
		}
		if err := w.resync(ctx, code); err != nil {
			return api.Bank{}, storeErr(err)
		}
	}
	return b.Bank(ctx, code)
}

// nameOf names an account of ledger 1 for statements.
func (w *world) nameOf(id ledger.ID) string { return w.names[id] }

// nameAccounts names ledger 1's accounts once (deriving an account's id hashes its key: a statement line
// must not derive one per member).
func (w *world) nameAccounts() {
	w.names = map[ledger.ID]string{AccountID(ledger.LedgerCBI, KeyIssuance): "CBI issuance"}
	for _, c := range w.members {
		x, _ := w.base.ByCode(c)
		w.names[AccountID(ledger.LedgerCBI, KeySettlement(c))] = x.Label()
	}
	for _, r := range clearingRails {
		w.names[AccountID(ledger.LedgerCBI, KeyNet(r))] = "CBI " + r + " net settlement"
	}
}

// customersOf answers a book's generated customers, generating them once.
func (w *world) customersOf(code string) ([]sim.Customer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.customers[code]; ok {
		return c, nil
	}
	rec, ok := w.books[code]
	if !ok {
		return nil, errNoBook
	}
	x, _ := w.atStart.ByCode(code)
	c, err := sim.Book(x, w.bookConfig(rec))
	if err != nil {
		return nil, err
	}
	w.customers[code] = c
	return c, nil
}

// update changes a bank's state, persists it and tells the bank, in one transaction.
func (w *world) update(ctx context.Context, code, typ string, f func(*bankState) error) error {
	w.updateMu.Lock()
	defer w.updateMu.Unlock()
	st := w.stateOf(code)
	if err := f(&st); err != nil {
		return err
	}
	st.Version++
	now := w.s.clk.Now()
	ev := notification(code, typ, now, st, strconv.FormatInt(st.Version, 10))
	if err := postgres.Notice(ctx, w.s.pool, now, []postgres.Row{stateRow(code, st)}, []outbox.Event{ev}); err != nil {
		return err
	}
	w.mu.Lock()
	w.state[code] = st
	w.stateVersion++
	w.mu.Unlock()
	w.s.deliver.Kick()
	return nil
}

var _ api.SATNABackend = backend{}

func (b backend) SubmitOrder(ctx context.Context, bank string, req api.SATNAOrderRequest) (api.SATNAOrder, bool, error) {
	return b.s.satna.SubmitOrder(ctx, bank, req)
}

func (b backend) SATNAOrder(ctx context.Context, bank, id string) (api.SATNAOrder, error) {
	return b.s.satna.SATNAOrder(ctx, bank, id)
}

func (b backend) SATNAOrders(ctx context.Context, bank, status, direction, cursor string, limit int) (api.SATNAOrderPage, error) {
	return b.s.satna.SATNAOrders(ctx, bank, status, direction, cursor, limit)
}

func (b backend) RevokeOrder(ctx context.Context, bank, id string) (api.SATNAOrder, error) {
	return b.s.satna.RevokeOrder(ctx, bank, id)
}

func (b backend) SATNAQueue(ctx context.Context) ([]api.SATNAOrder, error) {
	return b.s.satna.SATNAQueue(ctx)
}

func (b backend) CreditOrder(ctx context.Context, bank, id string) (api.SATNAOrder, error) {
	return b.s.satna.CreditOrder(ctx, bank, id)
}

func (b backend) ReturnOrder(ctx context.Context, bank, id, reason string) (api.SATNAOrder, error) {
	return b.s.satna.ReturnOrder(ctx, bank, id, reason)
}

func (b backend) SATNAPositions(ctx context.Context, date string) (api.SATNAPositions, error) {
	return b.s.satna.Positions(ctx, date)
}

func (b backend) Statement(ctx context.Context, bank, date string) (api.Statement, error) {
	return b.s.satna.Statement(ctx, bank, date)
}
