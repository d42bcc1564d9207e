// Package specproxy holds a vendor-API fake to the vendor's own OpenAPI or
// Swagger description: it starts Prism (npm @stoplight/prism-cli) as a
// validating proxy in front of the fake, so that a connector under test talks
// to Prism and Prism forwards to the fake. With Prism's --errors, a request
// that breaks the description comes back as 422 (an unknown route as 404) and
// a response of the fake that breaks it becomes a 500 whose body starts
// with a VIOLATIONS list naming the field: the test fails on either side's
// mistake. The package is for tests only.
//
// # Installing Prism
//
// Prism and its one helper dependency are pinned in testdata/prism
// (package.json, package-lock.json). Tests never run npm; install once, and
// `.ci/run` must do the same before `go test`:
//
//	(cd targets/targettest/specproxy/testdata/prism && npm ci --no-audit --no-fund)
//
// When node or that node_modules folder is missing, Start and Shared.Use skip
// the test with a message saying the above, unless
// ACCESSRECON_REQUIRE_INTEGRATION=1 is set: then they fail it.
//
// # One Prism per test package
//
// Prism needs seconds to load a large description (Okta's: about 4 s), so a
// test package starts one and shares it. Shared starts Prism lazily in front
// of a small router in the test process; each test registers its own fake
// with Use and gets the URL to give the connector and an *http.Client that
// marks its requests for that fake (Prism forwards the mark), so tests may run
// in parallel, each with its own fake:
//
//	var okta = specproxy.NewShared("testdata/okta-management-minimal.yaml", specproxy.Options{})
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		okta.Close() // stops Prism by its PID
//		os.Exit(code)
//	}
//
//	func TestList(t *testing.T) {
//		fake := newFake()                 // an http.Handler
//		base, client := okta.Use(t, fake) // skips (or fails under CI) without Prism
//		// Give the connector base as its server URL and client as its
//		// *http.Client (the connector's tests reach an unexported field or
//		// constructor for that), then list, act and assert as usual.
//	}
//
// The router sets each forwarded request's Host to Prism's address, so a fake
// that builds absolute URLs from r.Host (Link: <…>; rel="next") sends the
// connector back through Prism. A test that needs a Prism of its own (another
// description, a fixed upstream) calls Start instead.
//
// # Descriptions and their bugs
//
// Before Prism loads a description, testdata/prism/strip-examples.mjs removes
// its examples (Okta's carry $refs Prism cannot resolve; validation never uses
// examples) and turns each discriminated oneOf into anyOf (Prism's validator
// ignores discriminators). Where the vendor's description is wrong, a test
// package patches it in one visible place, Options.Patches, each with the
// reason; validation is never turned off.
//
// testdata/prism/start.sh is the same start as a shell script, for trying a
// fake by hand: start.sh SPEC PORT UPSTREAM LOG (prints Prism's PID).
package specproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RouteHeader is the request header by which a Shared proxy's router knows
// which test's fake a request is for. Prism forwards it unchanged.
const RouteHeader = "X-Specproxy-Route"

// startTimeout bounds how long Prism may take to load a description and listen.
const startTimeout = 90 * time.Second

// ErrUnavailable is wrapped by Launch's error when Prism cannot run here
// (node or the installed node_modules are missing): the caller skips.
var ErrUnavailable = errors.New("prism unavailable")

// Options adjust how a description is prepared for Prism.
type Options struct {
	// Patches are applied, in order, to the description after examples are
	// stripped and before Prism loads it.
	Patches []Patch
}

// Patch replaces one value of the vendor's description where the description
// is wrong. Pointer is a JSON pointer (RFC 6901) into the description, e.g.
// "/components/schemas/ApiToken/properties/tokenWindow/pattern"; the value
// must exist (a patch that no longer applies fails, so a fixed description is
// noticed). Reason says why, for the log.
type Patch struct {
	Pointer string
	Value   any
	Reason  string
}

// Proxy is one running Prism.
type Proxy struct {
	// URL is where Prism listens: http://127.0.0.1:PORT (no trailing slash).
	URL string
	// LogPath is Prism's log (every request, response and violation).
	LogPath string

	cmd     *exec.Cmd
	exited  chan struct{}
	tempDir string // removed at Close when Launch made it
	once    sync.Once
}

