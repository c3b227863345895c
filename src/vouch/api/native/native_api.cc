#include "vouch/api/native/native_api.h"

#include <fmt/format.h>

#include <memory>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_error.h"
#include "vouch/util/json.h"
#include "vouch/util/json_writer.h"

namespace vouch::api::native {
namespace {

using service::RegistryService;
using service::VersionField;

Result<int64_t> VersionParam(const Call& c) { return ParseInt("version", c.path.at("n")); }

Result<service::PageRequest> PageParams(const Call& c) {
  service::PageRequest page;
  if (const auto* limit = c.query.First("limit")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t l, ParseInt("limit", *limit));
    if (l < 1 || l > 1000) {
      return InvalidArgument(fmt::format("limit must be between 1 and 1000, got {}", l));
    }
    page.limit = static_cast<int>(l);
  }
  if (const auto* token = c.query.First("page_token")) {
    // Present but empty is no token the server issued (it issues none empty), not "no token".
    if (token->empty()) return InvalidArgument("invalid page token: it is empty");
    page.page_token = *token;
  }
  return page;
}

StringMap ToStringMap(const std::optional<json::object>& o) {
  StringMap m;
  if (o) {
    for (const auto& kv : *o) m.emplace(kv.key(), kv.value().get_string());
  }
  return m;
}

void WriteStringMap(JsonWriter& w, const StringMap& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) {
    w.DataKey(k);
    w.String(v);
  }
  w.EndObject();
}

// Room for a version's or a model's JSON with short fields, so that most bodies are written
// without the string growing.
constexpr size_t kItemBytes = 384;

// A body of `items` written by `write_item`, as the array `key` with the page's next token.
template <typename T, typename WriteItem>
HttpResponse PageBody(JsonKey key, const service::Page<T>& page, const WriteItem& write_item) {
  std::string body;
  body.reserve((page.items.size() + 1) * kItemBytes);
  JsonWriter w(body);
  w.BeginObject();
  w.Key(key);
  w.BeginArray();
  for (const T& item : page.items) write_item(w, item);
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return HttpResponse::Json(200, std::move(body));
}

HttpResponse ModelPage(const service::Page<Model>& page) {
  return PageBody("models", page, [](JsonWriter& w, const Model& m) { WriteModel(w, m); });
}

template <typename T, typename WriteItem>
Result<HttpResponse> ItemResult(const Result<T>& item, int status, const WriteItem& write_item) {
  if (!item.ok()) return item.status();
  std::string body;
  body.reserve(kItemBytes);
  JsonWriter w(body);
  write_item(w, *item);
  return HttpResponse::Json(status, std::move(body));
}

Result<HttpResponse> VersionResult(const Result<ModelVersion>& v, int status = 200) {
  return ItemResult(v, status, [](JsonWriter& w, const ModelVersion& x) { WriteVersion(w, x); });
}

Result<HttpResponse> ModelResult(const Result<Model>& m, int status = 200) {
  return ItemResult(m, status, [](JsonWriter& w, const Model& x) { WriteModel(w, x); });
}

Result<std::optional<TimeMs>> TimeParam(const Call& c, std::string_view key) {
  const auto* v = c.query.First(key);
  if (v == nullptr) return std::optional<TimeMs>();
  VOUCH_ASSIGN_OR_RETURN(TimeMs t, ParseRfc3339(*v));
  return std::optional<TimeMs>(t);
}

// The state the native endpoints read besides the request.
struct Deps {
  RegistryService& reg;
  std::function<Status()> ready;
  service::IdentityService* identity;  // null: whoami leaves groups out
};

using NativeHandler = Result<HttpResponse> (*)(const Deps&, const Call&);

// Probes.

Result<HttpResponse> Health(const Deps&, const Call&) { return Ok({{"status", "ok"}}); }

