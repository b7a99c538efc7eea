package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/clock"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/shahab"
	"github.com/tasvieh/tasvieh/sim"
	"github.com/tasvieh/tasvieh/webhook"
)

// SHAHAB, the card-to-card rail (DOMAIN.md §6, issue 10). A transfer is decided in at most two of the writer's
// decisions, each batched with the other transfers of the moment (the batcher below):
//
//   - authorize: the source card checked in its issuer's book in the documented order (shahab.Check), then
//     on-us, one chain in the bank's book — the source account to the destination's, the fee to the bank —
//     and the transfer is done; interbank, a pending debit of the source account into the issuer's
//     clearing:card for the amount and the fee, the transfer's row stored as pending, its amount counted
//     against the card's daily limit;
//   - the destination's answer — a simulated bank's, by its behaviour and the magic values, or an external
//     bank's to the signed credit request on its webhook, within the rulebook's deadline on the switch's clock;
//   - resolve: credited — the pending debit posted, the fee to the issuer, the destination's clearing:card to
//     its customer, each bank's card position moved (the issuer owes, the destination is owed) and the
//     obligation added to the open settlement window; otherwise voided — the whole amount and the fee back on
//     the source card at once, nothing charged, the daily limit released.
//
// A destination's answer after the void (a slow simulated bank's credit, an external bank's late POST) is
// reversed at the destination — its credit and the reversal in its book, one net effect, the refund — and
// listed in the reconciliation report. The windows' obligations settle through SettleNets (shahab_window.go).
//
// What the rail keeps in memory — each card's use of its daily limit, wrong second PINs, the open window's
// obligations — changes only inside the writer's decisions and is rebuilt from the tables after any decision
// that fails or may not have committed, as the clearing positions are.

// Transfer codes of the card rail (300–399; 399 is the net settlement's, CodeCardNet).
const (
	CodeCardOnUs       uint16 = 300 // on-us: the source account to the destination's, in the bank's book
	CodeCardHold       uint16 = 301 // interbank: the pending debit of the source into the issuer's clearing:card
	CodeCardPost       uint16 = 302 // the pending debit posted: the destination credited
	CodeCardVoid       uint16 = 303 // the pending debit voided: the refund
	CodeCardCredit     uint16 = 304 // the destination's clearing:card to its customer
	CodeCardFee        uint16 = 305 // the fee: the source account (on-us) or the issuer's clearing:card to its fee account
	CodeCardLateCredit uint16 = 306 // a late answer's credit at the destination
	CodeCardReversal   uint16 = 307 // its reversal, ordered by the switch
)

func init() {
	for c, n := range map[uint16]string{CodeCardOnUs: "card_on_us", CodeCardHold: "card_hold", CodeCardPost: "card_post",
		CodeCardVoid: "card_void", CodeCardCredit: "card_credit", CodeCardFee: "card_fee", CodeCardLateCredit: "card_late_credit",
		CodeCardReversal: "card_reversal"} {
		codeNames[c] = n
	}
}

// Limits of the rail.
const (
	// shahabBatchMax bounds the transfers of one decision: at most three transfers each (post, fee, credit),
	// inside postgres.RequestTransfersMax, and a batch's statements inside StatementRowsMax.
	shahabBatchMax = 1000
	// otpsMax bounds the one-time codes held: each lives at most the rulebook's 120 s (at most 600), so a
	// hundred thousand is more than a sandbox's testers ask for in that time; past it, expired ones go first.
	otpsMax = 100_000
	// shahabLateMax bounds the reconciliation report's cases.
	shahabLateMax = 10_000
	// inquiryTimeout bounds an external bank's answer to a name inquiry, in real time: the cardholder is
	// waiting at the channel's screen, and an inquiry moves no money, so a slow bank is simply unavailable.
	inquiryTimeout = 10 * time.Second
	// shahabPageMax bounds a page of transfers or windows: the API's own bound.
	shahabPageMax = api.PageMax
)

// Statuses of a transfer.
const (
	shahabPending   = "pending"
	shahabSucceeded = "succeeded"
	shahabRefunded  = "refunded"
	shahabRejected  = "rejected"
)

