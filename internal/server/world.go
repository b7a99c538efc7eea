package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/sim"
)

const (
	customersDefault = sim.CustomersDefault
	// setupChunk is how many customers one submission opens: 1,000 transfers and up to 3,000 rows, well
	// inside postgres.RequestTransfersMax and RowsPerRequestMax.
	setupChunk = 1000
	kindBank   = "switch.bank"   // one row per member bank: suspension and simulation
	kindBook   = "switch.book"   // one row per laid-out book: its seed and size
	kindSecret = "switch.secret" // the server's keys that must outlive a process
	kindDay    = "switch.day"    // a business day's opening and closing
)

// bankState is what the operator set for a bank, persisted as its switch.bank row.
type bankState struct {
	Version    int64          `json:"version"` // counts the operator's changes: each change's notification has its own id
	Suspended  bool           `json:"suspended"`
	Simulation api.Simulation `json:"simulation"`
	Mode       string         `json:"mode"` // copy of Simulation.Mode at top level, for the audit's SQL
}

// bookRecord is a laid-out book's switch.book row.
type bookRecord struct {
	Seed      uint64 `json:"seed"`
	Customers int    `json:"customers"`
}

// world is the switch's state beyond the ledger: the registry, each member bank's state, the books.
type world struct {
	s       *Server
	base    *banks.Registry
	atStart *banks.Registry // the registry on the clock's date at start: the members' banks as their books know them
	members []string        // member banks at start: an active bank (not the CBI) on the clock's date then

	updateMu  sync.Mutex // one change of a bank's state at a time, from reading it to storing it
	mu        sync.Mutex
	state     map[string]bankState
	books     map[string]bookRecord
	customers map[string][]sim.Customer // generated once per bank, for the directory
	names     map[ledger.ID]string      // ledger 1's accounts by id, for statements
	cardKey   []byte

	stateVersion uint64          // counts changes of state, so the cached registry knows it is stale
	regCache     *banks.Registry // the registry of regDay at regVersion
	regDay       string
	regVersion   uint64
}

func openWorld(ctx context.Context, s *Server) (*world, error) {
	w := &world{s: s, base: banks.Default(), state: map[string]bankState{}, books: map[string]bookRecord{},
		customers: map[string][]sim.Customer{}}
	today := tehranDay(s.clk.Now())
	w.atStart = w.base.AsOf(today)
	for _, b := range w.atStart.All() {
		if b.Status == banks.StatusActive {
			w.members = append(w.members, b.Code)
		}
	}
	for _, c := range s.cfg.External {
		if !slices.Contains(w.members, c) {
			return nil, fmt.Errorf("server: --external %s: not a member bank on %s", c, today)
		}
	}
	if err := w.loadState(ctx); err != nil {
		return nil, err
	}
	if err := w.loadKey(ctx); err != nil {
		return nil, err
	}
	w.nameAccounts()
	if err := w.layOutCBI(ctx); err != nil {
		return nil, err
	}
	for _, code := range w.members {
		st := w.stateOf(code)
		if st.Simulation.Mode == "simulated" {
			if err := w.layOutBook(ctx, code); err != nil {
				return nil, err
			}
		}
		if err := w.fund(ctx, code); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// memberCodes are the banks that get keys.
func (w *world) memberCodes() []string { return slices.Clone(w.members) }

func (w *world) isMember(code string) bool { return slices.Contains(w.members, code) }

// active reports whether a member bank may act on the clock's date: active or suspended, not merged or
// dissolved since (a suspended bank is still a member that the operator may resume).
func (w *world) active(code string) bool {
	if !w.isMember(code) {
		return false
	}
	b, ok := w.registry().ByCode(code)
	return ok && (b.Status == banks.StatusActive || b.Status == banks.StatusSuspended)
}

// loadState reads the switch.bank rows; a member without one gets the default (simulated, online) or external
// when --external names it, and the row is written, so the choice outlives the flag.
func (w *world) loadState(ctx context.Context) error {
	rows, err := postgres.RailObjects(ctx, w.s.pool, kindBank, "", postgres.RailObjectsMax)
	if err != nil {
		return err
	}
	for _, r := range rows {
		var st bankState
		if err := json.Unmarshal(r.Body, &st); err != nil {
			return fmt.Errorf("server: bank %s state: %w", r.ID, err)
		}
		w.state[r.ID] = st
		// A bank stays a member once it was one: a bank dissolved since keeps its key, its settlement account
		// and its book (its balance is not stranded by a restart), though it may no longer act (active).
		if !slices.Contains(w.members, r.ID) {
			w.members = append(w.members, r.ID)
		}
	}
	slices.Sort(w.members)
	var fresh []postgres.Row
	for _, code := range w.members {
		if _, ok := w.state[code]; ok {
			continue
		}
		st := bankState{Simulation: api.Simulation{Mode: "simulated", Online: true}}
		if slices.Contains(w.s.cfg.External, code) {
			st.Simulation = api.Simulation{Mode: "external", Online: true}
		}
		st.Mode = st.Simulation.Mode
		w.state[code] = st
		fresh = append(fresh, stateRow(code, st))
	}
	if len(fresh) == 0 {
		return nil
	}
	return postgres.Notice(ctx, w.s.pool, w.s.clk.Now(), fresh, nil)
}

func stateRow(code string, st bankState) postgres.Row {
	body, _ := json.Marshal(st)
	status := "active"
	if st.Suspended {
		status = "suspended"
	}
	return postgres.Row{Kind: kindBank, ID: code, Status: status, Body: body}
}

func (w *world) stateOf(code string) bankState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[code]
}

// loadKey reads the server's card key (HMAC-SHA256 of CVV2s and second PINs), creating it on first start. It
// lives in the database with the books it protects, so a restart checks against the same hashes.
func (w *world) loadKey(ctx context.Context) error {
	o, ok, err := w.s.store.RailObject(ctx, kindSecret, "card-hmac")
	if err != nil {
		return err
	}
	var body struct {
		Key string `json:"key"`
	}
	if ok {
		if err := json.Unmarshal(o.Body, &body); err != nil {
			return fmt.Errorf("server: card key: %w", err)
		}
		w.cardKey, err = hex.DecodeString(body.Key)
		return err
	}
	w.cardKey = make([]byte, 32)
	if _, err := rand.Read(w.cardKey); err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]string{"key": hex.EncodeToString(w.cardKey)})
	return postgres.Notice(ctx, w.s.pool, w.s.clk.Now(), []postgres.Row{{Kind: kindSecret, ID: "card-hmac", Status: "active", Body: b}}, nil)
}

