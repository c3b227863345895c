// The notification subscriptions' routes of the native API (issue 13; docs/notifications.md):
// /api/v1/webhooks. Each handler reads the request into WebhookService's arguments and writes its
// answer back; who may do what is the service's to decide (webhooks.h). A secret goes in and
// never comes out: answers say only `secret_set`.
#include <fmt/format.h>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/audit/actions.h"
#include "vouch/notify/subscription_filter.h"
#include "vouch/service/webhooks.h"

namespace vouch::api::native {

json::object WebhookJson(const service::WebhookView& v) {
  const store::WebhookRecord& w = v.record;
  json::array events, email_to;
  for (const auto& e : v.events) events.emplace_back(e);
  for (const auto& e : v.email_to) email_to.emplace_back(e);
  return json::object{{"id", w.id},
                      {"name", w.name},
                      {"description", w.description},
                      {"url", w.url},
                      {"events", std::move(events)},
                      {"model", w.model_pattern},
                      {"format", w.format},
                      {"email_to", std::move(email_to)},
                      {"status", store::WebhookStatusName(w.status)},
                      {"secret_set", v.secret_set},
                      {"owner", v.owner},
                      {"creation_timestamp", w.created_ms},
                      {"last_updated_timestamp", w.updated_ms}};
}

namespace {

using service::WebhookService;

Result<int64_t> IdParam(const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, ParseInt("webhook id", c.path.at("id")));
  if (id < 1) return InvalidArgument("webhook id must be a positive integer");
  return id;
}

// An optional array of strings; INVALID_ARGUMENT naming the field for anything else.
Result<std::optional<std::vector<std::string>>> OptionalStrings(const json::object& o,
                                                                std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) {
    return InvalidArgument(fmt::format("{}: must be an array of strings", field));
  }
  std::vector<std::string> out;
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) {
      return InvalidArgument(fmt::format("{}: must be an array of strings", field));
    }
    out.emplace_back(item.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<store::WebhookStatus>> OptionalStatus(const json::object& o) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<std::string> s, OptionalString(o, "status"));
  if (!s) return std::optional<store::WebhookStatus>();
  Result<store::WebhookStatus> parsed = store::ParseWebhookStatus(*s);
  if (!parsed.ok()) {
    return InvalidArgument(fmt::format("status: must be active or disabled, got \"{}\"", *s));
  }
  return std::optional<store::WebhookStatus>(*parsed);
}

Result<HttpResponse> CreateWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body,
                         Body(c, {"name", "description", "url", "events", "model", "format",
                                  "email_to", "secret", "status"}));
  service::WebhookArgs args;
  VOUCH_ASSIGN_OR_RETURN(args.name, RequiredString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> events,
                         OptionalStrings(body, "events"));
  if (!events) return InvalidArgument("events: name at least one event (e.g. request.*)");
  args.events = std::move(*events);
  VOUCH_ASSIGN_OR_RETURN(std::optional<std::string> v, OptionalString(body, "description"));
  args.description = v.value_or("");
  VOUCH_ASSIGN_OR_RETURN(v, OptionalString(body, "url"));
  args.url = v.value_or("");
  VOUCH_ASSIGN_OR_RETURN(v, OptionalString(body, "model"));
  args.model_pattern = v.value_or("");
  VOUCH_ASSIGN_OR_RETURN(v, OptionalString(body, "format"));
  args.format = v.value_or("");
  VOUCH_ASSIGN_OR_RETURN(v, OptionalString(body, "secret"));
  args.secret = v.value_or("");
  VOUCH_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> to,
                         OptionalStrings(body, "email_to"));
  args.email_to = to.value_or(std::vector<std::string>{});
  VOUCH_ASSIGN_OR_RETURN(std::optional<store::WebhookStatus> status, OptionalStatus(body));
  args.status = status.value_or(store::WebhookStatus::kActive);
  VOUCH_ASSIGN_OR_RETURN(service::WebhookView made, s.Create(c.ctx, args));
  return Ok(WebhookJson(made), 201);
}

