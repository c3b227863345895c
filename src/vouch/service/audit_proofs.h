// Serving the audit log's Merkle tree (issue 14) to clients that do not trust the server: C2SP
// tlog-tiles hash tiles and entry bundles, and inclusion and consistency proofs against signed
// checkpoints (checkpoints.h). Every read runs in one read transaction of the store; nothing here
// changes state.
//
// Who may read what: hash tiles, checkpoints and consistency proofs are public (they reveal hashes
// only); entry bundles are whole events, for admins and auditors; the inclusion proof of an event
// carries the event, so it needs read access to that event as `GET /api/v1/audit` gives it (admins
// and auditors any event, anyone else an event of a model it may READ, named by `model`).
//
// Thread-safe (holds references to thread-safe services and an immutable Authorizer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/domain/principal.h"
#include "vouch/service/authorizer.h"
#include "vouch/service/checkpoints.h"
#include "vouch/store/store.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/tiles.h"

namespace vouch::service {

struct InclusionProofView {
  int64_t seq = 0;
  uint64_t index = 0;  // seq - 1: the leaf's index
  uint64_t size = 0;   // the checkpointed tree size
  tlog::Hash root{};
  std::vector<tlog::Hash> hashes;  // leaf side first
  std::string checkpoint;          // the signed note at `size`, cosignatures appended
  std::string event;               // the event's stored canonical bytes: the leaf
};

struct ConsistencyProofView {
  uint64_t from = 0;
  uint64_t to = 0;
  tlog::Hash from_root{};
  tlog::Hash to_root{};
  std::vector<tlog::Hash> hashes;
  std::string checkpoint;  // the signed note at `to`, cosignatures appended
};

class AuditProofs {
 public:
  AuditProofs(store::Store& store, Authorizer authz, const CheckpointService& checkpoints);

  // A hash tile's 32·W bytes in the current tree. NOT_FOUND when the tree does not have W hashes
  // in that tile yet (a full tile not yet complete, a partial one wider than the tree has).
  Result<std::string> Tile(const tlog::Tile& tile);

  // The entry bundle of events 256·N + 1 .. 256·N + W (their stored bytes). Admins and auditors
  // (PERMISSION_DENIED otherwise). NOT_FOUND as for Tile; kEntryTooLarge naming the seq when one
  // of them is over 65,535 bytes (an event older than the limit: its hash is in the tiles, the
  // event itself is read through GET /api/v1/audit or an export).
  Result<std::string> EntryBundle(const RequestContext& ctx, uint64_t index, int width);

  // The inclusion proof of event `seq` in the checkpointed tree of `size` (default: the latest
  // checkpoint). INVALID_ARGUMENT for seq < 1; NOT_FOUND when no checkpoint is at `size` (or none
  // at all), or the event is not in that tree; PERMISSION_DENIED unless the caller may read the
  // event: admins and auditors any, anyone else one of the live model `model` it may READ
  // (`model` empty: PERMISSION_DENIED as the audit list says it).
  Result<InclusionProofView> Inclusion(const RequestContext& ctx, int64_t seq,
                                       std::optional<uint64_t> size, std::string_view model);

  // The consistency proof between the trees of `from` and `to` leaves, `to` a checkpointed size
  // (default: the latest checkpoint). Public. INVALID_ARGUMENT unless from <= to; NOT_FOUND when
  // no checkpoint is at `to`.
  Result<ConsistencyProofView> Consistency(uint64_t from, std::optional<uint64_t> to);

 private:
  Result<CheckpointView> CheckpointAt(std::optional<uint64_t> size) const;

  store::Store& store_;
  const Authorizer authz_;
  const CheckpointService& checkpoints_;
};

}  // namespace vouch::service
