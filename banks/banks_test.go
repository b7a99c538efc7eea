package banks_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tasvieh/tasvieh/banks"
)

func TestDefaultParsesShippedTable(t *testing.T) {
	reg := banks.Default()
	all := reg.All()
	if len(all) == 0 {
		t.Fatal("Default().All() is empty")
	}
	if got := reg.Len(); got != len(all) {
		t.Errorf("Len() = %d, want len(All()) = %d", got, len(all))
	}
	codes := make([]string, len(all))
	for i, b := range all {
		codes[i] = b.Code
	}
	if !slices.IsSorted(codes) {
		t.Errorf("All() not sorted by code: %v", codes)
	}
	// DOMAIN.md §2: ship the real table, codes 010–095.
	if codes[0] != "010" || codes[len(codes)-1] != "095" {
		t.Errorf("codes run %s…%s, want 010…095", codes[0], codes[len(codes)-1])
	}
	if again := banks.Default(); again != reg {
		t.Error("Default() returned a different registry on the second call; want the one parsed once")
	}
}

func TestByCode(t *testing.T) {
	tests := []struct {
		code          string
		wantOK        bool
		wantName      string
		wantStatus    banks.Status
		wantSuccessor string
		wantSince     string
		wantActive    bool
	}{
		{code: "010", wantOK: true, wantName: "Central Bank of Iran", wantStatus: banks.StatusCentral, wantActive: true},
		{code: "017", wantOK: true, wantName: "Melli", wantStatus: banks.StatusActive, wantActive: true},
		{code: "012", wantOK: true, wantName: "Mellat", wantStatus: banks.StatusActive, wantActive: true},
		{code: "054", wantOK: true, wantName: "Parsian", wantStatus: banks.StatusActive, wantActive: true},
		{code: "063", wantOK: true, wantName: "Ansar", wantStatus: banks.StatusMerged, wantSuccessor: "015", wantSince: "2019"},
		{code: "062", wantOK: true, wantName: "Ayandeh", wantStatus: banks.StatusDissolved, wantSuccessor: "017", wantSince: "2025-10-25"},
		{code: "296"},  // the CBI's worked example: a code that names no bank
		{code: "17"},   // too short
		{code: "0170"}, // too long
		{code: "01a"},
		{code: ""},
	}
	reg := banks.Default()
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			b, ok := reg.ByCode(tt.code)
			if ok != tt.wantOK {
				t.Fatalf("ByCode(%q) ok = %v, want %v", tt.code, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if b.Code != tt.code || b.NameEN != tt.wantName {
				t.Errorf("ByCode(%q) = %s %q, want %s %q", tt.code, b.Code, b.NameEN, tt.code, tt.wantName)
			}
			if b.Status != tt.wantStatus || b.Successor != tt.wantSuccessor || b.Since != tt.wantSince {
				t.Errorf("ByCode(%q) status/successor/since = %s/%q/%q, want %s/%q/%q",
					tt.code, b.Status, b.Successor, b.Since, tt.wantStatus, tt.wantSuccessor, tt.wantSince)
			}
			if got := b.Active(); got != tt.wantActive {
				t.Errorf("ByCode(%q).Active() = %v, want %v", tt.code, got, tt.wantActive)
			}
			if b.NameFA == "" {
				t.Errorf("ByCode(%q).NameFA is empty", tt.code)
			}
		})
	}
}

