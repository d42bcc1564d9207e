package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func appendN(t *testing.T, a *AuditTrail, n int, typ string) {
	t.Helper()
	for i := range n {
		detail, _ := json.Marshal(map[string]any{"i": i})
		if _, err := a.Append(context.Background(), AuditRecord{At: time.Now(), RunID: 1, Type: typ, Actor: "accessrecon", Detail: detail}); err != nil {
			t.Fatal(err)
		}
	}
}

func mustVerify(t *testing.T, a *AuditTrail, what string) VerifyResult {
	t.Helper()
	res, err := a.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify %s: %v", what, err)
	}
	return res
}

// A kill at any write boundary of an append leaves a trail that verifies,
// both as the kill left it and after the next process appended to it; the
// sequence is never reused and file and store end equal.
func TestAuditCrashAtEveryWriteBoundary(t *testing.T) {
	for _, point := range []string{crashBeforeCommit, crashAfterCommit, crashMidLine, crashAfterLine} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "state.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			a := s.Audit("")
			appendN(t, a, 3, "before")
			a.crash = func(p string) bool { return p == point }
			if _, err := a.Append(ctx, AuditRecord{At: time.Now(), Type: "killed", Actor: "accessrecon"}); !errors.Is(err, errCrashed) {
				t.Fatalf("append: %v, want the simulated crash", err)
			}
			s.Close()

			// `audit verify` right after the kill: a new process.
			s2, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			res := mustVerify(t, s2.Audit(""), "after the kill")
			committed := point != crashBeforeCommit
			if want := map[bool]int{true: 4, false: 3}[committed]; res.StoreRecords != want {
				t.Fatalf("store holds %d records, want %d", res.StoreRecords, want)
			}
			// The next run appends.
			a2 := s2.Audit("")
			appendN(t, a2, 2, "after")
			res = mustVerify(t, a2, "after the next append")
			if res.StoreRecords != res.FileRecords || res.Pending != 0 {
				t.Fatalf("after the next append: %+v", res)
			}
			var types []string
			var repair Repair
			if err := a2.Records(ctx, 0, func(r AuditRecord) error {
				types = append(types, r.Type)
				if r.Type == RepairEvent {
					_ = json.Unmarshal(r.Detail, &repair)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			repaired := point == crashAfterCommit || point == crashMidLine
			if got := len(types) - 5 - map[bool]int{true: 1, false: 0}[committed]; got != map[bool]int{true: 1, false: 0}[repaired] {
				t.Fatalf("records %v: want a repair record = %v", types, repaired)
			}
			if repaired && (repair.Appended != 1 || repair.FirstSeq != 4 || (point == crashMidLine) != (repair.TornBytes > 0)) {
				t.Fatalf("repair %+v", repair)
			}
		})
	}
}

// A file ahead of the store (a line written before a commit that never
// happened, as earlier versions did) is cut back on the next append, the
// dropped line is recorded, and the chain verifies from then on.
func TestAuditFileAheadIsCutBack(t *testing.T) {
	ctx := context.Background()
	s, a := newTrail(t)
	// The line of record 6, whose transaction never committed.
	ghost := AuditRecord{Seq: nRecords + 1, At: time.Now().UTC(), Type: "action_requested", Actor: "accessrecon", Detail: json.RawMessage(`{"ghost":true}`)}
	var last AuditRecord
	if err := a.Records(ctx, nRecords, func(r AuditRecord) error { last = r; return nil }); err != nil {
		t.Fatal(err)
	}
	ghost.PrevHash = last.Hash
	ghost.Hash = ghost.ComputeHash()
	line, _ := json.Marshal(ghost)
	if err := appendFile(a.Path(), append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx); err == nil {
		t.Fatal("a file ahead of the store verified")
	}
	appendN(t, a, 2, "next")
	res := mustVerify(t, a, "after cutting back")
	if res.StoreRecords != nRecords+3 || res.FileRecords != nRecords+3 {
		t.Fatalf("%+v", res)
	}
	var repair Repair
	var repairSeq int64
	_ = a.Records(ctx, 0, func(r AuditRecord) error {
		if r.Type == RepairEvent {
			repairSeq = r.Seq
			_ = json.Unmarshal(r.Detail, &repair)
		}
		return nil
	})
	if repairSeq != nRecords+1 || repair.DroppedCount != 1 || !bytes.Contains(repair.Dropped[0], []byte(`"ghost":true`)) {
		t.Fatalf("repair record %d: %+v", repairSeq, repair)
	}
	dropped, err := os.ReadFile(a.Path() + ".dropped")
	if err != nil || !bytes.Contains(dropped, []byte(`"ghost":true`)) {
		t.Fatalf("dropped lines kept: %q %v", dropped, err)
	}
	_ = s
}

// Tampering is not mistaken for a crash: a removed last line with no
// interrupted append is still a break, and an append does not paper over a
// line that disagrees with the store.
func TestAuditRepairLeavesTamperingVisible(t *testing.T) {
	_, a := newTrail(t)
	ls := lines(t, a)
	ls[2] = bytes.Replace(ls[2], []byte(`"actor":"accessrecon"`), []byte(`"actor":"mallory"`), 1)
	writeLines(t, a, ls)
	appendN(t, a, 1, "next")
	wantBroken(t, a, "file", 3, 3)
}

// Lines are written after the commit, outside SQLite's write lock: trails
// of two processes appending at once still write them in sequence order.
func TestAuditConcurrentAppendersKeepFileOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	var trails []*AuditTrail
	for range 2 {
		s, err := Open(ctx, path) // one store handle per "process"
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		trails = append(trails, s.Audit(""))
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			a := trails[i%2]
			for range 25 {
				if _, err := a.Append(ctx, AuditRecord{At: time.Now(), Type: "event", Actor: "test"}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if res := mustVerify(t, trails[0], "after concurrent appends"); res.StoreRecords != 200 || res.FileRecords != 200 {
		t.Fatalf("%+v", res)
	}
}

// Retention's trim is a write too: a kill at any of its boundaries leaves a
// trail that verifies, and the next append finishes what the trim began.
func TestAuditTrimCrashAtEveryWriteBoundary(t *testing.T) {
	for _, point := range []string{crashBeforeCommit, crashAfterCommit, crashAfterLine} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "state.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			a := s.Audit("")
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range 6 {
				if _, err := a.Append(ctx, AuditRecord{At: base.Add(time.Duration(i) * 24 * time.Hour), Type: "event", Actor: "test"}); err != nil {
					t.Fatal(err)
				}
			}
			a.crash = func(p string) bool { return p == point }
			if _, err := a.Trim(ctx, base.Add(3*24*time.Hour)); !errors.Is(err, errCrashed) {
				t.Fatalf("trim: %v, want the simulated crash", err)
			}
			s.Close()

			s2, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			mustVerify(t, s2.Audit(""), "after the kill")
			a2 := s2.Audit("")
			appendN(t, a2, 1, "after")
			res := mustVerify(t, a2, "after the next append")
			if res.StoreRecords != res.FileRecords || res.Pending != 0 {
				t.Fatalf("after the next append: %+v", res)
			}
			b, err := os.ReadFile(a2.Path())
			if err != nil {
				t.Fatal(err)
			}
			var first AuditRecord
			if err := json.Unmarshal(b[:bytes.IndexByte(b, '\n')], &first); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 4, false: 1}[point != crashBeforeCommit]; first.Seq != want {
				t.Fatalf("the file starts at record %d, want %d", first.Seq, want)
			}
		})
	}
}
