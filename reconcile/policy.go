package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Mode says whether a run acts on its clear cases.
type Mode string

// The modes. report is the default of a new installation.
const (
	Report  Mode = "report"
	Enforce Mode = "enforce"
)

// Duration is a time.Duration that also accepts days ("90d") in config.
type Duration time.Duration

// ParseDuration reads "90d", "36h", "15m", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90d, 36h, 15m)", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 90d, 36h, 15m)", s)
	}
	return days + d, nil
}

// UnmarshalYAML reads a duration with day support.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Date is a calendar date or instant in config (YYYY-MM-DD or RFC 3339).
type Date struct{ time.Time }

// UnmarshalYAML reads a date.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := sources.ParseDate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.Time = t
	return nil
}

// Policy is the judgement accessrecon applies: what is a finding, what is
// revoked automatically, what guards stop enforcement.
type Policy struct {
	// Mode is report (plan only, the default) or enforce.
	Mode Mode `yaml:"mode"`
	// AutoRevoke lists the kinds whose clear cases are revoked automatically
	// when the target can do it.
	AutoRevoke []Kind `yaml:"auto_revoke"`
	// DormantAfter: no login for this long is dormant (default 90d).
	DormantAfter Duration `yaml:"dormant_after"`
	// CredentialMaxIdle: an active credential unused this long is stale
	// (default 180d).
	CredentialMaxIdle Duration `yaml:"credential_max_idle"`
	// LeaveIsFinding makes an enabled account of a person on leave a
	// suspended_active finding (default false: leave is not a finding).
	LeaveIsFinding bool   `yaml:"leave_is_finding"`
	Guards         Guards `yaml:"guards"`
	// Roles: job code -> target -> groups that role may hold there.
	Roles map[string]map[string][]string `yaml:"roles"`
	// PrivilegedApproved lists privileged accounts someone approved.
	PrivilegedApproved []Approval `yaml:"privileged_approved"`
	// Exemptions put accounts out of enforcement until they expire.
	Exemptions []Exemption `yaml:"exemptions"`
	// Lifecycle: finding kind -> the ordered steps that revoke it.
	Lifecycle map[Kind][]targets.Capability `yaml:"lifecycle"`
	// SLA: target tier -> time allowed from HR's effective date to revocation.
	SLA map[string]Duration `yaml:"sla"`
}

// Guards are the safety rails' thresholds.
type Guards struct {
	// HRShrinkPercent stops enforcement when the HR snapshot shrank by more
	// than this since the last good run (default 20).
	HRShrinkPercent *float64 `yaml:"hr_shrink_percent"`
	// MaxRevocations per target per run (0: no limit).
	MaxRevocations int `yaml:"max_revocations"`
	// MaxRevocationsPercent of the target's enabled accounts. Unset, it is
	// 10%, held only against runs revoking more than 10 accounts on a target
	// (one leaver of a 3-account target is 33%); set, it holds exactly.
	// 100 lifts it.
	MaxRevocationsPercent float64 `yaml:"max_revocations_percent"`
	// percentFloor is how many revocations the default percent limit lets
	// through regardless (0 when the limit was configured).
	percentFloor int
}

// The default blast-radius limit: the rail is never off.
const (
	defaultMaxRevocationsPercent = 10
	defaultPercentFloor          = 10
)

// Approval records who approved a privileged account.
type Approval struct {
	Target    string `yaml:"target"`
	AccountID string `yaml:"account_id"`
	Approver  string `yaml:"approver"`
	Reason    string `yaml:"reason"`
}

// Exemption puts one account out of enforcement until it expires.
type Exemption struct {
	Target    string `yaml:"target" json:"target"`
	AccountID string `yaml:"account_id" json:"account_id"`
	Owner     string `yaml:"owner" json:"owner"`
	Reason    string `yaml:"reason" json:"reason"`
	Approver  string `yaml:"approver" json:"approver"`
	Expires   Date   `yaml:"expires" json:"expires"`
	// Key is where the exemption was written, for messages about its
	// account reference ("": policy.exemptions[i]).
	Key string `yaml:"-" json:"-"`
	// IfPresent marks an exemption of an account that may not exist (a
	// drill canary's): naming no account is a warning in the log, not an
	// error that stops the run; naming several still is one.
	IfPresent bool `yaml:"-" json:"-"`
}

