package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The audit trail on PostgreSQL is reconcile/store's AuditTrail (the same
// records, hash chain, signed checkpoints, verification and trim) over this
// store's audit table:
//
//   - appends are serialised across every process on the database: the
//     insert's transaction takes an advisory lock before reading the head,
//     so the sequence has no gaps and the chain no forks, and a whole
//     append (insert and mirror line) holds a session advisory lock, so
//     each machine's mirror file is written in sequence order;
//   - the table refuses UPDATE, DELETE and TRUNCATE (a trigger); a trim
//     deletes a prefix in a transaction that says so
//     (accessrecon.audit_trim), as SQLite's trim drops its trigger;
//   - a record's time is kept as the text reconcile/store writes (to the
//     nanosecond), since it is hashed, and its detail as text, since jsonb
//     would reorder its keys.
//
// Audit("") keeps the trail in the database alone (no file beside a store
// that has no file); a path mirrors it to a JSON Lines file on this
// machine, which each append first catches up with what other machines
// appended (not a repair).

// Audit returns the store's audit trail, mirrored to the JSON Lines file at
// path on this machine ("" for none: the database is the record).
func (s *Store) Audit(path string) *store.AuditTrail {
	return store.NewAuditTrail(pgAudit{s}, path)
}

// auditSpace is the first key of the audit trail's advisory locks.
const auditSpace = 0x61726175 // "arau"

// The second keys: one for the insert transactions, one for whole appends.
const (
	auditInsertLock = 1
	auditAppendLock = 2
)

type pgAudit struct{ s *Store }

type pgAuditTx struct{ tx *sqlx.Tx }

var _ store.AuditDB = pgAudit{}

func (d pgAudit) AuditWrite(ctx context.Context, fn func(store.AuditTx) error) error {
	return d.s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, auditSpace, auditInsertLock); err != nil {
			return fmt.Errorf("lock the audit trail: %w", err)
		}
		return fn(pgAuditTx{tx})
	})
}

func auditHead(ctx context.Context, q sqlx.QueryerContext) (int64, string, error) {
	var last struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	err := sqlx.GetContext(ctx, q, &last, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return last.Seq, last.Hash, err
}

func (d pgAudit) AuditHead(ctx context.Context) (int64, string, error) { return auditHead(ctx, d.s.db) }

func (d pgAudit) AuditHash(ctx context.Context, seq int64) (string, error) {
	var h string
	err := d.s.db.GetContext(ctx, &h, `SELECT hash FROM audit WHERE seq = $1`, seq)
	return h, err
}

func (d pgAudit) AuditRecords(ctx context.Context, from int64, fn func(store.AuditRecord) error) error {
	rows, err := d.s.db.QueryContext(ctx, `SELECT seq, at, run_id, type, actor, target, detail, prev_hash, hash FROM audit WHERE seq >= $1 ORDER BY seq`, from)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r store.AuditRecord
		var at sql.NullString
		var detail string
		if err := rows.Scan(&r.Seq, &at, &r.RunID, &r.Type, &r.Actor, &r.Target, &detail, &r.PrevHash, &r.Hash); err != nil {
			return err
		}
		// A time that does not parse reads as zero: the record's hash no
		// longer matches, and Verify says so.
		r.At, _ = store.ParseT(at)
		r.Detail = []byte(detail)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (d pgAudit) AuditCount(ctx context.Context, typ string, after int64) (int, error) {
	var n int
	err := d.s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM audit WHERE type = $1 AND seq > $2`, typ, after)
	return n, err
}

// AuditLock holds the session advisory lock of whole appends on a
// connection of its own. Waiting, it tries again every few milliseconds
// rather than holding a connection, so that waiters never starve the
// holder of the connections its insert needs.
func (d pgAudit) AuditLock(ctx context.Context) (func(), error) {
	for {
		conn, err := d.s.db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("lock the audit trail: %w", err)
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, auditSpace, auditAppendLock).Scan(&got); err != nil {
			conn.Close()
			return nil, fmt.Errorf("lock the audit trail: %w", err)
		}
		if got {
			return func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, auditSpace, auditAppendLock); err != nil {
					// Never hand a connection that may still hold the
					// lock back to the pool: the session's end frees it.
					_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				}
				conn.Close()
			}, nil
		}
		conn.Close()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock the audit trail: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// AuditShared: other machines may append to this store.
func (pgAudit) AuditShared() bool { return true }

func (x pgAuditTx) Head(ctx context.Context) (int64, string, error) { return auditHead(ctx, x.tx) }

func (x pgAuditTx) Insert(ctx context.Context, r store.AuditRecord) error {
	_, err := x.tx.ExecContext(ctx, `INSERT INTO audit (seq, at, run_id, type, actor, target, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.Seq, store.T(r.At), r.RunID, r.Type, r.Actor, r.Target, string(r.Detail), r.PrevHash, r.Hash)
	return err
}

func (x pgAuditTx) FirstKept(ctx context.Context, before time.Time) (int64, string, bool, error) {
	var first struct {
		Seq      int64  `db:"seq"`
		PrevHash string `db:"prev_hash"`
	}
	err := x.tx.GetContext(ctx, &first, `SELECT seq, prev_hash FROM audit WHERE seq >= (SELECT MIN(seq) FROM audit WHERE at::timestamptz >= $1)
		ORDER BY seq LIMIT 1`, before)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, err
	}
	return first.Seq, first.PrevHash, true, nil
}

func (x pgAuditTx) DeleteBefore(ctx context.Context, seq int64) (int64, error) {
	if _, err := x.tx.ExecContext(ctx, `SET LOCAL accessrecon.audit_trim = 'on'`); err != nil {
		return 0, err
	}
	res, err := x.tx.ExecContext(ctx, `DELETE FROM audit WHERE seq < $1`, seq)
	if err != nil {
		return 0, err
	}
	if _, err := x.tx.ExecContext(ctx, `SET LOCAL accessrecon.audit_trim = 'off'`); err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
