package ach

import (
	"testing"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/rulebook"
	"github.com/tasvieh/tasvieh/sheba"
)

// parsianSHEBA is a real published SHEBA (DOMAIN.md §2), an account of 054 Parsian: the employer of the
// tests' payroll files.
const parsianSHEBA = "IR820540102680020817909002"

// pasargadSHEBA is a real published SHEBA of 057 Pasargad.
const pasargadSHEBA = "IR550570022080013447370101"

// profile returns a profile of the default rulebook.
func profile(t testing.TB, name string) rulebook.Profile {
	t.Helper()
	p, err := rulebook.Default().Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testEnv is the shipped registry and the named profile.
func testEnv(t testing.TB, name string) Env {
	return Env{Banks: banks.Default(), Profile: profile(t, name)}
}

// account makes the SHEBA of account number n at bank code.
func account(t testing.TB, code, n string) string {
	t.Helper()
	x, err := sheba.Generate(code, 0, n)
	if err != nil {
		t.Fatalf("sheba.Generate(%s, %s): %v", code, n, err)
	}
	return x.String()
}

// breakChecksum changes the last digit of a SHEBA, which MOD 97-10 always detects.
func breakChecksum(s string) string {
	last := s[len(s)-1]
	return s[:len(s)-1] + string(rune('0'+(last-'0'+1)%10))
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

// employer is the originator of the tests' payroll files: a company banking with 054 Parsian.
var employer = Originator{Bank: "054", SHEBA: parsianSHEBA, Name: "شرکت نمونه پارس"}

// validCredit is a valid credit under seed: 054 Parsian's customer pays a Melli customer 50,000,000 rial.
func validCredit(t testing.TB) Entry {
	return Entry{
		Core:            CoreCredit,
		OriginatingBank: "054",
		PayerSHEBA:      parsianSHEBA,
		PayerName:       "شرکت نمونه پارس",
		PayeeSHEBA:      account(t, "017", "123456789"),
		PayeeName:       "علی\u200cرضا کریمی", // a zero-width non-joiner, as Persian names have
		AmountRial:      50_000_000,
		Description:     "حقوق فروردین ۱۴۰۴",
		Reference:       "PAY-1404-01-0001",
	}
}

// validDebit is a valid debit under seed: a biller banking with 012 Mellat collects 3,200,000 rial from a
// Melli customer under a mandate.
func validDebit(t testing.TB) Entry {
	return Entry{
		Core:            CoreDebit,
		OriginatingBank: "012",
		PayerSHEBA:      account(t, "017", "555000111"),
		PayerName:       "مریم احمدی",
		PayeeSHEBA:      account(t, "012", "900100200"),
		PayeeName:       "شرکت آب و فاضلاب تهران",
		AmountRial:      3_200_000,
		Description:     "قبض آب اسفند",
		Reference:       "WTR-1403-12-778",
		MandateID:       "0196b1a2-7c3d-7abc-8def-0123456789ab",
	}
}
