package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// `accessrecon store copy`: a SQLite store moved to PostgreSQL whole, so
// that nothing it holds is lost with the move (the SLA clocks of open
// findings, the revocations a re-enabled account is compared with, holds,
// exemptions, the audit trail). The config is the one that names the
// PostgreSQL store; --from is the SQLite file.

func defineStoreCopy(fs *flag.FlagSet) action {
	path := fs.String("config", "", "configuration `FILE` whose store (a PostgreSQL store, empty) the SQLite store is copied into")
	from := fs.String("from", "", "the SQLite store `FILE` to copy (accessrecon.db)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(*path)
		if err != nil {
			return exitFail, err
		}
		if !cfg.StoreIsPostgres() {
			return exitUsage, usageError{Msg: fmt.Sprintf("store copy: %s names a SQLite store (%s); the store copied into is a PostgreSQL one (store, store_env or store_file)",
				cfg.Path(), cfg.StorePath())}
		}
		if err := storeCopy(ctx, cfg, *from, stdout, stderr); err != nil {
			return exitFail, fmt.Errorf("store copy: %w", err)
		}
		return exitOK, nil
	}
}

func storeCopy(ctx context.Context, cfg *config.Config, from string, stdout, stderr io.Writer) error {
	// store.Open would make a new store of a file that is not there.
	if fi, err := os.Stat(from); err != nil {
		return fmt.Errorf("--from: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("--from: %s is not a file", from)
	}
	// Opening brings the SQLite store to this release's schema, the one
	// the copy knows, as a run of this release would.
	src, err := store.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("--from %s: %w", from, err)
	}
	defer src.Close()
	dst, err := storefile.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer dst.Close()
	pg, ok := dst.(*pgstore.Store)
	if !ok {
		return fmt.Errorf("%s is not a PostgreSQL store", cfg.StoreName())
	}

	// No run on either store while the copy lasts: one on the SQLite store
	// would be missing from the copy, one on the PostgreSQL store would
	// collide with it. The copy runs under both leases: it stops if either
	// is lost.
	log, _ := present.NewLogger(stderr)
	stale := config.DurOr(cfg.Serve.LockStale, 2*time.Minute)
	for _, l := range []struct {
		st   storefile.RunLock
		name string
	}{{src, from}, {dst, cfg.StoreName()}} {
		leased, release, err := runlock.New(l.st, stale, log).Hold(ctx, "accessrecon store copy", 0)
		if err != nil {
			var le *runlock.Locked
			if errors.As(err, &le) {
				return fmt.Errorf("a run is in progress on %s: %v; nothing was copied (stop the scheduler on it first)", l.name, le.Holder)
			}
			return fmt.Errorf("%s: %w", l.name, err)
		}
		defer release()
		ctx = leased
	}

	// One read transaction: what is copied is one state of the file.
	db, err := sqlx.Open("sqlite3", "file:"+from+"?mode=ro&_busy_timeout=15000")
	if err != nil {
		return fmt.Errorf("--from %s: %w", from, err)
	}
	defer db.Close()
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("--from %s: %w", from, err)
	}
	defer tx.Rollback()
	copied, err := pg.CopyFromSQLite(ctx, tx)
	if err != nil {
		return err
	}
	var total int64
	for _, c := range copied {
		fmt.Fprintf(stdout, "%-24s %10d rows\n", c.Table, c.Rows)
		total += c.Rows
	}

	// The trail as the PostgreSQL store now holds it. The copy compared it
	// with the SQLite store's record by record, so a chain broken here was
	// broken there: it is carried over as it was, and said.
	res, err := pg.Audit("").Verify(ctx)
	if err != nil {
		return fmt.Errorf("copied, but the audit trail, copied as the SQLite store held it, does not verify: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s into %s: %d rows in %d tables; the audit trail verifies (%d records, head %s)\n",
		from, cfg.StoreName(), total, len(copied), res.StoreRecords, res.LastHash)
	return nil
}
