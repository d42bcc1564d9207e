// Package store is accessrecon's SQLite snapshot store: one file holding every
// run, the HR and account snapshots each run collected, the drift between
// runs, the findings with their first-seen dates, and (with later migrations)
// actions, holds and the audit chain. Findings are kept as events
// (migration 013, findings.go): a body is stored when a finding first
// appears or changes, an unchanged one costs no write (migration 017).
//
// Snapshots are deltas (migration 012, snapshots.go): the store keeps one
// current version of each person and account (credentials with their
// account) with a content hash, and a version each time it changed, valid
// from run to run. A run writes what changed since the store's current
// state; reading a run's snapshot ("as of run R") returns exactly what R
// saved. Retention (Prune) removes the versions no kept run shows.
//
// Store implements reconcile.Store, the interface the engine declares; the
// engine's types (Run, Collection, Action…) are reconcile's, and the names
// this package gives them are aliases (types.go).
//
// It uses sqlx over mattn/go-sqlite3 in WAL mode with embedded, numbered
// migrations (PRAGMA user_version). Writes are serialised by the Store and
// done in batches, so parallel collectors never hold SQLite's write lock for
// long; reads run concurrently.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // the SQLite driver

	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open snapshot store. It is safe for concurrent use.
type Store struct {
	db *sqlx.DB
	// wmu serialises write transactions, so that SQLite's single writer lock
	// is taken briefly by one batch at a time instead of being fought over.
	wmu  sync.Mutex
	path string
	// sessions are the snapshots being saved (snapshots.go).
	sessions snapdelta.Sessions
}

// Open opens (creating if needed) the store at path and brings its schema
// up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, true)
}

// OpenAsIs opens the store at path without changing its schema, for a
// command that only reads (validate): a store older than this binary is
// refused with a *SchemaBehindError and left as it was, so that checking a
// new binary's configuration never moves the schema under the binary still
// running on it. One newer than this binary is refused as by Open.
func OpenAsIs(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, false)
}

// SchemaBehindError is OpenAsIs's answer for a store whose schema is older
// than this binary's: Have migrations applied of Want. PostgreSQL's store
// (reconcile/pgstore) answers with the same type.
type SchemaBehindError struct{ Have, Want int }

func (e *SchemaBehindError) Error() string {
	if e.Have == 0 {
		return "no accessrecon tables yet (left as it is: the first run creates them)"
	}
	return fmt.Sprintf("schema version %d is older than this accessrecon's %d (left as it is: the next run brings it up to date)", e.Have, e.Want)
}

// cacheKiB is the size of each connection's page cache.
const cacheKiB = 2048

func open(ctx context.Context, path string, migrate bool) (*Store, error) {
	// Each connection keeps its own page cache, outside Go's heap and its
	// limit: 2 MiB each (not 32, then 8), as measured no slower on day 1
	// or day 2 at 100,000 people (generated exports, accounts in ID order;
	// 8 MiB no slower than 32 at 1,000,000 too), and 25-40 MB, then 10-15
	// MiB, less resident memory on a 100,000-person day 2 (the OS's page
	// cache holds the file anyway). A save of many new findings takes
	// more for its own transaction (writeMany, saveVersions).
	if err := setPageSize(ctx, path); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=15000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate" +
		fmt.Sprintf("&_cache_size=-%d", cacheKiB)
	db, err := sqlx.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	s := &Store{db: db, path: path}

	if err := s.migrate(ctx, migrate); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

// pageSize is the page size of a store this package creates: 16 KiB, not
// SQLite's 4. Most of a store is rows written in key order, account
// versions by the million and findings' bodies of about a kilobyte each;
// with larger pages a B-tree insert splits and rewrites a page a quarter
// as often. A 100,000-person day 1 (a new store) took 8.4-9.7 s instead of
// 9.4-10.7 (four runs each, in turn), the day after it as long as with 4
// KiB pages, and the store was 457.9 MB after day 1 instead of 474.3. A
// store made before keeps its pages (a VACUUM in rollback mode would
// change them, at the cost of rewriting it).
const pageSize = 16384

// setPageSize gives the store at path pageSize when it has no page yet: a
// new file, or one left empty. The size is fixed by the first page
// written, and SQLite cannot change it in WAL mode, which the store's
// connections set as they open.
func setPageSize(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=15000")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var pages int
	if err := conn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil || pages > 0 {
		return err
	}
	// Setting WAL mode writes the first page: the size is kept.
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA page_size = %d; PRAGMA journal_mode = WAL`, pageSize))
	return err
}

// Path is the store's file name.
func (s *Store) Path() string { return s.path }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the store answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.GetContext(ctx, &one, `SELECT 1`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// migrate brings the schema up to date; without apply it only checks that
// it is (a *SchemaBehindError if not).
func (s *Store) migrate(ctx context.Context, apply bool) error {
	var version int
	if err := s.db.GetContext(ctx, &version, "PRAGMA user_version"); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if version > len(names) {
		return fmt.Errorf("schema version %d is newer than this accessrecon knows (%d): use a newer binary", version, len(names))
	}
	if !apply && version < len(names) {
		return &SchemaBehindError{Have: version, Want: len(names)}
	}
	for i := version; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		err = s.write(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			if step := migrationStep(path.Base(names[i])); step != nil {
				if err := step(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", path.Base(names[i]), err)
		}
	}
	return nil
}

// write runs fn in one write transaction, serialised with every other write.
func (s *Store) write(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	return commitOrRollback(tx, fn)
}

// commitOrRollback runs fn in tx, then commits tx, or rolls it back if fn
// failed.
func commitOrRollback(tx *sqlx.Tx, fn func(tx *sqlx.Tx) error) error {
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// writeMany is write for a transaction of multi-row statements that each
// change many pages already in the file (a run's findings: three indexes
// in three orders, so that one of them is always written at random).
// SQLite keeps the first version of each page a statement changes in a
// statement journal, to undo the statement alone if it fails; past 64 KiB
// that journal goes to a temporary file, one write per page, and a
// 200-row statement changes up to a page per row. With the journal in
// memory (temp_store = MEMORY, for this transaction only: a sort of its
// own would be held in memory too, and the migrations' are not bounded),
// a 100,000-person day 1 saved its findings in 5.5 s instead of 6.0, with
// 0.7 fewer CPU-seconds in the kernel (medians of 6 runs each, in turn).
// fn may also enlarge the connection's page cache: it is set back after.
func (s *Store) writeMany(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA temp_store = DEFAULT; PRAGMA cache_size = -%d`, cacheKiB)); err != nil {
			// Not back in the pool as it is: database/sql closes a
			// connection that says it is bad.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	return commitOrRollback(tx, fn)
}

// Time encoding: RFC 3339 with nanoseconds in UTC; the zero time is NULL.
const timeLayout = "2006-01-02T15:04:05.999999999Z07:00"

// T encodes a time for a column.
func T(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// ParseT decodes a time column (NULL or empty is the zero time).
func ParseT(v sql.NullString) (time.Time, error) {
	if !v.Valid || v.String == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, v.String)
}

func mustT(v sql.NullString) time.Time {
	t, _ := ParseT(v)
	return t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// JoinLines and SplitLines encode a list of names as one column.
func JoinLines(xs []string) string { return strings.Join(xs, "\n") }

// SplitLines is the inverse of JoinLines.
func SplitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ErrNoRun is returned when a run asked for does not exist.
var ErrNoRun = errors.New("no such run")
