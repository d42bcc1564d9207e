package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Store is what the engine needs of the snapshot store: the record of runs,
// the HR and account snapshots each run collected, drift, the life of each
// finding across runs, the executor's actions and holds. reconcile/store
// implements it on SQLite; the engine's tests implement it in memory.
//
// Every method is safe for concurrent use: the engine collects targets in
// parallel and saves their batches as they come. An error means the
// operation did not take effect (a write is all or nothing) unless its doc
// says otherwise; the engine fails the run on it. Methods that take no
// context (FinishRun, FinishAction) must complete even while the run is
// being cancelled: an outcome is recorded whatever happens to the run.
//
// Run IDs and action IDs are assigned by the store, increase with each new
// run or action, and are never reused. "Before run n" means a smaller ID.
type Store interface {
	// BeginRun records a new run with status StatusRunning (whatever
	// r.Status says) and returns its ID. r.ID is ignored.
	BeginRun(ctx context.Context, r Run) (int64, error)
	// FinishRun records the outcome of run r.ID: FinishedAt, Status,
	// Guards, Counts, Error, Mode and HRSuspect replace what BeginRun
	// recorded.
	FinishRun(r Run) error

	// SaveCollection records how one source or target was collected in a
	// run, replacing an earlier record of the same run, side and name.
	SaveCollection(ctx context.Context, c Collection) error
	// LastGoodCollection returns the newest run before `before` in which
	// the named source or target was collected whole (CollectionOK), among
	// the runs that can be a baseline: not failed, running, cancelled or
	// crashed, not targeted (scope "people:…") and not a dry run. 0 when
	// there is none.
	LastGoodCollection(ctx context.Context, side Side, name string, before int64) (int64, error)
	// PrevHRRun returns the newest run before `before` whose HR snapshot
	// can be a baseline: status completed, guard_tripped or partial, not
	// targeted, not HRSuspect, not a dry run. 0 when there is none.
	PrevHRRun(ctx context.Context, before int64) (int64, error)

	// SavePeople adds a batch of a run's HR snapshot (the engine saves a
	// snapshot in several batches, each person once, then calls
	// FinishPeople).
	SavePeople(ctx context.Context, runID int64, people []*PersonRow) error
	// FinishPeople ends the run's HR snapshot. complete says that the
	// batches saved hold every person HR lists (a full run, a dry run, a
	// run whose HR snapshot shrank): every person of the store's current
	// HR state whom the run did not save is then recorded gone as of the
	// run. With complete false (a targeted run, which saves the people it
	// was asked about) nobody is recorded gone and People(runID) yields
	// the people the run saved. Until FinishPeople succeeds, People(runID)
	// yields nobody: a run that died between batches has no snapshot,
	// and the snapshots of earlier runs are untouched.
	FinishPeople(ctx context.Context, runID int64, complete bool) error
	// People yields the HR snapshot of a run in employee ID order: every
	// person the run saved, as it saved them. On failure it yields one
	// (PersonRow{}, err) and stops; it stops when the consumer breaks.
	People(ctx context.Context, runID int64) iter.Seq2[PersonRow, error]
	// HRStates yields of the HR snapshot of a run what a later run
	// compares with its own (HRState), in People's order and as People
	// fails and stops: the next run reads the previous snapshot while it
	// reads HR, and every target waits for both.
	HRStates(ctx context.Context, runID int64) iter.Seq2[HRState, error]
	// BeginAccounts starts run runID's snapshot of target, before its
	// first SaveAccounts: its baseline is run prevRun's snapshot of the
	// target (the last good collection; 0: none), which SaveAccounts and
	// FinishAccounts compare the run's accounts with. A store reads of
	// the baseline what it must to tell each account's state in it, not
	// the state of every account: most accounts are as they were.
	BeginAccounts(ctx context.Context, runID, prevRun int64, target string) error
	// SaveAccounts adds a batch of one target's account snapshot in a run,
	// with group memberships and credentials (each account once per run;
	// the engine then calls FinishAccounts). When prev is not nil (it then
	// has len(accounts) elements), it sets prev[i] to accounts[i]'s state in
	// the baseline that BeginAccounts named (no baseline: not found).
	SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account, prev []BaselineState) error
	// FinishAccounts ends one target's account snapshot in a run, like
	// FinishPeople: complete says that the run saved every account the
	// target lists (the listing ended without error and the run is not
	// targeted), and every current account of the target that the run
	// did not save is then recorded deleted as of the run. With complete
	// false (a targeted run, a failed or partial listing) nothing is
	// recorded deleted and the run's snapshot of the target is the
	// accounts it saved. Until FinishAccounts succeeds the run has no
	// snapshot of the target (AccountStates empty, SnapshotAccount not
	// found). A store may keep per-(run, target) state between
	// BeginAccounts or the first SaveAccounts and FinishAccounts: the
	// engine calls FinishAccounts (complete or not) for every target it
	// began. When complete, it returns the IDs of the baseline's accounts
	// that the run did not save (gone since), in no particular order.
	FinishAccounts(ctx context.Context, runID int64, target string, complete bool) (gone []string, err error)
	// AccountStates returns the compact state of every account of a
	// target that run runID saved, keyed by account ID (empty when none).
	AccountStates(ctx context.Context, runID int64, target string) (map[string]AccountState, error)
	// SnapshotAccount returns one account as run runID saved it: its ID,
	// username, email, employee ID, display name, enabled and privileged
	// flags, groups, last login, and credentials (ID, kind, active).
	// found is false, with a nil error, when the run did not save it.
	SnapshotAccount(ctx context.Context, runID int64, target, accountID string) (a targets.Account, found bool, err error)
	// SaveDrift records a run's drift.
	SaveDrift(ctx context.Context, runID int64, drift []DriftRow) error

	// OpenFindings returns, keyed by fingerprint, when each problem not
	// resolved was first seen and the ticket that tracks it: what a run
	// carries into the findings it reports again.
	OpenFindings(ctx context.Context) (*OpenFindings, error)
	// SaveFindings records a run's findings and the state of each
	// fingerprint: seen at asOf in this run; its first-seen date kept while
	// it stays open, restarted (the row's FirstSeen) when a resolved
	// problem returns; its Jira key kept. Every open fingerprint that the
	// run did not report is resolved at asOf when resolves(kind, target)
	// says the run looked for it. It returns the states it resolved, with
	// their first-seen dates and Jira keys. All of it is one transaction.
	// A run saves its findings once: a second call for the same run fails
	// and changes nothing (the stores keep findings as events between
	// saves, and the findings of a run are exactly the rows it saved).
	// Rows out of fingerprint order, or a fingerprint twice, fail it.
	SaveFindings(ctx context.Context, runID int64, asOf time.Time, rows FindingRows, resolves func(kind, target string) bool) ([]FindingState, error)

	// InsertActions records actions (the steps of one account, before the
	// first is attempted) and returns their IDs in order. When ctx carries
	// a lease the store knows (reconcile/store's WithLease), it first
	// checks that the lease is still held and fails with an error wrapping
	// ErrLeaseLost, recording nothing, if not.
	InsertActions(ctx context.Context, as []Action) ([]int64, error)
	// FinishAction records the outcome of action a.ID: Status, Verified,
	// Attempts, Error and FinishedAt.
	FinishAction(a Action) error
	// CheckLease returns an error wrapping ErrLeaseLost when ctx carries
	// a lease that is no longer held, nil when it carries none. Any other
	// error means the lease could not be checked: the engine stops acting
	// either way.
	CheckLease(ctx context.Context) error
	// PendingActions returns the actions of a target recorded in runs
	// before `before` and left ActionRequested (a crash or kill came
	// between request and outcome), in ID order.
	PendingActions(ctx context.Context, target string, before int64) ([]Action, error)
	// UnfinishedSteps returns, for one target, the latest attempt of each
	// step (account, op, arg) recorded in runs before `before`, leaving
	// out planned and blocked records, where that attempt did not end done
	// (ActionDone, ActionRecoveredDone, ActionAcknowledged) and names the
	// person it concerns (EmployeeID set). Ordered by account ID, then ID.
	UnfinishedSteps(ctx context.Context, target string, before int64) ([]Action, error)
	// DisabledSince returns the accounts of a target that a disable action
	// in a run from `from` on left done or recovered done.
	DisabledSince(ctx context.Context, target string, from int64) (map[string]bool, error)
	// Disablements returns, for each account of a target ever disabled by
	// an action left done or recovered done, the latest such action.
	Disablements(ctx context.Context, target string) (map[string]Disablement, error)
	// Holds lists the holds not removed (all: removed ones too), newest
	// first. Expired holds are listed; the engine checks Until.
	Holds(ctx context.Context, all bool) ([]Hold, error)
}

