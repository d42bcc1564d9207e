package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// TestExecBatchesPipelined: the arguments of each batch are made ahead of
// its statement, in a slice args reuses, and every row is written as args
// gave it, in order; an error of args, or of a statement while the next
// batch's arguments are being made, ends the call with that error and
// nothing of later batches written.
func TestExecBatchesPipelined(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const n = 5*batchRows + 7
	// args reuses its slice for every batch, as eachRow does. Row failAt
	// cannot be made; row nullAt is made with a NULL the table refuses.
	args := func(failAt, nullAt int) func(lo, hi int) ([]any, error) {
		var as []any
		return func(lo, hi int) ([]any, error) {
			as = as[:0]
			for i := lo; i < hi; i++ {
				switch i {
				case failAt:
					return nil, fmt.Errorf("row %d cannot be made", i)
				case nullAt:
					as = append(as, i, nil)
				default:
					as = append(as, i, fmt.Sprintf("row %d", i))
				}
			}
			return as, nil
		}
	}
	run := func(args func(lo, hi int) ([]any, error)) (written int, err error) {
		err = st.write(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS eb (i INTEGER PRIMARY KEY, s TEXT NOT NULL)`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM eb`); err != nil {
				return err
			}
			err := execBatches(ctx, tx, `INSERT INTO eb (i, s) VALUES `, `(?, ?)`, ``, n, args)
			var bad int
			if qerr := tx.GetContext(ctx, &bad, `SELECT count(*) FROM eb WHERE s != 'row ' || i`); qerr != nil || bad != 0 {
				return fmt.Errorf("%d rows written with another row's arguments (%v)", bad, qerr)
			}
			if qerr := tx.GetContext(ctx, &written, `SELECT count(*) FROM eb`); qerr != nil {
				return qerr
			}
			return err
		})
		return written, err
	}
	if written, err := run(args(-1, -1)); err != nil || written != n {
		t.Fatalf("every row: %d written, %v; want %d", written, err, n)
	}
	// args fails in the fourth batch: three batches are written, no more.
	written, err := run(args(3*batchRows+5, -1))
	if want := fmt.Sprintf("row %d cannot be made", 3*batchRows+5); err == nil || err.Error() != want {
		t.Fatalf("args failing: %v, want %s", err, want)
	}
	if written != 3*batchRows {
		t.Errorf("args failing in the fourth batch: %d rows written, want %d", written, 3*batchRows)
	}
	// The second batch's statement fails while the third's arguments are
	// made: its error ends the call, and the third batch is not written.
	written, err = run(args(-1, batchRows+3))
	if err == nil || !strings.Contains(err.Error(), "NOT NULL constraint failed") {
		t.Fatalf("a statement failing: %v", err)
	}
	if written != batchRows {
		t.Errorf("a statement failing in the second batch: %d rows written, want %d", written, batchRows)
	}
	// A statement that writes fewer rows than it carries fails the call:
	// here a row already there is ignored.
	err = st.write(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM eb; INSERT INTO eb (i, s) VALUES (5, 'row 5')`); err != nil {
			return err
		}
		return execBatches(ctx, tx, `INSERT OR IGNORE INTO eb (i, s) VALUES `, `(?, ?)`, ``, n, args(-1, -1))
	})
	if want := fmt.Sprintf("%d rows written of %d", n-1, n); err == nil || err.Error() != want {
		t.Fatalf("rows ignored: %v, want %s", err, want)
	}
}
