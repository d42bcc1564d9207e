package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Issue 10 items 1 and 2: validate checks every account reference (config
// exemptions and approvals, the store's holds) against its target's last
// collection — none or several accounts is an error naming the key and line
// — and warns of baseline group names no account holds, with the closest
// names. Before any collection it warns and creates no store.
func TestValidateChecksReferencesAgainstLastCollection(t *testing.T) {
	dir := t.TempDir()
	if err := demo.New(dir).WriteDay(1); err != nil {
		t.Fatal(err)
	}
	body := demo.Config
	for _, r := range [][2]string{
		{"    ENG:   {directory: [staff, eng]}", "    ENG:   {directory: [Staff, enginering]}"},
		{"    - {target: directory, account_id: u0004, approver: ciso@example.com, reason: on-call administrator}\n",
			"    - {target: directory, account_id: u0004, approver: ciso@example.com, reason: on-call administrator}\n" +
				"    - {target: directory, account_id: shared@example.com, approver: ciso@example.com, reason: shared mailbox}\n"},
		{"approver: cfo@example.com, expires: 2026-12-31}\n", "approver: cfo@example.com, expires: 2026-12-31}\n" +
			"    - {target: directory, account_id: GIVEN5, owner: it@example.com, reason: r, approver: ciso@example.com, expires: 2030-01-01}\n" +
			"    - {target: directory, account_id: givem12, owner: it@example.com, reason: r, approver: ciso@example.com, expires: 2030-01-01}\n"},
	} {
		if !strings.Contains(body, r[0]) {
			t.Fatalf("the demo config has no %q", r[0])
		}
		body = strings.Replace(body, r[0], r[1], 1)
	}
	cfg := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	lineOf := func(s string) int {
		for i, l := range strings.Split(body, "\n") {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		t.Fatalf("no line with %q", s)
		return 0
	}

	// No collection yet: warnings, exit 0, no store created.
	code, out, errs := cliRun("validate", "--config", cfg)
	if code != exitOK || !strings.Contains(errs, "warning: targets[0] (directory): no complete collection in the store yet: 4 account reference(s) and 16 group name(s)") {
		t.Fatalf("validate before any run: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "accessrecon.db")); err == nil {
		t.Fatal("validate created the store")
	}

	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE users SET mail = 'shared@example.com' WHERE id IN ('u0020', 'u0021')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A good run with the demo's own config; the run would refuse the bad
	// references too (reconcile.RefError), and a failed run is no
	// collection to check against.
	if err := os.WriteFile(cfg, []byte(demo.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cliRun("run", "--config", cfg, "--mode", "report", "--as-of", demo.Day1.Format(time.RFC3339), "--out", filepath.Join(dir, "out")); code != exitOK && code != exitGuard {
		t.Fatalf("report run: exit %d %s", code, errs)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := st.LastCollection(context.Background(), "directory"); err != nil || id == 0 {
		t.Fatalf("the run stored no collection of directory (%v): nothing to check against", err)
	}
	hold, err := st.AddHold(context.Background(), store.Hold{Target: "directory", AccountID: "nobody", Reason: "r", Until: time.Now().Add(time.Hour), CreatedBy: "x", CreatedAt: time.Now()})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs = cliRun("validate", "--config", cfg)
	if code != exitFail {
		t.Fatalf("validate with bad references: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		fmt.Sprintf(`error: %s:%d: policy.privileged_approved[1].account_id: "shared@example.com" names 2 accounts on target directory at its last collection (run 1): u0020 (`, cfg, lineOf("account_id: shared@example.com")),
		fmt.Sprintf(`error: %s:%d: policy.exemptions[3].account_id: "givem12" names no account on target directory at its last collection (run 1): write the account's ID, username, email or DN (did you mean given12`, cfg, lineOf("account_id: givem12")),
		fmt.Sprintf(`error: hold %d (accessrecon hold list): "nobody" names no account on target directory`, hold),
		fmt.Sprintf(`warning: %s:%d: policy.roles.ENG.directory[1]: group "enginering" is held by no account on target directory at its last collection (run 1): did you mean eng?`, cfg, lineOf("ENG:")),
		"3 account reference(s) do not name exactly one account",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate does not say %q:\n%s", want, errs)
		}
	}
	for _, bad := range []string{"GIVEN5", `"Staff"`, "vpn-0030", "u0004"} {
		if strings.Contains(errs, bad) {
			t.Errorf("validate complains of %s, which is fine:\n%s", bad, errs)
		}
	}
}
