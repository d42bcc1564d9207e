package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newKey(t *testing.T) SigningKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewSigningKey(priv)
}

// signedTrail is a trail signed with key: records 1-5, checkpoint 6 (head
// 5), records 7-9, checkpoint 10 (head 9), records 11-12.
func signedTrail(t *testing.T, key SigningKey) (*Store, *AuditTrail) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a := s.Audit("")
	a.Checkpoints = CheckpointPolicy{Key: key, File: filepath.Join(t.TempDir(), "elsewhere", "checkpoints.jsonl")}
	if err := os.MkdirAll(filepath.Dir(a.Checkpoints.File), 0o700); err != nil {
		t.Fatal(err)
	}
	appendN(t, a, 5, "action_requested")
	mustCheckpoint(t, a, 6, 5)
	appendN(t, a, 3, "action_requested")
	mustCheckpoint(t, a, 10, 9)
	appendN(t, a, 2, "action_requested")
	return s, a
}

func mustCheckpoint(t *testing.T, a *AuditTrail, wantSeq, wantHead int64) Checkpoint {
	t.Helper()
	cp, err := a.Checkpoint(context.Background(), "run")
	if err != nil {
		t.Fatal(err)
	}
	if cp.HeadSeq != wantHead {
		t.Fatalf("checkpoint signed head %d, want %d", cp.HeadSeq, wantHead)
	}
	var last AuditRecord
	if err := a.Records(context.Background(), 0, func(r AuditRecord) error { last = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if last.Seq != wantSeq || last.Type != CheckpointEvent {
		t.Fatalf("last record %d %s, want the checkpoint at %d", last.Seq, last.Type, wantSeq)
	}
	return cp
}

func anchors(t *testing.T, a *AuditTrail) []Checkpoint {
	t.Helper()
	f, err := os.Open(a.Checkpoints.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cps, bad, err := ReadCheckpoints(f)
	if err != nil || len(bad) > 0 {
		t.Fatalf("checkpoint file: %v, unreadable lines %v", err, bad)
	}
	return cps
}

// forge does what an attacker with write access to the store and the file,
// but without the signing key, can do: replace the trail with edit's
// version of its records, every hash recomputed from the first on (the
// first record's sequence number and PrevHash are kept), in both the store
// and the file.
func forge(t *testing.T, s *Store, a *AuditTrail, edit func([]AuditRecord) []AuditRecord) {
	t.Helper()
	ctx := context.Background()
	var recs []AuditRecord
	if err := a.Records(ctx, 0, func(r AuditRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	seq, prev := recs[0].Seq, recs[0].PrevHash
	recs = edit(recs)
	var file bytes.Buffer
	mustExec(t, s, `DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`, `DELETE FROM audit`)
	for i := range recs {
		r := &recs[i]
		r.Seq, r.PrevHash = seq, prev
		r.Hash = r.ComputeHash()
		seq, prev = seq+1, r.Hash
		if _, err := s.db.ExecContext(ctx, `INSERT INTO audit (seq, at, run_id, type, actor, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, T(r.At), r.RunID, r.Type, r.Actor, r.Target, string(r.Detail), r.PrevHash, r.Hash); err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(r)
		file.Write(append(line, '\n'))
	}
	if err := os.WriteFile(a.Path(), file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantCheckpointError(t *testing.T, err error, where string, seq, head, good int64, reason string) *CheckpointError {
	t.Helper()
	var ce *CheckpointError
	if !errors.As(err, &ce) {
		t.Fatalf("VerifySigned = %v, want a *CheckpointError", err)
	}
	if ce.Where != where || ce.Seq != seq || ce.HeadSeq != head || ce.GoodThrough != good || !strings.Contains(ce.Reason, reason) {
		t.Fatalf("%v\nwant: where %s, checkpoint record %d, head %d, good through %d, reason containing %q", ce, where, seq, head, good, reason)
	}
	return ce
}

// The intact trail verifies with its key, and the checkpoints went to the
// trail, to OnAppend (the syslog sink) and to the checkpoint file.
func TestCheckpointsVerify(t *testing.T) {
	key := newKey(t)
	_, a := signedTrail(t, key)
	res, err := a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, anchors(t, a))
	if err != nil {
		t.Fatal(err)
	}
	sr := res.Signed
	if sr == nil || sr.Checkpoints != 2 || sr.Through != 9 || sr.LastRecord != 12 || sr.Unsigned != 2 || sr.Anchors != 2 || sr.Keys[key.Fingerprint()] != 2 {
		t.Fatalf("signed result %+v", sr)
	}
	t.Log(sr.Describe())
	// A key that signed nothing here vouches for nothing.
	_, err = a.VerifySigned(context.Background(), []ed25519.PublicKey{newKey(t).Public()}, nil)
	wantCheckpointError(t, err, "store", 6, 5, 0, "not among the public keys")
}

// The attack the checkpoints exist for: a record is edited and every hash
// after it recomputed, in the store and in the file. The unkeyed chain
// verifies; the signed heads do not, and verification names the checkpoint
// and the last record still vouched for.
func TestCheckpointsCatchRebuiltChain(t *testing.T) {
	key := newKey(t)
	s, a := signedTrail(t, key)
	forge(t, s, a, func(rs []AuditRecord) []AuditRecord {
		rs[7].Actor = "mallory" // record 8, between the signed heads 5 and 9
		return rs
	})
	res, err := a.Verify(context.Background())
	if err != nil {
		t.Fatalf("plain verify of the rebuilt chain: %v (the attack should pass it)", err)
	}
	t.Logf("plain verify of the rebuilt chain passes: %+v", res)
	_, err = a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, nil)
	ce := wantCheckpointError(t, err, "store", 10, 9, 5, "is not the signed head")
	t.Logf("verify with the public key: %v", ce)
	// With the checkpoint file, its copy of the same head is named.
	_, err = a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, anchors(t, a))
	wantCheckpointError(t, err, "checkpoint file", 0, 9, 5, "is not the signed head")

	// Rebuilt from record 1 on: even the first checkpoint fails.
	s, a = signedTrail(t, key)
	forge(t, s, a, func(rs []AuditRecord) []AuditRecord { rs[0].Target = "elsewhere"; return rs })
	_, err = a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, nil)
	wantCheckpointError(t, err, "store", 6, 5, 0, "is not the signed head")
}

// A checkpoint's content cannot be changed to follow a rebuilt chain: its
// signature covers the head.
func TestCheckpointsCatchEditedCheckpoint(t *testing.T) {
	key := newKey(t)
	s, a := signedTrail(t, key)
	var newHead string
	forge(t, s, a, func(rs []AuditRecord) []AuditRecord {
		rs[7].Actor = "mallory"
		// The attacker computes the new head and writes it into the
		// checkpoint (without the key, the signature stays the old one).
		prev := rs[0].PrevHash
		for i := range 9 {
			rs[i].Seq, rs[i].PrevHash = int64(i+1), prev
			prev = rs[i].ComputeHash()
		}
		newHead = prev
		var cp Checkpoint
		if err := json.Unmarshal(rs[9].Detail, &cp); err != nil {
			t.Fatal(err)
		}
		cp.HeadHash = newHead
		rs[9].Detail, _ = json.Marshal(cp)
		return rs
	})
	if _, err := a.Verify(context.Background()); err != nil {
		t.Fatalf("plain verify: %v", err)
	}
	_, err := a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, nil)
	wantCheckpointError(t, err, "store", 10, 9, 5, "does not verify")
}

// Removing checkpoints: one from the middle renumbers the records after it,
// which the next signed head no longer matches; all of
// them leave a trail that no signed head vouches for.
func TestCheckpointsCatchRemovedCheckpoints(t *testing.T) {
	key := newKey(t)
	s, a := signedTrail(t, key)
	mustCheckpoint(t, a, 13, 12)
	forge(t, s, a, func(rs []AuditRecord) []AuditRecord { return append(rs[:9:9], rs[10:]...) }) // drop record 10
	if _, err := a.Verify(context.Background()); err != nil {
		t.Fatalf("plain verify: %v", err)
	}
	_, err := a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, nil)
	// The dropped checkpoint's successor signed a head whose hash the
	// renumbered chain no longer has.
	wantCheckpointError(t, err, "store", 12, 12, 5, "")

	s, a = signedTrail(t, key)
	forge(t, s, a, func(rs []AuditRecord) []AuditRecord {
		var out []AuditRecord
		for _, r := range rs {
			if r.Type != CheckpointEvent {
				out = append(out, r)
			}
		}
		return out
	})
	if _, err := a.Verify(context.Background()); err != nil {
		t.Fatalf("plain verify: %v", err)
	}
	_, err = a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, nil)
	wantCheckpointError(t, err, "store", 0, 0, 0, "no signed checkpoint")
}

// After a key rotation the checkpoints signed with the old key stay valid
// as long as verification is given both public keys; with only one, the
// other's checkpoints are named.
func TestCheckpointsKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newK := newKey(t), newKey(t)
	_, a := signedTrail(t, oldKey) // checkpoints 6 and 10 by the old key
	a.Checkpoints.Key = newK
	mustCheckpoint(t, a, 13, 12)
	appendN(t, a, 1, "after")
	mustCheckpoint(t, a, 15, 14)
	both := []ed25519.PublicKey{newK.Public(), oldKey.Public()}
	res, err := a.VerifySigned(ctx, both, anchors(t, a))
	if err != nil {
		t.Fatalf("verify with both keys: %v", err)
	}
	if res.Signed.Checkpoints != 4 || res.Signed.Keys[oldKey.Fingerprint()] != 2 || res.Signed.Keys[newK.Fingerprint()] != 2 || res.Signed.Through != 14 {
		t.Fatalf("%+v", res.Signed)
	}
	_, err = a.VerifySigned(ctx, []ed25519.PublicKey{newK.Public()}, nil)
	ce := wantCheckpointError(t, err, "store", 6, 5, 0, "not among the public keys")
	if ce.Key != oldKey.Fingerprint() {
		t.Fatalf("names key %s, want the old key %s", ce.Key, oldKey.Fingerprint())
	}
	_, err = a.VerifySigned(ctx, []ed25519.PublicKey{oldKey.Public()}, nil)
	wantCheckpointError(t, err, "store", 13, 12, 9, "not among the public keys")
}

// The checkpoint file kept elsewhere catches what the trail alone cannot:
// its end cut off after a signed head (the trail itself still verifies,
// even with the key, since what is left is genuine).
func TestCheckpointFileCatchesCutTrail(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	keys := []ed25519.PublicKey{key.Public()}
	for _, tc := range []struct {
		keep   int // records left
		good   int64
		reason string
	}{
		{8, 5, "the trail ends at record 8, before the signed head"},
		{9, 9, "the trail ends at record 9, the signed head, without the checkpoint record"},
	} {
		t.Run(fmt.Sprint(tc.keep), func(t *testing.T) {
			s, a := signedTrail(t, key)
			forge(t, s, a, func(rs []AuditRecord) []AuditRecord { return rs[:tc.keep] })
			if _, err := a.Verify(ctx); err != nil {
				t.Fatalf("plain verify of the cut trail: %v", err)
			}
			if _, err := a.VerifySigned(ctx, keys, nil); err != nil {
				t.Fatalf("without the checkpoint file the cut is invisible, yet: %v", err)
			}
			_, err := a.VerifySigned(ctx, keys, anchors(t, a))
			wantCheckpointError(t, err, "checkpoint file", 0, 9, tc.good, tc.reason)
		})
	}
	t.Run("checkpoint record replaced", func(t *testing.T) {
		s, a := signedTrail(t, key)
		forge(t, s, a, func(rs []AuditRecord) []AuditRecord {
			rs[9] = AuditRecord{At: rs[9].At, Type: "run_finished", Actor: "accessrecon", Detail: json.RawMessage(`{}`)}
			return rs
		})
		_, err := a.VerifySigned(ctx, keys, anchors(t, a))
		wantCheckpointError(t, err, "checkpoint file", 0, 9, 9, "the checkpoint was removed from the trail")
	})
	t.Run("checkpoint record replaced by one of another key", func(t *testing.T) {
		s, a := signedTrail(t, key)
		forge(t, s, a, func(rs []AuditRecord) []AuditRecord {
			var cp Checkpoint
			_ = json.Unmarshal(rs[9].Detail, &cp)
			cp, _ = SignCheckpoint(newKey(t), cp)
			rs[9].Detail, _ = json.Marshal(cp)
			return rs
		})
		_, err := a.VerifySigned(ctx, keys, anchors(t, a))
		wantCheckpointError(t, err, "checkpoint file", 0, 9, 9, "the checkpoint was removed from the trail")
	})
	t.Run("forged line in the checkpoint file", func(t *testing.T) {
		_, a := signedTrail(t, key)
		cps := anchors(t, a)
		cps[1].HeadSeq = 11
		_, err := a.VerifySigned(ctx, keys, cps)
		wantCheckpointError(t, err, "checkpoint file", 0, 11, -1, "does not verify")
	})
}

// Every N records a checkpoint is appended without being asked, and each
// reaches OnAppend (the syslog sink) like any record.
func TestCheckpointEveryN(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := newKey(t)
	a := s.Audit("")
	a.Checkpoints = CheckpointPolicy{Key: key, Every: 3, File: filepath.Join(t.TempDir(), "cp.jsonl")}
	var sent []int64
	a.OnAppend = func(r AuditRecord) {
		if r.Type == CheckpointEvent {
			sent = append(sent, r.Seq)
		}
	}
	appendN(t, a, 10, "event")
	// 1 2 3 [4] 5 6 7 [8] 9 10 11 [12] 13
	var got []int64
	_ = a.Records(ctx, 0, func(r AuditRecord) error {
		if r.Type == CheckpointEvent {
			got = append(got, r.Seq)
		}
		return nil
	})
	if fmt.Sprint(got) != "[4 8 12]" || fmt.Sprint(sent) != "[4 8 12]" {
		t.Fatalf("checkpoints at %v, sent %v; want [4 8 12]", got, sent)
	}
	cps := anchors(t, a)
	if len(cps) != 3 || cps[2].HeadSeq != 11 || cps[2].Reason != "every" {
		t.Fatalf("checkpoint file: %+v", cps)
	}
	res, err := a.VerifySigned(ctx, []ed25519.PublicKey{key.Public()}, cps)
	if err != nil || res.Signed.Unsigned != 1 {
		t.Fatalf("%v %+v", err, res.Signed)
	}
}

// A kill at any write boundary of a checkpoint leaves a trail that still
// verifies with the key (a checkpoint file behind the trail is no break),
// and the next append completes it.
func TestCheckpointCrashAtEveryWriteBoundary(t *testing.T) {
	for _, point := range []string{crashBeforeCommit, crashAfterCommit, crashMidLine, crashAfterLine} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			key := newKey(t)
			keys := []ed25519.PublicKey{key.Public()}
			path := filepath.Join(t.TempDir(), "state.db")
			cpFile := filepath.Join(t.TempDir(), "cp.jsonl")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			a := s.Audit("")
			a.Checkpoints = CheckpointPolicy{Key: key, File: cpFile}
			appendN(t, a, 3, "before")
			mustCheckpoint(t, a, 4, 3)
			appendN(t, a, 1, "before")
			a.crash = func(p string) bool { return p == point }
			if _, err := a.Checkpoint(ctx, "run"); !errors.Is(err, errCrashed) {
				t.Fatalf("checkpoint: %v, want the simulated crash", err)
			}
			s.Close()

			s2, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			a2 := s2.Audit("")
			a2.Checkpoints = CheckpointPolicy{Key: key, File: cpFile}
			read := func() []Checkpoint {
				f, err := os.Open(cpFile)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cps, bad, err := ReadCheckpoints(f)
				if err != nil || len(bad) > 0 {
					t.Fatalf("checkpoint file: %v, unreadable lines %v", err, bad)
				}
				return cps
			}
			if _, err := a2.VerifySigned(ctx, keys, read()); err != nil {
				t.Fatalf("after the kill: %v", err)
			}
			appendN(t, a2, 1, "after")
			// The next checkpoint: after the killed one (if committed), a
			// repair record (if its line was missing) and "after".
			next := map[string]int64{crashBeforeCommit: 7, crashAfterCommit: 9, crashMidLine: 9, crashAfterLine: 8}[point]
			mustCheckpoint(t, a2, next, next-1)
			res, err := a2.VerifySigned(ctx, keys, read())
			if err != nil {
				t.Fatalf("after the next append: %v", err)
			}
			if res.StoreRecords != res.FileRecords || res.Pending != 0 {
				t.Fatalf("%+v", res)
			}
		})
	}
}

// Key files: PEM PKCS #8 as openssl writes it, or the raw 32-byte seed;
// public keys as PEM PKIX or 32 raw bytes. Anything else is refused.
func TestCheckpointKeyFormats(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	want := KeyFingerprint(pub)
	for name, b := range map[string][]byte{
		"pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"seed": priv.Seed(),
	} {
		k, err := ParseSigningKey(b)
		if err != nil || k.Fingerprint() != want {
			t.Errorf("%s: %v, fingerprint %s want %s", name, err, k.Fingerprint(), want)
		}
	}
	for name, b := range map[string][]byte{
		"pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
		"raw": pub,
	} {
		p, err := ParsePublicKey(b)
		if err != nil || KeyFingerprint(p) != want {
			t.Errorf("public %s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":      nil,
		"hex seed":   []byte(fmt.Sprintf("%x\n", priv.Seed())),
		"public pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	} {
		if _, err := ParseSigningKey(b); err == nil {
			t.Errorf("%s accepted as a signing key", name)
		}
	}
	if _, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err == nil {
		t.Error("a private key accepted as the public key")
	}
}

// The signing key never prints: not through fmt, not through slog, not
// inside the policy that holds it.
func TestSigningKeyNeverPrints(t *testing.T) {
	k := newKey(t)
	seed := fmt.Sprintf("%x", k.priv.Seed())
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", k, "policy", CheckpointPolicy{Key: k})
	js, _ := json.Marshal(CheckpointPolicy{Key: k})
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		fmt.Sprintf("%v %+v %#v", CheckpointPolicy{Key: k}, CheckpointPolicy{Key: k}, CheckpointPolicy{Key: k}),
		logged.String(), string(js),
	} {
		if !strings.Contains(s, "REDACTED") || strings.Contains(s, seed) || strings.Contains(s, fmt.Sprint([]byte(k.priv))[1:20]) {
			t.Errorf("the key shows: %s", s)
		}
	}
}

// Retention trims a prefix: the checkpoints of the checkpoint file older
// than the trail's first record are out of reach and counted as such, the
// one signing the head just before it is checked against its PrevHash, and
// the trail still verifies with the key.
func TestCheckpointsSurviveTrim(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := newKey(t)
	a := s.Audit("")
	a.Checkpoints = CheckpointPolicy{Key: key, Every: 2, File: filepath.Join(t.TempDir(), "cp.jsonl")}
	// Records dated a day apart from tomorrow on; checkpoints (dated now)
	// follow every second one: 1 2 [3] 4 5 [6] 7 8 [9].
	base := time.Now().Add(24 * time.Hour)
	for i := range 6 {
		if _, err := a.Append(ctx, AuditRecord{At: base.Add(time.Duration(i) * 24 * time.Hour), Type: "event", Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	// Keep from record 5 on: the checkpoint file's head 2 is before the
	// trail, its heads 5 and 8 in it.
	const first = 5
	if n, err := a.Trim(ctx, base.Add(3*24*time.Hour)); err != nil || n != 4 {
		t.Fatalf("trim removed %d records (%v), want 4", n, err)
	}
	cps := anchors(t, a)
	res, err := a.VerifySigned(ctx, []ed25519.PublicKey{key.Public()}, cps)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 3 || res.Signed.Trimmed != 1 || res.Signed.Anchors != 2 || res.Signed.Through != 8 || res.Signed.Checkpoints != 2 {
		t.Fatalf("%+v (checkpoint file %+v)", res.Signed, cps)
	}
	// The head just before the trail's first record is still checked.
	cp, err := SignCheckpoint(key, Checkpoint{HeadSeq: first - 1, HeadHash: Genesis, SignedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.VerifySigned(ctx, []ed25519.PublicKey{key.Public()}, append(cps, cp))
	wantCheckpointError(t, err, "checkpoint file", 0, first-1, 0, "does not follow the signed head")
}

// A checkpoint file line cut short (the machine died mid-write) stays a
// line of its own: the next checkpoint is whole, reading skips and names
// the cut line, and verification goes on.
func TestCheckpointFileTornLine(t *testing.T) {
	key := newKey(t)
	_, a := signedTrail(t, key)
	b, err := os.ReadFile(a.Checkpoints.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Checkpoints.File, b[:len(b)-40], 0o600); err != nil { // the second line cut short
		t.Fatal(err)
	}
	mustCheckpoint(t, a, 13, 12)
	f, err := os.Open(a.Checkpoints.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cps, bad, err := ReadCheckpoints(f)
	if err != nil || fmt.Sprint(bad) != "[2]" || len(cps) != 2 || cps[1].HeadSeq != 12 {
		t.Fatalf("read %+v, unreadable lines %v, %v; want heads 5 and 12, line 2 unreadable", cps, bad, err)
	}
	if _, err := a.VerifySigned(context.Background(), []ed25519.PublicKey{key.Public()}, cps); err != nil {
		t.Fatal(err)
	}
}