// Expired says whether the exemption has ended at t. A date without a time
// ("2026-12-31") covers that whole day (UTC).
func (e Exemption) Expired(t time.Time) bool {
	end := e.Expires.Time
	if end.Equal(end.Truncate(24 * time.Hour)) {
		end = end.Add(24 * time.Hour)
	}
	return !t.Before(end)
}

// DefaultPolicy is the policy of a new installation.
func DefaultPolicy() Policy {
	var p Policy
	p.applyDefaults()
	return p
}

func (p *Policy) applyDefaults() {
	if p.Mode == "" {
		p.Mode = Report
	}
	if p.AutoRevoke == nil {
		p.AutoRevoke = []Kind{TerminatedActive, SuspendedActive, Reenabled, StaleCredential, ExcessAccess}
	}
	if p.DormantAfter == 0 {
		p.DormantAfter = Duration(90 * 24 * time.Hour)
	}
	if p.CredentialMaxIdle == 0 {
		p.CredentialMaxIdle = Duration(180 * 24 * time.Hour)
	}
	if p.Guards.MaxRevocationsPercent == 0 {
		p.Guards.MaxRevocationsPercent, p.Guards.percentFloor = defaultMaxRevocationsPercent, defaultPercentFloor
	}
	if p.Guards.HRShrinkPercent == nil {
		v := 20.0
		p.Guards.HRShrinkPercent = &v
	}
	def := map[Kind][]targets.Capability{
		TerminatedActive: {targets.CanDisable, targets.CanRevokeSessions, targets.CanRevokeCredential},
		SuspendedActive:  {targets.CanDisable, targets.CanRevokeSessions},
		Reenabled:        {targets.CanDisable, targets.CanRevokeSessions},
		StaleCredential:  {targets.CanRevokeCredential},
		ExcessAccess:     {targets.CanRemoveFromGroup},
	}
	if p.Lifecycle == nil {
		p.Lifecycle = map[Kind][]targets.Capability{}
	}
	for k, v := range def {
		if _, ok := p.Lifecycle[k]; !ok {
			p.Lifecycle[k] = v
		}
	}
	sla := map[string]time.Duration{string(TierCritical): 15 * time.Minute, string(TierStandard): time.Hour, string(TierLow): 24 * time.Hour}
	if p.SLA == nil {
		p.SLA = map[string]Duration{}
	}
	for k, v := range sla {
		if _, ok := p.SLA[k]; !ok {
			p.SLA[k] = Duration(v)
		}
	}
}

// Validate applies defaults and checks the policy, naming the offending key.
func (p *Policy) Validate() error {
	p.applyDefaults()
	if p.Mode != Report && p.Mode != Enforce {
		return fmt.Errorf("policy.mode: %q is not report or enforce", p.Mode)
	}
	for i, k := range p.AutoRevoke {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("policy.auto_revoke[%d]: unknown finding kind %q", i, k)
		}
	}
	for k, steps := range p.Lifecycle {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("policy.lifecycle: unknown finding kind %q", k)
		}
		for _, s := range steps {
			switch s {
			case targets.CanDisable, targets.CanRevokeSessions, targets.CanRevokeCredential, targets.CanRemoveFromGroup:
			default:
				return fmt.Errorf("policy.lifecycle.%s: unknown step %q (disable, revoke_sessions, revoke_credential, remove_from_group)", k, s)
			}
		}
	}
	if v := *p.Guards.HRShrinkPercent; v < 0 || v > 100 {
		return fmt.Errorf("policy.guards.hr_shrink_percent: %v is not between 0 and 100", v)
	}
	if v := p.Guards.MaxRevocationsPercent; v < 0 || v > 100 {
		return fmt.Errorf("policy.guards.max_revocations_percent: %v is not between 0 and 100", v)
	}
	for i, e := range p.Exemptions {
		if e.Target == "" || e.AccountID == "" {
			return fmt.Errorf("policy.exemptions[%d]: target and account_id are required", i)
		}
		if e.Owner == "" || e.Reason == "" || e.Approver == "" || e.Expires.IsZero() {
			return fmt.Errorf("policy.exemptions[%d]: owner, reason, approver and expires are required (an exemption nobody owns never ends)", i)
		}
	}
	for i, a := range p.PrivilegedApproved {
		if a.Target == "" || a.AccountID == "" {
			return fmt.Errorf("policy.privileged_approved[%d]: target and account_id are required", i)
		}
	}
	return nil
}

func (p *Policy) autoRevokes(k Kind) bool { return slices.Contains(p.AutoRevoke, k) }
