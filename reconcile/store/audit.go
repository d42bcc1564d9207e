package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jmoiron/sqlx"
)

// AuditRecord is one event of the audit trail. Hash is the SHA-256 of the
// record's canonical content, which includes PrevHash, the previous record's
// hash: deleting, changing or reordering any record breaks the chain.
type AuditRecord struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	RunID    int64           `json:"run_id"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Target   string          `json:"target,omitempty"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Genesis is the PrevHash of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the hash a record must carry.
func (r AuditRecord) ComputeHash() string {
	c := r
	c.Hash = ""
	c.At = c.At.UTC()
	var buf bytes.Buffer
	if len(c.Detail) > 0 {
		_ = json.Compact(&buf, c.Detail)
		c.Detail = json.RawMessage(buf.Bytes())
	}
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// AuditTrail appends to the hash-chained audit table and mirrors every
// record as a JSON line in a file beside the store.
type AuditTrail struct {
	s    *Store
	path string
	// OnAppend, when set, is given every record once it is stored (a
	// syslog sink forwards it to a SIEM, which anchors the chain outside
	// the store).
	OnAppend func(AuditRecord)
}

// Audit returns the store's audit trail, mirrored to the JSON Lines file at
// path ("" for the default: the store's file name + ".audit.jsonl").
func (s *Store) Audit(path string) *AuditTrail {
	if path == "" {
		path = s.path + ".audit.jsonl"
	}
	return &AuditTrail{s: s, path: path}
}

// Path is the JSON Lines mirror's file name.
func (a *AuditTrail) Path() string { return a.path }

// Append adds one record; Seq, PrevHash and Hash are set here, under the
// store's write lock, so the chain has no forks.
func (a *AuditTrail) Append(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if len(r.Detail) == 0 {
		r.Detail = json.RawMessage("{}")
	}
	err := a.s.write(ctx, func(tx *sqlx.Tx) error {
		var last struct {
			Seq  sql.NullInt64  `db:"seq"`
			Hash sql.NullString `db:"hash"`
		}
		if err := tx.GetContext(ctx, &last, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r.Seq, r.PrevHash = last.Seq.Int64+1, Genesis
		if last.Hash.Valid {
			r.PrevHash = last.Hash.String
		}
		r.At = r.At.UTC()
		r.Hash = r.ComputeHash()
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, at, run_id, type, actor, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, T(r.At), r.RunID, r.Type, r.Actor, r.Target, string(r.Detail), r.PrevHash, r.Hash); err != nil {
			return err
		}
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return r, fmt.Errorf("audit: append %s: %w", r.Type, err)
	}
	if a.OnAppend != nil {
		a.OnAppend(r)
	}
	return r, nil
}

// Records streams the audit table in sequence order, from seq `from` on.
func (a *AuditTrail) Records(ctx context.Context, from int64, fn func(AuditRecord) error) error {
	rows, err := a.s.db.QueryContext(ctx, `SELECT seq, at, run_id, type, actor, target, detail, prev_hash, hash FROM audit WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r AuditRecord
		var at sql.NullString
		var detail string
		if err := rows.Scan(&r.Seq, &at, &r.RunID, &r.Type, &r.Actor, &r.Target, &detail, &r.PrevHash, &r.Hash); err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		r.At, r.Detail = mustT(at), json.RawMessage(detail)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// BrokenError names the first record where a chain breaks.
type BrokenError struct {
	Where  string // "store" or the file name
	Seq    int64  // the record's sequence number (0 if unreadable)
	Line   int    // line in the file (0 for the store)
	Reason string
}

func (e *BrokenError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("audit chain broken in %s at line %d (record %d): %s", e.Where, e.Line, e.Seq, e.Reason)
	}
	return fmt.Sprintf("audit chain broken in %s at record %d: %s", e.Where, e.Seq, e.Reason)
}

// chain checks records one after another.
type chain struct {
	where string
	n     int
	prev  *AuditRecord
	first AuditRecord
	// firstLine is the file line of the first record (0 in the store).
	firstLine int
	// vouched is set when an audit_trimmed record names the first record
	// of the chain as the point retention trimmed to.
	vouched bool
}

func (c *chain) next(r AuditRecord, line int) error {
	c.n++
	broken := func(reason string) error { return &BrokenError{Where: c.where, Seq: r.Seq, Line: line, Reason: reason} }
	if got := r.ComputeHash(); got != r.Hash {
		return broken("content does not match its hash (the record was changed)")
	}
	if c.prev == nil {
		if r.Seq == 1 && r.PrevHash != Genesis {
			return broken("first record does not start the chain")
		}
		c.first, c.firstLine = r, line
	} else {
		if r.Seq != c.prev.Seq+1 {
			return broken(fmt.Sprintf("follows record %d (records missing or reordered)", c.prev.Seq))
		}
		if r.PrevHash != c.prev.Hash {
			return broken(fmt.Sprintf("does not chain to record %d (a record was removed, changed or moved)", c.prev.Seq))
		}
	}
	if r.Type == TrimEvent {
		var d trimDetail
		if json.Unmarshal(r.Detail, &d) == nil && d.FirstKeptSeq == c.first.Seq && d.FirstKeptPrevHash == c.first.PrevHash {
			c.vouched = true
		}
	}
	c.prev = &r
	return nil
}

// end checks what can only be checked once the whole chain was read: a chain
// that does not start at record 1 must have been trimmed to exactly there.
func (c *chain) end() error {
	if c.n == 0 || c.first.Seq == 1 || c.vouched {
		return nil
	}
	return &BrokenError{Where: c.where, Seq: c.first.Seq, Line: c.firstLine, Reason: fmt.Sprintf("chain starts at record %d, not 1, and no trim record vouches for it (records were deleted)", c.first.Seq)}
}

// TrimEvent is the type of the record retention appends when it trims.
const TrimEvent = "audit_trimmed"

type trimDetail struct {
	Before            time.Time `json:"before"`
	Removed           int64     `json:"removed"`
	FirstKeptSeq      int64     `json:"first_kept_seq"`
	FirstKeptPrevHash string    `json:"first_kept_prev_hash"`
}

// Trim removes the whole prefix of records older than before (never a record
// in the middle), from the table and the file, and appends a record saying
// where the chain now starts, so that it stays verifiable from there. It is
// the only way records ever leave the trail.
func (a *AuditTrail) Trim(ctx context.Context, before time.Time) (int64, error) {
	var d trimDetail
	err := a.s.write(ctx, func(tx *sqlx.Tx) error {
		var first struct {
			Seq      sql.NullInt64  `db:"seq"`
			PrevHash sql.NullString `db:"prev_hash"`
		}
		// The first record to keep: the oldest at or after the cut, and
		// everything after it (a prefix is cut, whatever the clock did).
		err := tx.GetContext(ctx, &first, `SELECT seq, prev_hash FROM audit WHERE seq >= (SELECT MIN(seq) FROM audit WHERE at >= ?) ORDER BY seq LIMIT 1`, T(before))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !first.Seq.Valid) {
			return nil // nothing newer: keep everything rather than empty the trail
		}
		if err != nil {
			return err
		}
		// The trigger guards against every other delete; trimming a
		// prefix is the one sanctioned one.
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER IF EXISTS audit_no_delete`); err != nil {
			return err
		}
		del, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE seq < ?`, first.Seq.Int64)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never deleted'); END`); err != nil {
			return err
		}
		d = trimDetail{Before: before.UTC(), FirstKeptSeq: first.Seq.Int64, FirstKeptPrevHash: first.PrevHash.String}
		d.Removed, _ = del.RowsAffected()
		if d.Removed == 0 {
			return nil
		}
		return a.rewriteFrom(first.Seq.Int64)
	})
	if err != nil || d.Removed == 0 {
		if err != nil {
			err = fmt.Errorf("audit: trim: %w", err)
		}
		return 0, err
	}
	detail, _ := json.Marshal(d)
	_, err = a.Append(ctx, AuditRecord{At: time.Now(), Type: TrimEvent, Actor: "accessrecon", Detail: detail})
	return d.Removed, err
}

