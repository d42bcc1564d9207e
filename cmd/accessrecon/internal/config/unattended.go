package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
)

// JobConfig is one scheduled job of `accessrecon serve`.
type JobConfig struct {
	Name string `yaml:"name"`
	// Schedule is a cron spec: 5 fields, optionally 6 with seconds first, or
	// a descriptor (@daily, @every 10m).
	Schedule string `yaml:"schedule"`
	// Timezone overrides the global timezone for this job (e.g. Asia/Riyadh).
	Timezone string `yaml:"timezone"`
	// Scope is `full` (the default) or a list of finding kinds.
	Scope JobScope `yaml:"scope"`
	// Mode overrides policy.mode (report or enforce).
	Mode reconcile.Mode `yaml:"mode"`
	// Timeout bounds one run of the job (default: the global timeout).
	Timeout reconcile.Duration `yaml:"timeout"`
	// Reports the job writes after its run: xlsx, jira (none when empty).
	Reports []string `yaml:"reports"`
	// Report makes the job write a report instead of running: `period`,
	// the period workbook (accessrecon report) of the last complete
	// Period, into reports.xlsx.dir (else serve.out_dir/<job>). Nothing is
	// collected or acted on, so scope, mode and reports do not apply.
	Report string `yaml:"report"`
	// Period is a report job's period: month (default: the previous
	// calendar month) or week (the previous Monday-to-Sunday), in the
	// job's time zone.
	Period string `yaml:"period"`
	// Kind is run (the default) or drill (a termination drill of
	// drills.canaries, Scenario terminate, suspend or move: see drills.go).
	Kind     string `yaml:"kind"`
	Scenario string `yaml:"scenario"`
}

// JobScope is `full` or a list of finding kinds; nil means full.
type JobScope []reconcile.Kind

// UnmarshalYAML accepts `full` or a list of kinds.
func (s *JobScope) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "full" && n.Value != "" {
			return fmt.Errorf("line %d: scope: %q is not `full` or a list of finding kinds", n.Line, n.Value)
		}
		*s = nil
		return nil
	case yaml.SequenceNode:
		var ks []string
		if err := n.Decode(&ks); err != nil {
			return err
		}
		out := make(JobScope, 0, len(ks))
		for _, k := range ks {
			if !slices.Contains(reconcile.Kinds, reconcile.Kind(k)) {
				return fmt.Errorf("line %d: scope: unknown finding kind %q", n.Line, k)
			}
			out = append(out, reconcile.Kind(k))
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: scope: want `full` or a list of finding kinds", n.Line)
}

// HooksConfig configures the HR webhooks (the leaver fast path).
type HooksConfig struct {
	// Mode of the targeted runs the hooks trigger (default enforce).
	Mode reconcile.Mode `yaml:"mode"`
	// ReplayWindow is how far a request's timestamp may be from now, and how
	// long a signature is remembered against replays (default 5m).
	ReplayWindow reconcile.Duration `yaml:"replay_window"`
	// Timeout bounds one hook-triggered run, lock wait included (default
	// 10m). A batch whose wait for the lock times out stays queued and is
	// retried.
	Timeout reconcile.Duration `yaml:"timeout"`
	// MaxIDs caps the people one request may name (default 1000): a request
	// naming more is refused with 413.
	MaxIDs   int `yaml:"max_ids"`
	BambooHR struct {
		// SecretEnv names the environment variable holding the webhook's
		// HMAC key. Unset: the endpoint is disabled.
		SecretEnv string `yaml:"secret_env"`
	} `yaml:"bamboohr"`
	HR struct {
		// SecretEnv names the HMAC key's variable (the default, and the
		// recommended mode); TokenEnv the bearer token's ("Authorization:
		// Bearer <token>" with an X-Accessrecon-Timestamp header, refused
		// outside the replay window and when replayed). Either enables the
		// endpoint.
		SecretEnv string `yaml:"secret_env"`
		TokenEnv  string `yaml:"token_env"`
	} `yaml:"hr"`
}

// ServeConfig configures `accessrecon serve`.
type ServeConfig struct {
	// Listen is the HTTP address (default 127.0.0.1:8080; --listen wins).
	Listen string `yaml:"listen"`
	// Grace is how long a running job may go on after SIGTERM (default 30s).
	Grace reconcile.Duration `yaml:"grace"`
	// LockStale is the heartbeat age after which another process's lock is
	// taken over (default 2m).
	LockStale reconcile.Duration `yaml:"lock_stale"`
	// LockWait is how long a scheduled job waits for a run of another job
	// or process to finish before it skips this time (default 1h).
	LockWait reconcile.Duration `yaml:"lock_wait"`
	// OutDir receives each job's findings.json under OutDir/<job>/ (default
	// `out` beside the config file).
	OutDir string `yaml:"out_dir"`
	// UnreadyAfter: /readyz fails once the latest run failed and nothing
	// succeeded for this long (default 1h).
	UnreadyAfter reconcile.Duration `yaml:"unready_after"`
	// ReadTimeout bounds reading one request, headers and body (default
	// 10s); a slow sender's connection is closed when it passes.
	ReadTimeout reconcile.Duration `yaml:"read_timeout"`
	// MaxConnections caps the open HTTP connections (default 64); more wait
	// to be accepted.
	MaxConnections int `yaml:"max_connections"`
}

