-- The current versions kept in current_hashes (006) are kept in parts of
-- at most 256 KiB, a row each (reconcile/snapdelta's PartSize), read and
-- written in order of part: the SQL is the one both stores run, and
-- reconcile/store's SQLite holds a value it writes or reads whole in
-- memory outside Go's limit. A row kept before is kept as its only part.
-- (reconcile/store's 018.)
ALTER TABLE current_hashes ADD COLUMN part INTEGER NOT NULL DEFAULT 0;
ALTER TABLE current_hashes ALTER COLUMN part DROP DEFAULT;
ALTER TABLE current_hashes DROP CONSTRAINT current_hashes_pkey;
ALTER TABLE current_hashes ADD PRIMARY KEY (side, target, part);
