#include "vouch/tlog/tiles.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace vouch::tlog {
namespace {

std::string WidthSuffix(int width) {
  return width == kTileWidth ? std::string() : fmt::format(".p/{}", width);
}

// A decimal without leading zeros (but "0"), at most `max`.
bool ParseDecimal(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out <= max;
}

// "x001/x234/067" back to 1234067.
bool ParseIndexPath(std::string_view s, uint64_t& out) {
  out = 0;
  while (true) {
    const bool more = !s.empty() && s[0] == 'x';
    if (more) s.remove_prefix(1);
    if (s.size() < 3) return false;
    uint64_t group = 0;
    for (int i = 0; i < 3; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      group = group * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    if (out > (UINT64_MAX - group) / 1000) return false;
    out = out * 1000 + group;
    s.remove_prefix(3);
    if (!more) return s.empty();
    if (s.empty() || s[0] != '/') return false;
    s.remove_prefix(1);
  }
}

}  // namespace

std::string TileIndexPath(uint64_t index) {
  std::string out = fmt::format("{:03}", index % 1000);
  for (uint64_t n = index / 1000; n > 0; n /= 1000) {
    out = fmt::format("x{:03}/{}", n % 1000, out);
  }
  return out;
}

std::string TilePath(const Tile& tile) {
  return fmt::format("tile/{}/{}{}", tile.level, TileIndexPath(tile.index),
                     WidthSuffix(tile.width));
}

std::string EntryBundlePath(uint64_t index, int width) {
  return fmt::format("tile/entries/{}{}", TileIndexPath(index), WidthSuffix(width));
}

Result<TileAddress> ParseTilePath(std::string_view path) {
  auto bad = [&] { return InvalidArgument(fmt::format("not a tile path: \"{}\"", path)); };
  std::string_view rest = path;
  if (!rest.starts_with("tile/")) return bad();
  rest.remove_prefix(5);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad();
  TileAddress a;
  const std::string_view level = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  if (level == "entries") {
    a.entries = true;
  } else {
    uint64_t l = 0;
    if (!ParseDecimal(level, 63, l)) return bad();
    a.tile.level = static_cast<int>(l);
  }
  if (const size_t p = rest.find(".p/"); p != std::string_view::npos) {
    uint64_t w = 0;
    if (!ParseDecimal(rest.substr(p + 3), kTileWidth - 1, w) || w == 0) return bad();
    a.tile.width = static_cast<int>(w);
    rest = rest.substr(0, p);
  }
  if (!ParseIndexPath(rest, a.tile.index)) return bad();
  // One spelling per index: no needless leading "x000/" group.
  if (TileIndexPath(a.tile.index) != rest) return bad();
  return a;
}

Result<TileSpan> TileForStoredHash(int level, uint64_t index, uint64_t size) {
  if (level < 0 || level > 63 || index >= (size >> level)) {
    return InvalidArgument(
        fmt::format("a tree of {} has no full subtree at level {}, index {}", size, level, index));
  }
  const int tile_level = level / kTileHeight;
  const int k = level - tile_level * kTileHeight;
  const uint64_t base = index << k;  // the first hash at the tile's tree level
  TileSpan span;
  span.tile.level = tile_level;
  span.tile.index = base / kTileWidth;
  span.first = static_cast<int>(base % kTileWidth);
  span.count = 1 << k;
  const uint64_t at_level = size >> (tile_level * kTileHeight);
  span.tile.width =
      static_cast<int>(std::min<uint64_t>(kTileWidth, at_level - span.tile.index * kTileWidth));
  return span;
}

std::vector<Tile> TilesOfTree(uint64_t size) {
  std::vector<Tile> out;
  for (int level = 0; level * kTileHeight < 64; ++level) {
    const uint64_t n = size >> (level * kTileHeight);
    if (n == 0) break;
    for (uint64_t i = 0; i < n / kTileWidth; ++i) out.push_back({level, i, kTileWidth});
    if (n % kTileWidth != 0) {
      out.push_back({level, n / kTileWidth, static_cast<int>(n % kTileWidth)});
    }
  }
  return out;
}

Result<std::string> ReadTile(const Tile& tile, const HashReader& read) {
  std::string out;
  out.reserve(static_cast<size_t>(tile.width) * kHashBytes);
  const uint64_t first = tile.index * kTileWidth;
  for (int i = 0; i < tile.width; ++i) {
    VOUCH_ASSIGN_OR_RETURN(Hash h, read(tile.level * kTileHeight, first + i));
    out += HashBytes(h);
  }
  return out;
}

Result<Hash> HashFromTile(const TileSpan& span, std::string_view data) {
  if (data.size() != static_cast<size_t>(span.tile.width) * kHashBytes ||
      span.first + span.count > span.tile.width) {
    return InvalidArgument(fmt::format("{} is {} bytes, not the {} of its {} hashes",
                                       TilePath(span.tile), data.size(),
                                       span.tile.width * kHashBytes, span.tile.width));
  }
  std::vector<Hash> level;
  for (int i = 0; i < span.count; ++i) {
    VOUCH_ASSIGN_OR_RETURN(Hash h,
                           HashFromBytes(data.substr((span.first + i) * kHashBytes, kHashBytes)));
    level.push_back(h);
  }
  while (level.size() > 1) {
    std::vector<Hash> up;
    for (size_t i = 0; i < level.size(); i += 2) up.push_back(NodeHash(level[i], level[i + 1]));
    level = std::move(up);
  }
  return level[0];
}

std::vector<std::pair<Tile, std::string>> BuildTiles(const std::vector<std::string>& leaves) {
  std::vector<std::vector<Hash>> stored;  // [level][index]
  RightEdge edge;
  for (const std::string& leaf : leaves) {
    for (const StoredHash& s : edge.Append(LeafHash(leaf))) {
      if (stored.size() <= static_cast<size_t>(s.level)) stored.resize(s.level + 1);
      stored[s.level].push_back(s.hash);
    }
  }
  HashReader read = [&](int level, uint64_t index) -> Result<Hash> { return stored[level][index]; };
  std::vector<std::pair<Tile, std::string>> out;
  for (const Tile& t : TilesOfTree(leaves.size())) out.emplace_back(t, *ReadTile(t, read));
  return out;
}

TileStream::Tiles TileStream::Append(const Hash& leaf_hash) {
  Tiles done;
  for (const StoredHash& s : edge_.Append(leaf_hash)) {
    if (s.level % kTileHeight != 0) continue;
    const size_t level = static_cast<size_t>(s.level / kTileHeight);
    if (open_.size() <= level) open_.resize(level + 1);
    open_[level] += HashBytes(s.hash);
    if (s.index % kTileWidth == kTileWidth - 1) {
      done.emplace_back(Tile{static_cast<int>(level), s.index / kTileWidth, kTileWidth},
                        std::move(open_[level]));
      open_[level].clear();
    }
  }
  return done;
}

TileStream::Tiles TileStream::Partial() const {
  Tiles out;
  for (size_t level = 0; level < open_.size(); ++level) {
    if (open_[level].empty()) continue;
    const uint64_t at_level = edge_.size() >> (level * kTileHeight);
    out.emplace_back(Tile{static_cast<int>(level), at_level / kTileWidth,
                          static_cast<int>(open_[level].size() / kHashBytes)},
                     open_[level]);
  }
  return out;
}

Result<std::string> EncodeEntryBundle(const std::vector<std::string>& entries) {
  if (entries.size() > static_cast<size_t>(kTileWidth)) {
    return InvalidArgument(fmt::format("an entry bundle holds at most {} entries, not {}",
                                       kTileWidth, entries.size()));
  }
  std::string out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& e = entries[i];
    if (e.size() > kMaxEntryBytes) {
      return InvalidArgument(
          fmt::format("entry {} of the bundle is {} bytes; a tile entry holds at most {}", i,
                      e.size(), kMaxEntryBytes));
    }
    out.push_back(static_cast<char>(e.size() >> 8));
    out.push_back(static_cast<char>(e.size() & 0xff));
    out += e;
  }
  return out;
}

Result<std::vector<std::string>> DecodeEntryBundle(std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    if (out.size() == static_cast<size_t>(kTileWidth)) {
      return InvalidArgument(fmt::format("an entry bundle holds at most {} entries", kTileWidth));
    }
    if (data.size() < 2) return InvalidArgument("an entry bundle ends inside a length");
    const size_t n = (static_cast<uint8_t>(data[0]) << 8) | static_cast<uint8_t>(data[1]);
    data.remove_prefix(2);
    if (data.size() < n) {
      return InvalidArgument(fmt::format("entry {} of the bundle is cut short: {} of {} bytes",
                                         out.size(), data.size(), n));
    }
    out.emplace_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

}  // namespace vouch::tlog
