#include "vouch/api/mlflow/mlflow_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include "vouch/api/error_table.h"
#include "vouch/api/mlflow/request_fields.h"
#include "vouch/api/mlflow/search_filter.h"
#include "vouch/util/json.h"
#include "vouch/util/json_writer.h"

namespace vouch::api::mlflow {
namespace {

using service::RegistryService;

constexpr std::string_view kPrefixes[] = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};

// The defaults of MLflow's protos (model_registry.proto) and of its SQL store.
constexpr int64_t kDefaultModelResults = 100;
constexpr int64_t kDefaultVersionResults = 200000;

constexpr FieldSpec kName{"name", FieldType::kString, true};
constexpr FieldSpec kVersion{"version", FieldType::kString, true};
constexpr FieldSpec kAlias{"alias", FieldType::kString, true};
constexpr FieldSpec kKey{"key", FieldType::kString, true};
constexpr FieldSpec kValue{"value", FieldType::kString};
constexpr FieldSpec kDescription{"description", FieldType::kString};
constexpr FieldSpec kTags{"tags", FieldType::kTags};
constexpr FieldSpec kFilter{"filter", FieldType::kString};
constexpr FieldSpec kMaxResults{"max_results", FieldType::kInt64};
constexpr FieldSpec kOrderBy{"order_by", FieldType::kStringList};
constexpr FieldSpec kPageToken{"page_token", FieldType::kString};

HttpResponse Ok(const json::object& o) { return HttpResponse::Json(200, SerializeJson(o)); }

Result<HttpResponse> Empty(const Status& s) {
  if (!s.ok()) return s;
  return Ok({});
}

template <typename T>
Result<HttpResponse> Empty(const Result<T>& r) {
  return Empty(r.status());
}

// A 200 answer whose object's members `write` streams into the body.
template <typename Members>
HttpResponse OkWith(size_t size_hint, const Members& write) {
  std::string body;
  body.reserve(size_hint);
  JsonWriter w(body);
  w.BeginObject();
  write(w);
  w.EndObject();
  return HttpResponse::Json(200, std::move(body));
}

// Room for a version's JSON in MLflow's form with short fields, so that most bodies are written
// without the string growing.
constexpr size_t kVersionBytes = 320;

void WriteTags(JsonWriter& w, const StringMap& tags) {
  w.BeginArray();
  for (const auto& [key, value] : tags) {
    w.BeginObject();
    w.Field("key", key);
    w.Field("value", value);
    w.EndObject();
  }
  w.EndArray();
}

HttpResponse ModelBody(const Model& m, const std::vector<ModelVersion>& latest) {
  return OkWith((latest.size() + 1) * kVersionBytes, [&](JsonWriter& w) {
    w.Key("registered_model");
    WriteModel(w, m, latest);
  });
}

// A model with the highest version in each stage, as every MLflow answer carrying a model has it.
Result<HttpResponse> ModelAnswer(RegistryService& reg, const Call& c, const Result<Model>& m) {
  if (!m.ok()) return m.status();
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> latest, reg.LatestVersions(c.ctx, m->name, {}));
  return ModelBody(*m, latest);
}

Result<HttpResponse> VersionAnswer(const Result<ModelVersion>& v) {
  if (!v.ok()) return v.status();
  return OkWith(kVersionBytes, [&](JsonWriter& w) {
    w.Key("model_version");
    WriteVersion(w, *v, true);
  });
}

// The decimal text of `n` in `buf`, which must hold 24 characters.
std::string_view DecimalOf(char (&buf)[24], int64_t n) {
  const auto res = std::to_chars(buf, buf + sizeof buf, n);
  return std::string_view(buf, res.ptr - buf);
}

int ClampToInt(int64_t n) { return static_cast<int>(std::clamp<int64_t>(n, INT_MIN, INT_MAX)); }

// Registered models.

Result<HttpResponse> CreateModel(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kTags, kDescription}));
  service::CreateModelArgs args{
      .name = f.String("name"), .description = f.String("description"), .tags = f.Tags("tags")};
  VOUCH_ASSIGN_OR_RETURN(Model m, reg.CreateModel(c.ctx, args));
  return ModelBody(m, {});
}

Result<HttpResponse> GetModel(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName}));
  return ModelAnswer(reg, c, reg.GetModel(c.ctx, f.String("name")));
}

Result<HttpResponse> RenameModel(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kName, {"new_name", FieldType::kString, true}}));
  return ModelAnswer(reg, c, reg.RenameModel(c.ctx, f.String("name"), f.String("new_name")));
}

Result<HttpResponse> UpdateModel(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kDescription}));
  return ModelAnswer(reg, c,
                     reg.UpdateModelDescription(c.ctx, f.String("name"), f.String("description")));
}