// Destination codes: what a refunded (interbank) or rejected (on-us) transfer answers when the destination
// card or its account cannot receive — distinct from the source card's own codes.
const (
	codeDestCardNotFound   = "destination_card_not_found"
	codeDestCardBlocked    = "destination_card_blocked"
	codeDestCardExpired    = "destination_card_expired"
	codeDestCardLost       = "destination_card_lost"
	codeDestAccountBlocked = "destination_account_blocked"
)

// cardInfo is what the switch holds of a card of a simulated book: from the generated customers, with the
// card's secrets as keyed hashes only.
type cardInfo struct {
	pan, bank, name, expiry, magic string
	status                         sim.CardStatus
	account                        ledger.ID
	sec                            sim.CardSecrets
}

// otp is a one-time second PIN issued for a card: its keyed hash and when it stops being valid.
type otp struct {
	mac     [sha256.Size]byte
	expires time.Time
}

type shahabRail struct {
	s       *Server
	cardsMu sync.Mutex
	cards   map[string]*cardInfo // by PAN, of the books indexed so far
	indexed map[string]bool      // the banks whose books are in cards
	claims  claims[string]       // one request per transfer id at a time

	ops     chan *shahabOp  // for the batcher
	lookups chan *lookupReq // for the repeat look-up (shahab_lookup.go)
	ctx     context.Context // the server's: background work (late answers, voids) lives as long as it

	windowMu sync.Mutex // one window closed or settled at a time

	seen *seenFilter // the transfer ids stored or asked for: a certainly new one skips the repeat look-up

	stopping chan struct{} // closed when the server starts to stop: waits end, transfers stay pending for resume
	stopOnce sync.Once

	mu      sync.Mutex // guards what follows; changed inside decisions (under clearing.mu) and read outside
	usage   *shahab.Usage
	wrong   map[string]int  // wrong second PINs in a row, by PAN
	blocked map[string]bool // blocked by wrong second PINs
	otps    map[string]otp
	win     *windowRecord // the open settlement window
	waiters map[string]chan destAnswer
	otpKey  []byte
}

// destAnswer is a destination bank's answer to a credit request.
type destAnswer struct {
	credited bool
	code     string
	// book is set when the answer is a simulated bank's, from its book: the credit is booked there. A bank
	// switched between simulated and external while the transfer waited is refunded instead (the answer
	// was given by a bank that no longer answers that way).
	book bool
	// lateDue is, for a slow simulated bank's timeout, when its credit will arrive after the refund (unix ns).
	lateDue int64
}

func newShahab(ctx, runCtx context.Context, s *Server) (*shahabRail, error) {
	r := &shahabRail{s: s, ctx: runCtx, stopping: make(chan struct{}), seen: newSeenFilter(), cards: map[string]*cardInfo{}, indexed: map[string]bool{}, ops: make(chan *shahabOp, 4*shahabBatchMax),
		lookups: make(chan *lookupReq, 4*shahabLookupBatchMax),
		otps:    map[string]otp{}, waiters: map[string]chan destAnswer{}, otpKey: make([]byte, 32)}
	if _, err := rand.Read(r.otpKey); err != nil {
		return nil, err
	}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	if err := r.seen.load(ctx, s.pool); err != nil {
		return nil, err
	}
	return r, nil
}

// card is the card pan of a simulated book, or nil. A book is indexed the first time one of its cards is
// asked for (a bank simulated after the start gets its book then, too).
func (r *shahabRail) card(pan string) *cardInfo {
	r.cardsMu.Lock()
	defer r.cardsMu.Unlock()
	if c, ok := r.cards[pan]; ok {
		return c
	}
	if len(pan) != 16 {
		return nil
	}
	code, _, ok := r.s.world.registry().LookupBIN(pan[:6])
	if !ok || r.indexed[code] || !r.s.world.live(code) {
		return nil
	}
	// The BIN's bank today may be a merged bank's successor; the card is in its issuer's book, under the
	// BIN it was issued on: index every book the switch has, once each.
	for _, bank := range r.s.world.memberCodes() {
		if r.indexed[bank] || !r.s.world.live(bank) {
			continue
		}
		custs, err := r.s.world.customersOf(bank)
		if err != nil {
			continue
		}
		book := BookLedger(bank)
		for _, c := range custs {
			for _, k := range c.Cards {
				r.cards[k.PAN] = &cardInfo{pan: k.PAN, bank: bank, name: c.Name, expiry: k.Expiry, magic: k.Magic,
					status: k.Status, account: AccountID(book, c.SHEBA), sec: k.Secrets(r.s.world.cardKey)}
			}
		}
		r.indexed[bank] = true
	}
	return r.cards[pan]
}

