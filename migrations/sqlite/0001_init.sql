-- vouch schema 1: principals, tokens, models, versions, aliases, the audit log and the outbox.
-- Times are milliseconds since the Unix epoch. Rows are soft-deleted (deleted_ms) so that numbers
-- and ids are never reused and history stays readable.

CREATE TABLE principals (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  display_name TEXT    NOT NULL DEFAULT '',
  email        TEXT    NOT NULL DEFAULT '',
  is_admin     INTEGER NOT NULL DEFAULT 0,
  disabled     INTEGER NOT NULL DEFAULT 0,
  created_ms   INTEGER NOT NULL,
  deleted_ms   INTEGER
);
CREATE UNIQUE INDEX principals_live_name ON principals(name) WHERE deleted_ms IS NULL;

CREATE TABLE tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  principal_id INTEGER NOT NULL REFERENCES principals(id),
  name         TEXT    NOT NULL,
  token_hash   TEXT    NOT NULL UNIQUE,
  scope        TEXT    NOT NULL DEFAULT 'full',
  created_ms   INTEGER NOT NULL,
  expires_ms   INTEGER,
  last_used_ms INTEGER,
  revoked_ms   INTEGER
);

CREATE TABLE models (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL,
  description  TEXT    NOT NULL DEFAULT '',
  created_ms   INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL,
  created_by   TEXT    NOT NULL,
  last_version INTEGER NOT NULL DEFAULT 0,
  deleted_ms   INTEGER
);
CREATE UNIQUE INDEX models_live_name ON models(name) WHERE deleted_ms IS NULL;

CREATE TABLE model_tags (
  model_id INTEGER NOT NULL REFERENCES models(id),
  key      TEXT    NOT NULL,
  value    TEXT    NOT NULL,
  PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE model_versions (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id        INTEGER NOT NULL REFERENCES models(id),
  version         INTEGER NOT NULL,
  source          TEXT    NOT NULL,
  run_id          TEXT    NOT NULL DEFAULT '',
  model_ref       TEXT    NOT NULL DEFAULT '',
  description     TEXT    NOT NULL DEFAULT '',
  artifact_digest TEXT    NOT NULL DEFAULT '',
  status          TEXT    NOT NULL DEFAULT 'READY',
  stage           TEXT    NOT NULL DEFAULT 'None',
  created_ms      INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL,
  created_by      TEXT    NOT NULL,
  deleted_ms      INTEGER,
  UNIQUE (model_id, version)
);
CREATE INDEX model_versions_stage ON model_versions(model_id, stage) WHERE deleted_ms IS NULL;

CREATE TABLE version_tags (
  version_id INTEGER NOT NULL REFERENCES model_versions(id),
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (version_id, key)
) WITHOUT ROWID;

CREATE TABLE version_metrics (
  version_id INTEGER NOT NULL REFERENCES model_versions(id),
  key        TEXT    NOT NULL,
  value      REAL    NOT NULL,
  PRIMARY KEY (version_id, key)
) WITHOUT ROWID;

CREATE TABLE version_params (
  version_id INTEGER NOT NULL REFERENCES model_versions(id),
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (version_id, key)
) WITHOUT ROWID;

CREATE TABLE model_aliases (
  model_id INTEGER NOT NULL REFERENCES models(id),
  alias    TEXT    NOT NULL,
  version  INTEGER NOT NULL,
  PRIMARY KEY (model_id, alias)
) WITHOUT ROWID;

-- The audit log: append-only. `body` is the event's canonical JSON (RFC 8785), the bytes that are
-- verified; the other columns are copies for filtering.
CREATE TABLE audit_events (
  seq        INTEGER PRIMARY KEY,
  time_ms    INTEGER NOT NULL,
  actor_id   INTEGER NOT NULL,
  actor_name TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  model_id   INTEGER NOT NULL DEFAULT 0,
  model_name TEXT    NOT NULL DEFAULT '',
  version    INTEGER NOT NULL DEFAULT 0,
  outcome    TEXT    NOT NULL,
  body       TEXT    NOT NULL
);
CREATE INDEX audit_by_model_name ON audit_events(model_name, seq);
CREATE INDEX audit_by_model_id ON audit_events(model_id, seq);
CREATE INDEX audit_by_actor ON audit_events(actor_name, seq);
CREATE INDEX audit_by_action ON audit_events(action, seq);
CREATE INDEX audit_by_time ON audit_events(time_ms);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Notifications, written in the change's transaction and delivered after commit.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  event_seq       INTEGER NOT NULL REFERENCES audit_events(seq),
  topic           TEXT    NOT NULL,
  payload         TEXT    NOT NULL,
  created_ms      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  delivered_ms    INTEGER
);
CREATE INDEX outbox_pending ON outbox(next_attempt_ms) WHERE delivered_ms IS NULL;
