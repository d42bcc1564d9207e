package trail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Signed audit checkpoints (audit.signing_key_file, audit.checkpoint_file,
// audit.checkpoint_every; `audit verify --public-key`): the wiring reads the
// key files, reconcile/store signs and verifies.

// checkpointPolicy reads the signing key named by audit.signing_key_file
// (PEM PKCS #8, as `openssl genpkey -algorithm ed25519` writes it, or the
// raw 32-byte seed). No key file: no checkpoints. The key's bytes never
// reach an error or a log.
func checkpointPolicy(cfg *config.Config) (store.CheckpointPolicy, error) {
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
	path := cfg.Resolve(cfg.Audit.SigningKeyFile)
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
		p.File = cfg.Resolve(cfg.Audit.CheckpointFile)
	}
	return p, nil
}

// attachCheckpoints gives the trail its checkpoint policy (Open calls it).
// A key that cannot be read is logged here and fails the run's checkpoint
// (CheckpointRun).
func attachCheckpoints(cfg *config.Config, trail *store.AuditTrail, log *slog.Logger) {
	p, err := checkpointPolicy(cfg)
	if err != nil {
		log.Warn("audit: this process signs no checkpoints", "err", err)
		return
	}
	trail.Checkpoints = p
}

// Ready says why a trail configured to sign cannot (the runner checks
// it before a run acts).
func Ready(cfg *config.Config, trail *store.AuditTrail) error {
	if cfg.Audit.SigningKeyFile == "" || trail.Checkpoints.Key.Valid() {
		return nil
	}
	if _, err := checkpointPolicy(cfg); err != nil {
		return err
	}
	return errors.New("audit: the trail has no signing key")
}

// CheckpointRun signs the chain head once a run is over (whatever its
// outcome, even cancelled: the records it left are signed).
func CheckpointRun(ctx context.Context, cfg *config.Config, trail *store.AuditTrail) error {
	if cfg.Audit.SigningKeyFile == "" {
		return nil
	}
	if err := Ready(cfg, trail); err != nil {
		return err
	}
	_, err := trail.Checkpoint(context.WithoutCancel(ctx), "run")
	return err
}
