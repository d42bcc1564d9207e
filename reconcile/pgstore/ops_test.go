package pgstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store/opstest"
)

// TestOpsContract holds the PostgreSQL store to the contract of the
// commands' operations (reconcile/store/opstest), with the assertions the
// SQLite store passes; a second handle is a second Open of the same schema,
// as a process on another machine would open it.
func TestOpsContract(t *testing.T) {
	baseDSN(t)
	opstest.Run(t, func(t *testing.T) (opstest.Store, func() opstest.Store) {
		dsn := schemaDSN(t)
		open := func() opstest.Store {
			st, err := pgstore.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		return open(), open
	})
}

// TestAuditContract holds the PostgreSQL store's audit trail to the
// contract the SQLite store's passes, with two handles as two machines.
func TestAuditContract(t *testing.T) {
	baseDSN(t)
	opstest.RunAudit(t, func(t *testing.T) opstest.AuditOpened {
		dsn := schemaDSN(t)
		open := func() *pgstore.Store {
			st, err := pgstore.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		st := open()
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		bypass := func(q string) {
			t.Helper()
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			for _, q := range []string{`ALTER TABLE audit DISABLE TRIGGER audit_no_change`, q, `ALTER TABLE audit ENABLE TRIGGER audit_no_change`} {
				if _, err := tx.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		return opstest.AuditOpened{
			Store: st,
			Again: func() opstest.AuditStore { return open() },
			Exec:  func(q string) error { _, err := db.Exec(q); return err },
			Tamper: func(seq int64, actor string) {
				bypass(fmt.Sprintf(`UPDATE audit SET actor = '%s' WHERE seq = %d`, actor, seq))
			},
			Remove: func(seq int64) { bypass(fmt.Sprintf(`DELETE FROM audit WHERE seq = %d`, seq)) },
			Shared: true,
		}
	})
}
