// MLflow's webhook API on the MLflow door (/api/2.0/mlflow/webhooks…, MLflow 3.3+;
// mlflow/protos/webhooks.proto, mlflow/server/handlers.py): create, list, get, update and delete,
// onto the same WebhookService as the native API. An MLflow webhook is a registry-wide
// subscription in format `mlflow` (so it needs admin, as every registry-wide one does); its events
// [{entity, action}] are stored as the vouch actions MLflow's events are delivered for
// (notify::VouchActionsFor) and shown back through notify::MlflowEventFor. This door shows only
// subscriptions in format mlflow. docs/mlflow.md lists the differences from MLflow's own server.
#include "vouch/api/mlflow/webhooks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "vouch/api/mlflow/request_fields.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/subscription_filter.h"

namespace vouch::api::mlflow {
namespace {

using service::WebhookService;
using service::WebhookView;

constexpr std::string_view kPrefixes[] = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};
constexpr std::string_view kMlflowFormat = "mlflow";

// MLflow's enums, by proto number (webhooks.proto).
constexpr std::string_view kEntities[] = {
    "ENTITY_UNSPECIFIED",  "REGISTERED_MODEL", "MODEL_VERSION",  "MODEL_VERSION_TAG",
    "MODEL_VERSION_ALIAS", "PROMPT",           "PROMPT_VERSION", "PROMPT_TAG",
    "PROMPT_VERSION_TAG",  "PROMPT_ALIAS",     "BUDGET_POLICY"};
constexpr std::string_view kActions[] = {
    "ACTION_UNSPECIFIED", "CREATED", "UPDATED", "DELETED", "SET", "EXCEEDED"};

// MLflow's VALID_ENTITY_ACTIONS (mlflow/entities/webhook.py), in lower case.
constexpr std::pair<std::string_view, std::string_view> kValidEvents[] = {
    {"registered_model", "created"},
    {"model_version", "created"},
    {"model_version_tag", "set"},
    {"model_version_tag", "deleted"},
    {"model_version_alias", "created"},
    {"model_version_alias", "deleted"},
    {"prompt", "created"},
    {"prompt_version", "created"},
    {"prompt_tag", "set"},
    {"prompt_tag", "deleted"},
    {"prompt_version_tag", "set"},
    {"prompt_version_tag", "deleted"},
    {"prompt_alias", "created"},
    {"prompt_alias", "deleted"},
    {"budget_policy", "exceeded"}};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// An enum field as proto JSON gives it: its name (any case) or its number. Lower-case name.
Result<std::string> EnumName(const json::value& v, std::span<const std::string_view> names,
                             std::string_view field) {
  if (v.is_string()) {
    std::string upper = Upper(v.as_string());
    for (size_t i = 1; i < names.size(); ++i) {
      if (names[i] == upper) return Lower(upper);
    }
  } else if (v.is_int64() && v.as_int64() > 0 &&
             v.as_int64() < static_cast<int64_t>(names.size())) {
    return Lower(names[static_cast<size_t>(v.as_int64())]);
  }
  return InvalidArgument(
      fmt::format("Invalid value {} for parameter '{}' supplied.", SerializeJson(v), field));
}

// `events` as MLflow sends them: [{"entity": "MODEL_VERSION", "action": "CREATED"}], translated
// to the vouch actions they are delivered for. INVALID_ARGUMENT (INVALID_PARAMETER_VALUE) for an
// event MLflow does not have, or one vouch records nothing for (prompts, budget policies).
Result<std::vector<std::string>> ReadEvents(const json::value& events) {
  if (!events.is_array()) {
    return InvalidArgument("Invalid value for parameter 'events' supplied: must be an array.");
  }
  std::vector<std::string> out;
  for (const json::value& e : events.as_array()) {
    if (!e.is_object()) {
      return InvalidArgument("Invalid value for parameter 'events' supplied: each is an object.");
    }
    const json::object& o = e.as_object();
    const json::value* entity_v = o.if_contains("entity");
    const json::value* action_v = o.if_contains("action");
    if (entity_v == nullptr || action_v == nullptr) {
      return InvalidArgument("Webhook events must each name an entity and an action.");
    }
    VOUCH_ASSIGN_OR_RETURN(std::string entity, EnumName(*entity_v, kEntities, "entity"));
    VOUCH_ASSIGN_OR_RETURN(std::string action, EnumName(*action_v, kActions, "action"));
    bool valid = std::find(std::begin(kValidEvents), std::end(kValidEvents),
                           std::pair<std::string_view, std::string_view>(entity, action)) !=
                 std::end(kValidEvents);
    if (!valid) {
      return InvalidArgument(fmt::format("Invalid action '{}' for entity '{}'.", action, entity));
    }
    std::vector<std::string_view> actions = notify::VouchActionsFor(entity, action);
    if (actions.empty()) {
      return InvalidArgument(
          fmt::format("events: {}.{} is not sent by vouch, which has no prompts or budget policies",
                      entity, action));
    }
    for (std::string_view a : actions) {
      if (std::find(out.begin(), out.end(), a) == out.end()) out.emplace_back(a);
    }
  }
  if (out.empty()) {
    return InvalidArgument("Webhook events must be a non-empty list of WebhookEvent objects.");
  }
  return out;
}

Result<store::WebhookStatus> ReadStatus(const json::value& v) {
  if (v.is_string()) {
    std::string upper = Upper(v.as_string());
    if (upper == "ACTIVE") return store::WebhookStatus::kActive;
    if (upper == "DISABLED") return store::WebhookStatus::kDisabled;
  } else if (v.is_int64()) {
    if (v.as_int64() == 1) return store::WebhookStatus::kActive;
    if (v.as_int64() == 2) return store::WebhookStatus::kDisabled;
  }
  return InvalidArgument(
      fmt::format("Invalid value {} for parameter 'status' supplied.", SerializeJson(v)));
}

Result<int64_t> WebhookId(const Call& c) {
  const std::string& text = c.path.at("webhook_id");
  std::optional<int64_t> id = PythonInt(text);
  if (!id || *id < 1) {
    return NotFound(fmt::format("Webhook with ID {} not found.", text));
  }
  return *id;
}

// The MLflow webhook `id`: NOT_FOUND for one of another format, as if it were not there.
Result<WebhookView> GetMlflow(WebhookService& s, const Call& c, int64_t id) {
  Result<WebhookView> v = s.Get(c.ctx, id);
  if (!v.ok() && v.status().code() == StatusCode::kNotFound) {
    return NotFound(fmt::format("Webhook with ID {} not found.", id));
  }
  if (v.ok() && v->record.format != kMlflowFormat) {
    return NotFound(fmt::format("Webhook with ID {} not found.", id));
  }
  return v;
}

// The request body's JSON object (MLflow's POST and PATCH bodies), after RequestFields checked
// the declared scalar fields.
Result<json::object> BodyObject(const Call& c) {
  if (c.request.body.empty()) return json::object{};
  return ParseJsonObject(c.request.body);
}

HttpResponse Ok(const json::object& o) { return HttpResponse::Json(200, SerializeJson(o)); }

constexpr FieldSpec kName{"name", FieldType::kString};
constexpr FieldSpec kRequiredName{"name", FieldType::kString, true};
constexpr FieldSpec kUrl{"url", FieldType::kString};
constexpr FieldSpec kRequiredUrl{"url", FieldType::kString, true};
constexpr FieldSpec kDescription{"description", FieldType::kString};
constexpr FieldSpec kSecret{"secret", FieldType::kString, false, true};

Result<HttpResponse> CreateWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kRequiredName, kRequiredUrl,
                                                                  kDescription, kSecret}));
  VOUCH_ASSIGN_OR_RETURN(json::object body, BodyObject(c));
  const json::value* events = body.if_contains("events");
  if (events == nullptr || events->is_null()) {
    return InvalidArgument(
        "Missing value for required parameter 'events'. See the API docs for more information "
        "about request parameters.");
  }
  service::WebhookArgs args{.name = f.String("name"),
                            .description = f.String("description"),
                            .url = f.String("url"),
                            .format = std::string(kMlflowFormat),
                            .secret = f.String("secret")};
  VOUCH_ASSIGN_OR_RETURN(args.events, ReadEvents(*events));
  if (const json::value* st = body.if_contains("status"); st != nullptr && !st->is_null()) {
    VOUCH_ASSIGN_OR_RETURN(args.status, ReadStatus(*st));
  }
  VOUCH_ASSIGN_OR_RETURN(WebhookView v, s.Create(c.ctx, args));
  return Ok({{"webhook", MlflowWebhookJson(v)}});
}

