package webhook

import (
	"context"
	"time"
)

// Statuses of a delivery and outcomes of an attempt: the strings the store keeps (postgres.WebhookPending
// and the rest are the same).
const (
	StatusPending   = "pending"   // waiting for its next attempt, due at NextAt
	StatusDelivered = "delivered" // an attempt got a 2xx answer; also an outcome
	StatusFailed    = "failed"    // attempts exhausted, or the event cannot be sent; also an outcome
	OutcomeRetry    = "retry"     // an outcome only: try again at NextAt
)

// Store is what a Deliverer needs of its storage: postgres.Webhooks has these methods, with the same types.
type Store interface {
	// Enqueue creates one pending delivery, due at now, for each notification not yet enqueued for a bank
	// with an endpoint, at most limit, idempotently; it returns how many it created (limit: maybe more).
	Enqueue(ctx context.Context, now time.Time, limit int) (int, error)
	// Due returns up to limit pending deliveries due at now, with the event and the endpoint's URL and
	// secret, sharing the batch fairly among banks. A delivery stays due until Record says otherwise.
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// Record writes the outcome of one attempt at delivery id and adds it to the attempt log.
	Record(ctx context.Context, id int64, attempt Attempt) error
}

// Delivery is one notification's delivery to one bank, with the event and the endpoint it goes to.
//
// It is an alias of an unnamed struct type, field for field identical to postgres.WebhookDelivery: two
// unnamed struct types with the same exported fields in the same order are one type, so postgres.Webhooks
// satisfies Store by method shape, and the wiring passes it as it is, while neither adapter imports the other
// (ARCHITECTURE.md). Change both together: TestStoreMirrorsPostgres compares the declarations.
type Delivery = struct {
	ID             int64  // the delivery's id, sent as Tasvieh-Delivery-Id; the log pages by it
	Bank           string // the bank it goes to
	EventID        string // the outbox event's id, sent as Tasvieh-Event-Id: receivers deduplicate on it
	EventSeq       int64
	EventType      string
	EventCreatedAt time.Time
	Payload        []byte // the event's JSON; Due fills it, Deliveries does not
	URL            string // the endpoint as it is now; Due fills it, Deliveries does not
	Secret         string // the endpoint's signing secret; Due fills it, Deliveries does not
	Status         string // pending, delivered or failed
	Attempts       int    // attempts made so far
	NextAt         time.Time
	LastStatus     int    // the HTTP status of the last attempt; 0 before any or when none came
	LastError      string // the last attempt's error; "" when it had none
	DeliveredAt    time.Time
	CreatedAt      time.Time
}

// Attempt is the outcome of one attempt, as Record takes it; an alias identical to postgres.WebhookAttempt.
type Attempt = struct {
	N          int       // the attempt's number within its delivery, from 1; set by the store, ignored by Record
	At         time.Time // when the attempt was made
	Outcome    string    // delivered, retry or failed
	NextAt     time.Time // for retry: when the delivery is due again; not kept in the log
	StatusCode int       // the HTTP status; 0 when no answer came
	Error      string
	Duration   time.Duration // kept to the millisecond
}
