package webhook

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// postgresSource is the file that declares postgres.Webhooks, which the wiring passes as this package's Store.
var postgresSource = filepath.Join("..", "postgres", "webhooks.go")

// TestStoreMirrorsPostgres keeps the contract between the two adapters true without either importing the
// other: Delivery and Attempt must be aliases of the very struct types postgres.WebhookDelivery and
// postgres.WebhookAttempt alias (same fields, same order, same types), *postgres.Webhooks must have Store's
// methods with the same signatures, and the status strings must agree. The compiler checks it again where
// the wiring assigns one to the other; this test says so in this package, before any wiring exists.
func TestStoreMirrorsPostgres(t *testing.T) {
	fset := token.NewFileSet()
	pg, err := parser.ParseFile(fset, postgresSource, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	own, err := parser.ParseFile(fset, "store.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"WebhookDelivery", "Delivery"}, {"WebhookAttempt", "Attempt"}} {
		theirs, ours := aliasFields(t, pg, pair[0]), aliasFields(t, own, pair[1])
		if !reflect.DeepEqual(theirs, ours) {
			t.Errorf("postgres.%s = struct%v\n  webhook.%s = struct%v\nwant the same fields in the same order", pair[0], theirs, pair[1], ours)
		}
	}

	// Store's methods, with postgres' type names mapped to ours.
	rename := strings.NewReplacer("WebhookDelivery", "Delivery", "WebhookAttempt", "Attempt")
	methods := map[string]string{}
	for _, decl := range pg.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || types.ExprString(fn.Recv.List[0].Type) != "*Webhooks" {
			continue
		}
		methods[fn.Name.Name] = rename.Replace(signature(fn.Type))
	}
	iface := reflect.TypeFor[Store]()
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		want := ""
		for _, decl := range own.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gen.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok || ts.Name.Name != "Store" {
					continue
				}
				for _, f := range ts.Type.(*ast.InterfaceType).Methods.List {
					if f.Names[0].Name == m.Name {
						want = signature(f.Type.(*ast.FuncType))
					}
				}
			}
		}
		if got, ok := methods[m.Name]; !ok || got != want {
			t.Errorf("(*postgres.Webhooks).%s: got %q, want %q", m.Name, got, want)
		}
	}

	// The status and outcome strings.
	consts := stringConsts(t, pg)
	for theirs, ours := range map[string]string{"WebhookPending": StatusPending, "WebhookDelivered": StatusDelivered,
		"WebhookFailed": StatusFailed, "WebhookRetry": OutcomeRetry} {
		if consts[theirs] != ours {
			t.Errorf("postgres.%s = %q, want %q", theirs, consts[theirs], ours)
		}
	}
	if n, _ := strconv.Atoi(consts["WebhookURLBytesMax"]); n != URLBytesMax {
		t.Errorf("postgres.WebhookURLBytesMax = %s, want URLBytesMax %d", consts["WebhookURLBytesMax"], URLBytesMax)
	}
	if n, _ := strconv.Atoi(consts["WebhookBatchMax"]); n != BatchMaxLimit {
		t.Errorf("postgres.WebhookBatchMax = %s, want BatchMaxLimit %d", consts["WebhookBatchMax"], BatchMaxLimit)
	}
}

// aliasFields returns "name type" for each field of the struct type that the alias name stands for.
func aliasFields(t *testing.T, f *ast.File, name string) []string {
	t.Helper()
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gen.Specs {
			ts, ok := spec.(*ast.TypeSpec)
			if !ok || ts.Name.Name != name {
				continue
			}
			st, isStruct := ts.Type.(*ast.StructType)
			if !ts.Assign.IsValid() || !isStruct {
				t.Fatalf("%s is not an alias of a struct type literal", name)
			}
			var fields []string
			for _, field := range st.Fields.List {
				if len(field.Names) == 0 {
					t.Fatalf("%s embeds %s: not mirrored", name, types.ExprString(field.Type))
				}
				for _, n := range field.Names {
					fields = append(fields, n.Name+" "+types.ExprString(field.Type))
				}
			}
			return fields
		}
	}
	t.Fatalf("no type %s", name)
	return nil
}

// signature prints a function type's parameter and result types, without their names.
func signature(ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) string {
		if fl == nil {
			return ""
		}
		var out []string
		for _, f := range fl.List {
			for range max(len(f.Names), 1) {
				out = append(out, types.ExprString(f.Type))
			}
		}
		return strings.Join(out, ", ")
	}
	return "(" + list(ft.Params) + ") (" + list(ft.Results) + ")"
}

// stringConsts returns the literal values of the file's constants, unquoted.
func stringConsts(t *testing.T, f *ast.File) map[string]string {
	out := map[string]string{}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							v = lit.Value
						}
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}
