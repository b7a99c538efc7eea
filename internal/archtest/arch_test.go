// Package archtest keeps ARCHITECTURE.md's import rules true: leaves import only the standard library (and each
// other where the README says so), engines import leaves, adapters import leaves and engines but never each
// other, and only cmd wires everything.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tasvieh/tasvieh/"

type layer int

const (
	leaf layer = iota
	engine
	adapter
	wiring
	testonly
)

var layers = map[string]layer{
	"sheba": leaf, "banks": leaf, "card": leaf, "calendar": leaf, "rulebook": leaf, "ledger": leaf, "outbox": leaf,
	"rtgs": engine, "ach": engine, "shahab": engine,
	"postgres": adapter, "kafka": adapter,
	"cmd/tasvieh":       wiring,
	"internal/pgtest":   testonly,
	"internal/archtest": testonly, "internal/crashtest": testonly,
}

// leafImports are the project packages a leaf may import: the rulebook's figures are dated by the calendar.
var leafImports = map[string][]string{"rulebook": {"calendar"}}

// thirdParty lists the outside modules each layer may use.
var thirdParty = map[layer][]string{
	leaf:    {"github.com/shopspring/decimal"},
	engine:  {"github.com/shopspring/decimal", "github.com/moov-io/ach"},
	adapter: {"github.com/jackc/", "github.com/segmentio/kafka-go", "github.com/twmb/franz-go", "github.com/google/uuid", "github.com/robfig/cron"},
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		name := strings.TrimPrefix(pkg, module)
		l, ok := layers[name]
		if !ok {
			t.Errorf("package %s has no layer: add it to archtest and to ARCHITECTURE in the README", name)
			continue
		}
		seen++
		for _, imp := range strings.Fields(imports) {
			if msg := check(name, l, imp); msg != "" {
				t.Errorf("%s imports %s: %s", name, imp, msg)
			}
		}
	}
	if seen < len(layers)-2 {
		t.Errorf("go list saw %d project packages, want about %d: the check ran on too little", seen, len(layers))
	}
}

func check(name string, l layer, imp string) string {
	if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
		return "" // the standard library
	}
	if own, ok := strings.CutPrefix(imp, module); ok {
		il, known := layers[own]
		if !known {
			return "unknown project package"
		}
		switch l {
		case leaf:
			for _, p := range leafImports[name] {
				if p == own {
					return ""
				}
			}
			return "a leaf imports only the standard library"
		case engine:
			if il != leaf {
				return "an engine imports only leaves"
			}
		case adapter:
			if il != leaf && il != engine {
				return "an adapter imports only leaves and engines, never another adapter"
			}
		}
		return ""
	}
	if l == wiring || l == testonly {
		return ""
	}
	for _, p := range thirdParty[l] {
		if strings.HasPrefix(imp, p) {
			return ""
		}
	}
	return "outside module not allowed in this layer"
}
