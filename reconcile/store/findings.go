package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sys/unix"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
)

// OpenFindings returns the first-seen date and Jira key of every
// fingerprint not yet resolved (read through the driver's rows: a run
// reads every open finding, 1.8 million at a million people).
func (s *Store) OpenFindings(ctx context.Context) (*reconcile.OpenFindings, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM finding_state WHERE resolved_at IS NULL`); err != nil {
		return nil, fmt.Errorf("store: open findings: %w", err)
	}
	out := reconcile.NewOpenFindings(n)
	err := driverRows(ctx, s.db.DB, `SELECT fingerprint, first_seen, jira_key FROM finding_state WHERE resolved_at IS NULL`, nil,
		func(dest []driver.Value) error {
			fp, ok1 := dest[0].(string)
			first, ok2 := dest[1].(string)
			key, ok3 := dest[2].(string)
			if !ok1 || !ok2 || !ok3 {
				return fmt.Errorf("finding_state: an open finding reads as %T, %T, %T", dest[0], dest[1], dest[2])
			}
			o := reconcile.OpenFinding{JiraKey: key}
			o.FirstSeen = mustT(sql.NullString{String: first, Valid: true})
			out.Add(fp, o)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: open findings: %w", err)
	}
	return out, nil
}

// AllFindingStates returns the state of every fingerprint ever seen.
func (s *Store) AllFindingStates(ctx context.Context) (map[string]FindingState, error) {
	return s.findingStates(ctx, ``)
}

// StateCols selects the columns of finding_state st that FindingState
// holds, in its order: an open finding whose version is live was reported
// by the last full save ls, which SaveFindings does not write into st
// (migration 017; PostgreSQL's 007, whose store uses it too): that save is
// then its last seen run.
const StateCols = `st.fingerprint, st.kind, st.target, st.account_id, st.first_seen,
	CASE WHEN ` + seenByLastFullSave + ` THEN ls.as_of ELSE st.last_seen END,
	CASE WHEN ` + seenByLastFullSave + ` THEN ls.run_id ELSE st.last_run END, st.resolved_at, st.jira_key
	FROM finding_state st LEFT JOIN finding_last_full_save ls ON ls.id = 1 `

// seenByLastFullSave says that the last full save ls reported finding_state
// st's finding after the run st records.
const seenByLastFullSave = `(st.resolved_at IS NULL AND ls.run_id > st.last_run AND ` + HasLiveVersion + `)`

// HasLiveVersion says that finding_state st's finding has a live version.
const HasLiveVersion = `EXISTS (SELECT 1 FROM finding_versions v WHERE v.fingerprint = st.fingerprint AND v.to_seq = 9223372036854775807)`

// KeepLastSeen writes the last full save's run and as-of into the state of
// each open finding it reported whose live version is about to end or go
// (the versions v that which selects, a condition with args): the version
// said it until then (StateCols), nothing would afterwards. The statement
// is the same on SQLite and PostgreSQL.
func KeepLastSeen(ctx context.Context, tx *sqlx.Tx, which string, args ...any) error {
	_, err := tx.ExecContext(ctx, `UPDATE finding_state AS st SET last_seen = ls.as_of, last_run = ls.run_id
		FROM finding_last_full_save ls, finding_versions v
		WHERE ls.id = 1 AND v.to_seq = 9223372036854775807 AND (`+which+`) AND st.fingerprint = v.fingerprint
		AND st.resolved_at IS NULL AND ls.run_id > st.last_run`, args...)
	if err != nil {
		return fmt.Errorf("last seen: %w", err)
	}
	return nil
}

// jsonArray is vs as a JSON array, for json_each.
func jsonArray[T any](vs []T) (string, error) {
	b, err := json.Marshal(vs)
	return string(b), err
}

func (s *Store) findingStates(ctx context.Context, where string) (map[string]FindingState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+StateCols+where)
	if err != nil {
		return nil, fmt.Errorf("store: finding states: %w", err)
	}
	defer rows.Close()
	out := map[string]FindingState{}
	for rows.Next() {
		var st FindingState
		var first, last, resolved sql.NullString
		if err := rows.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &last, &st.LastRun, &resolved, &st.JiraKey); err != nil {
			return nil, fmt.Errorf("store: finding states: %w", err)
		}
		st.FirstSeen, st.LastSeen, st.ResolvedAt = mustT(first), mustT(last), mustT(resolved)
		st.Resolved = resolved.Valid
		out[st.Fingerprint] = st
	}
	return out, rows.Err()
}

// SaveFindings writes a run's findings and updates each fingerprint's state:
// seen now (first seen kept while it stays open, restarted when a resolved
// problem returns). Open fingerprints this run did not see are marked
// resolved at asOf when resolves(kind, target) says the run looked for them
// (a run that could not collect a target, or whose scope left a kind out,
// resolves nothing there). It returns the fingerprints it resolved.
//
// Findings are kept as events (migration 013): a finding reported
// unchanged since the previous full run costs no write at all (its live
// version says the last full save saw it, migration 017, StateCols); a
// new or changed one a version row, and a body row when that body was
// never stored. A run saves its
// findings once: a second call for the same run fails.
func (s *Store) SaveFindings(ctx context.Context, runID int64, asOf time.Time, rows reconcile.FindingRows, resolves func(kind, target string) bool) ([]FindingState, error) {
	var resolved []FindingState
	err := s.writeMany(ctx, func(tx *sqlx.Tx) error {
		resolved = resolved[:0]
		var scope string
		if err := tx.GetContext(ctx, &scope, `SELECT scope FROM runs WHERE id = ?`, runID); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		// The open states are read on a connection of their own while the
		// versions are saved (readOpen).
		var open openStates
		var openErr error
		var reading sync.WaitGroup
		reading.Go(func() { open, openErr = s.readOpen(ctx, rows, runID) })
		changed, continued, err := saveVersions(ctx, tx, runID, partialScope(scope), rows, true)
		reading.Wait()
		if err != nil {
			return err
		}
		if openErr != nil {
			return fmt.Errorf("open finding states: %w", openErr)
		}
		// Per-row statements run without a cancellable context (go-sqlite3
		// starts a goroutine for each statement that has one); ctx is
		// checked every thousand rows instead.
		bg := context.WithoutCancel(ctx)
		full := !partialScope(scope)
		if full {
			// The findings it reported unchanged that are open are seen
			// by this save without a write of their own (StateCols).
			if _, err := tx.ExecContext(ctx, `INSERT INTO finding_last_full_save (id, run_id, as_of) VALUES (1, ?, ?)
				ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, as_of = excluded.as_of`, runID, T(asOf)); err != nil {
				return err
			}
		}
		// The few reported unchanged whose state is resolved or pruned go
		// through the upsert below with the new ones.
		for _, k := range continued {
			if !open.open[k] {
				changed = append(changed, k)
			}
		}
		err = execBatches(ctx, tx, `INSERT INTO finding_state (fingerprint, kind, target, account_id, first_seen, last_seen, last_run) VALUES `,
			`(?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT(fingerprint) DO UPDATE SET
				first_seen = CASE WHEN finding_state.resolved_at IS NULL THEN finding_state.first_seen ELSE excluded.first_seen END,
				last_seen = excluded.last_seen, last_run = excluded.last_run, resolved_at = NULL`, len(changed), eachRow(nil, func(i int, args []any) ([]any, error) {
				f := rows.Row(changed[i])
				return append(args, f.Fingerprint, f.Kind, f.Target, f.AccountID, T(f.FirstSeen), T(asOf), runID), nil
			}))
		if err != nil {
			return fmt.Errorf("finding states: %w", err)
		}
		if len(open.stale) > 0 {
			arr, err := jsonArray(open.stale)
			if err != nil {
				return err
			}
			q, err := tx.QueryContext(ctx, `SELECT fingerprint, kind, target, account_id, first_seen, jira_key FROM finding_state
				WHERE fingerprint IN (SELECT value FROM json_each(?)) ORDER BY fingerprint`, arr)
			if err != nil {
				return err
			}
			for q.Next() {
				var st FindingState
				var first sql.NullString
				if err := q.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &st.JiraKey); err != nil {
					q.Close()
					return err
				}
				st.FirstSeen = mustT(first)
				if resolves(st.Kind, st.Target) {
					st.Resolved, st.ResolvedAt = true, asOf
					resolved = append(resolved, st)
				}
			}
			q.Close()
			if err := q.Err(); err != nil {
				return err
			}
		}
		if len(resolved) > 0 && !full {
			// A partial save resolves findings the last full one may have
			// reported, their versions still live.
			fps := make([]string, len(resolved))
			for i, st := range resolved {
				fps[i] = st.Fingerprint
			}
			arr, err := jsonArray(fps)
			if err != nil {
				return err
			}
			if err := KeepLastSeen(ctx, tx, `v.fingerprint IN (SELECT value FROM json_each(?))`, arr); err != nil {
				return err
			}
		}
		res, err := tx.PrepareContext(ctx, `UPDATE finding_state SET resolved_at = ? WHERE fingerprint = ?`)
		if err != nil {
			return err
		}
		defer res.Close()
		for _, st := range resolved {
			if _, err := res.ExecContext(bg, T(asOf), st.Fingerprint); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save findings of run %d: %w", runID, err)
	}
	return resolved, nil
}

// openStates is what the open finding states say of a save's rows: which
// rows have one (open, by place in the rows), and which open states no
// row reports and no run saw since before the saving one (stale).
type openStates struct {
	open  []bool
	stale []string
}

// readOpen reads the open finding states in fingerprint order beside rows
// (in that order too), on a connection of its own, for SaveFindings while
// it saves the versions, on another processor (a save of 183,000
// findings, one in a thousand changed, took 108-164 ms instead of
// 151-246: BenchmarkSaveFindingsUnchanged, six runs each in turn). One
// walk of the states, in the order they are stored, instead of a look-up
// for each live version and each open state (3.1 s of a 1,000,000-person
// day 2's save), keeping a flag a row and the few stale states, not the
// states (72 MB at a million people).
//
// The save's write transaction began IMMEDIATE: no other writer commits
// before it does, so the read sees the states as the transaction found
// them. What the transaction writes before it uses them changes no
// state's fingerprint nor resolves one, and raises last_run only to the
// last full save's run (KeepLastSeen), which is below the saving run's:
// the answers are the same.
//
// After a full save a finding has a live version exactly when it is in
// rows; a partial save's rows are all new versions, whose states it writes
// as seen by runID. Either way the stale states are the open ones last
// seen before runID that, after a full save, have no live version.
func (s *Store) readOpen(ctx context.Context, rows reconcile.FindingRows, runID int64) (openStates, error) {
	n := rows.Len()
	out := openStates{open: make([]bool, n)}
	k := 0 // the next row
	prev := ""
	// Without ctx's cancel: go-sqlite3 starts a goroutine for each row of
	// a query that has one.
	err := driverRows(context.WithoutCancel(ctx), s.db.DB, `SELECT fingerprint, last_run FROM finding_state WHERE resolved_at IS NULL ORDER BY fingerprint`, nil,
		func(dest []driver.Value) error {
			fp, ok1 := dest[0].(string)
			last, ok2 := dest[1].(int64)
			if !ok1 || !ok2 {
				return fmt.Errorf("finding_state: an open finding reads as %T, %T", dest[0], dest[1])
			}
			if fp <= prev && prev != "" {
				return fmt.Errorf("finding states: %q read after %q", fp, prev)
			}
			prev = fp
			for k < n && key(rows, k) < fp {
				k++
			}
			switch {
			case k < n && key(rows, k) == fp:
				out.open[k] = true
				k++
			case last < runID:
				out.stale = append(out.stale, fp)
			}
			return nil
		})
	return out, err
}

// key is the fingerprint of rows' i-th.
func key(rows reconcile.FindingRows, i int) string {
	fp, _ := rows.Key(i)
	return fp
}

// liveSeq is finding_versions.to_seq of a version still live: reported by
// every full save since its from_seq.
const liveSeq = math.MaxInt64

// partialScope says whether a run of this scope sees only part of the
// estate (targeted "people:…", or some kinds): its findings are versions of
// its own save, and it leaves the full runs' versions alone.
func partialScope(scope string) bool { return scope != "" && scope != "full" }

// batchRows is how many rows a multi-row statement of execBatches carries.
const batchRows = 200

// execBatches runs prefix + "row, row, …" + suffix over n rows, batchRows at
// a time, the statement of a full batch prepared once; args(lo, hi) gives
// the arguments of rows lo to hi-1 (after those of prefix, if any), in a
// slice it may reuse once it is called again. Each statement must affect
// one row per row it carries (checked over the call, by the connection's
// changes). ctx is checked between statements, which run without a
// cancellable context (go-sqlite3 starts a goroutine for each statement
// that has one).
//
// The arguments of the next batch are made on another goroutine while
// SQLite runs a statement: args must not use tx. A batch's arguments can
// cost as much as its statement (a finding's body read back from the
// spool and copied), and the store's writer is one core: day 1 at 100,000
// people saved its findings in 3.6-4.3 s instead of 4.2-4.8 (four runs
// each).
func execBatches(ctx context.Context, tx *sqlx.Tx, prefix, row, suffix string, n int, args func(lo, hi int) ([]any, error)) error {
	stmt := func(k int) string { return prefix + strings.Repeat(row+", ", k-1) + row + suffix }
	var full *sql.Stmt
	bg := context.WithoutCancel(ctx)
	// Every row a statement carries must be written: counted by the
	// connection's changes, as a statement is run as a query (below).
	counted := !strings.Contains(suffix, "DO NOTHING") // rows already there are not inserted again
	var before int64
	if counted {
		if err := tx.QueryRowContext(bg, `SELECT total_changes()`).Scan(&before); err != nil {
			return err
		}
	}
	batches, stop := makeBatches(n, args)
	defer stop()
	for lo := 0; lo < n; lo += batchRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(batchRows, n-lo)
		b := <-batches
		if b.err != nil {
			return b.err
		}
		var rows *sql.Rows
		var err error
		// A query, not an Exec: go-sqlite3 binds a query's arguments and
		// takes its step in one call into C, an Exec's in one call per
		// argument (15 a row for an account: a third of day 1's writing).
		if k == batchRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, stmt(k)); err != nil {
					return err
				}
				defer full.Close()
			}
			rows, err = full.QueryContext(bg, b.args...)
		} else {
			rows, err = tx.QueryContext(bg, stmt(k), b.args...)
		}
		if err != nil {
			return err
		}
		for rows.Next() { // none: the statement has no RETURNING
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	if counted {
		var after int64
		if err := tx.QueryRowContext(bg, `SELECT total_changes()`).Scan(&after); err != nil {
			return err
		}
		if after-before != int64(n) {
			return fmt.Errorf("%d rows written of %d", after-before, n)
		}
	}
	return nil
}

// batchArgs are one batch's arguments for execBatches, or the error that
// made them fail.
type batchArgs struct {
	args []any
	err  error
}

// makeBatches makes the arguments of n rows' batches, in order, on a
// goroutine of its own, one batch ahead of the one taken from the channel.
// Each batch's arguments are copied out of what args returns (which it
// may reuse) into one of three slices: the one in use by the statement
// being run, the one waiting in the channel, the one being made. stop ends
// the goroutine and waits for it; nothing is made after an error.
func makeBatches(n int, args func(lo, hi int) ([]any, error)) (<-chan batchArgs, func()) {
	out := make(chan batchArgs, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var bufs [3][]any
		for i, lo := 0, 0; lo < n; i, lo = i+1, lo+batchRows {
			as, err := args(lo, min(lo+batchRows, n))
			b := batchArgs{err: err}
			if err == nil {
				bufs[i%3] = append(bufs[i%3][:0], as...)
				b.args = bufs[i%3]
			}
			select {
			case out <- b:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	})
	return out, func() {
		close(done)
		wg.Wait()
	}
}

// eachRow makes execBatches' args from lead, the arguments of its prefix,
// and row(i, dst), which appends row i's to dst. The slice it returns is
// reused for the next batch.
func eachRow(lead []any, row func(i int, dst []any) ([]any, error)) func(lo, hi int) ([]any, error) {
	var as []any
	return func(lo, hi int) ([]any, error) {
		as = append(as[:0], lead...)
		for i := lo; i < hi; i++ {
			var err error
			if as, err = row(i, as); err != nil {
				return nil, err
			}
		}
		return as, nil
	}
}

// flatRows makes execBatches' args from vals, the arguments of every row
// in turn, cols a row.
func flatRows(vals []any, cols int) func(lo, hi int) ([]any, error) {
	return func(lo, hi int) ([]any, error) { return vals[cols*lo : cols*hi], nil }
}

// saveVersions records the findings (sorted by fingerprint) of one run's
// save: a new save sequence number, then versions and bodies as migration
// 013 describes. It returns the rows (their places in rows, in order) that
// started a new version (changed) and, for a full save, those that extended
// a live one (continued).
// live says that the save is this release's (not migration 013's
// conversion, which keeps the finding states as they were): the live
// versions a full save leaves are recorded in live_findings and read from
// there (saveLive, liveVersions), and the findings whose live versions it
// ends keep the last full save as their last seen (KeepLastSeen).
func saveVersions(ctx context.Context, tx *sqlx.Tx, runID int64, partial bool, rows reconcile.FindingRows, live bool) (changed, continued []int, err error) {
	// In key order (the rows' order), B-tree inserts touch each page once
	// instead of at random.
	if err := reconcile.CheckRowOrder(rows); err != nil {
		return nil, nil, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO finding_saves (run_id, side) VALUES (?, ?)`, runID, b2i(partial))
	if err != nil {
		return nil, nil, fmt.Errorf("findings of run %d already saved, or: %w", runID, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return nil, nil, err
	}
	// Rows and live versions are both in fingerprint order: one walk.
	m := liveMerge{rows: rows}
	if !partial {
		m.ids = make([]int64, rows.Len())
		if err := liveVersions(ctx, tx, seq, live, m.live); err != nil {
			return nil, nil, err
		}
	}
	m.end()
	fresh, continued, replaced, gone, ids := m.fresh, m.continued, m.replaced, m.gone, m.ids
	slices.Sort(gone)
	if kib := len(fresh) / 16; live && kib > cacheKiB {
		// Each new body goes into the index of hashes at random: with
		// the pages of that index cached (about 30 bytes a body; 64 are
		// allowed), a page is not written out and read back for each.
		// writeMany sets the cache back after the save. Day 1 at 100,000
		// people: findings saved in 3.8-5.1 s instead of 4.8-6.0.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, kib)); err != nil {
			return nil, nil, err
		}
	}
	// Bodies never stored (one seen before, a finding changed back, is
	// kept), then a version per new or changed finding, in multi-row
	// statements.
	err = execBatches(ctx, tx, `INSERT INTO finding_bodies (hash, kind, severity, disposition, target, account_id, employee_id, body) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT (hash) DO NOTHING`, len(fresh), eachRow(nil, func(n int, args []any) ([]any, error) {
			f := rows.Row(fresh[n])
			body, err := rows.Body(fresh[n])
			return append(args, f.Hash, f.Kind, f.Severity, f.Disposition, f.Target, f.AccountID, f.EmployeeID, string(body)), err
		}))
	if err != nil {
		return nil, nil, fmt.Errorf("finding bodies: %w", err)
	}
	to := int64(liveSeq)
	if partial {
		to = seq
	}
	err = execBatches(ctx, tx, `INSERT INTO finding_versions (fingerprint, body_id, from_seq, to_seq)
		SELECT v.column1, b.id, ?, ? FROM (VALUES `, `(?, ?)`, `) v JOIN finding_bodies b ON b.hash = v.column2`, len(fresh),
		eachRow([]any{seq, to}, func(n int, args []any) ([]any, error) {
			fp, hash := rows.Key(fresh[n])
			return append(args, fp, hash), nil
		}))
	if err != nil {
		return nil, nil, fmt.Errorf("finding versions: %w", err)
	}
	if len(gone) > 0 && live {
		arr, err := jsonArray(gone)
		if err != nil {
			return nil, nil, err
		}
		if err := KeepLastSeen(ctx, tx, `v.id IN (SELECT value FROM json_each(?))`, arr); err != nil {
			return nil, nil, err
		}
	}
	if err := closeVersions(ctx, tx, seq, slices.Concat(replaced, gone)); err != nil {
		return nil, nil, err
	}
	if !partial && live {
		if err := saveLive(ctx, tx, seq, rows, ids); err != nil {
			return nil, nil, fmt.Errorf("live versions: %w", err)
		}
	}
	return fresh, continued, nil
}

