package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// A directory's groups are DNs with names: a baseline or privileged_groups
// entry written as the group's name or its DN is held; a misspelt one is a
// warning naming the key, its line and the closest names; a reference by DN
// resolves.
func TestCheckReferencesDirectoryGroups(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	body := `sources: [{name: hr, type: csv, config: {path: hr.csv}}]
targets:
  - name: ad
    type: ldap
    config:
      privileged_groups:
        - Domain Admins
        - "CN=Engineering,OU=Groups,DC=corp,DC=example"
        - Domian Admins
policy:
  roles:
    ENG: {ad: [engineering, VPN Users]}
  exemptions:
    - {target: ad, account_id: "cn=noura aziz,ou=staff,dc=corp,dc=example", owner: o, reason: r, approver: a, expires: 2030-01-01}
`
	path := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(body), path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	id, err := st.BeginRun(ctx, store.Run{AsOf: now, StartedAt: now, Mode: "report", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	eng := targets.Group{ID: "CN=Engineering,OU=Groups,DC=corp,DC=example", Name: "Engineering"}
	admins := targets.Group{ID: "CN=Domain Admins,CN=Users,DC=corp,DC=example", Name: "Domain Admins"}
	vpn := targets.Group{ID: "CN=VPN-Users,OU=Groups,DC=corp,DC=example", Name: "VPN-Users"}
	if err := st.SaveAccounts(ctx, id, "ad", []targets.Account{
		{ID: "guid-1", Username: "noura.aziz", DN: "CN=Noura Aziz,OU=Staff,DC=corp,DC=example", Groups: []targets.Group{eng, vpn}},
		{ID: "guid-2", Username: "admin", DN: "CN=admin,CN=Users,DC=corp,DC=example", Groups: []targets.Group{admins}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishAccounts(ctx, id, "ad", true); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveCollection(ctx, store.Collection{RunID: id, Side: "target", Name: "ad", Type: "ldap", Status: "ok", StartedAt: now.Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(store.Run{ID: id, AsOf: now, StartedAt: now, FinishedAt: now, Mode: "report", Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	got, err := checkReferences(ctx, cfg, st, noCollection)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.errors) != 0 {
		t.Errorf("errors: %q (the exemption names noura by DN)", got.errors)
	}
	want := []string{
		fmt.Sprintf(`%s:9: targets[0] (ad).config.privileged_groups[2]: group "Domian Admins" is held by no account on target ad at its last collection (run %d): did you mean Domain Admins?`, path, id),
		fmt.Sprintf(`%s:12: policy.roles.ENG.ad[1]: group "VPN Users" is held by no account on target ad at its last collection (run %d): did you mean VPN-Users?`, path, id),
	}
	if strings.Join(got.warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got.warnings, "\n"), strings.Join(want, "\n"))
	}
}