// Launch starts Prism on a free loopback port as a validating proxy for the
// description at specPath in front of upstreamURL, writing its log and the
// prepared description into dir (a temporary directory when dir is ""), and
// returns once Prism listens. The caller must Close it. An error wrapping
// ErrUnavailable means Prism cannot run on this machine.
func Launch(specPath, upstreamURL, dir string, opts Options) (*Proxy, error) {
	node, prismJS, err := locate()
	if err != nil {
		return nil, err
	}
	p := &Proxy{}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "specproxy-"); err != nil {
			return nil, fmt.Errorf("specproxy: %w", err)
		}
		p.tempDir = dir
	}
	fail := func(err error) (*Proxy, error) {
		if p.tempDir != "" {
			_ = os.RemoveAll(p.tempDir)
		}
		return nil, err
	}
	prepared := filepath.Join(dir, "spec.json")
	if err := prepare(node, specPath, prepared, opts.Patches); err != nil {
		return fail(err)
	}
	// A free port can be taken between our probe and Prism's listen: retry once.
	for attempt := 0; ; attempt++ {
		err = p.start(node, prismJS, prepared, upstreamURL, dir)
		if err == nil {
			return p, nil
		}
		if attempt == 1 || !strings.Contains(err.Error(), "EADDRINUSE") {
			return fail(err)
		}
	}
}

func (p *Proxy) start(node, prismJS, spec, upstream, dir string) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("specproxy: free port: %w", err)
	}
	p.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	p.LogPath = filepath.Join(dir, "prism-"+strconv.Itoa(port)+".log")
	logf, err := os.Create(p.LogPath)
	if err != nil {
		return fmt.Errorf("specproxy: %w", err)
	}
	cmd := exec.Command(node, prismJS, "proxy", "--errors", "-h", "127.0.0.1", "-p", strconv.Itoa(port), spec, upstream)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("specproxy: start prism: %w", err)
	}
	_ = logf.Close() // the child holds its own descriptor
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(startTimeout)
	for {
		if b, _ := os.ReadFile(p.LogPath); bytes.Contains(b, []byte("Prism is listening")) {
			if c, err := net.DialTimeout("tcp", p.URL[len("http://"):], time.Second); err == nil {
				_ = c.Close()
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("specproxy: prism exited before listening:\n%s", p.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("specproxy: prism not listening within %s:\n%s", startTimeout, p.logTail())
		}
	}
}

// Close stops Prism by its PID and waits for it to exit.
func (p *Proxy) Close() {
	p.once.Do(func() {
		p.stop()
		if p.tempDir != "" {
			_ = os.RemoveAll(p.tempDir)
		}
	})
}

func (p *Proxy) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill() // the one node process we started
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// Log returns Prism's log so far (requests, responses, violations).
func (p *Proxy) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func (p *Proxy) logTail() string {
	s := p.Log()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

// Start starts a Prism of the test's own as a validating proxy for the
// description at specPath in front of upstreamURL and returns Prism's URL. It
// stops Prism at the test's cleanup. Without node or the installed
// node_modules it skips the test, or fails it under
// ACCESSRECON_REQUIRE_INTEGRATION=1.
func Start(tb testing.TB, specPath, upstreamURL string, opts ...Options) string {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	p, err := Launch(specPath, upstreamURL, tb.TempDir(), o)
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(p.Close)
	return p.URL
}

// unavailable skips or fails tb for a Launch error.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrUnavailable) && os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") != "1" {
		tb.Skipf("%v", err)
	}
	tb.Fatalf("%v", err)
}

// Shared is one Prism for a whole test package, started on first use in front
// of a router that sends each request to the fake of the test that made it.
// Create it at package level, call Close from TestMain after m.Run.
type Shared struct {
	specPath string
	opts     Options

	once   sync.Once
	err    error
	proxy  *Proxy
	router *http.Server
	routes sync.Map // route id → http.Handler
	next   atomic.Int64
}

// NewShared prepares (without starting anything) a shared Prism for the
// description at specPath.
func NewShared(specPath string, opts Options) *Shared {
	return &Shared{specPath: specPath, opts: opts}
}

// Use registers fake for the rest of tb and returns the URL to give the
// connector (Prism's) and an HTTP client the connector must use: it marks each
// request for fake. The first Use starts Prism; without node or the installed
// node_modules it skips the test, or fails it under
// ACCESSRECON_REQUIRE_INTEGRATION=1.
func (s *Shared) Use(tb testing.TB, fake http.Handler) (baseURL string, client *http.Client) {
	tb.Helper()
	s.once.Do(s.launch)
	if s.err != nil {
		unavailable(tb, s.err)
	}
	id := strconv.FormatInt(s.next.Add(1), 10)
	s.routes.Store(id, fake)
	tb.Cleanup(func() { s.routes.Delete(id) })
	return s.proxy.URL, &http.Client{
		Timeout:   2 * time.Minute,
		Transport: routeTransport{id: id, base: http.DefaultTransport},
	}
}

