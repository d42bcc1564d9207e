package pgstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Moving a SQLite store to PostgreSQL: CopyFromSQLite copies every table of
// a reconcile/store database, row for row, into an empty store, so that
// the PostgreSQL store goes on where the SQLite one stopped: the same runs
// and baselines, the findings' first-seen dates (the SLA clocks), holds,
// exemptions, actions (what "re-enabled after revocation" compares with),
// the outbox, and the audit trail with its hash chain and signed
// checkpoints unchanged.
//
// The tables are matched by name and their columns by name; a table or
// column on one side that the other lacks, and that this file does not
// account for, is an error, so that a migration added to one store and not
// the other fails the copy (and its test) rather than losing a column.

// sqliteOnly are the SQLite store's tables that are not copied, and why.
var sqliteOnly = map[string]string{
	"locks":           "the run lock of the processes on the SQLite store",
	"live_findings":   "SQLite's encoded record of the live findings, which PostgreSQL reads from finding_versions",
	"sqlite_sequence": "SQLite's own; finding_saves' sequence is carried over",
}

// notCopied are the PostgreSQL store's tables that are not filled from
// SQLite.
var notCopied = map[string]bool{"locks": true, "schema_migrations": true}

// copyFirst orders the tables that others refer to (foreign keys).
var copyFirst = map[string]int{"runs": 0, "finding_bodies": 1, "finding_saves": 1}

// TableCopy is one table's part of a copy.
type TableCopy struct {
	Table string
	Rows  int64
}

// pgColumn is a column of the PostgreSQL store.
type pgColumn struct {
	Name     string `db:"column_name"`
	Type     string `db:"data_type"`
	Nullable string `db:"is_nullable"`
	Serial   bool   `db:"serial"`
}

// CopyFromSQLite copies the SQLite store read through src (a read
// transaction on a reconcile/store database at this release's schema, so
// that what is copied is one state of it) into s, which must hold nothing
// yet: no row in any table but the run lock's. It is one transaction:
// after an error nothing was written. It returns the rows copied per
// table, in the order they were copied.
func (s *Store) CopyFromSQLite(ctx context.Context, src *sqlx.Tx) ([]TableCopy, error) {
	var srcTables []string
	if err := src.SelectContext(ctx, &srcTables, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`); err != nil {
		return nil, fmt.Errorf("pgstore: copy: the SQLite store's tables: %w", err)
	}
	var cols []struct {
		Table string `db:"table_name"`
		pgColumn
	}
	if err := s.db.SelectContext(ctx, &cols, `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
		COALESCE(c.column_default, '') LIKE 'nextval(%' AS serial
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`); err != nil {
		return nil, fmt.Errorf("pgstore: copy: the store's tables: %w", err)
	}
	dst := map[string][]pgColumn{}
	for _, c := range cols {
		dst[c.Table] = append(dst[c.Table], c.pgColumn)
	}
	var plan []string
	for _, t := range srcTables {
		if _, skip := sqliteOnly[t]; skip {
			continue
		}
		if _, ok := dst[t]; !ok || notCopied[t] {
			return nil, fmt.Errorf("pgstore: copy: the SQLite store's table %s has no place in the PostgreSQL store (is the SQLite store from a newer accessrecon?)", t)
		}
		plan = append(plan, t)
	}
	for t := range dst {
		if !notCopied[t] && !slices.Contains(plan, t) {
			return nil, fmt.Errorf("pgstore: copy: the PostgreSQL store's table %s has no counterpart in the SQLite store", t)
		}
	}
	rank := func(t string) int {
		if r, ok := copyFirst[t]; ok {
			return r
		}
		return len(copyFirst)
	}
	slices.SortFunc(plan, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b)) })

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: copy: %w", err)
	}
	defer conn.Close()
	var out []TableCopy
	err = conn.Raw(func(dc any) error {
		tx, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		// No audit record may be appended meanwhile (appends take this lock).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, auditSpace, auditInsertLock); err != nil {
			return err
		}
		for _, t := range plan {
			var has bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+`)`).Scan(&has); err != nil {
				return err
			}
			if has {
				return fmt.Errorf("the PostgreSQL store is not empty (table %s has rows): a store is copied into a new one only", t)
			}
		}
		for _, t := range plan {
			n, err := copyTable(ctx, src, tx, t, dst[t])
			if err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			out = append(out, TableCopy{Table: t, Rows: n})
		}
		if err := setSequences(ctx, src, tx, plan, dst); err != nil {
			return err
		}
		if err := sameAudit(ctx, src, tx); err != nil {
			return err
		}
		// The planner's statistics, which autovacuum would gather only
		// later: the first run on the store would plan without them.
		for _, t := range plan {
			if _, err := tx.Exec(ctx, `ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
				return fmt.Errorf("table %s: analyze: %w", t, err)
			}
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: copy: %w", err)
	}
	return out, nil
}

