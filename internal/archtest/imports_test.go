package archtest

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the Go module path of the repository.
const module = "github.com/upsell-io/upsell"

// moduleThirdParty are the modules outside the standard library a module
// (plugin/<name>/...) may import in the code it ships: money is decimal,
// never float64. Add one here only with a reason a plugin process needs it.
var moduleThirdParty = []string{"github.com/shopspring/decimal"}

// contract are the packages of upsell a module may import: the contract and
// its shared packages.
var contract = []string{"hostapi", "hostapi/money", "hostapi/web", "hostapi/proration"}

// contractExceptions are the imports of upsell outside hostapi that the
// contract's packages may make: hostapitest runs plugins exactly as the
// daemon does, so it starts them through the supervisor.
var contractExceptions = map[string][]string{"hostapi/hostapitest": {"internal/supervisor"}}

// testOnly are packages only _test.go files may import.
var testOnly = []string{"internal/browsertest"}

// notServed are packages the serve path must not carry: the embedded
// database and the Pterodactyl double are for the demo and tests, and a
// `make build` binary (-tags nodemo) leaves the demo out.
var notServed = []string{"internal/embeddedsql", "internal/pterosim", "internal/demo", "internal/browsertest"}

// builtin is the one package outside plugin/ that names first-party
// modules, to serve them by re-exec.
const builtin = "internal/builtin"

// importEdge is one import of one Go file, paths relative to the module
// ("hostapi/money"), or full for anything outside it.
type importEdge struct {
	file   string // relative to the repository root
	from   string // the importing file's package directory
	to     string
	inTest bool // the file is a _test.go file
}

// violations applies the direct-import rules to edges.
func violations(edges []importEdge) []string {
	var out []string
	bad := func(e importEdge, why string, args ...any) {
		out = append(out, fmt.Sprintf("%s imports %s: %s", e.file, e.to, fmt.Sprintf(why, args...)))
	}
	for _, e := range edges {
		if slices.Contains(testOnly, e.to) && !e.inTest {
			bad(e, "only _test.go files may import it")
		}
		own, isModule := moduleOf(e.from)
		target, toModule := moduleOf(e.to)
		switch {
		case isModule && toModule && target != own:
			bad(e, "a module never imports another module (plugin/%s importing plugin/%s)", own, target)
		case isModule && !e.inTest && !moduleMayImport(own, e.to):
			bad(e, "a module imports only the standard library, %s, the contract (%s) and its own packages", strings.Join(moduleThirdParty, ", "), strings.Join(contract, ", "))
		case toModule && !isModule && !e.inTest && (e.from != builtin || e.to != "plugin/"+target):
			bad(e, "only %s names a first-party module (its root package), to serve it", builtin)
		}
		if inTree("hostapi", e.from) && isUpsell(e.to) && !inTree("hostapi", e.to) && !slices.Contains(contractExceptions[e.from], e.to) {
			bad(e, "the contract (hostapi) imports nothing of upsell but its own packages")
		}
	}
	return out
}

// moduleMayImport says whether code of plugin/<own> may import p.
func moduleMayImport(own, p string) bool {
	switch {
	case stdlib(p), slices.Contains(contract, p), inTree("plugin/"+own, p):
		return true
	}
	return slices.ContainsFunc(moduleThirdParty, func(m string) bool { return p == m || strings.HasPrefix(p, m+"/") })
}

// moduleOf is the module name of a package under plugin/.
func moduleOf(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "plugin/")
	if !ok || rest == "" {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name, true
}

func inTree(root, p string) bool { return p == root || strings.HasPrefix(p, root+"/") }

// isUpsell says whether p (relative when it is this module's) is a package
// of this repository.
func isUpsell(p string) bool {
	return !stdlib(p) && !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
}

// stdlib: a standard library path has no dot in its first element; this
// module's own paths are made relative before, so they are told apart by
// prefix instead (see relative).
func stdlib(p string) bool {
	first := strings.SplitN(p, "/", 2)[0]
	if strings.Contains(first, ".") {
		return false
	}
	return !slices.Contains(upsellRoots, first)
}

// upsellRoots are the first elements of this repository's package paths.
var upsellRoots = []string{"adapters", "cmd", "hostapi", "internal", "migrations", "plugin"}

// relative makes an import path of this module relative to it.
func relative(p string) string {
	if p == module {
		return "."
	}
	if rest, ok := strings.CutPrefix(p, module+"/"); ok {
		return rest
	}
	return p
}

// repoRoot is the repository root (two levels up from this package).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

// collect reads the imports of every Go file of the repository, whatever
// its build tags (a file behind -tags faults or nodemo obeys the rules
// too), skipping testdata and hidden directories.
func collect(t *testing.T, root string) []importEdge {
	t.Helper()
	fset := token.NewFileSet()
	var edges []importEdge
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			to, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", rel, imp.Path.Value, err)
			}
			edges = append(edges, importEdge{file: rel, from: path.Dir(rel), to: relative(to), inTest: strings.HasSuffix(p, "_test.go")})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d files under %s: the walk missed the repository", files, root)
	}
	return edges
}