// Proxy returns the running Prism (nil before the first successful Use), for
// reading its log in a failure message.
func (s *Shared) Proxy() *Proxy { return s.proxy }

func (s *Shared) launch() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.err = fmt.Errorf("specproxy: router: %w", err)
		return
	}
	var prismHost atomic.Value
	s.router = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, ok := s.routes.Load(r.Header.Get(RouteHeader))
			if !ok {
				http.Error(w, "specproxy: request carries no route of a live test ("+RouteHeader+")", http.StatusBadGateway)
				return
			}
			if host, ok := prismHost.Load().(string); ok {
				r.Host = host // absolute URLs the fake builds lead back through Prism
			}
			h.(http.Handler).ServeHTTP(w, r)
		}),
	}
	go func() { _ = s.router.Serve(l) }()
	p, err := Launch(s.specPath, "http://"+l.Addr().String(), "", s.opts)
	if err != nil {
		_ = s.router.Close()
		s.err = err
		return
	}
	prismHost.Store(strings.TrimPrefix(p.URL, "http://"))
	s.proxy = p
}

// Close stops Prism (by its PID) and the router. Safe to call when nothing
// was started.
func (s *Shared) Close() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.router != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.router.Shutdown(ctx)
	}
}

type routeTransport struct {
	id   string
	base http.RoundTripper
}

func (t routeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(RouteHeader, t.id)
	return t.base.RoundTrip(r)
}

// Dir returns the folder holding Prism's package.json and node_modules.
func Dir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "testdata", "prism")
		if _, err := os.Stat(filepath.Join(d, "package.json")); err == nil {
			return d, nil
		}
	}
	// Built with -trimpath: find the module root from the working directory.
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "targets", "targettest", "specproxy", "testdata", "prism"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("specproxy: no go.mod above %s", wd)
		}
	}
}

// locate finds node and Prism's entry point, or returns an error wrapping
// ErrUnavailable that says how to install them.
func locate() (node, prismJS string, err error) {
	dir, err := Dir()
	if err != nil {
		return "", "", err
	}
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("specproxy: %w: node not found on PATH (install Node.js 20, then run `npm ci --no-audit --no-fund` in %s)", ErrUnavailable, dir)
	}
	prismJS = filepath.Join(dir, "node_modules", "@stoplight", "prism-cli", "dist", "index.js")
	for _, f := range []string{prismJS, filepath.Join(dir, "node_modules", "js-yaml", "package.json")} {
		if _, err := os.Stat(f); err != nil {
			return "", "", fmt.Errorf("specproxy: %w: %s missing: run `npm ci --no-audit --no-fund` in %s", ErrUnavailable, f, dir)
		}
	}
	return node, prismJS, nil
}

// prepare strips examples and relaxes discriminated oneOfs
// (strip-examples.mjs), then applies patches.
func prepare(node, specPath, out string, patches []Patch) error {
	dir, err := Dir()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(specPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(node, filepath.Join(dir, "strip-examples.mjs"), abs, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("specproxy: strip-examples %s: %w\n%s", specPath, err, b)
	}
	if len(patches) == 0 {
		return nil
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("specproxy: %s: %w", out, err)
	}
	for _, pt := range patches {
		if err := replace(doc, pt.Pointer, pt.Value); err != nil {
			return fmt.Errorf("specproxy: patch %s (%s): %w", pt.Pointer, pt.Reason, err)
		}
	}
	if b, err = json.Marshal(doc); err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// replace sets the existing value at the JSON pointer ptr in doc to v.
func replace(doc any, ptr string, v any) error {
	if !strings.HasPrefix(ptr, "/") {
		return fmt.Errorf("not a JSON pointer")
	}
	parts := strings.Split(ptr[1:], "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	cur := doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[p]
			if !ok {
				return fmt.Errorf("%q does not exist", "/"+strings.Join(parts[:i+1], "/"))
			}
			if last {
				c[p] = v
				return nil
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(c) {
				return fmt.Errorf("%q: no index %s", "/"+strings.Join(parts[:i], "/"), p)
			}
			if last {
				c[n] = v
				return nil
			}
			cur = c[n]
		default:
			return fmt.Errorf("%q is not an object or array", "/"+strings.Join(parts[:i], "/"))
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
