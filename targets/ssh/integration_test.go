package sshtarget_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	sshtarget "github.com/accessrecon/accessrecon/targets/ssh"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConformanceSSHD(t *testing.T) {
	w, s := getWorld(t)
	cfg := w.config(t, s)
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		w.reset(t)
		return targettest.Fixture{Target: newTarget(t, cfg), Enabled: []string{"web1:" + w.alice + "/E100", "web1:" + w.bob + "/E200"}, MinAccounts: 7}
	})
}

func TestListingSSHD(t *testing.T) {
	w, s := getWorld(t)
	tg := newTarget(t, w.config(t, s))
	got, err := listAll(t, testCtx(t), tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("listed %d accounts, want alice, bob and root and the keys of E100 and E200 on them: %v", len(got), got)
	}
	// alice's Unix account: no key linked to nobody, no password: nobody else gets in.
	if a := got["web1:"+w.alice]; a.Username != w.alice || a.DisplayName != "Test "+w.alice || a.Enabled || a.EmployeeID != "" || len(a.Credentials) != 0 {
		t.Fatalf("web1:alice = %+v", a)
	}
	// Her two keys (one by the registry, one by the comment's e-mail, which
	// the registry ties to E100) are her account on it.
	alice := got["web1:"+w.alice+"/E100"]
	fi, _ := os.Stat(w.aliceFile())
	if alice.Username != "" || !alice.Enabled || alice.Privileged || alice.EmployeeID != "E100" || alice.Email != "alice@example.com" || len(alice.Credentials) != 2 {
		t.Fatalf("alice = %+v", alice)
	}
	want := map[string]string{
		w.aliceKey.fp:    `ssh-ed25519 key "alice workstation"`,
		w.aliceLaptop.fp: `ssh-ed25519 key "alice@example.com" [from="127.0.0.1",no-agent-forwarding]`,
	}
	for _, c := range alice.Credentials {
		if want[c.ID] != c.Kind || !c.Active || !c.Created.Equal(fi.ModTime().Truncate(time.Second)) {
			t.Errorf("alice credential %+v, want kind %q, active, created %s", c, want[c.ID], fi.ModTime())
		}
	}
	// bob's Unix account keeps the deploy key nobody is linked to: enabled, linked to nobody (orphaned: review).
	if b := got["web1:"+w.bob]; !b.Enabled || b.EmployeeID != "" || len(b.Credentials) != 1 || b.Credentials[0].ID != w.sharedDeploy.fp {
		t.Fatalf("web1:bob = %+v", b)
	}
	if b := got["web1:"+w.bob+"/E200"]; b.EmployeeID != "E200" || b.Email != "" || len(b.Credentials) != 1 || !b.Enabled {
		t.Fatalf("bob = %+v", b)
	}
	// root: its unlinked key stays on web1:root; alice's and bob's keys are
	// accounts of their own, linked to them, privileged as root is.
	root := got["web1:root"]
	if !root.Privileged || root.EmployeeID != "" || !root.Enabled || len(root.Credentials) != 1 || root.Credentials[0].ID != w.collector.fp {
		t.Fatalf("root = %+v", root)
	}
	for id, want := range map[string]testKey{"web1:root/E100": w.aliceKey, "web1:root/E200": w.bobKey} {
		a := got[id]
		if !a.Privileged || !a.Enabled || a.EmployeeID != id[len(id)-4:] || len(a.Credentials) != 1 || a.Credentials[0].ID != want.fp {
			t.Fatalf("%s = %+v", id, a)
		}
	}
	// Get re-reads one account; a missing user is ErrNotFound.
	a, err := tg.Account(testCtx(t), "web1:"+w.alice+"/E100")
	if err != nil || a.EmployeeID != "E100" || len(a.Credentials) != 2 {
		t.Fatalf("get alice = %+v, %v", a, err)
	}
	if _, err := tg.Account(testCtx(t), "web1:"+userPrefix+"nosuch"); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("get of a missing user: %v", err)
	}
	if _, err := tg.Account(testCtx(t), "web9:"+w.alice); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("get on an unconfigured host: %v", err)
	}
}

