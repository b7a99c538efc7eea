package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tasvieh/tasvieh/sheba"
)

// run drives the binary's Main with its own environment and returns exit code, stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }}, args)
	return code, out.String(), errb.String()
}

func TestSHEBAValidateJSON(t *testing.T) {
	merged, err := sheba.Generate("063", 0, "123")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in       string
		valid    bool
		code     string // error code when invalid
		position int
		bank     string
		account  string
	}{
		{"IR820540102680020817909002", true, "", 0, "Parsian", "102680020817909002"},
		{"ir55 0570 0220 8001 3447 3701 01", true, "", 0, "Pasargad", "022080013447370101"},
		{"IR۲۶۰۲۲۰۱۷۰۰۰۱۰۱۰۰۰۱۱۰۱۰۰۱", true, "", 0, "Tosee Taavon (Cooperative Development)", "170001010001101001"},
		{"IR820540102680020817909003", false, "checksum", 3, "", ""},
		{"IR82054010268002081790900", false, "length", 0, "", ""},
		{"DE820540102680020817909002", false, "country", 1, "", ""},
		{"IR82054010268002081790900x", false, "character", 26, "", ""},
		{merged.String(), false, "inactive_bank", 5, "", ""},
	}
	args := []string{"sheba", "validate", "--json"}
	for _, tc := range tests {
		args = append(args, tc.in)
	}
	code, out, _ := run(t, nil, args...)
	if code != exitInvalid {
		t.Errorf("exit code with some invalid inputs: got %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("got %d lines, want one per input (%d):\n%s", len(lines), len(tests), out)
	}
	for i, tc := range tests {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		for _, key := range []string{"input", "valid", "sheba", "bank_code", "bank", "account_type", "account"} {
			if _, ok := got[key]; !ok {
				t.Errorf("%q: key %q missing from %s", tc.in, key, lines[i])
			}
		}
		if got["input"] != tc.in || got["valid"] != tc.valid {
			t.Errorf("%q: got input %v valid %v", tc.in, got["input"], got["valid"])
		}
		e, hasErr := got["error"].(map[string]any)
		if tc.valid {
			if hasErr {
				t.Errorf("%q: valid but has error %v", tc.in, e)
			}
			if got["bank"] != tc.bank || got["account"] != tc.account || got["account_type"] != float64(0) {
				t.Errorf("%q: got bank %v account %v type %v, want %s %s 0", tc.in, got["bank"], got["account"], got["account_type"], tc.bank, tc.account)
			}
			if s, _ := got["sheba"].(string); len(s) != 26 || !strings.HasPrefix(s, "IR") {
				t.Errorf("%q: sheba %q is not the normalised form", tc.in, s)
			}
			continue
		}
		if !hasErr {
			t.Errorf("%q: invalid but no error object", tc.in)
			continue
		}
		if e["code"] != tc.code || e["position"] != float64(tc.position) || e["message"] == "" {
			t.Errorf("%q: got error %v, want code %s at %d with a message", tc.in, e, tc.code, tc.position)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"sheba all valid", []string{"sheba", "validate", "IR820540102680020817909002"}, exitOK},
		{"sheba one invalid", []string{"sheba", "validate", "IR820540102680020817909002", "IR00"}, exitInvalid},
		{"sheba no input", []string{"sheba", "validate"}, exitUsage},
		{"sheba unknown flag", []string{"sheba", "validate", "--xml", "IR820540102680020817909002"}, exitUsage},
		{"card valid", []string{"card", "validate", "6037991234567893"}, exitOK},
		{"card zero segment", []string{"card", "validate", "6037990006000000"}, exitInvalid},
		{"card luhn", []string{"card", "validate", "6037990006000001"}, exitInvalid},
		{"card no input", []string{"card", "validate"}, exitUsage},
		{"no command", nil, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"business day", []string{"calendar", "is-business-day", "2025-07-10"}, exitOK},
		{"holiday", []string{"calendar", "is-business-day", "1404/01/01"}, exitInvalid},
		{"bad date", []string{"calendar", "is-business-day", "2025-13-40"}, exitUsage},
		{"generate missing account", []string{"sheba", "generate", "--bank", "017"}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, out, errs := run(t, nil, tc.args...); got != tc.want {
				t.Errorf("tasvieh %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, got, tc.want, out, errs)
			}
		})
	}
}

