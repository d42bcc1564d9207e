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
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
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

// When an account counts as revoked (the workbook's Leavers sheet reads
// the same): every automatic step done and verified (the executor's
// Finding.RevokedAt) AND every step a person must do acknowledged done
// (accessrecon ack). The revocation time is the later of the two. An
// account whose automatic steps are done while a person's step is open is
// not revoked yet: its clock runs on. Each clock is reconcile's
// Policy.Clock.

// Acks are the acknowledged manual steps: fingerprint → step (op, arg) →
// when the latest acknowledgement was recorded.
type Acks struct {
	at map[string]map[[2]string]time.Time
}

// ReadAcks reads every acknowledged manual step of the store.
func ReadAcks(ctx context.Context, st storefile.Store) (Acks, error) {
	a := Acks{at: map[string]map[[2]string]time.Time{}}
	err := st.ActionsBetween(ctx, time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), func(act store.Action) error {
		if act.Status != store.ActionAcknowledged || !act.Verified {
			return nil
		}
		m := a.at[act.Fingerprint]
		if m == nil {
			m = map[[2]string]time.Time{}
			a.at[act.Fingerprint] = m
		}
		k := [2]string{act.Op, act.Arg}
		if act.FinishedAt.After(m[k]) {
			m[k] = act.FinishedAt.UTC()
		}
		return nil
	})
	if err != nil {
		return Acks{}, fmt.Errorf("sla: acknowledged steps: %w", err)
	}
	return a, nil
}

// Revoked is when f's account counts as revoked: its automatic steps done
// and verified, and every person's step acknowledged (ok false while one
// of them is not).
func (a Acks) Revoked(f *reconcile.Finding) (time.Time, bool) {
	var last time.Time
	hasAuto := false
	var manual [][2]string
	for _, s := range f.Actions {
		if s.Auto {
			hasAuto = true
		} else {
			manual = append(manual, [2]string{string(s.Op), s.Arg})
		}
	}
	if hasAuto || len(manual) == 0 {
		if f.RevokedAt == nil {
			return time.Time{}, false
		}
		last = f.RevokedAt.UTC()
	}
	for _, m := range manual {
		t, ok := a.at[f.Fingerprint][m]
		if !ok {
			return time.Time{}, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last, true
}

// Entries measures every revocation of runs started at or after since.
func Entries(ctx context.Context, cfg *config.Config, st storefile.Store, since time.Time) ([]Entry, error) {
	rows, err := st.RevokedFindings(ctx, since)
	if err != nil {
		return nil, err
	}
	acks, err := ReadAcks(ctx, st)
	if err != nil {
		return nil, err
	}
	// A finding only people revoke has no step in the store to
	// acknowledge (accessrecon ack records the steps beside automatic
	// ones): it is not counted here, as the Leavers sheet counts it only
	// once a later run sees the account gone.
	var out []Entry
	seen := map[string]bool{}
	for _, r := range rows {
		var f reconcile.Finding
		if err := json.Unmarshal(r.Body, &f); err != nil {
			return nil, fmt.Errorf("sla: finding of run %d: %w", r.RunID, err)
		}
		revoked, ok := acks.Revoked(&f)
		if !ok {
			continue // a person's step is still open: not revoked yet
		}
		key := f.Fingerprint + revoked.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		var hook time.Time
		if f.EmployeeID != "" {
			if hook, err = st.FirstHREvent(ctx, f.EmployeeID, revoked.Add(-webhookLookback), revoked); err != nil {
				return nil, err
			}
		}
		f.RevokedAt = &revoked
		c, ok := cfg.Policy.Clock(&f, time.Time{}, hook)
		if !ok {
			continue // nothing starts the clock (e.g. a stale credential), or exempt
		}
		out = append(out, entry(r.RunID, &f, c))
	}
	return out, nil
}

// entry is a finding measured by its clock.
func entry(runID int64, f *reconcile.Finding, c reconcile.Clock) Entry {
	e := Entry{RunID: runID, Fingerprint: f.Fingerprint, Kind: string(f.Kind), Target: f.Target, Tier: string(c.Tier),
		AccountID: f.AccountID, EmployeeID: f.EmployeeID, Start: c.Start, StartFrom: c.StartFrom, Elapsed: c.Elapsed,
		Allowed: c.Allowed, Within: c.Within, Open: c.Open}
	if !c.Open {
		e.RevokedAt = c.End
	}
	e.ElapsedText, e.AllowedText = e.Elapsed.Round(time.Second).String(), e.Allowed.String()
	if c.Open {
		e.ElapsedText += " (open)"
	}
	return e
}

// OpenBreaches are the leavers of the latest full run still not revoked
// (a person's step still open counts as not revoked) although their SLA
// has passed at that run's as-of time.
func OpenBreaches(ctx context.Context, cfg *config.Config, st storefile.Store, now time.Time) ([]Entry, error) {
	run, err := LatestFinishedFullRun(ctx, st)
	if err != nil || run.ID == 0 {
		return nil, err
	}
	bodies, err := st.FindingBodies(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	acks, err := ReadAcks(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, b := range bodies {
		var f reconcile.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, err
		}
		if f.Kind != reconcile.TerminatedActive && f.Kind != reconcile.SuspendedActive {
			continue
		}
		if _, ok := acks.Revoked(&f); ok {
			continue
		}
		f.RevokedAt = nil
		c, ok := cfg.Policy.Clock(&f, run.AsOf, time.Time{})
		if !ok || c.Within {
			continue
		}
		out = append(out, entry(run.ID, &f, c))
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
func LatestFinishedFullRun(ctx context.Context, st storefile.Store) (store.Run, error) {
	r, err := st.LatestFinishedFullRun(ctx)
	if errors.Is(err, store.ErrNoRun) {
		return store.Run{}, nil
	}
	return r, err
}

// Build is the SLA report of the revocations by runs started at or after
// since, with the breaches still open at now.
func Build(ctx context.Context, cfg *config.Config, st storefile.Store, since, now time.Time) (Report, error) {
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
