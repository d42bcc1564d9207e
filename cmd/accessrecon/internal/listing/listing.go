// Package listing prints what the store holds for people: the findings
// of a run and the history of runs.
package listing

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/overrides"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Findings lists the findings of run runID (default the latest full run),
// with the open manual steps and the command that acknowledges each.
func Findings(ctx context.Context, configPath string, st storefile.Store, runID int64, all, asJSON bool, stdout io.Writer) error {
	var run store.Run
	var err error
	switch {
	case runID > 0:
		run, err = st.GetRun(ctx, runID)
	default:
		run, err = st.LatestFullRun(ctx)
	}
	if err != nil {
		return err
	}
	bodies, err := st.FindingBodies(ctx, run.ID)
	if err != nil {
		return err
	}
	states, err := st.AllFindingStates(ctx)
	if err != nil {
		return err
	}
	var fs []reconcile.Finding
	for _, b := range bodies {
		var f reconcile.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("finding of run %d: %w", run.ID, err)
		}
		if f.JiraKey == "" {
			f.JiraKey = states[f.Fingerprint].JiraKey
		}
		if all || f.Disposition != reconcile.Exempt {
			fs = append(fs, f)
		}
	}
	// Open manual steps of the findings shown: each with the command that
	// records it as done (issue 10 item 4).
	type openStep struct {
		store.Action
		Ack string `json:"ack"`
	}
	var open []openStep
	steps, err := st.OpenManualSteps(ctx, "")
	if err != nil {
		return err
	}
	for _, a := range steps {
		if slices.ContainsFunc(fs, func(f reconcile.Finding) bool { return f.Fingerprint == a.Fingerprint }) {
			open = append(open, openStep{a, overrides.AckCommand(configPath, a)})
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"run": run, "findings": fs, "open_manual_steps": open})
	}
	fmt.Fprintf(stdout, "run %d (%s, as of %s): %d findings\n", run.ID, run.Status, run.AsOf.Format(time.RFC3339), len(fs))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tKIND\tDISPOSITION\tTARGET\tACCOUNT\tUSERNAME\tNAME\tEMPLOYEE\tFIRST SEEN\tJIRA\tREASON")
	for _, f := range fs {
		name := f.DisplayName
		if name == "" && f.Person != nil {
			name = f.Person.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Kind, f.Disposition, present.Shown(f.Target), present.Shown(f.AccountID),
			present.Shown(present.Dash(f.Username)), present.Shown(present.Dash(name)), present.Shown(f.EmployeeID), f.FirstSeen.Format("2006-01-02"), present.Shown(present.Dash(f.JiraKey)), present.Shown(f.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(open) > 0 {
		fmt.Fprintf(stdout, "\nopen manual steps (%d): a person does each, then records it as done:\n", len(open))
		for _, o := range open {
			fmt.Fprintf(stdout, "  %s %s account %s: %s\n    %s\n", o.Fingerprint, present.Shown(o.Target), present.Shown(o.AccountID), present.Shown(present.Dash(o.Error)), present.Shown(o.Ack))
		}
	}
	return nil
}

// History lists the last limit runs.
func History(ctx context.Context, st storefile.Store, limit int, asJSON bool, stdout io.Writer) error {
	runs, err := st.Runs(ctx, limit)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(runs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tAS OF\tSTARTED\tDURATION\tMODE\tJOB\tSTATUS\tPEOPLE\tACCOUNTS\tFINDINGS\tGUARDS / ERROR")
	for _, r := range runs {
		d := "-"
		if !r.FinishedAt.IsZero() {
			d = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		note := strings.Join(r.Guards, "; ")
		if note == "" {
			note = r.Error
		}
		mode := r.Mode
		if r.DryRun {
			mode += " (dry run)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.AsOf.Format(time.RFC3339), r.StartedAt.Format(time.RFC3339), d,
			mode, present.Shown(present.Dash(r.Job)), r.Status, r.Counts["people"], r.Counts["accounts"], r.Counts["findings"], shortNote(note))
	}
	return tw.Flush()
}

// shortNote is a note cut to 100 bytes, fit to print.
func shortNote(note string) string {
	note = present.Shown(note)
	if len(note) > 100 {
		note = note[:100] + "…"
	}
	return note
}
