//go:build !cgo

package memlimit

// MapLargeC does nothing without cgo: the program then has no C
// allocations (SQLite needs cgo).
func MapLargeC() (ok bool) { return false }
