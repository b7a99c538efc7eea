package rtgs

import (
	"errors"
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/ledger"
)

// ErrSyntax is wrapped by the Parse functions of this package when their input names no value.
var ErrSyntax = errors.New("rtgs: invalid text")

// OrderID names an order. The wiring mints it (a UUIDv7 from the injected clock, or one derived from the
// sending bank and its reference); the zero OrderID names no order.
type OrderID [16]byte

// IsZero reports whether id is the zero OrderID.
func (id OrderID) IsZero() bool { return id == OrderID{} }

// String returns id in the canonical 8-4-4-4-12 form of lower-case hex digits.
func (id OrderID) String() string { return ledger.ID(id).String() }

// ParseOrderID reads an id in the canonical 8-4-4-4-12 form (hex digits in either case).
func ParseOrderID(s string) (OrderID, error) {
	id, err := ledger.ParseID(s)
	if err != nil {
		return OrderID{}, fmt.Errorf("rtgs: order id: %w: %w", err, ErrSyntax)
	}
	return OrderID(id), nil
}

// MarshalText writes id as String does.
func (id OrderID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads what ParseOrderID reads.
func (id *OrderID) UnmarshalText(b []byte) error {
	v, err := ParseOrderID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Type says whose money an order moves: a customer's, from the payer's account at the sending bank to the
// payee's at the receiving bank, or the sending bank's own, bank to bank. The zero Type is no type.
type Type uint8

// The types of order.
const (
	TypeCustomer  Type = 1 + iota // payer SHEBA and name → payee SHEBA and name; the rulebook minimum applies
	TypeInterbank                 // the sending bank's own money to the receiving bank; no customer, no minimum
)

var typeNames = [...]string{TypeCustomer: "customer", TypeInterbank: "interbank"}

// String returns the type's stable name, "customer" or "interbank", or "Type(n)" for no type.
func (t Type) String() string { return enumName(typeNames[:], uint8(t), "Type") }

// Valid reports whether t is one of the types.
func (t Type) Valid() bool { return t >= TypeCustomer && t <= TypeInterbank }

// ParseType reads a type's name.
func ParseType(s string) (Type, error) {
	v, err := parseEnum(typeNames[:], s, "type")
	return Type(v), err
}

// MarshalText writes t's name; no type is an error.
func (t Type) MarshalText() ([]byte, error) { return marshalEnum(t.Valid(), t.String(), "type") }

// UnmarshalText reads what ParseType reads.
func (t *Type) UnmarshalText(b []byte) error {
	v, err := ParseType(string(b))
	*t = v
	return err
}

// Priority orders the queued orders of one sender: urgent before high before normal (DOMAIN.md §4, as in
// TARGET2). It never orders one sender's orders against another's: each waits for its own sender's money. The
// zero Priority is no priority.
type Priority uint8

// The priorities, highest first. The numbers are never persisted (names are).
const (
	PriorityUrgent Priority = 1 + iota
	PriorityHigh
	PriorityNormal
)

var priorityNames = [...]string{PriorityUrgent: "urgent", PriorityHigh: "high", PriorityNormal: "normal"}

// priorityCount is the number of priorities, for arrays indexed by priority - 1.
const priorityCount = 3

// String returns the priority's stable name, or "Priority(n)" for no priority.
func (p Priority) String() string { return enumName(priorityNames[:], uint8(p), "Priority") }

// Valid reports whether p is one of the priorities.
func (p Priority) Valid() bool { return p >= PriorityUrgent && p <= PriorityNormal }

// ParsePriority reads a priority's name. An order that gives none is the API's to default (to normal)
// before it reaches Validate.
func ParsePriority(s string) (Priority, error) {
	v, err := parseEnum(priorityNames[:], s, "priority")
	return Priority(v), err
}

// MarshalText writes p's name; no priority is an error.
func (p Priority) MarshalText() ([]byte, error) {
	return marshalEnum(p.Valid(), p.String(), "priority")
}

// UnmarshalText reads what ParsePriority reads.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	*p = v
	return err
}

// Status is where an order stands (issue 8, item 7). An order begins with no status (StatusNone) and moves
// only as CanMove allows:
//
//	none       → warehoused | queued | settled | rejected
//	warehoused → queued | settled | rejected | revoked
//	queued     → settled | rejected | revoked | cancelled_eod
//	settled    → credited | returned
//
// warehoused: accepted, waiting for its business day to open; queued: due, waiting for its sender's
// liquidity; settled: moved between the settlement accounts, final and irrevocable; credited: the receiving
// bank posted it to the payee; returned: the receiving bank sent it back, less the return fee, as a return
// order; rejected: refused by a rule of state (a stateless rule answers the request and stores nothing);
// revoked: withdrawn by its sender before settlement; cancelled_eod: still unfunded at the end of the day.
// Credited, returned, rejected, revoked and cancelled_eod are final.
type Status uint8

// The statuses. The numbers are never persisted (names are).
const (
	StatusNone Status = iota // not yet decided: only the start of a move
	StatusWarehoused
	StatusQueued
	StatusSettled
	StatusCredited
	StatusReturned
	StatusRejected
	StatusRevoked
	StatusCancelledEOD
	statusCount
)

var statusNames = [statusCount]string{
	StatusWarehoused:   "warehoused",
	StatusQueued:       "queued",
	StatusSettled:      "settled",
	StatusCredited:     "credited",
	StatusReturned:     "returned",
	StatusRejected:     "rejected",
	StatusRevoked:      "revoked",
	StatusCancelledEOD: "cancelled_eod",
}

// moves[from] is the set of statuses from may move to, as bits.
var moves = [statusCount]uint16{
	StatusNone:       1<<StatusWarehoused | 1<<StatusQueued | 1<<StatusSettled | 1<<StatusRejected,
	StatusWarehoused: 1<<StatusQueued | 1<<StatusSettled | 1<<StatusRejected | 1<<StatusRevoked,
	StatusQueued:     1<<StatusSettled | 1<<StatusRejected | 1<<StatusRevoked | 1<<StatusCancelledEOD,
	StatusSettled:    1<<StatusCredited | 1<<StatusReturned,
}

// CanMove reports whether an order in status from may move to status to. No status moves to itself, and
// nothing moves to StatusNone or out of a final status.
func CanMove(from, to Status) bool {
	return from < statusCount && to < statusCount && moves[from]&(1<<to) != 0
}

// String returns the status's stable name ("none" for StatusNone), or "Status(n)" beyond the statuses.
func (s Status) String() string {
	if s == StatusNone {
		return "none"
	}
	return enumName(statusNames[:], uint8(s), "Status")
}

// Final reports whether s is final: no move leaves it.
func (s Status) Final() bool { return s > StatusNone && s < statusCount && moves[s] == 0 }

// Revoke answers a sender's request to revoke an order in status s: CodeOK for a warehoused or queued order
// (the move to StatusRevoked), CodeIrrevocable once it is settled (settled, credited or returned: DOMAIN.md
// §4, only a new order the other way moves the money back), CodeOrderClosed when it already ended without
// moving money (rejected, revoked, cancelled_eod).
func Revoke(s Status) Code {
	switch s {
	case StatusWarehoused, StatusQueued:
		return CodeOK
	case StatusSettled, StatusCredited, StatusReturned:
		return CodeIrrevocable
	}
	return CodeOrderClosed
}

// ParseStatus reads a status's name; "none" is not one.
func ParseStatus(s string) (Status, error) {
	v, err := parseEnum(statusNames[:], s, "status")
	return Status(v), err
}

// MarshalText writes s's name; StatusNone and unknown values are errors.
func (s Status) MarshalText() ([]byte, error) {
	return marshalEnum(s > StatusNone && s < statusCount, s.String(), "status")
}

// UnmarshalText reads what ParseStatus reads.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	*s = v
	return err
}

