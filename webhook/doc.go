// Package webhook sends member banks their notifications over HTTP, signed so that a bank can check they
// came from the switch (DOMAIN.md §8), and makes the synchronous signed calls a rail needs of an external
// bank (SHAHAB's credit request).
//
// It owns the signature (Sign, SignHeader, Verify), endpoint URL validation (ValidateURL), the Deliverer that
// turns notifications into deliveries and retries them, and Call. It is an adapter: it imports leaves only.
// Its storage is the Store interface, which postgres.Webhooks satisfies by method shape (Delivery and Attempt
// are aliases of the same unnamed struct types as postgres.WebhookDelivery and postgres.WebhookAttempt), so
// the wiring connects the two and neither adapter imports the other.
//
// It must never: import another adapter; read the wall clock but through the injected clocks; keep a delivery
// only in memory (the store is the record, memory holds only hints for timers); follow a redirect; log a
// secret or a body; promise more than at-least-once delivery or any order among deliveries.
//
// # Receiving a delivery
//
// A delivery is an HTTP POST to the bank's registered URL with this JSON body:
//
//	{"id":"<event id>","type":"<event type>","created_at":"<RFC 3339, UTC>","data":<the event's JSON>}
//
// and these headers:
//
//	Content-Type: application/json
//	Tasvieh-Event-Id: <the event's id, a UUID: the body's "id">
//	Tasvieh-Event-Type: <the event's type: the body's "type">
//	Tasvieh-Delivery-Id: <the delivery's id, decimal: the same in every attempt of one delivery>
//	Tasvieh-Timestamp: <when this attempt was signed, in unix seconds>
//	Tasvieh-Signature: v1=<64 lower-case hex digits>
//
// Before acting on a delivery, a receiver checks, in this order:
//
//  1. It keeps the body's bytes exactly as received: the signature covers those bytes, not a re-encoding.
//  2. Tasvieh-Timestamp is present and consists of decimal digits only; otherwise it rejects the request.
//  3. It computes HMAC-SHA256 keyed with the endpoint's secret — the 64 hex characters shown at registration,
//     used as they are (their ASCII bytes), not hex-decoded — over the Tasvieh-Timestamp value exactly as
//     sent, one "." and the body's bytes, and writes it as 64 lower-case hex digits.
//  4. It splits Tasvieh-Signature on ",", trims spaces, and accepts the request if any entry starting with
//     "v1=" equals "v1=" followed by that hex, comparing in constant time (hmac.Equal, or your language's
//     equivalent); it ignores entries of any other version, and rejects the request if no v1 entry matches.
//  5. It rejects a timestamp more than 5 minutes (ToleranceDefault) from its own clock, either way: a
//     captured request cannot be replayed later.
//  6. It deduplicates on the event id: delivery is at least once, so one event may arrive more than once
//     (always with the same event id and the same delivery id, a retry the bank asked for included).
//
// Only the timestamp and the body are signed: trust the body's "id" and "type", which the signature covers,
// over the headers that repeat them. Verify does steps 2–5 in Go.
//
// A 2xx answer within 10 seconds (TimeoutDefault) acknowledges a delivery; acknowledge first, work after.
// Any other status, a redirect, a network error or no answer in time is a failed attempt, retried after 1 s,
// doubling to 5 minutes, with jitter, up to 20 attempts (AttemptsMaxDefault); then the delivery is failed. The
// bank's delivery log shows every delivery and its attempts, and the bank can ask for any delivery again.
// Deliveries are not ordered: order by the feed, GET /v1/events, which holds every notification in commit
// order, retries or not, and is what a bank catches up from after a long outage.
//
// # Answering a synchronous call
//
// A rail that needs an external bank's answer at once (SHAHAB's credit request) POSTs to the same endpoint,
// signed the same way, with Tasvieh-Event-Type naming the request (e.g. "shahab.credit") and no event or
// delivery id; the body is the request itself, not wrapped. The bank answers within the rail's deadline with
// its own Tasvieh-Timestamp and Tasvieh-Signature headers, computed over the answer's body with the same
// secret (SignHeader does it in Go). An answer that does not verify is treated as no answer.
package webhook
