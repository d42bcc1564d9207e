package main

import (
	"context"
	"os"
	"runtime/debug"
	"testing"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/memlimit"
)

// Without GOMEMLIMIT, main's context carries a memory budget that sets the
// ceiling; with it, the limit GOMEMLIMIT gave stands and no run resizes it.
func TestMemoryBudgetUnlessGOMEMLIMIT(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(123 << 20)
	if b := memlimit.FromContext(withMemoryBudget(context.Background())); b != nil {
		t.Fatal("a budget though GOMEMLIMIT is set")
	}
	if got := debug.SetMemoryLimit(-1); got != 123<<20 {
		t.Fatalf("limit %d, want GOMEMLIMIT's left alone", got)
	}

	os.Unsetenv("GOMEMLIMIT") // t.Setenv restores it after the test
	b := memlimit.FromContext(withMemoryBudget(context.Background()))
	if b == nil {
		t.Fatal("no budget without GOMEMLIMIT")
	}
	if got := debug.SetMemoryLimit(-1); got != b.Limit() || got < 1<<30 {
		t.Fatalf("limit %d, want the budget's ceiling %d (at least 1 GiB)", got, b.Limit())
	}
}
