package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Statuses of a webhook delivery, and the outcomes of one attempt (WebhookAttempt.Outcome). The webhook
// package uses the same strings.
const (
	WebhookPending   = "pending"   // waiting for its next attempt, due at NextAt
	WebhookDelivered = "delivered" // an attempt got a 2xx answer; also an outcome
	WebhookFailed    = "failed"    // attempts exhausted (or the event cannot be sent); also an outcome
	WebhookRetry     = "retry"     // an outcome only: the attempt failed, try again at NextAt
)

// Limits of the webhook tables.
const (
	// WebhookURLBytesMax bounds an endpoint URL: 2,048 bytes, the length past which browsers, proxies and
	// servers stop agreeing to handle a URL. It is webhook.URLBytesMax again (postgres may not import the
	// webhook adapter); callers validate URLs with webhook.ValidateURL, this only keeps the column bounded.
	WebhookURLBytesMax = 2048
	// WebhookSecretBytes is the size of a signing secret: 32 random bytes, the output size of SHA-256, the
	// key length HMAC-SHA256 gets its full strength from (RFC 2104 §3). Its text is twice as long, in hex.
	WebhookSecretBytes = 32
	// WebhookBatchMax bounds one Enqueue or Due: a deliverer's round (webhook.Config.BatchMax) is at most this.
	WebhookBatchMax = 1000
	// WebhookDueBytesMax bounds the payload bytes one Due returns, as FeedPageBytesMax does a feed page and
	// for the same reason: payloads may be 512 KiB each. Due still returns at least one delivery.
	WebhookDueBytesMax = FeedPageBytesMax
	// WebhookPageMax bounds one page of a bank's delivery log; the log carries no payloads.
	WebhookPageMax = 1000
	// WebhookAttemptsShownMax bounds the attempt log Attempts returns: the latest 100 attempts, five times a
	// deliverer's default attempts (webhook.AttemptsMaxDefault, 20), leaving room for manual retries.
	WebhookAttemptsShownMax = 100
	// WebhookErrorBytesMax bounds an attempt's error text, cut (at a character boundary) beyond: a Go net/http
	// error names the method, the URL (at most 2,048 bytes) and the cause, well inside 4 KiB.
	WebhookErrorBytesMax = 4096
)

// Errors of the webhook store.
var (
	// ErrWebhookInvalid is wrapped by every error about an argument: a bank code, a URL, a limit, an attempt.
	ErrWebhookInvalid = errors.New("postgres: invalid webhook argument")
	// ErrWebhookUnknown is wrapped when Record names a delivery that does not exist.
	ErrWebhookUnknown = errors.New("postgres: unknown webhook delivery")
)