// SnapshotHistory answers questions about accounts across runs. The stores
// keep one current state per account and person and a version each time
// it changed (valid from the run that saw the change to the run that saw
// the next one, or that completed a listing without it), so that a run's
// snapshot costs what changed since the previous one. reconcile/store,
// reconcile/pgstore and the engine tests' store implement it.
type SnapshotHistory interface {
	// AccountAt returns account accountID of target as it was at time at:
	// as the newest run that started at or before at and completed a
	// snapshot of the target saw it (run is that run's ID, 0 when there
	// is none). found is false, with a nil error, when the account did not
	// exist in that snapshot (or no snapshot is that old).
	AccountAt(ctx context.Context, target, accountID string, at time.Time) (a targets.Account, run int64, found bool, err error)
	// AccountVersions returns the versions of one account the store keeps,
	// oldest first (retention prunes the old ones).
	AccountVersions(ctx context.Context, target, accountID string) ([]AccountVersion, error)
}

// AccountVersion is one state of an account, valid from run ValidFrom up to
// (not including) run ValidTo; ValidTo 0 is the current state. Account holds
// what SnapshotAccount returns.
type AccountVersion struct {
	ValidFrom, ValidTo int64
	Account            targets.Account
}

// ErrLeaseLost is wrapped by a Store's error when the store lock that ctx's
// lease names is held by someone else now: the run must act no more.
var ErrLeaseLost = errors.New("store lock lost")