// registry is the registry as of the clock's date, with the operator's suspensions. It is built once per
// date and state (a rebuild indexes every bank; an order asks for it several times).
func (w *world) registry() *banks.Registry {
	day := tehranDay(w.s.clk.Now())
	w.mu.Lock()
	if w.regCache != nil && w.regDay == day && w.regVersion == w.stateVersion {
		r := w.regCache
		w.mu.Unlock()
		return r
	}
	version := w.stateVersion
	w.mu.Unlock()
	r := w.base.AsOf(day)
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() {
		if version == w.stateVersion {
			w.regCache, w.regDay, w.regVersion = r, day, version
		}
	}()
	for code, st := range w.state {
		if st.Suspended {
			if b, ok := r.ByCode(code); ok && b.Status == banks.StatusActive {
				r, _ = r.WithStatus(code, banks.StatusSuspended)
			}
		}
	}
	return r
}

func createAll(ctx context.Context, s *Server, accts []ledger.Account) error {
	for len(accts) > 0 {
		n := min(len(accts), postgres.RequestTransfersMax)
		res, err := s.store.CreateAccounts(ctx, accts[:n])
		if err != nil {
			return err
		}
		for i, r := range res {
			if r != ledger.AccountOK && r != ledger.AccountExists {
				return fmt.Errorf("server: account %s: %v", accts[i].Name, r)
			}
		}
		accts = accts[n:]
	}
	return nil
}

// transitAccount is a ledger's transit account for large offsetting sets (satna_offset.go): either sign
// while a set completes, zero once it has.
func transitAccount(l ledger.LedgerID, owner string) ledger.Account {
	return account(l, KeySATNAOffset, ledger.KindSuspense, ledger.FlagNegativeAllowed, owner+" SATNA offsetting transit")
}

func account(l ledger.LedgerID, key string, kind ledger.AccountKind, flags ledger.AccountFlags, name string) ledger.Account {
	return ledger.Account{ID: AccountID(l, key), Ledger: l, Kind: kind, Flags: flags, Name: name, ExternalKey: key}
}

