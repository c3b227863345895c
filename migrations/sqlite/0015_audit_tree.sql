-- vouch schema 15 (issue 14): the audit log's Merkle tree (RFC 9162 hashing; each event's stored
-- canonical bytes are leaf seq - 1). `audit_tree` is the tree's head, one row: its size (leaves
-- hashed so far) and right edge (the concatenated 32-byte roots of its maximal full subtrees,
-- largest first), written by every append in the change's transaction. A size of -1 marks a
-- database written with tree updates off (benchmarks only): it is refused at every later open.
-- The tree of the events that exist before this migration is built once, at the next writable open.
CREATE TABLE audit_tree (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  edge BLOB    NOT NULL
);
INSERT INTO audit_tree (id, size, edge) VALUES (1, 0, X'');

-- The stored hashes at the tile levels only (tree levels 0, 8, 16, ...): exactly the entries of
-- the C2SP tlog-tiles hash tiles. `hash` is the root of the full subtree of 2^level leaves starting
-- at leaf idx << level. Every other stored hash is computed from at most 256 of these.
-- Append-only, as audit_events.
CREATE TABLE audit_hashes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB    NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER audit_hashes_no_update BEFORE UPDATE ON audit_hashes
BEGIN SELECT RAISE(ABORT, 'audit tree hashes are append-only'); END;
CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes
BEGIN SELECT RAISE(ABORT, 'audit tree hashes are append-only'); END;
CREATE TRIGGER audit_hashes_no_replace BEFORE INSERT ON audit_hashes
WHEN EXISTS (SELECT 1 FROM audit_hashes WHERE level = NEW.level AND idx = NEW.idx)
BEGIN SELECT RAISE(ABORT, 'audit tree hashes are append-only'); END;
