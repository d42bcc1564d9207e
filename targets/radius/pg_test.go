package radius_test

import (
	"os"
	"sync/atomic"
	"testing"

	"github.com/accessrecon/accessrecon/targets/targettest"
)

// One PostgreSQL 15 server per test binary (targettest.PostgreSQL), started
// on first use and stopped by PID in TestMain; each FreeRADIUS gets its own
// database in it.
var (
	pg    targettest.PostgreSQL
	dbSeq atomic.Int64
)

func TestMain(m *testing.M) { os.Exit(pg.StopAfter(m.Run())) }

func pgPort(tb testing.TB) int { tb.Helper(); return pg.Port(tb) }
