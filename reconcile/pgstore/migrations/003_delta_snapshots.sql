-- Delta snapshots (issue 13 item 1), as reconcile/store's SQLite migration
-- 012: one current version of each person and account with its content
-- hash, a new version only when it changed (valid from the run that saw
-- the change up to, not including, valid_to; NULL: current). A run's
-- snapshot is the versions valid at it, restricted to what it saved
-- (snapshots, snapshot_members). The rows of the old per-run tables are
-- converted by Go code in the same transaction right after this file
-- (convert.go), which then drops them.
CREATE TABLE snapshots (
    run_id   bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side     text NOT NULL,    -- hr | target
    target   text NOT NULL,    -- '' for HR
    complete boolean NOT NULL, -- else its snapshot is its members
    PRIMARY KEY (run_id, side, target)
);

CREATE TABLE snapshot_members (
    run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side   text NOT NULL,
    target text NOT NULL,
    id     text NOT NULL,
    PRIMARY KEY (run_id, side, target, id)
);

CREATE TABLE person_versions (
    employee_id      text NOT NULL,
    valid_from       bigint NOT NULL,
    valid_to         bigint,
    hash             bigint NOT NULL, -- reconcile.PersonHash as a signed integer
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
    worker_type      text NOT NULL DEFAULT '',
    PRIMARY KEY (employee_id, valid_from)
);
CREATE INDEX person_versions_current ON person_versions(employee_id) INCLUDE (hash, valid_from) WHERE valid_to IS NULL;
CREATE INDEX person_versions_ended ON person_versions(valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE account_versions (
    target        text NOT NULL,
    account_id    text NOT NULL,
    valid_from    bigint NOT NULL,
    valid_to      bigint,
    hash          bigint NOT NULL, -- reconcile.AccountHash as a signed integer
    username      text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    employee_id   text NOT NULL DEFAULT '',
    display_name  text NOT NULL DEFAULT '',
    enabled       boolean NOT NULL,
    login_tracked boolean NOT NULL,
    last_login    timestamptz,
    created       timestamptz,
    privileged    boolean NOT NULL,
    groups        text NOT NULL DEFAULT '',
    dn            text NOT NULL DEFAULT '',
    PRIMARY KEY (target, account_id, valid_from)
);
CREATE INDEX account_versions_current ON account_versions(target, account_id) INCLUDE (hash, valid_from) WHERE valid_to IS NULL;
CREATE INDEX account_versions_ended ON account_versions(valid_to) WHERE valid_to IS NOT NULL;

-- The credentials of an account version, seq in the order the target
-- listed them.
CREATE TABLE credential_versions (
    target        text NOT NULL,
    account_id    text NOT NULL,
    valid_from    bigint NOT NULL,
    seq           integer NOT NULL,
    credential_id text NOT NULL,
    kind          text NOT NULL DEFAULT '',
    created       timestamptz,
    last_used     timestamptz,
    active        boolean NOT NULL,
    PRIMARY KEY (target, account_id, valid_from, seq)
);
