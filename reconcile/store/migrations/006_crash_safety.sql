-- Crash safety.
-- What an action revokes and for whom: a step whose latest attempt did not
-- end verified is planned again while HR still says the person is gone
-- (rows of earlier versions keep '' and are not replanned).
ALTER TABLE actions ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN employee_id TEXT NOT NULL DEFAULT '';
CREATE INDEX actions_by_step ON actions(target, account_id, op, arg, id);
-- The lease generation of the run lock: raised by every acquisition, and
-- checked (with the holder's token) before every action, so that a holder
-- that lost the lock acts no more (a fencing token).
ALTER TABLE locks ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
