#include "vouch/service/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "vouch/audit/audit_log.h"

namespace vouch::service {
namespace {

constexpr int kMaxPageSize = 1000;

Status ModelNotFound(std::string_view name) {
  return NotFound(fmt::format("Registered Model with name={} not found", name));
}

Status VersionNotFound(std::string_view name, int64_t version) {
  return NotFound(fmt::format("Model Version (name={}, version={}) not found", name, version));
}

json::object StringMapJson(const StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::object MetricMapJson(const MetricMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::object ModelSnapshot(const Model& m) {
  return {{"name", m.name}, {"description", m.description}, {"tags", StringMapJson(m.tags)}};
}

json::object VersionSnapshot(const ModelVersion& v) {
  json::object o{{"source", v.source},
                 {"run_id", v.run_id},
                 {"description", v.description},
                 {"artifact_digest", v.artifact_digest},
                 {"status", v.status},
                 {"stage", StageName(v.stage)},
                 {"tags", StringMapJson(v.tags)},
                 {"metrics", MetricMapJson(v.metrics)},
                 {"params", StringMapJson(v.params)}};
  if (!v.model_ref.empty()) o["model_id"] = v.model_ref;
  if (!v.run_link.empty()) o["run_link"] = v.run_link;
  if (!v.storage_location.empty()) o["storage_location"] = v.storage_location;
  return o;
}

// An event about a model (version 0) or one of its versions.
AuditEvent NewEvent(const RequestContext& ctx, std::string action, const Model& m,
                    int64_t version = 0) {
  AuditEvent e = EventFor(ctx, std::move(action));
  e.model_id = m.id;
  e.model_name = m.name;
  e.version = version;
  if (version == 0) {
    e.target = {{"type", "model"}, {"model", m.name}};
  } else {
    e.target = {{"type", "model_version"}, {"model", m.name}, {"version", version}};
  }
  return e;
}

Status Record(store::Tx& tx, const RequestContext& ctx, AuditEvent& e) {
  return audit::Append(tx, e, ctx.Now()).status();
}

Result<ModelVersion> RequireVersion(store::Tx& tx, const Model& m, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, tx.FindVersion(m.id, version));
  if (!v) return VersionNotFound(m.name, version);
  return std::move(*v);
}

Status ValidateTags(const StringMap& tags) {
  for (const auto& [k, v] : tags) {
    VOUCH_TRY(ValidateTagKey(k));
    VOUCH_TRY(ValidateTagValue(k, v));
  }
  return OkStatus();
}

Status ValidateVersionNumber(int64_t version) {
  if (version < 1) {
    return InvalidArgument(fmt::format("version must be a positive integer, got {}", version));
  }
  return OkStatus();
}

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

}  // namespace

Status RegistryService::Authorize(const RequestContext& ctx) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  return OkStatus();
}

Result<Model> RegistryService::ModelFor(store::Tx& tx, const RequestContext& ctx,
                                        std::string_view name, Permission need,
                                        bool row_only) const {
  // The row first, so that a denied caller never has the model's details loaded for it.
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(name));
  if (!m) return ModelNotFound(name);
  VOUCH_TRY(authz_.Require(tx, ctx, *m, need));
  if (!row_only) VOUCH_TRY(tx.LoadModelDetails(*m));
  return std::move(*m);
}

Result<int> RegistryService::Limit(const PageRequest& page) const {
  if (page.limit < 1 || page.limit > kMaxPageSize) {
    return InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxPageSize, page.limit));
  }
  return page.limit;
}