// layOutCBI opens ledger 1: the issuance and fee accounts and every member's settlement account (floor 0).
func (w *world) layOutCBI(ctx context.Context) error {
	accts := []ledger.Account{
		account(ledger.LedgerCBI, KeyIssuance, ledger.KindIssuance, ledger.FlagNegativeAllowed, "CBI issuance"),
		account(ledger.LedgerCBI, KeyCBIFee, ledger.KindFee, 0, "CBI fees"),
		transitAccount(ledger.LedgerCBI, "CBI"),
	}
	for _, code := range w.members {
		b, _ := w.atStart.ByCode(code)
		accts = append(accts, account(ledger.LedgerCBI, KeySettlement(code), ledger.KindSettlement, 0, code+" "+b.NameEN+" settlement"))
	}
	for _, r := range clearingRails { // money in transit inside one net settlement's chain (netsettle.go)
		accts = append(accts, account(ledger.LedgerCBI, KeyNet(r), ledger.KindSuspense, 0, "CBI "+r+" net settlement"))
	}
	return createAll(ctx, w.s, accts)
}

// fund gives a member its opening settlement balance once, by recorded issuance; a simulated bank's mirror
// moves in the same chain. The transfer ids are derived, so a restart repeats nothing.
func (w *world) fund(ctx context.Context, code string) error {
	amount := w.s.cfg.FundingRial
	if amount == 0 {
		return nil
	}
	id := ledger.ID(derivedTransfer("funding", code))
	// Funded before: the chain's shape depends on the bank's mode then (a mirror leg when simulated), so it is
	// looked up, never re-sent; a later mode change is the resync's business, and another --funding keeps the
	// first (as a book keeps its first seed).
	if t, ok, err := w.s.store.Transfer(ctx, id); err != nil {
		return err
	} else if ok {
		if t.Amount != amount {
			w.s.log.Warn("server: the bank was funded with another amount; it is kept", "bank", code, "amount_rial", t.Amount)
		}
		return nil
	}
	chain := w.liquidityChain(code, amount, id, "opening funding")
	res, err := w.s.store.Submit(ctx, postgres.Submission{Transfers: chain})
	if err != nil {
		return err
	}
	for _, r := range res {
		if r != ledger.OK && r != ledger.Exists {
			return fmt.Errorf("server: funding %s: %v", code, r)
		}
	}
	return nil
}

// liquidityChain moves amount (negative: back to the CBI) between the issuance account and a bank's
// settlement account, with its book's mirror following when the bank has a live book.
func (w *world) liquidityChain(code string, amount int64, id ledger.ID, ref string) []ledger.Transfer {
	issuance, settle := AccountID(ledger.LedgerCBI, KeyIssuance), AccountID(ledger.LedgerCBI, KeySettlement(code))
	book := BookLedger(code)
	mirror, equity := AccountID(book, KeyMirror), AccountID(book, KeyEquity)
	tcode := CodeIssuance
	if amount < 0 {
		tcode, amount = CodeWithdrawal, -amount
		issuance, settle = settle, issuance // debit the bank, credit the CBI
		mirror, equity = equity, mirror
	}
	t := []ledger.Transfer{{ID: id, DebitAccountID: issuance, CreditAccountID: settle, Amount: amount, Ledger: ledger.LedgerCBI,
		Code: tcode, Reference: ref}}
	if w.live(code) {
		t[0].Flags = ledger.FlagLinked
		t = append(t, ledger.Transfer{ID: ledger.ID(deriveFrom(id, "mirror")), DebitAccountID: mirror, CreditAccountID: equity,
			Amount: amount, Ledger: book, Code: tcode, Reference: ref})
	}
	return t
}

// live reports whether a bank's book follows its settlement account: simulated, with a book laid out.
func (w *world) live(code string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, book := w.books[code]
	return book && w.state[code].Simulation.Mode == "simulated"
}

func deriveFrom(id ledger.ID, part string) [16]byte { return derivedTransfer(string(id[:]), part) }

// bookConfig is the generator's configuration for a bank's book.
func (w *world) bookConfig(rec bookRecord) sim.Config {
	return sim.Config{Seed: rec.Seed, Customers: rec.Customers, Key: w.cardKey}
}

