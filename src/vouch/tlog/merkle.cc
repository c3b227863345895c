// SHA256_Init and friends: see Sha256 below.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "vouch/tlog/merkle.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <bit>
#include <cstring>
#include <utility>

namespace vouch::tlog {
namespace {

// SHA-256 through OpenSSL's one-shot-context functions (SHA256_Init/Update/Final), which go
// straight to the block function (SHA-NI where the CPU has it). OpenSSL 3 marks them deprecated in
// favour of EVP, whose provider dispatch, context reset and cleansing cost more than the hashing
// itself here: a log is two short hashes per event (a leaf of ~450 bytes, a node of 65), and the
// offline hash pass must do 1,000,000 events a second on one core (bench/audit_log.sh; EVP measured
// ~15% slower per event). They remain in OpenSSL 3's libcrypto; should they go, EVP_DigestInit_ex2
// with a method fetched once and a reused context is the replacement (what this used before).
Hash Sha256(std::initializer_list<std::string_view> parts) {
  Hash out{};
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  for (std::string_view p : parts) SHA256_Update(&ctx, p.data(), p.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

std::string_view View(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// The largest power of two strictly below n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// The hash of leaves [lo, hi). In the recursions below `lo` is always a multiple of the largest
// power of two not above hi - lo, so a full range is one stored hash and an incomplete one splits
// into its maximal full subtrees: O(log n) reads.
Result<Hash> RangeHash(uint64_t lo, uint64_t hi, const HashReader& read) {
  const uint64_t n = hi - lo;
  if (std::has_single_bit(n) && lo % n == 0) {
    const int level = std::countr_zero(n);
    return read(level, lo >> level);
  }
  const uint64_t k = SplitPoint(n);
  VOUCH_ASSIGN_OR_RETURN(Hash left, RangeHash(lo, lo + k, read));
  VOUCH_ASSIGN_OR_RETURN(Hash right, RangeHash(lo + k, hi, read));
  return NodeHash(left, right);
}

// PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, appended to `out` leaf side first.
Status InclusionPath(uint64_t m, uint64_t lo, uint64_t hi, const HashReader& read,
                     std::vector<Hash>& out) {
  const uint64_t n = hi - lo;
  if (n == 1) return OkStatus();
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    VOUCH_TRY(InclusionPath(m, lo, lo + k, read, out));
    VOUCH_ASSIGN_OR_RETURN(Hash sibling, RangeHash(lo + k, hi, read));
    out.push_back(sibling);
  } else {
    VOUCH_TRY(InclusionPath(m - k, lo + k, hi, read, out));
    VOUCH_ASSIGN_OR_RETURN(Hash sibling, RangeHash(lo, lo + k, read));
    out.push_back(sibling);
  }
  return OkStatus();
}

// SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1.
Status SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole, const HashReader& read,
                std::vector<Hash>& out) {
  const uint64_t n = hi - lo;
  if (m == n) {
    if (whole) return OkStatus();
    VOUCH_ASSIGN_OR_RETURN(Hash h, RangeHash(lo, hi, read));
    out.push_back(h);
    return OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    VOUCH_TRY(SubProof(m, lo, lo + k, whole, read, out));
    VOUCH_ASSIGN_OR_RETURN(Hash h, RangeHash(lo + k, hi, read));
    out.push_back(h);
  } else {
    VOUCH_TRY(SubProof(m - k, lo + k, hi, false, read, out));
    VOUCH_ASSIGN_OR_RETURN(Hash h, RangeHash(lo, lo + k, read));
    out.push_back(h);
  }
  return OkStatus();
}

// The length of an inclusion proof for `index` in a tree of `size` leaves: the levels below the
// point where the paths to index and to size - 1 part (each with a sibling), plus one for each
// left sibling above it.
size_t InclusionProofLength(uint64_t index, uint64_t size) {
  const int inner = std::bit_width(index ^ (size - 1));
  // inner is 64 only for sizes past 2^63 (a hostile checkpoint's); a 64-bit shift is undefined.
  const int border = inner >= 64 ? 0 : std::popcount(index >> inner);
  return static_cast<size_t>(inner + border);
}

}  // namespace

Hash EmptyTreeHash() { return Sha256({}); }

Hash LeafHash(std::string_view leaf) { return Sha256({std::string_view("\x00", 1), leaf}); }

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256({std::string_view("\x01", 1), View(left), View(right)});
}

std::string HashBytes(const Hash& hash) { return std::string(View(hash)); }

Result<Hash> HashFromBytes(std::string_view bytes) {
  if (bytes.size() != kHashBytes) {
    return InvalidArgument(fmt::format("a hash is {} bytes, not {}", kHashBytes, bytes.size()));
  }
  Hash h{};
  std::memcpy(h.data(), bytes.data(), kHashBytes);
  return h;
}

Result<RightEdge> RightEdge::FromHashes(uint64_t size, std::vector<Hash> roots) {
  if (roots.size() != static_cast<size_t>(std::popcount(size))) {
    return InvalidArgument(fmt::format("a right edge of {} leaves has {} hashes, not {}", size,
                                       std::popcount(size), roots.size()));
  }
  RightEdge edge;
  edge.size_ = size;
  edge.roots_ = std::move(roots);
  return edge;
}

RightEdge::MadeHashes RightEdge::Append(const Hash& leaf_hash) {
  MadeHashes made;
  uint64_t index = size_;
  made.push_back({0, index, leaf_hash});
  Hash h = leaf_hash;
  // Each trailing one bit of the old size is a full subtree of the same level as `h` just left of
  // it: merge them, as a binary counter carries.
  int level = 0;
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = NodeHash(roots_.back(), h);
    roots_.pop_back();
    ++level;
    index >>= 1;
    made.push_back({level, index, h});
  }
  roots_.push_back(h);
  ++size_;
  return made;
}

