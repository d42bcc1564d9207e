package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// The command line is the standard library's flag package: one FlagSet per
// command, defined in the command table below, from which the usage text
// (and the README's command list, checked by a test) is generated.

// action runs a command once its flags are parsed.
type action func(ctx context.Context, stdout, stderr io.Writer) (int, error)

// command is one line of the command table.
type command struct {
	name    string // "run", "hold add"
	summary string
	// required flags, in the order the synopsis shows them.
	required []string
	// positional, when set, is the flag the command's one argument fills
	// ("ack FINGERPRINT" sets --fingerprint); the synopsis shows it first.
	positional string
	// define declares the command's flags on fs and returns its action.
	define func(fs *flag.FlagSet) action
}

// commands is the command table: the one definition of the CLI.
func commands() []command {
	return []command{
		{name: "run", summary: "one reconciliation run", required: []string{"config"}, define: defineRun},
		{name: "serve", summary: "the jobs of schedule.yaml, the HR webhooks, health and metrics", required: []string{"config"}, define: defineServe},
		{name: "demo", summary: "run the bundled demo in a fresh directory", define: defineDemo},
		{name: "gen", summary: "write a reproducible data set for load tests", required: []string{"out"}, define: defineGen},
		{name: "validate", summary: "check a configuration", required: []string{"config"}, define: defineValidate},
		{name: "findings", summary: "the findings of the latest run", required: []string{"config"}, define: defineFindings},
		{name: "history", summary: "the runs with status and counts", required: []string{"config"}, define: defineHistory},
		{name: "sla", summary: "revocation times against the SLA", required: []string{"config"}, define: defineSLA},
		{name: "report", summary: "the period workbook over every run of a period, from the store", required: []string{"config", "from", "to"}, define: defineReport},
		{name: "schedule", summary: "the known leavers' runs serve starts at each termination's effective time", required: []string{"config"}, define: defineSchedule},
		{name: "hold add", summary: "hold an account: no revocation until the hold ends",
			required: []string{"config", "target", "account", "reason", "until", "by"}, define: defineHoldAdd},
		{name: "hold list", summary: "the holds", required: []string{"config"}, define: defineHoldList},
		{name: "hold remove", summary: "end a hold", required: []string{"config", "id", "by"}, define: defineHoldRemove},
		{name: "hold approve", summary: "approve a hold someone else requested (policy.holds.require_approval): it takes effect", positional: "id",
			required: []string{"id", "config", "by"}, define: defineHoldApprove},
		{name: "exempt add", summary: "request an exemption: it applies once someone else approves it",
			required: []string{"config", "target", "account", "reason", "until", "by"}, define: defineExemptAdd},
		{name: "exempt approve", summary: "approve an exemption someone else requested", positional: "id",
			required: []string{"id", "config", "by"}, define: defineExemptApprove},
		{name: "exempt list", summary: "the exemptions added with exempt add", required: []string{"config"}, define: defineExemptList},
		{name: "exempt remove", summary: "end an exemption or withdraw a request", required: []string{"config", "id", "by"}, define: defineExemptRemove},
		{name: "ack", summary: "record an open manual step of a finding as done", positional: "fingerprint",
			required: []string{"fingerprint", "config", "step", "by"}, define: defineAck},
		{name: "audit verify", summary: "check the audit trail's hash chain against its file", required: []string{"config"}, define: defineAuditVerify},
		{name: "audit export", summary: "the audit trail as JSON Lines or CEF", required: []string{"config"}, define: defineAuditExport},
		{name: "drill", summary: "a termination drill of the canaries, measured against the SLA (or --history)", required: []string{"config"}, define: defineDrill},
		{name: "evidence", summary: "the evidence pack of a period for an auditor (zip with a SHA-256 manifest)", required: []string{"config", "from", "to", "out"}, define: defineEvidence},
	}
}