Result<HttpResponse> Ready(const Deps& d, const Call& c) {
  // The store's reason is meant for anyone (no paths or hosts): rendered as it is, not replaced
  // by the generic 503 message, so a load balancer's log says why.
  Status s = d.ready();
  if (!s.ok()) return NativeError(Unavailable("not ready: " + s.message()), c.ctx);
  return Ok({{"status", "ready"}});
}

Result<HttpResponse> Whoami(const Deps& d, const Call& c) { return WhoamiResult(c, d.identity); }

// Models.

Result<HttpResponse> CreateModel(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"name", "description", "tags"}));
  service::CreateModelArgs args;
  VOUCH_ASSIGN_OR_RETURN(args.name, RequiredString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
  VOUCH_ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags"));
  args.description = description.value_or("");
  args.tags = ToStringMap(tags);
  return ModelResult(d.reg.CreateModel(c.ctx, args), 201);
}

Result<HttpResponse> ListModels(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(service::PageRequest page, PageParams(c));
  VOUCH_ASSIGN_OR_RETURN(service::Page<Model> models, d.reg.ListModels(c.ctx, page));
  return ModelPage(models);
}

Result<HttpResponse> GetModel(const Deps& d, const Call& c) {
  return ModelResult(d.reg.GetModel(c.ctx, c.path.at("name")));
}

Result<HttpResponse> UpdateModel(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"description"}));
  VOUCH_ASSIGN_OR_RETURN(std::string description, RequiredString(body, "description"));
  return ModelResult(d.reg.UpdateModelDescription(c.ctx, c.path.at("name"), description));
}

Result<HttpResponse> RenameModel(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"new_name"}));
  VOUCH_ASSIGN_OR_RETURN(std::string new_name, RequiredString(body, "new_name"));
  return ModelResult(d.reg.RenameModel(c.ctx, c.path.at("name"), new_name));
}

Result<HttpResponse> DeleteModel(const Deps& d, const Call& c) {
  return Empty(d.reg.DeleteModel(c.ctx, c.path.at("name")));
}

Result<HttpResponse> SetModelTag(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"value"}));
  VOUCH_ASSIGN_OR_RETURN(std::string value, RequiredString(body, "value"));
  return ModelResult(d.reg.SetModelTag(c.ctx, c.path.at("name"), c.path.at("key"), value));
}

Result<HttpResponse> DeleteModelTag(const Deps& d, const Call& c) {
  return ModelResult(d.reg.DeleteModelTag(c.ctx, c.path.at("name"), c.path.at("key")));
}

// Versions.

Result<HttpResponse> CreateVersion(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body,
                         Body(c, {"source", "run_id", "model_id", "description", "tags", "metrics",
                                  "params", "artifact_digest"}));
  service::CreateVersionArgs args;
  args.model = c.path.at("name");
  VOUCH_ASSIGN_OR_RETURN(args.source, RequiredString(body, "source"));
  VOUCH_ASSIGN_OR_RETURN(auto run_id, OptionalString(body, "run_id"));
  VOUCH_ASSIGN_OR_RETURN(auto model_id, OptionalString(body, "model_id"));
  VOUCH_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
  VOUCH_ASSIGN_OR_RETURN(auto digest, OptionalString(body, "artifact_digest"));
  VOUCH_ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags"));
  VOUCH_ASSIGN_OR_RETURN(auto params, OptionalStringMap(body, "params"));
  VOUCH_ASSIGN_OR_RETURN(auto metrics, OptionalNumberMap(body, "metrics"));
  args.run_id = run_id.value_or("");
  args.run_id_given = run_id.has_value();
  args.model_ref = model_id.value_or("");
  args.model_ref_given = model_id.has_value();
  args.description = description.value_or("");
  args.artifact_digest = digest.value_or("");
  args.tags = ToStringMap(tags);
  args.params = ToStringMap(params);
  if (metrics) {
    for (const auto& kv : *metrics) args.metrics.emplace(kv.key(), kv.value().to_number<double>());
  }
  return VersionResult(d.reg.CreateVersion(c.ctx, args), 201);
}

