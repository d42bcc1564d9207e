package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The demo's SQLite store (two days, enforced on the directory, with a
// hold and an approved exemption added) is copied into a new PostgreSQL
// store: the stores list the same runs, holds, exemptions, findings and
// revocations against the SLA, and the copied audit trail (its oldest
// records trimmed first, as retention does) verifies. A
// third day is run in report mode on each: the two runs find the same (the
// same first-seen dates, the same run number). A second copy into the filled store
// is refused and changes nothing; so is a copy while a run holds the SQLite
// store's lock, and a --from that is not there.
func TestStoreCopyToPostgres(t *testing.T) {
	t.Setenv("ACCESSRECON_TEST_STORE", pgStoreDSN(t))
	dir := copyDir(t, demoTemplate(t))
	sqliteCfg := filepath.Join(dir, "schedule.yaml")
	b, err := os.ReadFile(sqliteCfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\nstore: accessrecon.db\n")) {
		t.Fatal("the demo's schedule.yaml no longer says store: accessrecon.db")
	}
	pgCfg := filepath.Join(dir, "schedule-pg.yaml")
	if err := os.WriteFile(pgCfg, bytes.Replace(b, []byte("\nstore: accessrecon.db\n"), []byte("\nstore_env: ACCESSRECON_TEST_STORE\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	do := func(want int, cfg string, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, "--config", cfg), &out, &errb); code != want {
			t.Fatalf("%s: exit %d, want %d: %s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	until := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	do(exitOK, sqliteCfg, "hold", "add", "--target", "vpn", "--account", "vpn-0001", "--reason", "legal hold", "--until", until, "--by", "it@example.com")
	do(exitOK, sqliteCfg, "exempt", "add", "--target", "crm", "--account", "crm-0002", "--reason", "contractor handover", "--until", until, "--by", "it@example.com")
	do(exitOK, sqliteCfg, "exempt", "approve", "1", "--by", "ciso@example.com")

	// Refused: a --from that is not there (no store is made of it), a
	// config whose store is SQLite, a run holding the SQLite store.
	missing := filepath.Join(dir, "nothing.db")
	if _, e := do(exitFail, pgCfg, "store", "copy", "--from", missing); !strings.Contains(e, missing) {
		t.Errorf("a missing --from: %s", e)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a store was made of the missing --from: %v", err)
	}
	do(exitUsage, sqliteCfg, "store", "copy", "--from", filepath.Join(dir, "accessrecon.db"))
	src, err := store.Open(ctx, filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	other := store.LockHolder{Token: "t-other", Host: "another-host", PID: 1, Purpose: "accessrecon run"}
	if got, _, _, err := src.TryLock(ctx, store.RunLock, other, store.LockPolicy{Stale: time.Hour}); err != nil || !got {
		t.Fatalf("lock the SQLite store: %v %v", got, err)
	}
	if _, e := do(exitFail, pgCfg, "store", "copy", "--from", filepath.Join(dir, "accessrecon.db")); !strings.Contains(e, "a run is in progress") {
		t.Errorf("a copy while a run holds the SQLite store: %s", e)
	}
	if err := src.Unlock(ctx, store.RunLock, other.Token); err != nil {
		t.Fatal(err)
	}
	// A trail whose oldest records retention trimmed: it starts on a
	// record whose previous hash is not the zero one.
	trail := src.Audit("")
	var cut time.Time
	if err := trail.Records(ctx, 0, func(r store.AuditRecord) error {
		if r.Seq == 40 {
			cut = r.At
		}
		return nil
	}); err != nil || cut.IsZero() {
		t.Fatalf("no audit record 40 to trim before (%v)", err)
	}
	if n, err := trail.Trim(ctx, cut); err != nil || n == 0 {
		t.Fatalf("trim: %d removed, %v", n, err)
	}
	src.Close()
	if h, _ := do(exitOK, pgCfg, "history"); strings.Contains(h, "completed") {
		t.Fatalf("a refused copy left runs in the PostgreSQL store:\n%s", h)
	}

	out, _ := do(exitOK, pgCfg, "store", "copy", "--from", filepath.Join(dir, "accessrecon.db"))
	for _, want := range []string{"runs ", "account_versions ", "audit ", "holds ", "the audit trail verifies"} {
		if !strings.Contains(out, want) {
			t.Errorf("store copy's output lacks %q:\n%s", want, out)
		}
	}
	if v, _ := do(exitOK, pgCfg, "audit", "verify"); !strings.Contains(v, "audit trail intact") {
		t.Errorf("audit verify on the copy: %s", v)
	}

	// The stores read the same. Times lose their fraction of a second:
	// PostgreSQL keeps microseconds, SQLite nanoseconds.
	frac := regexp.MustCompile(`(\d\d:\d\d:\d\d)\.\d+`)
	same := func(args ...string) {
		t.Helper()
		a, _ := do(exitOK, sqliteCfg, args...)
		p, _ := do(exitOK, pgCfg, args...)
		if a, p = frac.ReplaceAllString(a, "$1"), frac.ReplaceAllString(p, "$1"); a != p {
			t.Errorf("%s differs:\nSQLite:     %s\nPostgreSQL: %s", strings.Join(args, " "), a, p)
		}
		if len(a) < 20 {
			t.Errorf("%s printed almost nothing: %q", strings.Join(args, " "), a)
		}
	}
	same("history", "--json")
	same("hold", "list", "--all", "--json")
	same("exempt", "list", "--all", "--json")
	same("findings", "--all", "--json")
	same("sla", "--json")

	// Day three (the same exports, a day later) in report mode on each.
	outSQLite, outPG := t.TempDir(), t.TempDir()
	do(exitOK, sqliteCfg, "run", "--mode", "report", "--as-of", "2026-11-26T06:00:00Z", "--out", outSQLite)
	do(exitOK, pgCfg, "run", "--mode", "report", "--as-of", "2026-11-26T06:00:00Z", "--out", outPG)
	a, p := findingsPart(t, outSQLite), findingsPart(t, outPG)
	if a != p {
		t.Errorf("day three's findings differ:\nSQLite:\n%s\nPostgreSQL:\n%s", a, p)
	}
	for _, want := range []string{`"first_seen":"2026-11-24T06:00:00Z"`, `"id":3,`} {
		if !strings.Contains(a, want) {
			t.Errorf("day three's findings.json lacks %s", want)
		}
	}
	runs := func() int {
		h, _ := do(exitOK, pgCfg, "history", "--json")
		return strings.Count(h, `"AsOf"`)
	}
	if n := runs(); n != 3 {
		t.Errorf("%d runs in the PostgreSQL store after day three, want 3", n)
	}

	// Copying again is refused: the store is no longer empty.
	if _, e := do(exitFail, pgCfg, "store", "copy", "--from", filepath.Join(dir, "accessrecon.db")); !strings.Contains(e, "not empty") {
		t.Errorf("a second copy: %s", e)
	}
	if n := runs(); n != 3 {
		t.Errorf("%d runs in the PostgreSQL store after a refused copy, want 3", n)
	}
}

// findingsPart is findings.json's findings and its run's number, as
// outDir's findings.json says them.
func findingsPart(t *testing.T, outDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(outDir, "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n\"run\": ")
	if i < 0 {
		t.Fatalf("findings.json has no run: %.200s", s)
	}
	id := regexp.MustCompile(`^\{"id":\d+,`).FindString(s[i+len("\n\"run\": "):])
	return s[:i] + "\n" + id
}

// A SQLite trail that was tampered with is copied as it was (the copy
// launders nothing) and the copy says that it does not verify, exit 1.
func TestStoreCopyOfATamperedTrail(t *testing.T) {
	t.Setenv("ACCESSRECON_TEST_STORE", pgStoreDSN(t))
	_, pgCfg := pgDemo(t, "")
	from := filepath.Join(demoTemplate(t), "accessrecon.db")
	dir := t.TempDir()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	from = filepath.Join(dir, "accessrecon.db")
	if err := os.WriteFile(from, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+from)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'someone else' WHERE seq = 5`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"store", "copy", "--config", pgCfg, "--from", from}, &out, &errb); code != exitFail ||
		!strings.Contains(errb.String(), "does not verify") {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"audit", "verify", "--config", pgCfg}, &out, &errb); code == exitOK {
		t.Errorf("audit verify on the copy of a tampered trail: exit 0: %s", out.String())
	}
}
