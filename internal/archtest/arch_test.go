// Package archtest keeps ARCHITECTURE.md's import rules true: leaves import only the standard library (and each
// other where the README says so), engines import leaves, adapters import leaves and engines but never each
// other, and only cmd wires everything. It checks each package's own imports, its tests' imports and the
// transitive closures of both, as `go list -deps -test` reports them.
//
// The rules, layer by layer (a project package that is in no layer is itself an error):
//
//   - leaf: imports the standard library, the few leaves leafImports allows it, and thirdParty[leaf]. Its
//     transitive closure holds only leaves, the standard library and thirdParty[leaf]: no engine, adapter,
//     wiring or test helper, however indirect.
//   - engine: imports leaves, the standard library and thirdParty[engine]; its closure holds no project
//     package but leaves. (Third-party modules are checked only directly for engines: an allowed module's own
//     dependencies are its business.)
//   - adapter: imports leaves, engines, the standard library and thirdParty[adapter]; its closure holds no
//     other adapter and no test helper. (Third-party: direct only, as for engines.)
//   - wiring (cmd/tasvieh) and testonly (test harnesses such as internal/pgtest, internal/crashtest,
//     internal/bench): anything in the project or the module graph.
//   - testpure: a test helper for pure packages' tests; it obeys the leaf rules, except that it may import
//     leaves and other testpure helpers freely. None exists yet; the layer is here so that one can.
//
// Tests (TestImports and XTestImports, and the closure of the test binary):
//
//   - A pure package's tests (leaf, engine, testpure) may import the package itself, the standard library,
//     any leaf, testpure helpers, the package's own third-party allowance and the oracles testOracles lists
//     for it (an independent implementation to check against, never used by the package itself). The test
//     binary's closure must hold nothing else: a pure package's tests never reach a database, a broker, an
//     engine, an adapter or a harness, so they run anywhere with only `go test`.
//   - An adapter's tests may import what the adapter may, plus the harnesses in adapterTestHelpers
//     (internal/pgtest). Their closure is not checked: pgtest itself reaches postgres, by design.
//   - Wiring and testonly tests: anything.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tasvieh/tasvieh"

type layer int

const (
	leaf layer = iota
	engine
	adapter
	wiring
	testpure
	testonly
)

func (l layer) String() string {
	return [...]string{"leaf", "engine", "adapter", "wiring", "testpure", "testonly"}[l]
}

var layers = map[string]layer{
	"sheba": leaf, "banks": leaf, "card": leaf, "calendar": leaf, "rulebook": leaf, "ledger": leaf, "outbox": leaf,
	"clock": leaf, "ids": leaf,
	"rtgs": engine, "ach": engine, "shahab": engine,
	// sim decides what a simulated bank does (its customers, magic values, faults) from leaves alone, as an
	// engine does; the wiring opens its books in the store.
	"sim":      engine,
	"postgres": adapter, "kafka": adapter, "api": adapter, "scheduler": adapter, "webhook": adapter,
	"cmd/tasvieh": wiring, "internal/server": wiring,
	"internal/pgtest":   testonly,
	"internal/archtest": testonly, "internal/crashtest": testonly, "internal/bench": testonly,
}

// planned are registered before they are written (ARCHITECTURE.md names them): their absence is not an error,
// while any other registered package that go list does not find is a stale entry.
var planned = map[string]bool{"api": true, "scheduler": true, "internal/bench": true, "sim": true, "webhook": true, "internal/server": true}

// leafImports are the project packages a leaf may import: the rulebook's figures are dated by the calendar;
// the id source reads the injected clock.
var leafImports = map[string][]string{"rulebook": {"calendar"}, "ids": {"clock"}}

// thirdParty lists the outside modules each layer may use (a prefix ending in "/" covers an owner's modules).
var thirdParty = map[layer][]string{
	leaf:     {"github.com/shopspring/decimal"},
	testpure: {"github.com/shopspring/decimal"},
	engine:   {"github.com/shopspring/decimal", "github.com/moov-io/ach"},
	adapter: {"github.com/jackc/", "github.com/segmentio/kafka-go", "github.com/twmb/franz-go", "github.com/google/uuid", "github.com/robfig/cron",
		"github.com/danielgtaylor/huma/v2", "github.com/prometheus/"},
}

// testOracles are outside modules a pure package's tests check it against; the package itself never uses them.
var testOracles = map[string][]string{
	"calendar": {"github.com/jalaali/go-jalaali"}, // day-by-day Jalali conversion
	"sheba":    {"github.com/almerlucke/go-iban"}, // IBAN checksums
}

