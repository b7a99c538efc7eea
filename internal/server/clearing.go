package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rtgs"
)

// The switch's clearing positions (ARCHITECTURE.md "Books"). The deferred rails — PAYA and the card switch —
// move their customers' money at once through a clearing account per rail in each simulated book, and the
// switch keeps each bank's unsettled net per rail, its position: positive when the bank owes (its customers
// paid in), negative when it is owed (its customers were paid out). Only a net settlement (netsettle.go)
// moves the CBI's settlement accounts and the mirrors, and it moves each settled bank's position by −net.
//
// The audit checks the stored rows ('clearing.position', '<rail>:<code>', body net_rial) against the books: a
// live book's clearing account (credits less debits) equals its bank's position, and a rail's positions sum
// to zero. So the positions change only inside writer decisions, each change written as its row in the same
// batch as the money, and every move balances on its own: what one bank takes in, others pay out in the same
// move. An external bank (under test) has no live book: its customers' side is outside tasvieh, and only its
// position moves.

const kindPosition = "clearing.position"

// clearingLegsMax bounds the customer legs of one move: one transfer each, inside one request of the store.
const clearingLegsMax = postgres.RequestTransfersMax

// positionKey names a position: a deferred rail and a bank.
type positionKey struct{ rail, bank string }

func (k positionKey) id() string { return k.rail + ":" + k.bank }

// positionRecord is a position's row.
type positionRecord struct {
	Rail    string `json:"rail"`
	Bank    string `json:"bank"`
	NetRial int64  `json:"net_rial"`
	// PendingRial is what the bank's clearing account is still to move for legs not yet booked in its book:
	// PAYA records an obligation (the nets) when it accepts an entry, but each side's customer leg may come
	// later — the payee credited at delivery, a debit's payer debited when its bank posts it. A leg still to
	// come adds −amount for a payer (its clearing account will be credited) and +amount for a payee. So a
	// live book's clearing account holds NetRial + PendingRial; for an external bank it stays zero (the
	// switch counts an external bank's leg booked when it hands the entry over).
	PendingRial int64 `json:"pending_rial,omitempty"`
}

// clearing holds the positions in memory: loaded from their rows at start, changed only inside writer
// decisions (through clearingMove), and rebuilt from the rows after any decision that fails or may not have
// committed — memory never runs ahead of the database, and is never rolled back by hand.
type clearing struct {
	s  *Server
	mu sync.Mutex // held across every decision that may move a position, and its reload
	// pos are the positions as of the last committed decision (while mu is free), or as decided so far
	// (inside a decision).
	pos map[positionKey]int64
	// pending are the legs still to be booked, per bank (positionRecord.PendingRial), in the same way.
	pending map[positionKey]int64
	// later are the notifications of moves that applied with no transfer to tie them to (every bank in the
	// move external): written once the decision commits.
	later []outbox.Event
}

func newClearing(ctx context.Context, s *Server) (*clearing, error) {
	c := &clearing{s: s}
	return c, c.reload(ctx)
}

// reload rebuilds the positions from their rows.
func (c *clearing) reload(ctx context.Context) error {
	pos, pending := map[positionKey]int64{}, map[positionKey]int64{}
	err := eachRailRow(ctx, c.s.pool, kindPosition, nil, func(row postgres.RailObject) error {
		var rec positionRecord
		if err := json.Unmarshal(row.Body, &rec); err != nil {
			return fmt.Errorf("server: %s %s: %w", row.Kind, row.ID, err)
		}
		k := positionKey{rec.Rail, rec.Bank}
		if k.id() != row.ID {
			return fmt.Errorf("server: %s %s: its body names %s", row.Kind, row.ID, k.id())
		}
		pos[k], pending[k] = rec.NetRial, rec.PendingRial
		return nil
	})
	if err != nil {
		return err
	}
	c.pos, c.pending = pos, pending
	return nil
}

