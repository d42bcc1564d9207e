package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kit holds the packages every connector may use whatever its family: the
// two contracts and the connector kit (the one HTTP client with its retry
// policy, the export-file reader).
var kit = []string{"sources", "targets", "targets/upstream", "targets/exportfile"}

// allowedConnectorImports lists the connector-to-connector imports the design
// allows, each with its reason.
var allowedConnectorImports = map[[2]string]string{
	{"targets/slack", "targets/scim"}: "Slack deactivates users through its SCIM API (issue 15)",
}

// TestImportRules holds the code to DESIGN.md's package table: a connector
// (sources/<name>, targets/<name>) imports the contracts and the kit, never
// another connector, reconcile, reports or cmd; reconcile never imports a
// connector; reports import no connector. Test files are left out (tests
// may start another family's fake).
func TestImportRules(t *testing.T) {
	const module = "github.com/accessrecon/accessrecon/"
	imports := map[string][]string{} // package dir → module imports
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if after, ok := strings.CutPrefix(p, module); ok && !slices.Contains(imports[pkg], after) {
				imports[pkg] = append(imports[pkg], after)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	family := func(pkg string) string { return strings.SplitN(pkg, "/", 2)[0] }
	// connector is the connector a package belongs to (targets/okta for
	// targets/okta/oktafake), "" for the contracts, the kit, the shared
	// suites and everything outside sources/ and targets/.
	connector := func(pkg string) string {
		parts := strings.Split(pkg, "/")
		if len(parts) < 2 || (parts[0] != "sources" && parts[0] != "targets") || slices.Contains(kit, parts[0]+"/"+parts[1]) ||
			strings.HasSuffix(parts[1], "test") {
			return ""
		}
		return parts[0] + "/" + parts[1]
	}
	if len(imports["reconcile"]) == 0 || len(imports["targets/slack"]) == 0 {
		t.Fatalf("the walk found no imports of reconcile or targets/slack: wrong root %s?", root)
	}
	for _, pkg := range slices.Sorted(func(yield func(string) bool) {
		for k := range imports {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, im := range imports[pkg] {
			var why string
			c, ci := connector(pkg), connector(im)
			switch {
			case c != "" && ci != "" && ci != c && allowedConnectorImports[[2]string{c, ci}] == "":
				why = "a connector imports another connector"
			case c != "" && slices.Contains([]string{"reconcile", "reports", "cmd"}, family(im)):
				why = "a connector imports " + family(im)
			case family(pkg) == "reconcile" && ci != "":
				why = "the engine imports a connector"
			case family(pkg) == "reports" && ci != "":
				why = "a report imports a connector"
			case family(pkg) != "cmd" && family(im) == "cmd":
				why = "cmd is imported"
			}
			if why != "" {
				t.Errorf("%s imports %s: %s", pkg, im, why)
			}
		}
	}
}
