// Package present prints what accessrecon tells people: the run summary,
// the dry-run plan, the live progress, and data made fit to print.
package present

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// Summary is the human summary of a run, on stderr.
func Summary(w io.Writer, res *reconcile.Result, path string, enforced []string) {
	r := res.Run
	mode := r.Mode
	if len(enforced) > 0 && r.Mode != string(reconcile.Enforce) {
		mode += "; enforce on " + strings.Join(enforced, ", ")
	}
	fmt.Fprintf(w, "\naccessrecon run %d: %s (mode %s, as of %s)\n", r.ID, strings.ToUpper(string(r.Status)), mode, r.AsOf.Format(time.RFC3339))
	for _, g := range r.Guards {
		fmt.Fprintf(w, "  GUARD TRIPPED: %s\n", Shown(g))
	}
	if r.Error != "" && len(r.Guards) == 0 {
		fmt.Fprintf(w, "  error: %s\n", Shown(r.Error))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  collected\ttype\tstatus\trows\tduration")
	for _, c := range res.Collections {
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%d\t%s\n", c.Side, Shown(c.Name), Shown(c.Type), Shown(string(c.Status)), c.Count, c.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	byKind := map[reconcile.Kind]map[reconcile.Disposition]int{}
	for _, c := range reconcile.CountKinds(res.Findings) {
		if byKind[c.Kind] == nil {
			byKind[c.Kind] = map[reconcile.Disposition]int{}
		}
		byKind[c.Kind][c.Disposition] += c.N
	}
	fmt.Fprintf(w, "\n  %d findings; %d problems of earlier runs now resolved:\n", len(res.Findings), len(res.Resolved))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  kind\tauto_revoke\tmanual_revoke\treview\texempt\t")
	for _, k := range reconcile.Kinds {
		if m := byKind[k]; m != nil {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t\n", k, m[reconcile.AutoRevoke], m[reconcile.ManualRevoke], m[reconcile.Review], m[reconcile.Exempt])
		}
	}
	tw.Flush()
	if len(res.Actions) > 0 {
		outcomes := map[string]int{}
		for _, a := range res.Actions {
			outcomes[string(a.Status)]++
		}
		keys := make([]string, 0, len(outcomes))
		for k := range outcomes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", outcomes[k], Shown(k))
		}
		fmt.Fprintf(w, "\n  actions: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "\n  findings written to %s\n", Shown(path))
}

// Plan prints, for a dry run, exactly what enforce mode would do:
// holds, exemptions and safety rails applied as enforce would apply them.
func Plan(w io.Writer, res *reconcile.Result) {
	fmt.Fprintln(w, "plan (dry run: nothing was done) with holds, exemptions and safety rails applied as enforce would:")
	if !res.Trusted() {
		fmt.Fprintln(w, "  UNTRUSTED RUN: a safety rail tripped; enforce would act on nothing below")
	}
	n := 0
	for _, f := range res.Findings {
		for _, s := range f.Actions {
			how := "AUTO   "
			switch {
			case f.Disposition == reconcile.Exempt:
				how = "EXEMPT "
			case f.Outcome == reconcile.OutcomeBlocked && f.Evidence.Get("hold") != "":
				how = "HELD   "
			case f.Outcome == reconcile.OutcomeBlocked:
				how = "BLOCKED"
			case !s.Auto:
				how = "MANUAL "
			}
			arg := "" // Shown drops a leading space: it goes outside
			if s.Arg != "" {
				arg = " " + Shown(cmp.Or(s.Name, s.Arg))
			}
			who := f.AccountID
			if f.Username != "" && f.Username != f.AccountID {
				who += " (" + f.Username + ")"
			}
			fmt.Fprintf(w, "  %s %-10s %-40s %s%s  [%s %s]\n", how, Shown(f.Target), Shown(who), Shown(string(s.Op)), arg, f.Kind, f.Fingerprint)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  nothing to do")
	}
}

// Progress shows live per-collector counts and rates on a terminal.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	start map[string]time.Time
}

func NewProgress(w io.Writer) *Progress { return &Progress{w: w, start: map[string]time.Time{}} }

func (p *Progress) Update(name string, n int, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start, ok := p.start[name]
	if !ok {
		start = time.Now()
		p.start[name] = start
	}
	end := "\r"
	if done {
		end = "\n"
	}
	rate := float64(n) / max(time.Since(start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "\033[2K  %-20s %10d rows  %8.0f/s%s", Shown(name), n, rate, end)
}

// NewLogger logs JSON to w, or, on a terminal, only warnings in text (the
// live progress says the rest).
func NewLogger(w io.Writer) (*slog.Logger, bool) {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})), true
		}
	}
	return slog.New(slog.NewJSONHandler(w, nil)), false
}

// Shown makes data fit to print for people: line breaks and tabs escaped
// (\n), every other control or non-printable character escaped too, so an
// account ID or a reason can neither forge a line nor drive the terminal.
func Shown(s string) string {
	return targets.Printable(strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s), 0)
}

// Dash is s, or "-" when s is empty.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ShellWord quotes s for a POSIX shell when it needs it.
func ShellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
