-- Actions the executor requested, each with its observed outcome.
CREATE TABLE actions (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    fingerprint  TEXT NOT NULL,
    target       TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    op           TEXT NOT NULL,
    arg          TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,  -- requested | done | failed | unverified | planned | blocked | recovered_done | recovered_not_done
    verified     INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    requested_at TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX actions_by_target ON actions(target, account_id, op, status);
CREATE INDEX actions_by_run ON actions(run_id);

-- Holds: accounts nobody may revoke until the hold ends (legal hold,
-- investigation, emergency override).
CREATE TABLE holds (
    id         INTEGER PRIMARY KEY,
    target     TEXT NOT NULL,
    account_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    until      TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_by TEXT,
    removed_at TEXT
);
CREATE INDEX holds_by_account ON holds(target, account_id);

-- The hash-chained audit trail. Rows are only ever inserted; retention trims
-- whole prefixes and records the trim as an event.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    run_id    INTEGER NOT NULL DEFAULT 0,
    type      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    target    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never updated'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never deleted'); END;
