-- vouch schema 11 (issue 12): the approval store. Policies as published versions, requests, their
-- reviews (signatures) and comments, and the checks machines post on versions. Rows only: what a
-- policy says and what a request needs is decided by the service (src/vouch/store/README.md,
-- "Approvals", documents every table).
--
-- The creating principal's id on models and versions, for separation of duties (a name of a
-- deleted principal can be reused; an id cannot). 0 on rows made before this schema.
ALTER TABLE models ADD COLUMN created_by_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE model_versions ADD COLUMN created_by_id INTEGER NOT NULL DEFAULT 0;

-- One head row per policy name: the last version number given (the next publish takes it plus one
-- in a single upsert) and the retired marker, cleared when a new version is published.
CREATE TABLE policies (
  name          TEXT    PRIMARY KEY,
  last_version  INTEGER NOT NULL,
  created_ms    INTEGER NOT NULL,
  retired_ms    INTEGER,
  retired_by_id INTEGER NOT NULL DEFAULT 0
);

-- Published policy versions: never changed, never deleted (triggers below). `body` is the policy's
-- canonical JSON (RFC 8785), `digest` the SHA-256 hex of those bytes, `source_yaml` the text it was
-- applied from.
CREATE TABLE policy_versions (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL REFERENCES policies(name),
  version       INTEGER NOT NULL,
  target        TEXT    NOT NULL,
  body          TEXT    NOT NULL,
  digest        TEXT    NOT NULL,
  source_yaml   TEXT    NOT NULL DEFAULT '',
  created_ms    INTEGER NOT NULL,
  created_by_id INTEGER NOT NULL DEFAULT 0,
  UNIQUE (name, version)
);
CREATE INDEX policy_versions_target ON policy_versions(target, name, version);
CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
BEGIN SELECT RAISE(ABORT, 'published policy versions are immutable'); END;
CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
BEGIN SELECT RAISE(ABORT, 'published policy versions are immutable'); END;
CREATE TRIGGER policy_versions_no_replace BEFORE INSERT ON policy_versions
WHEN EXISTS (SELECT 1 FROM policy_versions WHERE id = NEW.id OR (name = NEW.name AND version = NEW.version))
BEGIN SELECT RAISE(ABORT, 'published policy versions are immutable'); END;

-- Requests to move a version into a target ("stage:Production", "alias:champion"). At most one
-- open or approved request per version and target: the partial unique index.
CREATE TABLE approval_requests (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id           INTEGER NOT NULL REFERENCES models(id),
  version            INTEGER NOT NULL,
  target             TEXT    NOT NULL,
  state              TEXT    NOT NULL CHECK (state IN ('open', 'approved', 'applied', 'rejected',
                                                       'cancelled', 'expired', 'superseded')),
  requester_id       INTEGER NOT NULL,
  comment            TEXT    NOT NULL DEFAULT '',
  policy_name        TEXT    NOT NULL DEFAULT '',
  policy_version     INTEGER NOT NULL DEFAULT 0,
  fingerprint        TEXT    NOT NULL DEFAULT '',
  break_glass        INTEGER NOT NULL DEFAULT 0,
  break_glass_reason TEXT    NOT NULL DEFAULT '',
  followup_state     TEXT    NOT NULL DEFAULT 'none' CHECK (followup_state IN ('none', 'open',
                                                                               'closed')),
  created_ms         INTEGER NOT NULL,
  updated_ms         INTEGER NOT NULL,
  approved_ms        INTEGER,
  applied_ms         INTEGER,
  closed_ms          INTEGER,
  expires_ms         INTEGER,
  followup_closed_ms INTEGER
);
CREATE UNIQUE INDEX approval_requests_one_open ON approval_requests(model_id, version, target)
  WHERE state IN ('open', 'approved');
CREATE INDEX approval_requests_version ON approval_requests(model_id, version, target, id);
CREATE INDEX approval_requests_state ON approval_requests(state, id);
CREATE INDEX approval_requests_requester ON approval_requests(requester_id, id);

-- Reviews: one signature each. Only the dismissal columns may change (the trigger).
CREATE TABLE approval_reviews (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id       INTEGER NOT NULL REFERENCES approval_requests(id),
  reviewer_id      INTEGER NOT NULL,
  printed_name     TEXT    NOT NULL,
  decision         TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
  meaning          TEXT    NOT NULL DEFAULT '',
  comment          TEXT    NOT NULL DEFAULT '',
  fingerprint      TEXT    NOT NULL DEFAULT '',
  created_ms       INTEGER NOT NULL,
  dismissed_ms     INTEGER,
  dismissed_reason TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX approval_reviews_request ON approval_reviews(request_id, id);
CREATE TRIGGER approval_reviews_signed BEFORE UPDATE OF id, request_id, reviewer_id, printed_name,
  decision, meaning, comment, fingerprint, created_ms ON approval_reviews
BEGIN SELECT RAISE(ABORT, 'a review is a signature: only its dismissal may change'); END;

-- Checks machines post on versions. Every post is a row; the newest (highest id) of a name wins.
CREATE TABLE version_checks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id    INTEGER NOT NULL REFERENCES models(id),
  version     INTEGER NOT NULL,
  name        TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'success', 'failure', 'error')),
  url         TEXT    NOT NULL DEFAULT '',
  description TEXT    NOT NULL DEFAULT '',
  fingerprint TEXT    NOT NULL DEFAULT '',
  poster_id   INTEGER NOT NULL,
  created_ms  INTEGER NOT NULL
);
CREATE INDEX version_checks_name ON version_checks(model_id, version, name, id);

-- Comments on a version, or on one of its requests (request_id; null otherwise): MLflow's
-- comments/create|update|delete. Deleting one sets deleted_ms.
CREATE TABLE request_comments (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id INTEGER REFERENCES approval_requests(id),
  model_id   INTEGER NOT NULL REFERENCES models(id),
  version    INTEGER NOT NULL,
  author_id  INTEGER NOT NULL,
  text       TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  deleted_ms INTEGER
);
CREATE INDEX request_comments_version ON request_comments(model_id, version, id);
CREATE INDEX request_comments_request ON request_comments(request_id, id);
