package sla

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
)

// Print prints the report as tables, or as JSON.
func (rep Report) Print(stdout io.Writer, asJSON bool) error {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", e.Tier, present.Shown(e.Target), present.Shown(e.AccountID), present.Shown(e.EmployeeID), e.Kind, e.StartFrom, e.Start.Format(time.RFC3339), e.ElapsedText, e.AllowedText)
	}
	return tw.Flush()
}