func TestByBINAndLookupBIN(t *testing.T) {
	tests := []struct {
		bin        string
		wantIssuer string // ByBIN: the bank listed as issuer
		wantRoute  string // LookupBIN: the bank that routes today
		wantName   string // LookupBIN name
	}{
		// DOMAIN.md §2 examples.
		{bin: "603799", wantIssuer: "017", wantRoute: "017", wantName: "Melli"},
		{bin: "610433", wantIssuer: "012", wantRoute: "012", wantName: "Mellat"},
		{bin: "589210", wantIssuer: "015", wantRoute: "015", wantName: "Sepah"},
		{bin: "621986", wantIssuer: "056", wantRoute: "056", wantName: "Saman"},
		// Merged banks' BINs still route, to Sepah.
		{bin: "627381", wantIssuer: "063", wantRoute: "015", wantName: "Sepah"}, // Ansar
		{bin: "639599", wantIssuer: "052", wantRoute: "015", wantName: "Sepah"}, // Ghavamin
		{bin: "636949", wantIssuer: "065", wantRoute: "015", wantName: "Sepah"}, // Hekmat
		{bin: "505801", wantIssuer: "073", wantRoute: "015", wantName: "Sepah"}, // Kosar
		{bin: "639370", wantIssuer: "079", wantRoute: "015", wantName: "Sepah"}, // Mehr Eghtesad
		// Ayandeh, dissolved into Melli from 1404-08-03 / 2025-10-25.
		{bin: "636214", wantIssuer: "062", wantRoute: "017", wantName: "Melli"},
		{bin: "123456"},
		{bin: "60379"},
		{bin: ""},
	}
	reg := banks.Default()
	for _, tt := range tests {
		t.Run(tt.bin, func(t *testing.T) {
			b, ok := reg.ByBIN(tt.bin)
			if ok != (tt.wantIssuer != "") || b.Code != tt.wantIssuer {
				t.Errorf("ByBIN(%q) = %q, %v; want %q, %v", tt.bin, b.Code, ok, tt.wantIssuer, tt.wantIssuer != "")
			}
			if ok && !slices.Contains(b.BINs, tt.bin) {
				t.Errorf("ByBIN(%q) returned %s whose BINs %v lack it", tt.bin, b.Code, b.BINs)
			}
			code, name, ok := reg.LookupBIN(tt.bin)
			if ok != (tt.wantRoute != "") || code != tt.wantRoute || name != tt.wantName {
				t.Errorf("LookupBIN(%q) = %q, %q, %v; want %q, %q, %v",
					tt.bin, code, name, ok, tt.wantRoute, tt.wantName, tt.wantRoute != "")
			}
		})
	}
}

func TestRoute(t *testing.T) {
	tests := []struct {
		code, want string
	}{
		{"063", "015"}, {"052", "015"}, {"065", "015"}, {"073", "015"}, {"079", "015"},
		{"062", "017"},
		{"017", "017"}, {"010", "010"},
		{"296", ""},
	}
	reg := banks.Default()
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			b, ok := reg.Route(tt.code)
			if ok != (tt.want != "") || b.Code != tt.want {
				t.Errorf("Route(%q) = %q, %v; want %q, %v", tt.code, b.Code, ok, tt.want, tt.want != "")
			}
		})
	}
}

// Every identifier in the shipped table must reach a bank that can take it.
func TestShippedTableRoutesToActiveBanks(t *testing.T) {
	reg := banks.Default()
	for _, b := range reg.All() {
		r, ok := reg.Route(b.Code)
		if !ok || !r.Active() {
			t.Errorf("Route(%s) = %s (%s), %v; want an active bank", b.Code, r.Code, r.Status, ok)
		}
		for _, bin := range b.BINs {
			code, _, ok := reg.LookupBIN(bin)
			if !ok || code != r.Code {
				t.Errorf("LookupBIN(%s) of bank %s = %q, %v; want %s", bin, b.Code, code, ok, r.Code)
			}
		}
	}
}

func TestLookupSHEBA(t *testing.T) {
	tests := []struct {
		code          string
		wantFound     bool
		wantActive    bool
		wantSuccessor string
	}{
		{code: "054", wantFound: true, wantActive: true},
		{code: "010", wantFound: true, wantActive: true},
		{code: "063", wantFound: true, wantSuccessor: "015 Sepah"},
		{code: "062", wantFound: true, wantSuccessor: "017 Melli"},
		{code: "296"},
		{code: "x"},
	}
	reg := banks.Default()
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			found, active, succ := reg.LookupSHEBA(tt.code)
			if found != tt.wantFound || active != tt.wantActive || succ != tt.wantSuccessor {
				t.Errorf("LookupSHEBA(%q) = %v, %v, %q; want %v, %v, %q",
					tt.code, found, active, succ, tt.wantFound, tt.wantActive, tt.wantSuccessor)
			}
		})
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	reg := banks.Default()
	if n := testing.AllocsPerRun(100, func() { reg.LookupSHEBA("063") }); n != 0 {
		t.Errorf("LookupSHEBA allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { reg.LookupBIN("627381") }); n != 0 {
		t.Errorf("LookupBIN allocates %v times per call, want 0", n)
	}
}