Result<HttpResponse> ListVersions(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(service::PageRequest page, PageParams(c));
  VOUCH_ASSIGN_OR_RETURN(auto versions, d.reg.ListVersions(c.ctx, c.path.at("name"), page));
  return PageBody("versions", versions,
                  [](JsonWriter& w, const ModelVersion& v) { WriteVersion(w, v); });
}

Result<HttpResponse> GetVersion(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  return VersionResult(d.reg.GetVersion(c.ctx, c.path.at("name"), n));
}

Result<HttpResponse> UpdateVersion(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"description"}));
  VOUCH_ASSIGN_OR_RETURN(std::string description, RequiredString(body, "description"));
  return VersionResult(d.reg.UpdateVersionDescription(c.ctx, c.path.at("name"), n, description));
}

Result<HttpResponse> DeleteVersion(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  return Empty(d.reg.DeleteVersion(c.ctx, c.path.at("name"), n));
}

// PUT .../{tags|metrics|params}/{key}.
template <VersionField kField>
Result<HttpResponse> SetVersionField(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"value"}));
  const std::string& key = c.path.at("key");
  if constexpr (kField == VersionField::kMetric) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<double> value, OptionalNumber(body, "value"));
    if (!value) return InvalidArgument("missing required field 'value'");
    return VersionResult(
        d.reg.SetVersionField(c.ctx, kField, c.path.at("name"), n, key, "", *value));
  } else {
    VOUCH_ASSIGN_OR_RETURN(std::string value, RequiredString(body, "value"));
    return VersionResult(d.reg.SetVersionField(c.ctx, kField, c.path.at("name"), n, key, value));
  }
}

// DELETE .../{tags|metrics|params}/{key}.
template <VersionField kField>
Result<HttpResponse> DeleteVersionField(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  return VersionResult(
      d.reg.DeleteVersionField(c.ctx, kField, c.path.at("name"), n, c.path.at("key")));
}

Result<HttpResponse> SetStage(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"stage", "archive_existing", "comment"}));
  service::StageChange change{.model = c.path.at("name"), .version = n};
  VOUCH_ASSIGN_OR_RETURN(change.stage, RequiredString(body, "stage"));
  VOUCH_ASSIGN_OR_RETURN(auto archive, OptionalBool(body, "archive_existing"));
  VOUCH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
  change.archive_existing = archive.value_or(false);
  change.comment = comment.value_or("");
  return VersionResult(d.reg.SetStage(c.ctx, change));
}

// Aliases.

Result<HttpResponse> SetAlias(const Deps& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"version", "comment"}));
  VOUCH_ASSIGN_OR_RETURN(auto version, OptionalInt(body, "version"));
  if (!version) return InvalidArgument("missing required field 'version'");
  VOUCH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
  return VersionResult(
      d.reg.SetAlias(c.ctx, c.path.at("name"), c.path.at("alias"), *version, comment.value_or("")));
}

Result<HttpResponse> GetAlias(const Deps& d, const Call& c) {
  return VersionResult(d.reg.GetVersionByAlias(c.ctx, c.path.at("name"), c.path.at("alias")));
}

Result<HttpResponse> DeleteAlias(const Deps& d, const Call& c) {
  std::string comment;
  if (const auto* cm = c.query.First("comment")) comment = *cm;
  return Empty(d.reg.DeleteAlias(c.ctx, c.path.at("name"), c.path.at("alias"), comment));
}

// Audit.

