package banks

import "testing"

func TestAsOfUndoesLaterMergers(t *testing.T) {
	r := Default()
	for _, tc := range []struct {
		day        string
		wantActive bool
	}{
		{"2025-10-24", true},  // the day before Ayandeh's dissolution into Melli took effect
		{"2025-10-25", false}, // the day it did
		{"2026-12-01", false},
	} {
		b, ok := r.AsOf(tc.day).ByCode("062")
		if !ok {
			t.Fatal("062 Ayandeh missing")
		}
		if b.Active() != tc.wantActive {
			t.Errorf("AsOf(%s): Ayandeh active = %v, want %v (%+v)", tc.day, b.Active(), tc.wantActive, b)
		}
		if code, _, ok := r.AsOf(tc.day).LookupBIN("636214"); !ok || (code == "062") != tc.wantActive {
			t.Errorf("AsOf(%s): BIN 636214 routes to %s", tc.day, code)
		}
	}
	if r.AsOf("2026-12-01") != r {
		t.Error("AsOf a day after every change should return the registry itself")
	}
	if b, _ := r.AsOf("2000-01-01").ByCode("063"); b.Active() {
		t.Error("Ansar's merger (since a year only) must stay in force")
	}
}
