package github

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSAMLQueryFitsGitHubSchema validates the connector's GraphQL query
// against GitHub's own GraphQL schema (npm @octokit/graphql-schema, pinned in
// testdata/openapi), since GraphQL has no OpenAPI description for Prism.
func TestSAMLQueryFitsGitHubSchema(t *testing.T) {
	node, err := exec.LookPath("node")
	dir := filepath.Join("testdata", "openapi")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@octokit", "graphql-schema"))
	}
	if err != nil {
		msg := "node or GitHub's GraphQL schema unavailable (" + err.Error() + "); install: (cd targets/github/testdata/openapi && npm ci --no-audit --no-fund)"
		if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	check := func(query string) string {
		f := filepath.Join(t.TempDir(), "q.graphql")
		if err := os.WriteFile(f, []byte(query), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(node, filepath.Join(dir, "validate-graphql.mjs"), f).CombinedOutput()
		if err != nil {
			return strings.TrimSpace(string(out)) + " (" + err.Error() + ")"
		}
		return ""
	}
	if msg := check(samlQuery); msg != "" {
		t.Fatalf("the SAML identity query breaks GitHub's GraphQL schema: %s", msg)
	}
	// The check can fail: a field GitHub does not have is reported.
	if msg := check(strings.Replace(samlQuery, "nameId", "employeeNumber", 1)); !strings.Contains(msg, "employeeNumber") {
		t.Fatalf("a query with an unknown field passed: %q", msg)
	}
}
