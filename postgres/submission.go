package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/outbox"
)

// Limits of a submission.
const (
	// EventsPerRequestMax bounds a submission's events: two per transfer (the payer's and the payee's notice)
	// at the longest request.
	EventsPerRequestMax = 2 * RequestTransfersMax
	// RowsPerRequestMax bounds a submission's rail rows: one status row per transfer, and as many untied.
	RowsPerRequestMax = 2 * RequestTransfersMax
	// RowTokenLenMax bounds a row's kind, id and status: a snake_case kind ("satna.order"), a UUID or a bank's
	// reference with its bank code, a status name.
	RowTokenLenMax = 128
	// RowBodyBytesMax bounds a row's JSON body: an order or entry with its names and description is about
	// 1 KiB; 64 KiB leaves room for a file's summary without letting a row grow into a file.
	RowBodyBytesMax = 64 << 10
)

// Submission is one caller's request: transfers, the events that report them and the rail's rows that move
// with them, all written in one PostgreSQL transaction or not at all.
type Submission struct {
	Transfers []ledger.Transfer
	// Events are tied to the transfer that causes them: an event is written exactly when its transfer is
	// applied (OK), never for a repeat (Exists) or a rejection. So a request that succeeds over two attempts —
	// [ok, exceeds_balance], then [exists, ok] — writes each transfer's events once. Their ids are derived from
	// the transfer's id and the event's place among its events: unique because an applied id is.
	Events []Event
	// Rows are the rail's own rows (an order's or entry's status), upserted by (kind, id). A row tied to a
	// transfer is written only when that transfer is applied; an untied row (zero Transfer) is written
	// whatever the results, e.g. the status of an order that was rejected.
	Rows []Row
	// Statements are a rail's writes to its own typed tables (PAYA's entries, postgres/paya.go builds them),
	// run in the batch's transaction after its transfers, events and rows, in the order the submissions
	// were applied — so a later decision's UPDATE sees an earlier one's INSERT. They are written exactly
	// when the submission is applied (Propose answering ok, or Write). A statement that fails fails the
	// batch: the writer stops and reloads, as for any failed write, so only statements built by this
	// package's builders belong here.
	Statements []Statement
}

// Statement is one SQL write of a rail's own table with its arguments.
type Statement struct {
	SQL  string
	Args []any
	// Rows is how many rows it writes at most: StatementRowsMax bounds a submission's sum.
	Rows int
}

// StatementRowsMax bounds the rows a submission's statements write: as many as its rail rows may be.
const StatementRowsMax = RowsPerRequestMax

// Event is an event to write to the outbox when its transfer is applied.
type Event struct {
	Transfer ledger.ID // the transfer of the submission whose application it reports
	Topic    string
	Key      string
	Type     string
	Payload  []byte // JSON
}

// Row is a rail's row, written in the same transaction as the money.
type Row struct {
	Transfer ledger.ID // zero: untied
	Kind     string    // e.g. "satna.order"
	ID       string
	Status   string
	Body     []byte // a JSON value; empty means {}
}

// SubmissionError says which part of a submission is invalid, before anything is queued.
type SubmissionError struct {
	Field  string // "Events[3].Transfer", "Rows[0].Body"
	Reason string
}

func (e *SubmissionError) Error() string {
	return fmt.Sprintf("postgres: invalid submission: %s: %s", e.Field, e.Reason)
}

func (sub *Submission) validate() error {
	if len(sub.Transfers) > RequestTransfersMax {
		return ErrRequestTooLong
	}
	if len(sub.Events) > EventsPerRequestMax {
		return &SubmissionError{"Events", fmt.Sprintf("%d events, more than %d", len(sub.Events), EventsPerRequestMax)}
	}
	if len(sub.Rows) > RowsPerRequestMax {
		return &SubmissionError{"Rows", fmt.Sprintf("%d rows, more than %d", len(sub.Rows), RowsPerRequestMax)}
	}
	n := 0
	for i, st := range sub.Statements {
		if st.SQL == "" || st.Rows < 0 {
			return &SubmissionError{fmt.Sprintf("Statements[%d]", i), "empty, or a negative row count"}
		}
		n += st.Rows
	}
	if n > StatementRowsMax {
		return &SubmissionError{"Statements", fmt.Sprintf("%d rows, more than %d", n, StatementRowsMax)}
	}
	if len(sub.Events) == 0 && len(sub.Rows) == 0 {
		return nil
	}
	ids := make(map[ledger.ID]struct{}, len(sub.Transfers))
	for i := range sub.Transfers {
		ids[sub.Transfers[i].ID] = struct{}{}
	}
	for i, e := range sub.Events {
		if _, ok := ids[e.Transfer]; !ok || e.Transfer.IsZero() {
			return &SubmissionError{fmt.Sprintf("Events[%d].Transfer", i), fmt.Sprintf("%s is not a transfer of this submission", e.Transfer)}
		}
		probe := outbox.Event{ID: "00000000-0000-0000-0000-000000000000", Topic: e.Topic, Key: e.Key, Type: e.Type,
			Payload: e.Payload, CreatedAt: time.Unix(1, 0)}
		if err := probe.Validate(); err != nil {
			return &SubmissionError{fmt.Sprintf("Events[%d]", i), err.Error()}
		}
	}
	for i, r := range sub.Rows {
		if _, ok := ids[r.Transfer]; !r.Transfer.IsZero() && !ok {
			return &SubmissionError{fmt.Sprintf("Rows[%d].Transfer", i), fmt.Sprintf("%s is not a transfer of this submission", r.Transfer)}
		}
		if err := validateRow(i, r); err != nil {
			return err
		}
	}
	return nil
}

