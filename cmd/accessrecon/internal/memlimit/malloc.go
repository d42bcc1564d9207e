//go:build cgo

package memlimit

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static int mapLarge(int n) { return mallopt(M_MMAP_THRESHOLD, n); }
#else
static int mapLarge(int n) { return 0; }
#endif
*/
import "C"

// MapLargeC makes C's malloc (SQLite's, in this program) give each block
// of at least LargeC bytes its own mapping, returned to the system when it
// is freed: glibc's malloc does so only above a threshold that it raises
// to the largest such block freed so far, up to 32 MiB, and a block under
// it, once freed, stays in the process. SQLite reads and writes each
// store's encoded current versions (22 MB a target at a million people)
// and live findings (66 MB) as one block; those blocks, freed but kept,
// were 70-110 MiB of resident memory outside Go's limit through a
// 1,000,000-person run, and with a fixed threshold close to none
// (2026-12-04, day 2 from a kept store: peak RSS 2,101-2,106 MiB instead
// of 2,209-2,229). ok is false where the C library is not glibc, or it
// refused.
func MapLargeC() (ok bool) {
	return C.mapLarge(LargeC) == 1
}