Result<HttpResponse> ListAudit(const Deps& d, const Call& c) {
  service::AuditQuery q;
  VOUCH_ASSIGN_OR_RETURN(q.page, PageParams(c));
  if (const auto* v = c.query.First("model")) q.model = *v;
  if (const auto* v = c.query.First("actor")) q.actor = *v;
  if (const auto* v = c.query.First("action")) q.action = *v;
  if (const auto* v = c.query.First("outcome")) q.outcome = *v;
  if (const auto* v = c.query.First("version")) {
    VOUCH_ASSIGN_OR_RETURN(q.version, ParseInt("version", *v));
    if (q.version < 1) return InvalidArgument("version must be at least 1");
  }
  if (const auto* v = c.query.First("request")) {
    VOUCH_ASSIGN_OR_RETURN(q.request_id, ParseInt("request", *v));
    if (q.request_id < 1) return InvalidArgument("request must be at least 1");
  }
  if (const auto* v = c.query.First("order")) {
    if (*v != "asc" && *v != "desc") {
      return InvalidArgument(
          fmt::format("order must be 'asc' or 'desc', got '{}'", v->substr(0, 64)));
    }
    q.newest_first = *v == "desc";
  }
  VOUCH_ASSIGN_OR_RETURN(q.since_ms, TimeParam(c, "since"));
  VOUCH_ASSIGN_OR_RETURN(q.until_ms, TimeParam(c, "until"));
  VOUCH_ASSIGN_OR_RETURN(service::Page<std::string> page, d.reg.ListAudit(c.ctx, q));
  // The stored canonical bytes are spliced in as they are: what the log holds is what is served.
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += page.items[i];
  }
  body.push_back(']');
  if (!page.next_page_token.empty()) {
    body += ",\"next_page_token\":" + SerializeJson(json::value(page.next_page_token));
  }
  body.push_back('}');
  return HttpResponse::Json(200, std::move(body));
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  NativeHandler handler;
};

// The probes, outside kPrefix.
constexpr Endpoint kProbes[] = {
    {"GET", "/health", Access::kPublic, Health},
    {"GET", "/ready", Access::kPublic, Ready},
};

// Each route declares what RegistryService demands of the caller for it (the Permission of its
// ModelFor call); the service enforces it, the declaration documents it and is tested against
// docs/openapi.yaml's x-vouch-access. Paths below kPrefix; their order is the Allow header's.
constexpr Endpoint kEndpoints[] = {
    {"GET", "/whoami", Access::kAuthenticated, Whoami},
    // Models.
    {"POST", "/models", Access::kAuthenticated, CreateModel},
    {"GET", "/models", Access::kAuthenticated, ListModels},
    {"GET", "/models/{name}", Access::kModelRead, GetModel},
    {"PATCH", "/models/{name}", Access::kModelEdit, UpdateModel},
    {"POST", "/models/{name}/rename", Access::kModelEdit, RenameModel},
    {"DELETE", "/models/{name}", Access::kModelManage, DeleteModel},
    {"PUT", "/models/{name}/tags/{key}", Access::kModelEdit, SetModelTag},
    {"DELETE", "/models/{name}/tags/{key}", Access::kModelEdit, DeleteModelTag},
    // Versions.
    {"POST", "/models/{name}/versions", Access::kModelEdit, CreateVersion},
    {"GET", "/models/{name}/versions", Access::kModelRead, ListVersions},
    {"GET", "/models/{name}/versions/{n}", Access::kModelRead, GetVersion},
    {"PATCH", "/models/{name}/versions/{n}", Access::kModelEdit, UpdateVersion},
    {"DELETE", "/models/{name}/versions/{n}", Access::kModelManage, DeleteVersion},
    {"PUT", "/models/{name}/versions/{n}/tags/{key}", Access::kModelEdit,
     SetVersionField<VersionField::kTag>},
    {"DELETE", "/models/{name}/versions/{n}/tags/{key}", Access::kModelManage,
     DeleteVersionField<VersionField::kTag>},
    {"PUT", "/models/{name}/versions/{n}/metrics/{key}", Access::kModelEdit,
     SetVersionField<VersionField::kMetric>},
    {"DELETE", "/models/{name}/versions/{n}/metrics/{key}", Access::kModelManage,
     DeleteVersionField<VersionField::kMetric>},
    {"PUT", "/models/{name}/versions/{n}/params/{key}", Access::kModelEdit,
     SetVersionField<VersionField::kParam>},
    {"DELETE", "/models/{name}/versions/{n}/params/{key}", Access::kModelManage,
     DeleteVersionField<VersionField::kParam>},
    {"POST", "/models/{name}/versions/{n}/stage", Access::kModelEdit, SetStage},
    // Aliases.
    {"PUT", "/models/{name}/aliases/{alias}", Access::kModelEdit, SetAlias},
    {"GET", "/models/{name}/aliases/{alias}", Access::kModelRead, GetAlias},
    {"DELETE", "/models/{name}/aliases/{alias}", Access::kModelManage, DeleteAlias},
    // Audit.
    {"GET", "/audit", Access::kAuthenticated, ListAudit},
};

}  // namespace

