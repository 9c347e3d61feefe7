package builtin

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSourcesReadOnlyDeclaredKeys reads each source's code: every string
// literal it passes as the key of its metadata (md.Float("k", ...),
// duration(md, "k", ...), md["k"]) must be a key the source declares; and every declared key must appear in its code
// as a literal (or be the FromEnv/File spelling of one), so that a key is
// neither read without being accepted nor accepted without being read.
func TestSourcesReadOnlyDeclaredKeys(t *testing.T) {
	reg := Registry(Options{})
	for _, source := range reg.Names() {
		read, literals := scanSource(t, filepath.Join("../../sources", source))
		declared := reg.SourceKeys(source)
		for _, k := range read {
			if !slices.Contains(declared, k) {
				t.Errorf("source %s reads %q but does not declare it in Keys()", source, k)
			}
		}
		for _, k := range declared {
			base := strings.TrimSuffix(strings.TrimSuffix(k, "FromEnv"), "File")
			if !literals[k] && !literals[base] {
				t.Errorf("source %s declares %q but its code never names it", source, k)
			}
		}
		if len(read) < 10 {
			t.Errorf("source %s: the scan found only %d keys read; has the code's shape changed?", source, len(read))
		}
	}
}

// scanSource returns the literals a package's non-test code reads as
// metadata keys, and every string literal in it.
func scanSource(t *testing.T, dir string) (read []string, literals map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	literals = map[string]bool{}
	isMD := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "md" }
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Name.Name == "Keys" {
					return false // the declaration is not a use
				}
			case *ast.ValueSpec:
				if slices.ContainsFunc(n.Names, func(id *ast.Ident) bool { return id.Name == "modeKeys" }) {
					return false // inference's table of which mode a key belongs to
				}
			case *ast.BasicLit:
				if s, ok := str(n); ok {
					literals[s] = true
				}
			case *ast.IndexExpr:
				if s, ok := str(n.Index); ok && isMD(n.X) {
					read = append(read, s)
				}
			case *ast.CallExpr:
				// The key is the argument after md in f(md, "k", ...), or
				// the first in md.F("k", ...); a variable there is skipped.
				key := -1
				if i := slices.IndexFunc(n.Args, isMD); i >= 0 {
					key = i + 1
				} else if sel, ok := n.Fun.(*ast.SelectorExpr); ok && isMD(sel.X) {
					key = 0
				}
				if key >= 0 && key < len(n.Args) {
					if s, ok := str(n.Args[key]); ok {
						read = append(read, s)
					}
				}
			}
			return true
		})
	}
	slices.Sort(read)
	return slices.Compact(read), literals
}