// layOutBook opens a simulated bank's customer book once: its own accounts, its customers with their opening
// balances, and their cards (only keyed hashes of the secrets). A crash part way redoes it, repeating nothing
// (derived ids); the switch.book row, written last, says it is done.
func (w *world) layOutBook(ctx context.Context, code string) error {
	o, done, err := w.s.store.RailObject(ctx, kindBook, code)
	if err != nil {
		return err
	}
	rec := bookRecord{Seed: w.s.cfg.Seed, Customers: w.s.cfg.Customers}
	if done {
		if err := json.Unmarshal(o.Body, &rec); err != nil {
			return fmt.Errorf("server: book %s: %w", code, err)
		}
	}
	if done && o.Status == "laying_out" {
		// A crash part way: finish the book with the seed and size it was started with.
		done = false
	} else if !done {
		if err := postgres.Notice(ctx, w.s.pool, w.s.clk.Now(), []postgres.Row{{Kind: kindBook, ID: code, Status: "laying_out", Body: mustJSON(rec)}}, nil); err != nil {
			return err
		}
	}
	if done {
		if rec.Seed != w.s.cfg.Seed || rec.Customers != w.s.cfg.Customers {
			w.s.log.Warn("server: the book was laid out with another seed or size; it is kept as it is",
				"bank", code, "seed", rec.Seed, "customers", rec.Customers)
		}
		// Accounts added to the layout since the book was laid out (a repeat answers exists): at every start
		// of a simulated bank, and when a bank external until now is simulated again.
		if err := createAll(ctx, w.s, []ledger.Account{transitAccount(BookLedger(code), code)}); err != nil {
			return err
		}
		w.mu.Lock()
		w.books[code] = rec
		w.mu.Unlock()
		return nil
	}
	bank, _ := w.atStart.ByCode(code)
	custs, err := sim.Book(bank, w.bookConfig(rec))
	if err != nil {
		return err
	}
	l := BookLedger(code)
	accts := []ledger.Account{
		account(l, KeyMirror, ledger.KindMirror, ledger.FlagNegativeAllowed, code+" mirror of its CBI settlement account"),
		account(l, KeyEquity, ledger.KindEquity, ledger.FlagNegativeAllowed, code+" equity"),
		account(l, KeyFee, ledger.KindFee, 0, code+" fee income"),
		account(l, KeySuspense, ledger.KindSuspense, 0, code+" suspense"),
		transitAccount(l, code),
	}
	for _, r := range clearingRails {
		accts = append(accts, account(l, KeyClearing(r), ledger.KindClearing, ledger.FlagNegativeAllowed, code+" "+r+" clearing"))
	}
	for _, c := range custs {
		accts = append(accts, account(l, c.SHEBA, ledger.KindCustomer, 0, c.Name))
	}
	if err := createAll(ctx, w.s, accts); err != nil {
		return err
	}
	for start := 0; start < len(custs); start += setupChunk {
		if err := w.openCustomers(ctx, code, custs[start:min(start+setupChunk, len(custs))]); err != nil {
			return err
		}
	}
	for _, c := range custs {
		var f ledger.AccountFlags
		switch c.Status {
		case sim.AccountBlocked:
			f = ledger.FlagBlocked
		case sim.AccountClosed:
			f = ledger.FlagClosed
		default:
			continue
		}
		if err := w.s.store.SetAccountFlags(ctx, AccountID(l, c.SHEBA), f); err != nil {
			return err
		}
	}
	// The mirror starts equal to the settlement account: at first start that is zero (funding follows, with
	// the mirror in its chain); a bank played as external until now has a balance to catch up with.
	w.mu.Lock()
	w.books[code] = rec
	w.customers[code] = custs
	w.mu.Unlock()
	if err := w.resync(ctx, code); err != nil {
		return err
	}
	body, _ := json.Marshal(rec)
	return postgres.Notice(ctx, w.s.pool, w.s.clk.Now(), []postgres.Row{{Kind: kindBook, ID: code, Status: "open", Body: body}}, nil)
}

// customerRow and cardRow are what a book keeps of a customer and a card, for the rails to read.
type customerRow struct {
	Bank      string   `json:"bank"`
	Name      string   `json:"name"`
	AccountID string   `json:"account_id"`
	Magic     string   `json:"magic,omitempty"`
	Cards     []string `json:"cards"`
}

