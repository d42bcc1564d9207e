package specproxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

const spec = "testdata/okta-users-excerpt.yaml"

var shared = specproxy.NewShared(spec, specproxy.Options{})

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// userFake answers GET /api/v1/users/{id} with a user whose status is status,
// and GET /api/v1/users with one page that links to a second.
func userFake(status string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":%q,"status":%q,"created":"2024-01-02T03:04:05.000Z","lastLogin":null,"profile":{"login":"a@example.com","email":"a@example.com"}}`,
			r.PathValue("id"), status)
	})
	mux.HandleFunc("GET /api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after") == "" {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/v1/users?after=u1&limit=1>; rel="next"`, r.Host))
		}
		_, _ = fmt.Fprintf(w, `[{"id":"u1","status":%q}]`, status)
	})
	return mux
}

func get(t *testing.T, c *http.Client, url string, auth bool) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if auth {
		req.Header.Set("Authorization", "SSWS test-token")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestValidResponsePassesThrough(t *testing.T) {
	base, c := shared.Use(t, userFake("ACTIVE"))
	code, _, body := get(t, c, base+"/api/v1/users/00u1", true)
	if code != http.StatusOK {
		t.Fatalf("got %d %s", code, body)
	}
	var u struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &u); err != nil || u.ID != "00u1" || u.Status != "ACTIVE" {
		t.Fatalf("body %s (%v)", body, err)
	}
}

// The reason the harness exists: a fake that leaves the vendor's description
// makes the request fail.
func TestBadResponseBecomesViolation(t *testing.T) {
	base, c := shared.Use(t, userFake("BOGUS"))
	code, _, body := get(t, c, base+"/api/v1/users/00u1", true)
	if code != http.StatusInternalServerError || !strings.Contains(body, "VIOLATIONS") || !strings.Contains(body, "status") {
		t.Fatalf("want 500 VIOLATIONS naming status, got %d %s", code, body)
	}
}

func TestBadRequestRefused(t *testing.T) {
	base, c := shared.Use(t, userFake("ACTIVE"))
	if code, _, body := get(t, c, base+"/api/v1/users?limit=abc", true); code != http.StatusUnprocessableEntity {
		t.Errorf("limit=abc: want 422, got %d %s", code, body)
	}
	if code, _, body := get(t, c, base+"/api/v1/users/00u1/lifecycle/frobnicate", true); code != http.StatusNotFound {
		t.Errorf("unknown route: want 404, got %d %s", code, body)
	}
	if code, _, body := get(t, c, base+"/api/v1/users/00u1", false); code != http.StatusUnauthorized {
		t.Errorf("no Authorization: want 401, got %d %s", code, body)
	}
}

// Absolute URLs the fake builds from r.Host lead back through Prism, and
// concurrent tests reach their own fakes.
func TestLinksAndRoutes(t *testing.T) {
	baseA, ca := shared.Use(t, userFake("ACTIVE"))
	_, cs := shared.Use(t, userFake("SUSPENDED"))
	code, h, body := get(t, ca, baseA+"/api/v1/users?limit=1", true)
	if code != http.StatusOK || !strings.Contains(body, `"ACTIVE"`) {
		t.Fatalf("got %d %s", code, body)
	}
	next := strings.TrimSuffix(strings.TrimPrefix(strings.Split(h.Get("Link"), ";")[0], "<"), ">")
	if !strings.HasPrefix(next, baseA+"/") {
		t.Fatalf("Link %q does not lead back through Prism %s", h.Get("Link"), baseA)
	}
	if code, _, body := get(t, cs, next, true); code != http.StatusOK || !strings.Contains(body, `"SUSPENDED"`) {
		t.Fatalf("second fake through the same Prism: %d %s", code, body)
	}
	// A request without a route reaches no fake.
	if code, _, _ := get(t, http.DefaultClient, baseA+"/api/v1/users/00u1", true); code == http.StatusOK {
		t.Fatal("unrouted request answered 200")
	}
}

// Start runs a Prism of the test's own in front of a fixed upstream; a patch
// to the description changes what Prism accepts, and a patch that no longer
// applies is an error.
func TestStartWithPatch(t *testing.T) {
	up := httptest.NewServer(userFake("BOGUS"))
	defer up.Close()
	url := specproxy.Start(t, spec, up.URL, specproxy.Options{Patches: []specproxy.Patch{{
		Pointer: "/components/schemas/UserStatus/enum/7",
		Value:   "BOGUS",
		Reason:  "test: accept a status the description lacks",
	}}})
	code, _, body := get(t, http.DefaultClient, url+"/api/v1/users/00u1", true)
	if code != http.StatusOK {
		t.Fatalf("patched enum: want 200, got %d %s", code, body)
	}

	_, err := specproxy.Launch(spec, up.URL, t.TempDir(), specproxy.Options{Patches: []specproxy.Patch{{
		Pointer: "/components/schemas/NoSuchSchema/pattern", Value: "x", Reason: "test",
	}}})
	if err == nil || !strings.Contains(err.Error(), "NoSuchSchema") {
		t.Fatalf("stale patch: want an error naming it, got %v", err)
	}
}