// TestRevokeLeaverKey: the leaver's key line goes, the file's other lines,
// owner and mode stay, a backup is beside it, the key no longer logs in, and
// a second run changes nothing.
func TestRevokeLeaverKey(t *testing.T) {
	w, s := getWorld(t)
	tg := newTarget(t, w.config(t, s))
	if err := login(s.addr, w.alice, w.aliceKey, s.hostKey); err != nil {
		t.Fatalf("before: alice's key does not log in: %v", err)
	}
	got, err := listAll(t, testCtx(t), tg)
	if err != nil {
		t.Fatal(err)
	}
	alice := got["web1:"+w.alice+"/E100"]
	bobBefore, _ := os.ReadFile(w.bobFile())
	modeBefore, uidBefore, gidBefore := stat(t, w.aliceFile())
	if uidBefore != uidOf(t, w.alice) || modeBefore != 0o600 {
		t.Fatalf("fixture: alice's file is %o owned by %d", modeBefore, uidBefore)
	}
	cred := targets.Credential{ID: w.aliceKey.fp}
	if err := tg.RevokeCredential(testCtx(t), alice, cred); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(w.aliceFile())
	wantAfter := strings.Replace(w.aliceContent(), w.aliceKey.line+" alice workstation\n", "", 1)
	if string(after) != wantAfter {
		t.Fatalf("alice's file after revoke:\n%q\nwant\n%q", after, wantAfter)
	}
	if m, u, g := stat(t, w.aliceFile()); m != modeBefore || u != uidBefore || g != gidBefore {
		t.Fatalf("mode/owner changed: %o %d:%d, was %o %d:%d", m, u, g, modeBefore, uidBefore, gidBefore)
	}
	baks, _ := filepath.Glob(w.aliceFile() + ".accessrecon-*")
	if len(baks) != 1 {
		t.Fatalf("backups: %v, want one", baks)
	}
	if b, _ := os.ReadFile(baks[0]); string(b) != w.aliceContent() {
		t.Fatalf("backup holds %q", b)
	}
	if m, u, _ := stat(t, baks[0]); m != 0o600 || u != uidBefore {
		t.Fatalf("backup is %o owned by %d", m, u)
	}
	if b, _ := os.ReadFile(w.bobFile()); string(b) != string(bobBefore) {
		t.Fatalf("bob's file changed")
	}
	if err := login(s.addr, w.alice, w.aliceKey, s.hostKey); err == nil {
		t.Fatal("after: the revoked key still logs in")
	}
	if err := login(s.addr, w.alice, w.aliceLaptop, s.hostKey); err != nil {
		t.Fatalf("after: alice's other key no longer logs in: %v", err)
	}
	if err := login(s.addr, w.bob, w.bobKey, s.hostKey); err != nil {
		t.Fatalf("after: bob no longer logs in: %v", err)
	}
	// The second run does nothing: same bytes, same mtime (nanoseconds), no new backup.
	fi1, _ := os.Stat(w.aliceFile())
	if err := tg.RevokeCredential(testCtx(t), alice, cred); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	fi2, _ := os.Stat(w.aliceFile())
	if b, _ := os.ReadFile(w.aliceFile()); string(b) != wantAfter || !fi2.ModTime().Equal(fi1.ModTime()) {
		t.Fatal("second revoke rewrote the file")
	}
	if baks, _ := filepath.Glob(w.aliceFile() + ".accessrecon-*"); len(baks) != 1 {
		t.Fatalf("second revoke made another backup: %v", baks)
	}
	a, err := tg.Account(testCtx(t), alice.ID)
	if err != nil || len(a.Credentials) != 1 || a.Credentials[0].ID != w.aliceLaptop.fp || !a.Enabled {
		t.Fatalf("re-read alice: %+v, %v", a, err)
	}
	// Revoking her last key: her account on it is gone (a re-read shows it disabled, keyless).
	if err := tg.RevokeCredential(testCtx(t), a, a.Credentials[0]); err != nil {
		t.Fatal(err)
	}
	if a, err := tg.Account(testCtx(t), alice.ID); err != nil || a.Enabled || len(a.Credentials) != 0 {
		t.Fatalf("alice without keys: %+v, %v", a, err)
	}
	if got, _ := listAll(t, testCtx(t), tg); got[alice.ID].ID != "" {
		t.Fatalf("%s still listed without keys", alice.ID)
	}
	// A missing user is ErrNotFound.
	gone := targets.Account{ID: "web1:" + userPrefix + "nosuch"}
	if err := tg.RevokeCredential(testCtx(t), gone, cred); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("revoke on a missing user: %v", err)
	}
}

