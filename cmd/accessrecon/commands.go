package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// configFlags parses the common --config (and --json) flags.
func configFlags(name string, args []string, extra func(*flag.FlagSet)) (cfg *Config, asJSON bool, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", "", "configuration file")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, false, usageError{name + ": " + err.Error()}
	}
	if *path == "" {
		return nil, false, usageError{name + ": --config is required"}
	}
	cfg, err = loadConfig(*path)
	return cfg, asJSON, err
}

func openStore(ctx context.Context, cfg *Config) (*store.Store, error) {
	return store.Open(ctx, cfg.storePath())
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	cfg, _, err := configFlags("validate", args, nil)
	if err != nil {
		return err
	}
	w, err := wire(cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.path, err)
	}
	w.Close()
	fmt.Fprintf(stdout, "%s: ok (%d sources, %d targets, mode %s)\n", cfg.path, len(cfg.Sources), len(cfg.Targets), cfg.Policy.Mode)
	return nil
}

func cmdFindings(ctx context.Context, args []string, stdout io.Writer) error {
	var all bool
	var runID int64
	cfg, asJSON, err := configFlags("findings", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&all, "all", false, "every disposition (default: the exceptions people must handle, and auto revocations)")
		fs.Int64Var(&runID, "run", 0, "this run (default: the latest full run, not a leavers sweep or HR-event run)")
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	var run store.Run
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
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"run": run, "findings": fs})
	}
	fmt.Fprintf(stdout, "run %d (%s, as of %s): %d findings\n", run.ID, run.Status, run.AsOf.Format(time.RFC3339), len(fs))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tKIND\tDISPOSITION\tTARGET\tACCOUNT\tEMPLOYEE\tFIRST SEEN\tJIRA\tREASON")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Kind, f.Disposition, f.Target, f.AccountID, f.EmployeeID,
			f.FirstSeen.Format("2006-01-02"), dash(f.JiraKey), f.Reason)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdHistory(ctx context.Context, args []string, stdout io.Writer) error {
	var limit int
	cfg, asJSON, err := configFlags("history", args, func(fs *flag.FlagSet) {
		fs.IntVar(&limit, "n", 30, "how many runs")
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
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
		if len(note) > 100 {
			note = note[:100] + "…"
		}
		mode := r.Mode
		if r.DryRun {
			mode += " (dry run)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.AsOf.Format(time.RFC3339), r.StartedAt.Format(time.RFC3339), d,
			mode, dash(r.Job), r.Status, r.Counts["people"], r.Counts["accounts"], r.Counts["findings"], note)
	}
	return tw.Flush()
}

func cmdHold(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"hold: add, list or remove"}
	}
	var target, account, reason, until, by string
	var id int64
	var all bool
	cfg, asJSON, err := configFlags("hold "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&target, "target", "", "target name")
		fs.StringVar(&account, "account", "", "account ID on the target")
		fs.StringVar(&reason, "reason", "", "why (legal hold, investigation, emergency override)")
		fs.StringVar(&until, "until", "", "end of the hold (YYYY-MM-DD or RFC 3339)")
		fs.StringVar(&by, "by", "", "who places or removes the hold")
		fs.Int64Var(&id, "id", 0, "hold ID (remove)")
		fs.BoolVar(&all, "all", false, "list removed holds too")
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	audit := reconcile.TrailAuditor{Trail: openTrail(cfg, st, slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	now := time.Now().UTC()
	switch args[0] {
	case "add":
		if target == "" || account == "" || reason == "" || until == "" || by == "" {
			return usageError{"hold add: --target, --account, --reason, --until and --by are all required"}
		}
		known := false
		for _, t := range cfg.Targets {
			known = known || t.Name == target
		}
		if !known {
			return fmt.Errorf("hold add: target %q is not configured in %s", target, cfg.path)
		}
		u, err := parseAsOf(until)
		if err != nil {
			return usageError{"hold add: --until: " + err.Error()}
		}
		if !u.After(now) {
			return fmt.Errorf("hold add: --until %s is not in the future", until)
		}
		h := store.Hold{Target: target, AccountID: account, Reason: reason, Until: u, CreatedBy: by, CreatedAt: now}
		if h.ID, err = st.AddHold(ctx, h); err != nil {
			return err
		}
		if err := audit.Record(ctx, reconcile.AuditEvent{Type: "hold_added", Actor: by, Target: target,
			Detail: map[string]any{"hold_id": h.ID, "account_id": account, "reason": reason, "until": u}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hold %d: %s on %s held until %s by %s\n", h.ID, account, target, u.Format(time.RFC3339), by)
	case "remove":
		if id == 0 || by == "" {
			return usageError{"hold remove: --id and --by are required"}
		}
		h, err := st.RemoveHold(ctx, id, by, now)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, reconcile.AuditEvent{Type: "hold_removed", Actor: by, Target: h.Target,
			Detail: map[string]any{"hold_id": id, "account_id": h.AccountID}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hold %d removed by %s\n", id, by)
	case "list":
		hs, err := st.Holds(ctx, all)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(hs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTARGET\tACCOUNT\tUNTIL\tBY\tSTATE\tREASON")
		for _, h := range hs {
			state := "active"
			switch {
			case !h.RemovedAt.IsZero():
				state = "removed by " + h.RemovedBy
			case !h.Until.After(now):
				state = "EXPIRED"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Target, h.AccountID, h.Until.Format("2006-01-02"), h.CreatedBy, state, h.Reason)
		}
		return tw.Flush()
	default:
		return usageError{fmt.Sprintf("hold: unknown subcommand %q (add, list, remove)", args[0])}
	}
	return nil
}

func cmdAudit(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"audit: verify or export"}
	}
	var since, format, cpFile string
	var pubKeys fileList
	cfg, _, err := configFlags("audit "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&since, "since", "", "export records at or after this time")
		fs.StringVar(&format, "format", "jsonl", "export format: jsonl or cef")
		fs.Var(&pubKeys, "public-key", "verify: Ed25519 public key checkpoints may be signed with (repeatable)")
		fs.StringVar(&cpFile, "checkpoint-file", "", "verify: checkpoint file to check the trail against (default audit.checkpoint_file)")
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	trail := openTrail(cfg, st, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	switch args[0] {
	case "verify":
		if len(pubKeys) > 0 {
			return verifySigned(ctx, cfg, trail, pubKeys, cpFile, stdout)
		}
		res, err := trail.Verify(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "audit trail intact: %d records in the store, %d in %s, last hash %s\n", res.StoreRecords, res.FileRecords, trail.Path(), res.LastHash)
		return nil
	case "export":
		var from time.Time
		if since != "" {
			if from, err = parseAsOf(since); err != nil {
				return usageError{"audit export: --since: " + err.Error()}
			}
		}
		if format != "jsonl" && format != "cef" {
			return usageError{"audit export: --format must be jsonl or cef"}
		}
		bw := bufio.NewWriter(stdout)
		err := trail.Records(ctx, 0, func(r store.AuditRecord) error {
			if r.At.Before(from) {
				return nil
			}
			if format == "cef" {
				_, err := fmt.Fprintln(bw, cefLine(r))
				return err
			}
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(bw, "%s\n", b)
			return err
		})
		if err != nil {
			return err
		}
		return bw.Flush()
	}
	return usageError{fmt.Sprintf("audit: unknown subcommand %q (verify, export)", args[0])}
}

// cefLine renders an audit record in ArcSight Common Event Format.
func cefLine(r store.AuditRecord) string {
	esc := strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`)
	hdr := strings.NewReplacer(`\`, `\\`, `|`, `\|`)
	sev := "3"
	switch r.Type {
	case "action_requested", "target_response", "verification", "hold_applied", "hold_added", "hold_removed":
		sev = "6"
	}
	return fmt.Sprintf("CEF:0|accessrecon|accessrecon|1|%s|%s|%s|rt=%d suser=%s cs1Label=target cs1=%s cn1Label=run cn1=%d cs2Label=hash cs2=%s msg=%s",
		hdr.Replace(r.Type), hdr.Replace(r.Type), sev, r.At.UnixMilli(), esc.Replace(r.Actor), esc.Replace(r.Target), r.RunID, r.Hash, esc.Replace(string(r.Detail)))
}
