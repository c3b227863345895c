#include "vouch/audit/tree.h"

#include <fmt/format.h>

#include <algorithm>

#include "vouch/util/crypto.h"

namespace vouch::audit {
namespace {

Status Missing(int level, uint64_t index) {
  return Status(StatusCode::kDataLoss,
                fmt::format("the store lacks the audit tree's stored hash at level {}, index {}",
                            level, index));
}

}  // namespace

Result<uint64_t> TreeReader::Size() { return tx_.AuditTreeSize(); }

Result<uint64_t> TreeReader::CheckSize(uint64_t size) {
  VOUCH_ASSIGN_OR_RETURN(uint64_t have, Size());
  if (size > have) {
    return InvalidArgument(
        fmt::format("the audit log has {} events; there is no tree of size {}", have, size));
  }
  return have;
}

Result<tlog::Hash> TreeReader::StoredHash(int level, uint64_t index) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> got, tx_.AuditTreeHashes(level, index, 1));
  if (got.empty()) return Missing(level, index);
  return got.front();
}

tlog::HashReader TreeReader::Reader() {
  return [this](int level, uint64_t index) -> Result<tlog::Hash> {
    if (level % tlog::kTileHeight == 0) return StoredHash(level, index);
    // Computed from the 2^k hashes of the tile level below it, read as one range.
    const int tile_level = level - level % tlog::kTileHeight;
    const int count = 1 << (level - tile_level);
    const uint64_t first = index << (level - tile_level);
    VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> hashes,
                           tx_.AuditTreeHashes(tile_level, first, count));
    if (static_cast<int>(hashes.size()) != count) {
      return Missing(tile_level, first + hashes.size());
    }
    std::string data;
    data.reserve(hashes.size() * tlog::kHashBytes);
    for (const tlog::Hash& h : hashes) data += tlog::HashBytes(h);
    // The span as if the tile were exactly these hashes.
    tlog::TileSpan span{
        .tile = {.level = tile_level / tlog::kTileHeight, .index = 0, .width = count},
        .first = 0,
        .count = count};
    return tlog::HashFromTile(span, data);
  };
}

Result<tlog::Hash> TreeReader::Root(uint64_t size) {
  VOUCH_ASSIGN_OR_RETURN(uint64_t have, CheckSize(size));
  if (size == have) {
    // The stored edge is the current tree's: no hash to read.
    VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> roots, tx_.AuditTreeEdge());
    VOUCH_ASSIGN_OR_RETURN(tlog::RightEdge edge,
                           tlog::RightEdge::FromHashes(have, std::move(roots)));
    return edge.Root();
  }
  return tlog::TreeHash(size, Reader());
}

Result<std::string> TreeReader::Tile(const tlog::Tile& tile, uint64_t tree_size) {
  VOUCH_TRY(CheckSize(tree_size).status());
  if (tile.level < 0 || tile.level * tlog::kTileHeight > 63 || tile.width < 1 ||
      tile.width > tlog::kTileWidth) {
    return InvalidArgument(fmt::format("there is no tile {}", tlog::TilePath(tile)));
  }
  const int level = tile.level * tlog::kTileHeight;
  const uint64_t at_level = tree_size >> level;
  const uint64_t first = tile.index * tlog::kTileWidth;
  if (tile.index > at_level / tlog::kTileWidth || first + tile.width > at_level) {
    return InvalidArgument(
        fmt::format("the tree of {} events has no tile {}", tree_size, tlog::TilePath(tile)));
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> hashes,
                         tx_.AuditTreeHashes(level, first, tile.width));
  if (static_cast<int>(hashes.size()) != tile.width) return Missing(level, first + hashes.size());
  std::string out;
  out.reserve(hashes.size() * tlog::kHashBytes);
  for (const tlog::Hash& h : hashes) out += tlog::HashBytes(h);
  return out;
}

Result<std::vector<tlog::Hash>> TreeReader::InclusionProof(uint64_t index, uint64_t size) {
  VOUCH_TRY(CheckSize(size).status());
  return tlog::InclusionProof(index, size, Reader());
}

Result<std::vector<tlog::Hash>> TreeReader::ConsistencyProof(uint64_t old_size, uint64_t new_size) {
  VOUCH_TRY(CheckSize(new_size).status());
  return tlog::ConsistencyProof(old_size, new_size, Reader());
}

std::string RootHex(const tlog::Hash& root) { return HexEncode(tlog::HashBytes(root)); }

StoredTreeCheck::StoredTreeCheck(store::Tx& tx) : tx_(tx) {}

Status StoredTreeCheck::Add(std::string_view leaf) {
  for (const tlog::StoredHash& h : edge_.Append(tlog::LeafHash(leaf))) {
    if (h.level % tlog::kTileHeight != 0) continue;
    pending_.push_back(h);
  }
  if (pending_.size() >= kPage) return Flush();
  return OkStatus();
}

Status StoredTreeCheck::Flush() {
  if (!size_read_) {
    // Once, before any stored hash is compared: a tree switched off, or not there at all.
    Result<uint64_t> size = tx_.AuditTreeSize();
    size_read_ = true;
    if (!size.ok()) {
      if (size.status().code() != StatusCode::kNotFound) return size.status();
      stored_ = false;
    }
  }
  if (!stored_) {
    pending_.clear();
    return OkStatus();
  }
  // The pending hashes of each level are consecutive: one range read per level.
  std::stable_sort(
      pending_.begin(), pending_.end(),
      [](const tlog::StoredHash& a, const tlog::StoredHash& b) { return a.level < b.level; });
  for (size_t i = 0; i < pending_.size();) {
    size_t j = i;
    while (j < pending_.size() && pending_[j].level == pending_[i].level) ++j;
    const int level = pending_[i].level;
    VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> stored,
                           tx_.AuditTreeHashes(level, pending_[i].index, static_cast<int>(j - i)));
    for (size_t k = i; k < j; ++k) {
      const tlog::StoredHash& want = pending_[k];
      const size_t at = k - i;
      if (at >= stored.size() || stored[at] != want.hash) {
        const uint64_t first_seq = (want.index << level) + 1;
        const uint64_t last_seq = (want.index + 1) << level;
        return Status(
            StatusCode::kDataLoss,
            fmt::format(
                "the stored audit tree hash at level {}, index {} (events {}..{}) {}", level,
                want.index, first_seq, last_seq,
                at >= stored.size() ? "is missing" : "differs from the hash of the stored events"));
      }
    }
    i = j;
  }
  pending_.clear();
  return OkStatus();
}

Status StoredTreeCheck::Finish() {
  VOUCH_TRY(Flush());
  if (!stored_) return OkStatus();
  VOUCH_ASSIGN_OR_RETURN(uint64_t size, tx_.AuditTreeSize());
  if (size != edge_.size()) {
    return Status(
        StatusCode::kDataLoss,
        fmt::format("the stored audit tree holds {} events, the log {}", size, edge_.size()));
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> roots, tx_.AuditTreeEdge());
  if (roots != edge_.roots()) {
    return Status(StatusCode::kDataLoss,
                  "the stored audit tree's right edge differs from the tree of the stored events");
  }
  return OkStatus();
}

}  // namespace vouch::audit