// eachRailRow calls f for every rail row of kind with one of statuses (all when none), paging by id.
func eachRailRow(ctx context.Context, pool *pgxpool.Pool, kind string, statuses []string, f func(postgres.RailObject) error) error {
	for after := ""; ; {
		rows, err := postgres.RailObjectsWhere(ctx, pool, kind, "", nil, statuses, after, postgres.RailObjectsMax)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := f(row); err != nil {
				return err
			}
		}
		if len(rows) < postgres.RailObjectsMax {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// decide runs f as a decision of the writer, holding the positions for it. When the decision fails, or f
// answers an error (what f proposed before it may have committed), the positions are rebuilt from the rows.
// f must not call decide again (the mutex is not reentrant), nor SettleNets.
func (c *clearing) decide(ctx context.Context, f func(x *postgres.Decision) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.later = nil
	var derr error
	err := c.s.store.Decide(ctx, func(x *postgres.Decision) { derr = f(x) })
	if err == nil && len(c.later) > 0 {
		// The moves are committed; their notifications follow (ids derived, so a repeat is skipped).
		if nerr := postgres.Notice(ctx, c.s.pool, c.s.clk.Now(), nil, c.later); nerr != nil {
			c.s.log.Warn("server: clearing: notifications after a decision", "err", nerr)
		}
	}
	c.later = nil
	if err == nil && derr == nil {
		return nil
	}
	if rerr := c.reload(context.WithoutCancel(ctx)); rerr != nil {
		c.s.log.Error("server: clearing: reloading the positions after a failed decision", "err", rerr)
	}
	if err != nil {
		return storeErr(err)
	}
	return derr
}

// position is a bank's position on rail: inside a decision, or under mu.
func (c *clearing) position(rail, bank string) int64 { return c.pos[positionKey{rail, bank}] }

// pendingOf is a bank's legs still to book on rail (positionRecord.PendingRial): inside a decision, or under mu.
func (c *clearing) pendingOf(rail, bank string) int64 { return c.pending[positionKey{rail, bank}] }

// isClearingRail reports whether rail has clearing accounts in the books.
func isClearingRail(rail string) bool { return slices.Contains(clearingRails, rail) }

// clearingLeg is what a rail says about one customer leg's transfer.
type clearingLeg struct {
	// ID is the transfer's id, derived from the rail's own object (an entry, a card transfer), so that a
	// repeat is the ledger's to answer. Needed when the bank is simulated; unused when external.
	ID ledger.ID
	// Code is the rail's transfer code, inside its range (railCodes: PAYA 200–299, SHAHAB 300–399).
	Code      uint16
	UserData  ledger.ID // the rail's object, for the ledger's record; zero for none
	Reference string    // at most ledger.ReferenceLenMax bytes
}

// clearingMove is one balanced movement of a deferred rail's customers' money, built inside a decision and
// proposed at once: its customer legs, what each bank's position moves, and anything the rail adds to Sub
// (its own transfers, rows tied to them, events). All of it applies, or none.
type clearingMove struct {
	c *clearing
	// Sub is the move's submission so far; a rail may add its own transfers, rows and events (tied to its
	// transfers), which apply with the move. Position rows are added by propose.
	Sub    postgres.Submission
	delta  map[positionKey]int64
	pdelta map[positionKey]int64 // pending legs' changes (obligeIn, legDueIn)
	notes  []outbox.Event
	legs   int
}

// move starts a move. Only inside clearing.decide.
func (c *clearing) move() *clearingMove {
	return &clearingMove{c: c, delta: map[positionKey]int64{}, pdelta: map[positionKey]int64{}}
}

// intakeIn adds an originating bank's customer paying into rail: a simulated bank debits its customer's
// account from (in its own book) and credits its clearing account for rail; an external bank's customer is
// outside tasvieh, so no book moves. Either way the bank's position rises by amount: it owes.
func (m *clearingMove) intakeIn(x *postgres.Decision, rail, bank string, from ledger.ID, amount int64, leg clearingLeg) error {
	return m.legIn(x, rail, bank, from, amount, leg, true)
}

// deliverIn adds a receiving bank crediting its customer over rail: a simulated bank debits its clearing
// account for rail and credits its customer's account to (in its own book) — or its suspense, when the rail
// cannot credit the customer; an external bank is told by the rail and credits its customer itself. Either
// way the bank's position falls by amount: it is owed.
func (m *clearingMove) deliverIn(x *postgres.Decision, rail, bank string, to ledger.ID, amount int64, leg clearingLeg) error {
	return m.legIn(x, rail, bank, to, amount, leg, false)
}

func (m *clearingMove) legIn(x *postgres.Decision, rail, bank string, customer ledger.ID, amount int64, leg clearingLeg, in bool) error {
	if err := m.bookIn(x, rail, bank, customer, amount, leg, in); err != nil {
		return err
	}
	k, d := positionKey{rail, bank}, amount
	if !in {
		d = -amount
	}
	if n := m.delta[k] + d; n > rtgs.NetTotalRialMax || n < -rtgs.NetTotalRialMax {
		return fmt.Errorf("server: clearing: %s at %s moves more than %d rial in one move", rail, bank, rtgs.NetTotalRialMax)
	}
	m.delta[k] += d
	return nil
}

// obligeIn records that payer's bank owes payee's amount over rail, with neither customer leg booked yet:
// the positions move at once (payer +amount, payee −amount) and each bank's pending legs by the opposite, so
// both clearing accounts still equal net + pending. Each leg follows with legDueIn when it is booked.
func (m *clearingMove) obligeIn(rail, payer, payee string, amount int64) error {
	w := m.c.s.world
	switch {
	case !isClearingRail(rail):
		return fmt.Errorf("server: clearing: no rail %q", rail)
	case !w.isMember(payer) || !w.isMember(payee):
		return fmt.Errorf("server: clearing: %s or %s is not a member bank", payer, payee)
	case amount <= 0 || amount > rtgs.NetTotalRialMax:
		return fmt.Errorf("server: clearing: %s: amount %d rial outside 1..%d", rail, amount, rtgs.NetTotalRialMax)
	}
	m.delta[positionKey{rail, payer}] += amount
	m.delta[positionKey{rail, payee}] -= amount
	m.pdelta[positionKey{rail, payer}] -= amount
	m.pdelta[positionKey{rail, payee}] += amount
	return nil
}

// legDueIn books one leg an obligation left pending: a payer's (pay true: its customer debited into the
// clearing account) or a payee's (its customer credited out of it). customer zero books it without a
// customer — the leg resolved against the clearing account itself (a return funded by the entry it sends
// back, a leg cancelled by a return), or an external bank's, which books its own. The bank's positions do not
// move; its pending legs do.
func (m *clearingMove) legDueIn(x *postgres.Decision, rail, bank string, customer ledger.ID, amount int64, leg clearingLeg, pay bool) error {
	if !customer.IsZero() && m.c.s.world.live(bank) {
		if err := m.bookIn(x, rail, bank, customer, amount, leg, pay); err != nil {
			return err
		}
	} else if amount <= 0 || amount > rtgs.NetTotalRialMax {
		return fmt.Errorf("server: clearing: %s at %s: amount %d rial outside 1..%d", rail, bank, amount, rtgs.NetTotalRialMax)
	}
	k := positionKey{rail, bank}
	if pay {
		m.pdelta[k] += amount
	} else {
		m.pdelta[k] -= amount
	}
	return nil
}

// bookIn checks one customer leg and, for a live bank, adds its transfer (customer → clearing when in, else
// clearing → customer). It moves no position.
func (m *clearingMove) bookIn(x *postgres.Decision, rail, bank string, customer ledger.ID, amount int64, leg clearingLeg, in bool) error {
	w := m.c.s.world
	codes, ok := railCodes[rail]
	switch {
	case !isClearingRail(rail) || !ok:
		return fmt.Errorf("server: clearing: no rail %q", rail)
	case !w.isMember(bank):
		return fmt.Errorf("server: clearing: %s is not a member bank", bank)
	case amount <= 0 || amount > rtgs.NetTotalRialMax:
		return fmt.Errorf("server: clearing: %s at %s: amount %d rial outside 1..%d", rail, bank, amount, rtgs.NetTotalRialMax)
	case leg.Code < codes[0] || leg.Code > codes[1]:
		return fmt.Errorf("server: clearing: %s leg code %d outside the rail's range %d–%d", rail, leg.Code, codes[0], codes[1])
	case m.legs >= clearingLegsMax:
		return fmt.Errorf("server: clearing: more than %d legs in one move", clearingLegsMax)
	}
	if w.live(bank) {
		book := BookLedger(bank)
		a, ok := x.Account(customer)
		switch {
		case !ok || a.Ledger != book:
			return fmt.Errorf("server: clearing: account %s is not in %s's book", customer, bank)
		case a.Kind == ledger.KindMirror || a.Kind == ledger.KindClearing:
			return fmt.Errorf("server: clearing: account %s is the book's %s, not a customer's", customer, a.Kind)
		case leg.ID.IsZero():
			return fmt.Errorf("server: clearing: %s leg at %s without a transfer id", rail, bank)
		}
		clr := AccountID(book, KeyClearing(rail))
		t := ledger.Transfer{ID: leg.ID, DebitAccountID: customer, CreditAccountID: clr, Amount: amount, Ledger: book,
			Code: leg.Code, UserData: leg.UserData, Reference: cutBytes(leg.Reference, ledger.ReferenceLenMax)}
		if !in {
			t.DebitAccountID, t.CreditAccountID = clr, customer
		}
		m.Sub.Transfers = append(m.Sub.Transfers, t)
	}
	m.legs++
	return nil
}

// shiftIn moves a bank's position by d with no customer leg: the net settlement's own part (its legs are
// the settlement accounts and mirrors, in Sub).
func (m *clearingMove) shiftIn(rail, bank string, d int64) { m.delta[positionKey{rail, bank}] += d }

// event adds a notification of the move: tied to its first transfer, or written after the decision commits
// when the move has none (every bank in it external).
func (m *clearingMove) event(e outbox.Event) { m.notes = append(m.notes, e) }

// proposeIn proposes the move: its transfers, the rows of the positions it changes and its events. Only when
// it applies do the positions change in memory. A move whose positions on a rail do not sum to zero is a bug
// in the rail, refused before anything is proposed (the audit would find the rail's nets off zero).
func (m *clearingMove) proposeIn(x *postgres.Decision) ([]ledger.Result, bool, error) {
	keys := make([]positionKey, 0, len(m.delta))
	sums := map[string]int64{}
	for k, d := range m.delta {
		sums[k.rail] += d
		if d != 0 || m.pdelta[k] != 0 {
			keys = append(keys, k)
		}
	}
	for k, d := range m.pdelta {
		if _, seen := m.delta[k]; !seen && d != 0 {
			keys = append(keys, k)
		}
	}
	for rail, sum := range sums {
		if sum != 0 {
			return nil, false, fmt.Errorf("server: clearing: a move on %s leaves its positions %d rial off zero", rail, sum)
		}
	}
	slices.SortFunc(keys, func(a, b positionKey) int { return strings.Compare(a.id(), b.id()) })
	sub := m.Sub
	sub.Rows = slices.Clone(sub.Rows)
	sub.Events = slices.Clone(sub.Events)
	next, nextPending := make(map[positionKey]int64, len(keys)), make(map[positionKey]int64, len(keys))
	for _, k := range keys {
		n, p := m.c.pos[k]+m.delta[k], m.c.pending[k]+m.pdelta[k]
		if n > rtgs.NetTotalRialMax || n < -rtgs.NetTotalRialMax || p > rtgs.NetTotalRialMax || p < -rtgs.NetTotalRialMax {
			return nil, false, fmt.Errorf("server: clearing: %s's position would be %d rial (pending %d), beyond ±%d", k.id(), n, p, rtgs.NetTotalRialMax)
		}
		next[k], nextPending[k] = n, p
		// Untied: written exactly when the submission applies (Propose writes nothing of a refused one).
		sub.Rows = append(sub.Rows, postgres.Row{Kind: kindPosition, ID: k.id(), Status: "open",
			Body: mustJSON(positionRecord{Rail: k.rail, Bank: k.bank, NetRial: n, PendingRial: p})})
	}
	if len(sub.Transfers) > 0 {
		for _, e := range m.notes {
			sub.Events = append(sub.Events, postgres.Event{Transfer: sub.Transfers[0].ID, Topic: e.Topic, Key: e.Key, Type: e.Type, Payload: e.Payload})
		}
	}
	res, ok, err := x.Propose(sub)
	if err != nil || !ok {
		return res, ok, err
	}
	for k, n := range next {
		m.c.pos[k], m.c.pending[k] = n, nextPending[k]
	}
	if len(sub.Transfers) == 0 {
		m.c.later = append(m.c.later, m.notes...)
	}
	return res, true, nil
}

// resyncIn brings a live book's clearing accounts to its bank's positions, against its equity: when a bank
// played as external is simulated again, its positions moved without its book (as its settlement account
// moved without its mirror). Only inside clearing.decide.
func (c *clearing) resyncIn(x *postgres.Decision, code string) error {
	book := BookLedger(code)
	for _, rail := range clearingRails {
		clr, ok := x.Account(AccountID(book, KeyClearing(rail)))
		if !ok {
			return fmt.Errorf("server: clearing: %s's book has no clearing account for %s", code, rail)
		}
		diff := c.position(rail, code) + c.pending[positionKey{rail, code}] - clr.Balance()
		if diff == 0 {
			continue
		}
		t := ledger.Transfer{ID: ledger.ID(c.s.ids.New()), DebitAccountID: AccountID(book, KeyEquity), CreditAccountID: clr.ID,
			Amount: diff, Ledger: book, Code: CodeResync, Reference: "clearing resync " + rail}
		if diff < 0 {
			t.DebitAccountID, t.CreditAccountID, t.Amount = clr.ID, AccountID(book, KeyEquity), -diff
		}
		if res, ok, err := x.Propose(postgres.Submission{Transfers: []ledger.Transfer{t}}); err != nil || !ok {
			return fmt.Errorf("server: clearing resync of %s on %s: %v %v", code, rail, res, err)
		}
	}
	return nil
}

// positions lists the positions, non-zero ones, by rail then bank; rail empty for every rail.
func (c *clearing) positions(rail string) []api.ClearingPosition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []api.ClearingPosition{}
	for k, n := range c.pos {
		if n != 0 && (rail == "" || k.rail == rail) {
			out = append(out, api.ClearingPosition{Rail: k.rail, Bank: k.bank, NetRial: n})
		}
	}
	slices.SortFunc(out, func(a, b api.ClearingPosition) int {
		return strings.Compare(a.Rail+":"+a.Bank, b.Rail+":"+b.Bank)
	})
	return out
}

func (b backend) ClearingPositions(ctx context.Context, rail string) ([]api.ClearingPosition, error) {
	return b.s.clearing.positions(rail), nil
}

func init() {
	codeNames[CodePAYANet] = "paya_net"
	codeNames[CodeCardNet] = "card_net"
}
