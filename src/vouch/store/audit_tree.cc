#include "vouch/store/audit_tree.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace vouch::store {

Result<AuditTreeBuild> BuildAuditTree(Store& store, int batch) {
  const auto start = std::chrono::steady_clock::now();
  AuditTreeBuild out;
  uint64_t first_size = 0;
  int64_t head = 0;
  VOUCH_TRY(store.Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(first_size, tx.AuditTreeSize());
    VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
    return OkStatus();
  }));
  out.size = first_size;
  if (first_size < static_cast<uint64_t>(head)) {
    spdlog::info("building the audit log's Merkle tree: {} of {} events hashed so far", first_size,
                 head);
  }
  while (out.size < static_cast<uint64_t>(head)) {
    uint64_t before = out.size;
    VOUCH_TRY(store.Write([&](Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(out.size, tx.ExtendAuditTree(batch));
      return OkStatus();
    }));
    // Another server may have built some of it meanwhile; the log may have grown too (appends
    // keep the tree whole themselves once it has caught up).
    if (out.size == before) break;
  }
  out.hashed = out.size - first_size;
  out.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  if (out.hashed > 0) {
    spdlog::info("built the audit log's Merkle tree: hashed {} events in {} ms ({} in the tree)",
                 out.hashed, out.elapsed_ms, out.size);
  }
  return out;
}

Status SwitchAuditTreeOff(Store& store) {
  return store.Write([](Tx& tx) { return tx.MarkAuditTreeOff(); });
}

Status PrepareAuditTree(Store& store, bool tree_off, std::string_view where) {
  if (tree_off) {
    spdlog::warn(
        "BENCHMARK MODE: audit tree updates are off. {} is marked so that no server will open it "
        "again and `vouch audit verify` fails on it; throw it away after the benchmark",
        where);
    return SwitchAuditTreeOff(store);
  }
  Result<AuditTreeBuild> built = BuildAuditTree(store);
  if (!built.ok()) {
    if (built.status().code() == StatusCode::kFailedPrecondition) {
      return FailedPrecondition(fmt::format("refusing {}: {}", where, built.status().message()));
    }
    return built.status().WithContext("building the audit log's Merkle tree");
  }
  return OkStatus();
}

}  // namespace vouch::store