// adapterTestHelpers are the harnesses an adapter's tests may import.
var adapterTestHelpers = []string{"internal/pgtest"}

// pkg is what the checker knows of one project package; import paths are full, as go list prints them.
type pkg struct {
	name        string   // relative to the module, e.g. "sheba", "internal/pgtest"
	imports     []string // direct, non-test
	testImports []string // TestImports and XTestImports
	deps        []string // the transitive closure of imports
	testDeps    []string // the transitive closure of the test binary; nil when it has no tests
}

func TestImportRules(t *testing.T) {
	pkgs, err := list()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	withTests := 0
	for _, p := range pkgs {
		seen[p.name] = true
		if p.testDeps != nil {
			withTests++
		}
		for _, msg := range check(p) {
			t.Error(msg)
		}
	}
	for name := range layers {
		if !seen[name] && !planned[name] {
			t.Errorf("%s is registered in archtest but go list did not find it: remove it or mark it planned", name)
		}
	}
	// The checker must have had something to check: if go list changed its output, fail loudly. The tree has
	// a dozen packages with tests; fewer than withTestsMin means -test stopped giving test closures.
	const withTestsMin = 5
	if len(seen) < len(layers)-len(planned) || withTests < withTestsMin {
		t.Errorf("go list gave %d project packages (%d with tests), want %d or more (and %d with tests): the check ran on too little",
			len(seen), withTests, len(layers)-len(planned), withTestsMin)
	}
}

// list runs go list once over the whole module, tests and transitive dependencies included.
func list() ([]pkg, error) {
	cmd := exec.Command("go", "list", "-deps", "-test",
		"-json=ImportPath,ForTest,Imports,TestImports,XTestImports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.Bytes())
	}
	type entry struct {
		ImportPath, ForTest                      string
		Imports, TestImports, XTestImports, Deps []string
	}
	byName := map[string]*pkg{}
	testDeps := map[string][]string{}
	var order []string
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var e entry
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %v", err)
		}
		name, ok := strings.CutPrefix(e.ImportPath, module+"/")
		if !ok || e.ForTest != "" || strings.Contains(name, " ") {
			continue // outside the project, or a package recompiled for some test
		}
		if main, ok := strings.CutSuffix(name, ".test"); ok {
			testDeps[main] = append([]string{}, e.Deps...) // the test binary: its Deps are the tests' closure
			continue
		}
		byName[name] = &pkg{name: name, imports: e.Imports, testImports: append(e.TestImports, e.XTestImports...), deps: e.Deps}
		order = append(order, name)
	}
	var pkgs []pkg
	for _, name := range order {
		p := byName[name]
		p.testDeps = testDeps[name]
		pkgs = append(pkgs, *p)
	}
	return pkgs, nil
}

// check returns one message for each rule p breaks.
func check(p pkg) []string {
	l, ok := layers[p.name]
	if !ok {
		return []string{fmt.Sprintf("package %s has no layer: add it to archtest and to the README's design section", p.name)}
	}
	var msgs []string
	for _, imp := range p.imports {
		if msg := checkImport(p.name, l, imp); msg != "" {
			msgs = append(msgs, fmt.Sprintf("%s imports %s: %s", p.name, imp, msg))
		}
	}
	for _, imp := range p.testImports {
		if msg := checkTestImport(p.name, l, imp); msg != "" {
			msgs = append(msgs, fmt.Sprintf("%s's tests import %s: %s", p.name, imp, msg))
		}
	}
	closure := func(deps []string, test bool, format string) {
		reported := map[string]bool{} // an outside repository is reported once, not once per package of it
		for _, dep := range deps {
			msg := checkDep(p.name, l, dep, test)
			if msg == "" {
				continue
			}
			if _, ok := project(dep); !ok {
				root := strings.Join(strings.SplitN(dep, "/", 4)[:min(3, strings.Count(dep, "/")+1)], "/")
				if reported[root] {
					continue
				}
				reported[root] = true
			}
			msgs = append(msgs, fmt.Sprintf(format, p.name, dep, msg))
		}
	}
	closure(p.deps, false, "%s depends on %s (through its imports): %s")
	closure(p.testDeps, true, "%s's tests depend on %s (through their imports): %s")
	return msgs
}

// project reports the module-relative name of a project import path, without go list's " [x.test]" and
// "_test" decorations.
func project(path string) (string, bool) {
	path, _, _ = strings.Cut(path, " ")
	name, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(name, "_test"), true
}

