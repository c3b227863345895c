-- vouch schema 17 (issue 14): the audit log's side index of approval requests, for the query by
-- request id. One row per (request, event) for every event that names an approval request: its
-- target's `request`, the `request` of its gate (top level, or under `after` for request.applied),
-- or `request` in its `after` or `before` (comments, break-glass). Filled at append in the
-- event's transaction (store/sql/audit_repository.cc), and here once for the events that exist;
-- the event rows are never touched. Append-only, as the log it indexes.
CREATE TABLE audit_request_index (
  request_id INTEGER NOT NULL,
  seq        INTEGER NOT NULL REFERENCES audit_events(seq),
  PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER audit_request_index_no_update BEFORE UPDATE ON audit_request_index
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_request_index_no_delete BEFORE DELETE ON audit_request_index
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Events older than this table; a body that is not JSON (a damaged log) names no request.
INSERT INTO audit_request_index (request_id, seq)
SELECT DISTINCT id, seq FROM (
  SELECT seq, json_extract(body, '$.target.request') AS id FROM audit_events WHERE json_valid(body)
  UNION ALL
  SELECT seq, json_extract(body, '$.gate.request') FROM audit_events WHERE json_valid(body)
  UNION ALL
  SELECT seq, json_extract(body, '$.after.gate.request') FROM audit_events WHERE json_valid(body)
  UNION ALL
  SELECT seq, json_extract(body, '$.after.request') FROM audit_events WHERE json_valid(body)
  UNION ALL
  SELECT seq, json_extract(body, '$.before.request') FROM audit_events WHERE json_valid(body)
) WHERE typeof(id) = 'integer';