// derived are the PostgreSQL columns that SQLite does not keep, and the
// SQLite expression that makes each.
var derived = map[string]map[string]string{
	// A credential's place among its account version's credentials: SQLite
	// reads them in insertion (rowid) order, PostgreSQL by seq, from 0.
	"credential_versions": {"seq": `ROW_NUMBER() OVER (PARTITION BY target, account_id, valid_from ORDER BY rowid) - 1`},
}

// copyTable copies one table with COPY, converting each SQLite value to
// its PostgreSQL column's type.
func copyTable(ctx context.Context, src *sqlx.Tx, tx pgx.Tx, table string, pgCols []pgColumn) (int64, error) {
	var srcCols []string
	if err := src.SelectContext(ctx, &srcCols, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table); err != nil {
		return 0, err
	}
	// The columns COPY fills, in PostgreSQL's order, and what the SQLite
	// query selects for each.
	var names, exprs []string
	for _, c := range pgCols {
		switch expr, ok := derived[table][c.Name]; {
		case slices.Contains(srcCols, c.Name):
			exprs = append(exprs, `"`+c.Name+`"`)
		case ok:
			exprs = append(exprs, expr)
		default:
			return 0, fmt.Errorf("the PostgreSQL store's column %s has no counterpart in the SQLite store", c.Name)
		}
		names = append(names, c.Name)
	}
	for _, c := range srcCols {
		if !slices.Contains(names, c) {
			return 0, fmt.Errorf("the SQLite store's column %s has no place in the PostgreSQL store", c)
		}
	}
	r, err := src.QueryContext(ctx, `SELECT `+strings.Join(exprs, ", ")+` FROM "`+table+`"`)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	rs := &rowSource{rows: r, table: table, types: pgCols, vals: make([]any, len(pgCols)), ptrs: make([]any, len(pgCols))}
	for i := range rs.vals {
		rs.ptrs[i] = &rs.vals[i]
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, names, rs)
	if err != nil {
		if rs.err != nil {
			return 0, rs.err
		}
		return 0, err
	}
	if err := r.Err(); err != nil {
		return 0, err
	}
	return n, nil
}

// rowSource feeds COPY the rows of a SQLite query, converted.
type rowSource struct {
	rows  *sql.Rows
	table string
	types []pgColumn // of the query's columns
	vals  []any
	ptrs  []any
	row   int64
	err   error
}

func (s *rowSource) Next() bool {
	if s.err != nil || !s.rows.Next() {
		return false
	}
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = err
		return false
	}
	s.row++
	return true
}

func (s *rowSource) Values() ([]any, error) {
	out := make([]any, len(s.vals))
	for i, v := range s.vals {
		c, err := convert(s.table, s.types[i], v)
		if err != nil {
			s.err = fmt.Errorf("row %d, column %s: %w", s.row, s.types[i].Name, err)
			return nil, s.err
		}
		out[i] = c
	}
	return out, nil
}

