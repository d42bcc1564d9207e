package notify

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// MemOutbox is an in-memory Outbox, for tests and dry runs.
type MemOutbox struct {
	mu sync.Mutex
	ns map[string]Notification
}

// NewMemOutbox returns an empty outbox.
func NewMemOutbox() *MemOutbox { return &MemOutbox{ns: map[string]Notification{}} }

// Save implements Outbox.
func (m *MemOutbox) Save(_ context.Context, ns []Notification) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range ns {
		m.ns[n.ID] = n
	}
	return nil
}

// Pending implements Outbox, oldest first, then by ID.
func (m *MemOutbox) Pending(context.Context) ([]Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Notification, 0, len(m.ns))
	for _, n := range m.ns {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Notification) int { return cmp.Or(a.Queued.Compare(b.Queued), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// Done implements Outbox.
func (m *MemOutbox) Done(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ns, id)
	return nil
}
