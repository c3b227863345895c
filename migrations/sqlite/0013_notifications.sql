-- vouch schema 13 (issue 13): notifications. Subscriptions (`webhooks`), one delivery per event and
-- subscription (`deliveries`, fanned out from the outbox), and every attempt at one
-- (`delivery_attempts`): the ledger. A subscription's deliveries are sent by one server at a time,
-- the one whose claim (`claimed_by` until `claim_until_ms`) holds; a claim that runs out (its
-- server died) lets another server make the next attempt. Deleted subscriptions keep their ledger.
CREATE TABLE webhooks (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  name           TEXT    NOT NULL,
  description    TEXT    NOT NULL DEFAULT '',
  url            TEXT    NOT NULL,
  events         TEXT    NOT NULL,
  model_pattern  TEXT    NOT NULL DEFAULT '',
  format         TEXT    NOT NULL,
  email_to       TEXT    NOT NULL DEFAULT '[]',
  secret         TEXT    NOT NULL DEFAULT '',
  status         TEXT    NOT NULL DEFAULT 'active',
  owner_id       INTEGER NOT NULL REFERENCES principals(id),
  after_seq      INTEGER NOT NULL,
  created_ms     INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  deleted_ms     INTEGER,
  claimed_by     TEXT    NOT NULL DEFAULT '',
  claim_until_ms INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  uid             TEXT    NOT NULL UNIQUE,
  webhook_id      INTEGER NOT NULL REFERENCES webhooks(id),
  event_seq       INTEGER NOT NULL REFERENCES audit_events(seq),
  action          TEXT    NOT NULL,
  state           TEXT    NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  created_ms      INTEGER NOT NULL,
  finished_ms     INTEGER,
  last_status     INTEGER,
  last_latency_ms INTEGER,
  last_response   TEXT    NOT NULL DEFAULT '',
  last_error      TEXT    NOT NULL DEFAULT '',
  UNIQUE (webhook_id, event_seq)
);
-- A subscription's oldest pending delivery (its head), and the claim's "is the head due".
CREATE INDEX deliveries_pending ON deliveries(webhook_id, event_seq) WHERE state = 'pending';
CREATE INDEX deliveries_event ON deliveries(event_seq);
CREATE INDEX deliveries_finished ON deliveries(finished_ms) WHERE finished_ms IS NOT NULL;

CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
  attempt     INTEGER NOT NULL,
  server      TEXT    NOT NULL,
  started_ms  INTEGER NOT NULL,
  latency_ms  INTEGER,
  status      INTEGER,
  response    TEXT    NOT NULL DEFAULT '',
  error       TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (delivery_id, attempt)
);

-- The outbox's delivered_ms now means "fanned out into deliveries". Rows written before this
-- schema are the backlog: marked so, and never sent (no subscription existed to want them).
ALTER TABLE outbox ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET backlog = 1, delivered_ms = created_ms WHERE delivered_ms IS NULL;
CREATE INDEX outbox_fanned_out ON outbox(delivered_ms) WHERE delivered_ms IS NOT NULL;
