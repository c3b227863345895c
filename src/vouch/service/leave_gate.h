// The seam for `gate_removal: true` (issue 12): a MoveGate (gate.h) may also judge a version
// leaving a target by choice. The registry asks, inside the transaction of a stage move out of a
// stage or an alias delete, when its gate implements this interface too.
#pragma once

#include "vouch/domain/model.h"
#include "vouch/policy/target.h"
#include "vouch/service/executor.h"
#include "vouch/util/status.h"

namespace vouch::service {

// Thread-safe.
class LeaveGate {
 public:
  virtual ~LeaveGate() = default;
  // Called inside `change`'s transaction before version `v` of `m` leaves `target` by choice: a
  // stage move out of it, or deleting the alias. (Being archived by another version's entry under
  // archive_existing, or an alias moved to another version through the entry gate, is not.) OK
  // when no policy gates it with `gate_removal: true`; or the version has an approved removal
  // request for exactly that target (the gate marks it applied and records request.applied); or
  // under audit_only (recorded as gate.violated). PERMISSION_DENIED naming the policy and saying
  // how to request otherwise.
  virtual Status Leave(Change& change, const Model& m, const ModelVersion& v,
                       const policy::Target& target) = 0;
};

}  // namespace vouch::service
