// Package targettest holds the conformance suite every connector runs (Run)
// and Fake, a stateful in-memory target with fault injection for testing the
// engine and the executor.
package targettest

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"

	"github.com/accessrecon/accessrecon/targets"
)

// Op names a Fake operation, for fault injection and call counting.
type Op string

// The operations of Fake.
const (
	OpList             Op = "list"
	OpGet              Op = "get"
	OpDisable          Op = "disable"
	OpRevokeSessions   Op = "revoke_sessions"
	OpRevokeCredential Op = "revoke_credential"
	OpRemoveFromGroup  Op = "remove_from_group"
)

// Fault decides the outcome of one call before it takes effect. It returns
// (err, apply): a non-nil err is returned to the caller; apply says whether
// the change happens anyway (a call that timed out after the target acted).
type Fault func(op Op, accountID string, call int) (err error, apply bool)

// Fake is a stateful in-memory target implementing every capability. Its
// zero value is not usable; use NewFake. It is safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	accounts map[string]*targets.Account
	sessions map[string]int
	calls    map[Op]int
	log      []string
	fault    Fault
}

// NewFake returns a Fake holding copies of accounts. Every account starts
// with one session.
func NewFake(accounts ...targets.Account) *Fake {
	f := &Fake{accounts: map[string]*targets.Account{}, sessions: map[string]int{}, calls: map[Op]int{}}
	for _, a := range accounts {
		f.Put(a)
	}
	return f
}

// Put adds or replaces an account (as an admin would by hand).
func (f *Fake) Put(a targets.Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := clone(a)
	f.accounts[a.ID] = &c
	f.sessions[a.ID] = 1
}

// Delete removes an account (as an admin would by hand).
func (f *Fake) Delete(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.accounts, id)
	delete(f.sessions, id)
}

// SetFault installs (or, with nil, removes) a fault injector.
func (f *Fake) SetFault(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

// Calls returns how many times op was called, including failed calls.
func (f *Fake) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Log returns the successful changes in the order they happened, as
// "op account [detail]".
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// Sessions returns the number of open sessions of an account.
func (f *Fake) Sessions(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions[id]
}

// Get returns a copy of an account's current state.
func (f *Fake) Get(id string) (targets.Account, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[id]
	if !ok {
		return targets.Account{}, false
	}
	return clone(*a), true
}

func clone(a targets.Account) targets.Account {
	a.Groups = slices.Clone(a.Groups)
	a.Credentials = slices.Clone(a.Credentials)
	return a
}

// begin counts the call and consults the fault injector. It must be called
// with f.mu held.
func (f *Fake) begin(op Op, id string) (error, bool) {
	f.calls[op]++
	if f.fault == nil {
		return nil, true
	}
	return f.fault(op, id, f.calls[op])
}

// Accounts lists the accounts in ID order.
func (f *Fake) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		f.mu.Lock()
		err, _ := f.begin(OpList, "")
		ids := make([]string, 0, len(f.accounts))
		for id := range f.accounts {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		snapshot := make([]targets.Account, 0, len(ids))
		for _, id := range ids {
			snapshot = append(snapshot, clone(*f.accounts[id]))
		}
		f.mu.Unlock()
		if err != nil {
			yield(targets.Account{}, fmt.Errorf("fake: list: %w", err))
			return
		}
		for _, a := range snapshot {
			if err := ctx.Err(); err != nil {
				yield(targets.Account{}, fmt.Errorf("fake: list: %w", err))
				return
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}

// Account re-reads one account.
func (f *Fake) Account(ctx context.Context, id string) (targets.Account, error) {
	if err := ctx.Err(); err != nil {
		return targets.Account{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err, _ := f.begin(OpGet, id); err != nil {
		return targets.Account{}, fmt.Errorf("fake: get %s: %w", id, err)
	}
	a, ok := f.accounts[id]
	if !ok {
		return targets.Account{}, fmt.Errorf("fake: get %s: %w", id, targets.ErrNotFound)
	}
	return clone(*a), nil
}

// change runs one capability call: fault injection, existence check, and the
// change itself when it applies.
func (f *Fake) change(ctx context.Context, op Op, id, detail string, apply func(a *targets.Account) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ferr, doIt := f.begin(op, id)
	a, ok := f.accounts[id]
	if !ok {
		if ferr != nil {
			return fmt.Errorf("fake: %s %s: %w", op, id, ferr)
		}
		return fmt.Errorf("fake: %s %s: %w", op, id, targets.ErrNotFound)
	}
	if doIt {
		if err := apply(a); err != nil {
			return fmt.Errorf("fake: %s %s: %w", op, id, err)
		}
		f.log = append(f.log, fmt.Sprintf("%s %s%s", op, id, detail))
	}
	if ferr != nil {
		return fmt.Errorf("fake: %s %s: %w", op, id, ferr)
	}
	return nil
}

// Disable sets Enabled to false.
func (f *Fake) Disable(ctx context.Context, a targets.Account) error {
	return f.change(ctx, OpDisable, a.ID, "", func(acc *targets.Account) error {
		acc.Enabled = false
		return nil
	})
}

// RevokeSessions ends the account's sessions.
func (f *Fake) RevokeSessions(ctx context.Context, a targets.Account) error {
	return f.change(ctx, OpRevokeSessions, a.ID, "", func(*targets.Account) error {
		f.sessions[a.ID] = 0
		return nil
	})
}

// RevokeCredential deactivates one credential.
func (f *Fake) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	return f.change(ctx, OpRevokeCredential, a.ID, " "+c.ID, func(acc *targets.Account) error {
		for i := range acc.Credentials {
			if acc.Credentials[i].ID == c.ID {
				acc.Credentials[i].Active = false
				return nil
			}
		}
		return fmt.Errorf("credential %s: %w", c.ID, targets.ErrNotFound)
	})
}

// RemoveFromGroup removes one group membership. Removing a membership that is
// already gone is not an error (idempotent).
func (f *Fake) RemoveFromGroup(ctx context.Context, a targets.Account, group targets.Group) error {
	return f.change(ctx, OpRemoveFromGroup, a.ID, " "+group.ID, func(acc *targets.Account) error {
		acc.Groups = slices.DeleteFunc(acc.Groups, func(g targets.Group) bool { return g.ID == group.ID })
		return nil
	})
}

var (
	_ targets.Target            = (*Fake)(nil)
	_ targets.Getter            = (*Fake)(nil)
	_ targets.Disabler          = (*Fake)(nil)
	_ targets.SessionRevoker    = (*Fake)(nil)
	_ targets.CredentialRevoker = (*Fake)(nil)
	_ targets.GroupRemover      = (*Fake)(nil)
)
