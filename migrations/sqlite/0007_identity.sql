-- vouch schema 7: identity and access. Passwords (argon2id strings) on principals, groups and their
-- members, role grants and per-model permissions (to a principal or a group: exactly one of the two
-- ids is non-zero, so the pair can be a primary key), and web sessions for the UI (hashes only).
ALTER TABLE principals ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX tokens_principal ON tokens(principal_id);

CREATE TABLE principal_groups (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL,
  description TEXT    NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL,
  deleted_ms  INTEGER
);
CREATE UNIQUE INDEX groups_live_name ON principal_groups(name) WHERE deleted_ms IS NULL;

CREATE TABLE group_members (
  group_id     INTEGER NOT NULL REFERENCES principal_groups(id),
  principal_id INTEGER NOT NULL REFERENCES principals(id),
  PRIMARY KEY (group_id, principal_id)
);
CREATE INDEX group_members_principal ON group_members(principal_id);

CREATE TABLE role_grants (
  role         TEXT    NOT NULL,
  principal_id INTEGER NOT NULL DEFAULT 0,
  group_id     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (role, principal_id, group_id),
  CHECK ((principal_id = 0) <> (group_id = 0))
);
CREATE INDEX role_grants_principal ON role_grants(principal_id);
CREATE INDEX role_grants_group ON role_grants(group_id);

CREATE TABLE model_permissions (
  model_id     INTEGER NOT NULL REFERENCES models(id),
  principal_id INTEGER NOT NULL DEFAULT 0,
  group_id     INTEGER NOT NULL DEFAULT 0,
  permission   TEXT    NOT NULL,
  PRIMARY KEY (model_id, principal_id, group_id),
  CHECK ((principal_id = 0) <> (group_id = 0))
);
CREATE INDEX model_permissions_principal ON model_permissions(principal_id);
CREATE INDEX model_permissions_group ON model_permissions(group_id);

CREATE TABLE web_sessions (
  id_hash      TEXT    PRIMARY KEY,
  principal_id INTEGER NOT NULL REFERENCES principals(id),
  csrf_hash    TEXT    NOT NULL,
  created_ms   INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  revoked_ms   INTEGER,
  address      TEXT    NOT NULL DEFAULT '',
  user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_principal ON web_sessions(principal_id);
