// Package pgstore is accessrecon's snapshot store on PostgreSQL: the same
// record as reconcile/store keeps in one SQLite file (runs, the HR and
// account snapshots each run collected, drift, the life of each finding,
// actions, holds, the run lock's lease) in a PostgreSQL database, for
// organisations that want the store on a server they already run and back
// up, or several machines on one store.
//
// Store implements reconcile.Store with the semantics of reconcile/store:
// the same baselines (dry runs, targeted runs and HR-suspect runs are never
// one), the same finding lifecycle, the same action queries, and the same
// lease check before an action is recorded. The contract suite
// (reconcile/storetest) runs against both.
//
// Choosing it: SQLite (reconcile/store) is the embedded default and needs
// nothing; choose pgstore when the store must live on a database server.
// Open takes a pgx DSN (postgres://user@host/db?sslmode=…, or key=value
// form; search_path=… puts the tables in a schema). Open creates the tables
// on first use and brings them up to date with the embedded migrations;
// the role needs CREATE on the schema for that.
//
// Beside reconcile.Store it has what accessrecon's commands keep, with
// reconcile/store's signatures and types (its Go types are reconcile/store's
// own): the hash-chained audit trail (reconcile/store's AuditTrail over this
// database's table, so `audit verify` and signed checkpoints are the same;
// see audit.go), run listings, the outbox, HR webhook events and signature claims,
// two-person holds and exemptions, drills, manual steps, the period
// queries and retention (the contract suite reconcile/store/opstest runs
// against both). Where two processes on two machines may do the same thing
// at once, the database decides: a webhook signature is a primary key (one
// claim wins), an approval or acknowledgement locks what it changes.
//
// Snapshots are deltas, as on SQLite (snapshots.go): one current version of
// each person and account, a new one only when something changed.
//
// Times are stored as timestamptz, to the microsecond (SQLite keeps the
// nanosecond).
package pgstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open PostgreSQL store. It is safe for concurrent use.
type Store struct {
	db *sqlx.DB
	// sessions are the snapshots being saved (snapshots.go).
	sessions snapdelta.Sessions
}

var (
	_ reconcile.Store           = (*Store)(nil)
	_ reconcile.SnapshotHistory = (*Store)(nil)
)

// ErrNoRun is returned when a run asked for does not exist: reconcile/store's
// error, so that callers test for one whatever the store.
var ErrNoRun = store.ErrNoRun

// migrationLock is the advisory lock key under which migrations run, so that
// two processes opening a new store at once do not both create it.
const migrationLock = 0x61636365737372 // "accessr"

// Open connects to the database dsn names and brings its schema up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, true)
}

// OpenAsIs connects without changing the schema, as reconcile/store's
// OpenAsIs: a store older than this binary is refused with a
// *store.SchemaBehindError and left as it was (another replica may still
// be running the binary it belongs to).
func OpenAsIs(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, false)
}

func open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &Store{db: db}
	if err := s.migrate(ctx, migrate); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return s, nil
}

// Close closes the store's connections.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the store answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return nil
}

// SchemaVersion is the number of migrations applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.GetContext(ctx, &v, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, fmt.Errorf("pgstore: schema version: %w", err)
	}
	return v, nil
}

// migrate brings the schema up to date; without apply it only checks that
// it is (a *store.SchemaBehindError if not), creating nothing.
func (s *Store) migrate(ctx context.Context, apply bool) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if !apply {
		// The table is read only if it is there (a query naming a missing
		// table fails when it is parsed, whatever its CASE says).
		var version int
		var exists bool
		if err := s.db.GetContext(ctx, &exists, `SELECT to_regclass('schema_migrations') IS NOT NULL`); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if exists {
			if err := s.db.GetContext(ctx, &version, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
		}
		switch {
		case version > len(names):
			return fmt.Errorf("schema version %d is newer than this accessrecon knows (%d): use a newer binary", version, len(names))
		case version < len(names):
			return &store.SchemaBehindError{Have: version, Want: len(names)}
		}
		return nil
	}
	return s.applyMigrations(ctx, names, len(names))
}

// MigrateTo brings the schema of the database dsn names to its first n
// migrations only, as a binary that knew no more left it: the tests of
// later migrations, of OpenAsIs and of validate on an older store start
// from there.
func MigrateTo(ctx context.Context, dsn string, n int) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if n > len(names) {
		return fmt.Errorf("pgstore: %d migrations, not %d", len(names), n)
	}
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	defer db.Close()
	if err := (&Store{db: db}).applyMigrations(ctx, names, n); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return nil
}

// applyMigrations applies, in one transaction, those of the first upto
// migrations (names, in order) that the schema lacks.
func (s *Store) applyMigrations(ctx context.Context, names []string, upto int) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var version int
		if err := tx.GetContext(ctx, &version, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(names) {
			return fmt.Errorf("schema version %d is newer than this accessrecon knows (%d): use a newer binary", version, len(names))
		}
		for i := version; i < upto; i++ {
			body, err := migrations.ReadFile(names[i])
			if err != nil {
				return err
			}
			// No arguments: the simple protocol, which runs several statements.
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", path.Base(names[i]), err)
			}
			if step := migrationStep(path.Base(names[i])); step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", path.Base(names[i]), err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, i+1, path.Base(names[i])); err != nil {
				return fmt.Errorf("migration %s: %w", path.Base(names[i]), err)
			}
		}
		return nil
	})
}

// tx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise.
func (s *Store) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// t encodes a time for a timestamptz column: the zero time is NULL.
func t(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	return v
}

// tp encodes a time for a timestamptz array: the zero time is NULL.
func tp(v time.Time) *time.Time {
	if v.IsZero() {
		return nil
	}
	return &v
}

// tt decodes a nullable timestamptz column (NULL is the zero time), in UTC
// as reconcile/store reads its times.
func tt(v sql.NullTime) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}
