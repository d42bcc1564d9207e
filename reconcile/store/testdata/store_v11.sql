PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
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
, dry_run INTEGER NOT NULL DEFAULT 0, hr_suspect INTEGER NOT NULL DEFAULT 0);
INSERT INTO runs VALUES(1,'2026-04-01T02:00:00Z','2026-04-01T02:00:00Z','2026-04-01T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(2,'2026-04-02T02:00:00Z','2026-04-02T02:00:00Z','2026-04-02T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(3,'2026-04-03T02:00:00Z','2026-04-03T02:00:00Z','2026-04-03T02:01:00Z','report','','people:E1','completed','','null','',0,0);
INSERT INTO runs VALUES(4,'2026-04-04T02:00:00Z','2026-04-04T02:00:00Z','2026-04-04T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(5,'2026-04-05T02:00:00Z','2026-04-05T02:00:00Z','2026-04-05T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(6,'2026-04-06T02:00:00Z','2026-04-06T02:00:00Z','2026-04-06T02:01:00Z','report','','full','completed','','null','',1,0);
INSERT INTO runs VALUES(7,'2026-04-07T02:00:00Z','2026-04-07T02:00:00Z','2026-04-07T02:01:00Z','report','','dormant','completed','','null','',0,0);
INSERT INTO runs VALUES(8,'2026-04-08T02:00:00Z','2026-04-08T02:00:00Z','2026-04-08T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(9,'2026-04-09T02:00:00Z','2026-04-09T02:00:00Z','2026-04-09T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(10,'2026-04-10T02:00:00Z','2026-04-10T02:00:00Z','2026-04-10T02:01:00Z','report','','full','failed','','null','',0,0);
INSERT INTO runs VALUES(11,'2026-04-11T02:00:00Z','2026-04-11T02:00:00Z','2026-04-11T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(12,'2026-04-12T02:00:00Z','2026-04-12T02:00:00Z','2026-04-12T02:01:00Z','report','','people:E2','completed','','null','',0,0);
INSERT INTO runs VALUES(13,'2026-04-13T02:00:00Z','2026-04-13T02:00:00Z','2026-04-13T02:01:00Z','report','','full','completed','','null','',0,0);
INSERT INTO runs VALUES(14,'2026-04-14T02:00:00Z','2026-04-14T02:00:00Z','2026-04-14T02:01:00Z','report','','full','completed','','null','',0,0);
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
, dn TEXT NOT NULL DEFAULT '');
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
CREATE TABLE drift (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    side        TEXT NOT NULL,            -- hr | target
    target      TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL,            -- account ID or employee ID
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
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
INSERT INTO findings VALUES(1,'a','orphaned','high','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":1}');
INSERT INTO findings VALUES(1,'b','dormant','high','review','app','acct-b','E-b','2026-04-01T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(1,'c','terminated_active','critical','auto_revoke','app2','acct-c','E-c','2026-04-01T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"critical","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":1,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(2,'a','orphaned','high','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":1}');
INSERT INTO findings VALUES(2,'b','dormant','medium','review','app','acct-b','E-b','2026-04-01T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"medium","target":"app","account_id":"acct-b","disposition":"review","version":2}');
INSERT INTO findings VALUES(2,'c','terminated_active','critical','auto_revoke','app2','acct-c','E-c','2026-04-01T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"critical","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":1,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(3,'a','orphaned','high','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":1}');
INSERT INTO findings VALUES(4,'a','orphaned','high','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":1}');
INSERT INTO findings VALUES(4,'b','dormant','medium','review','app','acct-b','E-b','2026-04-01T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"medium","target":"app","account_id":"acct-b","disposition":"review","version":2}');
INSERT INTO findings VALUES(5,'a','orphaned','high','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":1}');
INSERT INTO findings VALUES(5,'b','dormant','high','review','app','acct-b','E-b','2026-04-01T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(5,'c','terminated_active','critical','auto_revoke','app2','acct-c','E-c','2026-04-01T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"critical","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":1,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(6,'a','orphaned','medium','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"medium","target":"app","account_id":"acct-a","disposition":"review","version":2}');
INSERT INTO findings VALUES(6,'b','dormant','high','review','app','acct-b','E-b','2026-04-01T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(6,'c','terminated_active','critical','auto_revoke','app2','acct-c','E-c','2026-04-01T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"critical","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":1,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(6,'d','excess_access','high','review','app','acct-d','E-d','2026-04-06T02:00:00Z','{"fingerprint":"d","kind":"excess_access","severity":"high","target":"app","account_id":"acct-d","disposition":"review","version":1}');
INSERT INTO findings VALUES(7,'b','dormant','high','review','app','acct-b','E-b','2026-04-01T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(8,'a','orphaned','high','review','app','acct-a','E-a','2026-04-01T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":1}');
INSERT INTO findings VALUES(8,'d','excess_access','high','review','app','acct-d','E-d','2026-04-06T02:00:00Z','{"fingerprint":"d","kind":"excess_access","severity":"high","target":"app","account_id":"acct-d","disposition":"review","version":1}');
INSERT INTO findings VALUES(11,'a','orphaned','high','review','app','acct-a','E-a','2026-04-11T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":3}');
INSERT INTO findings VALUES(11,'b','dormant','high','review','app','acct-b','E-b','2026-04-11T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(11,'c','terminated_active','critical','auto_revoke','app2','acct-c','E-c','2026-04-11T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"critical","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":1,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(11,'d','excess_access','high','review','app','acct-d','E-d','2026-04-06T02:00:00Z','{"fingerprint":"d","kind":"excess_access","severity":"high","target":"app","account_id":"acct-d","disposition":"review","version":1}');
INSERT INTO findings VALUES(12,'b','dormant','high','review','app','acct-b','E-b','2026-04-11T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(12,'d','excess_access','medium','review','app','acct-d','E-d','2026-04-06T02:00:00Z','{"fingerprint":"d","kind":"excess_access","severity":"medium","target":"app","account_id":"acct-d","disposition":"review","version":2}');
INSERT INTO findings VALUES(13,'a','orphaned','high','review','app','acct-a','E-a','2026-04-11T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":3}');
INSERT INTO findings VALUES(13,'b','dormant','high','review','app','acct-b','E-b','2026-04-11T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(13,'c','terminated_active','medium','auto_revoke','app2','acct-c','E-c','2026-04-11T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"medium","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":2,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(13,'d','excess_access','high','review','app','acct-d','E-d','2026-04-06T02:00:00Z','{"fingerprint":"d","kind":"excess_access","severity":"high","target":"app","account_id":"acct-d","disposition":"review","version":1}');
INSERT INTO findings VALUES(14,'a','orphaned','high','review','app','acct-a','E-a','2026-04-11T02:00:00Z','{"fingerprint":"a","kind":"orphaned","severity":"high","target":"app","account_id":"acct-a","disposition":"review","version":3}');
INSERT INTO findings VALUES(14,'b','dormant','high','review','app','acct-b','E-b','2026-04-11T02:00:00Z','{"fingerprint":"b","kind":"dormant","severity":"high","target":"app","account_id":"acct-b","disposition":"review","version":1}');
INSERT INTO findings VALUES(14,'c','terminated_active','medium','auto_revoke','app2','acct-c','E-c','2026-04-11T02:00:00Z','{"fingerprint":"c","kind":"terminated_active","severity":"medium","target":"app2","account_id":"acct-c","disposition":"auto_revoke","version":2,"revoked_at":"2026-04-01T02:00:00Z"}');
INSERT INTO findings VALUES(14,'d','excess_access','high','review','app','acct-d','E-d','2026-04-06T02:00:00Z','{"fingerprint":"d","kind":"excess_access","severity":"high","target":"app","account_id":"acct-d","disposition":"review","version":1}');
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
INSERT INTO finding_state VALUES('a','orphaned','app','acct-a','2026-04-11T02:00:00Z','2026-04-14T02:00:00Z',14,NULL,'OPS-3');
INSERT INTO finding_state VALUES('b','dormant','app','acct-b','2026-04-11T02:00:00Z','2026-04-14T02:00:00Z',14,NULL,'OPS-1');
INSERT INTO finding_state VALUES('c','terminated_active','app2','acct-c','2026-04-11T02:00:00Z','2026-04-14T02:00:00Z',14,NULL,'');
INSERT INTO finding_state VALUES('d','excess_access','app','acct-d','2026-04-06T02:00:00Z','2026-04-14T02:00:00Z',14,NULL,'OPS-2');
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
, kind TEXT NOT NULL DEFAULT '', employee_id TEXT NOT NULL DEFAULT '');
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
, approval TEXT NOT NULL DEFAULT '', approved_by TEXT NOT NULL DEFAULT '', approved_at TEXT);
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
CREATE TABLE locks (
    name         TEXT PRIMARY KEY,
    token        TEXT NOT NULL,   -- unique per acquisition
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    purpose      TEXT NOT NULL DEFAULT '', -- the job or command holding it
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
, generation INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE hr_events (
    id          INTEGER PRIMARY KEY,
    request_id  TEXT NOT NULL,
    source      TEXT NOT NULL,           -- bamboohr | hr
    employee_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    run_id      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE outbox (
    kind      TEXT NOT NULL,   -- jira
    id        TEXT NOT NULL,   -- the report's own key (a fingerprint for Jira)
    queued_at TEXT NOT NULL,
    body      TEXT NOT NULL,   -- the report's item as JSON
    PRIMARY KEY (kind, id)
);
CREATE TABLE webhook_signatures (
    signature  TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE exemptions (
    id           INTEGER PRIMARY KEY,
    target       TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    owner        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    expires      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    approved_by  TEXT NOT NULL DEFAULT '',
    approved_at  TEXT,
    removed_by   TEXT NOT NULL DEFAULT '',
    removed_at   TEXT
);
CREATE TABLE drills (
	id          INTEGER PRIMARY KEY,
	run_id      INTEGER NOT NULL DEFAULT 0,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	scenario    TEXT NOT NULL,
	by          TEXT NOT NULL DEFAULT '',
	passed      INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	targets     TEXT NOT NULL DEFAULT '[]',
	restored    TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE run_configs (
	run_id        INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	config_sha256 TEXT NOT NULL
);
CREATE INDEX collections_by_name ON collections(side, name, status, run_id);
CREATE INDEX people_by_run ON people(run_id, employee_id);
CREATE INDEX accounts_by_run ON accounts(run_id, target);
CREATE INDEX credentials_by_run ON credentials(run_id, target);
CREATE INDEX drift_by_run ON drift(run_id);
CREATE INDEX actions_by_target ON actions(target, account_id, op, status);
CREATE INDEX actions_by_run ON actions(run_id);
CREATE INDEX holds_by_account ON holds(target, account_id);
CREATE INDEX hr_events_by_employee ON hr_events(employee_id, received_at);
CREATE INDEX actions_by_step ON actions(target, account_id, op, arg, id);
CREATE INDEX audit_by_type ON audit(type, seq);
CREATE INDEX exemptions_by_account ON exemptions(target, account_id);
CREATE INDEX drills_started ON drills (started_at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never updated'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are never deleted'); END;
COMMIT;
PRAGMA user_version = 11;
