package shahab

import (
	"errors"
	"testing"
)

// FuzzValidate feeds Validate arbitrary fields: it never panics, and every refusal is a *FieldError whose
// position lies inside the field it names.
func FuzzValidate(f *testing.F) {
	f.Add("6037991234567890", "6104-33", int64(1000), "0812", "123", "123456", "ref")
	f.Add("۶۰۳۷۹۹", "", int64(-1), "", "", "", "\xff")
	f.Fuzz(func(t *testing.T, src, dst string, amount int64, expiry, cvv2, pin2, ref string) {
		r := Request{SourcePAN: src, DestinationPAN: dst, AmountRial: amount, Expiry: expiry, CVV2: cvv2, PIN2: pin2, Reference: ref}
		_, err := Validate(r, testDir)
		if err == nil {
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate = %v, want a *FieldError", err)
		}
		values := map[string]string{"source_pan": src, "destination_pan": dst, "reference": ref}
		if v, ok := values[fe.Field]; ok && fe.Position > len([]rune(v))+1 {
			t.Fatalf("%s: position %d past the value's %d characters", fe.Field, fe.Position, len([]rune(v)))
		}
	})
}
