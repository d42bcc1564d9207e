package drill

import (
	"context"
	"errors"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/targets"
)

// recorder is a target that can restore and records every call it gets.
type recorder struct{ calls []string }

func (r *recorder) Accounts(context.Context) iter.Seq2[targets.Account, error] {
	return func(func(targets.Account, error) bool) {}
}
func (r *recorder) Enable(_ context.Context, a targets.Account) error {
	r.calls = append(r.calls, "enable "+a.ID)
	return nil
}
func (r *recorder) AddToGroup(_ context.Context, a targets.Account, g targets.Group) error {
	r.calls = append(r.calls, "add "+a.ID+" "+g.ID)
	return nil
}

// The restoring capabilities reach the canary accounts and nothing else:
// another account (even one with the canary's username or email) is refused
// before the target is called.
func TestCanaryRestorerRefusesEveryOtherAccount(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	canary := targets.Account{ID: "c-1", Username: "canary1", Email: "canary1@example.com"}
	g := NewCanaryRestorer("app", rec, []targets.Account{canary})
	others := []targets.Account{
		{ID: "u-7", Username: "ann"},
		{ID: "u-8", Username: "canary1", Email: "canary1@example.com"}, // same name, another account
		{ID: ""},
		{ID: "C-1"}, // IDs are exact
	}
	for _, a := range others {
		if err := g.Enable(ctx, a); !errors.Is(err, ErrNotCanary) {
			t.Errorf("Enable(%q): %v, want ErrNotCanary", a.ID, err)
		}
		if err := g.AddToGroup(ctx, a, targets.Group{ID: "admins", Name: "admins"}); !errors.Is(err, ErrNotCanary) {
			t.Errorf("AddToGroup(%q): %v, want ErrNotCanary", a.ID, err)
		}
	}
	if len(rec.calls) != 0 {
		t.Fatalf("the target was called for accounts that are not canaries: %v", rec.calls)
	}
	if err := g.Enable(ctx, canary); err != nil {
		t.Fatal(err)
	}
	if err := g.AddToGroup(ctx, canary, targets.Group{ID: "staff", Name: "staff"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"enable c-1", "add c-1 staff"}; len(rec.calls) != 2 || rec.calls[0] != want[0] || rec.calls[1] != want[1] {
		t.Fatalf("calls %v, want %v", rec.calls, want)
	}
	// A restorer made with no canaries refuses everything.
	empty := NewCanaryRestorer("app", rec, nil)
	if err := empty.Enable(ctx, canary); !errors.Is(err, ErrNotCanary) {
		t.Fatalf("no canaries: %v", err)
	}
}

// CanaryRestorer is the one way in: no other non-test Go file of cmd or
// reconcile resolves the restoring capabilities, and only this package
// (through its CanaryRestorer) calls them.
func TestRestoringCapabilitiesOnlyThroughTheGuard(t *testing.T) {
	resolves := []string{"ResolveRestorers(", "targets.Enabler", "targets.GroupAdder", "CanEnable", "CanAddToGroup"}
	calls := []string{".AddToGroup(", ".Enable("}
	for _, root := range []string{"../..", "../../../../reconcile"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			inDrill := filepath.Base(filepath.Dir(path)) == "drill"
			if inDrill && filepath.Base(path) == "guard.go" {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			uses := resolves
			if !inDrill {
				uses = append(uses, calls...)
			}
			for _, u := range uses {
				if strings.Contains(string(b), u) {
					t.Errorf("%s uses %s: restoring goes through drill.CanaryRestorer only", path, u)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
