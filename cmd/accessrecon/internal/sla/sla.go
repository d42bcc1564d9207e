// Package sla measures revocations against the policy's SLA per tier
// (NCA ECC 1-9-5): the figures of `accessrecon sla`, /metrics and the
// time-to-revoke histogram.
package sla

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// SLA evidence (NCA ECC 1-9-5: access revoked promptly): for every verified
// revocation of a leaver's or suspended person's access, the time from HR's
// effective date (or the webhook's receipt, when that came first) to the
// revocation, against the policy's SLA for the target's tier.

// Entry is one revocation measured against its SLA.
type Entry struct {
	RunID       int64         `json:"run_id"`
	Fingerprint string        `json:"fingerprint"`
	Kind        string        `json:"kind"`
	Target      string        `json:"target"`
	Tier        string        `json:"tier"`
	AccountID   string        `json:"account_id"`
	EmployeeID  string        `json:"employee_id,omitempty"`
	Start       time.Time     `json:"start"`
	StartFrom   string        `json:"start_from"` // hr_effective | webhook
	RevokedAt   time.Time     `json:"revoked_at,omitzero"`
	Elapsed     time.Duration `json:"-"`
	ElapsedText string        `json:"elapsed"`
	Allowed     time.Duration `json:"-"`
	AllowedText string        `json:"allowed"`
	Within      bool          `json:"within_sla"`
	Open        bool          `json:"open,omitempty"` // not revoked yet, already past the SLA
}

// webhookLookback bounds how long before a revocation a webhook receipt
// still counts as its start.
const webhookLookback = 30 * 24 * time.Hour

// Entries measures every revocation of runs started at or after since.
func Entries(ctx context.Context, cfg *config.Config, st *store.Store, since time.Time) ([]Entry, error) {
	pol := cfg.Policy.Policy
	allowed := func(tier string) time.Duration { return pol.SLA[cmp.Or(tier, "standard")].D() }
	rows, err := st.RevokedFindings(ctx, since)
	if err != nil {
		return nil, err
	}
	var out []Entry
	seen := map[string]bool{}
	for _, r := range rows {
		var f reconcile.Finding
		if err := json.Unmarshal(r.Body, &f); err != nil {
			return nil, fmt.Errorf("sla: finding of run %d: %w", r.RunID, err)
		}
		if f.RevokedAt == nil {
			continue
		}
		key := f.Fingerprint + f.RevokedAt.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		e := Entry{RunID: r.RunID, Fingerprint: f.Fingerprint, Kind: string(f.Kind), Target: f.Target, Tier: cmp.Or(f.Tier, "standard"),
			AccountID: f.AccountID, EmployeeID: f.EmployeeID, RevokedAt: f.RevokedAt.UTC(), Allowed: allowed(f.Tier)}
		if f.EffectiveAt != nil {
			e.Start, e.StartFrom = f.EffectiveAt.UTC(), "hr_effective"
		}
		if f.EmployeeID != "" {
			hook, err := st.FirstHREvent(ctx, f.EmployeeID, f.RevokedAt.Add(-webhookLookback), *f.RevokedAt)
			if err != nil {
				return nil, err
			}
			if !hook.IsZero() && (e.Start.IsZero() || hook.Before(e.Start)) {
				e.Start, e.StartFrom = hook.UTC(), "webhook"
			}
		}
		if e.Start.IsZero() {
			continue // nothing starts the clock (e.g. a stale credential)
		}
		e.Elapsed = max(e.RevokedAt.Sub(e.Start), 0)
		e.Within = e.Elapsed <= e.Allowed
		e.ElapsedText, e.AllowedText = e.Elapsed.Round(time.Second).String(), e.Allowed.String()
		out = append(out, e)
	}
	return out, nil
}

// OpenBreaches are the leavers of the latest full run still not revoked
// although their SLA has passed.
func OpenBreaches(ctx context.Context, cfg *config.Config, st *store.Store, now time.Time) ([]Entry, error) {
	run, err := LatestFinishedFullRun(ctx, st)
	if err != nil || run.ID == 0 {
		return nil, err
	}
	bodies, err := st.FindingBodies(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, b := range bodies {
		var f reconcile.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, err
		}
		if f.RevokedAt != nil || f.EffectiveAt == nil || (f.Kind != reconcile.TerminatedActive && f.Kind != reconcile.SuspendedActive) || f.Disposition == reconcile.Exempt {
			continue
		}
		e := Entry{RunID: run.ID, Fingerprint: f.Fingerprint, Kind: string(f.Kind), Target: f.Target, Tier: cmp.Or(f.Tier, "standard"),
			AccountID: f.AccountID, EmployeeID: f.EmployeeID, Start: f.EffectiveAt.UTC(), StartFrom: "hr_effective",
			Allowed: cfg.Policy.SLA[cmp.Or(f.Tier, "standard")].D(), Open: true}
		e.Elapsed = run.AsOf.Sub(e.Start)
		if e.Elapsed <= e.Allowed {
			continue
		}
		e.ElapsedText, e.AllowedText = e.Elapsed.Round(time.Second).String()+" (open)", e.Allowed.String()
		out = append(out, e)
	}
	return out, nil
}

// Report is `accessrecon sla --json`.
type Report struct {
	Since    time.Time         `json:"since,omitzero"`
	Revoked  int               `json:"revoked"`
	Within   int               `json:"within_sla"`
	Percent  float64           `json:"percent_within_sla"`
	ByTier   map[string]Figure `json:"by_tier"`
	Breaches []Entry           `json:"breaches"`
}

// Figure is one tier's share of revocations within the SLA.
type Figure struct {
	Revoked int     `json:"revoked"`
	Within  int     `json:"within_sla"`
	Percent float64 `json:"percent_within_sla"`
	Allowed string  `json:"allowed"`
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return float64(int(1000*float64(a)/float64(b)+0.5)) / 10
}

// LatestFinishedFullRun is the newest finished run of full scope (zero Run
// if none); unlike store.LatestFullRun it includes failed runs.
func LatestFinishedFullRun(ctx context.Context, st *store.Store) (store.Run, error) {
	r, err := st.LatestFinishedFullRun(ctx)
	if errors.Is(err, store.ErrNoRun) {
		return store.Run{}, nil
	}
	return r, err
}

// Build is the SLA report of the revocations by runs started at or after
// since, with the breaches still open at now.
func Build(ctx context.Context, cfg *config.Config, st *store.Store, since, now time.Time) (Report, error) {
	entries, err := Entries(ctx, cfg, st, since)
	if err != nil {
		return Report{}, err
	}
	open, err := OpenBreaches(ctx, cfg, st, now)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Since: since, ByTier: map[string]Figure{}, Breaches: []Entry{}}
	for _, e := range entries {
		f := rep.ByTier[e.Tier]
		f.Revoked++
		rep.Revoked++
		if e.Within {
			f.Within++
			rep.Within++
		} else {
			rep.Breaches = append(rep.Breaches, e)
		}
		f.Allowed = e.Allowed.String()
		rep.ByTier[e.Tier] = f
	}
	for t, f := range rep.ByTier {
		f.Percent = pct(f.Within, f.Revoked)
		rep.ByTier[t] = f
	}
	rep.Percent = pct(rep.Within, rep.Revoked)
	rep.Breaches = append(rep.Breaches, open...)
	slices.SortFunc(rep.Breaches, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Tier, b.Tier), a.Start.Compare(b.Start), cmp.Compare(a.Target, b.Target), cmp.Compare(a.AccountID, b.AccountID))
	})
	return rep, nil
}
