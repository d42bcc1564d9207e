-- The accessrecon store on PostgreSQL: what reconcile.Store needs, the
-- equivalent of reconcile/store's SQLite migrations 001-008 (runs,
-- collections, snapshots, drift, findings and their life, actions, holds,
-- the run lock with its lease generation). Times are timestamptz (to the
-- microsecond); NULL is the zero time.
CREATE TABLE runs (
    id          bigserial PRIMARY KEY,
    as_of       timestamptz NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    mode        text NOT NULL,
    job         text NOT NULL DEFAULT '',
    scope       text NOT NULL DEFAULT '',
    status      text NOT NULL,            -- running, completed, guard_tripped, partial, failed, cancelled, crashed
    guards      jsonb NOT NULL DEFAULT '[]', -- the guards tripped, as text
    counts      jsonb NOT NULL DEFAULT '{}',
    error       text NOT NULL DEFAULT '',
    dry_run     boolean NOT NULL DEFAULT false, -- never a baseline
    hr_suspect  boolean NOT NULL DEFAULT false  -- its HR snapshot is never a baseline
);

-- One row per source or target collected in a run.
CREATE TABLE collections (
    run_id       bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side         text NOT NULL,           -- source | target
    name         text NOT NULL,
    type         text NOT NULL,
    tier         text NOT NULL DEFAULT '',
    capabilities text NOT NULL DEFAULT '',
    status       text NOT NULL,           -- ok | failed | partial
    error        text NOT NULL DEFAULT '',
    count        integer NOT NULL DEFAULT 0,
    enabled      integer NOT NULL DEFAULT 0,
    started_at   text NOT NULL,
    duration_ms  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, side, name)
);
CREATE INDEX collections_by_name ON collections(side, name, status, run_id);

CREATE TABLE people (
    run_id           bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    employee_id      text NOT NULL,
    email            text NOT NULL DEFAULT '',
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    status           text NOT NULL,
    status_effective timestamptz,
    termination_date timestamptz,
    hire_date        timestamptz,
    department       text NOT NULL DEFAULT '',
    job_code         text NOT NULL DEFAULT '',
    prev_job_code    text NOT NULL DEFAULT '',
    job_changed_at   timestamptz,
    manager_id       text NOT NULL DEFAULT '',
    worker_type      text NOT NULL DEFAULT ''
);
-- Employee IDs are listed in byte order, as on SQLite, whatever the
-- database's collation.
CREATE INDEX people_by_run ON people(run_id, employee_id COLLATE "C");

CREATE TABLE accounts (
    run_id        bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target        text NOT NULL,
    account_id    text NOT NULL,
    username      text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    employee_id   text NOT NULL DEFAULT '',
    display_name  text NOT NULL DEFAULT '',
    enabled       boolean NOT NULL,
    login_tracked boolean NOT NULL,
    last_login    timestamptz,
    created       timestamptz,
    privileged    boolean NOT NULL,
    groups        text NOT NULL DEFAULT '' -- reconcile.JoinGroups
);
CREATE INDEX accounts_by_run ON accounts(run_id, target, account_id);

CREATE TABLE credentials (
    run_id        bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target        text NOT NULL,
    account_id    text NOT NULL,
    credential_id text NOT NULL,
    kind          text NOT NULL DEFAULT '',
    created       timestamptz,
    last_used     timestamptz,
    active        boolean NOT NULL
);
CREATE INDEX credentials_by_run ON credentials(run_id, target, account_id);

CREATE TABLE drift (
    run_id  bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side    text NOT NULL,            -- hr | target
    target  text NOT NULL DEFAULT '',
    subject text NOT NULL,            -- account ID or employee ID
    kind    text NOT NULL,
    detail  text NOT NULL DEFAULT ''
);
CREATE INDEX drift_by_run ON drift(run_id);

CREATE TABLE findings (
    run_id      bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    fingerprint text NOT NULL,
    kind        text NOT NULL,
    severity    text NOT NULL,
    disposition text NOT NULL,
    target      text NOT NULL,
    account_id  text NOT NULL,
    employee_id text NOT NULL DEFAULT '',
    first_seen  timestamptz NOT NULL,
    body        text NOT NULL,            -- the finding as findings.json writes it, byte for byte
    PRIMARY KEY (run_id, fingerprint)
);

-- The life of each problem across runs: one row per fingerprint.
CREATE TABLE finding_state (
    fingerprint text PRIMARY KEY,
    kind        text NOT NULL,
    target      text NOT NULL,
    account_id  text NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    last_run    bigint NOT NULL,
    resolved_at timestamptz,
    jira_key    text NOT NULL DEFAULT ''
);
CREATE INDEX finding_state_open ON finding_state(last_run) WHERE resolved_at IS NULL;

-- Actions the executor requested, each with its observed outcome.
CREATE TABLE actions (
    id           bigserial PRIMARY KEY,
    run_id       bigint NOT NULL REFERENCES runs(id),
    fingerprint  text NOT NULL,
    target       text NOT NULL,
    account_id   text NOT NULL,
    op           text NOT NULL,
    arg          text NOT NULL DEFAULT '',
    status       text NOT NULL,
    verified     boolean NOT NULL DEFAULT false,
    attempts     integer NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL,
    finished_at  timestamptz,
    kind         text NOT NULL DEFAULT '',
    employee_id  text NOT NULL DEFAULT ''
);
CREATE INDEX actions_by_target ON actions(target, account_id, op, status);
CREATE INDEX actions_by_step ON actions(target, account_id, op, arg, id);
CREATE INDEX actions_by_run ON actions(run_id);

-- Holds: accounts nobody may revoke until the hold ends.
CREATE TABLE holds (
    id         bigserial PRIMARY KEY,
    target     text NOT NULL,
    account_id text NOT NULL,
    reason     text NOT NULL,
    until      timestamptz NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    removed_by text,
    removed_at timestamptz
);
CREATE INDEX holds_by_account ON holds(target, account_id);

-- The run lock: one row per lock name, held by one process at a time. The
-- generation is raised by every acquisition and checked, with the token,
-- before every action (a fencing token).
CREATE TABLE locks (
    name         text PRIMARY KEY,
    token        text NOT NULL,
    host         text NOT NULL,
    pid          integer NOT NULL,
    purpose      text NOT NULL DEFAULT '',
    acquired_at  timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    generation   bigint NOT NULL DEFAULT 0
);
