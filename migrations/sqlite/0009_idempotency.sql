-- vouch schema 9: idempotency keys (service/idempotency.h). One row per (principal, key) a client
-- sent with a create-like request: the request it came with (method and path, SHA-256 of the body),
-- its state (in_flight while the first request runs, applied once its change committed, done once
-- its answer is kept), and the answer: status, content type and body, the body sealed under the
-- master key (XChaCha20-Poly1305, base64url; nonce and ciphertext). Kept until expires_ms.
CREATE TABLE idempotency_keys (
  principal_id    INTEGER NOT NULL,
  key             TEXT    NOT NULL,
  request         TEXT    NOT NULL,
  body_sha256     TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('in_flight', 'applied', 'done')),
  status          INTEGER NOT NULL DEFAULT 0,
  content_type    TEXT    NOT NULL DEFAULT '',
  response_nonce  TEXT    NOT NULL DEFAULT '',
  response_body   TEXT    NOT NULL DEFAULT '',
  created_ms      INTEGER NOT NULL,
  expires_ms      INTEGER NOT NULL,
  PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_ms);
