-- A finding every full save reports unchanged is no longer rewritten to
-- say so (an UPDATE of every open finding: a dead tuple per finding per
-- day). While its version is live (to_seq = 9223372036854775807: reported
-- by every full save since it began, the last one included) and its state
-- open, its last seen run is the last full save, recorded in this one row;
-- finding_state's last_seen and last_run say it once the version ends, is
-- pruned, or the finding is resolved (the store writes them then), and the
-- readers take the later of the two (reconcile/store findings.go,
-- StateCols, which this store uses too). A store migrated to it reads as
-- before; its first full save sets the row. Retention never deletes it.
-- (reconcile/store's 017.)
CREATE TABLE finding_last_full_save (
    id     integer PRIMARY KEY CHECK (id = 1),
    run_id bigint NOT NULL,
    as_of  timestamptz NOT NULL
);
-- Whether a finding has a live version, asked of each open finding.
CREATE INDEX finding_versions_live ON finding_versions (fingerprint) WHERE to_seq = 9223372036854775807;
