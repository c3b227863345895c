#include "vouch/service/registry.h"

#include <fmt/format.h>

#include <charconv>

#include "vouch/audit/actions.h"
#include "vouch/service/events.h"
#include "vouch/service/lookups.h"
#include "vouch/service/registry_internal.h"

namespace vouch::service {

using audit::Action;
using registry_internal::ValidateTags;
using registry_internal::ValidateVersionNumber;

namespace {

std::string_view FieldName(VersionField f) {
  switch (f) {
    case VersionField::kTag:
      return "tag";
    case VersionField::kMetric:
      return "metric";
    case VersionField::kParam:
      return "param";
  }
  return "tag";
}

Action SetAction(VersionField f) {
  switch (f) {
    case VersionField::kTag:
      return Action::kVersionTagSet;
    case VersionField::kMetric:
      return Action::kVersionMetricSet;
    case VersionField::kParam:
      return Action::kVersionParamSet;
  }
  return Action::kVersionTagSet;
}

Action DeletedAction(VersionField f) {
  switch (f) {
    case VersionField::kTag:
      return Action::kVersionTagDeleted;
    case VersionField::kMetric:
      return Action::kVersionMetricDeleted;
    case VersionField::kParam:
      return Action::kVersionParamDeleted;
  }
  return Action::kVersionTagDeleted;
}

}  // namespace

Result<RegistryService::ResolvedSource> RegistryService::ResolveSource(
    store::Tx& tx, const RequestContext& ctx, const CreateVersionArgs& args,
    const std::optional<ModelsRef>& ref) {
  ResolvedSource out{.source = args.source, .run_id = args.run_id, .model_ref = args.model_ref};
  if (!ref || ref->kind == ModelsRefKind::kModelId) return out;
  // handlers.py: _resolve_registered_model_source_lineage. READ on the referenced model comes
  // before anything about its versions or aliases is read.
  VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, ref->name, Permission::kRead,
                                           /*row_only=*/ref->kind != ModelsRefKind::kLatest));
  std::optional<int64_t> number;
  switch (ref->kind) {
    case ModelsRefKind::kVersion: {
      int64_t n = 0;
      const std::string& digits = ref->selector;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc() || end != digits.data() + digits.size()) {
        return NotFound(
            fmt::format("Model Version (name={}, version={}) not found", ref->name, digits));
      }
      number = n;
      break;
    }
    case ModelsRefKind::kLatest:
      number = m.latest_live_version;
      if (!number) {
        return NotFound(fmt::format("No versions of model with name '{}' found", ref->name));
      }
      break;
    case ModelsRefKind::kStage: {
      VOUCH_ASSIGN_OR_RETURN(Stage stage, ParseStage(ref->selector));
      VOUCH_ASSIGN_OR_RETURN(auto latest, tx.LatestVersionPerStage(m.id));
      for (const auto& [s, v] : latest) {
        if (s == stage) number = v;
      }
      if (!number) {
        return NotFound(fmt::format("No versions of model with name '{}' and stage '{}' found",
                                    ref->name, ref->selector));
      }
      break;
    }
    case ModelsRefKind::kAlias: {
      VOUCH_ASSIGN_OR_RETURN(number, tx.FindAlias(m.id, ref->selector));
      if (!number) {
        return InvalidArgument(fmt::format("Registered model alias {} not found.", ref->selector));
      }
      break;
    }
    case ModelsRefKind::kModelId:
      break;
  }
  VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, *number));
  const bool run_id_given = args.run_id_given || !args.run_id.empty();
  const bool model_ref_given = args.model_ref_given || !args.model_ref.empty();
  if ((run_id_given && args.run_id != v.run_id) ||
      (model_ref_given && args.model_ref != v.model_ref)) {
    return LineageMismatch(args.source);
  }
  out.source = fmt::format("models:/{}/{}", ref->name, v.version);
  if (!run_id_given) out.run_id = v.run_id;
  if (!model_ref_given) out.model_ref = v.model_ref;
  out.storage_location = v.storage_location.empty() ? v.source : v.storage_location;
  VOUCH_TRY(CheckSourceLineage(out.source, out.run_id, out.model_ref));
  return out;
}

