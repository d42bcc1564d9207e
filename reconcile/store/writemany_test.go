package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"
)

// A findings save keeps its statement journals in memory for its own
// transaction only, and may enlarge the page cache for it: with a single
// connection in the pool, the transaction sees temp_store = MEMORY (2),
// and every statement after it, whether the transaction committed or
// failed, the default (0) and the usual cache again.
func TestWriteManyJournalsInMemoryForItsTransactionOnly(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	st.db.SetMaxOpenConns(1)
	fails := errors.New("the transaction fails")
	for _, fail := range []bool{false, true} {
		var during, after, cache int
		err := st.writeMany(ctx, func(tx *sqlx.Tx) error {
			if err := tx.GetContext(ctx, &during, `PRAGMA temp_store`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -65536`); err != nil {
				return err
			}
			if fail {
				return fails
			}
			return nil
		})
		if fail != errors.Is(err, fails) || (!fail && err != nil) {
			t.Fatalf("fail %v: writeMany: %v", fail, err)
		}
		if err := st.db.GetContext(ctx, &after, `PRAGMA temp_store`); err != nil {
			t.Fatal(err)
		}
		if err := st.db.GetContext(ctx, &cache, `PRAGMA cache_size`); err != nil {
			t.Fatal(err)
		}
		if during != 2 || after != 0 || cache != -cacheKiB {
			t.Errorf("fail %v: temp_store %d in the transaction (want 2, MEMORY), %d after it (want 0); cache_size %d after it (want %d)",
				fail, during, after, cache, -cacheKiB)
		}
	}
}