Result<HttpResponse> DeleteModel(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName}));
  return Empty(reg.DeleteModel(c.ctx, f.String("name")));
}

Result<HttpResponse> SearchModels(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kFilter, kMaxResults, kOrderBy, kPageToken}));
  service::SearchRequest request;
  VOUCH_ASSIGN_OR_RETURN(request.filter,
                         ParseSearchFilter(f.String("filter"), SearchEntity::kModels));
  VOUCH_ASSIGN_OR_RETURN(request.order_by, ParseOrderBy(f.List("order_by"), SearchEntity::kModels));
  request.max_results = ClampToInt(f.Int("max_results").value_or(kDefaultModelResults));
  request.page_token = f.String("page_token");
  VOUCH_ASSIGN_OR_RETURN(service::Page<Model> page, reg.SearchModels(c.ctx, request));
  size_t versions = 0;
  for (const Model& m : page.items) versions += 1 + m.latest_versions.size();
  return OkWith(versions * kVersionBytes, [&](JsonWriter& w) {
    if (!page.items.empty()) {
      w.Key("registered_models");
      w.BeginArray();
      for (Model& m : page.items) {
        // MLflow's SQL store lists a searched model's latest versions by stage name (the order
        // its per-stage window query yields); a single model's come in version order.
        std::stable_sort(
            m.latest_versions.begin(), m.latest_versions.end(),
            [](const auto& a, const auto& b) { return StageName(a.stage) < StageName(b.stage); });
        WriteModel(w, m, m.latest_versions);
      }
      w.EndArray();
    }
    if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  });
}

Result<HttpResponse> LatestVersions(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kName, {"stages", FieldType::kStringList}}));
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> versions,
                         reg.LatestVersions(c.ctx, f.String("name"), f.List("stages")));
  return OkWith(versions.size() * kVersionBytes, [&](JsonWriter& w) {
    if (versions.empty()) return;
    w.Key("model_versions");
    w.BeginArray();
    for (const auto& v : versions) WriteVersion(w, v, true);
    w.EndArray();
  });
}

Result<HttpResponse> SetModelTag(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kKey, kValue}));
  return Empty(reg.SetModelTag(c.ctx, f.String("name"), f.String("key"), f.String("value")));
}

Result<HttpResponse> DeleteModelTag(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kKey}));
  return Empty(reg.DeleteModelTag(c.ctx, f.String("name"), f.String("key")));
}

// Aliases.

Result<HttpResponse> SetAlias(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kAlias, kVersion}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  return Empty(reg.SetAlias(c.ctx, f.String("name"), f.String("alias"), version, ""));
}

Result<HttpResponse> DeleteAlias(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kAlias}));
  return Empty(reg.DeleteAlias(c.ctx, f.String("name"), f.String("alias"), ""));
}

Result<HttpResponse> GetVersionByAlias(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kAlias}));
  return VersionAnswer(reg.GetVersionByAlias(c.ctx, f.String("name"), f.String("alias")));
}

// Model versions.

Result<HttpResponse> CreateVersion(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kName,
                                                 {"source", FieldType::kString, true},
                                                 {"run_id", FieldType::kString},
                                                 kTags,
                                                 {"run_link", FieldType::kString},
                                                 kDescription,
                                                 {"model_id", FieldType::kString}}));
  service::CreateVersionArgs args{.model = f.String("name"),
                                  .source = f.String("source"),
                                  .run_id = f.String("run_id"),
                                  .run_link = f.String("run_link"),
                                  .model_ref = f.String("model_id"),
                                  .run_id_given = f.Has("run_id"),
                                  .model_ref_given = f.Has("model_id"),
                                  .description = f.String("description"),
                                  .tags = f.Tags("tags")};
  return VersionAnswer(reg.CreateVersion(c.ctx, args));
}

Result<HttpResponse> GetVersion(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kVersion}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  return VersionAnswer(reg.GetVersion(c.ctx, f.String("name"), version));
}

Result<HttpResponse> UpdateVersion(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kVersion, kDescription}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  return VersionAnswer(
      reg.UpdateVersionDescription(c.ctx, f.String("name"), version, f.String("description")));
}

Result<HttpResponse> DeleteVersion(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kVersion}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  return Empty(reg.DeleteVersion(c.ctx, f.String("name"), version));
}

