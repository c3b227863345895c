-- vouch schema 12 (issue 12): request timers. `timer_ms` on a request is the next moment a timer
-- may change it (its `expiry.request`, the end of its policy's `wait`), written by the service each
-- time it evaluates the request; null: no timer. The leader's timer job reads the open requests
-- that are due through the partial index, oldest timer first, and evaluates each again inside its
-- own transaction, so the column is a hint: a wrong value makes a request be looked at early (it
-- changes nothing) or later, never decided wrongly.
ALTER TABLE approval_requests ADD COLUMN timer_ms INTEGER;
CREATE INDEX approval_requests_timer ON approval_requests(timer_ms, id) WHERE state = 'open';
-- Requests opened before this schema: their expiry is the one timer known without evaluating.
UPDATE approval_requests SET timer_ms = expires_ms WHERE state = 'open';
