-- vouch schema 16 (issue 14): the audit log's signing keys, its signed checkpoints and the
-- witnesses' cosignatures of them.
--
-- `audit_signing_keys`: every Ed25519 key that ever signed (or is about to sign) the log's
-- checkpoints. `name` is the log's origin, `key_id` the 8 hex digits of the note key id,
-- `verifier_key` the published `<name>+<hex id>+<base64(0x01 || public key)>`, `public_key` the
-- standard base64 of the 32-byte key, and the 32-byte seed sealed under the master key
-- (XChaCha20-Poly1305, base64url nonce and ciphertext). The oldest key not retired signs; a
-- newer one not retired is waiting for the rotation's checkpoint. Only `retired_ms` may change,
-- once; no key is ever deleted.
CREATE TABLE audit_signing_keys (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL,
  key_id       TEXT    NOT NULL,
  verifier_key TEXT    NOT NULL UNIQUE,
  public_key   TEXT    NOT NULL,
  seed_nonce   TEXT    NOT NULL,
  seed_sealed  TEXT    NOT NULL,
  created_ms   INTEGER NOT NULL,
  retired_ms   INTEGER
);
CREATE TRIGGER audit_signing_keys_kept BEFORE UPDATE OF id, name, key_id, verifier_key,
  public_key, seed_nonce, seed_sealed, created_ms ON audit_signing_keys
BEGIN SELECT RAISE(ABORT, 'audit signing keys are kept as made: only their retirement is set'); END;
CREATE TRIGGER audit_signing_keys_retired_once BEFORE UPDATE OF retired_ms ON audit_signing_keys
WHEN OLD.retired_ms IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'audit signing keys are kept as made: only their retirement is set'); END;
CREATE TRIGGER audit_signing_keys_no_delete BEFORE DELETE ON audit_signing_keys
BEGIN SELECT RAISE(ABORT, 'audit signing keys are kept as made: only their retirement is set'); END;

-- One signed checkpoint per tree size: `root` the standard base64 of the tree's root at `size`,
-- `note` the signed note exactly as signed, `key_id` the audit_signing_keys row that signed it.
-- Append-only, as the audit log.
CREATE TABLE audit_checkpoints (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  size       INTEGER NOT NULL UNIQUE,
  root       TEXT    NOT NULL,
  note       TEXT    NOT NULL,
  key_id     INTEGER NOT NULL REFERENCES audit_signing_keys(id),
  created_ms INTEGER NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_replace BEFORE INSERT ON audit_checkpoints
WHEN EXISTS (SELECT 1 FROM audit_checkpoints WHERE id = NEW.id OR size = NEW.size)
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;

-- A witness's cosignature of a checkpoint (C2SP tlog-cosignature): the witness's key name, its
-- key id (8 hex digits) and the signature line as the witness returned it. One per checkpoint and
-- witness key; append-only.
CREATE TABLE audit_cosignatures (
  checkpoint_id INTEGER NOT NULL REFERENCES audit_checkpoints(id),
  witness       TEXT    NOT NULL,
  key_id        TEXT    NOT NULL,
  line          TEXT    NOT NULL,
  received_ms   INTEGER NOT NULL,
  PRIMARY KEY (checkpoint_id, witness, key_id)
);
CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'audit cosignatures are append-only'); END;
CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'audit cosignatures are append-only'); END;
CREATE TRIGGER audit_cosignatures_no_replace BEFORE INSERT ON audit_cosignatures
WHEN EXISTS (SELECT 1 FROM audit_cosignatures WHERE checkpoint_id = NEW.checkpoint_id
             AND witness = NEW.witness AND key_id = NEW.key_id)
BEGIN SELECT RAISE(ABORT, 'audit cosignatures are append-only'); END;
