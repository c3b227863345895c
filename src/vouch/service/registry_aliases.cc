#include "vouch/service/registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "vouch/audit/actions.h"
#include "vouch/service/events.h"
#include "vouch/service/leave_gate.h"
#include "vouch/service/lookups.h"
#include "vouch/service/registry_internal.h"

namespace vouch::service {

using audit::Action;
using registry_internal::ValidateVersionNumber;

namespace {

// The gate judges leaving a target too when it implements LeaveGate (gate_removal: true).
LeaveGate* LeaveGateOf(MoveGate* gate) { return dynamic_cast<LeaveGate*>(gate); }

}  // namespace

Result<ModelVersion> RegistryService::SetStage(const RequestContext& ctx,
                                               const StageChange& change) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(change.version));
  VOUCH_ASSIGN_OR_RETURN(Stage stage, ParseStage(change.stage));
  if (change.archive_existing && !IsActiveStage(stage)) {
    return FailedPrecondition(fmt::format(
        "Model version transition cannot archive existing model versions because '{}' is not an "
        "Active stage. Valid stages are Staging and Production.",
        StageName(stage)));
  }
  VOUCH_TRY(ValidateDescription(change.comment).WithContext("comment"));
  ModelVersion out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& moving) -> Status {
    store::Tx& tx = moving.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, change.model, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, change.version));
    bool archive_existing = change.archive_existing;
    json::value gate;
    if (LeaveGate* leave = LeaveGateOf(gate_);
        leave != nullptr && IsActiveStage(v.stage) && v.stage != stage) {
      VOUCH_TRY(leave->Leave(moving, m, v, policy::StageTarget(v.stage)));
    }
    if (gate_ != nullptr && IsActiveStage(stage) && v.stage != stage) {
      VOUCH_ASSIGN_OR_RETURN(GateAllowance allowed,
                             gate_->DirectMove(moving, m, v, policy::StageTarget(stage)));
      archive_existing = archive_existing || allowed.archive_existing;
      gate = std::move(allowed.gate);
    }
    TimeMs now = ctx.Now();
    auto move = [&](ModelVersion& target, Stage to, std::string_view why) -> Status {
      AuditEvent e = ModelEvent(ctx, Action::kVersionStageChanged, m, target.version);
      e.before = {{"stage", StageName(target.stage)}};
      e.after = {{"stage", StageName(to)}};
      if (target.version == v.version) {
        e.gate = gate;
      } else {
        MarkSuperseded(e.after, v.version);
      }
      e.comment = std::string(why);
      target.stage = to;
      target.updated_ms = now;
      VOUCH_TRY(tx.UpdateVersion(target));
      return moving.Record(std::move(e));
    };
    if (archive_existing) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> holders, tx.VersionsInStage(m.id, stage));
      for (auto& other : holders) {
        if (other.version == v.version) continue;
        VOUCH_TRY(move(
            other, Stage::kArchived,
            fmt::format("archived because version {} moved to {}", v.version, StageName(stage))));
      }
    }
    VOUCH_TRY(move(v, stage, change.comment));
    m.updated_ms = now;
    VOUCH_TRY(tx.UpdateModel(m));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

Result<ModelVersion> RegistryService::SetAlias(const RequestContext& ctx, std::string_view name,
                                               std::string_view alias, int64_t version,
                                               std::string_view comment) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateAlias(alias));
  VOUCH_TRY(ValidateVersionNumber(version));
  VOUCH_TRY(ValidateDescription(comment).WithContext("comment"));
  ModelVersion out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> old, tx.FindAlias(m.id, alias));
    json::value gate;
    if (gate_ != nullptr && (!old || *old != version)) {
      VOUCH_ASSIGN_OR_RETURN(GateAllowance allowed,
                             gate_->DirectMove(change, m, v, policy::AliasTarget(alias)));
      gate = std::move(allowed.gate);
    }
    AuditEvent e = ModelEvent(ctx, Action::kAliasSet, m, version);
    e.gate = std::move(gate);
    e.target["alias"] = alias;
    e.before = old ? json::value({{"alias", alias}, {"version", *old}}) : json::value(nullptr);
    e.after = {{"alias", alias}, {"version", version}};
    e.comment = std::string(comment);
    if (std::find(v.aliases.begin(), v.aliases.end(), alias) == v.aliases.end()) {
      v.aliases.emplace_back(alias);
      VOUCH_TRY(CheckVersionRecord(m.name, v));
    }
    VOUCH_TRY(tx.SetAlias(m.id, alias, version));
    VOUCH_TRY(change.Record(std::move(e)));
    VOUCH_ASSIGN_OR_RETURN(out, RequireVersion(tx, m, version));
    return OkStatus();
  }));
  return out;
}

Status RegistryService::DeleteAlias(const RequestContext& ctx, std::string_view name,
                                    std::string_view alias, std::string_view comment) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateAlias(alias));
  VOUCH_TRY(ValidateDescription(comment).WithContext("comment"));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, true));
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> old, tx.FindAlias(m.id, alias));
    if (!old) return change.Unchanged();
    if (LeaveGate* leave = LeaveGateOf(gate_); leave != nullptr) {
      VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, *old));
      VOUCH_TRY(leave->Leave(change, m, v, policy::AliasTarget(alias)));
    }
    AuditEvent e = ModelEvent(ctx, Action::kAliasDeleted, m, *old);
    e.target["alias"] = alias;
    e.before = {{"alias", alias}, {"version", *old}};
    e.after = nullptr;
    e.comment = std::string(comment);
    VOUCH_TRY(tx.DeleteAlias(m.id, alias));
    return change.Record(std::move(e));
  });
}

Result<ModelVersion> RegistryService::GetVersionByAlias(const RequestContext& ctx,
                                                        std::string_view name,
                                                        std::string_view alias) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateAlias(alias));
  ModelVersion out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> version, tx.FindAlias(m.id, alias));
    if (!version)
      return InvalidArgument(fmt::format("Registered model alias {} not found.", alias));
    VOUCH_ASSIGN_OR_RETURN(out, RequireVersion(tx, m, *version));
    return OkStatus();
  }));
  return out;
}

}  // namespace vouch::service
