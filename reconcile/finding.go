package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Kind is what is wrong.
type Kind string

// The finding kinds.
const (
	TerminatedActive     Kind = "terminated_active"
	SuspendedActive      Kind = "suspended_active"
	Orphaned             Kind = "orphaned"
	Ambiguous            Kind = "ambiguous"
	ExcessAccess         Kind = "excess_access"
	PrivilegedUnapproved Kind = "privileged_unapproved"
	Dormant              Kind = "dormant"
	StaleCredential      Kind = "stale_credential"
	Reenabled            Kind = "reenabled"
	ExemptionExpired     Kind = "exemption_expired"
	RevocationFailed     Kind = "revocation_failed"
	GuardTripped         Kind = "guard_tripped"
	// HRConflict: HR sources disagree about a person (Target HRTarget,
	// AccountID the employee ID); nothing of that person is revoked.
	HRConflict Kind = "hr_conflict"
	// Returned: a person accessrecon disabled for a suspension or leave is
	// active again; the account is listed for IT to restore (accessrecon
	// never re-enables on its own).
	Returned Kind = "returned"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{TerminatedActive, SuspendedActive, Reenabled, StaleCredential, ExcessAccess, PrivilegedUnapproved,
	Orphaned, Ambiguous, Dormant, ExemptionExpired, RevocationFailed, GuardTripped, HRConflict, Returned}

// Severity ranks findings for people: critical first.
type Severity string

// The severities.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
)

// Disposition says who deals with a finding.
type Disposition string

// The dispositions (see DESIGN.md).
const (
	AutoRevoke   Disposition = "auto_revoke"   // clear case, accessrecon revokes it
	ManualRevoke Disposition = "manual_revoke" // clear case, a person must do (part of) it
	Review       Disposition = "review"        // needs judgement
	Exempt       Disposition = "exempt"        // covered by a valid exemption
)

// Step is one planned step of revoking a finding.
type Step struct {
	Op targets.Capability `json:"op"`
	// Arg is the ID of the group or credential the step acts on.
	Arg string `json:"arg,omitempty"`
	// Name is the group's name as people write it, when it differs from Arg.
	Name string `json:"name,omitempty"`
	// Auto says accessrecon can do this step itself on this target.
	Auto bool `json:"auto"`
	// Manual is the instruction for a person when Auto is false.
	Manual string `json:"manual,omitempty"`
}

// PersonRef is the person a finding is about, as HR reported them.
type PersonRef struct {
	EmployeeID      string         `json:"employee_id"`
	Name            string         `json:"name,omitempty"`
	Email           string         `json:"email,omitempty"`
	Status          sources.Status `json:"status"`
	JobCode         string         `json:"job_code,omitempty"`
	Department      string         `json:"department,omitempty"`
	TerminationDate *time.Time     `json:"termination_date,omitempty"`
}

// Finding is one disagreement between HR and a target.
type Finding struct {
	Fingerprint string   `json:"fingerprint"`
	Kind        Kind     `json:"kind"`
	Severity    Severity `json:"severity"`
	Target      string   `json:"target"`
	AccountID   string   `json:"account_id"`
	Username    string   `json:"username,omitempty"`
	// DisplayName is the account's name as the target shows it (a person's
	// full name, a service's label), for people reading reports.
	DisplayName string      `json:"display_name,omitempty"`
	EmployeeID  string      `json:"employee_id,omitempty"`
	Person      *PersonRef  `json:"person,omitempty"`
	Disposition Disposition `json:"disposition"`
	Actions     []Step      `json:"actions"`
	Reason      string      `json:"reason"`
	// Evidence is what was seen, keyed by what it is.
	Evidence  Evidence  `json:"evidence"`
	FirstSeen time.Time `json:"first_seen"`
	// Match says how the account was linked to the person (employee_id,
	// email, link) and how strongly.
	Match string `json:"match,omitempty"`
	// EffectiveAt starts the SLA clock: HR's effective termination or
	// suspension time.
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	Tier        string     `json:"tier,omitempty"`
	// Exemption covering the account, when Disposition is exempt.
	Exemption *Exemption `json:"exemption,omitempty"`
	// Set by the executor.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Elapsed   string     `json:"elapsed,omitempty"`
	WithinSLA *bool      `json:"within_sla,omitempty"`
	Outcome   Outcome    `json:"outcome,omitempty"`
	// JiraKey is the ticket tracking this finding, once there is one.
	JiraKey string `json:"jira_key,omitempty"`

	// account is the account as collected, for the executor (nil for a
	// finding without steps).
	account *targets.Account
}

// Fingerprint is the stable identity of a problem: kind, target and account.
func Fingerprint(kind Kind, target, accountID string) string {
	h := sha256.Sum256([]byte(string(kind) + "\x00" + target + "\x00" + accountID))
	return hex.EncodeToString(h[:8])
}

// KindCount is how many findings have a kind and a disposition.
type KindCount struct {
	Kind        Kind
	Disposition Disposition
	N           int
}

// CountKinds counts findings by kind and disposition, each pair in the
// order it first comes. A run's findings come grouped by kind, so each is
// compared with the pair of the one before it, not looked up in a map
// (two look-ups a finding: the run summary of a 100,000-person day took
// 18-19 ms, 8-10 ms after).
func CountKinds(findings []*Finding) []KindCount {
	var out []KindCount
	last := -1
	for _, f := range findings {
		if last < 0 || out[last].Kind != f.Kind || out[last].Disposition != f.Disposition {
			last = slices.IndexFunc(out, func(c KindCount) bool { return c.Kind == f.Kind && c.Disposition == f.Disposition })
			if last < 0 {
				out = append(out, KindCount{Kind: f.Kind, Disposition: f.Disposition})
				last = len(out) - 1
			}
		}
		out[last].N++
	}
	return out
}

// NeedsPerson says whether a finding is an exception a person must handle.
func (f *Finding) NeedsPerson() bool {
	switch f.Disposition {
	case ManualRevoke, Review:
		return true
	case AutoRevoke:
		return f.Outcome != "" && f.Outcome != OutcomeDone
	}
	return false
}

// Outcome is what became of a finding's plan.
type Outcome string

// The outcomes of carrying out a finding's plan.
const (
	OutcomePlanned Outcome = "planned" // report mode: nothing was done
	OutcomeDone    Outcome = "done"    // every automatic step done and verified
	OutcomeFailed  Outcome = "failed"  // a step failed or could not be verified
	OutcomeBlocked Outcome = "blocked" // a guard or hold stopped it
)
