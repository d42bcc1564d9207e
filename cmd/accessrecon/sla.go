package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// SLA evidence (NCA ECC 1-9-5: access revoked promptly): for every verified
// revocation of a leaver's or suspended person's access, the time from HR's
// effective date (or the webhook's receipt, when that came first) to the
// revocation, against the policy's SLA for the target's tier.

// slaEntry is one revocation measured against its SLA.
type slaEntry struct {
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

// slaEntries measures every revocation of runs started at or after since.
func slaEntries(ctx context.Context, cfg *Config, st *store.Store, since time.Time) ([]slaEntry, error) {
	pol := cfg.Policy
	allowed := func(tier string) time.Duration { return pol.SLA[cmp.Or(tier, "standard")].D() }
	rows, err := st.RevokedFindings(ctx, since)
	if err != nil {
		return nil, err
	}
	var out []slaEntry
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
		e := slaEntry{RunID: r.RunID, Fingerprint: f.Fingerprint, Kind: string(f.Kind), Target: f.Target, Tier: cmp.Or(f.Tier, "standard"),
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

// openBreaches are the leavers of the latest full run still not revoked
// although their SLA has passed.
func openBreaches(ctx context.Context, cfg *Config, st *store.Store, now time.Time) ([]slaEntry, error) {
	run, err := latestFullRun(ctx, st)
	if err != nil || run.ID == 0 {
		return nil, err
	}
	bodies, err := st.FindingBodies(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	var out []slaEntry
	for _, b := range bodies {
		var f reconcile.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, err
		}
		if f.RevokedAt != nil || f.EffectiveAt == nil || (f.Kind != reconcile.TerminatedActive && f.Kind != reconcile.SuspendedActive) || f.Disposition == reconcile.Exempt {
			continue
		}
		e := slaEntry{RunID: run.ID, Fingerprint: f.Fingerprint, Kind: string(f.Kind), Target: f.Target, Tier: cmp.Or(f.Tier, "standard"),
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

// slaReport is `accessrecon sla --json`.
type slaReport struct {
	Since    time.Time            `json:"since,omitzero"`
	Revoked  int                  `json:"revoked"`
	Within   int                  `json:"within_sla"`
	Percent  float64              `json:"percent_within_sla"`
	ByTier   map[string]slaFigure `json:"by_tier"`
	Breaches []slaEntry           `json:"breaches"`
}

type slaFigure struct {
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

func cmdSLA(ctx context.Context, args []string, stdout io.Writer) error {
	var sinceFlag string
	cfg, asJSON, err := configFlags("sla", args, func(fs *flag.FlagSet) {
		fs.StringVar(&sinceFlag, "since", "", "only revocations by runs started on or after this date (YYYY-MM-DD or RFC 3339)")
	})
	if err != nil {
		return err
	}
	var since time.Time
	if sinceFlag != "" {
		if since, err = parseAsOf(sinceFlag); err != nil {
			return usageError{"sla: --since: " + err.Error()}
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	entries, err := slaEntries(ctx, cfg, st, since)
	if err != nil {
		return err
	}
	open, err := openBreaches(ctx, cfg, st, time.Now())
	if err != nil {
		return err
	}
	rep := slaReport{Since: since, ByTier: map[string]slaFigure{}, Breaches: []slaEntry{}}
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
	slices.SortFunc(rep.Breaches, func(a, b slaEntry) int {
		return cmp.Or(cmp.Compare(a.Tier, b.Tier), a.Start.Compare(b.Start), cmp.Compare(a.Target, b.Target), cmp.Compare(a.AccountID, b.AccountID))
	})
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "revocations within SLA: %d of %d (%.1f%%)\n", rep.Within, rep.Revoked, rep.Percent)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tier\tallowed\trevoked\twithin\tpercent")
	tiers := make([]string, 0, len(rep.ByTier))
	for t := range rep.ByTier {
		tiers = append(tiers, t)
	}
	slices.Sort(tiers)
	for _, t := range tiers {
		f := rep.ByTier[t]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f%%\n", t, f.Allowed, f.Revoked, f.Within, f.Percent)
	}
	tw.Flush()
	if len(rep.Breaches) == 0 {
		fmt.Fprintln(stdout, "\nno breaches")
		return nil
	}
	fmt.Fprintf(stdout, "\nbreaches (%d):\n", len(rep.Breaches))
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tier\ttarget\taccount\temployee\tkind\tclock from\telapsed\tallowed")
	for _, e := range rep.Breaches {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", e.Tier, e.Target, e.AccountID, e.EmployeeID, e.Kind, e.StartFrom, e.Start.Format(time.RFC3339), e.ElapsedText, e.AllowedText)
	}
	return tw.Flush()
}
