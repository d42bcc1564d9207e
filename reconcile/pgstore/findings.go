package pgstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// OpenFindings returns the first-seen date and Jira key of every
// fingerprint not yet resolved.
func (s *Store) OpenFindings(ctx context.Context) (*reconcile.OpenFindings, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM finding_state WHERE resolved_at IS NULL`); err != nil {
		return nil, fmt.Errorf("pgstore: open findings: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint, first_seen, jira_key FROM finding_state WHERE resolved_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open findings: %w", err)
	}
	defer rows.Close()
	out := reconcile.NewOpenFindings(n)
	for rows.Next() {
		var fp string
		var first sql.NullTime
		var o reconcile.OpenFinding
		if err := rows.Scan(&fp, &first, &o.JiraKey); err != nil {
			return nil, fmt.Errorf("pgstore: open findings: %w", err)
		}
		o.FirstSeen = tt(first)
		out.Add(fp, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: open findings: %w", err)
	}
	return out, nil
}

// AllFindingStates returns the state of every fingerprint ever seen.
func (s *Store) AllFindingStates(ctx context.Context) (map[string]reconcile.FindingState, error) {
	return s.findingStates(ctx, ``)
}

func (s *Store) findingStates(ctx context.Context, where string) (map[string]reconcile.FindingState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+store.StateCols+where)
	if err != nil {
		return nil, fmt.Errorf("pgstore: finding states: %w", err)
	}
	defer rows.Close()
	out := map[string]reconcile.FindingState{}
	for rows.Next() {
		var st reconcile.FindingState
		var first, last, resolved sql.NullTime
		if err := rows.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &last, &st.LastRun, &resolved, &st.JiraKey); err != nil {
			return nil, fmt.Errorf("pgstore: finding states: %w", err)
		}
		st.FirstSeen, st.LastSeen, st.ResolvedAt = tt(first), tt(last), tt(resolved)
		st.Resolved = resolved.Valid
		out[st.Fingerprint] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: finding states: %w", err)
	}
	return out, nil
}

// findingsLock is the advisory lock key under which findings are saved: one
// save at a time, so that the save sequence is the order saves happen in
// and each sees the live versions the previous one left.
const findingsLock = 0x61636366696e64 // "accfind"

// SaveFindings writes a run's findings and updates each fingerprint's state:
// seen now (first seen kept while it stays open, restarted when a resolved
// problem returns). Open fingerprints this run did not see are marked
// resolved at asOf when resolves(kind, target) says the run looked for them.
// It returns the fingerprints it resolved. All of it is one transaction.
//
// Findings are kept as events (migration 004): a finding reported
// unchanged since the previous full run costs no write at all (its live
// version says the last full save saw it, migration 007, store.StateCols); a
// new or changed one a version row, and a body row when that body was
// never stored. A run saves its
// findings once: a second call for the same run fails.
func (s *Store) SaveFindings(ctx context.Context, runID int64, asOf time.Time, rows reconcile.FindingRows, resolves func(kind, target string) bool) ([]reconcile.FindingState, error) {
	var resolved []reconcile.FindingState
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		resolved = resolved[:0]
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, findingsLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var scope string
		if err := tx.GetContext(ctx, &scope, `SELECT scope FROM runs WHERE id = $1`, runID); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		full := !partialScope(scope)
		seq, changed, continued, err := saveVersions(ctx, tx, runID, !full, rows, true)
		if err != nil {
			return err
		}
		if full {
			// The findings it reported unchanged that are open are seen
			// by this save without a write of their own (store.StateCols).
			if _, err := tx.ExecContext(ctx, `INSERT INTO finding_last_full_save (id, run_id, as_of) VALUES (1, $1, $2)
				ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, as_of = excluded.as_of`, runID, asOf); err != nil {
				return err
			}
		}
		if continued > 0 {
			// The few reported unchanged whose state is resolved or
			// pruned go through the upsert below with the new ones.
			var notOpen []string
			if err := tx.SelectContext(ctx, &notOpen, `SELECT v.fingerprint FROM finding_versions v
				WHERE v.to_seq = $1 AND v.from_seq < $2
				AND NOT EXISTS (SELECT 1 FROM finding_state st WHERE st.fingerprint = v.fingerprint AND st.resolved_at IS NULL)`,
				int64(liveSeq), seq); err != nil {
				return err
			}
			for _, fp := range notOpen {
				if i, ok := sort.Find(rows.Len(), func(i int) int { fp2, _ := rows.Key(i); return strings.Compare(fp, fp2) }); ok {
					changed = append(changed, i)
				}
			}
			slices.Sort(changed) // the rows' order: fingerprint order
		}
		if n := len(changed); n > 0 {
			fp, kind, target, account := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			first := make([]*time.Time, n)
			for i, k := range changed {
				f := rows.Row(k)
				fp[i], kind[i], target[i], account[i], first[i] = f.Fingerprint, f.Kind, f.Target, f.AccountID, tp(f.FirstSeen)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO finding_state (fingerprint, kind, target, account_id, first_seen, last_seen, last_run)
				SELECT f.*, $5::timestamptz, $6::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $7::timestamptz[]) f
				ON CONFLICT (fingerprint) DO UPDATE SET
					first_seen = CASE WHEN finding_state.resolved_at IS NULL THEN finding_state.first_seen ELSE excluded.first_seen END,
					last_seen = excluded.last_seen, last_run = excluded.last_run, resolved_at = NULL`,
				fp, kind, target, account, t(asOf), runID, first); err != nil {
				return fmt.Errorf("finding states: %w", err)
			}
		}
		// Open and not reported: not written by this save and, after a
		// full one, without a live version (it reported those that have
		// one).
		q := `SELECT fingerprint, kind, target, account_id, first_seen, jira_key FROM finding_state st
			WHERE resolved_at IS NULL AND last_run < $1`
		if full {
			q += ` AND NOT ` + store.HasLiveVersion
		}
		stale, err := tx.QueryContext(ctx, q+` ORDER BY fingerprint COLLATE "C" FOR UPDATE`, runID)
		if err != nil {
			return err
		}
		for stale.Next() {
			var st reconcile.FindingState
			var first sql.NullTime
			if err := stale.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &st.JiraKey); err != nil {
				stale.Close()
				return err
			}
			st.FirstSeen = tt(first)
			if resolves(st.Kind, st.Target) {
				st.Resolved, st.ResolvedAt = true, asOf
				resolved = append(resolved, st)
			}
		}
		if err := stale.Close(); err != nil {
			return err
		}
		if err := stale.Err(); err != nil {
			return err
		}
		fps := make([]string, len(resolved))
		for i, st := range resolved {
			fps[i] = st.Fingerprint
		}
		if len(fps) > 0 {
			if !full {
				// A partial save resolves findings the last full one may
				// have reported, their versions still live.
				if err := store.KeepLastSeen(ctx, tx, `v.fingerprint = ANY($1)`, fps); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE finding_state SET resolved_at = $1 WHERE fingerprint = ANY($2)`, asOf, fps); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: save findings of run %d: %w", runID, err)
	}
	return resolved, nil
}

// liveSeq is finding_versions.to_seq of a version still live: reported by
// every full save since its from_seq.
const liveSeq = math.MaxInt64

// partialScope says whether a run of this scope sees only part of the
// estate (targeted "people:…", or some kinds): its findings are versions of
// its own save, and it leaves the full runs' versions alone.
func partialScope(scope string) bool { return scope != "" && scope != "full" }

// saveVersions records the findings (sorted by fingerprint) of one run's
// save: a new save sequence number, then versions and bodies as migration
// 004 describes, each kind of write one statement. It returns the save's
// seq, the rows that started a new version (their places in rows, in
// order), and how many rows extended a live one. own says that the save is
// this release's (not migration 004's conversion, which keeps the finding
// states as they were): the findings whose live versions it ends keep the
// last full save as their last seen (store.KeepLastSeen).
func saveVersions(ctx context.Context, tx *sqlx.Tx, runID int64, partial bool, rows reconcile.FindingRows, own bool) (seq int64, changed []int, continued int, err error) {
	if err := reconcile.CheckRowOrder(rows); err != nil {
		return 0, nil, 0, err
	}
	if err := tx.GetContext(ctx, &seq, `INSERT INTO finding_saves (run_id, side) VALUES ($1, $2) RETURNING seq`, runID, partial); err != nil {
		return 0, nil, 0, fmt.Errorf("findings of run %d already saved, or: %w", runID, err)
	}
	type live struct {
		id   int64
		hash []byte
	}
	lives := map[string]live{}
	if !partial {
		q, err := tx.QueryContext(ctx, `SELECT v.id, v.fingerprint, b.hash FROM finding_versions v JOIN finding_bodies b ON b.id = v.body_id
			WHERE v.to_seq = $1`, int64(liveSeq))
		if err != nil {
			return 0, nil, 0, err
		}
		for q.Next() {
			var l live
			var fp string
			if err := q.Scan(&l.id, &fp, &l.hash); err != nil {
				q.Close()
				return 0, nil, 0, err
			}
			lives[fp] = l
		}
		q.Close()
		if err := q.Err(); err != nil {
			return 0, nil, 0, err
		}
	}
	var closing []int64
	var fresh []int
	for i := range rows.Len() {
		fp, hash := rows.Key(i)
		l, ok := lives[fp]
		switch {
		case ok && bytes.Equal(l.hash, hash):
			continued++
		case ok:
			closing = append(closing, l.id)
			fallthrough
		default:
			fresh = append(fresh, i)
		}
		delete(lives, fp)
	}
	for _, l := range lives { // live, and not reported by this full save
		closing = append(closing, l.id)
	}
	if len(closing) > 0 {
		slices.Sort(closing)
		if own {
			if err := store.KeepLastSeen(ctx, tx, `v.id = ANY($1)`, closing); err != nil {
				return 0, nil, 0, err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE finding_versions SET to_seq = $1 WHERE id = ANY($2)`, seq-1, closing); err != nil {
			return 0, nil, 0, fmt.Errorf("close versions: %w", err)
		}
	}
	if n := len(fresh); n > 0 {
		hash := make([][]byte, n)
		fp, kind, sev, disp, target, account, emp, body := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for j, i := range fresh {
			f := rows.Row(i)
			b, err := rows.Body(i)
			if err != nil {
				return 0, nil, 0, fmt.Errorf("finding body %s: %w", f.Fingerprint, err)
			}
			hash[j], fp[j], kind[j], sev[j], disp[j], target[j], account[j], emp[j], body[j] = f.Hash, f.Fingerprint, f.Kind, f.Severity,
				f.Disposition, f.Target, f.AccountID, f.EmployeeID, string(b)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_bodies (hash, kind, severity, disposition, target, account_id, employee_id, body)
			SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
			ON CONFLICT (hash) DO NOTHING`, hash, kind, sev, disp, target, account, emp, body); err != nil {
			return 0, nil, 0, fmt.Errorf("finding bodies: %w", err)
		}
		to := int64(liveSeq)
		if partial {
			to = seq
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_versions (fingerprint, body_id, from_seq, to_seq)
			SELECT f.fp, b.id, $3, $4 FROM unnest($1::text[], $2::bytea[]) f(fp, hash) JOIN finding_bodies b ON b.hash = f.hash`,
			fp, hash, seq, to); err != nil {
			return 0, nil, 0, fmt.Errorf("finding versions: %w", err)
		}
	}
	return seq, fresh, continued, nil
}

