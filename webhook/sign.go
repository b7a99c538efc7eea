package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names, on every delivery (and, where doc.go says so, on a synchronous call and its answer).
const (
	// HeaderEventID carries the event's id, a UUID: a receiver deduplicates on it, because a delivery is made
	// at least once.
	HeaderEventID = "Tasvieh-Event-Id"
	// HeaderEventType carries the event's type, e.g. "satna.order.settled"; on a synchronous call, the
	// request's type, e.g. "shahab.credit".
	HeaderEventType = "Tasvieh-Event-Type"
	// HeaderDeliveryID carries the delivery's id, a decimal number: the same in every attempt of one
	// delivery, and the id a bank names to ask for a retry.
	HeaderDeliveryID = "Tasvieh-Delivery-Id"
	// HeaderTimestamp carries the time of signing, in unix seconds.
	HeaderTimestamp = "Tasvieh-Timestamp"
	// HeaderSignature carries the signature: "v1=" and the lower-case hex HMAC-SHA256 of timestamp + "." +
	// body, keyed with the endpoint's secret.
	HeaderSignature = "Tasvieh-Signature"
)

// Limits of signatures.
const (
	// ToleranceDefault is how far a signed timestamp may be from the verifier's clock, either way: five
	// minutes, the window Stripe and Slack give their webhook receivers, room for clock skew and a slow
	// network while a captured request soon stops being replayable.
	ToleranceDefault = 5 * time.Minute
	// SignatureHeaderBytesMax bounds the signature header a verifier reads: a v1 signature is 67 bytes, so
	// 1 KiB holds a dozen (one per secret, while a secret is rotated) and refuses a header built to make
	// the verifier work.
	SignatureHeaderBytesMax = 1024
	// timestampDigitsMax bounds the timestamp header: an int64 has at most 19 decimal digits.
	timestampDigitsMax = 19
)

// Errors of Verify.
var (
	// ErrSignature is wrapped when a signature is missing, malformed or does not match.
	ErrSignature = errors.New("webhook: signature does not verify")
	// ErrStale is wrapped when the signature matches but its timestamp is further from now than the
	// tolerance: a replay, or clocks far apart.
	ErrStale = errors.New("webhook: signed timestamp outside the tolerance")
)

// signatureScheme prefixes a signature of this version.
const signatureScheme = "v1="

// Sign returns the signature header value for body signed at ts with secret: "v1=" and the lower-case hex
// HMAC-SHA256, keyed with the secret's own bytes (the 64 hex characters as they are, not decoded), of the
// decimal unix seconds of ts, ".", and the body.
func Sign(secret string, ts time.Time, body []byte) string {
	return signatureScheme + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

// SignHeader sets the timestamp and signature headers of a request or an answer carrying body.
func SignHeader(h http.Header, secret string, ts time.Time, body []byte) {
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
}

// mac is the HMAC-SHA256 of the timestamp's text exactly as sent, ".", and the body.
func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks that body came signed with secret, as doc.go tells a receiver to: the timestamp header is
// decimal unix seconds (signed as its text stands), one of the comma-separated "v1=" entries of the signature header matches (compared
// in constant time; entries of other versions are ignored), and the timestamp is within tolerance of now
// (ToleranceDefault when tolerance is not positive). It wraps ErrSignature for a missing, malformed or
// mismatched signature and ErrStale for a good signature with a stale timestamp.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = ToleranceDefault
	}
	tsText := header.Get(HeaderTimestamp)
	if tsText == "" {
		return fmt.Errorf("%w: no %s header", ErrSignature, HeaderTimestamp)
	}
	if len(tsText) > timestampDigitsMax || strings.Trim(tsText, "0123456789") != "" {
		return fmt.Errorf("%w: %s is not decimal unix seconds", ErrSignature, HeaderTimestamp)
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not decimal unix seconds", ErrSignature, HeaderTimestamp)
	}
	sigs := header.Values(HeaderSignature)
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no %s header", ErrSignature, HeaderSignature)
	}
	total := 0
	for _, s := range sigs {
		total += len(s)
	}
	if total > SignatureHeaderBytesMax {
		return fmt.Errorf("%w: %s of %d bytes, more than %d", ErrSignature, HeaderSignature, total, SignatureHeaderBytesMax)
	}
	want := mac(secret, tsText, body)
	matched, seen := false, false
	for _, s := range sigs {
		for entry := range strings.SplitSeq(s, ",") {
			hexSig, ok := strings.CutPrefix(strings.TrimSpace(entry), signatureScheme)
			if !ok {
				continue
			}
			seen = true
			got, err := hex.DecodeString(hexSig)
			if err == nil && hmac.Equal(got, want) {
				matched = true // no early exit: every entry costs the same whichever matches
			}
		}
	}
	switch {
	case !seen:
		return fmt.Errorf("%w: no v1 entry in %s", ErrSignature, HeaderSignature)
	case !matched:
		return fmt.Errorf("%w: no v1 entry in %s matches", ErrSignature, HeaderSignature)
	}
	// Compare in seconds so that no duration overflows, whatever the timestamp.
	skew := now.Unix() - unix
	if skew < 0 {
		skew = -skew
	}
	if skew < 0 || skew > int64(tolerance/time.Second) {
		return fmt.Errorf("%w: signed at %d, now %d, tolerance %v", ErrStale, unix, now.Unix(), tolerance)
	}
	return nil
}
