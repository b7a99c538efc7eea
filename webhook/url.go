package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URLBytesMax bounds an endpoint URL: 2,048 bytes, the length past which browsers, proxies and servers stop
// agreeing to handle a URL; postgres.WebhookURLBytesMax keeps the column to the same bound.
const URLBytesMax = 2048

// ErrURL is wrapped by every error ValidateURL returns.
var ErrURL = errors.New("webhook: invalid endpoint url")

// ValidateURL accepts an absolute http or https URL with a host, of at most URLBytesMax bytes, without
// credentials (they would be stored and shown with the URL) and without a fragment (never sent). Call it
// before postgres.Webhooks.Set.
func ValidateURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrURL)
	}
	if len(raw) > URLBytesMax {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrURL, len(raw), URLBytesMax)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: a space or control character at byte %d", ErrURL, i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: scheme %q: want http or https", ErrURL, clip(u.Scheme))
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%w: no host", ErrURL)
	case u.User != nil:
		return fmt.Errorf("%w: holds credentials", ErrURL)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%w: holds a fragment", ErrURL)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q: want 1..65535", ErrURL, clip(p))
		}
	}
	return nil
}

// clip shortens a value quoted in an error, so that an error never grows with its input.
func clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
