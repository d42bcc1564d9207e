package storefile

import (
	"context"
	"iter"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/xlsx"
	"github.com/accessrecon/accessrecon/targets"
)

// Store is everything the command asks of a store: what the engine needs
// (reconcile.Store) and, by concern, what the commands, serve and the
// reports need besides. reconcile/store implements it on SQLite. Each
// concern is its own interface so that a package can ask for no more than
// it uses.
type Store interface {
	reconcile.Store
	RunLog
	Snapshots
	FindingLog
	ActionLog
	Holds
	Exemptions
	Outbox
	HREvents
	Drills
	Audit
	RunLock
	Housekeeping
	// What the period workbook reads (runs, findings and actions of a
	// period, HR events, accounts as runs collected them).
	xlsx.PeriodSource
}

// RunLog reads the record of runs.
type RunLog interface {
	GetRun(ctx context.Context, id int64) (store.Run, error)
	Runs(ctx context.Context, limit int) ([]store.Run, error)
	RunsBetween(ctx context.Context, from, to time.Time) ([]store.Run, error)
	LatestRun(ctx context.Context) (store.Run, error)
	LatestFullRun(ctx context.Context) (store.Run, error)
	LatestFinishedFullRun(ctx context.Context) (store.Run, error)
	LastRunOf(ctx context.Context, job string, statuses ...reconcile.Status) (store.Run, error)
	LastStartedRunOf(ctx context.Context, job string) (store.Run, error)
	LastSucceededAt(ctx context.Context) (time.Time, error)
	Jobs(ctx context.Context) ([]string, error)
	FinishedRunsMark(ctx context.Context) (string, error)
	RunConfigHashes(ctx context.Context, ids []int64) (map[int64]string, error)
	SetRunConfigHash(ctx context.Context, runID int64, sum string) error
	Collections(ctx context.Context, runID int64) ([]store.Collection, error)
}

// Snapshots reads what runs collected.
type Snapshots interface {
	LastCollection(ctx context.Context, target string) (int64, error)
	CollectedAccounts(ctx context.Context, runID int64, target string) iter.Seq2[targets.Account, error]
	// Leavers yields the people of run runID's HR snapshot whose
	// termination date is after after, in employee ID order.
	Leavers(ctx context.Context, runID int64, after time.Time) iter.Seq2[reconcile.PersonRow, error]
}

// FindingLog reads the findings runs stored.
type FindingLog interface {
	AllFindingStates(ctx context.Context) (map[string]store.FindingState, error)
	FindingBodies(ctx context.Context, runID int64) ([][]byte, error)
	FindingKnown(ctx context.Context, fingerprint string) (bool, error)
	RevokedFindings(ctx context.Context, since time.Time) ([]store.RevokedFinding, error)
	SetJiraKey(ctx context.Context, fingerprint, key string) error
}

// ActionLog reads the executor's actions and records people's
// acknowledgements of manual steps.
type ActionLog interface {
	Actions(ctx context.Context, runID int64) ([]store.Action, error)
	ActionCounts(ctx context.Context) (map[[2]string]int, error)
	ActionsBetween(ctx context.Context, from, to time.Time, fn func(store.Action) error) error
	OpenManualSteps(ctx context.Context, fingerprint string) ([]store.Action, error)
	AckManualStep(ctx context.Context, fingerprint, op, arg, by string, at time.Time) (store.Action, error)
}

// Holds manages holds and their two-person approval.
type Holds interface {
	AddHold(ctx context.Context, h store.Hold) (int64, error)
	RequestHold(ctx context.Context, h store.Hold) (int64, error)
	ApproveHold(ctx context.Context, id int64, by string, at time.Time) (store.Hold, error)
	RemoveHold(ctx context.Context, id int64, by string, at time.Time) (store.Hold, error)
	HoldApprovals(ctx context.Context) (map[int64]store.HoldApproval, error)
}

// Exemptions manages exemptions and their approval.
type Exemptions interface {
	AddExemption(ctx context.Context, e store.Exemption) (int64, error)
	ApproveExemption(ctx context.Context, id int64, by string, at time.Time) (store.Exemption, error)
	RemoveExemption(ctx context.Context, id int64, by string, at time.Time) (store.Exemption, error)
	Exemptions(ctx context.Context, all bool) ([]store.Exemption, error)
	ApprovedExemptions(ctx context.Context) ([]store.Exemption, error)
}

// Outbox keeps the deliveries (tickets, notifications) still to make.
type Outbox interface {
	OutboxSave(ctx context.Context, kind string, items []store.OutboxItem) error
	OutboxPending(ctx context.Context, kind string) ([]store.OutboxItem, error)
	OutboxDone(ctx context.Context, kind, id string) error
}

// HREvents records HR webhooks and their replay protection.
type HREvents interface {
	SaveHREvents(ctx context.Context, evs []store.HREvent) error
	FinishHREvents(ctx context.Context, evs []store.HREvent) error
	PendingHREvents(ctx context.Context) ([]store.HREvent, error)
	FirstHREvent(ctx context.Context, employeeID string, from, to time.Time) (time.Time, error)
	ClaimSignature(ctx context.Context, signature string, now, expires time.Time) (bool, error)
	ForgetSignature(ctx context.Context, signature string) error
}

// Drills records restore drills.
type Drills interface {
	SaveDrill(ctx context.Context, d store.Drill) (int64, error)
	Drills(ctx context.Context, from, to time.Time) ([]store.Drill, error)
}

// Audit opens the hash-chained audit trail, mirrored to the JSON Lines
// file at path.
type Audit interface {
	Audit(path string) *store.AuditTrail
}

// RunLock is the store's lock row with its lease: the run lock that
// serialises runs across processes.
type RunLock interface {
	TryLock(ctx context.Context, name string, me store.LockHolder, p store.LockPolicy) (got bool, other store.LockHolder, tookOver bool, err error)
	Heartbeat(ctx context.Context, name, token string, at time.Time) error
	Unlock(ctx context.Context, name, token string) error
	Lease(ctx context.Context, name, token string) (store.Lease, error)
}

// Housekeeping checks and trims the store, and closes it.
type Housekeeping interface {
	Ping(ctx context.Context) error
	Prune(ctx context.Context, now time.Time, r store.Retention) error
	Close() error
}

var _ Store = (*store.Store)(nil)

var _ Store = (*pgstore.Store)(nil)
