package trail

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// VerifySigned is `audit verify --public-key FILE...`: the chain, every
// checkpoint's signature and head, and the checkpoint file's heads
// (--checkpoint-file, default audit.checkpoint_file).
func VerifySigned(ctx context.Context, cfg *config.Config, trail *store.AuditTrail, pubFiles []string, cpFile string, stdout io.Writer) error {
	var keys []ed25519.PublicKey
	for _, f := range pubFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--public-key: %w", err)
		}
		k, err := store.ParsePublicKey(b)
		if err != nil {
			return fmt.Errorf("--public-key %s: %w", f, err)
		}
		keys = append(keys, k)
	}
	if cpFile == "" && cfg.Audit.CheckpointFile != "" {
		cpFile = cfg.Resolve(cfg.Audit.CheckpointFile)
	}
	var anchors []store.Checkpoint
	if cpFile != "" {
		f, err := os.Open(cpFile)
		if err != nil {
			return fmt.Errorf("checkpoint file: %w", err)
		}
		var bad []int
		anchors, bad, err = store.ReadCheckpoints(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", cpFile, err)
		}
		if len(bad) > 0 {
			fmt.Fprintf(stdout, "checkpoint file: %s: skipped lines %v, which are no checkpoint (a write cut short by a crash, or an edit)\n", cpFile, bad)
		}
	}
	res, err := trail.VerifySigned(ctx, keys, anchors)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, Intact(res, trail.Path()))
	fmt.Fprintf(stdout, "signed: %s\n", res.Signed.Describe())
	if cpFile != "" {
		fmt.Fprintf(stdout, "checkpoint file: %s (%d checkpoints)\n", cpFile, len(anchors))
	}
	return nil
}

// Intact says that a trail verified: its records in the store and in the
// file (a trail without file, on PostgreSQL, has the store alone).
func Intact(res store.VerifyResult, path string) string {
	if path == "" {
		return fmt.Sprintf("audit trail intact: %d records in the store (no file mirror), last hash %s", res.StoreRecords, res.LastHash)
	}
	return fmt.Sprintf("audit trail intact: %d records in the store, %d in %s, last hash %s", res.StoreRecords, res.FileRecords, path, res.LastHash)
}