func TestLockAccount(t *testing.T) {
	w, s := getWorld(t)
	tg := newTarget(t, w.config(t, s))
	a := targets.Account{ID: "web1:" + w.alice}
	for range 2 {
		if err := tg.Disable(testCtx(t), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := login(s.addr, w.alice, w.aliceLaptop, s.hostKey); err == nil {
		t.Fatal("a locked, expired account still logs in with its key")
	}
	if err := login(s.addr, w.bob, w.bobKey, s.hostKey); err != nil {
		t.Fatalf("bob no longer logs in: %v", err)
	}
	got, err := listAll(t, testCtx(t), tg)
	if err != nil {
		t.Fatal(err)
	}
	// An expired account lets no key in: her keys' account is disabled too.
	if got[a.ID].Enabled || got[a.ID+"/E100"].Enabled || !got["web1:"+w.bob+"/E200"].Enabled {
		t.Fatalf("after lock: alice %v, her keys %v, bob's keys %v", got[a.ID].Enabled, got[a.ID+"/E100"].Enabled, got["web1:"+w.bob+"/E200"].Enabled)
	}
	if err := tg.Disable(testCtx(t), targets.Account{ID: "web1:" + userPrefix + "nosuch"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("lock of a missing user: %v", err)
	}
	// On a shared account, disabling a person removes their keys and never locks root.
	rootBefore, _ := os.ReadFile(w.rootFile())
	for range 2 {
		if err := tg.Disable(testCtx(t), targets.Account{ID: "web1:root/E100"}); err != nil {
			t.Fatal(err)
		}
	}
	rootAfter, _ := os.ReadFile(w.rootFile())
	if want := strings.Replace(string(rootBefore), w.aliceKey.line+" alice-on-root\n", "", 1); string(rootAfter) != want {
		t.Fatalf("root's file after disabling alice's keys on it:\n%s", rootAfter)
	}
	if a, err := tg.Account(testCtx(t), "web1:root/E100"); err != nil || a.Enabled || len(a.Credentials) != 0 {
		t.Fatalf("alice on root after: %+v, %v", a, err)
	}
	if a, err := tg.Account(testCtx(t), "web1:root/E200"); err != nil || !a.Enabled {
		t.Fatalf("bob on root after: %+v, %v", a, err)
	}
	if a, err := tg.Account(testCtx(t), "web1:root"); err != nil || !a.Enabled {
		t.Fatalf("root after: %+v, %v", a, err)
	}
	// Without lock_accounts, Disable of a Unix account fails saying so; of a person's keys it works.
	w.reset(t)
	cfg := w.config(t, s)
	cfg.LockAccounts = false
	off := newTarget(t, cfg)
	if err := off.Disable(testCtx(t), a); err == nil || !strings.Contains(err.Error(), "lock_accounts") {
		t.Fatalf("Disable of a Unix account with lock_accounts off: %v", err)
	}
	if err := login(s.addr, w.alice, w.aliceLaptop, s.hostKey); err != nil {
		t.Fatalf("alice was locked although lock_accounts is off: %v", err)
	}
	if err := off.Disable(testCtx(t), targets.Account{ID: "web1:" + w.bob + "/E200"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(w.bobFile()); string(b) != w.sharedDeploy.line+" deploy\n" {
		t.Fatalf("bob's file after removing his keys: %q", b)
	}
}

// TestHostKeyPinning: a host presenting another key than known_hosts pins,
// or one known_hosts does not list, is not read; the other host is, and the
// listing ends with an error (the collection is partial). No action reaches
// such a host.
func TestHostKeyPinning(t *testing.T) {
	w, good := getWorld(t)
	bad := w.startSSHD(t, "web2")
	cfg := w.config(t, good, bad)
	// web2 now presents another key than the one pinned: a reinstall, or a man in the middle.
	writeFile(t, cfg.KnownHosts, knownHostsLine(good.addr, good.hostKey)+knownHostsLine(bad.addr, newKey(t)), 0o644, "")
	tg := newTarget(t, cfg)
	got, err := listAll(t, testCtx(t), tg)
	if err == nil || !strings.Contains(err.Error(), "HOST KEY CHANGED") || !strings.Contains(err.Error(), "web2") {
		t.Fatalf("listing with a changed host key: %v", err)
	}
	if len(got) != 7 {
		t.Fatalf("web1 should still be listed: %d accounts", len(got))
	}
	for id := range got {
		if strings.HasPrefix(id, "web2:") {
			t.Fatalf("account %s of the host with the changed key was listed", id)
		}
	}
	before, _ := os.ReadFile(w.aliceFile())
	err = tg.RevokeCredential(testCtx(t), targets.Account{ID: "web2:" + w.alice}, targets.Credential{ID: w.aliceKey.fp})
	if err == nil || !strings.Contains(err.Error(), "HOST KEY CHANGED") {
		t.Fatalf("revoke through a changed host key: %v", err)
	}
	if after, _ := os.ReadFile(w.aliceFile()); string(after) != string(before) {
		t.Fatal("the file changed through a host whose key changed")
	}
	// A host known_hosts does not list at all.
	writeFile(t, cfg.KnownHosts, knownHostsLine(good.addr, good.hostKey), 0o644, "")
	if _, err := listAll(t, testCtx(t), newTarget(t, cfg)); err == nil || !strings.Contains(err.Error(), "not in known_hosts") {
		t.Fatalf("listing with an unknown host: %v", err)
	}
}

// TestNotRoot: a login user without root and no sudo cannot read other
// users' files: a permission error, not an empty host.
func TestNotRoot(t *testing.T) {
	w, s := getWorld(t)
	cfg := w.config(t, s)
	cfg.User, cfg.Sudo, cfg.PrivateKey = w.alice, "none", targets.Secret(w.aliceLaptop.private)
	_, err := listAll(t, testCtx(t), newTarget(t, cfg))
	if !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("listing as a plain user: %v, want ErrPermission", err)
	}
	cfg.PrivateKey = targets.Secret(newKey(t).private) // a key the host does not know
	_, err = listAll(t, testCtx(t), newTarget(t, cfg))
	if !errors.Is(err, targets.ErrPermission) || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Fatalf("listing with an unknown key: %v", err)
	}
}

// BenchmarkListSSHD lists one host whose bob has ACCESSRECON_BENCH_KEYS keys
// (default 2000) in his authorized_keys file.
func BenchmarkListSSHD(b *testing.B) {
	n := 2000
	if v := os.Getenv("ACCESSRECON_BENCH_KEYS"); v != "" {
		fmt.Sscan(v, &n)
	}
	w, s := getWorld(b)
	b.Cleanup(func() { w.reset(b) })
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "%s key-%d@example.com\n", newKey(b).line, i)
	}
	writeFile(b, w.bobFile(), sb.String(), 0o600, w.bob)
	tg := newTarget(b, w.config(b, s))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		keys := 0
		for a, err := range tg.Accounts(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			keys += len(a.Credentials)
		}
		if keys != n+3 {
			b.Fatalf("listed %d keys, want %d", keys, n+3)
		}
	}
	b.ReportMetric(float64(n+3), "keys/op")
	b.ReportMetric(2, "ssh-sessions/op") // one connection: getent passwd+group, then the read script
}

