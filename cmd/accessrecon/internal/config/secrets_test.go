package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reports/jira"
	"github.com/accessrecon/accessrecon/sources/bamboohr"
	"github.com/accessrecon/accessrecon/sources/workday"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/ldap"
	"github.com/accessrecon/accessrecon/targets/scim"
	tsql "github.com/accessrecon/accessrecon/targets/sql"
)

type secretCase struct {
	yaml string
	cfg  any
	want func() []targets.Secret
}

// Every *_file key of every connector resolves against the config file's
// folder, whatever the working directory (issue 10 item 12), and every value
// read is known to the run's redactor.
func TestSecretFilesRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(t.TempDir()) // somewhere else
	var cases []secretCase
	var sc scim.Config
	var lc ldap.Config
	var qc tsql.Config
	var bc bamboohr.Config
	var wc workday.Config
	var jc jira.Config
	cases = append(cases,
		secretCase{"auth: bearer\ntoken_file: s/scim-token", &sc, func() []targets.Secret { return []targets.Secret{sc.Token} }},
		secretCase{"password_file: s/ldap-pw", &lc, func() []targets.Secret { return []targets.Secret{lc.Password} }},
		secretCase{"driver: pgx\ndsn_file: s/dsn", &qc, func() []targets.Secret { return []targets.Secret{qc.DSNSecret} }},
		secretCase{"api_key_file: s/bamboo", &bc, func() []targets.Secret { return []targets.Secret{bc.APIKey} }},
		secretCase{"user_file: s/wd-user\npassword_file: s/wd-pw", &wc, func() []targets.Secret { return []targets.Secret{wc.User, wc.Password} }},
		secretCase{"token_file: s/jira", &jc, func() []targets.Secret { return []targets.Secret{jc.Token} }},
	)
	for i, c := range cases {
		var want []string
		for _, line := range strings.Split(c.yaml, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			if strings.HasSuffix(k, "_file") {
				val := "value-of-" + strings.ReplaceAll(v, "/", "-")
				write(v, val)
				want = append(want, val)
			}
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(c.yaml), &n); err != nil {
			t.Fatal(err)
		}
		if err := n.Content[0].Decode(c.cfg); err != nil {
			t.Fatal(err)
		}
		red := targets.NewRedactor()
		if err := Prepare(c.cfg, dir, "case", red); err != nil {
			t.Fatalf("case %d (%s): %v", i, c.yaml, err)
		}
		got := c.want()
		for j, w := range want {
			if got[j].Reveal() != w {
				t.Errorf("case %d (%s): secret %d = %q, want %q", i, c.yaml, j, got[j].Reveal(), w)
			}
			if red.Redact("x "+w+" y") != "x REDACTED y" {
				t.Errorf("case %d: the redactor does not know %q", i, w)
			}
		}
	}
}

func TestSecretErrorsNameTheKey(t *testing.T) {
	t.Setenv("ACCESSRECON_TEST_EMPTY", "")
	for _, c := range []struct {
		f    targets.SecretField
		want string
	}{
		{targets.SecretField{Key: "token"}, "token_env or token_file: required"},
		{targets.SecretField{Key: "token", Env: "ACCESSRECON_TEST_EMPTY"}, "token_env: environment variable ACCESSRECON_TEST_EMPTY is not set"},
		{targets.SecretField{Key: "token", Env: "A", File: "b"}, "token_env and token_file: set only one"},
		{targets.SecretField{Key: "token", File: "missing"}, "token_file: open"},
	} {
		if _, err := ReadSecret(c.f, t.TempDir()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.f, err, c.want)
		}
	}
}

// The connectors' logger passes through the run's Redactor: a line that
// quotes a secret a connector was given (here in an error, and with the
// target's name bound as the connectors' loggers have it) holds none.
func TestWiredLogRedacts(t *testing.T) {
	t.Setenv("WIRE_SCIM_TOKEN", "tok-3141-secret")
	cfg, err := Parse([]byte("sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"+
		"targets: [{name: app, type: scim, config: {base_url: 'https://scim.example/v2', auth: bearer, token_env: WIRE_SCIM_TOKEN}}]\n"), "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := Wire(context.Background(), cfg, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Log.With("target", "app").Warn("request failed", "err", errors.New("401: bad token tok-3141-secret"))
	if out := buf.String(); strings.Contains(out, "tok-3141") || !strings.Contains(out, `err="401: bad token REDACTED"`) {
		t.Fatalf("log line: %s", out)
	}
}
