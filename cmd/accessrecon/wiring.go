package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/sources/bamboohr"
	hrcsv "github.com/accessrecon/accessrecon/sources/csv"
	"github.com/accessrecon/accessrecon/sources/workday"
	"github.com/accessrecon/accessrecon/targets"
	tcsv "github.com/accessrecon/accessrecon/targets/csv"
	"github.com/accessrecon/accessrecon/targets/ldap"
	"github.com/accessrecon/accessrecon/targets/scim"
	tsql "github.com/accessrecon/accessrecon/targets/sql"
)

// The factory tables: the one place that knows the concrete connectors.
// Each decodes its connector's config strictly, resolves paths relative to
// the config file, and builds the connector.

// A source factory is also given the zone of the source's dates written
// without one.
type sourceFactory func(cfg *Config, node *yaml.Node, where string, loc *time.Location, log *slog.Logger) (sources.Source, error)

type targetFactory func(cfg *Config, node *yaml.Node, where string, log *slog.Logger) (targets.Target, error)

func sourceFactories() map[string]sourceFactory {
	return map[string]sourceFactory{
		"csv": func(cfg *Config, n *yaml.Node, where string, loc *time.Location, log *slog.Logger) (sources.Source, error) {
			return build[hrcsv.Config, *hrcsv.Source, sources.Source](n, where, log, func(c *hrcsv.Config) { c.Path, c.Location = cfg.resolve(c.Path), loc }, hrcsv.New)
		},
		"bamboohr": func(cfg *Config, n *yaml.Node, where string, loc *time.Location, log *slog.Logger) (sources.Source, error) {
			return build[bamboohr.Config, *bamboohr.Source, sources.Source](n, where, log, func(c *bamboohr.Config) { c.Location = loc }, bamboohr.New)
		},
		"workday": func(cfg *Config, n *yaml.Node, where string, loc *time.Location, log *slog.Logger) (sources.Source, error) {
			return build[workday.Config, *workday.Source, sources.Source](n, where, log, func(c *workday.Config) { c.Location = loc }, workday.New)
		},
	}
}

func targetFactories() map[string]targetFactory {
	return map[string]targetFactory{
		"csv": func(cfg *Config, n *yaml.Node, where string, log *slog.Logger) (targets.Target, error) {
			return build[tcsv.Config, *tcsv.Target, targets.Target](n, where, log, func(c *tcsv.Config) {
				c.Path, c.CredentialsPath = cfg.resolve(c.Path), cfg.resolve(c.CredentialsPath)
			}, tcsv.New)
		},
		"ldap": func(cfg *Config, n *yaml.Node, where string, log *slog.Logger) (targets.Target, error) {
			return build[ldap.Config, *ldap.Target, targets.Target](n, where, log, func(c *ldap.Config) {
				c.CAFile, c.PasswordFile = cfg.resolve(c.CAFile), cfg.resolve(c.PasswordFile)
			}, ldap.New)
		},
		"scim": func(cfg *Config, n *yaml.Node, where string, log *slog.Logger) (targets.Target, error) {
			return build[scim.Config, *scim.Target, targets.Target](n, where, log, func(*scim.Config) {}, scim.New)
		},
		"sql": func(cfg *Config, n *yaml.Node, where string, log *slog.Logger) (targets.Target, error) {
			return build[tsql.Config, *tsql.Target, targets.Target](n, where, log, func(c *tsql.Config) {
				if c.Driver == "sqlite3" && c.DSN != "" && !strings.HasPrefix(c.DSN, "file:") && !strings.Contains(c.DSN, ":memory:") {
					c.DSN = cfg.resolve(c.DSN)
				}
			}, tsql.New)
		},
	}
}

func sourceTypes() []string { return slices.Sorted(maps.Keys(sourceFactories())) }
func targetTypes() []string { return slices.Sorted(maps.Keys(targetFactories())) }

// build decodes a connector config strictly and constructs the connector.
func build[C any, T any, R any](n *yaml.Node, where string, log *slog.Logger, fix func(*C), construct func(C, *slog.Logger) (T, error)) (R, error) {
	var zero R
	var c C
	if err := decodeStrict(where, n, &c); err != nil {
		return zero, err
	}
	fix(&c)
	t, err := construct(c, log)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", where, err)
	}
	r, ok := any(t).(R)
	if !ok {
		return zero, fmt.Errorf("%s: connector does not implement the contract", where)
	}
	return r, nil
}

// wired is a config turned into a run spec, with what must be closed after.
type wired struct {
	spec    reconcile.RunSpec
	closers []io.Closer
}

func (w *wired) Close() {
	for _, c := range w.closers {
		_ = c.Close()
	}
}

// wire builds every connector of cfg. Nothing is contacted yet.
func wire(cfg *Config, log *slog.Logger) (*wired, error) {
	org, err := cfg.location("")
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	w := &wired{spec: reconcile.RunSpec{Policy: cfg.Policy, Timeout: cfg.Timeout.D(), Location: org}}
	sf, tf := sourceFactories(), targetFactories()
	for i, s := range cfg.Sources {
		loc, err := cfg.location(s.Timezone)
		if err != nil {
			return nil, fmt.Errorf("sources[%d] (%s).timezone: %w", i, s.Name, err)
		}
		where := fmt.Sprintf("sources[%d] (%s).config", i, s.Name)
		src, err := sf[s.Type](cfg, &s.Config, where, loc, log.With("source", s.Name))
		if err != nil {
			w.Close()
			return nil, err
		}
		if c, ok := src.(io.Closer); ok {
			w.closers = append(w.closers, c)
		}
		w.spec.Sources = append(w.spec.Sources, reconcile.SourceSpec{Name: s.Name, Type: s.Type, Source: src, Priority: s.Priority})
	}
	for i, t := range cfg.Targets {
		where := fmt.Sprintf("targets[%d] (%s).config", i, t.Name)
		tg, err := tf[t.Type](cfg, &t.Config, where, log.With("target", t.Name))
		if err != nil {
			w.Close()
			return nil, err
		}
		if c, ok := tg.(io.Closer); ok {
			w.closers = append(w.closers, c)
		}
		w.spec.Targets = append(w.spec.Targets, reconcile.TargetSpec{Name: t.Name, Type: t.Type, Tier: t.Tier, Target: tg,
			Correlation: reconcile.Correlation{Correlate: t.Correlate, Trusted: t.Trusted}, Mode: t.Mode,
			Concurrency: t.Concurrency, RateLimit: t.RateLimit})
	}
	if cfg.LinksFile != "" {
		links, err := readLinks(cfg.resolve(cfg.LinksFile))
		if err != nil {
			w.Close()
			return nil, err
		}
		w.spec.Links = links
	}
	return w, nil
}

// readLinks reads confirmed manual links: target, account_id, employee_id.
func readLinks(path string) ([]reconcile.Link, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("links_file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 3
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	want := []string{"target", "account_id", "employee_id"}
	for i, h := range header {
		if strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) != want[i] {
			return nil, fmt.Errorf("%s:1: header must be target,account_id,employee_id", path)
		}
	}
	var out []reconcile.Link
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		l := reconcile.Link{Target: strings.TrimSpace(rec[0]), AccountID: strings.TrimSpace(rec[1]), EmployeeID: strings.TrimSpace(rec[2])}
		if l.Target == "" || l.AccountID == "" || l.EmployeeID == "" {
			return nil, fmt.Errorf("%s:%d: target, account_id and employee_id are all required", path, line)
		}
		out = append(out, l)
	}
}