// TestErrorsRedacted: a host whose error output echoes the collector's
// private key (plain and base64) yields an error with no trace of it.
func TestErrorsRedacted(t *testing.T) {
	w, s := getWorld(t)
	cfg := w.config(t, s)
	keyFile := filepath.Join(w.dir, "collector.key")
	writeFile(t, keyFile, string(w.collector.private), 0o600, "")
	echo := filepath.Join(w.dir, "echo-key")
	writeFile(t, echo, "#!/bin/sh\ncat "+keyFile+" >&2\nbase64 -w0 "+keyFile+" >&2\nexit 1\n", 0o755, "")
	cfg.Sudo = echo // the privileged read runs "<sudo> sh -c …"
	_, err := listAll(t, testCtx(t), newTarget(t, cfg))
	if err == nil {
		t.Fatal("no error")
	}
	body := strings.Split(strings.TrimSpace(string(w.collector.private)), "\n")[1]
	b64 := base64.StdEncoding.EncodeToString(w.collector.private)
	if strings.Contains(err.Error(), body[:20]) || strings.Contains(err.Error(), b64[10:40]) || !strings.Contains(err.Error(), "REDACTED") {
		t.Fatalf("error leaks the key: %v", err)
	}
	t.Logf("redacted error: %v", err)
}

func TestSecretFields(t *testing.T) {
	c := sshtarget.Config{PrivateKeyFile: "key"}
	f := c.SecretFields()
	if len(f) != 1 || f[0].Key != "private_key" || f[0].File != "key" || f[0].Optional {
		t.Fatalf("%+v", f)
	}
	*f[0].Value = "x"
	if c.PrivateKey != "x" {
		t.Fatal("Value does not point into the config")
	}
}