// standard reports whether path is in the standard library: its first element has no dot.
func standard(path string) bool {
	return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
}

// allowed reports whether path is in one of the modules listed (a prefix ending in "/" matches any path under
// it; otherwise path is the module or inside it).
func allowed(path string, modules []string) bool {
	for _, m := range modules {
		if path == m || strings.HasPrefix(path, strings.TrimSuffix(m, "/")+"/") {
			return true
		}
	}
	return false
}

func pure(l layer) bool { return l == leaf || l == engine || l == testpure }

func checkImport(name string, l layer, imp string) string {
	if standard(imp) {
		return ""
	}
	if own, ok := project(imp); ok {
		il, known := layers[own]
		switch {
		case !known:
			return "unknown project package"
		case l == leaf:
			if !slices.Contains(leafImports[name], own) {
				return "a leaf imports only the standard library (and the leaves leafImports allows it)"
			}
		case l == testpure:
			if il != leaf && il != testpure {
				return "a pure test helper imports only leaves and other pure test helpers"
			}
		case l == engine:
			if il != leaf {
				return "an engine imports only leaves"
			}
		case l == adapter:
			if il != leaf && il != engine {
				return "an adapter imports only leaves and engines, never another adapter"
			}
		}
		return ""
	}
	if l == wiring || l == testonly || allowed(imp, thirdParty[l]) {
		return ""
	}
	return "outside module not allowed in this layer"
}

func checkTestImport(name string, l layer, imp string) string {
	if standard(imp) || l == wiring || l == testonly {
		return ""
	}
	if own, ok := project(imp); ok {
		il, known := layers[own]
		switch {
		case own == name:
			return "" // an external test imports its package
		case !known:
			return "unknown project package"
		case pure(l):
			if il != leaf && il != testpure {
				return "a pure package's tests import only leaves and pure test helpers"
			}
		case l == adapter:
			if il != leaf && il != engine && !slices.Contains(adapterTestHelpers, own) {
				return "an adapter's tests import only leaves, engines and " + strings.Join(adapterTestHelpers, ", ")
			}
		}
		return ""
	}
	if allowed(imp, thirdParty[l]) || (pure(l) && allowed(imp, testOracles[name])) {
		return ""
	}
	return "outside module not allowed in this layer's tests"
}

// checkDep checks one package in the transitive closure of name's imports (test: of its test binary).
func checkDep(name string, l layer, dep string, test bool) string {
	if standard(dep) || l == wiring || l == testonly || (test && l == adapter) {
		return ""
	}
	if own, ok := project(dep); ok {
		dl, known := layers[own]
		switch {
		case own == name && test:
			return "" // the package itself, compiled with its tests
		case !known:
			return "unknown project package"
		case dl == leaf:
			return ""
		case dl == testpure && (test || l == testpure):
			return ""
		case dl == engine && l == adapter:
			return ""
		}
		return fmt.Sprintf("a package of layer %s may not reach one of layer %s", l, dl)
	}
	if l != leaf && l != testpure {
		return "" // engines' and adapters' outside modules are checked only as direct imports
	}
	if allowed(dep, thirdParty[l]) || (test && allowed(dep, testOracles[name])) {
		return ""
	}
	return "outside module not allowed in a pure package's closure"
}

// The checker's own tests.

func full(name string) string { return module + "/" + name }

