-- The current versions of each side (HR, or one target) as the last
-- finished snapshot left them, in one row: the ID, content hash and
-- valid-from run of every current person or account, encoded by
-- reconcile/snapdelta (Session.Encode). Every run reads a side's current
-- hashes before it saves; reading them from the versions costs a row per
-- account (ten million at a million people), reading this costs one.
--
-- It is derived data, kept in step by the store: a transaction that writes
-- a side's versions deletes its row, the one that finishes the side's
-- snapshot writes it anew. When it is missing (a store just migrated, a
-- run that failed after writing) or does not decode, the store reads the
-- versions, which stay the truth. (reconcile/store's migration 015.)
CREATE TABLE current_hashes (
    side   TEXT NOT NULL,  -- 'hr' or 'target'
    target TEXT NOT NULL,  -- '' for HR
    body   BYTEA NOT NULL,
    PRIMARY KEY (side, target)
);
-- Kept out of line and not compressed: the encoding is hashes, which do
-- not compress, and compressing megabytes every run costs the server CPU.
ALTER TABLE current_hashes ALTER COLUMN body SET STORAGE EXTERNAL;
