// C2SP tlog-tiles addressing: hash tiles of height 8 (256 hashes), their paths
// (`tile/<L>/<N>[.p/<W>]`, N written in groups of three digits as `x001/x234/067`), entry bundles
// (`tile/entries/<N>[.p/<W>]`, each entry a big-endian uint16 length and its bytes), and tile
// contents read from stored hashes. Pure: no I/O.
//
// Tile (L, N) of width W holds the stored hashes at tree level 8·L, indexes 256·N to 256·N + W - 1,
// concatenated. A tile is full at W = 256; a partial tile covers the right edge of a tree whose
// size does not fill it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vouch/tlog/merkle.h"
#include "vouch/util/status.h"

namespace vouch::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr int kTileWidth = 1 << kTileHeight;  // hashes (or entries) in a full tile
inline constexpr size_t kMaxEntryBytes = 65535;      // an entry's length is a uint16

struct Tile {
  int level = 0;           // L: the tile's level; its hashes are at tree level 8·L
  uint64_t index = 0;      // N
  int width = kTileWidth;  // W, 1..256
  friend bool operator==(const Tile&, const Tile&) = default;
};

// "x001/x234/067" for 1234067; "000" for 0.
std::string TileIndexPath(uint64_t index);
// `tile/<L>/<N>[.p/<W>]`.
std::string TilePath(const Tile& tile);
// `tile/entries/<N>[.p/<W>]` for the bundle of entries 256·N to 256·N + W - 1.
std::string EntryBundlePath(uint64_t index, int width);

// What a tile path names: a hash tile or (entries == true) an entry bundle.
struct TileAddress {
  Tile tile;
  bool entries = false;
  friend bool operator==(const TileAddress&, const TileAddress&) = default;
};
// Parses the paths above, strictly (each group three digits, non-final groups with "x", no
// leading zeros in L or W, W in 1..255 when given, L at most 63). INVALID_ARGUMENT otherwise.
Result<TileAddress> ParseTilePath(std::string_view path);

// The tile holding stored hash (level, index) or the hashes it is computed from, in a tree of
// `size` leaves (the width is what that tree has of the tile), and where in the tile they sit.
struct TileSpan {
  Tile tile;
  int first = 0;  // the first of the tile's hashes that make up the stored hash
  int count = 1;  // how many (1 when the stored hash is at a tile level, 2^k k levels above)
};
// INVALID_ARGUMENT when the tree of `size` leaves has no full subtree (level, index).
Result<TileSpan> TileForStoredHash(int level, uint64_t index, uint64_t size);

// The tiles a tree of `size` leaves has: every full one and the partial one at the right edge of
// each level, lowest level first.
std::vector<Tile> TilesOfTree(uint64_t size);

// The tile's contents: its W hashes read from stored hashes, 32·W bytes.
Result<std::string> ReadTile(const Tile& tile, const HashReader& read);
// The stored hash (level, index) from the contents of the tile TileForStoredHash names.
// INVALID_ARGUMENT when `data` is not that tile's W hashes.
Result<Hash> HashFromTile(const TileSpan& span, std::string_view data);
// The contents of the level-0 tiles of a tree of these leaves (the leaf hashes, 256 a tile), and
// of the tiles above it: all of TilesOfTree(leaves.size()), in that order.
std::vector<std::pair<Tile, std::string>> BuildTiles(const std::vector<std::string>& leaves);

// The tiles of a tree built one leaf at a time, each given out as soon as it is complete: a full
// tile when its 256th hash is made final, the partial ones at the right edge when asked. Keeps the
// right edge and at most 256 hashes a tile level (O(log n) memory), never the leaves: a verifier
// streaming a log compares each tile with a served or stored one as it goes. For a tree of n
// leaves, the tiles Append gave out and then Partial are TilesOfTree(n) with BuildTiles' contents.
// Not thread-safe.
class TileStream {
 public:
  using Tiles = std::vector<std::pair<Tile, std::string>>;
  // Appends a leaf by its hash (LeafHash of its bytes); returns the full tiles this completed,
  // lowest level first (most appends complete none).
  Tiles Append(const Hash& leaf_hash);
  // The partial tile at the right edge of each tile level whose last tile is not full, lowest
  // level first: what TilesOfTree(size()) has beyond the full tiles Append gave out.
  Tiles Partial() const;
  // The leaves appended.
  uint64_t size() const { return edge_.size(); }

 private:
  RightEdge edge_;
  std::vector<std::string> open_;  // [tile level]: the unfinished tile's hashes so far, as bytes
};

// An entry bundle: each entry as a big-endian uint16 length and its bytes. INVALID_ARGUMENT when an
// entry is over kMaxEntryBytes or there are more than 256.
Result<std::string> EncodeEntryBundle(const std::vector<std::string>& entries);
// INVALID_ARGUMENT when `data` is not a whole number of such entries (at most 256).
Result<std::vector<std::string>> DecodeEntryBundle(std::string_view data);

}  // namespace vouch::tlog