// TestCheckCatchesBrokenRules feeds the checker synthetic packages, so that TestImportRules cannot pass
// because the checker has stopped checking.
func TestCheckCatchesBrokenRules(t *testing.T) {
	// A pure test helper, for the rules of that layer; none exists in the tree yet.
	layers["internal/testpure"] = testpure
	t.Cleanup(func() { delete(layers, "internal/testpure") })

	tests := []struct {
		name string
		pkg  pkg
		want []string // a substring of each message, in order; nil means the package is clean
	}{
		// Clean packages: each shape the tree has or will have.
		{"leaf with an allowed leaf", pkg{name: "ids", imports: []string{full("clock"), "sync"}, deps: []string{full("clock"), "sync", "time"}}, nil},
		{"leaf with decimal", pkg{name: "ledger", imports: []string{"github.com/shopspring/decimal"}, deps: []string{"github.com/shopspring/decimal", "math/big"}}, nil},
		{"leaf tests with another leaf and itself", pkg{name: "sheba", testImports: []string{full("sheba"), full("banks"), "testing"},
			testDeps: []string{full("sheba") + " [" + full("sheba.test") + "]", full("sheba_test") + " [" + full("sheba.test") + "]", full("banks"), "testing"}}, nil},
		{"leaf tests with their own oracle", pkg{name: "calendar", testImports: []string{"github.com/jalaali/go-jalaali"},
			testDeps: []string{"github.com/jalaali/go-jalaali"}}, nil},
		{"leaf tests with a pure helper", pkg{name: "ledger", testImports: []string{full("internal/testpure")}, testDeps: []string{full("internal/testpure")}}, nil},
		{"pure helper on leaves", pkg{name: "internal/testpure", imports: []string{full("ledger"), "testing"}, deps: []string{full("ledger")}}, nil},
		{"engine on leaves", pkg{name: "rtgs", imports: []string{full("ledger"), full("calendar"), "github.com/moov-io/ach"},
			deps: []string{full("ledger"), full("calendar"), "github.com/moov-io/base"}}, nil},
		{"adapter on leaves and engines", pkg{name: "kafka", imports: []string{full("outbox"), full("rtgs"), "github.com/segmentio/kafka-go"},
			deps: []string{full("outbox"), full("rtgs"), full("ledger"), "github.com/segmentio/kafka-go", "github.com/klauspost/compress"}}, nil},
		{"adapter tests with pgtest", pkg{name: "postgres", testImports: []string{full("internal/pgtest"), full("ledger")},
			testDeps: []string{full("internal/pgtest"), full("postgres") + " [" + full("postgres.test") + "]"}}, nil},
		{"wiring imports everything", pkg{name: "cmd/tasvieh", imports: []string{full("postgres"), full("kafka"), full("rtgs"), "github.com/anything/at-all"},
			deps: []string{full("postgres"), full("kafka")}}, nil},
		{"harness imports adapters", pkg{name: "internal/bench", imports: []string{full("postgres"), full("ledger")}, testImports: []string{full("internal/pgtest")},
			deps: []string{full("postgres")}, testDeps: []string{full("internal/pgtest"), full("postgres")}}, nil},

		// Broken rules: each must be reported.
		{"unregistered package", pkg{name: "util"}, []string{"util has no layer"}},
		{"leaf imports an adapter", pkg{name: "sheba", imports: []string{full("postgres")}}, []string{"sheba imports " + full("postgres") + ": a leaf imports only"}},
		{"leaf imports a leaf not allowed it", pkg{name: "card", imports: []string{full("banks")}}, []string{"card imports " + full("banks")}},
		{"leaf imports clock, not allowed it", pkg{name: "ledger", imports: []string{full("clock")}}, []string{"ledger imports " + full("clock")}},
		{"leaf imports an outside module", pkg{name: "ledger", imports: []string{"github.com/google/uuid"}}, []string{"outside module not allowed"}},
		{"unknown project package", pkg{name: "sheba", imports: []string{full("nowhere")}}, []string{"unknown project package"}},
		{"leaf reaches an adapter indirectly", pkg{name: "ids", imports: []string{full("clock")}, deps: []string{full("clock"), full("postgres")}},
			[]string{"ids depends on " + full("postgres") + " (through its imports): a package of layer leaf may not reach one of layer adapter"}},
		{"leaf reaches an outside module indirectly", pkg{name: "clock", deps: []string{"github.com/jackc/pgx/v5/pgconn", "github.com/jackc/pgx/v5/pgproto3", "golang.org/x/text/cases"}},
			[]string{"clock depends on github.com/jackc/pgx/v5/pgconn", "clock depends on golang.org/x/text/cases"}}, // once per repository
		{"leaf tests import pgtest", pkg{name: "ids", testImports: []string{full("internal/pgtest")}},
			[]string{"ids's tests import " + full("internal/pgtest") + ": a pure package's tests import only"}},
		{"leaf tests import an engine", pkg{name: "ledger", testImports: []string{full("rtgs")}}, []string{"ledger's tests import " + full("rtgs")}},
		{"leaf tests import an outside module", pkg{name: "clock", testImports: []string{"github.com/stretchr/testify/require"}},
			[]string{"outside module not allowed in this layer's tests"}},
		{"leaf tests borrow another package's oracle", pkg{name: "card", testImports: []string{"github.com/jalaali/go-jalaali"}},
			[]string{"card's tests import github.com/jalaali/go-jalaali"}},
		{"leaf tests reach postgres through a helper", pkg{name: "ledger", testImports: []string{full("internal/testpure")},
			testDeps: []string{full("internal/testpure"), full("postgres") + " [" + full("ledger.test") + "]"}},
			[]string{"ledger's tests depend on " + full("postgres")}},
		{"leaf tests reach an outside module indirectly", pkg{name: "sheba", testDeps: []string{"github.com/jackc/pgx/v5"}},
			[]string{"sheba's tests depend on github.com/jackc/pgx/v5"}},
		{"an oracle is for tests only", pkg{name: "calendar", imports: []string{"github.com/jalaali/go-jalaali"}, deps: []string{"github.com/jalaali/go-jalaali"}},
			[]string{"calendar imports github.com/jalaali/go-jalaali", "calendar depends on github.com/jalaali/go-jalaali"}},
		{"pure helper imports an adapter", pkg{name: "internal/testpure", imports: []string{full("postgres")}},
			[]string{"internal/testpure imports " + full("postgres") + ": a pure test helper"}},
		{"engine imports an engine", pkg{name: "rtgs", imports: []string{full("ach")}}, []string{"rtgs imports " + full("ach") + ": an engine imports only leaves"}},
		{"engine reaches an engine", pkg{name: "shahab", deps: []string{full("rtgs")}}, []string{"shahab depends on " + full("rtgs")}},
		{"engine tests import an engine", pkg{name: "ach", testImports: []string{full("rtgs")}}, []string{"ach's tests import " + full("rtgs")}},
		{"engine imports an outside module", pkg{name: "rtgs", imports: []string{"github.com/jackc/pgx/v5"}}, []string{"outside module not allowed"}},
		{"adapter imports an adapter", pkg{name: "kafka", imports: []string{full("postgres")}}, []string{"kafka imports " + full("postgres") + ": an adapter imports only"}},
		{"adapter imports a harness", pkg{name: "postgres", imports: []string{full("internal/pgtest")}}, []string{"postgres imports " + full("internal/pgtest")}},
		{"adapter reaches an adapter", pkg{name: "api", deps: []string{full("postgres")}}, []string{"api depends on " + full("postgres")}},
		{"adapter tests import another adapter", pkg{name: "kafka", testImports: []string{full("postgres")}},
			[]string{"kafka's tests import " + full("postgres") + ": an adapter's tests import only"}},
		{"adapter tests import a harness other than pgtest", pkg{name: "postgres", testImports: []string{full("internal/bench")}},
			[]string{"postgres's tests import " + full("internal/bench")}},
		{"adapter uses another layer's module", pkg{name: "postgres", imports: []string{"github.com/moov-io/ach"}}, []string{"outside module not allowed"}},
		{"several at once", pkg{name: "outbox", imports: []string{full("kafka"), "github.com/google/uuid"}, testImports: []string{full("internal/crashtest")}},
			[]string{"outbox imports " + full("kafka"), "outbox imports github.com/google/uuid", "outbox's tests import " + full("internal/crashtest")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(tt.pkg)
			if len(got) != len(tt.want) {
				t.Fatalf("check gave %d messages, want %d:\n  got  %q\n  want %q", len(got), len(tt.want), got, tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("message %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestListSeesTestsAndClosures guards list itself: if go list's output changed shape, the test and closure
// checks would pass on empty data.
func TestListSeesTestsAndClosures(t *testing.T) {
	pkgs, err := list()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(pkgs, func(x pkg) bool { return x.name == "ids" })
	if i < 0 {
		t.Fatal("go list did not report ids")
	}
	ids := pkgs[i]
	if !slices.Contains(ids.imports, full("clock")) || !slices.Contains(ids.deps, full("clock")) || !slices.Contains(ids.deps, "sync") {
		t.Errorf("ids: imports %q, deps %q; want clock in both and sync in deps", ids.imports, ids.deps)
	}
	if !slices.Contains(ids.testImports, "testing") {
		t.Errorf("ids: test imports %q, want testing among them", ids.testImports)
	}
	if !slices.ContainsFunc(ids.testDeps, func(d string) bool { return strings.HasPrefix(d, full("ids")+" [") }) {
		t.Errorf("ids: test closure %q does not hold ids compiled for its tests", ids.testDeps)
	}
	for _, x := range pkgs {
		if strings.ContainsAny(x.name, " []") || strings.HasSuffix(x.name, ".test") || strings.HasSuffix(x.name, "_test") {
			t.Errorf("list reported a test variant %q as a package", x.name)
		}
	}
}
