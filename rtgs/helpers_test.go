package rtgs

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/sheba"
)

// jalali parses a Jalali date such as "1404/01/05".
func jalali(t testing.TB, s string) calendar.Date {
	t.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

// at is hour:minute on the Jalali day s, in Tehran.
func at(t testing.TB, s string, hour, minute int) time.Time {
	t.Helper()
	return jalali(t, s).At(hour, minute)
}

// profile returns a profile of the default rulebook.
func profile(t testing.TB, name string) rulebook.Profile {
	t.Helper()
	p, err := rulebook.Default().Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// account makes the SHEBA of account number n at bank code.
func account(t testing.TB, code string, n string) string {
	t.Helper()
	x, err := sheba.Generate(code, 0, n)
	if err != nil {
		t.Fatalf("sheba.Generate(%s, %s): %v", code, n, err)
	}
	return x.String()
}

// testEnv is the seed profile, the default calendar and the shipped registry.
func testEnv(t testing.TB) Env {
	return Env{Banks: banks.Default(), Profile: profile(t, "seed"), Calendar: calendar.Default()}
}

// suspend returns reg with the banks of codes suspended.
func suspend(t testing.TB, reg *banks.Registry, codes ...string) *banks.Registry {
	t.Helper()
	for _, c := range codes {
		var err error
		if reg, err = reg.WithStatus(c, banks.StatusSuspended); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// id makes the OrderID whose last eight bytes are n.
func id(n uint64) OrderID {
	var x OrderID
	binary.BigEndian.PutUint64(x[8:], n)
	return x
}

// parsianSHEBA is a real published SHEBA (DOMAIN.md §2), an account of 054 Parsian.
const parsianSHEBA = "IR820540102680020817909002"

// customerOrder is a valid customer order under seed: 200,000,000 rial from a Parsian customer to a Melli
// one, received on a business day (1404-01-18, Monday 2025-04-07) at 10:00.
func customerOrder(t testing.TB) Order {
	return Order{
		ID:           id(1),
		Type:         TypeCustomer,
		SenderBank:   "054",
		ReceiverBank: "017",
		PayerSHEBA:   parsianSHEBA,
		PayerName:    "مریم احمدی",
		PayeeSHEBA:   account(t, "017", "123456789"),
		PayeeName:    "علی\u200cرضا کریمی", // a zero-width non-joiner, as Persian names have
		AmountRial:   200_000_000,
		Description:  "اجاره فروردین",
		Reference:    "PRS-20250407-0001",
		Priority:     PriorityNormal,
		ReceivedAt:   at(t, "1404/01/18", 10, 0),
	}
}

// interbankOrder is a valid interbank order: 054 Parsian pays 012 Mellat 5,000,000 rial.
func interbankOrder(t testing.TB) Order {
	return Order{
		ID:           id(2),
		Type:         TypeInterbank,
		SenderBank:   "054",
		ReceiverBank: "012",
		AmountRial:   5_000_000,
		Reference:    "PRS-IB-0001",
		Priority:     PriorityUrgent,
		ReceivedAt:   at(t, "1404/01/18", 10, 0),
	}
}
