package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// AuditDB is the table an AuditTrail chains its records in: this package's
// SQLite store, or another store (reconcile/pgstore) that keeps the same
// records with the same meaning. The chain itself (sequence, hashes,
// checkpoints, the JSON Lines mirror, verification) is the AuditTrail's, the
// same whatever the table.
type AuditDB interface {
	// AuditWrite runs fn in one write transaction, serialised with every
	// other AuditWrite on the table by every process using it: the head fn
	// reads is still the head when its insert commits.
	AuditWrite(ctx context.Context, fn func(AuditTx) error) error
	// AuditHead returns the last record's sequence number and hash (0 and
	// "" when there is none).
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// AuditHash returns the hash of record seq (an error if it is not held).
	AuditHash(ctx context.Context, seq int64) (string, error)
	// AuditRecords calls fn with each record from seq from on, in order.
	AuditRecords(ctx context.Context, from int64, fn func(AuditRecord) error) error
	// AuditCount counts the records of type typ after seq.
	AuditCount(ctx context.Context, typ string, after int64) (int, error)
	// AuditLock serialises whole appends (the insert and the line written
	// after it) of the processes using the table, for as long as the
	// returned function is not called. A store that only processes of one
	// machine open returns a no-op: the trail's file lock does it there.
	AuditLock(ctx context.Context) (unlock func(), err error)
	// AuditShared reports whether processes on other machines append to
	// the table, each mirroring it to a file of its own: a file that lacks
	// records the store committed is then caught up from the store as a
	// matter of course, not reported as a repair.
	AuditShared() bool
}

// AuditTx is an AuditWrite's transaction.
type AuditTx interface {
	// Head returns the last record's sequence number and hash (0 and ""
	// when there is none).
	Head(ctx context.Context) (seq int64, hash string, err error)
	// Insert adds a record, complete (Seq, PrevHash and Hash set).
	Insert(ctx context.Context, r AuditRecord) error
	// FirstKept returns the first record to keep when trimming the records
	// older than before: the oldest record at or after before and, being
	// a prefix cut, every record after it (ok false when there is none).
	FirstKept(ctx context.Context, before time.Time) (seq int64, prevHash string, ok bool, err error)
	// DeleteBefore removes the records before seq, the one deletion the
	// table allows, and returns how many it removed.
	DeleteBefore(ctx context.Context, seq int64) (int64, error)
}

// NewAuditTrail returns the audit trail kept in db, mirrored to the JSON
// Lines file at path; with path "" there is no mirror: the store alone is
// the record (and Verify checks it alone).
func NewAuditTrail(db AuditDB, path string) *AuditTrail {
	return &AuditTrail{db: db, path: path}
}

// sqliteAudit is the audit table of a SQLite store.
type sqliteAudit struct{ s *Store }

type sqliteAuditTx struct{ tx *sqlx.Tx }

func (d sqliteAudit) AuditWrite(ctx context.Context, fn func(AuditTx) error) error {
	return d.s.write(ctx, func(tx *sqlx.Tx) error { return fn(sqliteAuditTx{tx}) })
}

func head(ctx context.Context, q sqlx.QueryerContext) (int64, string, error) {
	var last struct {
		Seq  sql.NullInt64  `db:"seq"`
		Hash sql.NullString `db:"hash"`
	}
	if err := sqlx.GetContext(ctx, q, &last, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	return last.Seq.Int64, last.Hash.String, nil
}

func (d sqliteAudit) AuditHead(ctx context.Context) (int64, string, error) { return head(ctx, d.s.db) }

func (d sqliteAudit) AuditHash(ctx context.Context, seq int64) (string, error) {
	var h string
	err := d.s.db.GetContext(ctx, &h, `SELECT hash FROM audit WHERE seq = ?`, seq)
	return h, err
}

func (d sqliteAudit) AuditRecords(ctx context.Context, from int64, fn func(AuditRecord) error) error {
	rows, err := d.s.db.QueryContext(ctx, `SELECT seq, at, run_id, type, actor, target, detail, prev_hash, hash FROM audit WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r AuditRecord
		var at sql.NullString
		var detail string
		if err := rows.Scan(&r.Seq, &at, &r.RunID, &r.Type, &r.Actor, &r.Target, &detail, &r.PrevHash, &r.Hash); err != nil {
			return err
		}
		r.At, r.Detail = mustT(at), []byte(detail)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (d sqliteAudit) AuditCount(ctx context.Context, typ string, after int64) (int, error) {
	var n int
	err := d.s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM audit WHERE type = ? AND seq > ?`, typ, after)
	return n, err
}

func (sqliteAudit) AuditLock(context.Context) (func(), error) { return func() {}, nil }

func (sqliteAudit) AuditShared() bool { return false }

func (x sqliteAuditTx) Head(ctx context.Context) (int64, string, error) { return head(ctx, x.tx) }

func (x sqliteAuditTx) Insert(ctx context.Context, r AuditRecord) error {
	_, err := x.tx.ExecContext(ctx, `INSERT INTO audit (seq, at, run_id, type, actor, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, T(r.At), r.RunID, r.Type, r.Actor, r.Target, string(r.Detail), r.PrevHash, r.Hash)
	return err
}

func (x sqliteAuditTx) FirstKept(ctx context.Context, before time.Time) (int64, string, bool, error) {
	var first struct {
		Seq      sql.NullInt64  `db:"seq"`
		PrevHash sql.NullString `db:"prev_hash"`
	}
	err := x.tx.GetContext(ctx, &first, `SELECT seq, prev_hash FROM audit WHERE seq >= (SELECT MIN(seq) FROM audit WHERE at >= ?) ORDER BY seq LIMIT 1`, T(before))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !first.Seq.Valid) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, err
	}
	return first.Seq.Int64, first.PrevHash.String, true, nil
}

func (x sqliteAuditTx) DeleteBefore(ctx context.Context, seq int64) (int64, error) {
	// The trigger guards against every other delete; trimming a prefix is
	// the one sanctioned one.
	if _, err := x.tx.ExecContext(ctx, `DROP TRIGGER IF EXISTS audit_no_delete`); err != nil {
		return 0, err
	}
	del, err := x.tx.ExecContext(ctx, `DELETE FROM audit WHERE seq < ?`, seq)
	if err != nil {
		return 0, err
	}
	if _, err := x.tx.ExecContext(ctx, `CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never deleted'); END`); err != nil {
		return 0, err
	}
	n, err := del.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("count trimmed records: %w", err)
	}
	return n, nil
}