Result<HttpResponse> ListWebhooks(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {{"max_results", FieldType::kInt64},
                                                 {"page_token", FieldType::kString}}));
  int64_t max_results = f.Int("max_results").value_or(0);
  if (max_results == 0) max_results = 100;
  if (max_results < 1 || max_results > 1000) {
    return InvalidArgument("max_results must be between 1 and 1000.");
  }
  VOUCH_ASSIGN_OR_RETURN(
      service::WebhookPage page,
      s.List(c.ctx, f.String("page_token"), static_cast<int>(max_results), kMlflowFormat));
  json::array items;
  for (const WebhookView& v : page.webhooks) items.push_back(MlflowWebhookJson(v));
  json::object o{{"webhooks", std::move(items)}};
  if (!page.next_page_token.empty()) o["next_page_token"] = page.next_page_token;
  return Ok(o);
}

Result<HttpResponse> GetWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, WebhookId(c));
  VOUCH_ASSIGN_OR_RETURN(WebhookView v, GetMlflow(s, c, id));
  return Ok({{"webhook", MlflowWebhookJson(v)}});
}

Result<HttpResponse> UpdateWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, WebhookId(c));
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kName, kUrl, kDescription, kSecret}));
  VOUCH_ASSIGN_OR_RETURN(json::object body, BodyObject(c));
  VOUCH_TRY(GetMlflow(s, c, id).status());
  service::WebhookPatch patch;
  // As MLflow's handler: an empty name or URL changes nothing; a description or secret that is
  // present is set, "" included (a secret "" removes it).
  if (!f.String("name").empty()) patch.name = f.String("name");
  if (!f.String("url").empty()) patch.url = f.String("url");
  if (f.Has("description") || body.contains("description")) {
    patch.description = f.String("description");
  }
  if (f.Has("secret") || body.contains("secret")) patch.secret = f.String("secret");
  if (const json::value* e = body.if_contains("events");
      e != nullptr && e->is_array() && !e->as_array().empty()) {
    VOUCH_ASSIGN_OR_RETURN(patch.events, ReadEvents(*e));
  }
  if (const json::value* st = body.if_contains("status"); st != nullptr && !st->is_null()) {
    VOUCH_ASSIGN_OR_RETURN(patch.status, ReadStatus(*st));
  }
  VOUCH_ASSIGN_OR_RETURN(WebhookView v, s.Update(c.ctx, id, patch));
  return Ok({{"webhook", MlflowWebhookJson(v)}});
}

Result<HttpResponse> DeleteWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, WebhookId(c));
  VOUCH_TRY(GetMlflow(s, c, id).status());
  VOUCH_TRY(s.Delete(c.ctx, id));
  return Ok(json::object{});
}

using WebhookHandler = Result<HttpResponse> (*)(WebhookService&, const Call&);

struct Endpoint {
  std::string_view method;
  std::string_view path;
  WebhookHandler handler;
};

constexpr Endpoint kEndpoints[] = {
    {"POST", "webhooks", CreateWebhook},
    {"GET", "webhooks", ListWebhooks},
    {"GET", "webhooks/{webhook_id}", GetWebhook},
    {"PATCH", "webhooks/{webhook_id}", UpdateWebhook},
    {"DELETE", "webhooks/{webhook_id}", DeleteWebhook},
};

}  // namespace

json::object MlflowWebhookJson(const WebhookView& v) {
  json::array events;
  std::vector<std::pair<std::string_view, std::string_view>> seen;
  for (std::string_view action : notify::SubscribableActions()) {
    if (!notify::MatchesEvent(v.events, action)) continue;
    std::optional<std::pair<std::string_view, std::string_view>> e = notify::MlflowEventFor(action);
    if (!e || std::find(seen.begin(), seen.end(), *e) != seen.end()) continue;
    seen.push_back(*e);
    events.push_back(json::object{{"entity", Upper(e->first)}, {"action", Upper(e->second)}});
  }
  const store::WebhookRecord& w = v.record;
  return json::object{{"webhook_id", fmt::format("{}", w.id)},
                      {"name", w.name},
                      {"description", w.description},
                      {"url", w.url},
                      {"events", std::move(events)},
                      {"status", w.status == store::WebhookStatus::kActive ? "ACTIVE" : "DISABLED"},
                      {"creation_timestamp", w.created_ms},
                      {"last_updated_timestamp", w.updated_ms}};
}

void RegisterWebhookRoutes(Router& router, WebhookService& webhooks) {
  for (std::string_view prefix : kPrefixes) {
    for (const Endpoint& e : kEndpoints) {
      auto handler = e.handler;
      router.Add(std::string(e.method), fmt::format("{}/{}", prefix, e.path),
                 Access::kAuthenticated, Door::kMlflow,
                 [&webhooks, handler](const Call& c) { return handler(webhooks, c); });
    }
  }
}

}  // namespace vouch::api::mlflow
