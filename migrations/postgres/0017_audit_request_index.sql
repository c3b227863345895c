-- vouch schema 17 (issue 14): the audit log's side index of approval requests, for the query by
-- request id. One row per (request, event) for every event that names an approval request: its
-- target's `request`, the `request` of its gate (top level, or under `after` for request.applied),
-- or `request` in its `after` or `before` (comments, break-glass). Filled at append in the
-- event's transaction (store/sql/audit_repository.cc), and here once for the events that exist;
-- the event rows are never touched. Append-only, as the log it indexes (triggers here; the
-- server's role is refused UPDATE and DELETE on it as on audit_events).
CREATE TABLE audit_request_index (
  request_id BIGINT NOT NULL,
  seq        BIGINT NOT NULL REFERENCES audit_events(seq),
  PRIMARY KEY (request_id, seq)
);
CREATE TRIGGER audit_request_index_no_update BEFORE UPDATE ON audit_request_index
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_request_index_no_delete BEFORE DELETE ON audit_request_index
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_request_index_no_truncate BEFORE TRUNCATE ON audit_request_index
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Events older than this table; a body that is not JSON (a damaged log) names no request.
CREATE FUNCTION vouch_0017_request_ids(body TEXT) RETURNS SETOF BIGINT LANGUAGE plpgsql AS $$
DECLARE
  j JSONB;
BEGIN
  BEGIN
    j := body::jsonb;
  EXCEPTION WHEN others THEN
    RETURN;
  END;
  RETURN QUERY SELECT DISTINCT (v #>> '{}')::bigint
    FROM (VALUES (j #> '{target,request}'), (j #> '{gate,request}'), (j #> '{after,gate,request}'),
                 (j #> '{after,request}'), (j #> '{before,request}')) AS t(v)
    WHERE jsonb_typeof(v) = 'number' AND (v #>> '{}') ~ '^-?[0-9]{1,18}$';
END;
$$;
INSERT INTO audit_request_index (request_id, seq)
SELECT r.id, e.seq FROM audit_events e CROSS JOIN LATERAL vouch_0017_request_ids(e.body) AS r(id);
DROP FUNCTION vouch_0017_request_ids(TEXT);

