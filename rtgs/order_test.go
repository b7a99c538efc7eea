package rtgs

import (
	"errors"
	"testing"
)

func TestCanMove(t *testing.T) {
	// want lists every legal move; every other pair, and every value beyond the statuses, is illegal.
	want := map[[2]Status]bool{
		{StatusNone, StatusWarehoused}: true, {StatusNone, StatusQueued}: true,
		{StatusNone, StatusSettled}: true, {StatusNone, StatusRejected}: true,
		{StatusWarehoused, StatusQueued}: true, {StatusWarehoused, StatusSettled}: true,
		{StatusWarehoused, StatusRejected}: true, {StatusWarehoused, StatusRevoked}: true,
		{StatusQueued, StatusSettled}: true, {StatusQueued, StatusRejected}: true,
		{StatusQueued, StatusRevoked}: true, {StatusQueued, StatusCancelledEOD}: true,
		{StatusSettled, StatusCredited}: true, {StatusSettled, StatusReturned}: true,
	}
	for from := Status(0); from <= statusCount; from++ {
		for to := Status(0); to <= statusCount; to++ {
			if got := CanMove(from, to); got != want[[2]Status{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
	finals := map[Status]bool{StatusCredited: true, StatusReturned: true, StatusRejected: true, StatusRevoked: true, StatusCancelledEOD: true}
	for s := Status(0); s <= statusCount; s++ {
		if got := s.Final(); got != finals[s] {
			t.Errorf("%s.Final() = %v", s, got)
		}
	}
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		s    Status
		want Code
	}{
		{StatusWarehoused, CodeOK},
		{StatusQueued, CodeOK},
		{StatusSettled, CodeIrrevocable},
		{StatusCredited, CodeIrrevocable},
		{StatusReturned, CodeIrrevocable},
		{StatusRejected, CodeOrderClosed},
		{StatusRevoked, CodeOrderClosed},
		{StatusCancelledEOD, CodeOrderClosed},
		{StatusNone, CodeOrderClosed},
	}
	for _, tt := range tests {
		if got := Revoke(tt.s); got != tt.want {
			t.Errorf("Revoke(%s) = %s, want %s", tt.s, got, tt.want)
		}
		if tt.want == CodeOK && !CanMove(tt.s, StatusRevoked) {
			t.Errorf("Revoke(%s) allowed, CanMove refuses", tt.s)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		v    interface{ MarshalText() ([]byte, error) }
		want string
	}{
		{TypeCustomer, "customer"}, {TypeInterbank, "interbank"},
		{PriorityUrgent, "urgent"}, {PriorityHigh, "high"}, {PriorityNormal, "normal"},
		{StatusWarehoused, "warehoused"}, {StatusCancelledEOD, "cancelled_eod"},
		{CodeBelowMinimum, "below_minimum"}, {CodeInsufficientLiquidityAtCutoff, "insufficient_liquidity_at_cutoff"},
		{id(1), "00000000-0000-0000-0000-000000000001"},
	}
	for _, tt := range tests {
		got, err := tt.v.MarshalText()
		if err != nil || string(got) != tt.want {
			t.Errorf("MarshalText(%v) = %q, %v; want %q", tt.v, got, err, tt.want)
		}
	}
	for _, v := range []interface{ MarshalText() ([]byte, error) }{Type(0), Type(3), Priority(0), Priority(4), StatusNone, statusCount, codeCount} {
		if b, err := v.MarshalText(); !errors.Is(err, ErrSyntax) {
			t.Errorf("MarshalText(%v) = %q, %v; want ErrSyntax", v, b, err)
		}
	}
	if got := Priority(9).String(); got != "Priority(9)" {
		t.Errorf("Priority(9).String() = %q", got)
	}
	if got := StatusNone.String(); got != "none" {
		t.Errorf("StatusNone.String() = %q", got)
	}
	for _, s := range []string{"", "Customer", "none", "ok "} {
		if _, err := ParseType(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseType(%q) = %v", s, err)
		}
		if _, err := ParseStatus(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseStatus(%q) = %v", s, err)
		}
	}
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	fields := map[string]bool{
		"": true, "type": true, "priority": true, "amount_rial": true, "reference": true, "payer_name": true,
		"payee_name": true, "description": true, "sender_bank": true, "receiver_bank": true, "payer_sheba": true,
		"payee_sheba": true, "effective_date": true,
	}
	for c := range codeCount {
		name := c.String()
		if name == "" || seen[name] {
			t.Errorf("code %d: name %q empty or repeated", c, name)
		}
		seen[name] = true
		if back, err := ParseCode(name); err != nil || back != c {
			t.Errorf("ParseCode(%q) = %v, %v", name, back, err)
		}
		if !fields[c.Field()] {
			t.Errorf("%s.Field() = %q: not a field of the order JSON", c, c.Field())
		}
		if c.Stateless() && c > CodeOK && c.Field() == "" {
			t.Errorf("%s is stateless but names no field for the 422", c)
		}
	}
	// Every stateless code comes before every code of state.
	for c := CodeOK + 1; c < codeCount; c++ {
		if c.Stateless() && !(c - 1).Stateless() {
			t.Errorf("stateless %s after %s, a code of state", c, c-1)
		}
	}
	if got := Code(200).String(); got != "Code(200)" {
		t.Errorf("Code(200).String() = %q", got)
	}
	r := &Rejection{Code: CodeBelowMinimum, Message: "too small", Hint: "use PAYA"}
	if got, want := r.String(), "below_minimum: too small (use PAYA)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestParseOrderID(t *testing.T) {
	x, err := ParseOrderID("0196B1A2-7C3D-7ABC-8DEF-0123456789AB")
	if err != nil || x.String() != "0196b1a2-7c3d-7abc-8def-0123456789ab" {
		t.Errorf("ParseOrderID = %s, %v", x, err)
	}
	var y OrderID
	if err := y.UnmarshalText([]byte("nope")); !errors.Is(err, ErrSyntax) {
		t.Errorf("UnmarshalText(nope) = %v", err)
	}
}
