package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/cmdline"
)

// Every command's --help exits 0 and lists the command's flags on stdout
// (issue 10 item 10: `run --help` exited 2 with "flag: help requested",
// `findings --help` showed no flags).
func TestHelpListsEachCommandsFlags(t *testing.T) {
	for _, c := range commands() {
		fs, _ := c.FlagSet()
		args := append(strings.Fields(c.Name), "--help")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Errorf("%s: exit %d, stderr %q", strings.Join(args, " "), code, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), "help requested") {
			t.Errorf("%s: %q", strings.Join(args, " "), stdout.String()+stderr.String())
		}
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			if !strings.Contains(stdout.String(), cmdline.FlagWord(f)) {
				t.Errorf("%s --help does not show %s:\n%s", c.Name, cmdline.FlagWord(f), stdout.String())
			}
		})
		if n == 0 && c.Name != "audit verify" {
			t.Errorf("%s: no flags defined", c.Name)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != exitOK || stdout.String() != usage() {
		t.Errorf("--help: exit %d, stdout %q", code, stdout.String())
	}
}

// --wait takes days like the config (issue 10 item 10: `--wait 2d` was
// refused).
func TestWaitTakesDays(t *testing.T) {
	c, rest, err := lookup([]string{"run", "--config", "x.yaml", "--wait", "2d"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Parse(rest); err != nil {
		t.Fatalf("run --wait 2d: %v", err)
	}
	if _, err := c.Parse([]string{"--config", "x.yaml", "--wait", "soon"}); err == nil {
		t.Fatal("run --wait soon was accepted")
	}
}

// An unknown subcommand is refused (exit 2) before anything is opened: the
// store is not created (issue 10 item 10).
func TestUnknownSubcommandCreatesNothing(t *testing.T) {
	_, config := smallSetup(t, "")
	dir := filepath.Dir(config)
	for _, args := range [][]string{{"hold", "bogus", "--config", config}, {"audit", "bogus", "--config", config}, {"hold"}, {"bogus"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "accessrecon.db")); err == nil {
			t.Fatalf("%v created the store before refusing", args)
		}
	}
}

// The README's command list is the usage generated from the command table.
func TestREADMECommandsMatchUsage(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Commands\n")
	if !ok {
		t.Fatal("README.md has no ## Commands section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var got []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "    accessrecon ") {
			got = append(got, strings.TrimPrefix(line, "    "))
		}
	}
	var want []string
	for _, c := range commands() {
		want = append(want, c.Synopsis())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md ## Commands:\n%s\n\nusage generated from the command table:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Commands that change what a store holds refuse a config whose store does
// not exist yet, creating none: a rejected command leaves nothing behind.
func TestStoreChangesNeedAStore(t *testing.T) {
	_, config := smallSetup(t, "")
	dir := filepath.Dir(config)
	for _, args := range [][]string{
		{"hold", "add", "--config", config, "--target", "vpn", "--account", "a", "--reason", "r", "--until", "2099-01-01", "--by", "me"},
		{"hold", "approve", "1", "--config", config, "--by", "me"},
		{"hold", "remove", "--config", config, "--id", "1", "--by", "me"},
		{"exempt", "add", "--config", config, "--target", "vpn", "--account", "a", "--reason", "r", "--until", "2099-01-01", "--by", "me"},
		{"exempt", "approve", "1", "--config", config, "--by", "me"},
		{"exempt", "remove", "--config", config, "--id", "1", "--by", "me"},
		{"ack", "0123456789abcdef", "--config", config, "--step", "revoke_sessions", "--by", "me"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitFail || !strings.Contains(stderr.String(), "no store at") {
			t.Errorf("%v: exit %d, want 1 naming the missing store: %s", args, code, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "accessrecon.db")); err == nil {
			t.Fatalf("%v created the store", args)
		}
	}
}