// rewriteFrom rewrites the JSON Lines file keeping the records from seq on.
func (a *AuditTrail) rewriteFrom(seq int64) error {
	in, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := a.path + ".trim"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	rd := bufio.NewReaderSize(in, 1<<16)
	for {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			var r struct {
				Seq int64 `json:"seq"`
			}
			if json.Unmarshal(line, &r) != nil || r.Seq >= seq {
				if _, werr := out.Write(line); werr != nil {
					out.Close()
					return werr
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, a.path)
}

// VerifyResult is what a verification saw.
type VerifyResult struct {
	StoreRecords int
	FileRecords  int
	LastHash     string
}

// Verify checks the chain in the store and in the JSON Lines file, and that
// both hold the same records. The error is a *BrokenError naming the first
// broken record.
func (a *AuditTrail) Verify(ctx context.Context) (VerifyResult, error) {
	var res VerifyResult
	sc := &chain{where: "store"}
	if err := a.Records(ctx, 0, func(r AuditRecord) error { return sc.next(r, 0) }); err != nil {
		return res, err
	}
	if err := sc.end(); err != nil {
		return res, err
	}
	res.StoreRecords = sc.n
	if sc.prev != nil {
		res.LastHash = sc.prev.Hash
	}
	f, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) && sc.n == 0 {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	fc := &chain{where: a.path}
	rd := bufio.NewReaderSize(f, 1<<16)
	for line := 1; ; line++ {
		b, err := rd.ReadBytes('\n')
		if len(b) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("audit: read %s: %w", a.path, err)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			return res, &BrokenError{Where: a.path, Line: line, Reason: "last line is cut short (the file was truncated)"}
		}
		var r AuditRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return res, &BrokenError{Where: a.path, Line: line, Reason: "not a valid record: " + err.Error()}
		}
		if err := fc.next(r, line); err != nil {
			return res, err
		}
	}
	if err := fc.end(); err != nil {
		return res, err
	}
	res.FileRecords = fc.n
	switch {
	case fc.n < sc.n:
		return res, &BrokenError{Where: a.path, Seq: int64(fc.n + 1), Line: fc.n + 1, Reason: fmt.Sprintf("file ends after %d records but the store holds %d (the file was truncated)", fc.n, sc.n)}
	case fc.n > sc.n:
		return res, &BrokenError{Where: "store", Seq: int64(sc.n + 1), Reason: fmt.Sprintf("store ends after %d records but the file holds %d (records were deleted from the store)", sc.n, fc.n)}
	case fc.prev != nil && fc.prev.Hash != res.LastHash:
		return res, &BrokenError{Where: a.path, Seq: fc.prev.Seq, Line: fc.n, Reason: "file and store disagree on the last record"}
	}
	return res, nil
}