// Status is the state of a run.
type Status string

// Run statuses.
const (
	StatusRunning      Status = "running"
	StatusCompleted    Status = "completed"
	StatusGuardTripped Status = "guard_tripped"
	StatusPartial      Status = "partial"
	StatusFailed       Status = "failed"
	StatusCancelled    Status = "cancelled"
	// StatusCrashed is recorded by a store, not the engine: a run found
	// still running when another took the store lock over from it.
	StatusCrashed Status = "crashed"
)

// Run is one reconciliation as the store records it.
type Run struct {
	ID         int64
	AsOf       time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Mode       string
	Job        string
	Scope      string
	Status     Status
	Guards     []string
	Counts     map[string]int
	Error      string
	// DryRun marks a run made with --dry-run: shown, never a baseline.
	DryRun bool
	// HRSuspect marks a run whose HR snapshot tripped the HR-shrink rail:
	// its snapshot is never the next run's baseline.
	HRSuspect bool
}

// Side says which side of the reconciliation something was seen on.
type Side string

// The sides: a collection is of a source or a target; drift is on HR or a
// target.
const (
	SideSource Side = "source"
	SideTarget Side = "target"
	SideHR     Side = "hr"
)

// CollectionStatus says how a collection went.
type CollectionStatus string

// The collection statuses.
const (
	CollectionOK      CollectionStatus = "ok"      // read whole
	CollectionPartial CollectionStatus = "partial" // failed after reading some
	CollectionFailed  CollectionStatus = "failed"  // failed before reading any
)

// Collection is one source or target collected in a run.
type Collection struct {
	RunID        int64            `db:"run_id" json:"run_id"`
	Side         Side             `db:"side" json:"side"`
	Name         string           `db:"name" json:"name"`
	Type         string           `db:"type" json:"type"`
	Tier         string           `db:"tier" json:"tier,omitempty"`
	Capabilities string           `db:"capabilities" json:"capabilities,omitempty"`
	Status       CollectionStatus `db:"status" json:"status"`
	Error        string           `db:"error" json:"error,omitempty"`
	Count        int              `db:"count" json:"count"`
	Enabled      int              `db:"enabled" json:"enabled,omitempty"`
	StartedAt    string           `db:"started_at" json:"started_at"`
	DurationMS   int64            `db:"duration_ms" json:"duration_ms"`
	Duration     time.Duration    `db:"-" json:"-"`
}

// MarshalJSON writes the duration in milliseconds whichever field holds it.
func (c Collection) MarshalJSON() ([]byte, error) {
	type plain Collection
	if c.Duration != 0 {
		c.DurationMS = c.Duration.Milliseconds()
	}
	return json.Marshal(plain(c))
}

// PersonRow is a person as one run saw them, with the role history the
// engine derives across runs (the mover signal).
type PersonRow struct {
	sources.Person
	PrevJobCode  string    // the job code before the last change ("" if none seen)
	JobChangedAt time.Time // when accessrecon first saw the current job code replace another
	// at is the row's place in the People that indexed it last (numberRows):
	// where it finds the row's PersonRef (People.ref), with no map of rows
	// (33 MB at a million people).
	at int32
}

