// Reading the audit log's Merkle tree (issue 14): each event's stored canonical bytes are leaf
// seq - 1 of an RFC 9162 tree; the store keeps the stored hashes at the tile levels (0, 8, 16, ...)
// and the tree's right edge (store.h, migration 0015). Everything else — any stored hash, roots of
// earlier sizes, tiles, proofs — is computed here through tlog from O(log n) reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vouch/store/store.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/status.h"

namespace vouch::audit {

// The tree as one transaction sees it. Holds a reference to `tx`; used by one thread while the
// transaction is open. Every method passes the store's codes on (UNAVAILABLE, INTERNAL), and
// FAILED_PRECONDITION when the store was written with tree updates off.
class TreeReader {
 public:
  explicit TreeReader(store::Tx& tx) : tx_(tx) {}

  // The number of leaves: the log's length.
  Result<uint64_t> Size();
  // The tree hash of the first `size` leaves (EmptyTreeHash for 0). INVALID_ARGUMENT when `size`
  // is beyond Size().
  Result<tlog::Hash> Root(uint64_t size);
  // A hash tile's contents (32·W bytes) as of the tree of `tree_size` leaves, read as one range
  // query. INVALID_ARGUMENT when `tree_size` is beyond Size() or that tree has fewer than W hashes
  // in the tile (a tile not yet there, or wider than the tree has); DATA_LOSS when the store lacks
  // a hash it should hold.
  Result<std::string> Tile(const tlog::Tile& tile, uint64_t tree_size);
  // RFC 9162 inclusion proof of leaf `index` (seq - 1) in the tree of `size` leaves.
  // INVALID_ARGUMENT unless index < size <= Size().
  Result<std::vector<tlog::Hash>> InclusionProof(uint64_t index, uint64_t size);
  // RFC 9162 consistency proof between the trees of `old_size` and `new_size` leaves.
  // INVALID_ARGUMENT unless old_size <= new_size <= Size().
  Result<std::vector<tlog::Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size);
  // Any stored hash (level, index) of the tree: a tile level's is read, any other computed from
  // the at most 256 tile-level hashes below it (tlog::HashFromTile). DATA_LOSS when the store
  // lacks one it should hold.
  tlog::HashReader Reader();

 private:
  Result<uint64_t> CheckSize(uint64_t size);
  Result<tlog::Hash> StoredHash(int level, uint64_t index);

  store::Tx& tx_;
};

// Lowercase hex of a hash.
std::string RootHex(const tlog::Hash& root);

// Checks the stored tree against the tree recomputed from the stored bytes, fed one event at a
// time in sequence order (what `vouch audit verify` does after the events themselves verify):
// every stored tile-level hash (read in pages, one range a level), the stored size and the right
// edge. Used by one thread inside `tx`.
class StoredTreeCheck {
 public:
  explicit StoredTreeCheck(store::Tx& tx);
  // Adds the next event's stored bytes. DATA_LOSS naming the first stored hash that is missing or
  // differs: "the stored audit tree hash at level 8, index 3 (events 769..1024) differs ...".
  Status Add(std::string_view leaf);
  // After the last event: checks the hashes still pending, the stored size and the stored edge
  // (DATA_LOSS); FAILED_PRECONDITION when tree updates were switched off.
  Status Finish();
  // False once it found that the store has no tree to compare (a read-only SQLite store whose
  // schema predates migration 15: nothing to check, the next `vouch serve` builds it).
  bool stored() const { return stored_; }
  // The root and size recomputed from the bytes added.
  tlog::Hash Root() const { return edge_.Root(); }
  uint64_t size() const { return edge_.size(); }

 private:
  static constexpr size_t kPage = 4096;
  Status Flush();

  store::Tx& tx_;
  tlog::RightEdge edge_;
  std::vector<tlog::StoredHash> pending_;  // made final, not yet compared with the store's
  bool size_read_ = false;
  bool stored_ = true;
};

}  // namespace vouch::audit
