package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gen --day N writes day N of the series into the same directory (the
// store beside it stays) and says the date to run it as of.
func TestGenDay(t *testing.T) {
	dir := t.TempDir()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gen := func(day string) string {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"gen", "--people", "20000", "--targets", "1", "--out", dir, "--day", day}, &stdout, &stderr); code != exitOK {
			t.Fatalf("gen --day %s: exit %d: %s", day, code, stderr.String())
		}
		return stdout.String()
	}
	out1 := gen("1")
	day1 := read("app00.csv")
	out2 := gen("2")
	day2 := read("app00.csv")
	if !strings.Contains(out1, "--as-of 2026-11-25") || !strings.Contains(out2, "--as-of 2026-11-26") {
		t.Fatalf("gen does not say the day's date:\n%s%s", out1, out2)
	}
	l1, l2 := strings.Split(day1, "\n"), strings.Split(day2, "\n")
	if len(l2) != len(l1)+2 { // two joiners at 20,000 people
		t.Fatalf("day 2 has %d lines, day 1 %d: want the 2 joiners' accounts more", len(l2), len(l1))
	}
	changed := 0
	for i := range l1 {
		if l1[i] != l2[i] {
			changed++
		}
	}
	if changed < 5 || changed > 40 { // 0.1% of ~19,700 accounts
		t.Fatalf("%d of %d lines changed from day 1 to day 2, want about 0.1%%", changed, len(l1))
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"gen", "--out", dir, "--day", "0"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("gen --day 0: exit %d, want usage (%d)", code, exitUsage)
	}
}

// gen --shuffled writes the same lines in another order.
func TestGenShuffled(t *testing.T) {
	lines := func(args ...string) []string {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"gen", "--people", "300", "--targets", "1", "--out", dir}, args...), &stdout, &stderr); code != exitOK {
			t.Fatalf("gen %v: exit %d: %s", args, code, stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, "app00.csv"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	inOrder, shuffled := lines(), lines("--shuffled")
	if slices.Equal(inOrder, shuffled) {
		t.Fatal("gen --shuffled wrote the accounts in ID order")
	}
	if inOrder[0] != shuffled[0] {
		t.Fatalf("header %q, want %q", shuffled[0], inOrder[0])
	}
	slices.Sort(inOrder)
	slices.Sort(shuffled)
	if !slices.Equal(inOrder, shuffled) {
		t.Fatal("gen --shuffled wrote other accounts")
	}
}