// AccountState is what drift needs to know of an account's previous state.
type AccountState struct {
	Enabled    bool
	Privileged bool
	Groups     string // as JoinGroups encodes them
}

// BaselineState is an account's state in the baseline of its snapshot
// (Store.SaveAccounts).
type BaselineState struct {
	// Found says that the baseline has the account.
	Found bool
	// Same says that the baseline has it as it is now (the same content
	// hash, AccountHash): State is then left empty. A store may also give
	// an unchanged account's State instead.
	Same bool
	// State is the account's state in the baseline when Found and not
	// Same.
	State AccountState
}

// JoinGroups encodes group memberships as one string (AccountState.Groups):
// a line per group, "name" when the ID is the name, else "name\tid".
func JoinGroups(gs []targets.Group) string {
	var b strings.Builder
	for i, g := range gs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(g.Name)
		if g.ID != g.Name {
			b.WriteByte('\t')
			b.WriteString(g.ID)
		}
	}
	return b.String()
}

// joinedGroupsEqual says whether JoinGroups(gs) == s, without building the
// string (drift compares every account's groups so).
func joinedGroupsEqual(gs []targets.Group, s string) bool {
	for i, g := range gs {
		if i > 0 {
			if s == "" || s[0] != '\n' {
				return false
			}
			s = s[1:]
		}
		if !strings.HasPrefix(s, g.Name) {
			return false
		}
		s = s[len(g.Name):]
		if g.ID != g.Name {
			if s == "" || s[0] != '\t' || !strings.HasPrefix(s[1:], g.ID) {
				return false
			}
			s = s[1+len(g.ID):]
		}
	}
	return s == ""
}

// SplitGroups is the inverse of JoinGroups.
func SplitGroups(s string) []targets.Group {
	if s == "" {
		return []targets.Group{}
	}
	lines := strings.Split(s, "\n")
	out := make([]targets.Group, len(lines))
	for i, l := range lines {
		name, id, ok := strings.Cut(l, "\t")
		if !ok {
			id = name
		}
		out[i] = targets.Group{ID: id, Name: name}
	}
	return out
}

// DriftRow is one change between a run and the previous good one.
type DriftRow struct {
	Side    Side   `db:"side" json:"side"`
	Target  string `db:"target" json:"target,omitempty"`
	Subject string `db:"subject" json:"subject"`
	Kind    string `db:"kind" json:"kind"`
	Detail  string `db:"detail" json:"detail,omitempty"`
}

// FindingRow is one finding of a run as the store keeps it. Body is the
// finding as the engine serialises it; the other fields are indexed copies.
type FindingRow struct {
	Fingerprint string
	Kind        string
	Severity    string
	Disposition string
	Target      string
	AccountID   string
	EmployeeID  string
	FirstSeen   time.Time
	Body        []byte
	// A caller that keeps the bodies elsewhere leaves Body nil and sets
	// Hash, the row's ContentHash, and LoadBody, which a store calls
	// (SortedRows' Body) for each body it must write (those it never
	// stored). The engine's own rows keep their bodies in its spool.
	Hash     []byte
	LoadBody func() ([]byte, error)
}

// Content returns the row's body, loading it when the row has none.
func (r *FindingRow) Content() ([]byte, error) {
	if r.Body == nil && r.LoadBody != nil {
		return r.LoadBody()
	}
	return r.Body, nil
}

// FindingRows are the findings a run saves, Len of them in increasing
// fingerprint order. Key is all a store needs of a finding reported
// unchanged: its fingerprint and content hash (ContentHash). Row and Body
// give the rest, for the findings a store writes. The engine makes a row
// from its finding when a store asks for it: a million people's findings
// were 330 MB more as rows, made at the run's peak to be read once. Len
// and Key only read: a store may call them from two goroutines at once.
type FindingRows interface {
	Len() int
	Key(i int) (fingerprint string, hash []byte)
	// Row is the i-th row, its Hash set and its body left to Body.
	Row(i int) FindingRow
	Body(i int) ([]byte, error)
}

// SortedRows are rows (sorted by fingerprint in place, SortFindingRows) as
// FindingRows, each with its ContentHash or the Hash it carries.
func SortedRows(rows ...FindingRow) FindingRows {
	SortFindingRows(rows)
	return rowList{rows: rows, hashes: ContentHashes(rows)}
}

