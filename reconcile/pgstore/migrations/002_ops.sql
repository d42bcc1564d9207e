-- What accessrecon's commands keep beside the engine's record, as
-- reconcile/store's SQLite migrations 002-011 keep it: the hash-chained
-- audit trail, the outbox, HR webhook events and signatures, two-person
-- approvals of holds and exemptions, drills and the configuration hash of
-- each run. Times are timestamptz, except the audit record's time, which is
-- hashed and so kept as the exact text reconcile/store writes.

-- The hash-chained audit trail. Rows are only ever inserted; retention trims
-- whole prefixes (a transaction that sets accessrecon.audit_trim) and records
-- the trim as an event. detail is text, not jsonb: jsonb would reorder keys
-- and the record's hash covers the detail as written.
CREATE TABLE audit (
    seq       bigint PRIMARY KEY,
    at        text NOT NULL,
    run_id    bigint NOT NULL DEFAULT 0,
    type      text NOT NULL,
    actor     text NOT NULL,
    target    text NOT NULL DEFAULT '',
    detail    text NOT NULL DEFAULT '{}',
    prev_hash text NOT NULL,
    hash      text NOT NULL
);
CREATE INDEX audit_by_type ON audit(type, seq);
CREATE FUNCTION audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('accessrecon.audit_trim', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit records are never changed or deleted (%)', TG_OP;
END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_immutable();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_immutable();

-- Work for an outside system (Jira, notifications) not sent yet: one pending
-- item per (kind, id), a newer replacing an older one.
CREATE TABLE outbox (
    kind      text NOT NULL,
    id        text NOT NULL,
    queued_at timestamptz,
    body      text NOT NULL,
    PRIMARY KEY (kind, id)
);

-- People named by HR webhooks; run_id -1 while accepted and not yet run.
CREATE TABLE hr_events (
    id          bigserial PRIMARY KEY,
    request_id  text NOT NULL,
    source      text NOT NULL,
    employee_id text NOT NULL,
    received_at timestamptz,
    run_id      bigint NOT NULL DEFAULT 0
);
CREATE INDEX hr_events_by_employee ON hr_events(employee_id, received_at);
CREATE INDEX hr_events_pending ON hr_events(id) WHERE run_id = -1;

-- Signatures of accepted webhook requests: the primary key makes a claim
-- unique across every process on the database.
CREATE TABLE webhook_signatures (
    signature  text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Two-person overrides: a hold 'requested' takes effect once approved.
ALTER TABLE holds ADD COLUMN approval text NOT NULL DEFAULT '';
ALTER TABLE holds ADD COLUMN approved_by text NOT NULL DEFAULT '';
ALTER TABLE holds ADD COLUMN approved_at timestamptz;

CREATE TABLE exemptions (
    id           bigserial PRIMARY KEY,
    target       text NOT NULL,
    account_id   text NOT NULL,
    owner        text NOT NULL,
    reason       text NOT NULL,
    expires      timestamptz,
    requested_by text NOT NULL,
    requested_at timestamptz,
    approved_by  text NOT NULL DEFAULT '',
    approved_at  timestamptz,
    removed_by   text NOT NULL DEFAULT '',
    removed_at   timestamptz
);
CREATE INDEX exemptions_by_account ON exemptions(target, account_id);

CREATE TABLE drills (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL DEFAULT 0,
    started_at  timestamptz,
    finished_at timestamptz,
    scenario    text NOT NULL,
    by          text NOT NULL DEFAULT '',
    passed      boolean NOT NULL DEFAULT false,
    error       text NOT NULL DEFAULT '',
    targets     text NOT NULL DEFAULT '[]',
    restored    text NOT NULL DEFAULT '[]'
);
CREATE INDEX drills_started ON drills(started_at);

CREATE TABLE run_configs (
    run_id        bigint PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    config_sha256 text NOT NULL
);
