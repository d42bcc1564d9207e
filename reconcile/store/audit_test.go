package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const nRecords = 5

func newTrail(t *testing.T) (*Store, *AuditTrail) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a := s.Audit("")
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := range nRecords {
		detail, _ := json.Marshal(map[string]any{"i": i, "account_id": "A1"})
		r, err := a.Append(ctx, AuditRecord{At: at.Add(time.Duration(i) * time.Second), RunID: 1, Type: "action_requested", Actor: "accessrecon", Target: "app", Detail: detail})
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != int64(i+1) {
			t.Fatalf("seq %d, want %d", r.Seq, i+1)
		}
	}
	res, err := a.Verify(ctx)
	if err != nil {
		t.Fatalf("intact trail: %v", err)
	}
	if res.StoreRecords != nRecords || res.FileRecords != nRecords || res.LastHash == "" {
		t.Fatalf("verify result %+v", res)
	}
	return s, a
}

func lines(t *testing.T, a *AuditTrail) [][]byte {
	b, err := os.ReadFile(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))[:nRecords]
}

func writeLines(t *testing.T, a *AuditTrail, ls [][]byte) {
	if err := os.WriteFile(a.Path(), bytes.Join(ls, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantBroken(t *testing.T, a *AuditTrail, where string, seq int64, line int) {
	t.Helper()
	_, err := a.Verify(context.Background())
	var be *BrokenError
	if !errors.As(err, &be) {
		t.Fatalf("Verify = %v, want *BrokenError", err)
	}
	if where == "file" {
		where = a.Path()
	}
	if be.Where != where || be.Seq != seq || be.Line != line {
		t.Fatalf("broken at %s seq %d line %d (%v), want %s seq %d line %d", be.Where, be.Seq, be.Line, be, where, seq, line)
	}
}

func TestAuditStoreTampering(t *testing.T) {
	ctx := context.Background()
	t.Run("delete blocked by trigger", func(t *testing.T) {
		s, _ := newTrail(t)
		if _, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE seq = 3`); err == nil {
			t.Fatal("delete allowed")
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE audit SET actor = 'x' WHERE seq = 3`); err == nil {
			t.Fatal("update allowed")
		}
	})
	t.Run("deleted record", func(t *testing.T) {
		s, a := newTrail(t)
		mustExec(t, s, `DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE seq = 3`)
		wantBroken(t, a, "store", 4, 0)
	})
	t.Run("deleted first record", func(t *testing.T) {
		s, a := newTrail(t)
		mustExec(t, s, `DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE seq = 1`)
		wantBroken(t, a, "store", 2, 0)
	})
	t.Run("deleted last record", func(t *testing.T) {
		s, a := newTrail(t)
		mustExec(t, s, `DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE seq = 5`)
		wantBroken(t, a, "store", 5, 0)
	})
	t.Run("edited record", func(t *testing.T) {
		s, a := newTrail(t)
		mustExec(t, s, `DROP TRIGGER audit_no_update`, `UPDATE audit SET actor = 'mallory' WHERE seq = 2`)
		wantBroken(t, a, "store", 2, 0)
	})
}

func mustExec(t *testing.T, s *Store, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditFileTampering(t *testing.T) {
	t.Run("deleted line", func(t *testing.T) {
		_, a := newTrail(t)
		ls := lines(t, a)
		writeLines(t, a, append(ls[:2:2], ls[3:]...))
		wantBroken(t, a, "file", 4, 3)
	})
	t.Run("edited line", func(t *testing.T) {
		_, a := newTrail(t)
		ls := lines(t, a)
		ls[1] = bytes.Replace(ls[1], []byte(`"actor":"accessrecon"`), []byte(`"actor":"mallory"`), 1)
		writeLines(t, a, ls)
		wantBroken(t, a, "file", 2, 2)
	})
	t.Run("swapped lines", func(t *testing.T) {
		_, a := newTrail(t)
		ls := lines(t, a)
		ls[1], ls[2] = ls[2], ls[1]
		writeLines(t, a, ls)
		wantBroken(t, a, "file", 3, 2)
	})
	t.Run("last line cut short", func(t *testing.T) {
		_, a := newTrail(t)
		ls := lines(t, a)
		ls[4] = ls[4][:len(ls[4])/2]
		writeLines(t, a, ls)
		wantBroken(t, a, "file", 0, 5)
	})
	t.Run("last full line removed", func(t *testing.T) {
		_, a := newTrail(t)
		writeLines(t, a, lines(t, a)[:4])
		wantBroken(t, a, "file", 5, 5)
	})
	t.Run("file deleted", func(t *testing.T) {
		_, a := newTrail(t)
		if err := os.Remove(a.Path()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(context.Background()); err == nil {
			t.Fatal("a trail whose file is gone verified")
		}
	})
}

// Retention trims a prefix and records where the chain now starts: the trail
// still verifies, in the table and the file; cutting a prefix without that
// record does not.
func TestAuditTrimKeepsChainVerifiable(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trail := s.Audit("")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 6 {
		if _, err := trail.Append(ctx, AuditRecord{At: base.Add(time.Duration(i) * 24 * time.Hour), Type: "event", Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := trail.Trim(ctx, base.Add(3*24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("trim removed %d records, err %v; want 3", n, err)
	}
	res, err := trail.Verify(ctx)
	if err != nil {
		t.Fatalf("verify after trim: %v", err)
	}
	if res.StoreRecords != 4 || res.FileRecords != 4 { // 3 kept + the trim record
		t.Fatalf("after trim: %d records in the store, %d in the file; want 4 and 4", res.StoreRecords, res.FileRecords)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE seq = 4`); err == nil {
		t.Fatal("a record could be deleted outside a trim")
	}
	// An attacker cutting one more record off the front is caught.
	body, err := os.ReadFile(trail.Path())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(body), "\n")
	if err := os.WriteFile(trail.Path(), []byte(strings.Join(lines[1:], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	var be *BrokenError
	if _, err := trail.Verify(ctx); !errors.As(err, &be) || be.Seq != 5 {
		t.Fatalf("verify after cutting the first kept record from the file: %v, want a break at record 5", err)
	}
}