func TestWithStatus(t *testing.T) {
	reg := banks.Default()
	suspended, err := reg.WithStatus("056", banks.StatusSuspended)
	if err != nil {
		t.Fatalf("WithStatus(056, suspended) error = %v", err)
	}
	if b, _ := suspended.ByCode("056"); b.Status != banks.StatusSuspended || b.Active() {
		t.Errorf("after suspension 056 status = %s, Active() = %v; want suspended, false", b.Status, b.Active())
	}
	if b, _ := reg.ByCode("056"); b.Status != banks.StatusActive {
		t.Errorf("original registry changed: 056 status = %s, want active", b.Status)
	}
	// A suspended bank's identifiers stay valid and route to it.
	if found, active, _ := suspended.LookupSHEBA("056"); !found || !active {
		t.Errorf("suspended LookupSHEBA(056) = %v, %v; want true, true", found, active)
	}
	if code, _, ok := suspended.LookupBIN("621986"); !ok || code != "056" {
		t.Errorf("suspended LookupBIN(621986) = %q, %v; want 056, true", code, ok)
	}
	// Other lookups survive the copy.
	if code, _, ok := suspended.LookupBIN("627381"); !ok || code != "015" {
		t.Errorf("suspended registry LookupBIN(627381) = %q, %v; want 015", code, ok)
	}
	back, err := suspended.WithStatus("056", banks.StatusActive)
	if err != nil {
		t.Fatalf("reinstate error = %v", err)
	}
	if !reflect.DeepEqual(back.All(), reg.All()) {
		t.Error("suspend then reinstate did not give back the original table")
	}

	errTests := []struct {
		name    string
		code    string
		status  banks.Status
		wantErr error
	}{
		{"unknown code", "296", banks.StatusSuspended, banks.ErrUnknownBank},
		{"malformed code", "56", banks.StatusSuspended, banks.ErrUnknownBank},
		{"cannot merge", "056", banks.StatusMerged, banks.ErrStatus},
		{"cannot make central", "056", banks.StatusCentral, banks.ErrStatus},
		{"cannot suspend central bank", "010", banks.StatusSuspended, banks.ErrStatus},
		{"cannot revive merged bank", "063", banks.StatusActive, banks.ErrStatus},
		{"unknown status", "056", banks.Status("closed"), banks.ErrStatus},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reg.WithStatus(tt.code, tt.status)
			if !errors.Is(err, tt.wantErr) || got != nil {
				t.Errorf("WithStatus(%q, %q) = %v, %v; want nil, %v", tt.code, tt.status, got, err, tt.wantErr)
			}
		})
	}
}

func TestReturnedBanksAreCopies(t *testing.T) {
	reg := banks.Default()
	b, _ := reg.ByCode("054")
	b.BINs[0] = "000000"
	all := reg.All()
	all[0].BINs[0] = "000000"
	if code, _, ok := reg.LookupBIN("000000"); ok {
		t.Errorf("LookupBIN(000000) = %s after editing copies; registry was changed", code)
	}
	if again, _ := reg.ByCode("054"); again.BINs[0] == "000000" {
		t.Error("ByCode(054) shows an edit made to a returned copy")
	}
}

