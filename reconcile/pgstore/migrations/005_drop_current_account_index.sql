-- As reconcile/store's 014: the index of the current account versions was read only to count a
-- target's current accounts and, on a target's first run or after an
-- incomplete snapshot, to list their hashes: both are served by the key
-- index. It cost a third of the B-tree inserts of a first run (a million
-- account versions at 100,000 people) and ~40 MB of the store.
DROP INDEX account_versions_current;
