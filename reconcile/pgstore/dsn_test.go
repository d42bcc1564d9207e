package pgstore

import "testing"

func TestIsDSN(t *testing.T) {
	for s, want := range map[string]bool{
		"postgres://accessrecon@db.internal/accessrecon?sslmode=verify-full": true,
		"postgresql://db/accessrecon":                                        true,
		" POSTGRES://db/x":                                                   true,
		"accessrecon.db":                                                     false,
		"/var/lib/accessrecon/postgres.db":                                   false,
		"host=db dbname=accessrecon":                                         false,
		"":                                                                   false,
	} {
		if got := IsDSN(s); got != want {
			t.Errorf("IsDSN(%q) = %v, want %v", s, got, want)
		}
	}
}
