package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Signed audit checkpoints (audit.signing_key_file, audit.checkpoint_file,
// audit.checkpoint_every; `audit verify --public-key`): the wiring reads the
// key files, reconcile/store signs and verifies.

// checkpointPolicy reads the signing key named by audit.signing_key_file
// (PEM PKCS #8, as `openssl genpkey -algorithm ed25519` writes it, or the
// raw 32-byte seed). No key file: no checkpoints. The key's bytes never
// reach an error or a log.
func checkpointPolicy(cfg *Config) (store.CheckpointPolicy, error) {
	var p store.CheckpointPolicy
	if cfg.Audit.SigningKeyFile == "" {
		if cfg.Audit.CheckpointFile != "" || cfg.Audit.CheckpointEvery != 0 {
			return p, errors.New("audit.checkpoint_file and audit.checkpoint_every need audit.signing_key_file")
		}
		return p, nil
	}
	if cfg.Audit.CheckpointEvery < 0 {
		return p, fmt.Errorf("audit.checkpoint_every: %d is negative", cfg.Audit.CheckpointEvery)
	}
	path := cfg.resolve(cfg.Audit.SigningKeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("audit.signing_key_file: %w", err)
	}
	key, err := store.ParseSigningKey(b)
	clear(b)
	if err != nil {
		return p, fmt.Errorf("audit.signing_key_file %s: %w", path, err)
	}
	p.Key, p.Every = key, cfg.Audit.CheckpointEvery
	if cfg.Audit.CheckpointFile != "" {
		p.File = cfg.resolve(cfg.Audit.CheckpointFile)
	}
	return p, nil
}

// attachCheckpoints gives the trail its checkpoint policy (openTrail calls
// it). A key that cannot be read is logged here and fails the run's
// checkpoint (checkpointRun).
func attachCheckpoints(cfg *Config, trail *store.AuditTrail, log *slog.Logger) {
	p, err := checkpointPolicy(cfg)
	if err != nil {
		log.Warn("audit: this process signs no checkpoints", "err", err)
		return
	}
	trail.Checkpoints = p
}

// checkpointsReady says why a trail configured to sign cannot (run checks
// it before acting).
func checkpointsReady(cfg *Config, trail *store.AuditTrail) error {
	if cfg.Audit.SigningKeyFile == "" || trail.Checkpoints.Key.Valid() {
		return nil
	}
	if _, err := checkpointPolicy(cfg); err != nil {
		return err
	}
	return errors.New("audit: the trail has no signing key")
}

// checkpointRun signs the chain head once a run is over (whatever its
// outcome, even cancelled: the records it left are signed).
func checkpointRun(ctx context.Context, cfg *Config, trail *store.AuditTrail) error {
	if cfg.Audit.SigningKeyFile == "" {
		return nil
	}
	if err := checkpointsReady(cfg, trail); err != nil {
		return err
	}
	_, err := trail.Checkpoint(context.WithoutCancel(ctx), "run")
	return err
}

// fileList is a repeatable flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// verifySigned is `audit verify --public-key FILE...`: the chain, every
// checkpoint's signature and head, and the checkpoint file's heads
// (--checkpoint-file, default audit.checkpoint_file).
func verifySigned(ctx context.Context, cfg *Config, trail *store.AuditTrail, pubFiles []string, cpFile string, stdout io.Writer) error {
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
		cpFile = cfg.resolve(cfg.Audit.CheckpointFile)
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
	fmt.Fprintf(stdout, "audit trail intact: %d records in the store, %d in %s, last hash %s\n", res.StoreRecords, res.FileRecords, trail.Path(), res.LastHash)
	fmt.Fprintf(stdout, "signed: %s\n", res.Signed.Describe())
	if cpFile != "" {
		fmt.Fprintf(stdout, "checkpoint file: %s (%d checkpoints)\n", cpFile, len(anchors))
	}
	return nil
}
