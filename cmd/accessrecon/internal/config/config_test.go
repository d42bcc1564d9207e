package config

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reports/jira"
	"github.com/accessrecon/accessrecon/reports/notify"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/aws"
	"github.com/accessrecon/accessrecon/targets/entra"
	"github.com/accessrecon/accessrecon/targets/github"
	"github.com/accessrecon/accessrecon/targets/google"
	"github.com/accessrecon/accessrecon/targets/okta"
	"github.com/accessrecon/accessrecon/targets/scim"
	"github.com/accessrecon/accessrecon/targets/slack"
	tsql "github.com/accessrecon/accessrecon/targets/sql"
	sshtarget "github.com/accessrecon/accessrecon/targets/ssh"
	"github.com/accessrecon/accessrecon/targets/x509ca"
)

// The commented target blocks of the root schedule.yaml are real examples:
// uncommented, each names a wired connector type and decodes strictly into
// that connector's configuration.
func TestRootExampleCommentedTargets(t *testing.T) {
	body, err := os.ReadFile("../../../../schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	cur := ""
	in := false
	for _, line := range strings.Split(string(body), "\n") {
		switch {
		case strings.HasPrefix(line, "targets:"):
			in = true
		case in && line != "" && !strings.HasPrefix(line, " "):
			in = false
		}
		l := "  " + strings.TrimPrefix(line, "  # ")
		switch {
		case in && strings.HasPrefix(line, "  # - name:"):
			if cur != "" {
				blocks = append(blocks, cur)
			}
			cur = l + "\n"
		case in && cur != "" && strings.HasPrefix(line, "  #   "):
			cur += l + "\n"
		case cur != "":
			blocks = append(blocks, cur)
			cur = ""
		}
	}
	if cur != "" {
		blocks = append(blocks, cur)
	}
	configs := map[string]func() any{
		"scim": func() any { return &scim.Config{} }, "entra": func() any { return &entra.Config{} },
		"google": func() any { return &google.Config{} }, "aws": func() any { return &aws.Config{} },
		"github": func() any { return &github.Config{} }, "slack": func() any { return &slack.Config{} },
		"okta": func() any { return &okta.Config{} }, "sql": func() any { return &tsql.Config{} },
		"ssh": func() any { return &sshtarget.Config{} }, "x509ca": func() any { return &x509ca.Config{} },
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		var ts []TargetConfig
		if err := yaml.Unmarshal([]byte(b), &ts); err != nil || len(ts) != 1 {
			t.Fatalf("commented block does not parse: %v\n%s", err, b)
		}
		tc := ts[0]
		if !slices.Contains(TargetTypes(), tc.Type) {
			t.Fatalf("commented block %s: type %q is not wired", tc.Name, tc.Type)
		}
		newCfg, ok := configs[tc.Type]
		if !ok {
			t.Fatalf("commented block %s: no config type known to this test for %q", tc.Name, tc.Type)
		}
		if err := DecodeStrict(tc.Name, &tc.Config, newCfg()); err != nil {
			t.Errorf("commented block %s: %v", tc.Name, err)
		}
		seen[tc.Type] = true
	}
	for typ := range configs {
		if !seen[typ] {
			t.Errorf("schedule.yaml shows no commented %s target", typ)
		}
	}
}

func TestJobsConfig(t *testing.T) {
	base := "store: x.db\nsources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"
	for _, c := range []struct{ yaml, err string }{
		{"timezone: Asia/Riyadh\njobs: [{name: a, schedule: '0 2 * * *', scope: full}, {name: b, schedule: '@every 10m', scope: [terminated_active]}, {name: c, schedule: '*/30 * * * * *', timezone: UTC}]", ""},
		{"jobs: [{name: a, schedule: 'not cron'}]", "jobs[0] (a).schedule"},
		{"jobs: [{name: a, schedule: '@daily', timezone: Mars/Olympus}]", "jobs[0] (a).timezone"},
		{"timezone: Nowhere/Else", "timezone:"},
		{"jobs: [{name: a, schedule: '@daily', scope: [made_up]}]", "unknown finding kind"},
		{"jobs: [{name: a, schedule: '@daily'}, {name: a, schedule: '@hourly'}]", "used twice"},
		{"jobs: [{name: a, schedule: '@daily', reports: [pdf]}]", "not xlsx or jira"},
		{"jobs: [{name: a, schedule: '@daily', mode: yolo}]", "not report or enforce"},
		{"hooks: {mode: later}", "hooks.mode"},
		{"serve: {listen: nonsense}", "serve.listen"},
	} {
		_, err := Parse([]byte(base+c.yaml+"\n"), "schedule.yaml")
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.yaml, err, c.err)
		}
	}
	cfg, err := Parse([]byte(base+"timezone: Asia/Riyadh\njobs: [{name: a, schedule: '0 2 * * *'}]\n"), "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sched, err := cfg.JobSchedule(cfg.Jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	// 02:00 in Riyadh (UTC+3) is 23:00 UTC the day before.
	if got := sched.Next(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)).UTC(); !got.Equal(time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("next 02:00 Asia/Riyadh after noon UTC: %s", got)
	}
}

