package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Issue 11, item 3: a holder whose lock is taken over learns it at its next
// heartbeat: the failure is logged and the run's context is cancelled with
// the reason; before that, the lease in the context already fences its
// actions.
func TestHeldLockLostCancelsTheRun(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs syncBuffer
	l := runlock.New(st, 8*time.Second, slog.New(slog.NewJSONHandler(&logs, nil)))
	// A heartbeat every 2s (stale/4).
	runCtx, release, err := l.Hold(ctx, "accessrecon run", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := st.CheckLease(runCtx); err != nil {
		t.Fatalf("fresh lease: %v", err)
	}
	// Another process takes the lock over (its clock says ours is stale).
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	got, _, took, err := st.TryLock(ctx, store.RunLock, store.LockHolder{Token: "other", Host: "elsewhere", PID: 1, Purpose: "job nightly"},
		store.LockPolicy{Stale: time.Hour, Now: later})
	if err != nil || !got || !took {
		t.Fatalf("takeover: %v %v %v", got, took, err)
	}
	if err := st.CheckLease(runCtx); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("lease after the takeover: %v", err)
	}
	select {
	case <-runCtx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the run's context was not cancelled after the lock was lost")
	}
	if cause := context.Cause(runCtx); !errors.Is(cause, store.ErrLeaseLost) {
		t.Fatalf("cause %v", cause)
	}
	if !strings.Contains(logs.String(), "store lock heartbeat failed") {
		t.Fatalf("heartbeat failure not logged: %s", logs.String())
	}
}
