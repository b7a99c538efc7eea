package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tasvieh/tasvieh/outbox"
)

// Limits of a synchronous call.
const (
	// CallBodyBytesMax bounds the request a rail sends: a credit request is a few hundred bytes of JSON
	// (cards, amount, reference); 64 KiB leaves room for any rail's request without becoming a file.
	CallBodyBytesMax = 64 << 10
	// CallResponseBytesMax bounds the answer read from a bank: an answer is a status and a reference, well
	// under 1 KiB; 64 KiB is plenty, and a bank cannot make the switch buffer more.
	CallResponseBytesMax = 64 << 10
)

// Errors of Call, besides ErrSignature, ErrStale and ErrURL.
var (
	// ErrResponseTooLarge is wrapped when a bank's answer is longer than CallResponseBytesMax.
	ErrResponseTooLarge = errors.New("webhook: answer longer than the limit")
	// ErrNoDeadline is wrapped when Call is given neither a context deadline nor a client timeout: every
	// request tasvieh makes has one.
	ErrNoDeadline = errors.New("webhook: call without a deadline")
	// ErrCall is wrapped when the arguments of a call are invalid (besides its URL: ErrURL).
	ErrCall = errors.New("webhook: invalid call")
)

// Call makes the synchronous signed request a rail makes of an external bank, such as SHAHAB's credit
// request, on the bank's webhook endpoint: a POST of body (JSON, as it is, not wrapped) with HeaderEventType
// set to typ and signed with secret at now. The bank's answer must be signed the same way, with the same
// secret, over the answer's body, within ToleranceDefault of now; an answer that does not verify is refused
// with ErrSignature (or ErrStale), and its status comes back with the error, its body does not. A verified
// answer of any status comes back whole: what the status means is the rail's decision.
//
// now stamps the request and is the reference for the answer's timestamp, so it is network time — a wall
// clock's Now, as the receiver's is — not a simulated business clock. The call's deadline is ctx's (or the
// client's Timeout; one of the two is required); redirects are never followed. The answer is read up to
// CallResponseBytesMax and refused past it with ErrResponseTooLarge.
func Call(ctx context.Context, client *http.Client, url string, secret, typ string, body []byte, now time.Time) (status int, resp []byte, err error) {
	if err := ValidateURL(url); err != nil {
		return 0, nil, err
	}
	if typ == "" || len(typ) > outbox.TypeLenMax {
		return 0, nil, fmt.Errorf("%w: type of %d bytes: want 1..%d", ErrCall, len(typ), outbox.TypeLenMax)
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; c <= ' ' || c >= 0x7f {
			return 0, nil, fmt.Errorf("%w: type %q: a byte at %d that a header cannot carry", ErrCall, clip(typ), i)
		}
	}
	if len(body) > CallBodyBytesMax {
		return 0, nil, fmt.Errorf("%w: body of %d bytes, more than %d", ErrCall, len(body), CallBodyBytesMax)
	}
	if _, ok := ctx.Deadline(); !ok && (client == nil || client.Timeout <= 0) {
		return 0, nil, fmt.Errorf("%w: %s %s", ErrNoDeadline, typ, clip(url))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("webhook: call %s: %w", typ, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEventType, typ)
	SignHeader(req.Header, secret, now, body)
	res, err := noRedirects(client).Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("webhook: call %s: %w", typ, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, CallResponseBytesMax+1))
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("webhook: call %s: read answer: %w", typ, err)
	}
	if len(answer) > CallResponseBytesMax {
		return res.StatusCode, nil, fmt.Errorf("%w: call %s: answer of more than %d bytes", ErrResponseTooLarge, typ, CallResponseBytesMax)
	}
	if err := Verify(secret, res.Header, answer, now, ToleranceDefault); err != nil {
		return res.StatusCode, nil, fmt.Errorf("webhook: call %s: answer %d: %w", typ, res.StatusCode, err)
	}
	return res.StatusCode, answer, nil
}
