package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/serve"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// writeKeyPair writes an Ed25519 key pair as openssl would (PEM PKCS #8
// private, PEM PKIX public) and returns the files.
func writeKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// A run with audit.signing_key_file ends with a signed checkpoint, in the
// trail and in audit.checkpoint_file; `audit verify --public-key` checks
// them (and names the checkpoint a foreign key cannot vouch for); after a
// key rotation both public keys are given and the older checkpoints still
// verify.
func TestAuditSignedCheckpoints(t *testing.T) {
	dir := copyDir(t, demoTemplate(t))
	cfg := filepath.Join(dir, "schedule.yaml")
	keys := t.TempDir()
	priv1, pub1 := writeKeyPair(t, keys, "2026")
	_, other := writeKeyPair(t, keys, "other")
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	setKey := func(priv string) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join(demoTemplate(t), "schedule.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, []byte("\naudit:\n  signing_key_file: "+priv+"\n  checkpoint_file: "+cpFile+"\n  checkpoint_every: 50\n")...)
		if err := os.WriteFile(cfg, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(keys ...string) (int, string) {
		t.Helper()
		args := []string{"audit", "verify", "--config", cfg}
		for _, k := range keys {
			args = append(args, "--public-key", k)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}

	setKey(priv1)
	runAt(t, dir, demo.Day1)
	code, out := verify(pub1)
	if code != exitOK || !strings.Contains(out, "audit trail intact") || !strings.Contains(out, "signed: ") {
		t.Fatalf("verify with the key: exit %d\n%s", code, out)
	}
	t.Log(out)
	cps := readCheckpointFile(t, cpFile)
	if len(cps) == 0 || cps[len(cps)-1].Reason != "run" {
		t.Fatalf("checkpoint file: %+v", cps)
	}
	code, out = verify(other)
	if code == exitOK || !strings.Contains(out, "not among the public keys") || !strings.Contains(out, "checkpoint") {
		t.Fatalf("verify with a foreign key: exit %d\n%s", code, out)
	}
	t.Log(out)

	// Rotation: the next run signs with a new key.
	priv2, pub2 := writeKeyPair(t, keys, "2027")
	setKey(priv2)
	runAt(t, dir, demo.Day1.AddDate(0, 0, 1))
	if code, out := verify(pub2); code == exitOK {
		t.Fatalf("verify with the new key only passed: the old checkpoints are signed by the old key\n%s", out)
	}
	code, out = verify(pub2, pub1)
	if code != exitOK {
		t.Fatalf("verify with both keys: exit %d\n%s", code, out)
	}
	t.Log(out)
}

// A signing key that cannot be read fails the run before it acts, loudly,
// without showing the key.
func TestAuditSigningKeyUnreadableFailsRun(t *testing.T) {
	dir := copyDir(t, demoTemplate(t))
	cfg := filepath.Join(dir, "schedule.yaml")
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(body, []byte("\naudit:\n  signing_key_file: "+bad+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--config", cfg, "--as-of", demo.Day1.Format("2006-01-02T15:04:05Z07:00"), "--out", filepath.Join(dir, "out")}, &out, &errb)
	if code == exitOK || !strings.Contains(errb.String(), "audit.signing_key_file") {
		t.Fatalf("run with an unreadable key: exit %d\n%s", code, errb.String())
	}
	if strings.Contains(errb.String(), "c2VjcmV0") {
		t.Fatalf("the key file's content shows:\n%s", errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "findings.json")); !os.IsNotExist(err) {
		t.Fatalf("the run went ahead (findings.json: %v)", err)
	}
}

func readCheckpointFile(t *testing.T, path string) []store.Checkpoint {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cps, bad, err := store.ReadCheckpoints(f)
	if err != nil || len(bad) > 0 {
		t.Fatalf("checkpoint file: %v, unreadable lines %v", err, bad)
	}
	return cps
}

// A serve job's run ends with a signed checkpoint too.
func TestServeJobSignsCheckpoint(t *testing.T) {
	dir, cfgPath := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 1s\"}\naudit:\n  signing_key_file: keys/audit.pem\n")
	priv, pub := writeKeyPair(t, t.TempDir(), "audit")
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "audit.pem"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := serve.New(ctx, cfgPath, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	waitFor(t, time.Minute, "a run's checkpoint", func() bool {
		found := false
		_ = st.Audit("").Records(context.Background(), 0, func(r store.AuditRecord) error {
			found = found || (r.Type == store.CheckpointEvent && strings.Contains(string(r.Detail), `"reason":"run"`))
			return nil
		})
		return found
	})
	cancel()
	<-done
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"audit", "verify", "--config", cfgPath, "--public-key", pub}, &out, &errb); code != exitOK {
		t.Fatalf("verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