// saveLive records the live versions that full save seq leaves: every row
// it reported (rows, in fingerprint order), with the version it continued
// (ids[i]) or the one it started (0 in ids, read back here).
func saveLive(ctx context.Context, tx *sqlx.Tx, seq int64, rows reconcile.FindingRows, ids []int64) error {
	started, err := tx.QueryContext(ctx, `SELECT id, fingerprint FROM finding_versions WHERE to_seq = ? AND from_seq = ?`, liveSeq, seq)
	if err != nil {
		return err
	}
	defer started.Close()
	for started.Next() {
		var id int64
		var fp string
		if err := started.Scan(&id, &fp); err != nil {
			return err
		}
		i, ok := sort.Find(rows.Len(), func(i int) int { return strings.Compare(fp, key(rows, i)) })
		if !ok || ids[i] != 0 {
			return fmt.Errorf("version %d of %s is not one this save started", id, fp)
		}
		ids[i] = id
	}
	if err := started.Err(); err != nil {
		return err
	}
	if i := slices.Index(ids, 0); i >= 0 {
		return fmt.Errorf("%s has no live version", key(rows, i))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM live_findings`); err != nil {
		return err
	}
	w := snapdelta.NewPartWriter(ctx, tx, `INSERT INTO live_findings (seq, part, body) VALUES (?, ?, ?)`, seq)
	err = encodeLive(w, rows.Len(), func(i int) string { return key(rows, i) }, func(i int) int64 { return ids[i] },
		func(i int) []byte { _, h := rows.Key(i); return h })
	if err != nil {
		return err
	}
	return w.Close()
}

// liveMerge walks a save's rows beside the live versions before it, both
// in fingerprint order (live, then end): each row is new or changed
// (fresh, and a changed one's version replaced), or the same as its live
// version (continued, ids); a live version without a row is gone.
type liveMerge struct {
	rows             reconcile.FindingRows
	i                int     // the next row
	ids              []int64 // of a full save: each row's live version after it
	fresh, continued []int
	replaced, gone   []int64 // live versions closed: the body changed; not reported
}

// live takes the next live version: fingerprint fp, row id, body's hash.
func (m *liveMerge) live(fp []byte, id int64, hash []byte) {
	for ; m.i < m.rows.Len(); m.i++ { // the rows before it are new
		if rfp, _ := m.rows.Key(m.i); rfp >= string(fp) {
			break
		}
		m.fresh = append(m.fresh, m.i)
	}
	if m.i == m.rows.Len() {
		m.gone = append(m.gone, id)
		return
	}
	rfp, rhash := m.rows.Key(m.i)
	switch {
	case rfp != string(fp): // not reported
		m.gone = append(m.gone, id)
		return
	case bytes.Equal(hash, rhash):
		m.continued = append(m.continued, m.i)
		m.ids[m.i] = id
	default: // changed: a version of its new body replaces it
		m.replaced = append(m.replaced, id)
		m.fresh = append(m.fresh, m.i)
	}
	m.i++
}

// end takes the rows after the last live version: new.
func (m *liveMerge) end() {
	for ; m.i < m.rows.Len(); m.i++ {
		m.fresh = append(m.fresh, m.i)
	}
}

// liveVersions calls each with the live versions before save seq, in
// fingerprint order: those the last full save recorded (saveLive; cached
// false: never), or else read from the versions. Each keeps nothing of
// what it is given.
func liveVersions(ctx context.Context, tx *sqlx.Tx, seq int64, cached bool, each func(fp []byte, id int64, hash []byte)) error {
	var prev sql.NullInt64
	if err := tx.GetContext(ctx, &prev, `SELECT MAX(seq) FROM finding_saves WHERE side = 0 AND seq < ?`, seq); err != nil {
		return err
	}
	if prev.Valid && cached {
		if ok, err := cachedLive(ctx, tx, prev.Int64, each); err != nil || ok {
			return err
		}
	}
	q, err := tx.QueryContext(ctx, `SELECT v.id, v.fingerprint, b.hash FROM finding_versions v JOIN finding_bodies b ON b.id = v.body_id
		WHERE v.to_seq = ? ORDER BY v.fingerprint`, liveSeq)
	if err != nil {
		return err
	}
	defer q.Close()
	var last []byte
	var lastID int64
	for n := 0; q.Next(); n++ {
		var id int64
		var fp, hash []byte
		if err := q.Scan(&id, &fp, &hash); err != nil {
			return err
		}
		if n > 0 && bytes.Compare(last, fp) >= 0 {
			return fmt.Errorf("finding %s has two live versions (%d, %d)", fp, lastID, id)
		}
		each(fp, id, hash)
		last, lastID = fp, id
	}
	return q.Err()
}

// closeVersions ends, at the save before seq, the live versions (by row
// ID) that save seq replaced (the body changed: it started a new version)
// or no longer reported. One statement per version, by its ID: a statement
// for all the replaced ones at once, by what the save started, read every
// live version (1.8 million at a million people) to find them.
func closeVersions(ctx context.Context, tx *sqlx.Tx, seq int64, ids []int64) error {
	closeStmt, err := tx.PrepareContext(ctx, `UPDATE finding_versions SET to_seq = ? WHERE id = ? AND to_seq = ?`)
	if err != nil {
		return err
	}
	defer closeStmt.Close()
	bg := context.WithoutCancel(ctx)
	for i, id := range ids {
		if i%1000 == 999 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		res, err := closeStmt.ExecContext(bg, seq-1, id, liveSeq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("close version %d: %d closed (%v), want 1", id, n, err)
		}
	}
	return nil
}

// findingsOf returns the FROM and WHERE clause selecting the findings of
// one save (finding_versions v joined with finding_bodies b) and their
// arguments; ok is false, with a nil error, when the run saved none.
func findingsOf(ctx context.Context, q sqlx.QueryerContext, runID int64) (clause string, args []any, ok bool, err error) {
	var save struct {
		Seq  int64 `db:"seq"`
		Side bool  `db:"side"`
	}
	err = sqlx.GetContext(ctx, q, &save, `SELECT seq, side FROM finding_saves WHERE run_id = ?`, runID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	clause = ` FROM finding_versions v JOIN finding_bodies b ON b.id = v.body_id WHERE v.to_seq >= ? AND v.from_seq <= ?`
	if save.Side {
		clause = ` FROM finding_versions v JOIN finding_bodies b ON b.id = v.body_id WHERE v.to_seq = ? AND v.from_seq = ?`
	}
	return clause, []any{save.Seq, save.Seq}, true, nil
}

// FindingBodies returns the serialised findings of a run, most severe first.
func (s *Store) FindingBodies(ctx context.Context, runID int64) ([][]byte, error) {
	from, args, ok, err := findingsOf(ctx, s.db, runID)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("store: findings of run %d: %w", runID, err)
		}
		return [][]byte{}, err
	}
	var bodies []string
	if err := s.db.SelectContext(ctx, &bodies, `SELECT b.body`+from+`
		ORDER BY CASE b.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, b.kind, b.target, b.account_id`, args...); err != nil {
		return nil, fmt.Errorf("store: findings of run %d: %w", runID, err)
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = []byte(b)
	}
	return out, nil
}

// SetJiraKey records the ticket that tracks a fingerprint.
func (s *Store) SetJiraKey(ctx context.Context, fingerprint, key string) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE finding_state SET jira_key = ? WHERE fingerprint = ?`, key, fingerprint)
		return err
	})
}

