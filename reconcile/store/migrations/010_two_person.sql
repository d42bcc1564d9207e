-- Two-person overrides (issue 16 part 3). A hold placed while
-- policy.holds.require_approval is set is 'requested' and takes effect only
-- once someone else approved it ('approved'); '' needs no approval.
ALTER TABLE holds ADD COLUMN approval TEXT NOT NULL DEFAULT '';
ALTER TABLE holds ADD COLUMN approved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE holds ADD COLUMN approved_at TEXT;

-- Exemptions added with `accessrecon exempt add`: applied like the config's
-- policy.exemptions once approved by someone other than the requester.
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
CREATE INDEX exemptions_by_account ON exemptions(target, account_id);