type cardRow struct {
	Bank     string `json:"bank"`
	SHEBA    string `json:"sheba"`
	Name     string `json:"name"`
	Expiry   string `json:"expiry"`
	CVV2HMAC string `json:"cvv2_hmac"`
	PIN2HMAC string `json:"pin2_hmac"`
	Magic    string `json:"magic,omitempty"`
}

func (w *world) openCustomers(ctx context.Context, code string, custs []sim.Customer) error {
	l := BookLedger(code)
	equity := AccountID(l, KeyEquity)
	var sub postgres.Submission
	for _, c := range custs {
		acct := AccountID(l, c.SHEBA)
		if c.OpeningRial > 0 {
			sub.Transfers = append(sub.Transfers, ledger.Transfer{ID: derivedTransfer("opening", code, c.SHEBA),
				DebitAccountID: equity, CreditAccountID: acct, Amount: c.OpeningRial, Ledger: l, Code: CodeOpening, Reference: "opening balance"})
		}
		row := customerRow{Bank: code, Name: c.Name, AccountID: acct.String(), Magic: c.Magic, Cards: []string{}}
		for _, k := range c.Cards {
			row.Cards = append(row.Cards, k.PAN)
			sec := k.Secrets(w.cardKey)
			body, _ := json.Marshal(cardRow{Bank: code, SHEBA: c.SHEBA, Name: c.Name, Expiry: k.Expiry,
				CVV2HMAC: sec.CVV2HMAC, PIN2HMAC: sec.PIN2HMAC, Magic: k.Magic})
			sub.Rows = append(sub.Rows, postgres.Row{Kind: "sim.card", ID: k.PAN, Status: string(k.Status), Body: body})
		}
		body, _ := json.Marshal(row)
		sub.Rows = append(sub.Rows, postgres.Row{Kind: "sim.customer", ID: c.SHEBA, Status: string(c.Status), Body: body})
	}
	res, err := w.s.store.Submit(ctx, sub)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r != ledger.OK && r != ledger.Exists {
			return fmt.Errorf("server: opening %s: %v", sub.Transfers[i].Reference, r)
		}
	}
	return nil
}

// errNoBook is a resync of a bank without a book.
var errNoBook = errors.New("server: the bank has no book")

// resync brings a book's mirror to its settlement account's posted balance, and its clearing accounts to its
// positions (clearing.go), as one decision on stable balances (nothing moves the accounts, or the positions,
// between the reading and the transfers).
func (w *world) resync(ctx context.Context, code string) error {
	settleID, mirrorID, equityID := AccountID(ledger.LedgerCBI, KeySettlement(code)), AccountID(BookLedger(code), KeyMirror), AccountID(BookLedger(code), KeyEquity)
	return w.s.clearing.decide(ctx, func(x *postgres.Decision) error {
		settle, ok1 := x.Account(settleID)
		mirror, ok2 := x.Account(mirrorID)
		if !ok1 || !ok2 {
			return errNoBook
		}
		if diff := settle.Balance() - (mirror.DebitsPosted - mirror.CreditsPosted); diff != 0 {
			t := ledger.Transfer{ID: ledger.ID(w.s.ids.New()), DebitAccountID: mirrorID, CreditAccountID: equityID, Amount: diff,
				Ledger: BookLedger(code), Code: CodeResync, Reference: "mirror resync"}
			if diff < 0 {
				t.DebitAccountID, t.CreditAccountID, t.Amount = equityID, mirrorID, -diff
			}
			res, ok, err := x.Propose(postgres.Submission{Transfers: []ledger.Transfer{t}})
			if err != nil || !ok {
				return fmt.Errorf("server: mirror resync of %s: %v %v", code, res, err)
			}
		}
		return w.s.clearing.resyncIn(x, code)
	})
}

// notify builds a notification for a bank, with an id derived from what it reports, so that telling it again
// (a job run again after a crash) is skipped.
func notification(bank, typ string, at time.Time, data any, idParts ...string) outbox.Event {
	var payload []byte
	if raw, ok := data.(json.RawMessage); ok {
		payload = raw // already marshalled (shared by the notifications of one change): as is, not compacted again
	} else {
		payload, _ = json.Marshal(data)
	}
	id := derivedTransfer(append([]string{"notification", bank, typ}, idParts...)...)
	return outbox.Event{ID: ledger.ID(id).String(), Topic: TopicNotifications, Key: bank, Type: typ, Payload: payload, CreatedAt: at}
}