Result<HttpResponse> ListWebhooks(WebhookService& s, const Call& c) {
  int limit = 100;
  if (const auto* l = c.query.First("limit")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t n, ParseInt("limit", *l));
    if (n < 1 || n > 1000) {
      return InvalidArgument(fmt::format("limit must be between 1 and 1000, got {}", n));
    }
    limit = static_cast<int>(n);
  }
  std::string token;
  if (const auto* t = c.query.First("page_token")) {
    if (t->empty()) return InvalidArgument("invalid page token: it is empty");
    token = *t;
  }
  VOUCH_ASSIGN_OR_RETURN(service::WebhookPage page, s.List(c.ctx, token, limit));
  json::array items;
  for (const auto& w : page.webhooks) items.push_back(WebhookJson(w));
  json::object o{{"webhooks", std::move(items)}};
  if (!page.next_page_token.empty()) o["next_page_token"] = page.next_page_token;
  return Ok(o);
}

Result<HttpResponse> GetWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  VOUCH_ASSIGN_OR_RETURN(service::WebhookView w, s.Get(c.ctx, id));
  return Ok(WebhookJson(w));
}

Result<HttpResponse> UpdateWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  VOUCH_ASSIGN_OR_RETURN(json::object body,
                         Body(c, {"name", "description", "url", "events", "model", "format",
                                  "email_to", "secret", "status"}));
  service::WebhookPatch patch;
  VOUCH_ASSIGN_OR_RETURN(patch.name, OptionalString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(patch.description, OptionalString(body, "description"));
  VOUCH_ASSIGN_OR_RETURN(patch.url, OptionalString(body, "url"));
  VOUCH_ASSIGN_OR_RETURN(patch.events, OptionalStrings(body, "events"));
  VOUCH_ASSIGN_OR_RETURN(patch.model_pattern, OptionalString(body, "model"));
  VOUCH_ASSIGN_OR_RETURN(patch.format, OptionalString(body, "format"));
  VOUCH_ASSIGN_OR_RETURN(patch.email_to, OptionalStrings(body, "email_to"));
  VOUCH_ASSIGN_OR_RETURN(patch.secret, OptionalString(body, "secret"));
  VOUCH_ASSIGN_OR_RETURN(patch.status, OptionalStatus(body));
  VOUCH_ASSIGN_OR_RETURN(service::WebhookView w, s.Update(c.ctx, id, patch));
  return Ok(WebhookJson(w));
}

Result<HttpResponse> DeleteWebhook(WebhookService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  return Empty(s.Delete(c.ctx, id));
}

// The events a subscription may name, with their meanings (the catalogue's).
Result<HttpResponse> ListEvents(WebhookService&, const Call&) {
  json::array items;
  for (std::string_view name : notify::SubscribableActions()) {
    std::optional<audit::Action> action = audit::FindAction(name);
    if (!action) continue;
    const audit::ActionInfo& info = audit::Describe(*action);
    items.push_back(json::object{{"name", info.name},
                                 {"target", audit::TargetKindName(info.target)},
                                 {"meaning", info.meaning}});
  }
  return Ok({{"events", std::move(items)}});
}

using WebhookHandler = Result<HttpResponse> (*)(WebhookService&, const Call&);

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  WebhookHandler handler;
};

// Paths below kPrefix. A subscription names a model glob, not a model, so every route declares
// kAuthenticated; the service checks MANAGE on what the glob matches, admin for a registry-wide
// one, and ownership (webhooks.h). /webhooks/events comes before /webhooks/{id}.
constexpr Endpoint kEndpoints[] = {
    {"GET", "/webhooks/events", Access::kAuthenticated, ListEvents},
    {"POST", "/webhooks", Access::kAuthenticated, CreateWebhook},
    {"GET", "/webhooks", Access::kAuthenticated, ListWebhooks},
    {"GET", "/webhooks/{id}", Access::kAuthenticated, GetWebhook},
    {"PATCH", "/webhooks/{id}", Access::kAuthenticated, UpdateWebhook},
    {"DELETE", "/webhooks/{id}", Access::kAuthenticated, DeleteWebhook},
};

}  // namespace

void RegisterWebhookRoutes(Router& router, WebhookService& webhooks) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&webhooks, handler](const Call& c) { return handler(webhooks, c); });
  }
}

}  // namespace vouch::api::native