// SaveDrift writes a run's drift events.
func (s *Store) SaveDrift(ctx context.Context, runID int64, drift []DriftRow) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO drift (run_id, side, target, subject, kind, detail) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, d := range drift {
			if _, err := st.ExecContext(ctx, runID, d.Side, d.Target, d.Subject, d.Kind, d.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save drift of run %d: %w", runID, err)
	}
	return nil
}

// Retention says how long the store keeps what.
type Retention struct {
	Snapshots time.Duration // the snapshots of old runs: versions no kept run shows
	Findings  time.Duration // drift, findings and runs themselves
}

// Prune deletes what is older than the retention allows, measured back from
// now. The newest completed run's snapshots and the baselines (each
// target's last good snapshot and the last trusted HR snapshot:
// pruneSnapshots) are always kept, whatever their age, since the next
// run's drift is computed against them.
func (s *Store) Prune(ctx context.Context, now time.Time, r Retention) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		var keep sql.NullInt64
		if err := tx.GetContext(ctx, &keep, `SELECT MAX(id) FROM runs WHERE status NOT IN ('failed', 'running', 'crashed')`); err != nil {
			return err
		}
		if r.Snapshots > 0 {
			if err := pruneSnapshots(ctx, tx, T(now.Add(-r.Snapshots)), keep.Int64); err != nil {
				return err
			}
		}
		if r.Findings > 0 {
			cut := T(now.Add(-r.Findings))
			if _, err := tx.ExecContext(ctx, `DELETE FROM drift WHERE run_id IN (SELECT id FROM runs WHERE started_at < ? AND id != ?)`, cut, keep.Int64); err != nil {
				return err
			}
			if err := pruneFindingSaves(ctx, tx, cut, keep.Int64); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM finding_state WHERE resolved_at IS NOT NULL AND resolved_at < ?`, cut); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	if err := s.reclaim(ctx, diskFree); err != nil {
		return fmt.Errorf("store: giving back free space: %w", err)
	}
	return nil
}

// reclaimAtLeast is the free space below which reclaim leaves a store as
// it is.
const reclaimAtLeast = 8 << 20

// reclaim gives the file system back the store's free pages (VACUUM) when
// they are more than half the file and at least reclaimAtLeast. SQLite
// reuses the pages a delete frees, so a store that grows with change never
// has that many; one made before migration 012 has: the full copies every
// run wrote (500 MB a run at a million accounts), which the migration
// converts to versions, then drops. The first prune after it rewrites the
// store at the size of what it holds, then truncates the write-ahead log
// the rewrite went through: a store of 1.02M accounts that the earlier
// release had run 5 days on (2,524 MB) was 2,811 MB after the migrating
// run, 1,793 MB of it free, and is 997 MB with this (11 s more, once). A
// retention shortened by much is given back the same way.
//
// The rewrite writes what the store holds twice (a temporary copy, then
// the log), so it is not begun unless the store's file system has that
// much free (free says how much: diskFree). One begun without would fill
// the disk under whatever else writes there (the audit trail's mirror,
// another job's run) before it failed: on a store holding 971 MB, with
// 605 MB of disk left, it did ("database or disk is full"). Either
// failure is a prune's (a warning); it is met again at the next.
func (s *Store) reclaim(ctx context.Context, free func(dir string) (int64, error)) error {
	var size, pages, unused int64
	err := s.db.QueryRowxContext(ctx, `SELECT page_size, page_count, freelist_count FROM pragma_page_size, pragma_page_count, pragma_freelist_count`).
		Scan(&size, &pages, &unused)
	if err != nil || unused*2 <= pages || unused*size < reclaimAtLeast {
		return err
	}
	dir, need := filepath.Dir(s.path), 2*(pages-unused)*size
	have, err := free(dir)
	if err != nil {
		return fmt.Errorf("free disk space of %s: %w", dir, err)
	}
	if have < need {
		return fmt.Errorf("%d MB of the store are free pages, but rewriting it needs %d MB of disk space and %s has %d MB",
			unused*size>>20, need>>20, dir, have>>20)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// diskFree is the space an unprivileged process may still write on the
// file system of dir, in bytes.
func diskFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// pruneSnapshots deletes the snapshots of the runs started before cut (but
// run keep's, and the baselines), then the versions that ended at or
// before the oldest run whose snapshot of their side stays: no kept
// snapshot shows them. Current versions stay, whatever their age.
//
// The baselines are the snapshots the next run reads: each target's last
// good collection's (LastGoodCollection) and the last trusted HR snapshot
// (PrevHRRun), however old; only that target's (or HR's) snapshot of the
// run, so that the other sides' history is pruned as usual. A target
// whose listing failed for longer than the retention would otherwise come
// back with no baseline: every account "created" in its drift, and an
// account someone re-enabled meanwhile not seen as re-enabled.
func pruneSnapshots(ctx context.Context, tx *sqlx.Tx, cut any, keep int64) error {
	var baselines []snapshotKey
	if err := tx.SelectContext(ctx, &baselines, `SELECT 'target' AS side, c.name AS target, MAX(c.run_id) AS run
		FROM collections c JOIN runs r ON r.id = c.run_id WHERE c.side = 'target' AND c.status = 'ok' AND `+baselineRun+` GROUP BY c.name
		UNION ALL SELECT 'hr', '', MAX(id) FROM runs r WHERE `+trustedHRRun+` HAVING MAX(id) IS NOT NULL`); err != nil {
		return err
	}
	keys := make([][3]any, len(baselines))
	for i, b := range baselines {
		keys[i] = [3]any{b.Side, b.Target, b.Run}
	}
	arr, err := jsonArray(keys)
	if err != nil {
		return err
	}
	for _, table := range []string{"snapshots", "snapshot_members"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE run_id IN (SELECT id FROM runs WHERE started_at < ? AND id != ?)
			AND NOT EXISTS (SELECT 1 FROM json_each(?) b WHERE b.value ->> 0 = `+table+`.side AND b.value ->> 1 = `+table+`.target
				AND b.value ->> 2 = `+table+`.run_id)`, cut, keep, arr); err != nil {
			return err
		}
	}
	var oldest sql.NullInt64
	if err := tx.GetContext(ctx, &oldest, `SELECT MIN(id) FROM runs WHERE NOT (started_at < ? AND id != ?)`, cut, keep); err != nil || !oldest.Valid {
		return err
	}
	// A side whose kept snapshots reach back before oldest (a baseline)
	// keeps its versions back to there; the others, to oldest.
	var older []snapshotKey
	if err := tx.SelectContext(ctx, &older, `SELECT side, target, MIN(run_id) AS run FROM snapshots WHERE run_id < ? GROUP BY side, target`,
		oldest.Int64); err != nil {
		return err
	}
	accounts := func(where string, args ...any) error {
		for _, q := range [...]string{
			`DELETE FROM credential_versions WHERE rowid IN (SELECT c.rowid FROM account_versions v JOIN credential_versions c
				ON c.target = v.target AND c.account_id = v.account_id AND c.valid_from = v.valid_from
				WHERE v.valid_to IS NOT NULL AND ` + where + `)`,
			`DELETE FROM account_versions AS v WHERE v.valid_to IS NOT NULL AND ` + where,
		} {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	}
	if err := accounts(`v.valid_to <= ? AND v.target NOT IN (SELECT target FROM snapshots WHERE side = 'target' AND run_id < ?)`,
		oldest.Int64, oldest.Int64); err != nil {
		return err
	}
	hrCut := oldest.Int64
	for _, o := range older {
		if o.Side != string(reconcile.SideTarget) {
			hrCut = o.Run
		} else if err := accounts(`v.valid_to <= ? AND v.target = ?`, o.Run, o.Target); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM person_versions WHERE valid_to IS NOT NULL AND valid_to <= ?`, hrCut)
	return err
}

// snapshotKey names one run's snapshot of one side (HR's with no target).
type snapshotKey struct {
	Side   string `db:"side"`
	Target string `db:"target"`
	Run    int64  `db:"run"`
}

// pruneFindingSaves deletes the finding saves of the runs started before
// cut (but run keep), then the versions that no save left falls in, then
// the bodies of those versions that no version uses. Only a version that
// held a deleted save can be left without one (every version holds a save
// when written, and each prune removes those left without), so only
// versions that overlap the deleted saves are looked at, and only their
// bodies: a prune costs what it deletes, not the size of the history.
func pruneFindingSaves(ctx context.Context, tx *sqlx.Tx, cut any, keep int64) error {
	var seqs []int64
	if err := tx.SelectContext(ctx, &seqs, `DELETE FROM finding_saves WHERE run_id IN (SELECT id FROM runs WHERE started_at < ? AND id != ?)
		RETURNING seq`, cut, keep); err != nil {
		return err
	}
	if len(seqs) == 0 {
		return nil
	}
	// Live versions left without a save go too: their open findings keep
	// the last full save as their last seen.
	if err := KeepLastSeen(ctx, tx, `v.from_seq <= ? AND NOT EXISTS (SELECT 1 FROM finding_saves s WHERE s.seq BETWEEN v.from_seq AND v.to_seq)`,
		slices.Max(seqs)); err != nil {
		return err
	}
	var bodies []int64
	if err := tx.SelectContext(ctx, &bodies, `DELETE FROM finding_versions WHERE to_seq >= ? AND from_seq <= ?
		AND NOT EXISTS (SELECT 1 FROM finding_saves s WHERE s.seq BETWEEN finding_versions.from_seq AND finding_versions.to_seq)
		RETURNING body_id`, slices.Min(seqs), slices.Max(seqs)); err != nil {
		return err
	}
	slices.Sort(bodies)
	bodies = slices.Compact(bodies)
	del, err := tx.PrepareContext(ctx, `DELETE FROM finding_bodies WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM finding_versions v WHERE v.body_id = ?1)`)
	if err != nil {
		return err
	}
	defer del.Close()
	bg := context.WithoutCancel(ctx)
	for i, id := range bodies {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if _, err := del.ExecContext(bg, id); err != nil {
			return err
		}
	}
	return nil
}

// migrationStep returns the Go part of a migration, run in its transaction
// after its SQL, or nil when it has none.
func migrationStep(name string) func(ctx context.Context, tx *sqlx.Tx) error {
	switch name {
	case "012_delta_snapshots.sql":
		return convertSnapshots
	case "013_finding_events.sql":
		return convertFindings
	}
	return nil
}

// convertFindings turns the findings table of migrations 001-012 (one row
// per finding per run) into saves, versions and bodies, run by run in ID
// order as if each run saved them now, then drops it. Finding states are
// kept as they are.
func convertFindings(ctx context.Context, tx *sqlx.Tx) error {
	var runs []struct {
		ID    int64  `db:"id"`
		Scope string `db:"scope"`
	}
	if err := tx.SelectContext(ctx, &runs, `SELECT r.id, r.scope FROM runs r WHERE EXISTS (SELECT 1 FROM findings f WHERE f.run_id = r.id) ORDER BY r.id`); err != nil {
		return fmt.Errorf("convert findings: %w", err)
	}
	for _, r := range runs {
		q, err := tx.QueryContext(ctx, `SELECT fingerprint, kind, severity, disposition, target, account_id, employee_id, body
			FROM findings WHERE run_id = ? ORDER BY fingerprint`, r.ID)
		if err != nil {
			return fmt.Errorf("convert findings of run %d: %w", r.ID, err)
		}
		var rows []FindingRow
		for q.Next() {
			var f FindingRow
			var body string
			if err := q.Scan(&f.Fingerprint, &f.Kind, &f.Severity, &f.Disposition, &f.Target, &f.AccountID, &f.EmployeeID, &body); err != nil {
				q.Close()
				return fmt.Errorf("convert findings of run %d: %w", r.ID, err)
			}
			f.Body = []byte(body)
			rows = append(rows, f)
		}
		q.Close()
		if err := q.Err(); err != nil {
			return fmt.Errorf("convert findings of run %d: %w", r.ID, err)
		}
		// Migration 013 runs before live_findings exists (016).
		if _, _, err := saveVersions(ctx, tx, r.ID, partialScope(r.Scope), reconcile.SortedRows(rows...), false); err != nil {
			return fmt.Errorf("convert findings of run %d: %w", r.ID, err)
		}
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE findings`)
	return err
}
