package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// Names reports whether ref, as a person wrote it in the config or on the
// command line (an exemption, an approval, a hold), names account a: its
// native ID, username, email or distinguished name, compared
// case-insensitively after trimming.
func Names(ref string, a targets.Account) bool {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return false
	}
	for _, v := range []string{a.ID, a.Username, a.Email, a.DN} {
		if v != "" && strings.EqualFold(ref, strings.TrimSpace(v)) {
			return true
		}
	}
	return false
}

// refCheck resolves the account references of one target's policy
// entries while its accounts stream past: each must name exactly one
// account. A reference that names none, or several, is an error of the run:
// nothing a person wrote is silently ignored.
type refCheck struct {
	target string
	refs   []accountRef
}

type accountRef struct {
	key       string // where it was written: policy.exemptions[2].account_id
	ref       string
	ifPresent bool     // naming no account is a warning (Exemption.IfPresent)
	hits      []string // IDs of the accounts it names
}

func newRefCheck(p *Policy, target string) *refCheck {
	rc := &refCheck{target: target}
	for i, e := range p.Exemptions {
		if e.Target == target {
			key := fmt.Sprintf("policy.exemptions[%d].account_id", i)
			if e.Key != "" {
				key = e.Key
			}
			rc.refs = append(rc.refs, accountRef{key: key, ref: e.AccountID, ifPresent: e.IfPresent})
		}
	}
	for i, a := range p.PrivilegedApproved {
		if a.Target == target {
			rc.refs = append(rc.refs, accountRef{key: fmt.Sprintf("policy.privileged_approved[%d].account_id", i), ref: a.AccountID})
		}
	}
	return rc
}

// see records the references that name a.
func (rc *refCheck) see(a targets.Account) {
	for i := range rc.refs {
		if Names(rc.refs[i].ref, a) {
			rc.refs[i].hits = append(rc.refs[i].hits, a.ID)
		}
	}
}

// absent returns the references that may name no account and named none.
func (rc *refCheck) absent() []string {
	var out []string
	for _, r := range rc.refs {
		if r.ifPresent && len(r.hits) == 0 {
			out = append(out, fmt.Sprintf("%s: %q names no account on target %s", r.key, r.ref, rc.target))
		}
	}
	return out
}

// err says which references did not name exactly one account (those that
// may name none aside).
func (rc *refCheck) err() error {
	var bad []string
	for _, r := range rc.refs {
		switch len(r.hits) {
		case 1:
		case 0:
			if r.ifPresent {
				continue
			}
			bad = append(bad, fmt.Sprintf("%s: %q names no account on target %s (write its ID, username, email or DN)", r.key, r.ref, rc.target))
		default:
			ids := slices.Clone(r.hits)
			if len(ids) > 5 {
				ids = append(ids[:5], "…")
			}
			bad = append(bad, fmt.Sprintf("%s: %q names %d accounts on target %s (%s): write the account's ID", r.key, r.ref, len(r.hits), rc.target, strings.Join(ids, ", ")))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &RefError{Problems: bad}
}

// RefError is a run stopped because account references in the
// configuration did not each name exactly one account: nothing was acted on.
type RefError struct{ Problems []string }

func (e *RefError) Error() string {
	return "account references: " + strings.Join(e.Problems, "; ") + ": nothing acted on"
}