// Order is a SATNA payment order as the sending bank submits it (DOMAIN.md §4). Bank codes are 3-digit CBI
// codes; SHEBAs are as typed, Validate returns them in canonical form; amounts are whole rial. What the
// switch records about it later — status, fee, settlement time — is the wiring's, in its own row.
type Order struct {
	ID           OrderID
	Type         Type
	SenderBank   string // the CBI code of the bank that sends the order and pays
	ReceiverBank string // the CBI code of the bank that receives the money
	// PayerSHEBA, PayerName, PayeeSHEBA and PayeeName name the customers of a customer order; an
	// interbank order leaves them empty.
	PayerSHEBA  string
	PayerName   string
	PayeeSHEBA  string
	PayeeName   string
	AmountRial  int64
	Description string // optional free text for the payee
	// Reference is the sending bank's own reference: with SenderBank, the order's idempotency key.
	Reference string
	// EffectiveDate is the day the order is to settle; zero for "as soon as possible".
	EffectiveDate calendar.Date
	Priority      Priority
	// ReceivedAt is when the switch received the order, on the injected clock; it orders the queue (FIFO)
	// and dates every rule that depends on the day.
	ReceivedAt time.Time
	// ReturnOf names the original order when this one is its return (NewReturn); zero otherwise.
	ReturnOf OrderID
}

// IsReturn reports whether o returns another order.
func (o Order) IsReturn() bool { return !o.ReturnOf.IsZero() }

// enumName returns names[v], or "kind(v)" when v names nothing.
func enumName(names []string, v uint8, kind string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}

// parseEnum returns the index of s among names (the empty entries name nothing).
func parseEnum(names []string, s, kind string) (uint8, error) {
	if s != "" {
		for i, n := range names {
			if n == s {
				return uint8(i), nil
			}
		}
	}
	return 0, fmt.Errorf("rtgs: %s %q: want one of %v: %w", kind, s, nonEmpty(names), ErrSyntax)
}

func nonEmpty(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

func marshalEnum(valid bool, name, kind string) ([]byte, error) {
	if !valid {
		return nil, fmt.Errorf("rtgs: %s %s has no name: %w", kind, name, ErrSyntax)
	}
	return []byte(name), nil
}