// jsonbNumberLenMax bounds a number in a row body: PostgreSQL's jsonb keeps numbers as numeric, which refuses
// an exponent past some 131,072 digits (1e999999 fails); a thousand characters is more than any amount, rate or
// count a rail writes and far inside numeric's range.
const jsonbNumberLenMax = 1000

// jsonbSafe reports whether a valid JSON text is one PostgreSQL's jsonb accepts, too: no \u0000 escape, no
// lone UTF-16 surrogate escape (\ud800 without its pair), and no number beyond jsonbNumberLenMax characters or
// with an exponent past ±1000 — the things encoding/json accepts and jsonb refuses.
func jsonbSafe(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			switch {
			case c == '"':
				inString = true
			case c == '-' || '0' <= c && c <= '9':
				j := i
				for j < len(b) && strings.IndexByte("+-.eE0123456789", b[j]) >= 0 {
					j++
				}
				if !numberSafe(string(b[i:j])) {
					return false
				}
				i = j - 1
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' && i+5 < len(b) {
				u, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
				if err != nil || u == 0 || 0xDC00 <= u && u <= 0xDFFF {
					return false // NUL, or a low surrogate without its high one
				}
				if 0xD800 <= u && u <= 0xDBFF {
					if i+11 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
						return false
					}
					lo, err := strconv.ParseUint(string(b[i+8:i+12]), 16, 16)
					if err != nil || lo < 0xDC00 || lo > 0xDFFF {
						return false
					}
					i += 6
				}
				i += 5
				continue
			}
			i++ // skip the escaped character, so "\\u0000" (an escaped backslash) is not mistaken for one
		}
	}
	return true
}

// numberSafe reports whether a JSON number fits PostgreSQL's numeric comfortably.
func numberSafe(n string) bool {
	if len(n) > jsonbNumberLenMax {
		return false
	}
	if k := strings.IndexAny(n, "eE"); k >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(n[k+1:], "+"))
		if err != nil || e > 1000 || e < -1000 {
			return false
		}
	}
	return true
}

// eventRow is an outbox row to write.
type eventRow = outbox.Event

// objectRow is a rail row to write.
type objectRow struct {
	kind, id, status string
	body             []byte
	transfer         ledger.ID
	at               int64
}

// tie adds to the batch the events and rows of a submission whose transfers got results res.
func (d *decided) tie(sub Submission, res []ledger.Result, now int64) {
	d.stmts = append(d.stmts, sub.Statements...)
	if len(sub.Events) == 0 && len(sub.Rows) == 0 {
		return
	}
	applied := make(map[ledger.ID]bool, len(sub.Transfers))
	for i := range sub.Transfers {
		if res[i] == ledger.OK {
			applied[sub.Transfers[i].ID] = true
		}
	}
	ordinal := make(map[ledger.ID]uint32)
	for _, e := range sub.Events {
		if !applied[e.Transfer] {
			continue
		}
		n := ordinal[e.Transfer]
		ordinal[e.Transfer] = n + 1
		d.events = append(d.events, eventRow{ID: eventID(e.Transfer, "event", n), Topic: e.Topic, Key: e.Key,
			Type: e.Type, Payload: e.Payload, CreatedAt: time.Unix(0, now).UTC()})
	}
	for _, r := range sub.Rows {
		if !r.Transfer.IsZero() && !applied[r.Transfer] {
			continue
		}
		d.rows = append(d.rows, objectRow{kind: r.Kind, id: r.ID, status: r.Status, body: r.Body, transfer: r.Transfer, at: now})
	}
}

// eventID derives an event's id from its transfer's id, a purpose and an ordinal (ids.Derive: a UUIDv8 over
// SHA-256), in the canonical text the outbox keeps.
func eventID(transfer ledger.ID, purpose string, n uint32) string {
	return ids.String(ids.Derive("tasvieh.outbox.event", string(transfer[:]), purpose, strconv.FormatUint(uint64(n), 10)))
}