// WebhookEndpoint is where a bank's notifications are delivered, and the key they are signed with.
type WebhookEndpoint struct {
	Bank      string
	URL       string
	Secret    string // 64 lower-case hex digits; never show it after Set returned it
	FromSeq   int64  // deliveries start with the notifications after this outbox seq
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookDelivery is one notification's delivery to one bank, with the event and the endpoint it goes to.
//
// It is an alias of an unnamed struct type, field for field identical to webhook.Delivery: two unnamed struct
// types with the same exported fields in the same order are the same type, so *Webhooks satisfies
// webhook.Store by method shape alone, and the wiring passes it as is, while neither adapter imports the
// other (ARCHITECTURE.md). Change both together: the webhook package's tests compare the two declarations.
type WebhookDelivery = struct {
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

// WebhookAttempt is the outcome of one attempt to deliver: what Record writes and Attempts reads back. Like
// WebhookDelivery it is an alias of an unnamed struct type identical to webhook.Attempt.
type WebhookAttempt = struct {
	N          int       // the attempt's number within its delivery, from 1; set by the store, ignored by Record
	At         time.Time // when the attempt was made
	Outcome    string    // delivered, retry or failed
	NextAt     time.Time // for retry: when the delivery is due again; not kept in the log
	StatusCode int       // the HTTP status; 0 when no answer came
	Error      string
	Duration   time.Duration // kept to the millisecond
}

// Webhooks stores the banks' webhook endpoints, the deliveries of their notifications and each delivery's
// attempt log. One deliverer per schema is expected (Due does not claim what it returns); a second one would
// only send some deliveries twice, which receivers already handle.
type Webhooks struct{ pool *pgxpool.Pool }

// NewWebhooks returns the webhook store of the pool's schema.
func NewWebhooks(pool *pgxpool.Pool) *Webhooks { return &Webhooks{pool: pool} }

// Set registers or changes bank's endpoint URL. It creates the signing secret on the first registration, or
// a new one when rotate is set, and returns it only then; otherwise secret is "". Deliveries start with the
// notifications committed after the first registration: from_seq is the highest seq committed then, and
// because seq order is commit order (see Outbox.Feed) every notification committed later has a higher seq.
// Changing the URL or the secret later moves nothing: deliveries still pending go to the new URL, signed
// with the new secret, from their next attempt.
//
// The URL must already be valid (webhook.ValidateURL); Set checks only that it fits the column.
func (w *Webhooks) Set(ctx context.Context, bank, url string, rotate bool, now time.Time) (secret string, err error) {
	if err := checkBank(bank); err != nil {
		return "", err
	}
	switch {
	case url == "" || len(url) > WebhookURLBytesMax:
		return "", fmt.Errorf("%w: bank %s: url of %d bytes: want 1..%d", ErrWebhookInvalid, bank, len(url), WebhookURLBytesMax)
	case !utf8.ValidString(url) || strings.IndexByte(url, 0) >= 0:
		return "", fmt.Errorf("%w: bank %s: url is not valid UTF-8, or holds a NUL byte", ErrWebhookInvalid, bank)
	}
	fresh, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("postgres: webhook of bank %s: %w", bank, err)
	}
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		// A concurrent first registration makes this wait for it and then insert nothing: the update below
		// then sees its row.
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (bank, url, secret, from_seq, cursor_seq, created_at, updated_at)
			SELECT $1, $2, $3, s.seq, s.seq, $4, $4 FROM (SELECT coalesce(max(seq), 0) AS seq FROM outbox) s
			ON CONFLICT (bank) DO NOTHING`, bank, url, fresh, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			secret = fresh
			return nil
		}
		if rotate {
			tag, err = tx.Exec(ctx, "UPDATE webhook_endpoints SET url = $2, secret = $3, updated_at = $4 WHERE bank = $1", bank, url, fresh, now)
			secret = fresh
		} else {
			tag, err = tx.Exec(ctx, "UPDATE webhook_endpoints SET url = $2, updated_at = $3 WHERE bank = $1", bank, url, now)
		}
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("updated %d endpoints, want 1", tag.RowsAffected())
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("postgres: set webhook of bank %s: %w", bank, err)
	}
	return secret, nil
}

// newSecret draws a signing secret from crypto/rand, in hex.
func newSecret() (string, error) {
	var b [WebhookSecretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("signing secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Endpoint reads bank's endpoint, secret included (a rail's synchronous call signs with it); found is false
// when the bank has none.
func (w *Webhooks) Endpoint(ctx context.Context, bank string) (e WebhookEndpoint, found bool, err error) {
	err = w.pool.QueryRow(ctx, `SELECT bank, url, secret, from_seq, created_at, updated_at FROM webhook_endpoints
		WHERE bank = $1`, bank).Scan(&e.Bank, &e.URL, &e.Secret, &e.FromSeq, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return WebhookEndpoint{}, false, nil
	}
	if err != nil {
		return WebhookEndpoint{}, false, fmt.Errorf("postgres: webhook of bank %s: %w", bank, err)
	}
	return e, true, nil
}

// enqueueSQL picks, for every bank with an endpoint, its first $1 notifications above its cursor, then the
// $1 lowest seqs of them all: for each bank that is a prefix of its unread notifications (every one of its
// rows below a picked one was a candidate too, with a lower seq), so moving its cursor to the highest picked
// seq skips nothing. A notification becomes visible only in seq order (migration 004), so none can appear
// later below a cursor. The insert ignores deliveries that exist already, and the cursor never moves down,
// so a repeat, or two enqueuers at once, create each delivery once.
const enqueueSQL = `WITH cand AS (
	SELECT e.bank, o.id, o.seq
	FROM webhook_endpoints e
	CROSS JOIN LATERAL (
		SELECT id, seq FROM outbox
		WHERE topic = '` + TopicNotifications + `' AND key = e.bank AND seq > e.cursor_seq
		ORDER BY seq LIMIT $1
	) o
	ORDER BY o.seq LIMIT $1
), ins AS (
	INSERT INTO webhook_deliveries (bank, event_id, event_seq, status, next_at, created_at)
	SELECT bank, id, seq, 'pending', $2, $2 FROM cand ORDER BY seq
	ON CONFLICT (bank, event_id) DO NOTHING
	RETURNING 1
), moved AS (
	UPDATE webhook_endpoints e SET cursor_seq = greatest(e.cursor_seq, c.seq)
	FROM (SELECT bank, max(seq) AS seq FROM cand GROUP BY bank) c
	WHERE e.bank = c.bank
)
SELECT count(*) FROM ins`

// Enqueue creates one pending delivery, due at now, for each notification above its bank's cursor, for
// every bank with an endpoint: at most limit (1..WebhookBatchMax) in one call, the oldest first across all
// banks. It advances each bank's cursor past what it took, and returns how many deliveries it created; a
// result of limit means more may be waiting. It is idempotent: a delivery is unique by (bank, event id).
func (w *Webhooks) Enqueue(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 || limit > WebhookBatchMax {
		return 0, fmt.Errorf("%w: enqueue %d: want 1..%d", ErrWebhookInvalid, limit, WebhookBatchMax)
	}
	var created int64
	if err := w.pool.QueryRow(ctx, enqueueSQL, limit, now).Scan(&created); err != nil {
		return 0, fmt.Errorf("postgres: enqueue webhooks: %w", err)
	}
	return int(created), nil
}

// dueSQL takes each bank's first $2 due deliveries and interleaves the banks (every bank's first, then every
// bank's second, ...), so that one bank's backlog never keeps another's deliveries out of a batch.
const dueSQL = `SELECT d.id, d.bank, d.event_id, d.event_seq, o.type, o.created_at, o.payload, e.url, e.secret,
	d.status, d.attempts, d.next_at, d.last_status, d.last_error, d.delivered_at, d.created_at
FROM webhook_endpoints e
CROSS JOIN LATERAL (
	SELECT x.*, row_number() OVER (ORDER BY x.next_at, x.id) AS rn
	FROM (SELECT * FROM webhook_deliveries
		WHERE bank = e.bank AND status = 'pending' AND next_at <= $1
		ORDER BY next_at, id LIMIT $2) x
) d
JOIN outbox o ON o.seq = d.event_seq
ORDER BY d.rn, d.next_at, d.id
LIMIT $2`

// Due returns up to limit (1..WebhookBatchMax) pending deliveries whose next attempt is due at now, with the
// event (type, id, payload) and the endpoint's current URL and secret, a fair share per bank, and no more than
// WebhookDueBytesMax of payload past the first. It claims nothing: a delivery stays due until Record says
// otherwise, so a deliverer that stops between sending and recording sends it again (at least once).
func (w *Webhooks) Due(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error) {
	if limit < 1 || limit > WebhookBatchMax {
		return nil, fmt.Errorf("%w: due %d: want 1..%d", ErrWebhookInvalid, limit, WebhookBatchMax)
	}
	rows, err := w.pool.Query(ctx, dueSQL, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due webhooks: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	bytes := 0
	for rows.Next() {
		var d WebhookDelivery
		var eventID pgtype.UUID
		var deliveredAt pgtype.Timestamptz
		if err := rows.Scan(&d.ID, &d.Bank, &eventID, &d.EventSeq, &d.EventType, &d.EventCreatedAt, &d.Payload, &d.URL, &d.Secret,
			&d.Status, &d.Attempts, &d.NextAt, &d.LastStatus, &d.LastError, &deliveredAt, &d.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: due webhooks: %w", err)
		}
		if len(out) > 0 && bytes+len(d.Payload) > WebhookDueBytesMax {
			break
		}
		bytes += len(d.Payload)
		d.EventID = uuidText(eventID)
		d.DeliveredAt = deliveredAt.Time
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: due webhooks: %w", err)
	}
	return out, nil
}

// recordSQL counts the attempt, applies its outcome and logs it, in one statement. A delivered delivery stays
// delivered: only a second deliverer could attempt it again, and its failure would not undo the success.
const recordSQL = `WITH d AS (
	UPDATE webhook_deliveries SET
		attempts     = attempts + 1,
		status       = CASE WHEN status = 'delivered' THEN status WHEN $2::text = 'retry' THEN 'pending' ELSE $2::text END,
		next_at      = CASE WHEN $2::text = 'retry' THEN $3 ELSE next_at END,
		last_status  = $4,
		last_error   = $5,
		delivered_at = CASE WHEN $2::text = 'delivered' THEN $6 ELSE delivered_at END
	WHERE id = $1
	RETURNING attempts
)
INSERT INTO webhook_attempts (delivery_id, n, at, outcome, status_code, error, duration_ms)
SELECT $1, attempts, $6, $2::text, $4, $5, $7 FROM d`

// Record writes the outcome of one attempt at delivery id: delivered, retry (due again at attempt.NextAt) or
// failed (attempts exhausted), and adds it to the attempt log with its status code, error and duration. The
// error text is cut to WebhookErrorBytesMax and made valid UTF-8 without NUL bytes, which text columns refuse.
func (w *Webhooks) Record(ctx context.Context, id int64, attempt WebhookAttempt) error {
	switch {
	case attempt.Outcome != WebhookDelivered && attempt.Outcome != WebhookRetry && attempt.Outcome != WebhookFailed:
		return fmt.Errorf("%w: delivery %d: outcome %q: want delivered, retry or failed", ErrWebhookInvalid, id, clipText(attempt.Outcome, 64))
	case attempt.At.IsZero():
		return fmt.Errorf("%w: delivery %d: attempt at the zero time", ErrWebhookInvalid, id)
	case attempt.Outcome == WebhookRetry && attempt.NextAt.IsZero():
		return fmt.Errorf("%w: delivery %d: retry without a time", ErrWebhookInvalid, id)
	case attempt.StatusCode < 0 || attempt.StatusCode > 999:
		return fmt.Errorf("%w: delivery %d: status code %d: want 0..999", ErrWebhookInvalid, id, attempt.StatusCode)
	case attempt.Duration < 0:
		return fmt.Errorf("%w: delivery %d: negative duration %v", ErrWebhookInvalid, id, attempt.Duration)
	}
	tag, err := w.pool.Exec(ctx, recordSQL, id, attempt.Outcome, attempt.NextAt, attempt.StatusCode,
		clipText(attempt.Error, WebhookErrorBytesMax), attempt.At, attempt.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("postgres: record attempt at webhook delivery %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: record attempt at delivery %d", ErrWebhookUnknown, id)
	}
	return nil
}

// clipText makes s valid UTF-8 without NUL bytes and cuts it to at most n bytes at a character boundary.
func clipText(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Deliveries returns bank's deliveries with an id above after (0 for the first page), in id order, at most
// limit (1..WebhookPageMax): the bank's delivery log, without payloads, URLs or secrets.
func (w *Webhooks) Deliveries(ctx context.Context, bank string, after int64, limit int) ([]WebhookDelivery, error) {
	if limit < 1 || limit > WebhookPageMax {
		return nil, fmt.Errorf("%w: page of %d deliveries: want 1..%d", ErrWebhookInvalid, limit, WebhookPageMax)
	}
	rows, err := w.pool.Query(ctx, `SELECT d.id, d.bank, d.event_id, d.event_seq, o.type, o.created_at,
			d.status, d.attempts, d.next_at, d.last_status, d.last_error, d.delivered_at, d.created_at
		FROM webhook_deliveries d JOIN outbox o ON o.seq = d.event_seq
		WHERE d.bank = $1 AND d.id > $2 ORDER BY d.id LIMIT $3`, bank, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook deliveries of bank %s: %w", bank, err)
	}
	var out []WebhookDelivery
	var d WebhookDelivery
	var eventID pgtype.UUID
	var deliveredAt pgtype.Timestamptz
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.Bank, &eventID, &d.EventSeq, &d.EventType, &d.EventCreatedAt,
		&d.Status, &d.Attempts, &d.NextAt, &d.LastStatus, &d.LastError, &deliveredAt, &d.CreatedAt}, func() error {
		d.EventID = uuidText(eventID)
		d.DeliveredAt = deliveredAt.Time
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook deliveries of bank %s: %w", bank, err)
	}
	return out, nil
}

// Attempts returns the attempt log of bank's delivery id, oldest first: the latest WebhookAttemptsShownMax
// attempts. found is false when the delivery is not the bank's or does not exist (the API answers 404).
// NextAt is not kept in the log and reads as the zero time.
func (w *Webhooks) Attempts(ctx context.Context, bank string, id int64) (attempts []WebhookAttempt, found bool, err error) {
	if err := w.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1 AND bank = $2)",
		id, bank).Scan(&found); err != nil {
		return nil, false, fmt.Errorf("postgres: webhook attempts of delivery %d: %w", id, err)
	}
	if !found {
		return nil, false, nil
	}
	rows, err := w.pool.Query(ctx, `SELECT n, at, outcome, status_code, error, duration_ms FROM webhook_attempts
		WHERE delivery_id = $1 ORDER BY n DESC LIMIT $2`, id, WebhookAttemptsShownMax)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: webhook attempts of delivery %d: %w", id, err)
	}
	var a WebhookAttempt
	var ms int64
	_, err = pgx.ForEachRow(rows, []any{&a.N, &a.At, &a.Outcome, &a.StatusCode, &a.Error, &ms}, func() error {
		a.Duration = time.Duration(ms) * time.Millisecond
		attempts = append(attempts, a)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("postgres: webhook attempts of delivery %d: %w", id, err)
	}
	slices.Reverse(attempts)
	return attempts, true, nil
}

// Retry makes bank's delivery id due again at now, whatever its status: a failed one goes back to pending, a
// delivered one is sent again. It keeps the attempt count, so a delivery past the deliverer's attempts gets
// one more attempt per Retry. It reports false when the delivery is not the bank's or does not exist (the
// API answers 404, revealing nothing).
func (w *Webhooks) Retry(ctx context.Context, bank string, id int64, now time.Time) (bool, error) {
	tag, err := w.pool.Exec(ctx, "UPDATE webhook_deliveries SET status = 'pending', next_at = $3 WHERE id = $1 AND bank = $2", id, bank, now)
	if err != nil {
		return false, fmt.Errorf("postgres: retry webhook delivery %d of bank %s: %w", id, bank, err)
	}
	return tag.RowsAffected() == 1, nil
}

// checkBank refuses anything but a three-digit CBI code.
func checkBank(bank string) error {
	if len(bank) != 3 || strings.Trim(bank, "0123456789") != "" {
		return fmt.Errorf("%w: bank %q: want a three-digit CBI code", ErrWebhookInvalid, clipText(bank, 16))
	}
	return nil
}
