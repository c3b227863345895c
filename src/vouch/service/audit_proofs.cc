#include "vouch/service/audit_proofs.h"

#include <fmt/format.h>

#include <algorithm>

#include "vouch/audit/tree.h"
#include "vouch/service/lookups.h"

namespace vouch::service {

AuditProofs::AuditProofs(store::Store& store, Authorizer authz,
                         const CheckpointService& checkpoints)
    : store_(store), authz_(authz), checkpoints_(checkpoints) {}

Result<CheckpointView> AuditProofs::CheckpointAt(std::optional<uint64_t> size) const {
  Result<CheckpointView> cp = size ? checkpoints_.AtSize(*size) : checkpoints_.Latest();
  if (!cp.ok() && cp.status().code() == StatusCode::kNotFound) {
    if (size) {
      return NotFound(
          fmt::format("no checkpoint of tree size {}: proofs are against checkpointed "
                      "sizes (GET /api/v1/audit/checkpoints lists them)",
                      *size));
    }
    return NotFound("the audit log has no checkpoint yet");
  }
  return cp;
}

namespace {

// The tile as the current tree has it; NOT_FOUND when the tree has fewer than W of its hashes.
Result<std::string> TileIn(audit::TreeReader& tree, const tlog::Tile& tile, uint64_t size) {
  Result<std::string> data = tree.Tile(tile, size);
  if (!data.ok() && data.status().code() == StatusCode::kInvalidArgument) {
    return NotFound(fmt::format("the audit log's tree of {} events has no tile {}", size,
                                tlog::TilePath(tile)));
  }
  return data;
}

}  // namespace

Result<std::string> AuditProofs::Tile(const tlog::Tile& tile) {
  std::string out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    audit::TreeReader tree(tx);
    VOUCH_ASSIGN_OR_RETURN(uint64_t size, tree.Size());
    VOUCH_ASSIGN_OR_RETURN(out, TileIn(tree, tile, size));
    return OkStatus();
  }));
  return out;
}

Result<std::string> AuditProofs::EntryBundle(const RequestContext& ctx, uint64_t index, int width) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (!Authorizer::MayReadWholeAudit(ctx)) {
    return PermissionDenied(
        "entry bundles are whole audit events: they need the admin or auditor "
        "role");
  }
  const std::string path = tlog::EntryBundlePath(index, width);
  const uint64_t first = index * tlog::kTileWidth;  // seq - 1 of the bundle's first event
  std::vector<store::StoredAuditEvent> events;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    audit::TreeReader tree(tx);
    VOUCH_ASSIGN_OR_RETURN(uint64_t size, tree.Size());
    if (size < first + static_cast<uint64_t>(width)) {
      return NotFound(fmt::format("the audit log's tree of {} events has no {}", size, path));
    }
    VOUCH_ASSIGN_OR_RETURN(
        events, tx.ListAuditEvents({.after_seq = static_cast<int64_t>(first), .limit = width}));
    return OkStatus();
  }));
  std::vector<std::string> bodies;
  bodies.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const int64_t seq = static_cast<int64_t>(first + i + 1);
    if (events[i].seq != seq) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("audit event {} is missing from the store", seq));
    }
    if (events[i].body.size() > tlog::kMaxEntryBytes) {
      return Status(StatusCode::kEntryTooLarge,
                    fmt::format("audit event seq {} is {} bytes, over the 65,535 an entry bundle "
                                "holds (it predates the limit): its hash is in the tiles; read the "
                                "event through GET /api/v1/audit or an export",
                                seq, events[i].body.size()));
    }
    bodies.push_back(std::move(events[i].body));
  }
  if (static_cast<int>(bodies.size()) != width) {
    return Status(StatusCode::kDataLoss, fmt::format("the store holds {} of the {} events of {}",
                                                     bodies.size(), width, path));
  }
  return tlog::EncodeEntryBundle(bodies);
}

Result<InclusionProofView> AuditProofs::Inclusion(const RequestContext& ctx, int64_t seq,
                                                  std::optional<uint64_t> size,
                                                  std::string_view model) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (seq < 1) return InvalidArgument(fmt::format("seq must be at least 1, got {}", seq));
  VOUCH_ASSIGN_OR_RETURN(CheckpointView cp, CheckpointAt(size));
  if (static_cast<uint64_t>(seq) > cp.size) {
    return NotFound(
        fmt::format("audit event {} is not in the checkpointed tree of {} events", seq, cp.size));
  }
  InclusionProofView out{.seq = seq,
                         .index = static_cast<uint64_t>(seq - 1),
                         .size = cp.size,
                         .root = cp.root,
                         .checkpoint = cp.note};
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    // As the audit list: the whole log for admins and auditors; anyone else an event of a model
    // it may read, named.
    store::AuditFilter f{.after_seq = seq - 1, .limit = 1};
    if (!Authorizer::MayReadWholeAudit(ctx)) {
      if (model.empty()) {
        return PermissionDenied(
            "proving an event needs the admin or auditor role, or the model the event is about "
            "(model=NAME) on which you have READ");
      }
      VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, true));
      f.model_id = m.id;
    }
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::StoredAuditEvent> events, tx.ListAuditEvents(f));
    if (events.empty() || events.front().seq != seq) {
      if (!model.empty() && !Authorizer::MayReadWholeAudit(ctx)) {
        return PermissionDenied(
            fmt::format("audit event {} is not an event of model {}", seq, model));
      }
      return NotFound(fmt::format("audit event {} not found", seq));
    }
    out.event = std::move(events.front().body);
    audit::TreeReader tree(tx);
    VOUCH_ASSIGN_OR_RETURN(out.hashes, tree.InclusionProof(out.index, cp.size));
    return OkStatus();
  }));
  return out;
}

Result<ConsistencyProofView> AuditProofs::Consistency(uint64_t from, std::optional<uint64_t> to) {
  VOUCH_ASSIGN_OR_RETURN(CheckpointView cp, CheckpointAt(to));
  if (from > cp.size) {
    return InvalidArgument(
        fmt::format("from ({}) must not be beyond to ({}): a consistency proof is from an older "
                    "tree to a newer one",
                    from, cp.size));
  }
  ConsistencyProofView out{.from = from, .to = cp.size, .to_root = cp.root, .checkpoint = cp.note};
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    audit::TreeReader tree(tx);
    VOUCH_ASSIGN_OR_RETURN(out.from_root, tree.Root(from));
    VOUCH_ASSIGN_OR_RETURN(out.hashes, tree.ConsistencyProof(from, cp.size));
    return OkStatus();
  }));
  return out;
}

}  // namespace vouch::service
