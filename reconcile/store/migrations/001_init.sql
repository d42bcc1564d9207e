-- The first schema of the accessrecon snapshot store.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    as_of       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    mode        TEXT NOT NULL,
    job         TEXT NOT NULL DEFAULT '',
    scope       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,           -- running, completed, guard_tripped, partial, failed, cancelled
    guards      TEXT NOT NULL DEFAULT '', -- guards tripped, one per line
    counts      TEXT NOT NULL DEFAULT '{}',
    error       TEXT NOT NULL DEFAULT ''
);

-- One row per source or target collected in a run.
CREATE TABLE collections (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side         TEXT NOT NULL,           -- source | target
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,
    tier         TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,           -- ok | failed | partial
    error        TEXT NOT NULL DEFAULT '',
    count        INTEGER NOT NULL DEFAULT 0,
    enabled      INTEGER NOT NULL DEFAULT 0, -- enabled accounts seen (targets)
    started_at   TEXT NOT NULL,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, side, name)
);
CREATE INDEX collections_by_name ON collections(side, name, status, run_id);

CREATE TABLE people (
    run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    employee_id      TEXT NOT NULL,
    email            TEXT NOT NULL DEFAULT '',
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    status_effective TEXT,
    termination_date TEXT,
    hire_date        TEXT,
    department       TEXT NOT NULL DEFAULT '',
    job_code         TEXT NOT NULL DEFAULT '',
    prev_job_code    TEXT NOT NULL DEFAULT '', -- the role before the last job change
    job_changed_at   TEXT,
    manager_id       TEXT NOT NULL DEFAULT '',
    worker_type      TEXT NOT NULL DEFAULT ''
);
-- Uniqueness of employee IDs within a run is enforced by the engine, which
-- must refuse duplicates with a message anyway; a plain index is smaller.
CREATE INDEX people_by_run ON people(run_id, employee_id);

CREATE TABLE accounts (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    username      TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    employee_id   TEXT NOT NULL DEFAULT '',
    display_name  TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL,
    login_tracked INTEGER NOT NULL,
    last_login    TEXT,
    created       TEXT,
    privileged    INTEGER NOT NULL,
    groups        TEXT NOT NULL DEFAULT '' -- group memberships, one per line
);
-- Rows are wide, so a rowid table with a narrow index beats a WITHOUT ROWID
-- primary key; account IDs are unique per target and run (the engine checks).
CREATE INDEX accounts_by_run ON accounts(run_id, target);

CREATE TABLE credentials (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT '',
    created       TEXT,
    last_used     TEXT,
    active        INTEGER NOT NULL
);
CREATE INDEX credentials_by_run ON credentials(run_id, target);

CREATE TABLE drift (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side        TEXT NOT NULL,            -- hr | target
    target      TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL,            -- account ID or employee ID
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX drift_by_run ON drift(run_id);

CREATE TABLE findings (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    disposition TEXT NOT NULL,
    target      TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    employee_id TEXT NOT NULL DEFAULT '',
    first_seen  TEXT NOT NULL,
    body        TEXT NOT NULL,            -- the finding as findings.json writes it
    PRIMARY KEY (run_id, fingerprint)
) WITHOUT ROWID;

-- The life of each problem across runs: one row per fingerprint.
CREATE TABLE finding_state (
    fingerprint TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    last_run    INTEGER NOT NULL,
    resolved_at TEXT,
    jira_key    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