func TestConcurrentReads(t *testing.T) {
	reg := banks.Default()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, ok := reg.ByCode("017"); !ok {
					t.Error("ByCode(017) not found")
				}
				if code, _, _ := reg.LookupBIN("636214"); code != "017" {
					t.Errorf("LookupBIN(636214) = %q, want 017", code)
				}
				_, _ = reg.WithStatus("056", banks.StatusSuspended)
				_ = reg.All()
			}
		}()
	}
	wg.Wait()
}

func TestWriteToRoundTrip(t *testing.T) {
	reg := banks.Default()
	var buf bytes.Buffer
	n, err := reg.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; want %d, nil", n, err, buf.Len())
	}
	again, err := banks.Parse(&buf)
	if err != nil {
		t.Fatalf("Parse(WriteTo output) error = %v", err)
	}
	if !reflect.DeepEqual(again.All(), reg.All()) {
		t.Error("Parse(WriteTo(Default())) differs from Default()")
	}
}

// row builds a table line from fields, for the error table below.
func row(fields ...string) string { return strings.Join(fields, "\t") + "\n" }

func TestParseErrors(t *testing.T) {
	sepah := row("015", "Sepah", "بانک سپه", "589210", "SEPBIRTH", "active", "", "")
	tests := []struct {
		name      string
		in        string
		wantLine  int
		wantField string
		wantErr   error
	}{
		{"empty table", "# only a comment\n\n", 0, "", banks.ErrEmpty},
		{"too few fields", "# header\n015\tSepah\n", 2, "", banks.ErrInvalid},
		{"too many fields", row("015", "Sepah", "سپه", "", "", "active", "", "", "x"), 1, "", banks.ErrInvalid},
		{"short code", row("15", "Sepah", "سپه", "", "", "active", "", ""), 1, "code", banks.ErrInvalid},
		{"letter in code", row("01x", "Sepah", "سپه", "", "", "active", "", ""), 1, "code", banks.ErrInvalid},
		{"empty english name", row("015", " ", "سپه", "", "", "active", "", ""), 1, "name_en", banks.ErrInvalid},
		{"empty persian name", row("015", "Sepah", "", "", "", "active", "", ""), 1, "name_fa", banks.ErrInvalid},
		{"invalid utf-8 name", row("015", "Sepah", "\xff", "", "", "active", "", ""), 1, "name_fa", banks.ErrInvalid},
		{"control character in name", row("015", "Se\x01pah", "سپه", "", "", "active", "", ""), 1, "name_en", banks.ErrInvalid},
		{"short BIN", row("015", "Sepah", "سپه", "58921", "", "active", "", ""), 1, "bins", banks.ErrInvalid},
		{"empty BIN in list", row("015", "Sepah", "سپه", "589210,", "", "active", "", ""), 1, "bins", banks.ErrInvalid},
		{"BIN twice in a row", row("015", "Sepah", "سپه", "589210,589210", "", "active", "", ""), 1, "bins", banks.ErrDuplicate},
		{"bad BIC", row("015", "Sepah", "سپه", "", "SEPBIR", "active", "", ""), 1, "bic", banks.ErrInvalid},
		{"lower-case BIC", row("015", "Sepah", "سپه", "", "sepbirth", "active", "", ""), 1, "bic", banks.ErrInvalid},
		{"unknown status", row("015", "Sepah", "سپه", "", "", "open", "", ""), 1, "status", banks.ErrInvalid},
		{"merged without successor", row("063", "Ansar", "انصار", "", "", "merged", "", "2019"), 1, "successor", banks.ErrSuccessor},
		{"active with successor", row("063", "Ansar", "انصار", "", "", "active", "015", ""), 1, "successor", banks.ErrSuccessor},
		{"malformed successor", row("063", "Ansar", "انصار", "", "", "merged", "15", ""), 1, "successor", banks.ErrInvalid},
		{"bad since", sepah + row("063", "Ansar", "انصار", "", "", "merged", "015", "19"), 2, "since", banks.ErrInvalid},
		{"since month 13", sepah + row("063", "Ansar", "انصار", "", "", "merged", "015", "2019-13-01"), 2, "since", banks.ErrInvalid},
		{"duplicate code", sepah + "# note\n" + sepah, 3, "code", banks.ErrDuplicate},
		{"BIN of two banks", sepah + row("063", "Ansar", "انصار", "589210", "", "merged", "015", ""), 2, "bins", banks.ErrDuplicate},
		{"unknown successor", sepah + row("063", "Ansar", "انصار", "", "", "merged", "099", ""), 2, "successor", banks.ErrSuccessor},
		{"successor is itself", row("063", "Ansar", "انصار", "", "", "merged", "063", ""), 1, "successor", banks.ErrSuccessor},
		{"successor loop", row("063", "Ansar", "انصار", "", "", "merged", "052", "") +
			row("052", "Ghavamin", "قوامین", "", "", "merged", "063", ""), 2, "successor", banks.ErrSuccessor},
		{"line too long", sepah + strings.Repeat("x", 5000) + "\n", 2, "", banks.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := banks.Parse(strings.NewReader(tt.in))
			var pe *banks.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v (registry %v), want a *ParseError", err, reg)
			}
			if pe.Line != tt.wantLine || pe.Field != tt.wantField || !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse error = line %d field %q (%v); want line %d field %q wrapping %v",
					pe.Line, pe.Field, err, tt.wantLine, tt.wantField, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "banks: ") {
				t.Errorf("error %q does not say which package", err)
			}
		})
	}
}