Result<HttpResponse> SearchVersions(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kFilter, kMaxResults, kOrderBy, kPageToken}));
  service::SearchRequest request;
  VOUCH_ASSIGN_OR_RETURN(request.filter,
                         ParseSearchFilter(f.String("filter"), SearchEntity::kVersions));
  VOUCH_ASSIGN_OR_RETURN(request.order_by,
                         ParseOrderBy(f.List("order_by"), SearchEntity::kVersions));
  // MLflow's SQL store orders an unordered version search by last update, newest first.
  if (request.order_by.empty()) {
    request.order_by.push_back({service::OrderField::kLastUpdatedTime, false});
  }
  request.max_results = ClampToInt(f.Int("max_results").value_or(kDefaultVersionResults));
  request.page_token = f.String("page_token");
  VOUCH_ASSIGN_OR_RETURN(service::Page<ModelVersion> page, reg.SearchVersions(c.ctx, request));
  // A page may hold 200,000 versions: each is written out as text and dropped in turn, so the
  // answer is held once, not also beside all the versions it came from.
  return OkWith(page.items.size() * kVersionBytes, [&](JsonWriter& w) {
    if (!page.items.empty()) {
      w.Key("model_versions");
      w.BeginArray();
      for (ModelVersion& v : page.items) {
        WriteVersion(w, v, false);
        v = ModelVersion();
      }
      w.EndArray();
    }
    if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  });
}

Result<HttpResponse> DownloadUri(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kVersion}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  VOUCH_ASSIGN_OR_RETURN(std::string uri, reg.DownloadUri(c.ctx, f.String("name"), version));
  return Ok({{"artifact_uri", uri}});
}

Result<HttpResponse> TransitionStage(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kName,
                                                 kVersion,
                                                 {"stage", FieldType::kString, true},
                                                 {"archive_existing_versions", FieldType::kBool}}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  service::StageChange change{.model = f.String("name"),
                              .version = version,
                              .stage = f.String("stage"),
                              .archive_existing = f.Bool("archive_existing_versions")};
  return VersionAnswer(reg.SetStage(c.ctx, change));
}

Result<HttpResponse> SetVersionTag(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kVersion, kKey, kValue}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  return Empty(reg.SetVersionField(c.ctx, service::VersionField::kTag, f.String("name"), version,
                                   f.String("key"), f.String("value")));
}

Result<HttpResponse> DeleteVersionTag(RegistryService& reg, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kName, kVersion, kKey}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  return Empty(reg.DeleteVersionField(c.ctx, service::VersionField::kTag, f.String("name"), version,
                                      f.String("key")));
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  Result<HttpResponse> (*handler)(RegistryService&, const Call&);
};

// MLflow's Model Registry service (mlflow/protos/model_registry.proto), path below the prefix,
// with what each call needs: the permission RegistryService demands of the caller on the model the
// request names (the same levels as MLflow's auth app, auth/__init__.py BEFORE_REQUEST_HANDLERS).
// Creating a model and searching need only a principal; searches show what it may read.
constexpr Endpoint kEndpoints[] = {
    {"POST", "registered-models/create", Access::kAuthenticated, CreateModel},
    {"GET", "registered-models/get", Access::kModelRead, GetModel},
    {"POST", "registered-models/rename", Access::kModelEdit, RenameModel},
    {"PATCH", "registered-models/update", Access::kModelEdit, UpdateModel},
    {"DELETE", "registered-models/delete", Access::kModelManage, DeleteModel},
    {"GET", "registered-models/search", Access::kAuthenticated, SearchModels},
    {"POST", "registered-models/get-latest-versions", Access::kModelRead, LatestVersions},
    {"GET", "registered-models/get-latest-versions", Access::kModelRead, LatestVersions},
    {"POST", "registered-models/set-tag", Access::kModelEdit, SetModelTag},
    {"DELETE", "registered-models/delete-tag", Access::kModelEdit, DeleteModelTag},
    {"POST", "registered-models/alias", Access::kModelEdit, SetAlias},
    {"DELETE", "registered-models/alias", Access::kModelManage, DeleteAlias},
    {"GET", "registered-models/alias", Access::kModelRead, GetVersionByAlias},
    {"POST", "model-versions/create", Access::kModelEdit, CreateVersion},
    {"GET", "model-versions/get", Access::kModelRead, GetVersion},
    {"PATCH", "model-versions/update", Access::kModelEdit, UpdateVersion},
    {"DELETE", "model-versions/delete", Access::kModelManage, DeleteVersion},
    {"GET", "model-versions/search", Access::kAuthenticated, SearchVersions},
    {"GET", "model-versions/get-download-uri", Access::kModelRead, DownloadUri},
    {"POST", "model-versions/transition-stage", Access::kModelEdit, TransitionStage},
    {"POST", "model-versions/set-tag", Access::kModelEdit, SetVersionTag},
    {"DELETE", "model-versions/delete-tag", Access::kModelManage, DeleteVersionTag},
};

