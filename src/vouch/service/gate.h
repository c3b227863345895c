// The seam between the registry's direct moves and the approval gates (issue 12): the registry
// asks, inside the transaction of a stage transition or an alias set, whether the move may go
// through. The approval service implements it (approvals.h); without one nothing is gated.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "vouch/domain/model.h"
#include "vouch/policy/target.h"
#include "vouch/service/executor.h"
#include "vouch/util/json.h"

namespace vouch::service {

// What the gate lets a direct move do.
struct GateAllowance {
  bool gated = false;  // a policy governs the target
  // The governing policy says to archive the other versions in the stage (archive_existing).
  bool archive_existing = false;
  // Audit schema 2: what let the move in, for the move's own event (AuditEvent::gate); null when
  // the target is not gated. GateJson's shape.
  json::value gate;
};

// A gated move's `gate` (audit schema 2): {"policy", "policy_version", "fingerprint", "request"
// (the request's id, or null when none let it in), "via"}: "request" (applied by a request, or by
// the direct move that finished a manual apply), "audit_only" (let through, flagged as
// gate.violated), "break_glass".
inline json::object GateJson(std::string_view policy, int64_t policy_version,
                             std::string_view fingerprint, std::optional<int64_t> request,
                             std::string_view via) {
  return {{"policy", policy},
          {"policy_version", policy_version},
          {"fingerprint", fingerprint},
          {"request", request ? json::value(*request) : json::value(nullptr)},
          {"via", via}};
}

// What a version archived by archive_existing records in its event's `after`, beside the stage
// (audit schema 2): {"cause": "superseded", "by_version": N}.
inline void MarkSuperseded(json::value& after, int64_t by_version) {
  json::object& o = after.as_object();
  o["cause"] = "superseded";
  o["by_version"] = by_version;
}

// Thread-safe.
class MoveGate {
 public:
  virtual ~MoveGate() = default;
  // Called inside `change`'s transaction before version `v` of model `m` (a row: tags are loaded
  // by the gate) enters `target`. OK with what the move may do: not gated; or gated and the
  // version has an approved request for exactly that target that still holds (the gate marks it
  // applied and records request.applied in `change`); or gated under audit_only (recorded as
  // gate.violated). PERMISSION_DENIED naming the policy and saying how to request otherwise.
  virtual Result<GateAllowance> DirectMove(Change& change, const Model& m, const ModelVersion& v,
                                           const policy::Target& target) = 0;
  // Called inside `change`'s transaction before version `version` of `m` (every version when
  // empty) is deleted. FAILED_PRECONDITION naming the target and the policy while one of them holds
  // a gated target: it has to leave it first.
  virtual Status Removal(Change& change, const Model& m, std::optional<int64_t> version) = 0;
  // Called inside `change`'s transaction before model `before` (with its tags and aliases) becomes
  // `after` (renamed, or its tags changed). When that changes which policy governs a gated target
  // one of its versions holds: PERMISSION_DENIED naming both policies unless the caller is an
  // admin, and for an admin what changed, for the change's event to name
  // ([{"target", "version", "from", "to"}], a policy's name or null). Empty when nothing changes.
  virtual Result<json::array> GovernanceChange(Change& change, const Model& before,
                                               const Model& after) = 0;
};

}  // namespace vouch::service