func TestParseAcceptsCRLFAndSpaces(t *testing.T) {
	in := "# header\r\n 015 \tSepah\t بانک سپه \t589210, 589211\tSEPBIRTH\tactive\t\t\r\n" +
		"063\tAnsar\tانصار\t627381\t\tmerged\t015\t2019\r\n"
	reg, err := banks.Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse error = %v", err)
	}
	b, ok := reg.ByCode("015")
	want := banks.Bank{Code: "015", NameEN: "Sepah", NameFA: "بانک سپه", BINs: []string{"589210", "589211"},
		BIC: "SEPBIRTH", Status: banks.StatusActive}
	if !ok || !reflect.DeepEqual(b, want) {
		t.Errorf("ByCode(015) = %+v, %v; want %+v", b, ok, want)
	}
	if code, _, _ := reg.LookupBIN("627381"); code != "015" {
		t.Errorf("LookupBIN(627381) = %q, want 015", code)
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	if _, err := banks.Default().WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Add(row("015", "Sepah", "سپه", "589210", "SEPBIRTH", "active", "", "") +
		row("063", "Ansar", "انصار", "627381", "", "merged", "015", "2019"))
	f.Add("010\tCBI\tمرکزی\t\t\tcentral\t\t\n")
	f.Add("#\n\n \t\n")
	f.Fuzz(func(t *testing.T, in string) {
		reg, err := banks.Parse(strings.NewReader(in))
		if err != nil {
			var pe *banks.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is not a *ParseError", err)
			}
			return
		}
		var out bytes.Buffer
		if _, err := reg.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		again, err := banks.Parse(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("re-parse of written table failed: %v\n%s", err, out.String())
		}
		if !reflect.DeepEqual(again.All(), reg.All()) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v", reg.All(), again.All())
		}
		for _, b := range reg.All() {
			if r, ok := reg.Route(b.Code); !ok || r.Status == banks.StatusMerged || r.Status == banks.StatusDissolved {
				t.Fatalf("Route(%s) = %+v, %v; want a bank that still exists", b.Code, r, ok)
			}
		}
	})
}

func BenchmarkLookupSHEBA(b *testing.B) {
	reg := banks.Default()
	b.ReportAllocs()
	for b.Loop() {
		reg.LookupSHEBA("063")
	}
}

func BenchmarkLookupBIN(b *testing.B) {
	reg := banks.Default()
	b.ReportAllocs()
	for b.Loop() {
		reg.LookupBIN("627381")
	}
}

func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	if _, err := banks.Default().WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	table := buf.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(table)))
	for b.Loop() {
		if _, err := banks.Parse(strings.NewReader(table)); err != nil {
			b.Fatal(err)
		}
	}
}
