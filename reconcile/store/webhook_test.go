package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A webhook signature is accepted once; a second store handle on the same
// file (another serve process, or the same one after a restart) refuses the
// replay; once expired it is forgotten.
func TestClaimSignatureAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if fresh, err := a.ClaimSignature(ctx, "sig1", now, now.Add(10*time.Minute)); err != nil || !fresh {
		t.Fatalf("first claim: %v %v", fresh, err)
	}
	if fresh, err := b.ClaimSignature(ctx, "sig1", now.Add(time.Minute), now.Add(11*time.Minute)); err != nil || fresh {
		t.Fatalf("replay through another handle accepted: %v %v", fresh, err)
	}
	if fresh, err := b.ClaimSignature(ctx, "sig2", now.Add(time.Minute), now.Add(11*time.Minute)); err != nil || !fresh {
		t.Fatalf("a new signature refused: %v %v", fresh, err)
	}
	if fresh, err := a.ClaimSignature(ctx, "sig1", now.Add(20*time.Minute), now.Add(30*time.Minute)); err != nil || !fresh {
		t.Fatalf("an expired signature is still remembered: %v %v", fresh, err)
	}
}
