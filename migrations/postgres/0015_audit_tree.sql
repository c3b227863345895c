-- vouch schema 15 (issue 14): the audit log's Merkle tree (RFC 9162 hashing; each event's stored
-- canonical bytes are leaf seq - 1). The tree's head lives in audit_head's row, which every append
-- already locks: `tree_size` (leaves hashed so far) and `tree_edge` (the concatenated 32-byte roots
-- of its maximal full subtrees, largest first). A tree_size of -1 marks a database written with
-- tree updates off (benchmarks only): it is refused at every later open. The tree of the events
-- that exist before this migration is built once, at the next open.
ALTER TABLE audit_head ADD COLUMN tree_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN tree_edge BYTEA  NOT NULL DEFAULT '';

-- The stored hashes at the tile levels only (tree levels 0, 8, 16, ...): exactly the entries of
-- the C2SP tlog-tiles hash tiles. `hash` is the root of the full subtree of 2^level leaves starting
-- at leaf idx << level. Every other stored hash is computed from at most 256 of these.
-- Append-only, as audit_events: triggers here, and the application role gets SELECT and INSERT
-- only (PostgresStore::MigrateSchema).
CREATE TABLE audit_hashes (
  level SMALLINT NOT NULL,
  idx   BIGINT   NOT NULL,
  hash  BYTEA    NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE FUNCTION audit_hashes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit tree hashes are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_hashes_no_update BEFORE UPDATE ON audit_hashes
  FOR EACH ROW EXECUTE FUNCTION audit_hashes_append_only();
CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes
  FOR EACH ROW EXECUTE FUNCTION audit_hashes_append_only();
CREATE TRIGGER audit_hashes_no_truncate BEFORE TRUNCATE ON audit_hashes
  FOR EACH STATEMENT EXECUTE FUNCTION audit_hashes_append_only();
