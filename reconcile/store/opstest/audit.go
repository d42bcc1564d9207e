package opstest

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// AuditStore is a store with an audit trail.
type AuditStore interface {
	// Audit returns the trail, mirrored to the JSON Lines file at path.
	Audit(path string) *store.AuditTrail
}

// AuditOpened is a store opened for the audit contract, with what the suite
// needs to play someone with write access to its database.
type AuditOpened struct {
	Store AuditStore
	// Again opens another handle on the same store (another process).
	Again func() AuditStore
	// Exec runs one SQL statement on the store's database, as any client
	// of it could (no arguments; the same text on every database).
	Exec func(query string) error
	// Tamper sets the actor of record seq behind the trail's back,
	// bypassing whatever guards the table (what an administrator of the
	// database could do).
	Tamper func(seq int64, actor string)
	// Remove deletes record seq the same way.
	Remove func(seq int64)
	// Shared says whether processes on several machines may share the
	// store, each with a trail file of its own.
	Shared bool
	// DefaultMirror says whether Audit("") mirrors the trail to a file
	// (SQLite: beside the store) or keeps it in the database alone.
	DefaultMirror bool
}

// RunAudit holds the audit trails of the stores open returns to the
// contract: one sequence and hash chain whoever appends, records the
// database refuses to change, tampering found by Verify, signed checkpoints
// found by VerifySigned, trims that leave a verifiable chain.
func RunAudit(t *testing.T, open func(t *testing.T) AuditOpened) {
	t.Run("chain", func(t *testing.T) { testAuditChain(t, open(t)) })
	t.Run("concurrent appenders", func(t *testing.T) { testAuditConcurrent(t, open(t)) })
	t.Run("tamper", func(t *testing.T) { testAuditTamper(t, open(t)) })
	t.Run("checkpoints", func(t *testing.T) { testAuditCheckpoints(t, open(t)) })
	t.Run("trim", func(t *testing.T) { testAuditTrim(t, open(t)) })
	t.Run("trim by another process", func(t *testing.T) { testAuditTrimOther(t, open(t)) })
}

func appendN(t *testing.T, a *store.AuditTrail, n int, typ string, at time.Time) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	for i := range n {
		// Keys out of order, spaces: the hash covers the detail as written.
		detail := fmt.Appendf(nil, `{"z": %d, "a": "x y", "m": {"b": 1, "a": 2}}`, i)
		r, err := a.Append(context.Background(), store.AuditRecord{At: at.Add(time.Duration(i) * 1001 * time.Nanosecond), RunID: 1, Type: typ, Actor: "accessrecon", Target: "app", Detail: detail})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func records(t *testing.T, a *store.AuditTrail) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	if err := a.Records(context.Background(), 0, func(r store.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func verify(t *testing.T, a *store.AuditTrail, what string) store.VerifyResult {
	t.Helper()
	res, err := a.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify %s: %v", what, err)
	}
	return res
}

func testAuditChain(t *testing.T, o AuditOpened) {
	ctx := context.Background()
	a := o.Store.Audit("")
	if res := verify(t, a, "an empty trail"); res.StoreRecords != 0 {
		t.Fatalf("empty trail: %+v", res)
	}
	appended := appendN(t, a, 5, "action_requested", t0.Add(123456789*time.Nanosecond))
	got := records(t, o.Again().Audit(""))
	if len(got) != 5 {
		t.Fatalf("%d records read back, want 5", len(got))
	}
	prev := store.Genesis
	for i, r := range got {
		if r.Seq != int64(i+1) || r.PrevHash != prev || r.Hash != r.ComputeHash() || r.Hash != appended[i].Hash {
			t.Fatalf("record %d: seq %d prev %s hash %s (computed %s, appended %s)", i+1, r.Seq, r.PrevHash, r.Hash, r.ComputeHash(), appended[i].Hash)
		}
		if !r.At.Equal(appended[i].At) || r.At.Nanosecond() != appended[i].At.Nanosecond() {
			t.Fatalf("record %d: time %v read back, appended %v (to the nanosecond)", i+1, r.At, appended[i].At)
		}
		if string(r.Detail) != string(appended[i].Detail) {
			t.Fatalf("record %d: detail %s read back, appended %s", i+1, r.Detail, appended[i].Detail)
		}
		prev = r.Hash
	}
	res := verify(t, a, "five records")
	if res.StoreRecords != 5 || res.LastHash != got[4].Hash {
		t.Fatalf("verify: %+v", res)
	}
	if o.DefaultMirror != (res.FileRecords == 5) {
		t.Fatalf("verify: %d records in the default mirror file; mirrored by default: %v", res.FileRecords, o.DefaultMirror)
	}
	// The engine's events go through the same chain.
	if err := a.AppendEvent(ctx, t0, eventOf("run_started")); err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, a)); n != 6 {
		t.Fatalf("%d records after AppendEvent, want 6", n)
	}
	// The database refuses to change or delete a record.
	for _, q := range []string{`UPDATE audit SET actor = 'mallory' WHERE seq = 2`, `DELETE FROM audit WHERE seq = 6`, `DELETE FROM audit`} {
		if err := o.Exec(q); err == nil {
			t.Fatalf("%s: accepted", q)
		}
	}
	verify(t, a, "after refused changes")
}