// CronParser reads job schedules: optional seconds, descriptors.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// JobSchedule parses a job's schedule in its time zone.
func (c *Config) JobSchedule(j JobConfig) (cron.Schedule, error) {
	spec := strings.TrimSpace(j.Schedule)
	tz := j.Timezone
	if tz == "" {
		tz = c.Timezone
	}
	if tz != "" && !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") && !strings.HasPrefix(spec, "@every") {
		spec = "CRON_TZ=" + tz + " " + spec
	}
	return CronParser.Parse(spec)
}

// validateUnattended checks timezone, jobs, hooks and serve.
func (c *Config) validateUnattended() error {
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			return fmt.Errorf("timezone: %q: %w", c.Timezone, err)
		}
	}
	seen := map[string]bool{}
	for i, j := range c.Jobs {
		where := fmt.Sprintf("jobs[%d]", i)
		switch {
		case j.Name == "":
			return fmt.Errorf("%s.name: required", where)
		case seen[j.Name]:
			return fmt.Errorf("%s.name: %q is used twice", where, j.Name)
		case strings.HasPrefix(j.Name, "hook:"):
			return fmt.Errorf("%s.name: %q: names starting with hook: are reserved for webhook runs", where, j.Name)
		case j.Schedule == "":
			return fmt.Errorf("%s (%s).schedule: required (e.g. \"0 2 * * *\", @daily, @every 10m)", where, j.Name)
		}
		seen[j.Name] = true
		where += " (" + j.Name + ")"
		if j.Timezone != "" {
			if _, err := time.LoadLocation(j.Timezone); err != nil {
				return fmt.Errorf("%s.timezone: %q: %w", where, j.Timezone, err)
			}
		}
		if _, err := c.JobSchedule(j); err != nil {
			return fmt.Errorf("%s.schedule: %q: %w", where, j.Schedule, err)
		}
		switch j.Mode {
		case "", reconcile.Report, reconcile.Enforce:
		default:
			return fmt.Errorf("%s.mode: %q is not report or enforce", where, j.Mode)
		}
		for _, r := range j.Reports {
			if r != "xlsx" && r != "jira" {
				return fmt.Errorf("%s.reports: %q is not xlsx or jira", where, r)
			}
		}
		switch {
		case j.Report != "" && j.Report != "period":
			return fmt.Errorf("%s.report: %q is not period", where, j.Report)
		case j.Report == "" && j.Period != "":
			return fmt.Errorf("%s.period: only a report job (report: period) has a period", where)
		case j.Period != "" && j.Period != "month" && j.Period != "week":
			return fmt.Errorf("%s.period: %q is not month or week", where, j.Period)
		case j.Report != "" && (j.Scope != nil || j.Mode != "" || len(j.Reports) > 0 || (j.Kind != "" && j.Kind != "run")):
			return fmt.Errorf("%s: a report job runs nothing: scope, mode, reports and kind do not apply", where)
		}
	}
	switch c.Hooks.Mode {
	case "", reconcile.Report, reconcile.Enforce:
	default:
		return fmt.Errorf("hooks.mode: %q is not report or enforce", c.Hooks.Mode)
	}
	if c.Hooks.MaxIDs < 0 {
		return fmt.Errorf("hooks.max_ids: %d is negative", c.Hooks.MaxIDs)
	}
	if c.Serve.MaxConnections < 0 {
		return fmt.Errorf("serve.max_connections: %d is negative", c.Serve.MaxConnections)
	}
	if c.Serve.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
			return fmt.Errorf("serve.listen: %q: %w", c.Serve.Listen, err)
		}
	}
	return nil
}

// Job is the job of that name.
func (c *Config) Job(name string) (JobConfig, bool) {
	for _, j := range c.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return JobConfig{}, false
}

// DurOr is d, or def when d is unset.
func DurOr(d reconcile.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return d.D()
	}
	return def
}

// SyslogConfig is audit.syslog: every audit record is also sent to a
// collector as an RFC 5424 message, so that a SIEM holds a copy of the chain
// (and its hashes) outside the store.
type SyslogConfig struct {
	Network string `yaml:"network"` // tcp (default) or udp
	Address string `yaml:"address"` // host:port
	AppName string `yaml:"app_name"`
}