// reload rebuilds what the rail holds in memory from the tables: the cards' wrong PINs, today's use of each
// card's limit, the open window.
func (r *shahabRail) reload(ctx context.Context) error {
	cards, err := postgres.ShahabCards(ctx, r.s.pool)
	if err != nil {
		return err
	}
	d := calendar.DateOf(r.s.clk.Now().In(calendar.Tehran))
	day := d.String()
	used, err := postgres.ShahabUsage(ctx, r.s.pool, d.At(0, 0).UnixNano(), d.AddDays(1).At(0, 0).UnixNano())
	if err != nil {
		return err
	}
	win, err := r.loadOpenWindow(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wrong, r.blocked = map[string]int{}, map[string]bool{}
	for _, c := range cards {
		if c.WrongPIN2 > 0 {
			r.wrong[c.PAN] = c.WrongPIN2
		}
		if c.Blocked {
			r.blocked[c.PAN] = true
		}
	}
	r.usage = shahab.NewUsage()
	for pan, n := range used {
		r.usage.Add(day, pan, n)
	}
	r.win = win
	return nil
}

// tehranDay is t's Tehran calendar date, YYYY-MM-DD.
func tehranDay(t time.Time) string { return calendar.DateOf(t.In(calendar.Tehran)).String() }

// transferID is a transfer's id: derived from the submitting bank and its reference, so a repeat finds it.
func transferID(bank, reference string) ledger.ID {
	return ledger.ID(ids.Derive("tasvieh.shahab.transfer", bank, reference))
}

func holdID(id ledger.ID) ledger.ID { return ledger.ID(deriveFrom(id, "hold")) }

// profileNow is the rulebook profile in force now.
func (r *shahabRail) profileNow() (rulebook.Profile, error) { return r.s.profile(r.s.clk.Now()) }

// issueOTP makes a one-time second PIN for a card of a simulated book.
func (r *shahabRail) issueOTP(ctx context.Context, req api.ShahabOTPRequest) (api.ShahabOTP, error) {
	p, err := r.profileNow()
	if err != nil {
		return api.ShahabOTP{}, err
	}
	if !p.CardDynamicPIN2 {
		return api.ShahabOTP{}, api.Errorf(api.CodeOTPOff, "the rulebook in force (%s) uses the static second PIN: transfers take the card's own", p.Name)
	}
	pan, _, err := shahab.ParsePAN("source_pan", req.SourcePAN, r.s.world.registry())
	if err != nil {
		return api.ShahabOTP{}, fieldError(err)
	}
	c := r.card(pan.String())
	if c == nil || !r.s.world.live(c.bank) {
		return api.ShahabOTP{}, api.Errorf(api.CodeCardNotFound, "card %s is in no simulated bank's book", pan.Masked())
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return api.ShahabOTP{}, err
	}
	code := fmt.Sprintf("%06d", binary.BigEndian.Uint32(b[:])%1_000_000)
	now := r.s.clk.Now()
	o := otp{mac: r.otpMAC(c.pan, code), expires: now.Add(time.Duration(p.CardOTPSeconds) * time.Second)}
	r.mu.Lock()
	if len(r.otps) >= otpsMax {
		for k, v := range r.otps {
			if !v.expires.After(now) {
				delete(r.otps, k)
			}
		}
	}
	full := len(r.otps) >= otpsMax
	if !full {
		r.otps[c.pan] = o // a new code replaces the card's last one
	}
	r.mu.Unlock()
	if full {
		return api.ShahabOTP{}, api.Errorf(api.CodeUnavailable, "%d one-time codes are outstanding; retry in a minute", otpsMax)
	}
	return api.ShahabOTP{SourcePAN: pan.Masked(), OTP: code, ExpiresAt: o.expires, ValidSeconds: p.CardOTPSeconds}, nil
}

func (r *shahabRail) otpMAC(pan, code string) [sha256.Size]byte {
	h := hmac.New(sha256.New, r.otpKey)
	h.Write([]byte(pan))
	h.Write([]byte{0})
	h.Write([]byte(code))
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}

// takeOTP reports whether code is the card's outstanding one-time PIN, unexpired at now, and uses it up
// whatever the answer (a wrong guess costs the code, as at a bank). Under r.mu.
func (r *shahabRail) takeOTP(pan, code string, now time.Time) bool {
	o, ok := r.otps[pan]
	if !ok {
		return false
	}
	delete(r.otps, pan)
	want := r.otpMAC(pan, code)
	return o.expires.After(now) && hmac.Equal(o.mac[:], want[:])
}

// fieldError turns a shahab.FieldError into the API's 422 naming the field, the position and the card code.
func fieldError(err error) error {
	var fe *shahab.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	e := api.FieldErrorf(fe.Field, "%s", strings.TrimPrefix(fe.Msg, "card: "))
	e.Position = fe.Position
	if fe.Code != "invalid" {
		e.Reason = fe.Code
	}
	return e
}

// inquire is the destination cardholder's name and bank, as the switch shows it.
func (r *shahabRail) inquire(ctx context.Context, req api.ShahabInquiryRequest) (api.ShahabInquiry, error) {
	pan, bank, err := shahab.ParsePAN("destination_pan", req.DestinationPAN, r.s.world.registry())
	if err != nil {
		return api.ShahabInquiry{}, fieldError(err)
	}
	out := api.ShahabInquiry{DestinationPAN: pan.Masked(), Bank: bank.Code, BankName: bank.Name}
	st := r.s.world.stateOf(bank.Code)
	switch {
	case !r.s.world.active(bank.Code) || st.Suspended:
		return out, api.Errorf(api.CodeBankUnavailable, "bank %s does not answer: suspended or no longer a member", bank.Code)
	case st.Simulation.Mode == "external":
		name, err := r.askName(ctx, bank.Code, pan.String())
		if err != nil {
			return out, err
		}
		out.Name = name
		return out, nil
	case !st.Simulation.Online:
		return out, api.Errorf(api.CodeBankUnavailable, "bank %s is offline", bank.Code)
	}
	c := r.card(pan.String())
	if c != nil && c.magic == sim.MagicCardIssuerTimeout {
		p, err := r.profileNow()
		if err != nil {
			return out, err
		}
		if err := r.sleepOn(ctx, deadlineOf(p)); err != nil {
			return out, err
		}
		return out, api.Errorf(api.CodeBankUnavailable, "bank %s did not answer for card %s", bank.Code, pan.Masked())
	}
	if c == nil || c.bank != bank.Code {
		return out, api.Errorf(api.CodeCardNotFound, "bank %s has no card %s", bank.Code, pan.Masked())
	}
	if code := r.destCardCode(c); code != "" {
		e := api.Errorf(api.CodeCardRefused, "card %s cannot receive: %s", pan.Masked(), strings.TrimPrefix(code, "destination_"))
		e.Reason = strings.TrimPrefix(code, "destination_")
		return out, e
	}
	out.Name = c.name
	return out, nil
}

// destCardCode is why a simulated destination card cannot receive, or "".
func (r *shahabRail) destCardCode(c *cardInfo) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.destCardCodeLocked(c)
}

