#include "vouch/tlog/tiles.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace vouch::tlog {
namespace {

TEST(TlogTiles, IndexPathsGroupDigitsInThreesAsGoDoes) {
  // Go's tlog.Tile{H: 8, L: 0, N: n}.Path() is "tile/8/0/" followed by these.
  EXPECT_EQ(TileIndexPath(0), "000");
  EXPECT_EQ(TileIndexPath(1), "001");
  EXPECT_EQ(TileIndexPath(999), "999");
  EXPECT_EQ(TileIndexPath(1000), "x001/000");
  EXPECT_EQ(TileIndexPath(1234067), "x001/x234/067");
  EXPECT_EQ(TileIndexPath(123456078), "x123/x456/078");
}

TEST(TlogTiles, PathsOfHashTilesAndEntryBundlesFollowTlogTiles) {
  EXPECT_EQ(TilePath({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({2, 5, 17}), "tile/2/005.p/17");
  EXPECT_EQ(EntryBundlePath(1234067, 256), "tile/entries/x001/x234/067");
  EXPECT_EQ(EntryBundlePath(0, 3), "tile/entries/000.p/3");
}

TEST(TlogTiles, TilePathsParseBackAndMalformedOnesAreRefused) {
  for (const TileAddress& a : std::vector<TileAddress>{
           {{0, 1234067, 256}, false}, {{3, 0, 1}, false}, {{0, 999, 255}, true}}) {
    const std::string path =
        a.entries ? EntryBundlePath(a.tile.index, a.tile.width) : TilePath(a.tile);
    Result<TileAddress> parsed = ParseTilePath(path);
    ASSERT_TRUE(parsed.ok()) << path;
    EXPECT_EQ(*parsed, a) << path;
  }
  for (std::string_view bad :
       {"tile/0/1", "tile/0/001.p/0", "tile/0/001.p/256", "tile/0/001.p/05", "tile/00/001",
        "tile/64/001", "tile/0/x000/001", "tile/0/123/456", "tile/0/x12/345", "tile/data/001",
        "tile/0/001/", "tiles/0/001", "tile/0/-01", "tile/8/0/001"}) {
    EXPECT_EQ(ParseTilePath(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// Every stored hash of a tree, level by level, by appending.
std::vector<std::vector<Hash>> StoredHashes(const std::vector<std::string>& leaves) {
  std::vector<std::vector<Hash>> levels;
  RightEdge edge;
  for (const std::string& leaf : leaves) {
    for (const StoredHash& s : edge.Append(LeafHash(leaf))) {
      if (levels.size() <= static_cast<size_t>(s.level)) levels.resize(s.level + 1);
      levels[s.level].push_back(s.hash);
    }
  }
  return levels;
}

TEST(TlogTiles, ATreeHasItsFullTilesAndAPartialOneAtEachLevelsRightEdge) {
  const std::vector<Tile> tiles = TilesOfTree(70000);
  // Level 0: 273 full tiles and one of 112; level 1: 70000 >> 8 = 273 hashes, one full tile and
  // one of 17; level 2: one hash.
  ASSERT_EQ(tiles.size(), 274u + 2u + 1u);
  EXPECT_EQ(tiles[273], (Tile{0, 273, 112}));
  EXPECT_EQ(tiles[274], (Tile{1, 0, 256}));
  EXPECT_EQ(tiles[275], (Tile{1, 1, 17}));
  EXPECT_EQ(tiles[276], (Tile{2, 0, 1}));
  EXPECT_TRUE(TilesOfTree(0).empty());
}

TEST(TlogTiles, EveryStoredHashIsRecoveredFromItsTile) {
  std::vector<std::string> leaves;
  for (int i = 0; i < 1000; ++i) leaves.push_back("leaf " + std::to_string(i));
  const std::vector<std::vector<Hash>> stored = StoredHashes(leaves);
  std::map<std::string, std::string> by_path;
  for (auto& [tile, data] : BuildTiles(leaves)) {
    EXPECT_EQ(data.size(), tile.width * kHashBytes);
    by_path[TilePath(tile)] = data;
  }
  for (size_t level = 0; level < stored.size(); ++level) {
    for (uint64_t index = 0; index < stored[level].size(); ++index) {
      Result<TileSpan> span = TileForStoredHash(static_cast<int>(level), index, leaves.size());
      ASSERT_TRUE(span.ok());
      auto it = by_path.find(TilePath(span->tile));
      ASSERT_NE(it, by_path.end()) << TilePath(span->tile);
      Result<Hash> h = HashFromTile(*span, it->second);
      ASSERT_TRUE(h.ok());
      EXPECT_EQ(*h, stored[level][index]) << level << "/" << index;
    }
  }
  EXPECT_EQ(TileForStoredHash(0, 1000, 1000).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TileForStoredHash(3, 125, 1000).status().code(), StatusCode::kInvalidArgument);
  Result<TileSpan> span = TileForStoredHash(9, 0, 1000);
  ASSERT_TRUE(span.ok());
  EXPECT_EQ(span->tile, (Tile{1, 0, 3}));
  EXPECT_EQ(span->count, 2);
  EXPECT_EQ(HashFromTile(*span, "short").status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogTiles, AStreamGivesOutEachTileOnceComplete) {
  // 65,836 leaves: level 0 has 257 full tiles and one of 44; level 1 one full tile and one of 1;
  // level 2 one hash. Every size on the way is checked at a few points.
  std::vector<std::string> leaves;
  TileStream stream;
  std::map<std::string, std::string> given;  // path -> contents, full tiles as they came
  for (int i = 0; i < 65836; ++i) {
    leaves.push_back("leaf " + std::to_string(i));
    for (auto& [tile, data] : stream.Append(LeafHash(leaves.back()))) {
      EXPECT_EQ(tile.width, kTileWidth);
      EXPECT_TRUE(given.emplace(TilePath(tile), std::move(data)).second) << TilePath(tile);
    }
    const size_t n = leaves.size();
    if (n != 1 && n != 255 && n != 256 && n != 257 && n != 65536 && n != 65836) continue;
    std::map<std::string, std::string> all = given;
    for (auto& [tile, data] : stream.Partial()) {
      EXPECT_LT(tile.width, kTileWidth);
      EXPECT_TRUE(all.emplace(TilePath(tile), std::move(data)).second) << TilePath(tile);
    }
    std::map<std::string, std::string> want;
    for (auto& [tile, data] : BuildTiles(leaves)) want.emplace(TilePath(tile), std::move(data));
    EXPECT_EQ(all, want) << "at " << n << " leaves";
    EXPECT_EQ(stream.size(), n);
  }
  EXPECT_TRUE(given.contains("tile/1/000"));
  EXPECT_TRUE(TileStream().Partial().empty());
}

TEST(TlogTiles, EntryBundlesRoundTripAndRefuseOversizedEntries) {
  std::vector<std::string> entries = {"", "a", std::string(kMaxEntryBytes, 'x')};
  Result<std::string> bundle = EncodeEntryBundle(entries);
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(bundle->substr(0, 5), std::string("\x00\x00\x00\x01"
                                              "a",
                                              5));
  EXPECT_EQ(bundle->substr(5, 2), "\xff\xff");
  Result<std::vector<std::string>> decoded = DecodeEntryBundle(*bundle);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, entries);

  EXPECT_EQ(EncodeEntryBundle({std::string(kMaxEntryBytes + 1, 'x')}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEntryBundle(std::vector<std::string>(257, "e")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeEntryBundle(std::string("\x00", 1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeEntryBundle(std::string("\x00\x03"
                                          "ab",
                                          4))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::tlog
