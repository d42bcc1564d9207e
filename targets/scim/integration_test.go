package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// The real server: testdata/scim-server (npm scimmy + scimmy-routers +
// express), started once per package on a free loopback port. CI installs its
// dependencies first with `npm ci` in that folder; the test never runs npm.

const (
	realUser = "scim"
	realPass = "secret"
	realSeed = 23 // not a multiple of the page sizes used below
)

type realServer struct {
	base    string // http://127.0.0.1:PORT/scim/v2
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the node process has exited
	log     *bytes.Buffer
	skip    string // why the server could not start (node or node_modules missing)
	err     error  // the server should have started but did not
	counter atomic.Int64
}

var (
	realOnce sync.Once
	real     *realServer
)

func TestMain(m *testing.M) {
	code := m.Run()
	if real != nil && real.cmd != nil {
		_ = real.cmd.Process.Kill() // by PID: the one node process we started
		<-real.exited
	}
	os.Exit(code)
}

// scimServer returns the package's real SCIM server, starting it on first
// use, or skips (fails under ACCESSRECON_REQUIRE_INTEGRATION=1) when node or
// the server's node_modules are missing.
func scimServer(t *testing.T) *realServer {
	t.Helper()
	realOnce.Do(func() { real = startReal() })
	if real.skip != "" {
		targettest.NeedIntegration(t, "SCIM integration server unavailable: "+real.skip)
	}
	if real.err != nil {
		t.Fatalf("SCIM integration server: %v\n%s", real.err, real.log)
	}
	return real
}

func startReal() *realServer {
	s := &realServer{log: &bytes.Buffer{}}
	node, err := exec.LookPath("node")
	if err != nil {
		s.skip = "node not found on PATH (install Node.js 20)"
		return s
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "scim-server"))
	if err != nil {
		s.err = err
		return s
	}
	for _, p := range []string{"scimmy", "scimmy-routers", "express"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p)); err != nil {
			s.skip = fmt.Sprintf("%s missing: run `npm ci --no-audit --no-fund` in %s", filepath.Join("node_modules", p), dir)
			return s
		}
	}
	port, err := targettest.FreePort()
	if err != nil {
		s.err = err
		return s
	}
	s.base = fmt.Sprintf("http://127.0.0.1:%d/scim/v2", port)
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "SEED="+strconv.Itoa(realSeed),
		"SCIM_USER="+realUser, "SCIM_PASS="+realPass)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.err = fmt.Errorf("start node: %w", err)
		return s
	}
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/ServiceProviderConfig", nil)
		req.SetBasicAuth(realUser, realPass)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			s.err = errors.New("node exited before the server was ready")
			return s
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			s.err = errors.New("server not ready within 20s")
			return s
		}
	}
}

