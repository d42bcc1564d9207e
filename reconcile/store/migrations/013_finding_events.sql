-- Findings as events (issue 13): a run no longer writes one ~1 KB row per
-- finding. Each run that saves findings gets a sequence number (in the
-- order the saves happen); a body is stored once (deduplicated by a hash
-- of the finding row); a version says which body a fingerprint had over
-- an interval of saves. A full run extends the live version of every
-- finding it reports unchanged (nothing written for it here), closes the
-- versions of findings it did not report or whose body changed, and
-- starts new ones. A targeted or kind-scoped run (scope not "full") sees
-- only part of the estate: its findings are versions of that one save
-- (from_seq = to_seq), and the full runs' versions run on across it.
--
-- The findings of run R are exactly: when R's save is full, the versions
-- whose [from_seq, to_seq] holds R's seq; when it is partial, the versions
-- with from_seq = to_seq = R's seq. A version never spans a full save that
-- did not report that body (it would have been closed), and partial saves'
-- seqs inside a full version's interval are never asked about that way.
-- The old findings table is converted by the Go step of this migration
-- (reconcile/store's convertFindings), then dropped.
CREATE TABLE finding_saves (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after pruning
    run_id INTEGER NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
    side   INTEGER NOT NULL                   -- 1: a targeted or kind-scoped run
);

-- One row per distinct finding row (body and its indexed copies).
CREATE TABLE finding_bodies (
    id          INTEGER PRIMARY KEY,
    hash        BLOB NOT NULL,                -- SHA-256 (first 16 bytes) of the row
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    disposition TEXT NOT NULL,
    target      TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    employee_id TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL                 -- the finding as findings.json writes it
);
CREATE UNIQUE INDEX finding_bodies_by_hash ON finding_bodies(hash);

CREATE TABLE finding_versions (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    body_id     INTEGER NOT NULL REFERENCES finding_bodies(id),
    from_seq    INTEGER NOT NULL,
    to_seq      INTEGER NOT NULL               -- 9223372036854775807 while live
);
CREATE INDEX finding_versions_by_seq ON finding_versions(to_seq, from_seq);
CREATE INDEX finding_versions_by_body ON finding_versions(body_id);
