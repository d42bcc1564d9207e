package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The store is a SQLite file or a PostgreSQL URL: in store: without a
// password, or from store_env/store_file. No error ever shows the password.
func TestStoreConfig(t *testing.T) {
	const pw = "s3cret-pw"
	base := "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"
	for _, c := range []struct{ yaml, err string }{
		{"store: x.db", ""},
		{"store: postgres://accessrecon@db.internal/accessrecon?sslmode=verify-full", ""},
		{"store_env: ACCESSRECON_STORE", ""},
		{"store_file: secrets/store-dsn", ""},
		{"store: x.db\nstore_env: ACCESSRECON_STORE", "set only one"},
		{"store_env: A\nstore_file: b", "set only one"},
		{"store: postgres://accessrecon:" + pw + "@db.internal/accessrecon", "holds a password: put the URL in store_env or store_file"},
		{"store: postgresql://accessrecon@db.internal/accessrecon?password=" + pw, "holds a password"},
		{"store: 'postgres://accessrecon:" + pw + "%zz@db/x'", "not a valid PostgreSQL URL"},
	} {
		_, err := Parse([]byte(base+c.yaml+"\n"), "schedule.yaml")
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.yaml, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error shows the password: %v", c.yaml, err)
		}
	}
}

func TestStoreDSN(t *testing.T) {
	const pw = "s3cret-pw"
	dir := t.TempDir()
	parse := func(yaml string) *Config {
		t.Helper()
		cfg, err := Parse([]byte("sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"+yaml+"\n"), filepath.Join(dir, "schedule.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	url := "postgres://accessrecon:" + pw + "@db.internal:5432/accessrecon?sslmode=verify-full"
	if err := os.WriteFile(filepath.Join(dir, "dsn"), []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notdsn"), []byte("/var/lib/accessrecon/"+pw+".db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_STORE_DSN", url)
	t.Setenv("TEST_STORE_EMPTY", "")

	for _, c := range []struct {
		yaml      string
		pg        bool
		dsn, err  string
		name      string // StoreName
		nameWants string
	}{
		{yaml: "store: x.db", name: filepath.Join(dir, "x.db")},
		{yaml: "", name: filepath.Join(dir, "accessrecon.db")},
		{yaml: "store: postgres://accessrecon@db/x", pg: true, dsn: "postgres://accessrecon@db/x", name: "postgres://accessrecon@db/x"},
		{yaml: "store_env: TEST_STORE_DSN", pg: true, dsn: url, name: "the PostgreSQL store of $TEST_STORE_DSN"},
		{yaml: "store_file: dsn", pg: true, dsn: url, name: "the PostgreSQL store of " + filepath.Join(dir, "dsn")},
		{yaml: "store_env: TEST_STORE_EMPTY", pg: true, err: "store: store_env: environment variable TEST_STORE_EMPTY is not set"},
		{yaml: "store_file: missing", pg: true, err: "store: store_file:"},
		{yaml: "store_file: notdsn", pg: true, err: "does not hold a postgres:// or postgresql:// URL"},
	} {
		cfg := parse(c.yaml)
		if got := cfg.StoreIsPostgres(); got != c.pg {
			t.Errorf("%q: StoreIsPostgres %v, want %v", c.yaml, got, c.pg)
		}
		if got := cfg.StoreName(); c.name != "" && got != c.name {
			t.Errorf("%q: StoreName %q, want %q", c.yaml, got, c.name)
		}
		if strings.Contains(cfg.StoreName(), pw) {
			t.Errorf("%q: StoreName shows the password: %s", c.yaml, cfg.StoreName())
		}
		if !c.pg {
			continue
		}
		dsn, err := cfg.StoreDSN()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want one containing %q", c.yaml, err, c.err)
		case c.err == "" && dsn.Reveal() != c.dsn:
			t.Errorf("%q: DSN %q, want %q", c.yaml, dsn.Reveal(), c.dsn)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("%q: the error shows the password: %v", c.yaml, err)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@db:5432/x?sslmode=disable":       "postgres://u:REDACTED@db:5432/x?sslmode=disable",
		"postgresql://u@db/x?password=s3cret&sslmode=require": "postgresql://u@db/x?password=REDACTED&sslmode=require",
		"postgres://u@db/x":           "postgres://u@db/x",
		"postgres://u:s3cret%zz@db/x": "postgres://REDACTED",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
	red := DSNRedactor("postgres://u:s3cret@db/x")
	if got := red.Redact("connecting with s3cret failed"); strings.Contains(got, "s3cret") {
		t.Errorf("DSNRedactor left the password in %q", got)
	}
}