func TestSHEBAGenerateValidates(t *testing.T) {
	code, out, _ := run(t, nil, "sheba", "generate", "--bank", "017", "--account", "1234567", "--type", "1")
	if code != exitOK {
		t.Fatalf("generate: exit %d", code)
	}
	got := strings.TrimSpace(out)
	if len(got) != 26 || got[4:8] != "0171" || !strings.HasSuffix(got, "000000000001234567") {
		t.Fatalf("generate: got %q, want IR..0171 then the account padded to 18 digits", got)
	}
	// What generate prints, validate accepts, with the same parts.
	code, out, _ = run(t, nil, "sheba", "validate", "--json", got)
	if code != exitOK || !strings.Contains(out, `"account_type":1`) || !strings.Contains(out, `"bank":"Melli"`) {
		t.Errorf("validate of generated %s: exit %d, %s", got, code, out)
	}
}

func TestCardValidateJSON(t *testing.T) {
	code, out, _ := run(t, nil, "card", "validate", "--json", "6273 8100 0000 0421", "6037-9900-0600-0001")
	if code != exitInvalid {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2", len(lines))
	}
	var ansar, bad map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &ansar)
	_ = json.Unmarshal([]byte(lines[1]), &bad)
	// Ansar merged into Sepah: its BIN still routes, to the successor.
	if ansar["valid"] != true || ansar["pan"] != "6273810000000421" || ansar["bin"] != "627381" || ansar["bank_code"] != "015" || ansar["bank"] != "Sepah" {
		t.Errorf("merged-bank card: got %v", ansar)
	}
	if e, _ := bad["error"].(map[string]any); bad["valid"] != false || e["code"] != "luhn" {
		t.Errorf("bad card: got %v", bad)
	}
}

func TestCalendarCommands(t *testing.T) {
	// 1404/01/01 is Nowruz (2025-03-21): the next business day is Tuesday 2025-03-25 (1404/01/05).
	code, out, _ := run(t, nil, "calendar", "next-business-day", "1404/01/01")
	if code != exitOK || out != "2025-03-25\n1404/01/05\n" {
		t.Errorf("next-business-day 1404/01/01: exit %d, %q", code, out)
	}
	code, out, _ = run(t, nil, "calendar", "is-business-day", "2025-06-06")
	if code != exitInvalid || !strings.Contains(out, "Eid al-Adha") {
		t.Errorf("is-business-day 2025-06-06: exit %d, %q, want the holiday's name", code, out)
	}
	code, out, _ = run(t, nil, "calendar", "is-business-day", "2025-07-11")
	if code != exitInvalid || !strings.Contains(out, "Friday") {
		t.Errorf("is-business-day on a Friday: exit %d, %q", code, out)
	}
	code, out, _ = run(t, nil, "calendar", "holidays", "1404", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 26 || !strings.Contains(lines[0], `"name_fa"`) {
		t.Errorf("holidays 1404 --json: exit %d, %d lines, first %q", code, len(lines), lines[0])
	}
	if code, _, errs := run(t, nil, "calendar", "holidays", "1406"); code != exitInvalid || !strings.Contains(errs, "1406") {
		t.Errorf("holidays 1406: exit %d, stderr %q, want an error naming the year", code, errs)
	}
}

func TestBanksAndRules(t *testing.T) {
	code, out, _ := run(t, nil, "banks", "list", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) < 30 {
		t.Fatalf("banks list --json: exit %d, %d banks", code, len(lines))
	}
	var first map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	if first["code"] != "010" {
		t.Errorf("first bank: got %v, want the CBI (010)", first["code"])
	}
	code, out, _ = run(t, nil, "rules", "show")
	if code != exitOK || !strings.Contains(out, "150,000,000") {
		t.Errorf("rules show (seed): exit %d, %q", code, out)
	}
	code, out, _ = run(t, nil, "rules", "show", "--at", "1404/05/01", "--json")
	var p map[string]any
	if err := json.Unmarshal([]byte(out), &p); code != exitOK || err != nil || p["name"] != "1404" {
		t.Errorf("rules show --at 1404/05/01: exit %d, profile %v (err %v)", code, p["name"], err)
	}
	if code, _, _ := run(t, nil, "rules", "show", "--profile", "nope"); code != exitInvalid {
		t.Errorf("unknown profile: exit %d, want 1", code)
	}
}
