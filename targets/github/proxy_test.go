package github

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/accessrecon/accessrecon/targets/github/githubfake"
	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

var (
	proxy     *specproxy.Shared
	prunedErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "github-spec-")
	if err != nil {
		panic(err)
	}
	pruned := filepath.Join(dir, "ghec-used.json")
	prunedErr = githubfake.PruneSpec(githubfake.SpecPath(), pruned, githubfake.UsedOperations)
	// No patch is needed: the fake's answers fit the description as published.
	proxy = specproxy.NewShared(pruned, specproxy.Options{})
	code := m.Run()
	proxy.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// useProxy registers fake with the package's Prism and returns the URL and
// client to give the connector. Without the installed description it skips
// (fails under ACCESSRECON_REQUIRE_INTEGRATION=1).
func useProxy(t *testing.T, fake http.Handler) (string, *http.Client) {
	t.Helper()
	if prunedErr != nil {
		msg := fmt.Sprintf("GitHub's description unavailable (%v); install it: (cd targets/github/testdata/openapi && npm ci --no-audit --no-fund)", prunedErr)
		if errors.Is(prunedErr, fs.ErrNotExist) && os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") != "1" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return proxy.Use(t, fake)
}
