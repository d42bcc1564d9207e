-- The encodings kept in current_hashes (015) and live_findings (016) are
-- kept in parts of at most 256 KiB, a row each (reconcile/snapdelta's
-- PartSize), read and written in order of part. SQLite holds a value it
-- writes or reads whole in memory of its own, outside Go's limit, and
-- twice while it writes one: a million people's live findings (66 MB in
-- one row) then held 108 MiB there at the peak of a run. A row kept before
-- is kept as its only part, which reads as it did; the next finished
-- snapshot or full save writes it in parts.
CREATE TABLE current_hashes_parts (
    side   TEXT NOT NULL,     -- 'hr' or 'target'
    target TEXT NOT NULL,     -- '' for HR
    part   INTEGER NOT NULL,  -- 0, 1, ...
    body   BLOB NOT NULL,
    PRIMARY KEY (side, target, part)
);
INSERT INTO current_hashes_parts (side, target, part, body) SELECT side, target, 0, body FROM current_hashes;
DROP TABLE current_hashes;
ALTER TABLE current_hashes_parts RENAME TO current_hashes;

CREATE TABLE live_findings_parts (
    part INTEGER PRIMARY KEY,  -- 0, 1, ...
    seq  INTEGER NOT NULL,     -- the full save that wrote them, the same in every part
    body BLOB NOT NULL
);
INSERT INTO live_findings_parts (part, seq, body) SELECT 0, seq, body FROM live_findings;
DROP TABLE live_findings;
ALTER TABLE live_findings_parts RENAME TO live_findings;
