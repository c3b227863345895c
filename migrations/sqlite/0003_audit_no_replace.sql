-- vouch schema 3: INSERT OR REPLACE deletes the old row without firing DELETE triggers, so an insert
-- that names an existing sequence number is refused as well: events are never overwritten.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
