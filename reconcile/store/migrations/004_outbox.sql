-- Work for an outside system (Jira) that could not be sent yet: kept until
-- the system takes it, one pending item per (kind, id), a newer replacing an
-- older one.
CREATE TABLE outbox (
    kind      TEXT NOT NULL,   -- jira
    id        TEXT NOT NULL,   -- the report's own key (a fingerprint for Jira)
    queued_at TEXT NOT NULL,
    body      TEXT NOT NULL,   -- the report's item as JSON
    PRIMARY KEY (kind, id)
);
