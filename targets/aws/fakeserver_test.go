package aws

// The fake IAM as a process of its own, for end-to-end tests outside this
// package (cmd/accessrecon's enforce run), in the os/exec "helper process"
// manner: build this package's test binary and run
//
//	go test -c -o iamfake ./targets/aws
//	ACCESSRECON_IAM_FAKE_SEED=seed.json ./iamfake -test.run '^TestIAMFakeServer$'
//
// It listens on 127.0.0.1 (a free port), prints "IAMFAKE_URL=http://…" on
// stdout, and serves until killed or until its stdin closes. Besides the IAM
// Query API (every request and answer held to service-2.json, as in the unit
// tests) it answers GET /_state with the users, keys and groups as JSON and
// GET /_violations with the model violations seen (an empty JSON list when
// the fake and the client kept to the model). Without the variable the test
// is skipped: it is not a test.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/aws/awsfake"
)

// fakeTB is the testing.TB the long-lived fake reports violations to: it
// keeps them for /_violations instead of failing a test.
type fakeTB struct{ testing.TB }

func (fakeTB) Cleanup(func()) {}

func TestIAMFakeServer(t *testing.T) {
	path := os.Getenv("ACCESSRECON_IAM_FAKE_SEED")
	if path == "" {
		t.Skip("not a test: the fake IAM server for end-to-end tests (set ACCESSRECON_IAM_FAKE_SEED)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var seed awsfake.Seed
	if err := json.Unmarshal(b, &seed); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f := awsfake.New(fakeTB{t})
	f.SeedFrom(seed)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /_state", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.State())
	})
	mux.HandleFunc("GET /_violations", func(w http.ResponseWriter, r *http.Request) {
		f.Mu.Lock()
		v := append([]string{}, f.Violations...)
		f.Mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	})
	mux.Handle("/", f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("IAMFAKE_URL=http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until stdin closes (or the process is killed)
	_ = srv.Close()
}

// TestIAMFakeServerProcess runs the fake as the end-to-end tests would: as a
// process of its own, listed through the connector, its state read back.
func TestIAMFakeServerProcess(t *testing.T) {
	if os.Getenv("ACCESSRECON_IAM_FAKE_SEED") != "" {
		t.Skip("inside the helper process")
	}
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`{
  "groups": [{"name": "Admins", "policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]}],
  "users": [
    {"name": "cy", "tags": {"EmployeeID": "E003"}, "console": true, "groups": ["Admins"],
     "keys": [{"id": "AKIAE2E0000000000CY1", "status": "Active", "created": "2026-01-01T00:00:00Z", "last_used": "2026-11-24T08:00:00Z"}]},
    {"name": "ann", "tags": {"EmployeeID": "E001"}, "keys": [{"status": "Active", "created": "2025-01-01T00:00:00Z"}]}
  ]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestIAMFakeServer$")
	cmd.Env = append(os.Environ(), "ACCESSRECON_IAM_FAKE_SEED="+seed)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("fake server process: %v", err)
		}
	}()
	sc := bufio.NewScanner(stdout)
	var base string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "IAMFAKE_URL="); ok {
			base = u
			break
		}
	}
	if base == "" {
		t.Fatal("the fake printed no IAMFAKE_URL")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	isolateAWSEnv(t)
	cfg := Config{Endpoint: base, TagEmployeeID: "EmployeeID"}
	cfg.accessKeyID, cfg.secretAccessKey = testKeyID, testSecret
	tg, err := newTarget(t.Context(), cfg, testLogger(t), options{sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	as := listAll(t, tg)
	cy := byName(t, as, "cy")
	if cy.EmployeeID != "E003" || !cy.Privileged || len(cy.Credentials) != 1 || cy.Credentials[0].ID != "AKIAE2E0000000000CY1" {
		t.Fatalf("cy = %+v", cy)
	}
	if err := tg.Disable(t.Context(), cy); err != nil {
		t.Fatal(err)
	}
	var state awsfake.Seed
	getJSON(t, base+"/_state", &state)
	if len(state.Users) != 2 || state.Users[1].Name != "cy" || state.Users[1].Console || state.Users[1].Keys[0].Status != "Inactive" {
		t.Errorf("state after disabling cy: %+v", state.Users)
	}
	var violations []string
	getJSON(t, base+"/_violations", &violations)
	if len(violations) != 0 {
		t.Errorf("violations: %v", violations)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
