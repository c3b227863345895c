// RFC 9162 (and RFC 6962) §2 Merkle hash trees over the audit log's leaves: leaf and node hashes,
// the tree's right edge (for O(log n) appends), tree hashes, inclusion and consistency proofs read
// from stored full-subtree hashes, and their verifiers. Pure: no I/O; hashes come through a reader.
//
// A stored hash is the root of a full subtree: (level, index) names the subtree of 2^level leaves
// starting at leaf index << level. Level 0 holds the leaf hashes. Every tree hash and proof below
// is computed from O(log n) stored hashes, never by rehashing leaves.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/static_vector.hpp>

#include "vouch/util/status.h"

namespace vouch::tlog {

inline constexpr size_t kHashBytes = 32;
using Hash = std::array<uint8_t, kHashBytes>;

// SHA-256 of the empty string: the root of the empty tree.
Hash EmptyTreeHash();
// SHA-256(0x00 || leaf).
Hash LeafHash(std::string_view leaf);
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);

// The 32 raw bytes of a hash, and back (INVALID_ARGUMENT when `bytes` is not 32 bytes long).
std::string HashBytes(const Hash& hash);
Result<Hash> HashFromBytes(std::string_view bytes);

// Reads the stored hash of the full subtree (level, index). The store serves it later; tests give
// a vector. Its failures are passed on unchanged.
using HashReader = std::function<Result<Hash>(int level, uint64_t index)>;

// A stored hash that an append made final.
struct StoredHash {
  int level = 0;
  uint64_t index = 0;
  Hash hash{};
  friend bool operator==(const StoredHash&, const StoredHash&) = default;
};

// The right edge of a tree of `size` leaves: the roots of its maximal full subtrees, left to right
// (one per bit set in `size`, the largest first). It is all an append needs: appending a leaf
// merges equal-sized subtrees at the end, as a binary counter carries. Not thread-safe.
class RightEdge {
 public:
  RightEdge() = default;
  // INVALID_ARGUMENT unless there is one hash per bit set in `size`.
  static Result<RightEdge> FromHashes(uint64_t size, std::vector<Hash> roots);

  uint64_t size() const { return size_; }
  // The full subtrees' roots, largest (leftmost) first.
  const std::vector<Hash>& roots() const { return roots_; }
  // At most one stored hash per level (64 levels above the leaves, and the leaf): held in place,
  // as an append is on every hot path (each event appended, exported or verified).
  using MadeHashes = boost::container::static_vector<StoredHash, 65>;
  // Appends a leaf by its hash (LeafHash of the leaf's bytes) and returns the stored hashes this
  // made final: the leaf at level 0 and each subtree it completed, lowest level first.
  MadeHashes Append(const Hash& leaf_hash);
  // The tree hash (EmptyTreeHash when empty), in O(log n) node hashes.
  Hash Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> roots_;
};

// The tree hash of the first `size` leaves, from the stored hashes of its maximal full subtrees.
Result<Hash> TreeHash(uint64_t size, const HashReader& read);

// The inclusion proof (RFC 9162 §2.1.3.1) of leaf `index` in the tree of `size` leaves: sibling
// hashes from the leaf's up to the root's child. INVALID_ARGUMENT unless index < size.
Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size, const HashReader& read);

// The consistency proof (RFC 9162 §2.1.4.1) between the trees of `old_size` and `new_size`
// leaves; empty when the sizes are equal or old_size is 0. INVALID_ARGUMENT unless
// old_size <= new_size.
Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                           const HashReader& read);

// RFC 9162 §2.1.3.2. OK when `proof` proves that the leaf with hash `leaf_hash` is at `index` in
// the tree of `size` leaves with root `root`. INVALID_ARGUMENT when index >= size or the proof has
// the wrong number of hashes for (index, size); PERMISSION_DENIED when the hashes do not lead to
// `root`.
Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root);

// RFC 9162 §2.1.4.2. OK when `proof` proves that the tree of `old_size` leaves with root
// `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`. INVALID_ARGUMENT
// when old_size > new_size or the proof has the wrong number of hashes; PERMISSION_DENIED when the
// hashes do not lead to both roots (for equal sizes: when the roots differ).
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const std::vector<Hash>& proof,
                         const Hash& old_root, const Hash& new_root);

}  // namespace vouch::tlog