func (s *rowSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// convert turns a SQLite value (int64, float64, string, []byte or nil) into
// what the PostgreSQL column c takes.
func convert(table string, c pgColumn, v any) (any, error) {
	if b, ok := v.([]byte); ok && c.Type != "bytea" {
		v = string(b)
	}
	if v == nil {
		if c.Nullable != "YES" {
			return nil, errors.New("NULL in a column that takes none")
		}
		return nil, nil
	}
	switch c.Type {
	case "text":
		if s, ok := v.(string); ok {
			return s, nil
		}
	case "bigint", "integer":
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case "boolean":
		if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
	case "bytea":
		switch b := v.(type) {
		case []byte:
			return b, nil
		case string:
			return []byte(b), nil
		}
	case "timestamp with time zone":
		if s, ok := v.(string); ok {
			t, err := store.ParseT(sql.NullString{String: s, Valid: true})
			if err != nil {
				return nil, err
			}
			if t.IsZero() {
				return convert(table, c, nil)
			}
			return t, nil
		}
	case "jsonb":
		if s, ok := v.(string); ok {
			if table == "runs" && c.Name == "guards" {
				// SQLite keeps the guards one per line.
				j, err := json.Marshal(nonNil(store.SplitLines(s)))
				return json.RawMessage(j), err
			}
			if !json.Valid([]byte(s)) {
				return nil, fmt.Errorf("not JSON: %.40q", s)
			}
			return json.RawMessage(s), nil
		}
	default:
		return nil, fmt.Errorf("the PostgreSQL type %s is not one the copy knows", c.Type)
	}
	return nil, fmt.Errorf("a %T where PostgreSQL takes %s", v, c.Type)
}

// setSequences moves each serial column's sequence past the rows copied
// (and, for finding_saves, past every number SQLite ever gave: its saves
// are never renumbered, even after a prune).
func setSequences(ctx context.Context, src *sqlx.Tx, tx pgx.Tx, plan []string, dst map[string][]pgColumn) error {
	for _, t := range plan {
		for _, c := range dst[t] {
			if !c.Serial {
				continue
			}
			var last int64
			q := `SELECT COALESCE(MAX(` + pgx.Identifier{c.Name}.Sanitize() + `), 0) FROM ` + pgx.Identifier{t}.Sanitize()
			if err := tx.QueryRow(ctx, q).Scan(&last); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			var used sql.NullInt64
			err := src.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, t).Scan(&used)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("table %s: SQLite's sequence: %w", t, err)
			}
			last = max(last, used.Int64)
			if last == 0 {
				continue // as created: the next value is 1
			}
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3)`, pgx.Identifier{t}.Sanitize(), c.Name, last); err != nil {
				return fmt.Errorf("table %s: sequence of %s: %w", t, c.Name, err)
			}
		}
	}
	return nil
}

// auditColumns are the audit table's columns, all hashed into the chain
// (seq and run_id are integers, the rest text on both stores).
const auditColumns = `seq, at, run_id, type, actor, target, detail, prev_hash, hash`

// sameAudit reads the copied audit trail back, before it is committed,
// and compares it with the SQLite store's record by record: the trail is
// evidence, and the copy holds it byte for byte or not at all.
func sameAudit(ctx context.Context, src *sqlx.Tx, tx pgx.Tx) error {
	a, err := src.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer a.Close()
	b, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer b.Close()
	type record struct {
		seq, run                                       int64
		at, typ, actor, target, detail, prevHash, hash string
	}
	for {
		var x, y record
		moreA, moreB := a.Next(), b.Next()
		if moreA {
			if err := a.Scan(&x.seq, &x.at, &x.run, &x.typ, &x.actor, &x.target, &x.detail, &x.prevHash, &x.hash); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
		}
		if moreB {
			if err := b.Scan(&y.seq, &y.at, &y.run, &y.typ, &y.actor, &y.target, &y.detail, &y.prevHash, &y.hash); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
		}
		if moreA != moreB || x != y {
			return fmt.Errorf("audit: the copied record %d is not the SQLite store's record %d", y.seq, x.seq)
		}
		if !moreA {
			break
		}
	}
	if err := a.Err(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return b.Err()
}
