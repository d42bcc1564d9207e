// Package storefile opens the store a configuration names: a SQLite file
// (reconcile/store) or a PostgreSQL database (reconcile/pgstore), and
// declares Store, what the command needs of either.
package storefile

import (
	"context"
	"errors"
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
		return openPostgres(ctx, cfg, pgstore.Open)
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

// OpenAsIs opens the config's existing store without changing its schema
// (reconcile/store.OpenAsIs): one older than this binary is refused with a
// *store.SchemaBehindError. It creates nothing; an absent SQLite file is
// an error.
func OpenAsIs(ctx context.Context, cfg *config.Config) (Store, error) {
	if cfg.StoreIsPostgres() {
		return openPostgres(ctx, cfg, pgstore.OpenAsIs)
	}
	if _, err := os.Stat(cfg.StorePath()); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := store.OpenAsIs(ctx, cfg.StorePath())
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openPostgres opens the PostgreSQL store with open; no error carries the
// URL's password.
func openPostgres(ctx context.Context, cfg *config.Config, open func(context.Context, string) (*pgstore.Store, error)) (Store, error) {
	dsn, err := cfg.StoreDSN()
	if err != nil {
		return nil, err
	}
	name := config.RedactDSN(dsn.Reveal())
	pg, err := open(ctx, dsn.Reveal())
	if behind := (*store.SchemaBehindError)(nil); errors.As(err, &behind) {
		return nil, fmt.Errorf("store %s: %w", name, behind) // it holds two numbers
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %s", name, config.DSNRedactor(dsn).Redact(err.Error()))
	}
	return pg, nil
}
