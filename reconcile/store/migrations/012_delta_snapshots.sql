-- Delta snapshots (issue 13 item 1). Until now every run wrote a full copy of
-- every person, account and credential (tables people, accounts,
-- credentials keyed by run). Now the store keeps one current state of each,
-- with a content hash, and a version row each time it changed: valid from
-- the run that saw the change up to (not including) valid_to, the run that
-- saw the next change or completed a listing without it (NULL: current).
-- "As of run R" is the version with valid_from <= R < valid_to, restricted
-- to what R saved (snapshots, snapshot_members). The rows of the old tables
-- are converted by Go code run in the same transaction right after this
-- file (store.go, convertSnapshots), which then drops them.

-- Each run's snapshot of HR (side 'hr', target '') or of one target:
-- complete (every current state it did not save ended at it) or not (a
-- targeted run, a failed or partial listing: its snapshot is the members
-- it saved). A run with no row here has no snapshot of that side/target.
CREATE TABLE snapshots (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side     TEXT NOT NULL,
    target   TEXT NOT NULL,
    complete INTEGER NOT NULL,
    PRIMARY KEY (run_id, side, target)
) WITHOUT ROWID;

-- The people or accounts an incomplete snapshot saved.
CREATE TABLE snapshot_members (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side   TEXT NOT NULL,
    target TEXT NOT NULL,
    id     TEXT NOT NULL,
    PRIMARY KEY (run_id, side, target, id)
) WITHOUT ROWID;

CREATE TABLE person_versions (
    employee_id      TEXT NOT NULL,
    valid_from       INTEGER NOT NULL,
    valid_to         INTEGER,
    hash             INTEGER NOT NULL, -- reconcile.PersonHash as a signed integer
    email            TEXT NOT NULL DEFAULT '',
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    status_effective TEXT,
    termination_date TEXT,
    hire_date        TEXT,
    department       TEXT NOT NULL DEFAULT '',
    job_code         TEXT NOT NULL DEFAULT '',
    prev_job_code    TEXT NOT NULL DEFAULT '',
    job_changed_at   TEXT,
    manager_id       TEXT NOT NULL DEFAULT '',
    worker_type      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX person_versions_key ON person_versions(employee_id, valid_from);
-- What a run loads before saving: the current hash of each person.
CREATE INDEX person_versions_current ON person_versions(employee_id, hash, valid_from) WHERE valid_to IS NULL;
CREATE INDEX person_versions_ended ON person_versions(valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE account_versions (
    target        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_to      INTEGER,
    hash          INTEGER NOT NULL, -- reconcile.AccountHash as a signed integer
    username      TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    employee_id   TEXT NOT NULL DEFAULT '',
    display_name  TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL,
    login_tracked INTEGER NOT NULL,
    last_login    TEXT,
    created       TEXT,
    privileged    INTEGER NOT NULL,
    groups        TEXT NOT NULL DEFAULT '',
    dn            TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX account_versions_key ON account_versions(target, account_id, valid_from);
CREATE INDEX account_versions_current ON account_versions(target, account_id, hash, valid_from) WHERE valid_to IS NULL;
CREATE INDEX account_versions_ended ON account_versions(valid_to) WHERE valid_to IS NOT NULL;

-- The credentials of an account version (same target, account, valid_from),
-- in the order the target listed them (rowid).
CREATE TABLE credential_versions (
    target        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    valid_from    INTEGER NOT NULL,
    credential_id TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT '',
    created       TEXT,
    last_used     TEXT,
    active        INTEGER NOT NULL
);
CREATE INDEX credential_versions_key ON credential_versions(target, account_id, valid_from);
