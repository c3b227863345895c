#include "vouch/service/events.h"

#include <fmt/format.h>

#include <string>

namespace vouch::service {
namespace {

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

}  // namespace

AuditEvent NewEvent(const RequestContext& ctx, audit::Action action) {
  return EventFor(ctx, std::string(audit::ActionName(action)));
}

AuditEvent ModelEvent(const RequestContext& ctx, audit::Action action, const Model& m,
                      int64_t version) {
  AuditEvent e = NewEvent(ctx, action);
  e.model_id = m.id;
  e.model_name = m.name;
  e.version = version;
  if (version == 0) {
    e.target = {{"type", audit::TargetKindName(audit::TargetKind::kModel)}, {"model", m.name}};
  } else {
    e.target = {{"type", audit::TargetKindName(audit::TargetKind::kModelVersion)},
                {"model", m.name},
                {"version", version}};
  }
  return e;
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

json::object VersionSnapshotWithAliases(const ModelVersion& v) {
  json::object o = VersionSnapshot(v);
  json::array aliases;
  for (const auto& a : v.aliases) aliases.emplace_back(a);
  o["aliases"] = std::move(aliases);
  return o;
}

Status CheckModelRecord(const Model& m) {
  VOUCH_ASSIGN_OR_RETURN(std::string bytes, CanonicalJson(ModelSnapshot(m)));
  if (bytes.size() > kMaxRecordBytes) {
    return InvalidArgument(fmt::format(
        "model '{}' would take {} bytes in the audit log (its name, description and tags), over "
        "the limit of {} bytes for a model: shorten or remove some of its tags",
        m.name.substr(0, 64), bytes.size(), kMaxRecordBytes));
  }
  return OkStatus();
}

Status CheckVersionRecord(std::string_view model, const ModelVersion& v) {
  VOUCH_ASSIGN_OR_RETURN(std::string bytes, CanonicalJson(VersionSnapshotWithAliases(v)));
  if (bytes.size() > kMaxRecordBytes) {
    return InvalidArgument(fmt::format(
        "version {} of model '{}' would take {} bytes in the audit log (its source, description, "
        "tags, metrics, params and aliases), over the limit of {} bytes for a version: shorten or "
        "remove some of its tags, params or metrics",
        v.version, model.substr(0, 64), bytes.size(), kMaxRecordBytes));
  }
  return OkStatus();
}

json::object PrincipalSnapshot(const Principal& p) {
  return {{"name", p.name},
          {"kind", PrincipalKindName(p.kind)},
          {"display_name", p.display_name},
          {"email", p.email},
          {"is_admin", p.is_admin},
          {"disabled", p.disabled}};
}

json::object PrincipalTarget(const Principal& p) {
  return {{"type", audit::TargetKindName(audit::TargetKind::kPrincipal)},
          {"principal", p.name},
          {"id", p.id}};
}

}  // namespace vouch::service
