package jira

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// What an Op wants of a fingerprint's ticket.
const (
	WantOpen   = "open"   // a ticket exists, open, saying what the finding says now
	WantClosed = "closed" // the problem is gone: comment and close its ticket
)

// Op is one unit of ticket work: the state a fingerprint's ticket should be
// in. It is decided against Jira's answer only when sent, so an Op queued
// while Jira was down is still right when it is sent runs later. There is
// at most one pending Op per fingerprint: ID is the fingerprint, and a later
// Op replaces an earlier one.
type Op struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint"`
	Want        string `json:"want"`
	Key         string `json:"key,omitempty"` // the ticket last known to track it
	Hash        string `json:"hash,omitempty"`
	// LegacyHash is the hash the previous version computed for the same
	// finding: a ticket labelled with it is relabelled, not commented.
	LegacyHash  string    `json:"legacy_hash,omitempty"`
	Summary     string    `json:"summary,omitempty"`
	Description string    `json:"description,omitempty"`
	Labels      []string  `json:"labels,omitempty"`
	Priority    string    `json:"priority,omitempty"`
	Component   string    `json:"component,omitempty"`
	Assignee    string    `json:"assignee,omitempty"`
	Comment     string    `json:"comment,omitempty"` // for WantClosed
	RunID       int64     `json:"run_id"`
	Queued      time.Time `json:"queued"`
}

// Outbox keeps ticket work until Jira has taken it. The store implements it
// (table jira_outbox); MemOutbox is the in-memory one.
type Outbox interface {
	// Save queues ops, replacing a pending op with the same ID.
	Save(ctx context.Context, ops []Op) error
	// Pending returns the queued ops.
	Pending(ctx context.Context) ([]Op, error)
	// Done removes a sent op.
	Done(ctx context.Context, id string) error
	// SetJiraKey records the ticket tracking a fingerprint
	// (store.Store.SetJiraKey has this signature).
	SetJiraKey(ctx context.Context, fingerprint, key string) error
}

// MemOutbox is an in-memory Outbox, for tests and dry runs.
type MemOutbox struct {
	mu   sync.Mutex
	ops  map[string]Op
	keys map[string]string
}

// NewMemOutbox returns an empty outbox.
func NewMemOutbox() *MemOutbox {
	return &MemOutbox{ops: map[string]Op{}, keys: map[string]string{}}
}

// Save implements Outbox.
func (m *MemOutbox) Save(_ context.Context, ops []Op) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		m.ops[op.ID] = op
	}
	return nil
}

// Pending implements Outbox, in ID order.
func (m *MemOutbox) Pending(context.Context) ([]Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Op, 0, len(m.ops))
	for _, op := range m.ops {
		out = append(out, op)
	}
	slices.SortFunc(out, func(a, b Op) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Done implements Outbox.
func (m *MemOutbox) Done(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ops, id)
	return nil
}

// SetJiraKey implements Outbox.
func (m *MemOutbox) SetJiraKey(_ context.Context, fingerprint, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[fingerprint] = key
	return nil
}

// JiraKey returns the key recorded for a fingerprint.
func (m *MemOutbox) JiraKey(fingerprint string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys[fingerprint]
}
