// Package config decodes schedule.yaml strictly and wires it: the factory
// tables of every connector, secrets resolved from the environment or files
// relative to the config file, and the run spec the engine takes.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reports/jira"
	"github.com/accessrecon/accessrecon/reports/notify"
)

// Config is schedule.yaml.
type Config struct {
	// Store is the snapshot store: a SQLite file (relative to the config
	// file; default accessrecon.db) or a PostgreSQL URL without password
	// (postgres://user@host/db?sslmode=verify-full). StoreEnv or StoreFile
	// instead name where a PostgreSQL URL with its password is kept. See
	// store.go.
	Store     string `yaml:"store"`
	StoreEnv  string `yaml:"store_env"`
	StoreFile string `yaml:"store_file"`
	// Timeout bounds one run (default 1h).
	Timeout   reconcile.Duration `yaml:"timeout"`
	Sources   []ConnectorConfig  `yaml:"sources"`
	Targets   []TargetConfig     `yaml:"targets"`
	Policy    Policy             `yaml:"policy"`
	LinksFile string             `yaml:"links_file"`
	Retention struct {
		Snapshots reconcile.Duration `yaml:"snapshots"`
		Findings  reconcile.Duration `yaml:"findings"`
		// Audit trims the audit trail's prefix older than this (default
		// 1095d); the trim itself is recorded so the chain stays verifiable.
		Audit reconcile.Duration `yaml:"audit"`
	} `yaml:"retention"`
	Audit struct {
		// File is the JSON Lines mirror of the audit trail (default: the
		// store's name + .audit.jsonl).
		File string `yaml:"file"`
		// Syslog forwards every record to a collector (RFC 5424).
		Syslog *SyslogConfig `yaml:"syslog"`
		// SigningKeyFile is the Ed25519 key that signs checkpoints (PEM
		// PKCS #8 or a raw 32-byte seed); CheckpointFile receives a copy of
		// each (append-only, kept elsewhere); CheckpointEvery signs once
		// this many records followed the last checkpoint (0: at the end of
		// each run only). See checkpoint.go.
		SigningKeyFile  string `yaml:"signing_key_file"`
		CheckpointFile  string `yaml:"checkpoint_file"`
		CheckpointEvery int    `yaml:"checkpoint_every"`
	} `yaml:"audit"`
	Reports struct {
		XLSX struct {
			// Dir receives accessrecon-<as-of>-<run>.xlsx (default: run --out).
			Dir string `yaml:"dir"`
		} `yaml:"xlsx"`
		// Jira keeps one ticket per exception (see reports/jira/README.md).
		Jira *jira.Config `yaml:"jira"`
		// Notify tells people in Slack, Teams, email or a signed webhook
		// what each run did (see reports/notify/README.md).
		Notify *notify.Config `yaml:"notify"`
	} `yaml:"reports"`

	// Unattended operation (accessrecon serve): the schedule of jobs, the HR
	// webhooks and the HTTP listener. Types and validation in unattended.go.
	// Timezone is also the organisation's: HR dates without a time are read
	// in it (IANA name, default UTC; a source may set its own).
	Timezone string      `yaml:"timezone"`
	Jobs     []JobConfig `yaml:"jobs"`
	Hooks    HooksConfig `yaml:"hooks"`
	Serve    ServeConfig `yaml:"serve"`

	// Drills configures `accessrecon drill` (drills.go).
	Drills DrillsConfig `yaml:"drills"`

	path string // the file it was read from
	sum  string // the SHA-256 of the file's bytes, hex
}

// Policy is policy: the engine's reconcile.Policy, and the settings of the
// commands people use around runs.
type Policy struct {
	reconcile.Policy `yaml:",inline"`
	// Holds: with require_approval, a hold placed with `hold add --by A`
	// is requested, and takes effect only once `hold approve --by B`
	// (B not A) approved it (two-person override).
	Holds struct {
		RequireApproval bool `yaml:"require_approval"`
	} `yaml:"holds"`
}

// ConnectorConfig is one HR source: a name, a type from the factory table
// and the connector's own settings under config.
type ConnectorConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// Priority decides for a person several sources report: the highest
	// priority's record wins (default 0).
	Priority int `yaml:"priority"`
	// Timezone is the zone of this source's dates written without one
	// (IANA name; default: the top-level timezone, else UTC).
	Timezone string    `yaml:"timezone"`
	Config   yaml.Node `yaml:"config"`
}

// TargetConfig is one target.
type TargetConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// Tier is the SLA tier: critical, standard (default) or low.
	Tier string `yaml:"tier"`
	// Correlate lists the attributes tried, in order (default employee_id, email).
	Correlate []string `yaml:"correlate"`
	// Trusted lists the attributes whose match is strong (default employee_id).
	Trusted []string `yaml:"trusted"`
	// Mode overrides policy.mode for this target.
	Mode reconcile.Mode `yaml:"mode"`
	// Concurrency and RateLimit (requests per second) bound the executor.
	Concurrency int       `yaml:"concurrency"`
	RateLimit   float64   `yaml:"rate_limit"`
	Config      yaml.Node `yaml:"config"`
}