// lookup finds the command args start with: "hold add" takes two words.
// It returns the command and the arguments after its name.
func lookup(args []string) (command, []string, error) {
	cmds := commands()
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], nil
		}
	}
	var subs []string
	for _, c := range cmds {
		if group, sub, ok := strings.Cut(c.name, " "); ok && group == args[0] {
			subs = append(subs, sub)
		}
	}
	if len(subs) > 0 {
		if len(args) == 1 {
			return command{}, nil, usageError{fmt.Sprintf("%s: a subcommand is required (%s)", args[0], strings.Join(subs, ", "))}
		}
		return command{}, nil, usageError{fmt.Sprintf("%s: unknown subcommand %q (%s)", args[0], args[1], strings.Join(subs, ", "))}
	}
	return command{}, nil, usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// flagSet is the command's flags, defined.
func (c command) flagSet() (*flag.FlagSet, action) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, c.define(fs)
}

// synopsis is the command's line of the usage: required flags first, in
// the table's order, then the optional ones alphabetically, in brackets.
func (c command) synopsis() string {
	fs, _ := c.flagSet()
	parts := []string{"accessrecon", c.name}
	if c.positional != "" {
		parts = append(parts, strings.ToUpper(c.positional))
	}
	for _, name := range c.required {
		if name != c.positional {
			parts = append(parts, flagWord(fs.Lookup(name)))
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(c.required, f.Name) && f.Name != c.positional {
			parts = append(parts, "["+flagWord(f)+"]")
		}
	})
	return strings.Join(parts, " ")
}

// flagWord is "--name VALUE", "--name" for a boolean flag, "-n N" for a
// one-letter one.
func flagWord(f *flag.Flag) string {
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	name, _ := flag.UnquoteUsage(f)
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return dash + f.Name
	}
	return dash + f.Name + " " + name
}

// help is the command's own help: its synopsis and every flag.
func (c command) help() string {
	fs, _ := c.flagSet()
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\n%s\n\nflags:\n", c.synopsis(), c.summary)
	fs.VisitAll(func(f *flag.Flag) {
		_, usage := flag.UnquoteUsage(f)
		req := ""
		if slices.Contains(c.required, f.Name) {
			req = " (required)"
		}
		fmt.Fprintf(&b, "  %s\n        %s%s", flagWord(f), usage, req)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}

// usage is the top-level usage text, generated from the command table.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: accessrecon <command> [flags]   (accessrecon <command> --help: its flags)\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %s\n        %s\n", c.synopsis(), c.summary)
	}
	b.WriteString("\nexit status: 0 completed, 1 failed, 2 usage, 3 completed with a guard tripped\n")
	return b.String()
}

// parse parses the command's flags and checks the required ones. A --help
// returns flag.ErrHelp.
func (c command) parse(args []string) (action, error) {
	fs, act := c.flagSet()
	var arg []string
	if c.positional != "" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		arg, args = args[:1], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, usageError{c.name + ": " + err.Error()}
	}
	if c.positional != "" && arg == nil && fs.NArg() == 1 {
		arg = fs.Args()
	} else if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("%s: unexpected argument %q", c.name, fs.Arg(0))}
	}
	if arg != nil {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == c.positional })
		if given {
			return nil, usageError{fmt.Sprintf("%s: %s given twice (%q and --%s %s)", c.name, strings.ToUpper(c.positional), arg[0], c.positional, fs.Lookup(c.positional).Value)}
		}
		if err := fs.Set(c.positional, arg[0]); err != nil {
			return nil, usageError{fmt.Sprintf("%s: %s %q: %v", c.name, strings.ToUpper(c.positional), arg[0], err)}
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	for _, name := range c.required {
		switch {
		case set[name]:
		case name == c.positional:
			missing = append(missing, strings.ToUpper(name))
		default:
			missing = append(missing, "--"+name)
		}
	}
	switch len(missing) {
	case 0:
		return act, nil
	case 1:
		return nil, usageError{c.name + ": " + missing[0] + " is required"}
	}
	return nil, usageError{c.name + ": " + strings.Join(missing, ", ") + " are required"}
}

// durationValue is a flag taking durations as the config writes them:
// 90s, 10m, 36h, 2d, 1d12h.
type durationValue time.Duration

func (d *durationValue) String() string {
	if d == nil || *d == 0 {
		return "0s"
	}
	return time.Duration(*d).String()
}

func (d *durationValue) Set(s string) error {
	v, err := reconcile.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// fileList is a repeatable flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }
