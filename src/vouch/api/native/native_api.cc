#include "vouch/api/native/native_api.h"

#include <fmt/format.h>

#include "vouch/api/dispatcher.h"
#include "vouch/api/native/handler_util.h"
#include "vouch/util/json.h"

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

json::object StringMapJson(const StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

HttpResponse ModelPage(const service::Page<Model>& page) {
  json::array items;
  for (const auto& m : page.items) items.push_back(ModelJson(m));
  json::object o{{"models", std::move(items)}};
  if (!page.next_page_token.empty()) o["next_page_token"] = page.next_page_token;
  return Ok(std::move(o));
}

Result<HttpResponse> VersionResult(Result<ModelVersion> v, int status = 200) {
  if (!v.ok()) return v.status();
  return Ok(VersionJson(*v), status);
}

Result<HttpResponse> ModelResult(Result<Model> m, int status = 200) {
  if (!m.ok()) return m.status();
  return Ok(ModelJson(*m), status);
}

// PUT .../{kind}/{key} for a version's tags, metrics and params.
Result<HttpResponse> SetVersionField(RegistryService& reg, const Call& c, VersionField field) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"value"}));
  const std::string& key = c.path.at("key");
  if (field == VersionField::kMetric) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<double> value, OptionalNumber(body, "value"));
    if (!value) return InvalidArgument("missing required field 'value'");
    return VersionResult(reg.SetVersionField(c.ctx, field, c.path.at("name"), n, key, "", *value));
  }
  VOUCH_ASSIGN_OR_RETURN(std::string value, RequiredString(body, "value"));
  return VersionResult(reg.SetVersionField(c.ctx, field, c.path.at("name"), n, key, value));
}

Result<HttpResponse> DeleteVersionField(RegistryService& reg, const Call& c, VersionField field) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
  return VersionResult(
      reg.DeleteVersionField(c.ctx, field, c.path.at("name"), n, c.path.at("key")));
}

Result<std::optional<TimeMs>> TimeParam(const Call& c, std::string_view key) {
  const auto* v = c.query.First(key);
  if (v == nullptr) return std::optional<TimeMs>();
  VOUCH_ASSIGN_OR_RETURN(TimeMs t, ParseRfc3339(*v));
  return std::optional<TimeMs>(t);
}

}  // namespace

json::object ModelJson(const Model& m) {
  json::object o{{"name", m.name},
                 {"description", m.description},
                 {"tags", StringMapJson(m.tags)},
                 {"creation_timestamp", m.created_ms},
                 {"last_updated_timestamp", m.updated_ms},
                 {"created_by", m.created_by}};
  if (m.latest_live_version) o["latest_version"] = *m.latest_live_version;
  return o;
}

