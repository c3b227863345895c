-- vouch schema 3: SQLite needed a trigger against INSERT OR REPLACE overwriting an event. PostgreSQL
-- has no REPLACE: an insert naming an existing seq violates the primary key, and INSERT ... ON
-- CONFLICT DO UPDATE fires the UPDATE trigger of schema 1. Recorded so both dialects count alike.
COMMENT ON TABLE audit_events IS
  'append-only: UPDATE, DELETE and TRUNCATE are refused by triggers; seq is the gapless log position';