// What a refused MLflow request named: `name` (and `version`) on the registry's model and version
// calls and their permissions, `resource_id` on the per-user permission calls of a registered
// model. Searches name none.
std::optional<RequestSubject> MlflowSubject(std::string_view pattern, const Call& c) {
  const bool transition_request = pattern.find("/transition-requests/") != std::string_view::npos;
  const bool model_call = pattern.find("/registered-models/") != std::string_view::npos ||
                          pattern.find("/model-versions/") != std::string_view::npos ||
                          pattern.find("/comments/create") != std::string_view::npos ||
                          transition_request;
  if (model_call && pattern.find("/search") == std::string_view::npos) {
    Result<RequestFields> f = RequestFields::Read(
        c, {{"name", FieldType::kString}, {"version", FieldType::kString}},
        transition_request ? QuerySource::kReadsAndDelete : QuerySource::kReads);
    if (!f.ok() || f->String("name").empty()) return std::nullopt;
    const std::optional<int64_t> version = PythonInt(f->String("version"));
    return RequestSubject{.model = f->String("name"),
                          .version = version && *version > 0 ? *version : 0};
  }
  if (pattern.find("/users/permissions/") != std::string_view::npos) {
    Result<RequestFields> f = RequestFields::Read(
        c, {{"resource_type", FieldType::kString}, {"resource_id", FieldType::kString}});
    if (!f.ok() || f->String("resource_type") != "registered_model" ||
        f->String("resource_id").empty()) {
      return std::nullopt;
    }
    return RequestSubject{.model = f->String("resource_id")};
  }
  return std::nullopt;
}

}  // namespace

DoorSpec MlflowDoor(std::initializer_list<std::string_view> prefixes) {
  DoorSpec door{.door = Door::kMlflow,
                .render = MlflowError,
                .authenticators = {AuthorizationHeader},
                .subject = MlflowSubject};
  for (std::string_view prefix : prefixes) {
    door.recognisers.push_back(Recogniser::PathPrefix(std::string(prefix)));
  }
  return door;
}

HttpResponse MlflowError(const Status& status, const RequestContext& /*ctx*/) {
  const ErrorInfo& info = InfoFor(status.code());
  json::object body{{"error_code", info.mlflow_code}, {"message", status.message()}};
  HttpResponse r = HttpResponse::Json(info.mlflow_http_status, SerializeJson(body));
  if (InfoFor(status.code()).mlflow_http_status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"mlflow\"");
  }
  return r;
}

void WriteVersion(JsonWriter& w, const ModelVersion& v, bool with_aliases) {
  // Proto field order. description, run_id and run_link are always set by MLflow's store (empty
  // when not given), so always emitted; vouch keeps no run link.
  char number[24];
  w.BeginObject();
  w.Field("name", v.model_name);
  w.Field("version", DecimalOf(number, v.version));
  w.Field("creation_timestamp", v.created_ms);
  w.Field("last_updated_timestamp", v.updated_ms);
  if (!v.created_by.empty()) w.Field("user_id", v.created_by);
  w.Field("current_stage", StageName(v.stage));
  w.Field("description", v.description);
  w.Field("source", v.source);
  w.Field("run_id", v.run_id);
  w.Field("status", v.status);
  if (!v.tags.empty()) {
    w.Key("tags");
    WriteTags(w, v.tags);
  }
  w.Field("run_link", v.run_link);
  if (with_aliases && !v.aliases.empty()) {
    w.Key("aliases");
    w.BeginArray();
    for (const auto& a : v.aliases) w.String(a);
    w.EndArray();
  }
  if (!v.model_ref.empty()) w.Field("model_id", v.model_ref);
  w.EndObject();
}

void WriteModel(JsonWriter& w, const Model& m, const std::vector<ModelVersion>& latest_versions) {
  w.BeginObject();
  w.Field("name", m.name);
  w.Field("creation_timestamp", m.created_ms);
  w.Field("last_updated_timestamp", m.updated_ms);
  if (!m.created_by.empty()) w.Field("user_id", m.created_by);
  if (!m.description.empty()) w.Field("description", m.description);
  if (!latest_versions.empty()) {
    w.Key("latest_versions");
    w.BeginArray();
    for (const auto& v : latest_versions) WriteVersion(w, v, false);
    w.EndArray();
  }
  if (!m.tags.empty()) {
    w.Key("tags");
    WriteTags(w, m.tags);
  }
  if (!m.aliases.empty()) {
    char number[24];
    w.Key("aliases");
    w.BeginArray();
    for (const auto& [alias, version] : m.aliases) {
      w.BeginObject();
      w.Field("alias", alias);
      w.Field("version", DecimalOf(number, version));
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

void RegisterRoutes(Router& router, RegistryService& registry) {
  router.AddDoor(MlflowDoor({kPrefixes[0], kPrefixes[1]}));
  for (std::string_view prefix : kPrefixes) {
    for (const Endpoint& e : kEndpoints) {
      auto handler = e.handler;
      router.Add(std::string(e.method), fmt::format("{}/{}", prefix, e.path), e.access,
                 Door::kMlflow,
                 [&registry, handler](const Call& c) { return handler(registry, c); });
    }
  }
}

}  // namespace vouch::api::mlflow
