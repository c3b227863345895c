-- vouch schema 6: keys and secrets a server needs (page-token key now; the audit signing key,
-- webhook secrets and AWS secret keys as those features arrive), sealed with XChaCha20-Poly1305
-- under the master key every server is given. `nonce` and `ciphertext` are base64url; the secret's
-- name is the associated data, so a sealed value cannot be moved to another name.
CREATE TABLE secrets (
  name       TEXT   PRIMARY KEY,
  nonce      TEXT   NOT NULL,
  ciphertext TEXT   NOT NULL,
  created_ms BIGINT NOT NULL
);
