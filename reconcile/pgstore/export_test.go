package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jmoiron/sqlx"
)

// MigrateTo brings the schema of the database dsn names to its first n
// migrations only, as a binary that knew no more left it (tests of later
// migrations and of OpenAsIs start from there).
func MigrateTo(ctx context.Context, dsn string, n int) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if n > len(names) {
		return fmt.Errorf("%d migrations, not %d", len(names), n)
	}
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return (&Store{db: db}).applyMigrations(ctx, names, n)
}