void WriteModel(JsonWriter& w, const Model& m) {
  w.BeginObject();
  w.Field("name", m.name);
  w.Field("description", m.description);
  w.Key("tags");
  WriteStringMap(w, m.tags);
  w.Field("creation_timestamp", m.created_ms);
  w.Field("last_updated_timestamp", m.updated_ms);
  w.Field("created_by", m.created_by);
  if (m.latest_live_version) w.Field("latest_version", *m.latest_live_version);
  w.EndObject();
}

void WriteVersion(JsonWriter& w, const ModelVersion& v) {
  w.BeginObject();
  w.Field("model", v.model_name);
  w.Field("version", v.version);
  w.Field("source", v.source);
  w.Field("run_id", v.run_id);
  w.Field("description", v.description);
  w.Key("tags");
  WriteStringMap(w, v.tags);
  w.Key("metrics");
  w.BeginObject();
  for (const auto& [k, value] : v.metrics) {
    w.DataKey(k);
    w.Double(value);
  }
  w.EndObject();
  w.Key("params");
  WriteStringMap(w, v.params);
  w.Field("status", v.status);
  w.Field("stage", StageName(v.stage));
  w.Key("aliases");
  w.BeginArray();
  for (const auto& a : v.aliases) w.String(a);
  w.EndArray();
  w.Field("creation_timestamp", v.created_ms);
  w.Field("last_updated_timestamp", v.updated_ms);
  w.Field("created_by", v.created_by);
  if (!v.model_ref.empty()) w.Field("model_id", v.model_ref);
  if (!v.artifact_digest.empty()) w.Field("artifact_digest", v.artifact_digest);
  w.EndObject();
}

void RegisterMetricsRoute(Router& router,
                          std::function<std::vector<store::StoreMetric>()> metrics) {
  router.Add("GET", "/metrics", Access::kAuthenticated, Door::kNative,
             [metrics](const Call&) -> Result<HttpResponse> {
               std::string text;
               for (const auto& m : metrics()) {
                 text += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", m.name, m.help,
                                     m.type, m.value);
               }
               HttpResponse r;
               r.content_type = "text/plain; version=0.0.4";
               r.body = std::move(text);
               return r;
             });
}

void RegisterRoutes(Router& router, RegistryService& reg, std::function<Status()> ready,
                    service::IdentityService* identity) {
  router.AddDoor(NativeDoor());
  // Shared by the routes' handlers, so it lives as long as the router's copies of them.
  auto deps = std::make_shared<const Deps>(Deps{reg, std::move(ready), identity});
  auto add = [&](const Endpoint& e, std::string path) {
    NativeHandler handler = e.handler;
    router.Add(std::string(e.method), std::move(path), e.access, Door::kNative,
               [deps, handler](const Call& c) { return handler(*deps, c); });
  };
  for (const Endpoint& e : kProbes) add(e, std::string(e.path));
  for (const Endpoint& e : kEndpoints) add(e, fmt::format("{}{}", kPrefix, e.path));
  if (identity != nullptr) RegisterIdentityRoutes(router, *identity);
}

}  // namespace vouch::api::native