Hash RightEdge::Root() const {
  if (roots_.empty()) return EmptyTreeHash();
  Hash h = roots_.back();
  for (size_t i = roots_.size() - 1; i-- > 0;) h = NodeHash(roots_[i], h);
  return h;
}

Result<Hash> TreeHash(uint64_t size, const HashReader& read) {
  if (size == 0) return EmptyTreeHash();
  return RangeHash(0, size, read);
}

Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size, const HashReader& read) {
  if (index >= size) {
    return InvalidArgument(
        fmt::format("no leaf {} in a tree of {} (indexes start at 0)", index, size));
  }
  std::vector<Hash> out;
  VOUCH_TRY(InclusionPath(index, 0, size, read, out));
  return out;
}

Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                           const HashReader& read) {
  if (old_size > new_size) {
    return InvalidArgument(
        fmt::format("a tree of {} cannot be a prefix of one of {}", old_size, new_size));
  }
  std::vector<Hash> out;
  if (old_size == 0 || old_size == new_size) return out;
  VOUCH_TRY(SubProof(old_size, 0, new_size, true, read, out));
  return out;
}

Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return InvalidArgument(fmt::format("no leaf {} in a tree of {}", index, size));
  }
  if (const size_t want = InclusionProofLength(index, size); proof.size() != want) {
    return InvalidArgument(
        fmt::format("an inclusion proof of leaf {} in a tree of {} has {} "
                    "hashes, not {}",
                    index, size, want, proof.size()));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return PermissionDenied("the inclusion proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || r != root) {
    return PermissionDenied(fmt::format(
        "the inclusion proof of leaf {} does not lead to the root of the tree of {}", index, size));
  }
  return OkStatus();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const std::vector<Hash>& proof,
                         const Hash& old_root, const Hash& new_root) {
  if (old_size > new_size) {
    return InvalidArgument(
        fmt::format("a tree of {} cannot be a prefix of one of {}", old_size, new_size));
  }
  if (old_size == new_size || old_size == 0) {
    if (!proof.empty()) {
      return InvalidArgument(fmt::format("a consistency proof from {} to {} has no hashes, not {}",
                                         old_size, new_size, proof.size()));
    }
    if (old_size == 0 ? old_root != EmptyTreeHash() : old_root != new_root) {
      return PermissionDenied(fmt::format("the roots of the trees of {} differ", old_size));
    }
    return OkStatus();
  }
  // The expected length (RFC 9162's algorithm would only fail later, without saying why): the
  // inclusion path of the old tree's last leaf, less the levels the old tree shares with it, plus
  // the old tree's own root unless that is a single full subtree (then the verifier knows it).
  const int shift = std::countr_zero(old_size);
  const bool old_is_full = std::has_single_bit(old_size);
  const size_t want = InclusionProofLength(old_size - 1, new_size) - shift + (old_is_full ? 0 : 1);
  if (proof.size() != want) {
    return InvalidArgument(fmt::format("a consistency proof from {} to {} has {} hashes, not {}",
                                       old_size, new_size, want, proof.size()));
  }
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (old_is_full) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return PermissionDenied("the consistency proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || fr != old_root || sr != new_root) {
    return PermissionDenied(fmt::format(
        "the consistency proof does not lead from the root of the tree of {} to that of {}",
        old_size, new_size));
  }
  return OkStatus();
}

}  // namespace vouch::tlog