// FindingBodies returns the serialised findings of a run, most severe first.
func (s *Store) FindingBodies(ctx context.Context, runID int64) ([][]byte, error) {
	var save struct {
		Seq  int64 `db:"seq"`
		Side bool  `db:"side"`
	}
	err := s.db.GetContext(ctx, &save, `SELECT seq, side FROM finding_saves WHERE run_id = $1`, runID)
	if errors.Is(err, sql.ErrNoRows) {
		return [][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: findings of run %d: %w", runID, err)
	}
	where := `v.to_seq >= $1 AND v.from_seq <= $1`
	if save.Side {
		where = `v.to_seq = $1 AND v.from_seq = $1`
	}
	var bodies []string
	if err := s.db.SelectContext(ctx, &bodies, `SELECT b.body FROM finding_versions v JOIN finding_bodies b ON b.id = v.body_id WHERE `+where+`
		ORDER BY CASE b.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
			b.kind COLLATE "C", b.target COLLATE "C", b.account_id COLLATE "C"`, save.Seq); err != nil {
		return nil, fmt.Errorf("pgstore: findings of run %d: %w", runID, err)
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = []byte(b)
	}
	return out, nil
}

// migrationStep returns the Go part of a migration, run in its transaction
// after its SQL, or nil when it has none.
func migrationStep(name string) func(ctx context.Context, tx *sqlx.Tx) error {
	switch name {
	case "003_delta_snapshots.sql":
		return convertSnapshots
	case "004_finding_events.sql":
		return convertFindings
	}
	return nil
}

// convertFindings turns the findings table of migration 001 (one row per
// finding per run) into saves, versions and bodies, run by run in ID order
// as if each run saved them now, then drops it. Finding states are kept.
func convertFindings(ctx context.Context, tx *sqlx.Tx) error {
	var runs []struct {
		ID    int64  `db:"id"`
		Scope string `db:"scope"`
	}
	if err := tx.SelectContext(ctx, &runs, `SELECT r.id, r.scope FROM runs r WHERE EXISTS (SELECT 1 FROM findings f WHERE f.run_id = r.id) ORDER BY r.id`); err != nil {
		return fmt.Errorf("convert findings: %w", err)
	}
	for _, r := range runs {
		var rows []reconcile.FindingRow
		q, err := tx.QueryContext(ctx, `SELECT fingerprint, kind, severity, disposition, target, account_id, employee_id, body
			FROM findings WHERE run_id = $1 ORDER BY fingerprint COLLATE "C"`, r.ID)
		if err != nil {
			return fmt.Errorf("convert findings of run %d: %w", r.ID, err)
		}
		for q.Next() {
			var f reconcile.FindingRow
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
		if _, _, _, err := saveVersions(ctx, tx, r.ID, partialScope(r.Scope), reconcile.SortedRows(rows...), false); err != nil {
			return fmt.Errorf("convert findings of run %d: %w", r.ID, err)
		}
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE findings`)
	return err
}

// SetJiraKey records the ticket that tracks a fingerprint.
func (s *Store) SetJiraKey(ctx context.Context, fingerprint, key string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE finding_state SET jira_key = $1 WHERE fingerprint = $2`, key, fingerprint); err != nil {
		return fmt.Errorf("pgstore: set jira key of %s: %w", fingerprint, err)
	}
	return nil
}
