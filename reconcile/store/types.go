package store

import "github.com/accessrecon/accessrecon/reconcile"

// The engine's types, declared by package reconcile (whose Store interface
// this package implements), under the names this package always gave them:
// they are aliases, the same types, kept so that callers written against
// this package compile unchanged.
type (
	// Run is reconcile.Run.
	Run = reconcile.Run
	// Collection is reconcile.Collection.
	Collection = reconcile.Collection
	// PersonRow is reconcile.PersonRow.
	PersonRow = reconcile.PersonRow
	// AccountState is reconcile.AccountState.
	AccountState = reconcile.AccountState
	// DriftRow is reconcile.DriftRow.
	DriftRow = reconcile.DriftRow
	// FindingRow is reconcile.FindingRow.
	FindingRow = reconcile.FindingRow
	// FindingState is reconcile.FindingState.
	FindingState = reconcile.FindingState
	// Action is reconcile.Action.
	Action = reconcile.Action
	// Disablement is reconcile.Disablement.
	Disablement = reconcile.Disablement
	// Hold is reconcile.Hold.
	Hold = reconcile.Hold
)

// The statuses of a person's step, as this package named them (reconcile's
// constants): ActionManual is open (a person must do it), ActionAcknowledged
// is recorded done by a person (accessrecon ack).
const (
	ActionManual       = reconcile.ActionManual
	ActionAcknowledged = reconcile.ActionAcknowledged
)

var (
	_ reconcile.Store           = (*Store)(nil)
	_ reconcile.SnapshotHistory = (*Store)(nil)
)
