package drill

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// moving takes the old role's groups the new role does not allow, and
// refuses a move that could show nothing.
func TestMovingGroups(t *testing.T) {
	roles := map[string]map[string][]string{"SALES": {"app": {"staff", "Sales"}}, "ENG": {"app": {"staff"}}}
	c := config.CanaryConfig{EmployeeID: "C-1", JobCode: "SALES", MoveTo: "ENG"}
	a := targets.Account{ID: "A1", Groups: []targets.Group{{ID: "g-staff", Name: "staff"}, {ID: "g-sales", Name: "sales"}, {ID: "g-other", Name: "other"}}}
	got, err := moving(roles, c, "app", a)
	if err != nil || len(got) != 1 || !got["g-sales"] {
		t.Fatalf("moving = %v, %v; want g-sales only", got, err)
	}
	if _, err := moving(roles, c, "vpn", a); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "gives role ENG no groups on vpn") {
		t.Errorf("no baseline of the new role: %v", err)
	}
	a.Groups = a.Groups[:1]
	if _, err := moving(roles, c, "app", a); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "a move would take nothing") {
		t.Errorf("no group to take: %v", err)
	}
}

// checkMove fails a move that left the old role's group, took another
// group, disabled the account or did something else; it passes exactly
// the removal of the old role's groups.
func TestCheckMove(t *testing.T) {
	staff, sales := targets.Group{ID: "g-staff", Name: "staff"}, targets.Group{ID: "g-sales", Name: "sales"}
	before := targets.Account{ID: "A1", Username: "canary1", Enabled: true, Groups: []targets.Group{staff, sales}}
	removeSales := []store.DrillStep{{Op: "remove_from_group", Arg: "g-sales", Status: "done", Verified: true}}
	for _, c := range []struct {
		name   string
		after  targets.Account
		steps  []store.DrillStep
		want   []string // problems, in order
		remark string
	}{
		{name: "right", after: targets.Account{ID: "A1", Enabled: true, Groups: []targets.Group{staff}}, steps: removeSales},
		{name: "old group kept", after: before, steps: nil, want: []string{"still in group sales of the old role"}},
		{name: "new group taken", after: targets.Account{ID: "A1", Enabled: true}, steps: append(removeSales, store.DrillStep{Op: "remove_from_group", Arg: "g-staff"}),
			want: []string{"a move must only take the old role's groups, yet the run did remove_from_group g-staff", "lost group staff, which the move must leave"}},
		{name: "disabled", after: targets.Account{ID: "A1", Groups: []targets.Group{staff}}, steps: append(removeSales, store.DrillStep{Op: "disable"}),
			want: []string{"a move must only take the old role's groups, yet the run did disable", "the account was disabled: a move must leave it enabled"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := targettest.NewFake(c.after)
			k := canary{target: "app", before: before, t: f, moving: map[string]bool{"g-sales": true}}
			got, remark := checkMove(context.Background(), k, c.steps)
			if strings.Join(got, "|") != strings.Join(c.want, "|") || remark != c.remark {
				t.Errorf("problems %q, remark %q; want %q, %q", got, remark, c.want, c.remark)
			}
		})
	}
	// Nothing else held: the check passes, and says what it could not show.
	only := targets.Account{ID: "A1", Enabled: true, Groups: []targets.Group{sales}}
	f := targettest.NewFake(targets.Account{ID: "A1", Enabled: true})
	got, remark := checkMove(context.Background(), canary{target: "app", before: only, t: f, moving: map[string]bool{"g-sales": true}}, removeSales)
	if len(got) != 0 || !strings.Contains(remark, "nothing showed that the new role's groups stay") {
		t.Errorf("problems %q, remark %q", got, remark)
	}
}