// askName asks an external bank for its cardholder's name: a signed call to its webhook, answered
// {"name": …}.
func (r *shahabRail) askName(ctx context.Context, bank, pan string) (string, error) {
	status, body, err := r.callBank(ctx, bank, "shahab.inquiry", map[string]string{"destination_pan": pan}, inquiryTimeout)
	if err != nil || status != 200 {
		return "", api.Errorf(api.CodeBankUnavailable, "bank %s did not answer the inquiry (status %d): %v", bank, status, err)
	}
	var a struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.Name == "" {
		return "", api.Errorf(api.CodeCardNotFound, "bank %s named no cardholder for the card", bank)
	}
	return cutBytes(a.Name, 256), nil
}

// callBank makes a signed synchronous call to an external bank's webhook endpoint.
func (r *shahabRail) callBank(ctx context.Context, bank, typ string, payload any, timeout time.Duration) (int, []byte, error) {
	ep, ok, err := r.s.hooks.Endpoint(ctx, bank)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, fmt.Errorf("bank %s has no webhook endpoint", bank)
	}
	body, _ := json.Marshal(payload)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return webhook.Call(cctx, r.s.webhookClient, ep.URL, ep.Secret, typ, body, r.s.cfg.Real.Now())
}

// errStopping ends a wait when the server stops: the transfer stays as it is stored, and the next start takes
// it up (resume) — a stop never decides a transfer by itself.
var errStopping = api.Errorf(api.CodeUnavailable, "the switch is stopping: the transfer stays pending and is answered after it starts again; ask again with the same reference")