Result<ModelVersion> RegistryService::CreateVersion(const RequestContext& ctx,
                                                    const CreateVersionArgs& args) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateModelName(args.model));
  VOUCH_TRY(ValidateSource(args.source));
  VOUCH_TRY(ValidateRunId(args.run_id));
  VOUCH_TRY(ValidateSource(args.run_link.empty() ? "-" : args.run_link).WithContext("run_link"));
  VOUCH_TRY(ValidateRunId(args.model_ref).WithContext("model_id"));
  VOUCH_TRY(ValidateDescription(args.description));
  if (!args.artifact_digest.empty()) VOUCH_TRY(ValidateArtifactDigest(args.artifact_digest));
  VOUCH_TRY(ValidateTags(args.tags));
  for (const auto& [k, v] : args.metrics) VOUCH_TRY(ValidateMetric(k, v));
  for (const auto& [k, v] : args.params) VOUCH_TRY(ValidateParam(k, v));
  // What needs no store is checked before the transaction; a models:/NAME/... source once its
  // version is known, inside it.
  VOUCH_ASSIGN_OR_RETURN(std::optional<ModelsRef> ref, ParseModelsSource(args.source));
  if (!ref || ref->kind == ModelsRefKind::kModelId) {
    VOUCH_TRY(CheckSourceLineage(args.source, args.run_id, args.model_ref));
  }
  ModelVersion out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, args.model, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ResolvedSource resolved, ResolveSource(tx, ctx, args, ref));
    TimeMs now = ctx.Now();
    ModelVersion v{.model_id = m.id,
                   .model_name = m.name,
                   .version = m.last_version + 1,
                   .source = std::move(resolved.source),
                   .run_id = std::move(resolved.run_id),
                   .run_link = args.run_link,
                   .model_ref = std::move(resolved.model_ref),
                   .description = args.description,
                   .artifact_digest = args.artifact_digest,
                   .storage_location = std::move(resolved.storage_location),
                   .tags = args.tags,
                   .metrics = args.metrics,
                   .params = args.params,
                   .created_ms = now,
                   .updated_ms = now,
                   .created_by = ctx.principal->name,
                   .created_by_id = ctx.principal->id};
    VOUCH_TRY(CheckVersionRecord(m.name, v));
    VOUCH_TRY(tx.InsertVersion(v));
    m.last_version = v.version;
    m.updated_ms = now;
    VOUCH_TRY(tx.UpdateModel(m));
    AuditEvent e = ModelEvent(ctx, Action::kVersionCreated, m, v.version);
    e.before = nullptr;
    e.after = VersionSnapshot(v);
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

Result<ModelVersion> RegistryService::GetVersion(const RequestContext& ctx, std::string_view name,
                                                 int64_t version) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(version));
  ModelVersion out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(out, RequireVersion(tx, m, version));
    return OkStatus();
  }));
  return out;
}

Result<Page<ModelVersion>> RegistryService::ListVersions(const RequestContext& ctx,
                                                         std::string_view name,
                                                         const PageRequest& page) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_ASSIGN_OR_RETURN(int limit, Limit(page));
  int64_t after = 0;
  if (!page.page_token.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens_.Decode(page.page_token));
    auto it = pos.find("after_version");
    if (it == pos.end() || !it->value().is_int64()) return InvalidArgument("invalid page token");
    after = it->value().get_int64();
  }
  Page<ModelVersion> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(out.items, tx.ListVersions(m.id, after, limit + 1));
    return OkStatus();
  }));
  if (static_cast<int>(out.items.size()) > limit) {
    out.items.resize(limit);
    out.next_page_token = tokens_.Encode({{"after_version", out.items.back().version}});
  }
  return out;
}

Result<ModelVersion> RegistryService::UpdateVersionDescription(const RequestContext& ctx,
                                                               std::string_view name,
                                                               int64_t version,
                                                               std::string_view description) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(version));
  VOUCH_TRY(ValidateDescription(description));
  ModelVersion out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    AuditEvent e = ModelEvent(ctx, Action::kVersionUpdated, m, version);
    e.before = {{"description", v.description}};
    v.description = std::string(description);
    VOUCH_TRY(CheckVersionRecord(m.name, v));
    v.updated_ms = ctx.Now();
    VOUCH_TRY(tx.UpdateVersion(v));
    e.after = {{"description", v.description}};
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

