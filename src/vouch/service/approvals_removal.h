// `gate_removal: true` (issue 12, docs/approvals.md "Leaving a gated target"): the pieces
// ApprovalService uses for a request to leave a target, apart so that approvals.cc only calls them.
// A removal request is an ordinary request whose target reads `leave:` and the target the version
// leaves (`leave:stage:Production`), so the one-open-request-per-version-and-target rule keeps
// entering and leaving apart. Only the policy's approval rules judge it: checks, conditions and
// the wait are about entering.
#pragma once

#include <string>
#include <string_view>

#include "vouch/domain/model.h"
#include "vouch/policy/evaluator.h"
#include "vouch/policy/policy.h"
#include "vouch/policy/target.h"
#include "vouch/service/executor.h"
#include "vouch/store/approval_rows.h"
#include "vouch/util/status.h"

namespace vouch::service {

// A request's target as stored: the target, and whether the request leaves it.
struct RequestTarget {
  policy::Target target;
  bool leave = false;
};
// "leave:stage:Production" -> {stage:Production, leave}; anything else as policy::ParseTarget
// (INVALID_ARGUMENT for a bad target).
Result<RequestTarget> ParseRequestTarget(std::string_view text);
// The stored text of a request to leave `target` ("stage:Production" -> "leave:stage:Production").
std::string LeaveTargetText(std::string_view target);

// FAILED_PRECONDITION unless `p` gates leaving (gate_removal: true) and the version holds `target`.
Status MayRequestLeave(const policy::Policy& p, bool holds, std::string_view model, int64_t version,
                       std::string_view target);

// `p` as a removal request is judged: its rules, separation of duties, comment and expiry, without
// checks, conditions or the wait.
policy::Policy RemovalPolicy(policy::Policy p);

// Moves version `v` out of `target`: a stage to Archived, an alias deleted, each with its own
// event (comment `why`). Nothing when the version no longer holds it. The event carries `gate`
// (audit schema 2: the request and policy that let it leave).
Status LeaveTarget(Change& change, Model& m, ModelVersion& v, const policy::Target& target,
                   std::string_view why, const json::object& gate);

// The approved request `r` was applied by a direct move (into or out of its target): marks it
// applied and records request.applied with the gate.
Status AppliedByMove(Change& change, const Model& m, store::ApprovalRequest& r,
                     const store::PolicyRecord& policy, const policy::Evaluation& eval);

// audit_only: a direct move out of `target` that enforcement would refuse, recorded as
// gate.violated.
Status LeaveViolated(Change& change, const Model& m, int64_t version, std::string_view target,
                     const store::PolicyRecord& policy);

// PERMISSION_DENIED naming the policy and how to request leaving.
Status LeaveRefused(const Model& m, int64_t version, std::string_view target,
                    const store::PolicyRecord& policy);

}  // namespace vouch::service
