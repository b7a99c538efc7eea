package webhook

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	long := "https://bank.example/" + strings.Repeat("a", URLBytesMax-len("https://bank.example/"))
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://bank.example/tasvieh/hooks", true},
		{"http://127.0.0.1:8080/hook?env=test", true},
		{"HTTPS://Bank.Example/hook", true},
		{"https://[::1]:8443/", true},
		{long, true},
		{long + "a", false},
		{"", false},
		{"ftp://bank.example/hook", false},
		{"javascript:alert(1)", false},
		{"https:bank.example", false},
		{"https:///path", false},
		{"//bank.example/hook", false},
		{"/hook", false},
		{"https://user:pass@bank.example/hook", false},
		{"https://bank.example/hook#part", false},
		{"https://bank.example/hook#", false},
		{"https://bank.example/a b", false},
		{"https://bank.example/\n", false},
		{"https://bank.example/\x00", false},
		{"https://bank.example:99999999999/", false},
		{"https://%zz/", false},
		{"https://bank.example:0/", false},
		{"https://bank.example:65535/", true},
		{"https://bank.example:/", true},
	} {
		err := ValidateURL(tc.url)
		if got := err == nil; got != tc.ok {
			t.Errorf("ValidateURL(%q): got %v, want ok %v", tc.url, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrURL) {
			t.Errorf("ValidateURL(%q): %v does not wrap ErrURL", tc.url, err)
		}
	}
}

// FuzzValidateURL: no panic, only ErrURL, and what it accepts is a bounded http(s) URL with a host that
// parses again to the same scheme and host.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://bank.example/hook", "http://[::1]:80/", "https://u@h/", "mailto:x@y", "https://h/#f", "http://h:0/%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := ValidateURL(raw)
		if err != nil {
			if !errors.Is(err, ErrURL) {
				t.Fatalf("error without ErrURL: %v", err)
			}
			return
		}
		if len(raw) > URLBytesMax {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		u, perr := url.Parse(raw)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
			t.Fatalf("accepted %q: parse %v, scheme %q, host %q", raw, perr, u.Scheme, u.Hostname())
		}
		again, perr := url.Parse(u.String())
		if perr != nil || again.Scheme != u.Scheme || again.Host != u.Host {
			t.Fatalf("%q does not parse again the same: %v %+v", raw, perr, again)
		}
	})
}
