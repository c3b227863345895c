// The seam between the registry's direct moves and the approval gates (issue 12): the registry
// asks, inside the transaction of a stage transition or an alias set, whether the move may go
// through. The approval service implements it (approvals.h); without one nothing is gated.
#pragma once

#include <optional>

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
};

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
