-- Findings as events (issue 13), as reconcile/store's migration 013 keeps
-- them on SQLite: a run no longer writes one ~1 KB row per finding. Each
-- run that saves findings gets a sequence number (saves are serialised by
-- an advisory lock, so seq order is save order); a body is stored once
-- (deduplicated by a hash of the finding row); a version says which body a
-- fingerprint had over an interval of saves. A full run extends the live
-- version of every finding it reports unchanged, closes the versions of
-- findings it did not report or whose body changed, and starts new ones. A
-- targeted or kind-scoped run (scope not "full") sees part of the estate:
-- its findings are versions of that one save (from_seq = to_seq).
--
-- The findings of run R are exactly: when R's save is full, the versions
-- whose [from_seq, to_seq] holds R's seq; when it is partial, the versions
-- with from_seq = to_seq = R's seq. The old findings table is converted by
-- the Go step of this migration (pgstore's convertFindings), then dropped.
CREATE TABLE finding_saves (
    seq    bigserial PRIMARY KEY,
    run_id bigint NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
    side   boolean NOT NULL                  -- a targeted or kind-scoped run
);

-- One row per distinct finding row (body and its indexed copies).
CREATE TABLE finding_bodies (
    id          bigserial PRIMARY KEY,
    hash        bytea NOT NULL UNIQUE,       -- SHA-256 (first 16 bytes) of the row
    kind        text NOT NULL,
    severity    text NOT NULL,
    disposition text NOT NULL,
    target      text NOT NULL,
    account_id  text NOT NULL,
    employee_id text NOT NULL DEFAULT '',
    body        text NOT NULL                -- the finding as findings.json writes it, byte for byte
);

CREATE TABLE finding_versions (
    id          bigserial PRIMARY KEY,
    fingerprint text NOT NULL,
    body_id     bigint NOT NULL REFERENCES finding_bodies(id),
    from_seq    bigint NOT NULL,
    to_seq      bigint NOT NULL               -- 9223372036854775807 while live
);
CREATE INDEX finding_versions_by_seq ON finding_versions(to_seq, from_seq);
CREATE INDEX finding_versions_by_body ON finding_versions(body_id);

-- Every full run sets last_seen and last_run of each open finding it
-- reports unchanged, in one UPDATE. With no index on those columns and
-- room left in each page, PostgreSQL updates such rows in place (HOT)
-- instead of adding a tuple and index entries per finding per run. The
-- stale-finding query scans the table instead (one pass per run).
DROP INDEX finding_state_open;
ALTER TABLE finding_state SET (fillfactor = 70);