// call sends one admin request to the real server (seeding, checking).
func (s *realServer) call(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(realUser, realPass)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode > 299 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

type seeded struct {
	prefix   string
	userIDs  []string
	groupID  string
	groupNam string
}

// seed creates two fresh enabled users (employee numbers P-1, P-2) and a
// fresh group holding both, under a prefix unique to this call.
func (s *realServer) seed(t *testing.T) seeded {
	t.Helper()
	n := s.counter.Add(1)
	sd := seeded{prefix: fmt.Sprintf("run%03d-", n)}
	for i := 1; i <= 2; i++ {
		name := fmt.Sprintf("%su%d", sd.prefix, i)
		var out struct{ ID string }
		s.call(t, http.MethodPost, "/Users", map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterpriseURN},
			"userName":    name,
			"displayName": "Fresh " + name,
			"active":      true,
			"emails":      []map[string]any{{"value": name + "@example.com", "type": "work", "primary": true}},
			enterpriseURN: map[string]any{"employeeNumber": fmt.Sprintf("%s%d", sd.prefix, i)},
		}, &out)
		sd.userIDs = append(sd.userIDs, out.ID)
	}
	sd.groupNam = sd.prefix + "group"
	var g struct{ ID string }
	s.call(t, http.MethodPost, "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": sd.groupNam,
		"members":     []map[string]any{{"value": sd.userIDs[0]}, {"value": sd.userIDs[1]}},
	}, &g)
	sd.groupID = g.ID
	return sd
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (s *realServer) target(t *testing.T, mod func(*Config)) *Target {
	t.Helper()
	cfg := Config{BaseURL: s.base, Auth: "basic", User: realUser, Password: realPass, Timeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestConformanceReal runs the shared suite against the real server in the
// modes it supports: PATCH (whole directory, short pages, groups attribute)
// and PUT (filtered to the fresh users, groups from member lists).
func TestConformanceReal(t *testing.T) {
	s := scimServer(t)
	t.Run("patch", func(t *testing.T) {
		targettest.Run(t, func(t *testing.T) targettest.Fixture {
			sd := s.seed(t)
			tg := s.target(t, func(c *Config) { c.PageSize = 7 })
			return targettest.Fixture{Target: tg, Enabled: sd.userIDs, MinAccounts: realSeed + 2}
		})
	})
	t.Run("put_members_filter", func(t *testing.T) {
		targettest.Run(t, func(t *testing.T) targettest.Fixture {
			sd := s.seed(t)
			tg := s.target(t, func(c *Config) {
				c.Disable = "put"
				c.Groups = "members"
				c.Filter = fmt.Sprintf("userName sw %q", sd.prefix)
			})
			return targettest.Fixture{Target: tg, Enabled: sd.userIDs, MinAccounts: 2}
		})
	})
}

func TestRealMapping(t *testing.T) {
	s := scimServer(t)
	sd := s.seed(t)
	for _, mode := range []string{"attribute", "members"} {
		t.Run(mode, func(t *testing.T) {
			tg := s.target(t, func(c *Config) {
				c.PageSize = 5
				c.Groups = mode
				c.PrivilegedGroups = []string{"admins"}
			})
			byName := map[string]targets.Account{}
			for a, err := range tg.Accounts(t.Context()) {
				if err != nil {
					t.Fatal(err)
				}
				if _, dup := byName[a.Username]; dup {
					t.Fatalf("%s listed twice", a.Username)
				}
				byName[a.Username] = a
			}
			for i := 1; i <= realSeed; i++ {
				if _, ok := byName[fmt.Sprintf("u%05d", i)]; !ok {
					t.Fatalf("seeded user u%05d not listed (listed %d)", i, len(byName))
				}
			}
			u1 := byName["u00001"]
			if u1.EmployeeID != "E00001" || u1.Email != "u00001@example.com" || u1.DisplayName != "User 1" ||
				!u1.Enabled || u1.Created.IsZero() || u1.LoginTracked {
				t.Errorf("u00001 = %+v", u1)
			}
			if !u1.Privileged || !slices.Contains(targets.GroupNames(u1.Groups), "Admins") || !slices.Contains(targets.GroupNames(u1.Groups), "Everyone") {
				t.Errorf("u00001 groups %v privileged %v, want Admins+Everyone, privileged", u1.Groups, u1.Privileged)
			}
			u3 := byName["u00003"]
			if u3.Privileged || slices.Contains(targets.GroupNames(u3.Groups), "Admins") || !slices.Contains(targets.GroupNames(u3.Groups), "Everyone") {
				t.Errorf("u00003 groups %v privileged %v", u3.Groups, u3.Privileged)
			}
			fresh := byName[sd.prefix+"u1"]
			if fresh.ID != sd.userIDs[0] || fresh.EmployeeID != sd.prefix+"1" || !slices.Contains(targets.GroupNames(fresh.Groups), sd.groupNam) {
				t.Errorf("fresh user = %+v", fresh)
			}
			got, err := tg.Account(t.Context(), fresh.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != fresh.Username || !slices.Contains(targets.GroupNames(got.Groups), sd.groupNam) || len(got.Groups) != len(fresh.Groups) {
				t.Errorf("Account(%s) = %+v, listed %+v", fresh.ID, got, fresh)
			}
		})
	}
}

func TestRealFilterAndExternalID(t *testing.T) {
	s := scimServer(t)
	tg := s.target(t, func(c *Config) {
		c.Filter = `userName sw "u0001"`
		c.EmployeeIDAttribute = "externalId"
	})
	var names []string
	for a, err := range tg.Accounts(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if want := "E" + strings.TrimPrefix(a.Username, "u"); a.EmployeeID != want {
			t.Errorf("%s employee ID %q, want %q", a.Username, a.EmployeeID, want)
		}
		names = append(names, a.Username)
	}
	// u00010..u00019 match "u0001"; u00001 does not.
	if len(names) != 10 {
		t.Fatalf("filter matched %d users, want 10: %v", len(names), names)
	}
}

func TestRealErrors(t *testing.T) {
	s := scimServer(t)
	sd := s.seed(t)
	tg := s.target(t, nil)
	ctx := t.Context()
	a := targets.Account{ID: sd.userIDs[0]}
	if err := tg.RemoveFromGroup(ctx, a, targets.Group{ID: "accessrecon-no-such-group", Name: "accessrecon-no-such-group"}); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("remove from a missing group: %v, want ErrNotFound", err)
	}
	if err := tg.RemoveFromGroup(ctx, targets.Account{ID: "accessrecon-no-such-user"}, targets.Group{ID: sd.groupNam, Name: sd.groupNam}); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("remove a missing user: %v, want ErrNotFound", err)
	}
	// The other member stays in the group.
	if err := tg.RemoveFromGroup(ctx, a, targets.Group{ID: sd.groupNam, Name: sd.groupNam}); err != nil {
		t.Fatal(err)
	}
	var g struct{ Members []struct{ Value string } }
	s.call(t, http.MethodGet, "/Groups/"+sd.groupID, nil, &g)
	if len(g.Members) != 1 || g.Members[0].Value != sd.userIDs[1] {
		t.Errorf("group members after removing %s: %+v", a.ID, g.Members)
	}

	bad, err := New(Config{BaseURL: s.base, Auth: "basic", User: realUser, Password: "wrong"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range bad.Accounts(ctx) {
		if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), "Authorization failed") {
			t.Errorf("listing with a wrong password: %v, want ErrPermission with the SCIM detail", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
	if err := bad.Disable(ctx, a); !errors.Is(err, targets.ErrPermission) {
		t.Errorf("disable with a wrong password: %v, want ErrPermission", err)
	}
}