// TestImportRules checks every import of every Go file against the rules.
func TestImportRules(t *testing.T) {
	root := repoRoot(t)
	edges := collect(t, root)
	for _, v := range violations(edges) {
		t.Error(v)
	}
	// The rules must have something to bite on: both modules and the
	// contract are where they are.
	seen := map[string]bool{}
	for _, e := range edges {
		seen[e.from] = true
	}
	for _, dir := range []string{"plugin/microupsell", "plugin/configoptions", "hostapi", "hostapi/proration", builtin} {
		if !seen[dir] {
			t.Errorf("no imports read from %s: has it moved? update the rules", dir)
		}
	}
}

// TestServePathCarriesNoDoubles: the binary `make build` makes (-tags
// nodemo) and the daemon's wiring in any build depend on neither the
// embedded database, the Pterodactyl double, the demo nor the browser kit.
func TestServePathCarriesNoDoubles(t *testing.T) {
	if testing.Short() {
		t.Skip("go list -deps: skipped with -short")
	}
	root := repoRoot(t)
	for _, c := range []struct {
		tags string
		pkg  string
	}{{"nodemo", "./cmd/upsell"}, {"", "./internal/daemon"}} {
		deps := goListDeps(t, root, c.tags, c.pkg)
		if !slices.Contains(deps, "hostapi") {
			t.Fatalf("go list -deps %s (tags %q) misses hostapi: %v", c.pkg, c.tags, deps)
		}
		for _, p := range notServed {
			if slices.Contains(deps, p) {
				t.Errorf("%s (tags %q) depends on %s, which the serve path must not carry", c.pkg, c.tags, p)
			}
		}
	}
}

// goListDeps is `go list -deps` of pkg under tags, relative to the module.
func goListDeps(t *testing.T, root, tags, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", tags, pkg)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -tags %q %s: %v\n%s", tags, pkg, err, stderr.String())
	}
	var deps []string
	for _, line := range strings.Fields(string(out)) {
		deps = append(deps, relative(line))
	}
	return deps
}

// TestViolationsCatch shows each rule refusing the import it exists for,
// so TestImportRules passing means something.
func TestViolationsCatch(t *testing.T) {
	tests := []struct {
		name string
		edge importEdge
		want string // part of a violation; "" for none
	}{
		{"a module importing another", importEdge{from: "plugin/configoptions", to: "plugin/microupsell/pricing"}, "never imports another module"},
		{"even in a test", importEdge{from: "plugin/configoptions", to: "plugin/microupsell", inTest: true}, "never imports another module"},
		{"a module importing the host", importEdge{from: "plugin/microupsell", to: "internal/host"}, "imports only the standard library"},
		{"a module importing an adapter", importEdge{from: "plugin/microupsell/migrations", to: "adapters/paymenter"}, "imports only the standard library"},
		{"a module importing an unlisted third party", importEdge{from: "plugin/microupsell", to: "github.com/jmoiron/sqlx"}, "imports only the standard library"},
		{"a module importing the contract's internals", importEdge{from: "plugin/microupsell", to: "hostapi/internal/upsellv1"}, "imports only the standard library"},
		{"the contract importing the host", importEdge{from: "hostapi/proration", to: "internal/host"}, "the contract (hostapi) imports nothing"},
		{"the contract importing a module", importEdge{from: "hostapi", to: "plugin/microupsell"}, "the contract (hostapi) imports nothing"},
		{"browsertest outside a test", importEdge{from: "internal/daemon", to: "internal/browsertest"}, "only _test.go files"},
		{"a host package naming a module", importEdge{from: "internal/daemon", to: "plugin/microupsell"}, "only internal/builtin names"},
		{"builtin reaching into a module", importEdge{from: "internal/builtin", to: "plugin/microupsell/migrations"}, "only internal/builtin names"},
		{"a module's own subpackage", importEdge{from: "plugin/configoptions", to: "plugin/configoptions/catalog"}, ""},
		{"a module importing the shared engine", importEdge{from: "plugin/configoptions", to: "hostapi/proration"}, ""},
		{"decimal", importEdge{from: "plugin/configoptions/catalog", to: "github.com/shopspring/decimal"}, ""},
		{"a module's test using the host", importEdge{from: "plugin/configoptions", to: "internal/host", inTest: true}, ""},
		{"hostapitest starting plugins", importEdge{from: "hostapi/hostapitest", to: "internal/supervisor"}, ""},
		{"browsertest in a test", importEdge{from: "internal/e2e", to: "internal/browsertest", inTest: true}, ""},
		{"builtin serving a module", importEdge{from: "internal/builtin", to: "plugin/configoptions"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.edge.file = tt.edge.from + "/x.go"
			got := violations([]importEdge{tt.edge})
			switch {
			case tt.want == "" && len(got) > 0:
				t.Fatalf("refused: %v", got)
			case tt.want != "" && !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, tt.want) }):
				t.Fatalf("got %v, want a violation saying %q", got, tt.want)
			}
		})
	}
}