Result<Model> RegistryService::CreateModel(const RequestContext& ctx, const CreateModelArgs& args) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_TRY(ValidateModelName(args.name));
  VOUCH_TRY(ValidateDescription(args.description));
  VOUCH_TRY(ValidateTags(args.tags));
  Model out;
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> existing, tx.FindModel(args.name));
    if (existing) {
      return AlreadyExists(fmt::format("Registered Model (name={}) already exists.", args.name));
    }
    TimeMs now = ctx.Now();
    Model m{.name = args.name,
            .description = args.description,
            .tags = args.tags,
            .created_ms = now,
            .updated_ms = now,
            .created_by = ctx.principal->name};
    VOUCH_TRY(tx.InsertModel(m));
    AuditEvent e = NewEvent(ctx, "model.created", m);
    e.before = nullptr;
    e.after = ModelSnapshot(m);
    VOUCH_TRY(Record(tx, ctx, e));
    if (ctx.principal->id > 0) {
      // The creator manages what it made (as in MLflow's auth app), in the same transaction.
      ModelPermission creator{.model_id = m.id,
                              .grantee = {.principal_id = ctx.principal->id},
                              .permission = Permission::kManage};
      VOUCH_TRY(tx.SetModelPermission(creator));
    }
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Result<Model> RegistryService::GetModel(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(Authorize(ctx));
  Model out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, ModelFor(tx, ctx, name, Permission::kRead, false));
    return OkStatus();
  }));
  return out;
}

Result<Page<Model>> RegistryService::ListModels(const RequestContext& ctx,
                                                const PageRequest& page) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_ASSIGN_OR_RETURN(int limit, Limit(page));
  std::string after;
  if (!page.page_token.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens_.Decode(page.page_token));
    auto it = pos.find("after_name");
    if (it == pos.end() || !it->value().is_string()) return InvalidArgument("invalid page token");
    after = std::string(it->value().get_string());
  }
  Page<Model> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.items.clear();
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    // Models the caller may not read are skipped before the page is cut, so pages stay full.
    std::string from = after;
    const int batch = std::max(limit + 1, 100);
    while (static_cast<int>(out.items.size()) <= limit) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<Model> rows, tx.ListModels(from, batch));
      if (rows.empty()) break;
      from = rows.back().name;  // before the rows are moved into the page
      for (auto& m : rows) {
        if (static_cast<int>(out.items.size()) > limit) break;
        if (readable(m.id)) out.items.push_back(std::move(m));
      }
      if (static_cast<int>(rows.size()) < batch) break;
    }
    return OkStatus();
  }));
  if (static_cast<int>(out.items.size()) > limit) {
    out.items.resize(limit);
    out.next_page_token = tokens_.Encode({{"after_name", out.items.back().name}});
  }
  return out;
}

Result<Model> RegistryService::UpdateModelDescription(const RequestContext& ctx,
                                                      std::string_view name,
                                                      std::string_view description) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateDescription(description));
  Model out;
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    AuditEvent e = NewEvent(ctx, "model.updated", m);
    e.before = {{"description", m.description}};
    m.description = std::string(description);
    m.updated_ms = ctx.Now();
    VOUCH_TRY(tx.UpdateModel(m));
    e.after = {{"description", m.description}};
    VOUCH_TRY(Record(tx, ctx, e));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Result<Model> RegistryService::RenameModel(const RequestContext& ctx, std::string_view name,
                                           std::string_view new_name) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateModelName(new_name));
  Model out;
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    if (new_name == name) {  // nothing changes, so nothing is recorded
      out = std::move(m);
      return OkStatus();
    }
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> taken, tx.FindModel(new_name));
    if (taken) {
      return AlreadyExists(fmt::format("Registered Model (name={}) already exists.", new_name));
    }
    AuditEvent e = NewEvent(ctx, "model.renamed", m);
    e.before = {{"name", m.name}};
    m.name = std::string(new_name);
    m.updated_ms = ctx.Now();
    VOUCH_TRY(tx.UpdateModel(m));
    e.after = {{"name", m.name}};
    VOUCH_TRY(Record(tx, ctx, e));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Status RegistryService::DeleteModel(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(Authorize(ctx));
  return store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, false));
    TimeMs now = ctx.Now();
    // Versions go with the model, each soft-deleted so its number stays retired.
    int64_t after = 0;
    int64_t deleted_versions = 0;
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> batch, tx.ListVersions(m.id, after, 500));
      if (batch.empty()) break;
      for (const auto& v : batch) {
        VOUCH_TRY(tx.DeleteAliasesOf(m.id, v.version).status());
        VOUCH_TRY(tx.MarkVersionDeleted(v.id, now));
        ++deleted_versions;
      }
      after = batch.back().version;
    }
    VOUCH_TRY(tx.MarkModelDeleted(m.id, now));
    AuditEvent e = NewEvent(ctx, "model.deleted", m);
    json::object before = ModelSnapshot(m);
    before["versions"] = deleted_versions;
    e.before = std::move(before);
    e.after = nullptr;
    return Record(tx, ctx, e);
  });
}

