// Webhook deliveries (issue 13) in the native API: a test delivery, a subscription's ledger, one
// delivery with its attempts, and redelivery. Who may see and redeliver what (the subscription's
// owner, or an admin) is WebhookDelivery's to decide.
#include <fmt/format.h>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/service/webhook_delivery.h"

namespace vouch::api::native {
namespace {

using service::WebhookDelivery;

json::object DeliveryJson(const store::DeliveryRecord& d) {
  json::object o{{"id", d.id},
                 {"uid", d.uid},
                 {"webhook_id", d.webhook_id},
                 {"event_seq", d.event_seq},
                 {"action", d.action},
                 {"state", store::DeliveryStateName(d.state)},
                 {"attempts", d.attempts},
                 {"creation_timestamp", d.created_ms}};
  if (d.state == store::DeliveryState::kPending) o["next_attempt_timestamp"] = d.next_attempt_ms;
  if (d.finished_ms) o["finished_timestamp"] = *d.finished_ms;
  if (d.last_status) o["last_status"] = *d.last_status;
  if (d.last_latency_ms) o["last_latency_ms"] = *d.last_latency_ms;
  if (!d.last_response.empty()) o["last_response"] = d.last_response;
  if (!d.last_error.empty()) o["last_error"] = d.last_error;
  return o;
}

json::object AttemptJson(const store::DeliveryAttempt& a) {
  json::object o{{"attempt", a.attempt}, {"server", a.server}, {"started_timestamp", a.started_ms}};
  if (a.latency_ms) o["latency_ms"] = *a.latency_ms;
  if (a.status) o["status"] = *a.status;
  if (!a.response.empty()) o["response"] = a.response;
  if (!a.error.empty()) o["error"] = a.error;
  return o;
}

Result<int64_t> WebhookId(const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, ParseInt("webhook id", c.path.at("id")));
  if (id < 1) return InvalidArgument("webhook id must be 1 or more");
  return id;
}

// A delivery's number or uid, as docs/openapi.yaml allows it.
Result<std::string_view> DeliveryId(const Call& c) {
  std::string_view id = c.path.at("id");
  bool ok = !id.empty() && id.size() <= 64;
  for (char ch : id) {
    ok = ok && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                ch == '-');
  }
  if (!ok) return InvalidArgument("delivery id must be a delivery's number or its uid");
  return id;
}

// These POSTs take no fields: no body, or an empty object.
Status NoFields(const Call& c) {
  if (c.request.body.empty()) return OkStatus();
  return Body(c, {}).status();
}

Result<HttpResponse> TestWebhook(WebhookDelivery& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, WebhookId(c));
  VOUCH_TRY(NoFields(c));
  VOUCH_ASSIGN_OR_RETURN(notify::AttemptOutcome o, d.Test(c.ctx, id));
  json::object out{{"delivered", o.status && *o.status >= 200 && *o.status < 300},
                   {"latency_ms", o.latency_ms}};
  if (o.status) out["status"] = *o.status;
  if (!o.response.empty()) out["response"] = o.response;
  if (!o.error.empty()) out["error"] = o.error;
  return Ok(out);
}

Result<HttpResponse> ListDeliveries(WebhookDelivery& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, WebhookId(c));
  std::optional<store::DeliveryState> state;
  if (const auto* v = c.query.First("state")) {
    VOUCH_ASSIGN_OR_RETURN(state, store::ParseDeliveryState(*v));
  }
  int limit = 100;
  if (const auto* v = c.query.First("limit")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t n, ParseInt("limit", *v));
    if (n < 1 || n > 1000) return InvalidArgument("limit must be between 1 and 1000");
    limit = static_cast<int>(n);
  }
  const std::string* token = c.query.First("page_token");
  VOUCH_ASSIGN_OR_RETURN(service::DeliveryPage page,
                         d.List(c.ctx, id, state, token ? *token : "", limit));
  json::array items;
  for (const auto& r : page.deliveries) items.push_back(DeliveryJson(r));
  json::object out{{"deliveries", std::move(items)}};
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return Ok(out);
}

Result<HttpResponse> ShowDelivery(WebhookDelivery& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::string_view id, DeliveryId(c));
  VOUCH_ASSIGN_OR_RETURN(service::DeliveryView v, d.Get(c.ctx, id));
  json::object out = DeliveryJson(v.delivery);
  out["webhook_name"] = v.webhook_name;
  json::array attempts;
  for (const auto& a : v.attempts) attempts.push_back(AttemptJson(a));
  out["attempt_log"] = std::move(attempts);
  return Ok(out);
}

Result<HttpResponse> RedeliverOne(WebhookDelivery& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::string_view id, DeliveryId(c));
  VOUCH_TRY(NoFields(c));
  VOUCH_ASSIGN_OR_RETURN(store::DeliveryRecord r, d.Redeliver(c.ctx, id));
  return Ok(DeliveryJson(r));
}

Result<HttpResponse> RedeliverDead(WebhookDelivery& d, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, WebhookId(c));
  VOUCH_TRY(NoFields(c));
  VOUCH_ASSIGN_OR_RETURN(int64_t n, d.RedeliverDead(c.ctx, id));
  return Ok({{"redelivered", n}});
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  Result<HttpResponse> (*handler)(WebhookDelivery&, const Call&);
};

// Paths below kPrefix. Each declares kAuthenticated; the service checks that the caller owns the
// subscription or is an admin.
constexpr Endpoint kEndpoints[] = {
    {"POST", "/webhooks/{id}/test", Access::kAuthenticated, TestWebhook},
    {"GET", "/webhooks/{id}/deliveries", Access::kAuthenticated, ListDeliveries},
    {"POST", "/webhooks/{id}/redeliver", Access::kAuthenticated, RedeliverDead},
    {"GET", "/deliveries/{id}", Access::kAuthenticated, ShowDelivery},
    {"POST", "/deliveries/{id}/redeliver", Access::kAuthenticated, RedeliverOne},
};

}  // namespace

void RegisterDeliveryRoutes(Router& router, WebhookDelivery& delivery) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&delivery, handler](const Call& c) { return handler(delivery, c); });
  }
}

}  // namespace vouch::api::native
