package pgstore

import "strings"

// IsDSN says whether a configured store names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file: the wiring
// opens the one or the other by this test. The key=value form that Open
// also takes is not recognised here, since a file may be named so.
func IsDSN(store string) bool {
	s := strings.ToLower(strings.TrimSpace(store))
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