// Load reads and checks a config file. Every error names the file and,
// where it can, the line and key.
func Load(path string) (*Config, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(body, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func Parse(body []byte, path string) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration")
		}
		return nil, cleanYAMLError(err)
	}
	cfg.path, cfg.sum = path, sha256Hex(body)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	return errors.New(msg)
}

// Dir is the folder of the config file: relative paths resolve against it.
func (c *Config) Dir() string { return filepath.Dir(c.path) }

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

// RunTimeout bounds one run: timeout, or 1h when unset.
func (c *Config) RunTimeout() time.Duration { return DurOr(c.Timeout, DefaultTimeout) }

// DefaultTimeout bounds a run whose config sets no timeout.
const DefaultTimeout = time.Hour

// location is the time zone named tz, else the organisation's, else UTC.
func (c *Config) location(tz string) (*time.Location, error) {
	name := cmp.Or(tz, c.Timezone, "UTC")
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	return loc, nil
}

// Resolve makes a path from the config relative to the config's folder.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// StorePath is the SQLite store, resolved against the config file.
func (c *Config) StorePath() string {
	if c.Store == "" {
		return c.Resolve("accessrecon.db")
	}
	return c.Resolve(c.Store)
}

func (c *Config) validate() error {
	if err := c.validateStore(); err != nil {
		return err
	}
	if len(c.Sources) == 0 {
		return errors.New("sources: at least one HR source is required (HR is the authority of every run)")
	}
	names := map[string]bool{}
	for i, s := range c.Sources {
		where := fmt.Sprintf("sources[%d]", i)
		if err := checkConnector(where, s.Name, s.Type, SourceTypes(), names); err != nil {
			return err
		}
		if _, err := c.location(s.Timezone); err != nil {
			return fmt.Errorf("%s (%s).timezone: %w", where, s.Name, err)
		}
	}
	names = map[string]bool{}
	for i := range c.Targets {
		t := &c.Targets[i]
		where := fmt.Sprintf("targets[%d]", i)
		if err := checkConnector(where, t.Name, t.Type, TargetTypes(), names); err != nil {
			return err
		}
		switch t.Tier {
		case "":
			t.Tier = "standard"
		case "critical", "standard", "low":
		default:
			return fmt.Errorf("%s (%s).tier: %q is not critical, standard or low", where, t.Name, t.Tier)
		}
		switch t.Mode {
		case "", reconcile.Report, reconcile.Enforce:
		default:
			return fmt.Errorf("%s (%s).mode: %q is not report or enforce", where, t.Name, t.Mode)
		}
		corr := reconcile.Correlation{Correlate: t.Correlate, Trusted: t.Trusted}
		if err := corr.Validate(); err != nil {
			return fmt.Errorf("%s (%s): %w", where, t.Name, err)
		}
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	for i, e := range c.Policy.Exemptions {
		if !names[e.Target] {
			return fmt.Errorf("policy.exemptions[%d]: target %q is not configured", i, e.Target)
		}
	}
	for code, perTarget := range c.Policy.Roles {
		for t := range perTarget {
			if !names[t] {
				return fmt.Errorf("policy.roles.%s: target %q is not configured", code, t)
			}
		}
	}
	if err := c.validateDrills(); err != nil {
		return err
	}
	return c.validateUnattended()
}

func checkConnector(where, name, typ string, known []string, seen map[string]bool) error {
	switch {
	case name == "":
		return fmt.Errorf("%s.name: required", where)
	case seen[name]:
		return fmt.Errorf("%s.name: %q is used twice", where, name)
	case typ == "":
		return fmt.Errorf("%s (%s).type: required (one of %s)", where, name, strings.Join(known, ", "))
	case !slices.Contains(known, typ):
		return fmt.Errorf("%s (%s).type: unknown type %q (one of %s)", where, name, typ, strings.Join(known, ", "))
	}
	seen[name] = true
	return nil
}

// DecodeStrict decodes a connector's config node into v, refusing keys the
// connector does not know, with the line of the offending key.
func DecodeStrict(where string, n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return nil // no config: the connector's defaults
	}
	if err := checkKeys(where, n, reflect.TypeOf(v).Elem()); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", where, cleanYAMLError(err))
	}
	return nil
}

func checkKeys(where string, n *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		known := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			known[tag] = f.Type
			names = append(names, tag)
		}
		sort.Strings(names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ft, ok := known[k.Value]
			if !ok {
				return fmt.Errorf("line %d: %s: unknown key %q (known: %s)", k.Line, where, k.Value, strings.Join(names, ", "))
			}
			if err := checkKeys(where+"."+k.Value, val, ft); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i, c := range n.Content {
			if err := checkKeys(fmt.Sprintf("%s[%d]", where, i), c, t.Elem()); err != nil {
				return err
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(where+"."+n.Content[i].Value, n.Content[i+1], t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}