Result<Model> RegistryService::SetModelTag(const RequestContext& ctx, std::string_view name,
                                           std::string_view key, std::string_view value) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateTagKey(key));
  VOUCH_TRY(ValidateTagValue(key, value));
  Model out;
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    AuditEvent e = NewEvent(ctx, "model.tag_set", m);
    auto old = m.tags.find(std::string(key));
    e.before = old == m.tags.end() ? json::value(nullptr)
                                   : json::value({{"key", key}, {"value", old->second}});
    e.after = {{"key", key}, {"value", value}};
    VOUCH_TRY(tx.SetModelTag(m.id, key, value));
    m.tags[std::string(key)] = std::string(value);
    VOUCH_TRY(Record(tx, ctx, e));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Result<Model> RegistryService::DeleteModelTag(const RequestContext& ctx, std::string_view name,
                                              std::string_view key) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateTagKey(key));
  Model out;
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    auto old = m.tags.find(std::string(key));
    if (old == m.tags.end()) {
      out = std::move(m);
      return OkStatus();
    }
    AuditEvent e = NewEvent(ctx, "model.tag_deleted", m);
    e.before = {{"key", key}, {"value", old->second}};
    e.after = nullptr;
    VOUCH_TRY(tx.DeleteModelTag(m.id, key));
    m.tags.erase(old);
    VOUCH_TRY(Record(tx, ctx, e));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

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
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
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
                   .created_by = ctx.principal->name};
    VOUCH_TRY(tx.InsertVersion(v));
    m.last_version = v.version;
    m.updated_ms = now;
    VOUCH_TRY(tx.UpdateModel(m));
    AuditEvent e = NewEvent(ctx, "model_version.created", m, v.version);
    e.before = nullptr;
    e.after = VersionSnapshot(v);
    VOUCH_TRY(Record(tx, ctx, e));
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
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    AuditEvent e = NewEvent(ctx, "model_version.updated", m, version);
    e.before = {{"description", v.description}};
    v.description = std::string(description);
    v.updated_ms = ctx.Now();
    VOUCH_TRY(tx.UpdateVersion(v));
    e.after = {{"description", v.description}};
    VOUCH_TRY(Record(tx, ctx, e));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