// A config without timeout bounds every run by the documented 1h; the
// wiring passed 0 (no bound) before (issue 11 item 8).
func TestRunTimeoutDefault(t *testing.T) {
	base := "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"
	for _, c := range []struct {
		yaml string
		want time.Duration
	}{{base, time.Hour}, {base + "timeout: 90m\n", 90 * time.Minute}, {base + "timeout: 2d\n", 48 * time.Hour}} {
		cfg, err := Parse([]byte(c.yaml), "schedule.yaml")
		if err != nil {
			t.Fatal(err)
		}
		w, err := Wire(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if w.Spec.Timeout != c.want {
			t.Errorf("%q: run timeout %s, want %s", c.yaml, w.Spec.Timeout, c.want)
		}
	}
}

// The links file is read under the run's context: a FIFO nobody writes to
// does not hold the wiring past it (issue 11 item 8).
func TestWireLinksFileHonoursContext(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "links.csv"), 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	cfg, err := Parse([]byte("sources: [{name: hr, type: csv, config: {path: hr.csv}}]\nlinks_file: links.csv\n"), filepath.Join(dir, "schedule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Wire(ctx, cfg, slog.New(slog.DiscardHandler))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wire: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Wire still blocked on the links FIFO a minute after its context ended")
	}
}

// The commented reports blocks of the root schedule.yaml (jira, notify)
// are real examples: uncommented, each decodes strictly into its
// configuration, and the notify one builds a notifier.
func TestRootExampleCommentedReports(t *testing.T) {
	body, err := os.ReadFile("../../../../schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(body), "\n") {
		switch {
		case strings.HasPrefix(line, "  # ") && strings.HasSuffix(line, ":") && !strings.HasPrefix(line, "  #  "):
			cur = strings.TrimSuffix(strings.TrimPrefix(line, "  # "), ":")
			blocks[cur] = ""
		case cur != "" && strings.HasPrefix(line, "  #   "):
			blocks[cur] += strings.TrimPrefix(line, "  #   ") + "\n"
		default:
			cur = ""
		}
	}
	for name, v := range map[string]any{"jira": &jira.Config{}, "notify": &notify.Config{}} {
		b, ok := blocks[name]
		if !ok || b == "" {
			t.Errorf("schedule.yaml shows no commented reports.%s block", name)
			continue
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(b), &n); err != nil {
			t.Fatalf("commented %s block does not parse: %v\n%s", name, err, b)
		}
		if err := DecodeStrict("reports."+name, n.Content[0], v); err != nil {
			t.Errorf("commented %s block: %v", name, err)
		}
	}
	// Decoded from the whole config, with its secrets set, it wires.
	var nc notify.Config
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(blocks["notify"]), &n); err != nil {
		t.Fatal(err)
	}
	if err := n.Content[0].Decode(&nc); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")
	t.Setenv("SMTP_PASSWORD", "secret")
	if err := Prepare(&nc, t.TempDir(), "reports.notify", targets.NewRedactor()); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.New(nc, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("the commented notify block does not build: %v", err)
	}
	cfg, err := Parse([]byte("sources: [{name: hr, type: csv, config: {path: hr.csv}}]\nreports:\n  notify:\n"+indent(blocks["notify"], "    ")), "schedule.yaml")
	if err != nil || cfg.Reports.Notify == nil || len(cfg.Reports.Notify.Sinks) != 2 {
		t.Errorf("reports.notify in a config: %v", err)
	}
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}
