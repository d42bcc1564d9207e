package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reconcile/store/opstest"
)

// TestOpsContract holds the SQLite store to the contract of the commands'
// operations (reconcile/store/opstest), which the PostgreSQL store passes
// too; a second handle is a second Open of the same file.
func TestOpsContract(t *testing.T) {
	opstest.Run(t, func(t *testing.T) (opstest.Store, func() opstest.Store) {
		path := filepath.Join(t.TempDir(), "store.db")
		open := func() opstest.Store {
			st, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		return open(), open
	})
}

// TestAuditContract holds the SQLite store's audit trail to the contract
// the PostgreSQL store's passes too.
func TestAuditContract(t *testing.T) {
	opstest.RunAudit(t, func(t *testing.T) opstest.AuditOpened {
		path := filepath.Join(t.TempDir(), "store.db")
		open := func() *store.Store {
			st, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		st := open()
		db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=15000")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		exec := func(qs ...string) {
			t.Helper()
			for _, q := range qs {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		return opstest.AuditOpened{
			Store: st,
			Again: func() opstest.AuditStore { return open() },
			Exec:  func(q string) error { _, err := db.Exec(q); return err },
			Tamper: func(seq int64, actor string) {
				exec(`DROP TRIGGER audit_no_update`, fmt.Sprintf(`UPDATE audit SET actor = '%s' WHERE seq = %d`, actor, seq),
					`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never updated'); END`)
			},
			Remove: func(seq int64) {
				exec(`DROP TRIGGER audit_no_delete`, fmt.Sprintf(`DELETE FROM audit WHERE seq = %d`, seq),
					`CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never deleted'); END`)
			},
			DefaultMirror: true,
		}
	})
}
