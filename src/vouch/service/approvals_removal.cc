// Leaving a gated target under `gate_removal: true`: a removal request, judged by the policy's
// approval rules, moves the version out when applied (a stage to Archived, an alias deleted), or
// lets the next direct move out through once approved.
#include "vouch/service/approvals_removal.h"

#include <fmt/format.h>

#include "vouch/audit/actions.h"
#include "vouch/service/events.h"

namespace vouch::service {

using audit::Action;
using policy::TargetKind;
using store::RequestState;

namespace {
constexpr std::string_view kLeavePrefix = "leave:";
}  // namespace

Result<RequestTarget> ParseRequestTarget(std::string_view text) {
  RequestTarget out;
  if (text.starts_with(kLeavePrefix)) {
    out.leave = true;
    text.remove_prefix(kLeavePrefix.size());
  }
  VOUCH_ASSIGN_OR_RETURN(out.target, policy::ParseTarget(text));
  return out;
}

std::string LeaveTargetText(std::string_view target) {
  return std::string(kLeavePrefix) + std::string(target);
}

Status MayRequestLeave(const policy::Policy& p, bool holds, std::string_view model, int64_t version,
                       std::string_view target) {
  if (!p.gate_removal) {
    return FailedPrecondition(fmt::format(
        "policy {} does not gate leaving {} (gate_removal is false): move version {} of model {} "
        "out directly",
        p.name, target, version, model));
  }
  if (!holds) {
    return FailedPrecondition(
        fmt::format("version {} of model {} does not hold {}", version, model, target));
  }
  return OkStatus();
}

policy::Policy RemovalPolicy(policy::Policy p) {
  p.checks.clear();
  p.conditions.clear();
  p.wait.reset();
  return p;
}

Status LeaveTarget(Change& change, Model& m, ModelVersion& v, const policy::Target& target,
                   std::string_view why, const json::object& gate) {
  store::Tx& tx = change.tx();
  const RequestContext& ctx = change.ctx();
  TimeMs now = ctx.Now();
  if (target.kind == TargetKind::kStage) {
    if (StageName(v.stage) != target.name) return OkStatus();
    AuditEvent e = ModelEvent(ctx, Action::kVersionStageChanged, m, v.version);
    e.before = json::object{{"stage", StageName(v.stage)}};
    e.after = json::object{{"stage", StageName(Stage::kArchived)}};
    e.gate = gate;
    e.comment = std::string(why);
    v.stage = Stage::kArchived;
    v.updated_ms = now;
    VOUCH_TRY(tx.UpdateVersion(v));
    VOUCH_TRY(change.Record(std::move(e)));
    m.updated_ms = now;
    return tx.UpdateModel(m);
  }
  if (target.kind == TargetKind::kAlias) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> at, tx.FindAlias(m.id, target.name));
    if (!at || *at != v.version) return OkStatus();
    AuditEvent e = ModelEvent(ctx, Action::kAliasDeleted, m, v.version);
    e.target["alias"] = target.name;
    e.before = json::object{{"alias", target.name}, {"version", v.version}};
    e.after = nullptr;
    e.gate = gate;
    e.comment = std::string(why);
    VOUCH_TRY(tx.DeleteAlias(m.id, target.name));
    return change.Record(std::move(e));
  }
  return FailedPrecondition(fmt::format("{} cannot be left", policy::FormatTarget(target)));
}

Status AppliedByMove(Change& change, const Model& m, store::ApprovalRequest& r,
                     const store::PolicyRecord& policy, const policy::Evaluation& eval) {
  const RequestContext& ctx = change.ctx();
  TimeMs now = ctx.Now();
  RequestState before = r.state;
  r.state = RequestState::kApplied;
  r.applied_ms = now;
  r.closed_ms = now;
  r.updated_ms = now;
  VOUCH_TRY(change.tx().UpdateRequest(r));
  AuditEvent e = ModelEvent(ctx, Action::kRequestApplied, m, r.version);
  e.target["type"] = "approval_request";
  e.target["request"] = r.id;
  e.target["to"] = r.target;
  e.before = json::object{{"state", store::RequestStateName(before)}};
  e.after = json::object{{"state", "applied"},
                         {"gate",
                          {{"policy", policy.name},
                           {"policy_version", policy.version},
                           {"fingerprint", eval.fingerprint},
                           {"request", r.id}}}};
  e.comment = "applied by a direct move";
  return change.Record(std::move(e));
}

Status LeaveViolated(Change& change, const Model& m, int64_t version, std::string_view target,
                     const store::PolicyRecord& policy) {
  AuditEvent e = ModelEvent(change.ctx(), Action::kGateViolated, m, version);
  e.target["from"] = std::string(target);
  e.before = nullptr;
  e.after = json::object{{"policy", policy.name},
                         {"policy_version", policy.version},
                         {"enforcement", "audit_only"},
                         {"leave", true}};
  e.comment = "a direct move out of a target that enforcement would refuse";
  return change.Record(std::move(e));
}

Status LeaveRefused(const Model& m, int64_t version, std::string_view target,
                    const store::PolicyRecord& policy) {
  return PermissionDenied(fmt::format(
      "leaving {} of model {} is gated by policy {} (version {}, gate_removal): open a request "
      "with `vouch requests create {} {} --leave {}` (POST /api/v1/requests with target "
      "\"leave:{}\")",
      target, m.name, policy.name, policy.version, m.name, version, target, target));
}

}  // namespace vouch::service
