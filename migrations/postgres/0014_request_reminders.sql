-- vouch schema 14 (issue 13): request reminders. `reminded_ms` on a request is when the leader's
-- timer job last recorded request.reminder for it (a policy's `remind_every`); null: never. The
-- next reminder is due one period after it (or after the request was opened), and the request's
-- `timer_ms` includes that moment, so the existing timer job wakes it.
ALTER TABLE approval_requests ADD COLUMN reminded_ms BIGINT;
