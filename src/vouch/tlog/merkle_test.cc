#include "vouch/tlog/merkle.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "vouch/util/crypto.h"

namespace vouch::tlog {
namespace {

Hash FromHex(std::string_view hex) {
  Hash h{};
  for (size_t i = 0; i < kHashBytes; ++i) {
    h[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return h;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The Certificate Transparency reference tree (RFC 6962 test data, as in
// transparency-dev/merkle's testonly constants): eight leaves and the roots of each prefix.
const std::vector<std::string> kReferenceLeaves = {"",
                                                   "00",
                                                   "10",
                                                   "2021",
                                                   "3031",
                                                   "40414243",
                                                   "5051525354555657",
                                                   "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kReferenceRoots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

// A tree kept as every stored hash, level by level, filled by RightEdge::Append.
struct StoredTree {
  RightEdge edge;
  std::vector<std::vector<Hash>> levels;
  std::vector<Hash> leaf_hashes;
  int reads = 0;

  void Append(std::string_view leaf) {
    leaf_hashes.push_back(LeafHash(leaf));
    for (const StoredHash& s : edge.Append(leaf_hashes.back())) {
      if (levels.size() <= static_cast<size_t>(s.level)) levels.resize(s.level + 1);
      EXPECT_EQ(levels[s.level].size(), s.index);
      levels[s.level].push_back(s.hash);
    }
  }
  HashReader Reader() {
    return [this](int level, uint64_t index) -> Result<Hash> {
      ++reads;
      if (static_cast<size_t>(level) >= levels.size() || index >= levels[level].size()) {
        return NotFound("no such stored hash");
      }
      return levels[level][index];
    };
  }
};

// The definitions of RFC 9162 §2.1, recursively over the leaf hashes, as the reference.
uint64_t Split(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
Hash NaiveRoot(const std::vector<Hash>& d, uint64_t lo, uint64_t hi) {
  if (hi == lo) return EmptyTreeHash();
  if (hi - lo == 1) return d[lo];
  const uint64_t k = Split(hi - lo);
  return NodeHash(NaiveRoot(d, lo, lo + k), NaiveRoot(d, lo + k, hi));
}
std::vector<Hash> NaivePath(uint64_t m, const std::vector<Hash>& d, uint64_t lo, uint64_t hi) {
  if (hi - lo == 1) return {};
  const uint64_t k = Split(hi - lo);
  std::vector<Hash> out;
  if (m < k) {
    out = NaivePath(m, d, lo, lo + k);
    out.push_back(NaiveRoot(d, lo + k, hi));
  } else {
    out = NaivePath(m - k, d, lo + k, hi);
    out.push_back(NaiveRoot(d, lo, lo + k));
  }
  return out;
}
std::vector<Hash> NaiveSubProof(uint64_t m, const std::vector<Hash>& d, uint64_t lo, uint64_t hi,
                                bool whole) {
  const uint64_t n = hi - lo;
  if (m == n) return whole ? std::vector<Hash>{} : std::vector<Hash>{NaiveRoot(d, lo, hi)};
  const uint64_t k = Split(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = NaiveSubProof(m, d, lo, lo + k, whole);
    out.push_back(NaiveRoot(d, lo + k, hi));
  } else {
    out = NaiveSubProof(m - k, d, lo + k, hi, false);
    out.push_back(NaiveRoot(d, lo, lo + k));
  }
  return out;
}

StoredTree ReferenceTree() {
  StoredTree t;
  for (const std::string& l : kReferenceLeaves) t.Append(Unhex(l));
  return t;
}

TEST(TlogMerkle, EmptyTreeHashIsSha256OfNothing) {
  EXPECT_EQ(HexEncode(HashBytes(EmptyTreeHash())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(RightEdge().Root(), EmptyTreeHash());
  EXPECT_EQ(*TreeHash(0, StoredTree().Reader()), EmptyTreeHash());
}

TEST(TlogMerkle, RootsOfTheReferenceTreeMatchTheRfc6962TestVectors) {
  StoredTree t;
  for (size_t i = 0; i < kReferenceLeaves.size(); ++i) {
    t.Append(Unhex(kReferenceLeaves[i]));
    EXPECT_EQ(t.edge.Root(), FromHex(kReferenceRoots[i])) << "size " << i + 1;
  }
  for (size_t n = 1; n <= kReferenceLeaves.size(); ++n) {
    EXPECT_EQ(*TreeHash(n, t.Reader()), FromHex(kReferenceRoots[n - 1])) << "size " << n;
  }
}

TEST(TlogMerkle, InclusionProofsOfTheReferenceTreeMatchTheRfc6962TestVectors) {
  StoredTree t = ReferenceTree();
  struct Case {
    uint64_t index, size;
    std::vector<std::string> path;
  };
  const std::vector<Case> cases = {
      {0, 1, {}},
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
  };
  for (const Case& c : cases) {
    Result<std::vector<Hash>> proof = InclusionProof(c.index, c.size, t.Reader());
    ASSERT_TRUE(proof.ok());
    std::vector<Hash> want;
    for (const std::string& h : c.path) want.push_back(FromHex(h));
    EXPECT_EQ(*proof, want) << c.index << " in " << c.size;
    EXPECT_TRUE(VerifyInclusion(c.index, c.size, t.leaf_hashes[c.index], *proof,
                                FromHex(kReferenceRoots[c.size - 1]))
                    .ok());
  }
}

TEST(TlogMerkle, ConsistencyProofsOfTheReferenceTreeMatchTheRfc6962TestVectors) {
  StoredTree t = ReferenceTree();
  struct Case {
    uint64_t old_size, new_size;
    std::vector<std::string> path;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    Result<std::vector<Hash>> proof = ConsistencyProof(c.old_size, c.new_size, t.Reader());
    ASSERT_TRUE(proof.ok());
    std::vector<Hash> want;
    for (const std::string& h : c.path) want.push_back(FromHex(h));
    EXPECT_EQ(*proof, want) << c.old_size << " to " << c.new_size;
    EXPECT_TRUE(VerifyConsistency(c.old_size, c.new_size, *proof,
                                  FromHex(kReferenceRoots[c.old_size - 1]),
                                  FromHex(kReferenceRoots[c.new_size - 1]))
                    .ok());
  }
}

TEST(TlogMerkle, EveryProofUpTo64LeavesMatchesTheRecursiveDefinitionAndVerifies) {
  StoredTree t;
  for (int i = 0; i < 64; ++i) t.Append("leaf " + std::to_string(i));
  for (uint64_t n = 1; n <= 64; ++n) {
    const Hash root = NaiveRoot(t.leaf_hashes, 0, n);
    ASSERT_EQ(*TreeHash(n, t.Reader()), root);
    for (uint64_t m = 0; m < n; ++m) {
      Result<std::vector<Hash>> p = InclusionProof(m, n, t.Reader());
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, NaivePath(m, t.leaf_hashes, 0, n)) << m << " in " << n;
      ASSERT_TRUE(VerifyInclusion(m, n, t.leaf_hashes[m], *p, root).ok()) << m << " in " << n;
    }
    for (uint64_t m = 1; m <= n; ++m) {
      Result<std::vector<Hash>> p = ConsistencyProof(m, n, t.Reader());
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, NaiveSubProof(m, t.leaf_hashes, 0, n, true)) << m << " to " << n;
      const Hash old_root = NaiveRoot(t.leaf_hashes, 0, m);
      ASSERT_TRUE(VerifyConsistency(m, n, *p, old_root, root).ok()) << m << " to " << n;
    }
  }
}

TEST(TlogMerkle, RandomProofsInATreeOfThousandsOfLeavesMatchTheRecursiveDefinition) {
  StoredTree t;
  std::mt19937_64 rng(14);
  for (int i = 0; i < 3000; ++i) t.Append(RandomBytes(rng() % 40));
  for (int round = 0; round < 80; ++round) {
    const uint64_t n = 1 + rng() % t.leaf_hashes.size();
    const uint64_t m = rng() % n;
    const Hash root = NaiveRoot(t.leaf_hashes, 0, n);
    t.reads = 0;
    Result<std::vector<Hash>> p = InclusionProof(m, n, t.Reader());
    ASSERT_TRUE(p.ok());
    // O(log n) reads: at most one sibling is an incomplete subtree, itself at most 12 pieces.
    EXPECT_LE(t.reads, 2 * 12 + 2);
    ASSERT_EQ(*p, NaivePath(m, t.leaf_hashes, 0, n));
    ASSERT_TRUE(VerifyInclusion(m, n, t.leaf_hashes[m], *p, root).ok());
    const uint64_t old_size = m + 1;
    Result<std::vector<Hash>> c = ConsistencyProof(old_size, n, t.Reader());
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(*c, NaiveSubProof(old_size, t.leaf_hashes, 0, n, true));
    ASSERT_TRUE(
        VerifyConsistency(old_size, n, *c, NaiveRoot(t.leaf_hashes, 0, old_size), root).ok());
  }
}

TEST(TlogMerkle, TamperedInclusionProofsAreRefused) {
  StoredTree t;
  for (int i = 0; i < 100; ++i) t.Append("e" + std::to_string(i));
  const Hash root = t.edge.Root();
  std::vector<Hash> p = *InclusionProof(37, 100, t.Reader());
  ASSERT_TRUE(VerifyInclusion(37, 100, t.leaf_hashes[37], p, root).ok());
  for (size_t i = 0; i < p.size(); ++i) {
    std::vector<Hash> bad = p;
    bad[i][5] ^= 1;
    EXPECT_EQ(VerifyInclusion(37, 100, t.leaf_hashes[37], bad, root).code(),
              StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(VerifyInclusion(37, 100, t.leaf_hashes[38], p, root).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyInclusion(36, 100, t.leaf_hashes[37], p, root).code(),
            StatusCode::kPermissionDenied);
  // A size whose tree shapes leaf 37's path the same way is bound by the checkpoint, not here.
  EXPECT_EQ(VerifyInclusion(37, 200, t.leaf_hashes[37], p, root).code(),
            StatusCode::kInvalidArgument);
  std::vector<Hash> shorter(p.begin(), p.end() - 1);
  EXPECT_EQ(VerifyInclusion(37, 100, t.leaf_hashes[37], shorter, root).code(),
            StatusCode::kInvalidArgument);
  std::vector<Hash> longer = p;
  longer.push_back(root);
  EXPECT_EQ(VerifyInclusion(37, 100, t.leaf_hashes[37], longer, root).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(100, 100, t.leaf_hashes[37], p, root).code(),
            StatusCode::kInvalidArgument);
}

TEST(TlogMerkle, TamperedConsistencyProofsAreRefused) {
  StoredTree t;
  for (int i = 0; i < 100; ++i) t.Append("e" + std::to_string(i));
  const Hash old_root = *TreeHash(37, t.Reader());
  const Hash new_root = t.edge.Root();
  std::vector<Hash> p = *ConsistencyProof(37, 100, t.Reader());
  ASSERT_TRUE(VerifyConsistency(37, 100, p, old_root, new_root).ok());
  for (size_t i = 0; i < p.size(); ++i) {
    std::vector<Hash> bad = p;
    bad[i][0] ^= 0x80;
    EXPECT_EQ(VerifyConsistency(37, 100, bad, old_root, new_root).code(),
              StatusCode::kPermissionDenied);
  }
  Hash other = old_root;
  other[31] ^= 1;
  EXPECT_EQ(VerifyConsistency(37, 100, p, other, new_root).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyConsistency(37, 100, p, old_root, other).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyConsistency(38, 100, p, old_root, new_root).code(),
            StatusCode::kInvalidArgument);  // its proof has another length
  EXPECT_EQ(VerifyConsistency(37, 100, {p.begin(), p.end() - 1}, old_root, new_root).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(100, 37, p, old_root, new_root).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(100, 100, {}, new_root, other).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(VerifyConsistency(0, 100, {}, EmptyTreeHash(), new_root).ok());
  EXPECT_EQ(ConsistencyProof(101, 100, t.Reader()).status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogMerkle, HugeSizesFromAHostileCheckpointAreRefusedNotMisread) {
  const Hash h = LeafHash("x");
  EXPECT_EQ(VerifyInclusion(0, UINT64_MAX, h, {h}, h).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(UINT64_MAX - 1, UINT64_MAX, h, std::vector<Hash>(64, h), h).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, UINT64_MAX, {h}, h, h).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(UINT64_MAX - 1, UINT64_MAX, {h}, h, h).code(),
            StatusCode::kInvalidArgument);
}

TEST(TlogMerkle, ARightEdgeRebuiltFromItsHashesAppendsLikeTheOriginal) {
  StoredTree t;
  for (int i = 0; i < 77; ++i) t.Append("x" + std::to_string(i));
  Result<RightEdge> copy = RightEdge::FromHashes(77, t.edge.roots());
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->roots().size(), 4u);  // 77 = 64 + 8 + 4 + 1
  t.Append("x77");
  copy->Append(LeafHash("x77"));
  EXPECT_EQ(copy->Root(), t.edge.Root());
  EXPECT_EQ(RightEdge::FromHashes(77, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogMerkle, AProofFailsWithTheReadersError) {
  StoredTree t;
  for (int i = 0; i < 10; ++i) t.Append("y");
  HashReader failing = [](int, uint64_t) -> Result<Hash> { return Unavailable("store down"); };
  EXPECT_EQ(InclusionProof(3, 10, failing).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(TreeHash(10, failing).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(InclusionProof(10, 10, t.Reader()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::tlog