type rowList struct {
	rows   []FindingRow
	hashes [][]byte
}

func (l rowList) Len() int                   { return len(l.rows) }
func (l rowList) Key(i int) (string, []byte) { return l.rows[i].Fingerprint, l.hashes[i] }
func (l rowList) Body(i int) ([]byte, error) { return l.rows[i].Content() }
func (l rowList) Row(i int) FindingRow {
	r := l.rows[i]
	r.Hash, r.Body, r.LoadBody = l.hashes[i], nil, nil
	return r
}

// CheckRowOrder fails when rows are not in strictly increasing fingerprint
// order: a fingerprint reported twice, or rows out of order.
func CheckRowOrder(rows FindingRows) error {
	prev := ""
	for i := range rows.Len() {
		fp, _ := rows.Key(i)
		switch {
		case i > 0 && fp == prev:
			return fmt.Errorf("finding %s reported twice", fp)
		case i > 0 && fp < prev:
			return fmt.Errorf("finding %s after %s: rows not in fingerprint order", fp, prev)
		}
		prev = fp
	}
	return nil
}

// OpenFinding is what a run needs of a problem still open.
type OpenFinding struct {
	FirstSeen time.Time
	JiraKey   string
}

// FindingState is the life of one fingerprint across runs.
type FindingState struct {
	Fingerprint string
	Kind        string
	Target      string
	AccountID   string
	FirstSeen   time.Time
	LastSeen    time.Time
	LastRun     int64
	Resolved    bool
	ResolvedAt  time.Time
	JiraKey     string
}

// ActionStatus is where an action stands.
type ActionStatus string

// The action statuses.
const (
	// ActionRequested: recorded before the call; still so after it only
	// when the run died in between (recovered by the next run).
	ActionRequested ActionStatus = "requested"
	ActionDone      ActionStatus = "done"   // done and verified (or already gone)
	ActionFailed    ActionStatus = "failed" // the call failed, or was not attempted
	// ActionUnverified: the target accepted the call but a re-read does not
	// show its effect.
	ActionUnverified ActionStatus = "unverified"
	// ActionRecoveredDone and ActionRecoveredNotDone: a requested action
	// of an interrupted run, settled by the next run's re-read.
	ActionRecoveredDone    ActionStatus = "recovered_done"
	ActionRecoveredNotDone ActionStatus = "recovered_not_done"
	// ActionManual is a person's step, open; ActionAcknowledged is recorded
	// done by a person (accessrecon ack).
	ActionManual       ActionStatus = "manual"
	ActionAcknowledged ActionStatus = "acknowledged"
	// ActionPlanned and ActionBlocked: recorded by earlier versions for
	// report-mode plans and steps a guard or hold stopped.
	ActionPlanned ActionStatus = "planned"
	ActionBlocked ActionStatus = "blocked"
)

// Action is one step the executor requested (or planned) on a target.
type Action struct {
	ID          int64        `json:"id"`
	RunID       int64        `json:"run_id"`
	Fingerprint string       `json:"fingerprint"`
	Target      string       `json:"target"`
	AccountID   string       `json:"account_id"`
	Op          string       `json:"op"`
	Arg         string       `json:"arg,omitempty"`
	Status      ActionStatus `json:"status"`
	Verified    bool         `json:"verified"`
	Attempts    int          `json:"attempts"`
	Error       string       `json:"error,omitempty"`
	RequestedAt time.Time    `json:"requested_at"`
	FinishedAt  time.Time    `json:"finished_at,omitzero"`
	// Kind and EmployeeID say what the step revokes and whose access it is:
	// a step whose latest attempt did not end verified is planned again
	// while HR still says the person is gone.
	Kind       string `json:"kind,omitempty"`
	EmployeeID string `json:"employee_id,omitempty"`
}

// Disablement is accessrecon's latest verified disable of one account.
type Disablement struct {
	AccountID string
	// Fingerprint is the finding the disable carried out (kind + target +
	// account: the caller can tell a suspension's from a termination's).
	Fingerprint string
	RunID       int64
	At          time.Time
}

// Hold keeps one account from being revoked until it ends.
type Hold struct {
	ID        int64     `json:"id"`
	Target    string    `json:"target"`
	AccountID string    `json:"account_id"`
	Reason    string    `json:"reason"`
	Until     time.Time `json:"until"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	RemovedBy string    `json:"removed_by,omitempty"`
	RemovedAt time.Time `json:"removed_at,omitzero"`
}
