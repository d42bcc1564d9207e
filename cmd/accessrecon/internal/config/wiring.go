package config

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	"github.com/accessrecon/accessrecon/targets/aws"
	tcsv "github.com/accessrecon/accessrecon/targets/csv"
	"github.com/accessrecon/accessrecon/targets/entra"
	"github.com/accessrecon/accessrecon/targets/exportfile"
	"github.com/accessrecon/accessrecon/targets/github"
	"github.com/accessrecon/accessrecon/targets/google"
	"github.com/accessrecon/accessrecon/targets/ldap"
	"github.com/accessrecon/accessrecon/targets/okta"
	"github.com/accessrecon/accessrecon/targets/scim"
	"github.com/accessrecon/accessrecon/targets/slack"
	tsql "github.com/accessrecon/accessrecon/targets/sql"
	sshtarget "github.com/accessrecon/accessrecon/targets/ssh"
	"github.com/accessrecon/accessrecon/targets/x509ca"
)

// The factory tables: the one place that knows the concrete connectors.
// Each decodes its connector's config strictly, resolves its paths and
// secrets relative to the config file (prepare), and builds the connector.

// A source factory is also given loc, the zone of the source's dates
// written without one.
type sourceFactory func(cfg *Config, node *yaml.Node, where string, red *targets.Redactor, loc *time.Location, log *slog.Logger) (sources.Source, error)

type targetFactory func(cfg *Config, node *yaml.Node, where string, red *targets.Redactor, log *slog.Logger) (targets.Target, error)

func sourceFactories() map[string]sourceFactory {
	return map[string]sourceFactory{
		"csv":      buildSource(hrcsv.New),
		"bamboohr": buildSource(bamboohr.New),
		"workday":  buildSource(workday.New),
	}
}

func targetFactories() map[string]targetFactory {
	return map[string]targetFactory{
		"aws":    buildTarget(aws.New),
		"csv":    buildTarget(tcsv.New),
		"entra":  buildTarget(entra.New),
		"github": buildTarget(func(c github.Config, log *slog.Logger) (*github.Target, error) { return github.New(c, log) }),
		"google": buildTarget(google.New),
		"ldap":   buildTarget(ldap.New),
		"okta":   buildTarget(okta.New),
		"scim":   buildTarget(scim.New),
		"slack":  buildTarget(func(c slack.Config, log *slog.Logger) (*slack.Target, error) { return slack.New(c, log) }),
		"sql":    buildTarget(tsql.New),
		"ssh":    buildTarget(sshtarget.New),
		"x509ca": buildTarget(x509ca.New),
	}
}

func buildSource[C any, T sources.Source](construct func(C, *slog.Logger) (T, error)) sourceFactory {
	return func(cfg *Config, n *yaml.Node, where string, red *targets.Redactor, loc *time.Location, log *slog.Logger) (sources.Source, error) {
		return build(cfg, n, where, red, log, func(c C, log *slog.Logger) (T, error) {
			if lc, ok := any(&c).(sources.LocalConfig); ok {
				lc.SetLocation(loc)
			}
			return construct(c, log)
		})
	}
}

func buildTarget[C any, T targets.Target](construct func(C, *slog.Logger) (T, error)) targetFactory {
	return func(cfg *Config, n *yaml.Node, where string, red *targets.Redactor, log *slog.Logger) (targets.Target, error) {
		return build(cfg, n, where, red, log, construct)
	}
}

// SourceTypes and TargetTypes are the connector types the wiring knows.
func SourceTypes() []string { return slices.Sorted(maps.Keys(sourceFactories())) }
func TargetTypes() []string { return slices.Sorted(maps.Keys(targetFactories())) }

// build decodes a connector config strictly, prepares it and constructs the
// connector.
func build[C any, T any](cfg *Config, n *yaml.Node, where string, red *targets.Redactor, log *slog.Logger, construct func(C, *slog.Logger) (T, error)) (T, error) {
	var zero T
	var c C
	if err := DecodeStrict(where, n, &c); err != nil {
		return zero, err
	}
	if err := Prepare(&c, cfg.Dir(), where, red); err != nil {
		return zero, err
	}
	t, err := construct(c, log)
	if err != nil {
		return zero, fmt.Errorf("%s: %s", where, red.Redact(err.Error()))
	}
	return t, nil
}

// Wired is a config turned into a run spec, with what must be closed after.
type Wired struct {
	Spec    reconcile.RunSpec
	closers []io.Closer
	// Redactor knows every secret the connectors were given; error text
	// from a run passes through it before it is stored or shown.
	Redactor *targets.Redactor
	// Log is the logger the connectors were given (each with its name):
	// Wire's, through the Redactor, so that no line they write holds a
	// secret of theirs.
	Log *slog.Logger
}

// Close closes the connectors that hold connections.
func (w *Wired) Close() {
	for _, c := range w.closers {
		_ = c.Close()
	}
}

// Wire builds every connector of cfg. Nothing is contacted yet; the links
// file is read (until ctx ends).
func Wire(ctx context.Context, cfg *Config, log *slog.Logger) (*Wired, error) {
	org, err := cfg.location("")
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	w := &Wired{Spec: reconcile.RunSpec{Policy: cfg.Policy.Policy, Timeout: cfg.RunTimeout(), Location: org}, Redactor: targets.NewRedactor()}
	w.Log = slog.New(w.Redactor.Handler(log.Handler()))
	log = w.Log
	sf, tf := sourceFactories(), targetFactories()
	for i, s := range cfg.Sources {
		loc, err := cfg.location(s.Timezone)
		if err != nil {
			return nil, fmt.Errorf("sources[%d] (%s).timezone: %w", i, s.Name, err)
		}
		where := fmt.Sprintf("sources[%d] (%s).config", i, s.Name)
		src, err := sf[s.Type](cfg, &s.Config, where, w.Redactor, loc, log.With("source", s.Name))
		if err != nil {
			w.Close()
			return nil, err
		}
		if c, ok := src.(io.Closer); ok {
			w.closers = append(w.closers, c)
		}
		w.Spec.Sources = append(w.Spec.Sources, reconcile.SourceSpec{Name: s.Name, Type: s.Type, Source: src, Priority: s.Priority})
	}
	for i, t := range cfg.Targets {
		where := fmt.Sprintf("targets[%d] (%s).config", i, t.Name)
		tg, err := tf[t.Type](cfg, &t.Config, where, w.Redactor, log.With("target", t.Name))
		if err != nil {
			w.Close()
			return nil, err
		}
		if c, ok := tg.(io.Closer); ok {
			w.closers = append(w.closers, c)
		}
		w.Spec.Targets = append(w.Spec.Targets, reconcile.TargetSpec{Name: t.Name, Type: t.Type, Tier: t.Tier, Target: tg,
			Correlation: reconcile.Correlation{Correlate: t.Correlate, Trusted: t.Trusted}, Mode: t.Mode,
			Concurrency: t.Concurrency, RateLimit: t.RateLimit})
	}
	if cfg.LinksFile != "" {
		links, err := readLinks(ctx, cfg.Resolve(cfg.LinksFile))
		if err != nil {
			w.Close()
			return nil, err
		}
		w.Spec.Links = links
	}
	return w, nil
}

// readLinks reads confirmed manual links: target, account_id, employee_id.
func readLinks(ctx context.Context, path string) ([]reconcile.Link, error) {
	f, err := exportfile.Open(ctx, path)
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