// stop ends every wait (the server's Close calls it before it lets the HTTP requests finish).
func (r *shahabRail) stop() { r.stopOnce.Do(func() { close(r.stopping) }) }

// sleepOn waits d on the switch's clock (a simulated clock's advance, or real time), or until ctx ends or
// the server stops (errStopping).
func (r *shahabRail) sleepOn(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return r.sleepUntil(ctx, r.s.clk.Now().Add(d))
}

// clockTimer is the switch's clock's timer.
type clockTimer = clock.Timer

// timerUntil is a timer of the switch's clock that fires at at, and whether at has already come. The clock
// may move between reading it and setting the timer (a simulated clock's advance from another request): a
// timer set for at − now after that move would fire late, or — on a simulated clock that moves no more —
// never, so the clock is read again once the timer is set.
func (r *shahabRail) timerUntil(at time.Time) (clockTimer, bool) {
	d := at.Sub(r.s.clk.Now())
	if d <= 0 {
		return nil, true
	}
	t := r.s.clk.NewTimer(d)
	if !r.s.clk.Now().Before(at) {
		t.Stop()
		return nil, true
	}
	return t, false
}

// sleepUntil waits until at on the switch's clock, as sleepOn waits a duration.
func (r *shahabRail) sleepUntil(ctx context.Context, at time.Time) error {
	t, now := r.timerUntil(at)
	if now {
		return nil
	}
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopping:
		return errStopping
	case <-r.ctx.Done():
		return errStopping
	}
}

// behaviour is a simulated bank's behaviour now.
func (r *shahabRail) behaviour(code string) sim.Behaviour {
	st := r.s.world.stateOf(code).Simulation
	return sim.Behaviour{Online: st.Online, LatencyMS: st.LatencyMS, FailureRate: st.FailureRate}
}

// mask shows a stored PAN as card.PAN.Masked does: its BIN and last four digits.
func mask(pan string) string {
	p, _, err := card.Parse(pan, nil)
	if err != nil {
		return "card"
	}
	return p.Masked()
}

// toAPI is a row as the API shows it.
func shahabAPI(t postgres.ShahabRow) api.ShahabTransfer {
	out := api.ShahabTransfer{ID: t.ID, Status: t.Status, Code: t.Code, AmountRial: t.AmountRial, FeeRial: t.FeeRial,
		SourceBank: t.SourceBank, DestinationBank: t.DestinationBank, SubmittingBank: t.SubmittingBank, Route: t.Route,
		SourcePAN: mask(t.SourcePAN), DestinationPAN: mask(t.DestPAN), DestinationName: t.DestName, Reference: t.Reference,
		Window: t.Window, CreatedAt: time.Unix(0, t.CreatedAt).UTC()}
	if id, err := ledger.ParseID(t.ID); err == nil {
		out.RRN = shahab.RRN(id)
	}
	if t.AnsweredAt > 0 {
		at := time.Unix(0, t.AnsweredAt).UTC()
		out.AnsweredAt = &at
	}
	if t.Deadline > 0 {
		d := time.Unix(0, t.Deadline).UTC()
		out.Deadline = &d
	}
	if t.LateAt > 0 {
		out.Late = &api.ShahabLate{Result: t.LateResult, ReceivedAt: time.Unix(0, t.LateAt).UTC(), Action: t.LateAction}
	}
	return out
}

// visible reports whether bank may see transfer t: it submitted it, or its cards are the source or the
// destination.
func visible(t postgres.ShahabRow, bank string) bool {
	return t.SubmittingBank == bank || t.SourceBank == bank || t.DestinationBank == bank
}

func (r *shahabRail) get(ctx context.Context, id string) (postgres.ShahabRow, bool, error) {
	if _, err := ledger.ParseID(id); err != nil {
		return postgres.ShahabRow{}, false, nil // not an id the switch gives: no such transfer
	}
	rows, err := postgres.ShahabByIDs(ctx, r.s.pool, []string{id})
	if err != nil || len(rows) == 0 {
		return postgres.ShahabRow{}, false, err
	}
	return rows[0], true, nil
}