Status RegistryService::DeleteVersion(const RequestContext& ctx, std::string_view name,
                                      int64_t version) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(version));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    if (gate_ != nullptr) VOUCH_TRY(gate_->Removal(change, m, version));
    TimeMs now = ctx.Now();
    VOUCH_TRY(tx.DeleteAliasesOf(m.id, version).status());
    VOUCH_TRY(tx.MarkVersionDeleted(v.id, now));
    m.updated_ms = now;
    VOUCH_TRY(tx.UpdateModel(m));
    AuditEvent e = ModelEvent(ctx, Action::kVersionDeleted, m, version);
    e.before = VersionSnapshotWithAliases(v);
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

Result<ModelVersion> RegistryService::SetVersionField(const RequestContext& ctx, VersionField field,
                                                      std::string_view name, int64_t version,
                                                      std::string_view key, std::string_view value,
                                                      double metric) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(version));
  switch (field) {
    case VersionField::kTag:
      VOUCH_TRY(ValidateTagKey(key));
      VOUCH_TRY(ValidateTagValue(key, value));
      break;
    case VersionField::kMetric:
      VOUCH_TRY(ValidateMetric(key, metric));
      break;
    case VersionField::kParam:
      VOUCH_TRY(ValidateParam(key, value));
      break;
  }
  ModelVersion out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    AuditEvent e = ModelEvent(ctx, SetAction(field), m, version);
    std::string k(key);
    json::value old = nullptr;
    json::value now_value;
    switch (field) {
      case VersionField::kTag:
        if (auto it = v.tags.find(k); it != v.tags.end()) old = json::value(it->second);
        VOUCH_TRY(tx.SetVersionTag(v.id, key, value));
        v.tags[k] = std::string(value);
        now_value = value;
        break;
      case VersionField::kMetric:
        if (auto it = v.metrics.find(k); it != v.metrics.end()) old = json::value(it->second);
        VOUCH_TRY(tx.SetVersionMetric(v.id, key, metric));
        v.metrics[k] = metric;
        now_value = metric;
        break;
      case VersionField::kParam:
        if (auto it = v.params.find(k); it != v.params.end()) old = json::value(it->second);
        VOUCH_TRY(tx.SetVersionParam(v.id, key, value));
        v.params[k] = std::string(value);
        now_value = value;
        break;
    }
    VOUCH_TRY(CheckVersionRecord(m.name, v));
    e.before = old.is_null() ? json::value(nullptr) : json::value({{"key", k}, {"value", old}});
    e.after = {{"key", k}, {"value", now_value}};
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

Result<ModelVersion> RegistryService::DeleteVersionField(const RequestContext& ctx,
                                                         VersionField field, std::string_view name,
                                                         int64_t version, std::string_view key) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(version));
  if (key.empty())
    return InvalidArgument(fmt::format("{} key must not be empty", FieldName(field)));
  ModelVersion out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    std::string k(key);
    json::value old;
    bool found = false;
    switch (field) {
      case VersionField::kTag:
        if (auto it = v.tags.find(k); it != v.tags.end()) {
          old = json::value(it->second);
          v.tags.erase(it);
          found = true;
          VOUCH_TRY(tx.DeleteVersionTag(v.id, key));
        }
        break;
      case VersionField::kMetric:
        if (auto it = v.metrics.find(k); it != v.metrics.end()) {
          old = json::value(it->second);
          v.metrics.erase(it);
          found = true;
          VOUCH_TRY(tx.DeleteVersionMetric(v.id, key));
        }
        break;
      case VersionField::kParam:
        if (auto it = v.params.find(k); it != v.params.end()) {
          old = json::value(it->second);
          v.params.erase(it);
          found = true;
          VOUCH_TRY(tx.DeleteVersionParam(v.id, key));
        }
        break;
    }
    if (!found) {
      out = std::move(v);
      return change.Unchanged();
    }
    AuditEvent e = ModelEvent(ctx, DeletedAction(field), m, version);
    e.before = {{"key", k}, {"value", old}};
    e.after = nullptr;
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

}  // namespace vouch::service