json::object VersionJson(const ModelVersion& v) {
  json::object metrics;
  for (const auto& [k, val] : v.metrics) metrics[k] = val;
  json::array aliases;
  for (const auto& a : v.aliases) aliases.emplace_back(a);
  json::object o{{"model", v.model_name},
                 {"version", v.version},
                 {"source", v.source},
                 {"run_id", v.run_id},
                 {"description", v.description},
                 {"tags", StringMapJson(v.tags)},
                 {"metrics", std::move(metrics)},
                 {"params", StringMapJson(v.params)},
                 {"status", v.status},
                 {"stage", StageName(v.stage)},
                 {"aliases", std::move(aliases)},
                 {"creation_timestamp", v.created_ms},
                 {"last_updated_timestamp", v.updated_ms},
                 {"created_by", v.created_by}};
  if (!v.model_ref.empty()) o["model_id"] = v.model_ref;
  if (!v.artifact_digest.empty()) o["artifact_digest"] = v.artifact_digest;
  return o;
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
  router.SetErrorRenderer("", Door::kNative, NativeError);
  // Each route declares what RegistryService demands of the caller for it (the Permission of its
  // ModelFor call); the service enforces it, the declaration documents it and is tested against
  // docs/openapi.yaml's x-vouch-access.
  auto add = [&](std::string method, std::string_view path, Access access, Handler h) {
    router.Add(std::move(method), fmt::format("{}{}", kPrefix, path), access, Door::kNative,
               std::move(h));
  };

  router.Add("GET", "/health", Access::kPublic, Door::kNative, [](const Call&) {
    return Result<HttpResponse>(Ok({{"status", "ok"}}));
  });
  router.Add("GET", "/ready", Access::kPublic, Door::kNative,
             [ready](const Call& c) -> Result<HttpResponse> {
               // The store's reason is meant for anyone (no paths or hosts): rendered as it is,
               // not replaced by the generic 503 message, so a load balancer's log says why.
               Status s = ready();
               if (!s.ok()) return NativeError(Unavailable("not ready: " + s.message()), c.ctx);
               return Ok({{"status", "ready"}});
             });

  add("GET", "/whoami", Access::kAuthenticated,
      [identity](const Call& c) -> Result<HttpResponse> { return WhoamiResult(c, identity); });

  // Models.
  add("POST", "/models", Access::kAuthenticated, [&reg](const Call& c) -> Result<HttpResponse> {
    VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"name", "description", "tags"}));
    service::CreateModelArgs args;
    VOUCH_ASSIGN_OR_RETURN(args.name, RequiredString(body, "name"));
    VOUCH_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
    VOUCH_ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags"));
    args.description = description.value_or("");
    args.tags = ToStringMap(tags);
    return ModelResult(reg.CreateModel(c.ctx, args), 201);
  });
  add("GET", "/models", Access::kAuthenticated, [&reg](const Call& c) -> Result<HttpResponse> {
    VOUCH_ASSIGN_OR_RETURN(service::PageRequest page, PageParams(c));
    VOUCH_ASSIGN_OR_RETURN(service::Page<Model> models, reg.ListModels(c.ctx, page));
    return ModelPage(models);
  });
  add("GET", "/models/{name}", Access::kModelRead,
      [&reg](const Call& c) { return ModelResult(reg.GetModel(c.ctx, c.path.at("name"))); });
  add("PATCH", "/models/{name}", Access::kModelEdit, [&reg](const Call& c) -> Result<HttpResponse> {
    VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"description"}));
    VOUCH_ASSIGN_OR_RETURN(std::string description, RequiredString(body, "description"));
    return ModelResult(reg.UpdateModelDescription(c.ctx, c.path.at("name"), description));
  });
  add("POST", "/models/{name}/rename", Access::kModelEdit,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"new_name"}));
        VOUCH_ASSIGN_OR_RETURN(std::string new_name, RequiredString(body, "new_name"));
        return ModelResult(reg.RenameModel(c.ctx, c.path.at("name"), new_name));
      });
  add("DELETE", "/models/{name}", Access::kModelManage,
      [&reg](const Call& c) { return Empty(reg.DeleteModel(c.ctx, c.path.at("name"))); });
  add("PUT", "/models/{name}/tags/{key}", Access::kModelEdit,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"value"}));
        VOUCH_ASSIGN_OR_RETURN(std::string value, RequiredString(body, "value"));
        return ModelResult(reg.SetModelTag(c.ctx, c.path.at("name"), c.path.at("key"), value));
      });
  add("DELETE", "/models/{name}/tags/{key}", Access::kModelEdit, [&reg](const Call& c) {
    return ModelResult(reg.DeleteModelTag(c.ctx, c.path.at("name"), c.path.at("key")));
  });

  // Versions.
  add("POST", "/models/{name}/versions", Access::kModelEdit,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(json::object body,
                               Body(c, {"source", "run_id", "model_id", "description", "tags",
                                        "metrics", "params", "artifact_digest"}));
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
          for (const auto& kv : *metrics)
            args.metrics.emplace(kv.key(), kv.value().to_number<double>());
        }
        return VersionResult(reg.CreateVersion(c.ctx, args), 201);
      });
  add("GET", "/models/{name}/versions", Access::kModelRead,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(service::PageRequest page, PageParams(c));
        VOUCH_ASSIGN_OR_RETURN(auto versions, reg.ListVersions(c.ctx, c.path.at("name"), page));
        json::array items;
        for (const auto& v : versions.items) items.push_back(VersionJson(v));
        json::object o{{"versions", std::move(items)}};
        if (!versions.next_page_token.empty()) o["next_page_token"] = versions.next_page_token;
        return Ok(std::move(o));
      });
  add("GET", "/models/{name}/versions/{n}", Access::kModelRead,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
        return VersionResult(reg.GetVersion(c.ctx, c.path.at("name"), n));
      });
  add("PATCH", "/models/{name}/versions/{n}", Access::kModelEdit,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
        VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"description"}));
        VOUCH_ASSIGN_OR_RETURN(std::string description, RequiredString(body, "description"));
        return VersionResult(
            reg.UpdateVersionDescription(c.ctx, c.path.at("name"), n, description));
      });
  add("DELETE", "/models/{name}/versions/{n}", Access::kModelManage,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
        return Empty(reg.DeleteVersion(c.ctx, c.path.at("name"), n));
      });
  const std::pair<std::string_view, VersionField> kFields[] = {{"tags", VersionField::kTag},
                                                               {"metrics", VersionField::kMetric},
                                                               {"params", VersionField::kParam}};
  for (const auto& [segment, field] : kFields) {
    std::string path = fmt::format("/models/{{name}}/versions/{{n}}/{}/{{key}}", segment);
    add("PUT", path, Access::kModelEdit,
        [&reg, field](const Call& c) { return SetVersionField(reg, c, field); });
    add("DELETE", path, Access::kModelManage,
        [&reg, field](const Call& c) { return DeleteVersionField(reg, c, field); });
  }
  add("POST", "/models/{name}/versions/{n}/stage", Access::kModelEdit,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(int64_t n, VersionParam(c));
        VOUCH_ASSIGN_OR_RETURN(json::object body,
                               Body(c, {"stage", "archive_existing", "comment"}));
        service::StageChange change{.model = c.path.at("name"), .version = n};
        VOUCH_ASSIGN_OR_RETURN(change.stage, RequiredString(body, "stage"));
        VOUCH_ASSIGN_OR_RETURN(auto archive, OptionalBool(body, "archive_existing"));
        VOUCH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
        change.archive_existing = archive.value_or(false);
        change.comment = comment.value_or("");
        return VersionResult(reg.SetStage(c.ctx, change));
      });

  // Aliases.
  add("PUT", "/models/{name}/aliases/{alias}", Access::kModelEdit,
      [&reg](const Call& c) -> Result<HttpResponse> {
        VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"version", "comment"}));
        VOUCH_ASSIGN_OR_RETURN(auto version, OptionalInt(body, "version"));
        if (!version) return InvalidArgument("missing required field 'version'");
        VOUCH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
        return VersionResult(reg.SetAlias(c.ctx, c.path.at("name"), c.path.at("alias"), *version,
                                          comment.value_or("")));
      });
  add("GET", "/models/{name}/aliases/{alias}", Access::kModelRead, [&reg](const Call& c) {
    return VersionResult(reg.GetVersionByAlias(c.ctx, c.path.at("name"), c.path.at("alias")));
  });
  add("DELETE", "/models/{name}/aliases/{alias}", Access::kModelManage,
      [&reg](const Call& c) -> Result<HttpResponse> {
        std::string comment;
        if (const auto* cm = c.query.First("comment")) comment = *cm;
        return Empty(reg.DeleteAlias(c.ctx, c.path.at("name"), c.path.at("alias"), comment));
      });

  // Audit.
  add("GET", "/audit", Access::kAuthenticated, [&reg](const Call& c) -> Result<HttpResponse> {
    service::AuditQuery q;
    VOUCH_ASSIGN_OR_RETURN(q.page, PageParams(c));
    if (const auto* v = c.query.First("model")) q.model = *v;
    if (const auto* v = c.query.First("actor")) q.actor = *v;
    if (const auto* v = c.query.First("action")) q.action = *v;
    if (const auto* v = c.query.First("version")) {
      VOUCH_ASSIGN_OR_RETURN(q.version, ParseInt("version", *v));
      if (q.version < 1) return InvalidArgument("version must be at least 1");
    }
    VOUCH_ASSIGN_OR_RETURN(q.since_ms, TimeParam(c, "since"));
    VOUCH_ASSIGN_OR_RETURN(q.until_ms, TimeParam(c, "until"));
    VOUCH_ASSIGN_OR_RETURN(service::Page<std::string> page, reg.ListAudit(c.ctx, q));
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
  });

  if (identity != nullptr) RegisterIdentityRoutes(router, *identity);
}

}  // namespace vouch::api::native
