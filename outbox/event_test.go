package outbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/outbox"
)

func validEvent() outbox.Event {
	return outbox.Event{
		Seq:       7,
		ID:        "0190f3c2-7a1b-7cde-8f01-23456789abcd",
		Topic:     "paya.credit",
		Key:       "017",
		Type:      "paya.entry",
		Payload:   []byte(`{"amount_rial":1000000,"bank":"017"}`),
		CreatedAt: time.Date(2025, 3, 21, 9, 30, 0, 0, time.UTC),
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*outbox.Event)
		field  string // "" when valid
		reason string // a substring of the reason
	}{
		{name: "valid", edit: func(*outbox.Event) {}},
		{name: "zero seq is fine before the store assigns it", edit: func(e *outbox.Event) { e.Seq = 0 }},
		{name: "topic at the limit", edit: func(e *outbox.Event) { e.Topic = strings.Repeat("t", outbox.TopicLenMax) }},
		{name: "key at the limit", edit: func(e *outbox.Event) { e.Key = strings.Repeat("k", outbox.KeyLenMax) }},
		{name: "payload at the limit", edit: func(e *outbox.Event) {
			e.Payload = []byte(`"` + strings.Repeat("x", outbox.PayloadBytesMax-2) + `"`)
		}},
		{name: "empty id", edit: func(e *outbox.Event) { e.ID = "" }, field: "ID"},
		{name: "upper-case id", edit: func(e *outbox.Event) { e.ID = strings.ToUpper(e.ID) }, field: "ID"},
		{name: "id without dashes", edit: func(e *outbox.Event) { e.ID = strings.ReplaceAll(e.ID, "-", "") }, field: "ID"},
		{name: "id with a dash moved", edit: func(e *outbox.Event) { e.ID = "0190f3c27-a1b-7cde-8f01-23456789abcd" }, field: "ID"},
		{name: "id with a non-hex digit", edit: func(e *outbox.Event) { e.ID = "0190f3c2-7a1b-7cde-8f01-23456789abcg" }, field: "ID"},
		{name: "empty topic", edit: func(e *outbox.Event) { e.Topic = "" }, field: "Topic", reason: "empty"},
		{name: "topic too long", edit: func(e *outbox.Event) { e.Topic = strings.Repeat("t", outbox.TopicLenMax+1) }, field: "Topic", reason: "limit"},
		{name: "topic dot", edit: func(e *outbox.Event) { e.Topic = "." }, field: "Topic"},
		{name: "topic dot dot", edit: func(e *outbox.Event) { e.Topic = ".." }, field: "Topic"},
		{name: "topic with a space", edit: func(e *outbox.Event) { e.Topic = "paya credit" }, field: "Topic", reason: "byte 4"},
		{name: "topic with a slash", edit: func(e *outbox.Event) { e.Topic = "paya/credit" }, field: "Topic", reason: "byte 4"},
		{name: "empty key", edit: func(e *outbox.Event) { e.Key = "" }, field: "Key", reason: "empty"},
		{name: "key too long", edit: func(e *outbox.Event) { e.Key = strings.Repeat("k", outbox.KeyLenMax+1) }, field: "Key", reason: "limit"},
		{name: "key with a newline", edit: func(e *outbox.Event) { e.Key = "01\n7" }, field: "Key", reason: "byte 2"},
		{name: "key not ascii", edit: func(e *outbox.Event) { e.Key = "۰۱۷" }, field: "Key", reason: "byte 0"},
		{name: "empty type", edit: func(e *outbox.Event) { e.Type = "" }, field: "Type", reason: "empty"},
		{name: "type too long", edit: func(e *outbox.Event) { e.Type = strings.Repeat("t", outbox.TypeLenMax+1) }, field: "Type", reason: "limit"},
		{name: "payload too big", edit: func(e *outbox.Event) {
			e.Payload = []byte(`"` + strings.Repeat("x", outbox.PayloadBytesMax-1) + `"`)
		}, field: "Payload", reason: "limit"},
		{name: "empty payload", edit: func(e *outbox.Event) { e.Payload = nil }, field: "Payload", reason: "JSON"},
		{name: "payload not json", edit: func(e *outbox.Event) { e.Payload = []byte(`{"amount_rial":`) }, field: "Payload", reason: "JSON"},
		{name: "zero created at", edit: func(e *outbox.Event) { e.CreatedAt = time.Time{} }, field: "CreatedAt"},
		{name: "first invalid field wins", edit: func(e *outbox.Event) { e.Key = ""; e.Topic = "" }, field: "Topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.edit(&e)
			err := e.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *outbox.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError for %s", err, tt.field)
			}
			if !errors.Is(err, outbox.ErrInvalid) {
				t.Errorf("Validate() = %v, does not wrap ErrInvalid", err)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q (err %v)", fe.Field, tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to mention %q", fe.Reason, tt.reason)
			}
		})
	}
}

func TestValidateClipsHugeID(t *testing.T) {
	e := validEvent()
	e.ID = strings.Repeat("ز", 10_000)
	err := e.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	if n := len(err.Error()); n > 200 {
		t.Errorf("error is %d bytes long, want it clipped: %.80s…", n, err)
	}
}

func FuzzValidate(f *testing.F) {
	e := validEvent()
	f.Add(e.ID, e.Topic, e.Key, e.Type, e.Payload)
	f.Add("", "..", "", " ", []byte("{"))
	f.Fuzz(func(t *testing.T, id, topic, key, typ string, payload []byte) {
		e := outbox.Event{ID: id, Topic: topic, Key: key, Type: typ, Payload: payload, CreatedAt: time.Unix(1, 0)}
		err := e.Validate()
		if err != nil && !errors.Is(err, outbox.ErrInvalid) {
			t.Fatalf("Validate() = %v, does not wrap ErrInvalid", err)
		}
	})
}
