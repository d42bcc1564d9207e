-- The live finding versions (to_seq = 9223372036854775807) as the last
-- full save left them, in one row: each finding's fingerprint, live version
-- and body hash, encoded by reconcile/store (livecache.go). Each full save
-- starts from the live versions; reading them from finding_versions joins
-- every one with its body, a random read per finding (7 s of a day at a
-- million people). seq names the full save that wrote the row: it is used
-- only while that save is the last full one (only a full save changes
-- which versions are live; retention deletes a live version only with the
-- last full save). finding_versions stays the truth.
CREATE TABLE live_findings (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    body BLOB NOT NULL
);