func (b backend) Inquire(ctx context.Context, bank string, req api.ShahabInquiryRequest) (api.ShahabInquiry, error) {
	return b.s.shahab.inquire(ctx, req)
}

func (b backend) IssueOTP(ctx context.Context, bank string, req api.ShahabOTPRequest) (api.ShahabOTP, error) {
	return b.s.shahab.issueOTP(ctx, req)
}

func (b backend) SubmitTransfer(ctx context.Context, bank string, req api.ShahabTransferRequest) (api.ShahabTransfer, bool, error) {
	t, created, err := b.s.shahab.submit(ctx, bank, req)
	if err != nil {
		return api.ShahabTransfer{}, false, err
	}
	return shahabAPI(t), created, nil
}

func (b backend) ShahabTransfer(ctx context.Context, bank, id string) (api.ShahabTransfer, error) {
	t, ok, err := b.s.shahab.get(ctx, id)
	if err != nil {
		return api.ShahabTransfer{}, err
	}
	if !ok || !visible(t, bank) {
		return api.ShahabTransfer{}, api.Errorf(api.CodeNotFound, "no transfer %s of bank %s", id, bank)
	}
	return shahabAPI(t), nil
}

func (b backend) ShahabTransfers(ctx context.Context, bank, status, direction, cursor string, limit int) (api.ShahabTransferPage, error) {
	if direction == "" {
		direction = "all"
	}
	if !slices.Contains([]string{"submitted", "outgoing", "incoming", "all"}, direction) {
		return api.ShahabTransferPage{}, api.FieldErrorf("direction", "want submitted, outgoing, incoming or all")
	}
	if status != "" && !slices.Contains([]string{shahabPending, shahabSucceeded, shahabRefunded, shahabRejected}, status) {
		return api.ShahabTransferPage{}, api.FieldErrorf("status", "want pending, succeeded, refunded or rejected")
	}
	if limit <= 0 {
		limit = api.PageDefault
	}
	limit = min(limit, shahabPageMax)
	var before int64
	var beforeID string
	if cursor != "" {
		at, id, ok := strings.Cut(cursor, "_")
		_, idErr := ledger.ParseID(id)
		var err error
		if before, err = strconv.ParseInt(at, 10, 64); err != nil || !ok || before <= 0 || idErr != nil {
			return api.ShahabTransferPage{}, api.FieldErrorf("cursor", "not a cursor this list gave")
		}
		beforeID = id
	}
	rows, err := postgres.ShahabList(ctx, b.s.pool, bank, direction, status, before, beforeID, limit+1)
	if err != nil {
		return api.ShahabTransferPage{}, err
	}
	page := api.ShahabTransferPage{Transfers: []api.ShahabTransfer{}}
	for i, t := range rows {
		if i == limit {
			last := rows[limit-1]
			page.NextCursor = fmt.Sprintf("%d_%s", last.CreatedAt, last.ID)
			break
		}
		page.Transfers = append(page.Transfers, shahabAPI(t))
	}
	return page, nil
}

func (b backend) AnswerTransfer(ctx context.Context, bank, id string, req api.ShahabAnswerRequest) (api.ShahabTransfer, error) {
	t, err := b.s.shahab.answer(ctx, bank, id, req)
	if err != nil {
		return api.ShahabTransfer{}, err
	}
	return shahabAPI(t), nil
}

func (b backend) ShahabReconciliation(ctx context.Context, date string) (api.ShahabReconciliation, error) {
	day := ""
	if date != "" {
		d, err := calendar.ParseDate(date)
		if err != nil {
			return api.ShahabReconciliation{}, api.FieldErrorf("date", "%v", err)
		}
		day = d.String()
	}
	rows, err := postgres.ShahabLate(ctx, b.s.pool, day, shahabLateMax)
	if err != nil {
		return api.ShahabReconciliation{}, err
	}
	out := api.ShahabReconciliation{Cases: []api.ShahabTransfer{}}
	for _, t := range rows {
		out.Cases = append(out.Cases, shahabAPI(t))
	}
	return out, nil
}
