-- An account's distinguished name on a directory, so that a reference
-- written as a DN (a hold, an exemption) resolves against the stored
-- snapshot as it does against a live collection (issue 10 item 1).
ALTER TABLE accounts ADD COLUMN dn TEXT NOT NULL DEFAULT '';