Status RegistryService::DeleteVersion(const RequestContext& ctx, std::string_view name,
                                      int64_t version) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateVersionNumber(version));
  return store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    TimeMs now = ctx.Now();
    VOUCH_TRY(tx.DeleteAliasesOf(m.id, version).status());
    VOUCH_TRY(tx.MarkVersionDeleted(v.id, now));
    m.updated_ms = now;
    VOUCH_TRY(tx.UpdateModel(m));
    AuditEvent e = NewEvent(ctx, "model_version.deleted", m, version);
    json::object before = VersionSnapshot(v);
    json::array aliases;
    for (const auto& a : v.aliases) aliases.emplace_back(a);
    before["aliases"] = std::move(aliases);
    e.before = std::move(before);
    e.after = nullptr;
    return Record(tx, ctx, e);
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
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    AuditEvent e = NewEvent(ctx, fmt::format("model_version.{}_set", FieldName(field)), m, version);
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
    e.before = old.is_null() ? json::value(nullptr) : json::value({{"key", k}, {"value", old}});
    e.after = {{"key", k}, {"value", now_value}};
    VOUCH_TRY(Record(tx, ctx, e));
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
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
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
      return OkStatus();
    }
    AuditEvent e =
        NewEvent(ctx, fmt::format("model_version.{}_deleted", FieldName(field)), m, version);
    e.before = {{"key", k}, {"value", old}};
    e.after = nullptr;
    VOUCH_TRY(Record(tx, ctx, e));
    out = std::move(v);
    return OkStatus();
  }));
  return out;
}

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
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, change.model, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, change.version));
    TimeMs now = ctx.Now();
    auto move = [&](ModelVersion& target, Stage to, std::string_view why) -> Status {
      AuditEvent e = NewEvent(ctx, "model_version.stage_changed", m, target.version);
      e.before = {{"stage", StageName(target.stage)}};
      e.after = {{"stage", StageName(to)}};
      e.comment = std::string(why);
      target.stage = to;
      target.updated_ms = now;
      VOUCH_TRY(tx.UpdateVersion(target));
      return Record(tx, ctx, e);
    };
    if (change.archive_existing) {
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
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> old, tx.FindAlias(m.id, alias));
    AuditEvent e = NewEvent(ctx, "model_alias.set", m, version);
    e.target["alias"] = alias;
    e.before = old ? json::value({{"alias", alias}, {"version", *old}}) : json::value(nullptr);
    e.after = {{"alias", alias}, {"version", version}};
    e.comment = std::string(comment);
    VOUCH_TRY(tx.SetAlias(m.id, alias, version));
    VOUCH_TRY(Record(tx, ctx, e));
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
  return store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, true));
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> old, tx.FindAlias(m.id, alias));
    if (!old) return OkStatus();
    AuditEvent e = NewEvent(ctx, "model_alias.deleted", m, *old);
    e.target["alias"] = alias;
    e.before = {{"alias", alias}, {"version", *old}};
    e.after = nullptr;
    e.comment = std::string(comment);
    VOUCH_TRY(tx.DeleteAlias(m.id, alias));
    return Record(tx, ctx, e);
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

Result<Page<std::string>> RegistryService::ListAudit(const RequestContext& ctx,
                                                     const AuditQuery& q) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_ASSIGN_OR_RETURN(int limit, Limit(q.page));
  if (q.version != 0 && q.model.empty()) {
    return InvalidArgument("filtering by version needs a model");
  }
  if (q.version < 0) return InvalidArgument("version must be a positive integer");
  store::AuditFilter f{.model = q.model,
                       .version = q.version,
                       .actor = q.actor,
                       .action = q.action,
                       .since_ms = q.since_ms,
                       .until_ms = q.until_ms,
                       .limit = limit + 1};
  if (!q.page.page_token.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens_.Decode(q.page.page_token));
    auto it = pos.find("after_seq");
    if (it == pos.end() || !it->value().is_int64()) return InvalidArgument("invalid page token");
    f.after_seq = it->value().get_int64();
  }
  std::vector<store::StoredAuditEvent> events;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    // The whole log is for admins and auditors; anyone else reads the history of a model it may
    // read, by naming it. For them the name means that model (its id: its events since it was
    // created, across renames), never an earlier model that had the name, which their grant on
    // this one does not cover.
    if (!Authorizer::MayReadWholeAudit(ctx)) {
      if (q.model.empty()) {
        return PermissionDenied(
            "reading the whole audit log needs the admin or auditor role; filter by a model you "
            "may read");
      }
      VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, q.model, Permission::kRead, true));
      f.model.clear();
      f.model_id = m.id;
    }
    VOUCH_ASSIGN_OR_RETURN(events, tx.ListAuditEvents(f));
    return OkStatus();
  }));
  Page<std::string> out;
  if (static_cast<int>(events.size()) > limit) {
    events.resize(limit);
    out.next_page_token = tokens_.Encode({{"after_seq", events.back().seq}});
  }
  out.items.reserve(events.size());
  for (auto& e : events) out.items.push_back(std::move(e.body));
  return out;
}

}  // namespace vouch::service
