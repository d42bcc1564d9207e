-- The run lock: one row per lock name, held by one process at a time, so
-- that scheduled jobs, HR-event runs and manual runs of every process on the
-- store never overlap. A holder refreshes heartbeat_at while it holds the
-- lock; a row whose holder died (same host, pid gone) or whose heartbeat is
-- older than the stale threshold may be taken over.
CREATE TABLE locks (
    name         TEXT PRIMARY KEY,
    token        TEXT NOT NULL,   -- unique per acquisition
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    purpose      TEXT NOT NULL DEFAULT '', -- the job or command holding it
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
) WITHOUT ROWID;

-- HR events received through the webhooks: when accessrecon first learned
-- that a person changed, which starts the SLA clock when it is earlier than
-- HR's effective date.
CREATE TABLE hr_events (
    id          INTEGER PRIMARY KEY,
    request_id  TEXT NOT NULL,
    source      TEXT NOT NULL,           -- bamboohr | hr
    employee_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    run_id      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX hr_events_by_employee ON hr_events(employee_id, received_at);
