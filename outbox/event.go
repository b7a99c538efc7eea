package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Kafka header names. The publisher writes them on every message and the consumer reads them back, so an
// event keeps its identity across the broker; the event's topic and key travel as the message's own.
const (
	// HeaderID carries Event.ID, the key consumers deduplicate on.
	HeaderID = "tasvieh-event-id"
	// HeaderType carries Event.Type.
	HeaderType = "tasvieh-event-type"
	// HeaderSeq carries Event.Seq in decimal, for tracing a message back to its outbox row.
	HeaderSeq = "tasvieh-outbox-seq"
)

// Limits checked by Validate.
const (
	// IDLen is the length of a UUID in canonical text form, 8-4-4-4-12 hexadecimal digits (RFC 9562).
	IDLen = 36
	// TopicLenMax is Kafka's own limit on a topic name (org.apache.kafka.common.internals.Topic).
	TopicLenMax = 249
	// KeyLenMax bounds the partition key. Keys are three-digit bank codes today; 64 leaves room for a
	// composite routing key without letting a key grow into a payload.
	KeyLenMax = 64
	// TypeLenMax bounds the event type, a short dotted name such as "paya.entry".
	TypeLenMax = 64
	// PayloadBytesMax bounds the JSON payload. A Kafka broker rejects a record batch larger than
	// message.max.bytes, 1,048,588 bytes by default; half a mebibyte keeps one event with its key, headers
	// and batch overhead well inside that on an untuned broker. A PAYA entry is about 1 KiB of JSON.
	PayloadBytesMax = 512 << 10
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("outbox: invalid event")

// FieldError says which field of an event is invalid and why. It wraps ErrInvalid.
type FieldError struct {
	Field  string // the Event field's name, e.g. "Topic"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("outbox: invalid event: %s: %s", e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return ErrInvalid }

// Event is a fact to publish, written to PostgreSQL in the same transaction as the state change that caused
// it. Events are relayed in Seq order; Kafka keeps that order among events with the same Key.
type Event struct {
	// Seq is the outbox row's sequence, assigned by the store; it is the order of relay. Zero until stored.
	Seq int64
	// ID identifies the event for ever: a UUID in lower-case canonical text, "8-4-4-4-12". Consumers
	// deduplicate on it, because Kafka delivers at least once.
	ID string
	// Topic is the Kafka topic, e.g. "paya.credit", "paya.debit", "notifications".
	Topic string
	// Key is the Kafka partition key, the bank code such as "017": one bank's events share a partition
	// and so keep their order.
	Key string
	// Type names the payload's schema, e.g. "ledger.transfer", "paya.entry".
	Type string
	// Payload is the event body, JSON.
	Payload []byte
	// CreatedAt is when the state change happened, on the injected clock. Kafka keeps it to the
	// millisecond as the message timestamp.
	CreatedAt time.Time
}

// Validate reports the first invalid field, checked in declaration order, as a *FieldError. Seq is not
// checked: it is zero until the store assigns it.
func (e Event) Validate() error {
	if !validID(e.ID) {
		return &FieldError{Field: "ID", Reason: fmt.Sprintf("%q is not a lower-case canonical UUID", clip(e.ID))}
	}
	if err := ValidateTopic(e.Topic); err != nil {
		return err
	}
	if r := tokenProblem(e.Key, KeyLenMax); r != "" {
		return &FieldError{Field: "Key", Reason: r}
	}
	if r := tokenProblem(e.Type, TypeLenMax); r != "" {
		return &FieldError{Field: "Type", Reason: r}
	}
	if len(e.Payload) > PayloadBytesMax {
		return &FieldError{Field: "Payload", Reason: fmt.Sprintf("%d bytes, more than the limit of %d", len(e.Payload), PayloadBytesMax)}
	}
	if !json.Valid(e.Payload) {
		return &FieldError{Field: "Payload", Reason: "not valid JSON"}
	}
	if e.CreatedAt.IsZero() {
		return &FieldError{Field: "CreatedAt", Reason: "zero time"}
	}
	return nil
}

// validID reports whether s is a UUID in lower-case canonical text. PostgreSQL's uuid type prints this
// form, so an ID read back from the outbox compares equal to the one written.
func validID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// ValidateTopic applies Kafka's rules for topic names — 1 to TopicLenMax of [a-zA-Z0-9._-], and not "."
// or ".." — and reports a problem as a *FieldError for the Topic field.
func ValidateTopic(topic string) error {
	if r := topicProblem(topic); r != "" {
		return &FieldError{Field: "Topic", Reason: r}
	}
	return nil
}

func topicProblem(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > TopicLenMax:
		return fmt.Sprintf("%d bytes, more than the limit of %d", len(s), TopicLenMax)
	case s == "." || s == "..":
		return fmt.Sprintf("%q is not a legal Kafka topic", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Sprintf("byte %d (%q) is not one of [a-zA-Z0-9._-]", i, c)
		}
	}
	return ""
}

// tokenProblem checks a key or type: non-empty, at most max bytes, printable ASCII without spaces, so it
// reads the same in a log line, a Kafka tool and a header.
func tokenProblem(s string, max int) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > max:
		return fmt.Sprintf("%d bytes, more than the limit of %d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return fmt.Sprintf("byte %d (%q) is not printable ASCII", i, c)
		}
	}
	return ""
}

// clip shortens s for an error message, so a huge invalid value does not flood a log line.
func clip(s string) string {
	const clipLen = 48 // a UUID plus room to see what went wrong
	if len(s) <= clipLen {
		return s
	}
	cut := clipLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
