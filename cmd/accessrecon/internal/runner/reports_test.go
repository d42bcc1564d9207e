package runner

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/jira"
)

// Jira work kept in the store survives the process: saved ops come back,
// a newer op replaces an older one, sent ops go, and ticket keys land on the
// fingerprint's state.
func TestJiraOutboxInStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := jiraOutbox{st}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if err := out.Save(ctx, []jira.Op{{ID: "fp1", Fingerprint: "fp1", Want: jira.WantOpen, Summary: "first", Queued: now},
		{ID: "fp2", Fingerprint: "fp2", Want: jira.WantOpen, Summary: "other", Queued: now}}); err != nil {
		t.Fatal(err)
	}
	if err := out.Save(ctx, []jira.Op{{ID: "fp1", Fingerprint: "fp1", Want: jira.WantClosed, Comment: "gone", Queued: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	ops, err := out.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].ID != "fp1" || ops[0].Want != jira.WantClosed || ops[0].Comment != "gone" || !ops[0].Queued.Equal(now.Add(time.Hour)) {
		t.Fatalf("pending after replace: %+v", ops)
	}
	if err := out.Done(ctx, "fp1"); err != nil {
		t.Fatal(err)
	}
	if ops, _ = out.Pending(ctx); len(ops) != 1 || ops[0].ID != "fp2" {
		t.Fatalf("pending after done: %+v", ops)
	}
}