// PendingExpired is the payload of a "ledger.pending_expired" event on ExpiryTopic: a pending transfer's
// reservation released because its timeout passed. SHAHAB reconciles a late success against it.
type PendingExpired struct {
	PendingID       ledger.ID       `json:"pending_id"`
	UserData        ledger.ID       `json:"user_data"`
	Ledger          ledger.LedgerID `json:"ledger"`
	DebitAccountID  ledger.ID       `json:"debit_account_id"`
	CreditAccountID ledger.ID       `json:"credit_account_id"`
	AmountRial      int64           `json:"amount_rial"`
	Code            uint16          `json:"code"`
	Reference       string          `json:"reference"`
	ExpiredAt       time.Time       `json:"expired_at"`
}

// EventTypePendingExpired is the type of the expiry event.
const EventTypePendingExpired = "ledger.pending_expired"

func expiryEvent(t ledger.Transfer, now int64) eventRow {
	at := time.Unix(0, now).UTC()
	payload, err := json.Marshal(PendingExpired{PendingID: t.ID, UserData: t.UserData, Ledger: t.Ledger,
		DebitAccountID: t.DebitAccountID, CreditAccountID: t.CreditAccountID, AmountRial: t.Amount, Code: t.Code,
		Reference: t.Reference, ExpiredAt: at})
	if err != nil {
		panic(fmt.Sprintf("postgres: expiry event: %v", err)) // plain fields: cannot fail
	}
	return eventRow{ID: eventID(t.ID, "expired", 0), Topic: ExpiryTopic, Key: strconv.FormatUint(uint64(t.Ledger), 10),
		Type: EventTypePendingExpired, Payload: payload, CreatedAt: at}
}

// Decision is a rail's view of the writer's state during Store.Decide: balances that cannot move under it, and
// the means to propose transfers that commit in the same batch. It is valid only while the decider runs.
type Decision struct {
	led *ledger.Ledger
	now int64
	d   *decided
}

// Now is the batch's time.
func (x *Decision) Now() time.Time { return time.Unix(0, x.now) }

// Account returns an account with its balances as decided so far (durable once the batch is).
func (x *Decision) Account(id ledger.ID) (ledger.Account, bool) { return x.led.Account(id) }

// AccountByKey returns the account of a ledger with the given external key.
func (x *Decision) AccountByKey(l ledger.LedgerID, key string) (ledger.Account, bool) {
	return x.led.AccountByKey(l, key)
}

// Pending returns the state of a pending transfer held in memory (every active one is).
func (x *Decision) Pending(id ledger.ID) (ledger.PendingState, bool) { return x.led.Pending(id) }

// Propose applies a submission's transfers only if every one applies, with their events and rows; otherwise
// nothing, and no rejection is remembered, so the ids stay free for a later attempt. An invalid submission (a
// bug in the rail) applies nothing and its error is returned.
func (x *Decision) Propose(sub Submission) ([]ledger.Result, bool, error) {
	if err := sub.validate(); err != nil {
		return nil, false, err
	}
	res, ok := x.led.Propose(sub.Transfers)
	if ok {
		x.d.tie(sub, res, x.now)
	}
	return res, ok, nil
}

// Write adds rail rows to the batch, untied to any transfer.
func (x *Decision) Write(rows ...Row) error {
	sub := Submission{Rows: make([]Row, len(rows))}
	for i, r := range rows {
		r.Transfer = ledger.ID{}
		sub.Rows[i] = r
	}
	if err := sub.validate(); err != nil {
		return err
	}
	x.d.tie(sub, nil, x.now)
	return nil
}

// validateRow checks a rail row's tokens and body; i is its place, for the error's field.
func validateRow(i int, r Row) error {
	for _, f := range []struct{ name, v string }{{"Kind", r.Kind}, {"ID", r.ID}, {"Status", r.Status}} {
		switch {
		case f.v == "":
			return &SubmissionError{fmt.Sprintf("Rows[%d].%s", i, f.name), "empty"}
		case len(f.v) > RowTokenLenMax:
			return &SubmissionError{fmt.Sprintf("Rows[%d].%s", i, f.name), fmt.Sprintf("%d bytes, more than %d", len(f.v), RowTokenLenMax)}
		case !ledger.TextValid(f.v):
			return &SubmissionError{fmt.Sprintf("Rows[%d].%s", i, f.name), "not valid UTF-8, or holds a NUL byte"}
		}
	}
	switch {
	case len(r.Body) > RowBodyBytesMax:
		return &SubmissionError{fmt.Sprintf("Rows[%d].Body", i), fmt.Sprintf("%d bytes, more than %d", len(r.Body), RowBodyBytesMax)}
	case len(r.Body) > 0 && !json.Valid(r.Body):
		return &SubmissionError{fmt.Sprintf("Rows[%d].Body", i), "not valid JSON"}
	case len(r.Body) > 0 && !jsonbSafe(r.Body):
		return &SubmissionError{fmt.Sprintf("Rows[%d].Body", i), `holds \u0000, a lone surrogate or a number beyond ±1e1000, which PostgreSQL's jsonb refuses`}
	}
	return nil
}