func testAuditConcurrent(t *testing.T, o AuditOpened) {
	// Two processes appending at once: one sequence, no gaps, one chain.
	// On a store that processes of several machines share, each mirrors
	// the trail to a file of its own, which verifies against the store
	// once it appended again; otherwise they share the file.
	dir := t.TempDir()
	second := filepath.Join(dir, "a.jsonl")
	if o.Shared {
		second = filepath.Join(dir, "b.jsonl")
	}
	trails := []*store.AuditTrail{o.Store.Audit(filepath.Join(dir, "a.jsonl")), o.Again().Audit(second)}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := trails[i%2].Append(context.Background(), store.AuditRecord{At: time.Now(), Type: "event", Actor: fmt.Sprint(i)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	appendN(t, trails[1], 1, "last", time.Now())
	appendN(t, trails[0], 1, "last", time.Now())
	if res := verify(t, trails[0], "the first file"); res.StoreRecords != 42 || res.FileRecords != 42 {
		t.Fatalf("%s: %+v, want 42 records in store and file", trails[0].Path(), res)
	}
	appendN(t, trails[1], 1, "after", time.Now())
	if res := verify(t, trails[1], "the second file"); res.StoreRecords != 43 || res.FileRecords != 43 {
		t.Fatalf("%s: %+v, want 43 records in store and file", trails[1].Path(), res)
	}
	seen := map[int64]bool{}
	for i, r := range records(t, trails[0]) {
		if r.Seq != int64(i+1) || seen[r.Seq] {
			t.Fatalf("record %d has sequence number %d", i+1, r.Seq)
		}
		seen[r.Seq] = true
		if r.Type == store.RepairEvent {
			t.Fatalf("record %d reports a repair, but no append was interrupted: %s", r.Seq, r.Detail)
		}
	}
}

func testAuditTamper(t *testing.T, o AuditOpened) {
	a := o.Store.Audit("")
	appendN(t, a, 6, "action_requested", t0)
	verify(t, a, "before tampering")
	o.Tamper(3, "mallory")
	_, err := a.Verify(context.Background())
	var broken *store.BrokenError
	if !errors.As(err, &broken) || broken.Where != "store" || broken.Seq != 3 {
		t.Fatalf("verify after record 3 was changed: %v, want a break in the store at record 3", err)
	}
	o.Tamper(3, "accessrecon")
	verify(t, a, "after the change was undone")
	o.Remove(4)
	if _, err := a.Verify(context.Background()); !errors.As(err, &broken) || broken.Seq != 5 {
		t.Fatalf("verify after record 4 was deleted: %v, want a break at record 5", err)
	}
}

func testAuditCheckpoints(t *testing.T, o AuditOpened) {
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a := o.Store.Audit("")
	a.Checkpoints = store.CheckpointPolicy{Key: store.NewSigningKey(priv), Every: 4, File: filepath.Join(dir, "checkpoints.jsonl")}
	appendN(t, a, 10, "action_requested", t0)
	cp, err := a.Checkpoint(ctx, "run")
	if err != nil {
		t.Fatal(err)
	}
	var cps []int64
	for _, r := range records(t, a) {
		if r.Type == store.CheckpointEvent {
			cps = append(cps, r.Seq)
		}
	}
	// Once no checkpoint is among the last 4 records: after record 4
	// (checkpoint 5, head 4), after 9 (checkpoint 10); then the one asked
	// for (13, head 12).
	if len(cps) != 3 || cps[2] != cp.HeadSeq+1 {
		t.Fatalf("checkpoint records at %v (the last signing head %d)", cps, cp.HeadSeq)
	}
	f, err := os.Open(a.Checkpoints.File)
	if err != nil {
		t.Fatal(err)
	}
	anchors, bad, err := store.ReadCheckpoints(f)
	f.Close()
	if err != nil || len(bad) > 0 || len(anchors) != 3 {
		t.Fatalf("checkpoint file: %d checkpoints, unreadable lines %v, %v", len(anchors), bad, err)
	}
	// `audit verify` with the public key, from another process.
	b := o.Again().Audit("")
	res, err := b.VerifySigned(ctx, []ed25519.PublicKey{pub}, anchors)
	if err != nil {
		t.Fatalf("verify signed: %v", err)
	}
	if res.Signed == nil || res.Signed.Checkpoints != 3 || res.Signed.Through != cp.HeadSeq || res.Signed.Anchors != 3 {
		t.Fatalf("verify signed: %+v", res.Signed)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if _, err := b.VerifySigned(ctx, []ed25519.PublicKey{other}, nil); err == nil {
		t.Fatal("checkpoints verified with another key")
	}
	// Whoever rewrites a record must rewrite the chain after it to hide
	// it from Verify; a signed head cannot be rewritten without the key.
	o.Tamper(2, "mallory")
	var cpErr *store.CheckpointError
	var broken *store.BrokenError
	if _, err := b.VerifySigned(ctx, []ed25519.PublicKey{pub}, anchors); !errors.As(err, &cpErr) && !errors.As(err, &broken) {
		t.Fatalf("verify signed after tampering: %v", err)
	}
}

func testAuditTrim(t *testing.T, o AuditOpened) {
	ctx := context.Background()
	a := o.Store.Audit("")
	appendN(t, a, 4, "old", t0)
	appendN(t, a, 3, "new", t0.AddDate(0, 2, 0))
	removed, err := a.Trim(ctx, t0.AddDate(0, 1, 0))
	if err != nil || removed != 4 {
		t.Fatalf("trim: removed %d, %v; want 4", removed, err)
	}
	rs := records(t, a)
	if len(rs) != 4 || rs[0].Seq != 5 || rs[3].Type != store.TrimEvent || rs[3].Seq != 8 {
		t.Fatalf("after trim: %d records from %d, last %s", len(rs), rs[0].Seq, rs[len(rs)-1].Type)
	}
	var d struct {
		FirstKeptSeq int64 `json:"first_kept_seq"`
		Removed      int64 `json:"removed"`
	}
	if err := json.Unmarshal(rs[3].Detail, &d); err != nil || d.FirstKeptSeq != 5 || d.Removed != 4 {
		t.Fatalf("trim record: %s (%v)", rs[3].Detail, err)
	}
	verify(t, o.Again().Audit(""), "after the trim")
	// Nothing older: a second trim removes nothing and records nothing.
	if removed, err := a.Trim(ctx, t0.AddDate(0, 1, 0)); err != nil || removed != 0 {
		t.Fatalf("second trim: %d, %v", removed, err)
	}
	// A deletion that is not a trim is still found.
	o.Remove(5)
	_, err = a.Verify(ctx)
	var broken *store.BrokenError
	if !errors.As(err, &broken) || !strings.Contains(broken.Reason, "trim") {
		t.Fatalf("verify after the first kept record was deleted: %v", err)
	}
}

func eventOf(typ string) reconcile.AuditEvent {
	return reconcile.AuditEvent{RunID: 1, Type: reconcile.AuditType(typ), Actor: "accessrecon", Detail: map[string]any{"b": 1, "a": []string{"x"}}}
}

// One process trims; the other's file (its own on a store shared across
// machines) follows the trim on its next append and verifies.
func testAuditTrimOther(t *testing.T, o AuditOpened) {
	ctx := context.Background()
	dir := t.TempDir()
	second := filepath.Join(dir, "a.jsonl")
	if o.Shared {
		second = filepath.Join(dir, "b.jsonl")
	}
	a, b := o.Store.Audit(filepath.Join(dir, "a.jsonl")), o.Again().Audit(second)
	appendN(t, a, 3, "old", t0)
	appendN(t, b, 2, "old", t0.Add(time.Hour))
	appendN(t, a, 2, "new", t0.AddDate(0, 2, 0))
	appendN(t, b, 1, "new", t0.AddDate(0, 2, 0))
	if removed, err := a.Trim(ctx, t0.AddDate(0, 1, 0)); err != nil || removed != 5 {
		t.Fatalf("trim: %d, %v; want 5 removed", removed, err)
	}
	verify(t, a, "the trimming process's file")
	appendN(t, b, 1, "after", t0.AddDate(0, 2, 1))
	res := verify(t, b, "the other process's file")
	if res.StoreRecords != 5 || res.FileRecords != 5 {
		t.Fatalf("after the other's trim: %+v, want 5 records (2 kept, 1 kept, trim, after)", res)
	}
	for _, r := range records(t, a) {
		if r.Type == store.RepairEvent {
			t.Fatalf("record %d reports a repair: %s", r.Seq, r.Detail)
		}
	}
}
