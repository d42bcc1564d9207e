// Package cmdline is accessrecon's command line over the standard
// library's flag package: one FlagSet per command of a table, from which
// the synopsis, the help and the usage text are generated.
package cmdline

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

// UsageError is a command-line mistake (exit 2).
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Action runs a command once its flags are parsed.
type Action func(ctx context.Context, stdout, stderr io.Writer) (int, error)

// Command is one line of the command table.
type Command struct {
	Name    string // "run", "hold add"
	Summary string
	// Required flags, in the order the synopsis shows them.
	Required []string
	// Positional, when set, is the flag the command's one argument fills
	// ("ack FINGERPRINT" sets --fingerprint); the synopsis shows it first.
	Positional string
	// Define declares the command's flags on fs and returns its action.
	Define func(fs *flag.FlagSet) Action
}

// Lookup finds the command args start with: "hold add" takes two words.
// It returns the command and the arguments after its name.
func Lookup(cmds []Command, args []string) (Command, []string, error) {
	for _, c := range cmds {
		words := strings.Fields(c.Name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], nil
		}
	}
	var subs []string
	for _, c := range cmds {
		if group, sub, ok := strings.Cut(c.Name, " "); ok && group == args[0] {
			subs = append(subs, sub)
		}
	}
	if len(subs) > 0 {
		if len(args) == 1 {
			return Command{}, nil, UsageError{fmt.Sprintf("%s: a subcommand is required (%s)", args[0], strings.Join(subs, ", "))}
		}
		return Command{}, nil, UsageError{fmt.Sprintf("%s: unknown subcommand %q (%s)", args[0], args[1], strings.Join(subs, ", "))}
	}
	return Command{}, nil, UsageError{fmt.Sprintf("unknown command %q", args[0])}
}

// FlagSet is the command's flags, defined.
func (c Command) FlagSet() (*flag.FlagSet, Action) {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, c.Define(fs)
}

// Synopsis is the command's line of the usage: required flags first, in
// the table's order, then the optional ones alphabetically, in brackets.
func (c Command) Synopsis() string {
	fs, _ := c.FlagSet()
	parts := []string{"accessrecon", c.Name}
	if c.Positional != "" {
		parts = append(parts, strings.ToUpper(c.Positional))
	}
	for _, name := range c.Required {
		if name != c.Positional {
			parts = append(parts, FlagWord(fs.Lookup(name)))
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(c.Required, f.Name) && f.Name != c.Positional {
			parts = append(parts, "["+FlagWord(f)+"]")
		}
	})
	return strings.Join(parts, " ")
}

// FlagWord is "--name VALUE", "--name" for a boolean flag, "-n N" for a
// one-letter one.
func FlagWord(f *flag.Flag) string {
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

// Help is the command's own help: its synopsis and every flag.
func (c Command) Help() string {
	fs, _ := c.FlagSet()
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\n%s\n\nflags:\n", c.Synopsis(), c.Summary)
	fs.VisitAll(func(f *flag.Flag) {
		_, usage := flag.UnquoteUsage(f)
		req := ""
		if slices.Contains(c.Required, f.Name) {
			req = " (required)"
		}
		fmt.Fprintf(&b, "  %s\n        %s%s", FlagWord(f), usage, req)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}

// Usage is the top-level usage text, generated from the command table.
func Usage(cmds []Command) string {
	var b strings.Builder
	b.WriteString("usage: accessrecon <command> [flags]   (accessrecon <command> --help: its flags)\n\ncommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %s\n        %s\n", c.Synopsis(), c.Summary)
	}
	b.WriteString("\nexit status: 0 completed, 1 failed, 2 usage, 3 completed with a guard tripped\n")
	return b.String()
}

// Parse parses the command's flags and checks the required ones. A --help
// returns flag.ErrHelp.
func (c Command) Parse(args []string) (Action, error) {
	fs, act := c.FlagSet()
	var arg []string
	if c.Positional != "" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		arg, args = args[:1], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, UsageError{c.Name + ": " + err.Error()}
	}
	if c.Positional != "" && arg == nil && fs.NArg() == 1 {
		arg = fs.Args()
	} else if fs.NArg() > 0 {
		return nil, UsageError{fmt.Sprintf("%s: unexpected argument %q", c.Name, fs.Arg(0))}
	}
	if arg != nil {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == c.Positional })
		if given {
			return nil, UsageError{fmt.Sprintf("%s: %s given twice (%q and --%s %s)", c.Name, strings.ToUpper(c.Positional), arg[0], c.Positional, fs.Lookup(c.Positional).Value)}
		}
		if err := fs.Set(c.Positional, arg[0]); err != nil {
			return nil, UsageError{fmt.Sprintf("%s: %s %q: %v", c.Name, strings.ToUpper(c.Positional), arg[0], err)}
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	for _, name := range c.Required {
		switch {
		case set[name]:
		case name == c.Positional:
			missing = append(missing, strings.ToUpper(name))
		default:
			missing = append(missing, "--"+name)
		}
	}
	switch len(missing) {
	case 0:
		return act, nil
	case 1:
		return nil, UsageError{c.Name + ": " + missing[0] + " is required"}
	}
	return nil, UsageError{c.Name + ": " + strings.Join(missing, ", ") + " are required"}
}

// Duration is a flag taking durations as the config writes them:
// 90s, 10m, 36h, 2d, 1d12h.
type Duration time.Duration

func (d *Duration) String() string {
	if d == nil || *d == 0 {
		return "0s"
	}
	return time.Duration(*d).String()
}

func (d *Duration) Set(s string) error {
	v, err := reconcile.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// FileList is a repeatable flag.
type FileList []string

func (f *FileList) String() string     { return strings.Join(*f, ",") }
func (f *FileList) Set(v string) error { *f = append(*f, v); return nil }
