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
-- A table of its own rather than a column of runs: runs is read with
-- SELECT * into a fixed struct.
CREATE TABLE run_configs (
	run_id        INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	config_sha256 TEXT NOT NULL
);
