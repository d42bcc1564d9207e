// Package storefile opens the store a configuration names: a SQLite file
// (reconcile/store) or a PostgreSQL database (reconcile/pgstore), and
// declares Store, what the command needs of either.
package storefile

import (
	"context"
	"fmt"
	"os"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Open opens the config's store; the store holds personal data, so
// its files (and SQLite's -wal and -shm, which take the database file's
// mode) are the owner's only.
func Open(ctx context.Context, cfg *config.Config) (Store, error) {
	if cfg.StoreIsPostgres() {
		// Not a file name: never create a SQLite file called "postgres:".
		return openPostgres(ctx, cfg)
	}
	path := cfg.StorePath()
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openPostgres opens the PostgreSQL store; no error carries the URL's
// password.
func openPostgres(ctx context.Context, cfg *config.Config) (Store, error) {
	dsn, err := cfg.StoreDSN()
	if err != nil {
		return nil, err
	}
	name := config.RedactDSN(dsn.Reveal())
	pg, err := pgstore.Open(ctx, dsn.Reveal())
	if err != nil {
		return nil, fmt.Errorf("store %s: %s", name, config.DSNRedactor(dsn).Redact(err.Error()))
	}
	return pg, nil
}
