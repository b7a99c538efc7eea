package shahab

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tasvieh/tasvieh/card"
)

// The outcome codes of a transfer: stable strings, safe to show in an API. A rejected transfer moved no
// money; a refunded one was debited at the issuer and given back whole, with no fee.
const (
	CodeApproved = "approved" // succeeded: the destination credited, the fee charged

	// Rejected, in the order Check looks (see there).
	CodeSameCard           = "same_card"            // source and destination are one card
	CodeCardNotFound       = "card_not_found"       // the source card is in no book of its issuer
	CodeCardBlocked        = "card_blocked"         // blocked (by the issuer, or after wrong second PINs)
	CodeCardExpired        = "card_expired"         // past its expiry, or marked expired
	CodeCardLost           = "card_lost"            // reported lost
	CodeExpiryMismatch     = "expiry_mismatch"      // the expiry typed is not the card's
	CodeCVV2Wrong          = "cvv2_wrong"           // the CVV2 does not match
	CodePIN2Wrong          = "pin2_wrong"           // the second PIN (static, or the one-time code) does not match
	CodePIN2TriesExceeded  = "pin2_tries_exceeded"  // this wrong second PIN was the last allowed: the card is now blocked
	CodeDailyLimitExceeded = "daily_limit_exceeded" // with it, the card's transfers today would pass the rulebook's limit
	CodeInsufficientFunds  = "insufficient_funds"   // the linked account cannot cover the amount and the fee
	CodeAccountBlocked     = "account_blocked"      // the linked account is blocked or closed
	CodeIssuerUnavailable  = "issuer_unavailable"   // the source card's bank does not answer (offline, suspended, timed out, or played as external)

	// Refunded: the destination could not credit.
	CodeDestinationUnavailable = "destination_unavailable" // offline or suspended
	CodeDestinationTimeout     = "destination_timeout"     // no answer by the deadline
	CodeDestinationFailed      = "destination_failed"      // the destination bank failed (its failure rate)
	CodeDestinationRefused     = "destination_refused"     // an external destination refused without a code of ours
	// A destination card that cannot receive refunds with the card's own code: card_not_found, card_blocked,
	// card_expired, card_lost, and account_blocked for its linked account.
)

// Limits of a request.
const (
	// AmountRialMax bounds one transfer: 10,000,000,000 rial, far above any rulebook's daily limit per card
	// (150,000,000 in the seed), so the limit — not this — is what refuses a large transfer, while sums of
	// a day's transfers stay far from overflow.
	AmountRialMax = 10_000_000_000
	// ReferenceLenMax bounds the submitting bank's reference, in bytes, as the API's schema does.
	ReferenceLenMax = 64
	// PIN2Digits bound a second PIN: static ones are 5–12 digits, one-time codes 5–8.
	PIN2DigitsMin = 5
	PIN2DigitsMax = 12
)

// ErrInvalid is wrapped by every error of Validate.
var ErrInvalid = errors.New("shahab: invalid request")

// FieldError says which field of a request is wrong and, where it is about one character, at which
// 1-based character position.
type FieldError struct {
	Field    string // JSON name
	Position int    // 0 when about the whole value
	Code     string // card's code for a PAN (character, length, luhn, zero_segment, unknown_bin), else "invalid"
	Msg      string
}

func (e *FieldError) Error() string {
	if e.Position > 0 {
		return fmt.Sprintf("shahab: %s: %s (at character %d)", e.Field, e.Msg, e.Position)
	}
	return fmt.Sprintf("shahab: %s: %s", e.Field, e.Msg)
}

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Request is a transfer as the cardholder gave it.
type Request struct {
	SourcePAN, DestinationPAN string
	AmountRial                int64
	Expiry                    string // YYMM, Jalali, as printed
	CVV2, PIN2                string
	Reference                 string
}

// Parsed is a request that passed Validate: the cards checked and routed.
type Parsed struct {
	Source, Destination         card.PAN
	SourceBank, DestinationBank card.Bank
}

// OnUs reports whether both cards route to one bank: the transfer is one chain in its book.
func (p Parsed) OnUs() bool { return p.SourceBank.Code == p.DestinationBank.Code }

// Validate checks the request's shape, in field order, and routes both cards through dir (merged banks'
// BINs to their successor). The first problem is a *FieldError wrapping ErrInvalid. It does not look at
// any book: whether the cards exist and the secrets match is Check's.
func Validate(r Request, dir card.Directory) (Parsed, error) {
	var p Parsed
	var err error
	if p.Source, p.SourceBank, err = ParsePAN("source_pan", r.SourcePAN, dir); err != nil {
		return p, err
	}
	if p.Destination, p.DestinationBank, err = ParsePAN("destination_pan", r.DestinationPAN, dir); err != nil {
		return p, err
	}
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Code: "invalid", Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case r.AmountRial < 1 || r.AmountRial > AmountRialMax:
		return p, bad("amount_rial", "%d outside 1..%d", r.AmountRial, AmountRialMax)
	case !digitsOnly(r.Expiry, 4, 4) || r.Expiry[2:] < "01" || r.Expiry[2:] > "12":
		return p, bad("expiry", "want the card's expiry as printed, YYMM (Jalali), month 01–12")
	case !digitsOnly(r.CVV2, 3, 4):
		return p, bad("cvv2", "want 3 or 4 digits")
	case !digitsOnly(r.PIN2, PIN2DigitsMin, PIN2DigitsMax):
		return p, bad("pin2", "want %d to %d digits", PIN2DigitsMin, PIN2DigitsMax)
	}
	if pos := referenceProblem(r.Reference); pos != 0 {
		if pos < 0 {
			return p, bad("reference", "want 1 to %d bytes", ReferenceLenMax)
		}
		return p, &FieldError{Field: "reference", Position: pos, Code: "invalid", Msg: "a control character or invalid UTF-8"}
	}
	return p, nil
}

// ParsePAN checks one card number of field, as the card package does, and routes it.
func ParsePAN(field, s string, dir card.Directory) (card.PAN, card.Bank, error) {
	pan, bank, err := card.Parse(s, dir)
	if err != nil {
		var ce *card.Error
		if errors.As(err, &ce) {
			return pan, bank, &FieldError{Field: field, Position: ce.Position, Code: string(ce.Code), Msg: ce.Message}
		}
		return pan, bank, &FieldError{Field: field, Code: "invalid", Msg: err.Error()}
	}
	return pan, bank, nil
}

// referenceProblem is 0 for a good reference, −1 for a bad length, else the 1-based character position of
// the first control character or invalid byte.
func referenceProblem(s string) int {
	if len(s) < 1 || len(s) > ReferenceLenMax {
		return -1
	}
	for i, pos := 0, 1; i < len(s); pos++ {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r < ' ' || r == 0x7f {
			return pos
		}
		i += size
	}
	return 0
}

func digitsOnly(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
