-- Termination drills (issue 16 part 1): one row per drill, its per-target
-- measurements as JSON. And the SHA-256 of the configuration file each run
-- was made with (issue 16 part 5); runs recorded before this migration have
-- none (empty).
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
CREATE INDEX drills_started ON drills (started_at);
ALTER TABLE runs ADD COLUMN config_sha256 TEXT NOT NULL DEFAULT '';
