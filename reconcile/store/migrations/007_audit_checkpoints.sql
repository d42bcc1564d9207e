-- Signed checkpoints are audit records of type audit_checkpoint: finding the
-- last one (to chain the next to it, and to checkpoint every N records) is a
-- lookup by type.
CREATE INDEX audit_by_type ON audit(type, seq);
