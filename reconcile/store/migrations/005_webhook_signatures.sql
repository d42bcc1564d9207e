-- Signatures of accepted webhook requests, kept for twice the replay window,
-- so that a replayed request is refused by every serve on this store and
-- across restarts.
CREATE TABLE webhook_signatures (
    signature  TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
