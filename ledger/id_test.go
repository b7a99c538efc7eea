package ledger

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestIDString(t *testing.T) {
	id := ID{0x01, 0x8f, 0x3a, 0x5b, 0xc2, 0xd4, 0x7e, 0x01, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78}
	const want = "018f3a5b-c2d4-7e01-9abc-def012345678"
	if got := id.String(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, s := range []string{want, strings.ToUpper(want)} {
		back, err := ParseID(s)
		if err != nil || back != id {
			t.Fatalf("ParseID(%q) = %v, %v", s, back, err)
		}
	}
	if !(ID{}).IsZero() || id.IsZero() {
		t.Fatal("IsZero")
	}
	if (ID{}).String() != "00000000-0000-0000-0000-000000000000" {
		t.Fatal((ID{}).String())
	}
}

func TestParseIDErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the message
	}{
		{"", "length 0"},
		{"018f3a5bc2d47e019abcdef012345678", "length 32"},
		{"018f3a5b-c2d4-7e01-9abc-def01234567g", "position 35"},
		{"018f3a5b_c2d4-7e01-9abc-def012345678", "position 8"},
		{"018f3a5b-c2d4-7e01-9abc-def01234567-", "position 35"},
		{"x18f3a5b-c2d4-7e01-9abc-def012345678", "position 0"},
		{"018f3a5b-c2d4-7e01-9abc+def012345678", "position 23"},
	}
	for _, tc := range tests {
		_, err := ParseID(tc.in)
		if !errors.Is(err, ErrIDSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseID(%q) = %v, want ErrIDSyntax with %q", tc.in, err, tc.want)
		}
	}
}

func TestIDJSON(t *testing.T) {
	in := struct{ ID ID }{idOf('j', 42)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ID":"6a000000-0000-0000-0000-00000000002b"}` {
		t.Fatalf("got %s", b)
	}
	var out struct{ ID ID }
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip: %v %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"ID":"nope"}`), &out); !errors.Is(err, ErrIDSyntax) {
		t.Fatalf("bad id: %v", err)
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("018f3a5b-c2d4-7e01-9abc-def012345678")
	f.Add("00000000-0000-0000-0000-000000000000")
	f.Add("018F3A5B-C2D4-7E01-9ABC-DEF012345678")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("ParseID(%q).String() = %s", s, id)
		}
		back, err := ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("round trip %s: %v %v", id, back, err)
		}
	})
}
