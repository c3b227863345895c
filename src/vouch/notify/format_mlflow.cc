// MLflow's webhook payload (mlflow/webhooks/delivery.py, types.py): {"entity", "action",
// "timestamp", "data"} with X-MLflow-Delivery-Id, X-MLflow-Timestamp and, when the subscription has
// a secret, X-MLflow-Signature: v1,base64(HMAC-SHA256(secret's UTF-8, "{id}.{timestamp}.{body}")).
// Only the events MLflow defines are expressible; the data objects are built from what vouch's
// audit events record (docs/webhook-formats.md lists the differences).
#include <fmt/format.h>

#include <array>

#include "vouch/notify/event_view.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"

namespace vouch::notify {
namespace {

struct MlflowEvent {
  std::string_view vouch_action;
  std::string_view entity;
  std::string_view action;
};

// MLflow's registry events (mlflow/entities/webhook.py), each with the one vouch action recorded
// where MLflow fires it. MLflow sends model_version_alias.created for every alias set, a move of
// an existing alias included; so does vouch. Its prompt events have no vouch counterpart.
constexpr auto kMlflowEvents = std::to_array<MlflowEvent>({
    {"model.created", "registered_model", "created"},
    {"model_version.created", "model_version", "created"},
    {"model_version.tag_set", "model_version_tag", "set"},
    {"model_version.tag_deleted", "model_version_tag", "deleted"},
    {"model_alias.set", "model_version_alias", "created"},
    {"model_alias.deleted", "model_version_alias", "deleted"},
});

// MLflow's `timestamp`: Python's datetime.now(timezone.utc).isoformat() of the attempt,
// "2026-12-06T10:00:00.123000+00:00".
std::string IsoTimestamp(TimeMs now_ms) {
  std::string t = FormatRfc3339Ms(now_ms);  // "2026-12-06T10:00:00.123Z"
  if (t.ends_with('Z')) t.pop_back();
  return t + "000+00:00";
}

Result<std::string> Required(const json::object& o, std::string_view key, std::string_view what) {
  std::string v = TextOf(o, key);
  if (v.empty()) {
    return InvalidArgument(
        fmt::format("the event records no {} (needed by MLflow's payload)", what));
  }
  return v;
}

json::value OrNull(std::string v) { return v.empty() ? json::value(nullptr) : json::value(v); }

json::object StringMap(const json::object& o, std::string_view key) {
  json::object out;
  for (const auto& [k, v] : ObjectOf(o, key)) {
    if (v.is_string()) out[k] = v;
  }
  return out;
}

// The `data` object of MLflow's payload class for `e`, from the audit event.
Result<json::object> MlflowData(const MlflowEvent& e, const json::object& event) {
  const json::object& target = ObjectOf(event, "target");
  const json::object& before = ObjectOf(event, "before");
  const json::object& after = ObjectOf(event, "after");
  VOUCH_ASSIGN_OR_RETURN(std::string name, Required(target, "model", "model name"));
  if (e.entity == "registered_model") {
    // RegisteredModelCreatedPayload: name, tags, description (as given: "" when none).
    return json::object{{"name", name},
                        {"tags", StringMap(after, "tags")},
                        {"description", TextOf(after, "description")}};
  }
  VOUCH_ASSIGN_OR_RETURN(std::string version, Required(target, "version", "version"));
  if (e.entity == "model_version") {
    // ModelVersionCreatedPayload: name, version (a string), source, run_id and description
    // (null when empty), tags.
    return json::object{{"name", name},
                        {"version", version},
                        {"source", TextOf(after, "source")},
                        {"run_id", OrNull(TextOf(after, "run_id"))},
                        {"tags", StringMap(after, "tags")},
                        {"description", OrNull(TextOf(after, "description"))}};
  }
  if (e.entity == "model_version_tag") {
    if (e.action == "set") {
      VOUCH_ASSIGN_OR_RETURN(std::string key, Required(after, "key", "tag key"));
      return json::object{
          {"name", name}, {"version", version}, {"key", key}, {"value", TextOf(after, "value")}};
    }
    VOUCH_ASSIGN_OR_RETURN(std::string key, Required(before, "key", "tag key"));
    return json::object{{"name", name}, {"version", version}, {"key", key}};
  }
  // model_version_alias
  if (e.action == "created") {
    VOUCH_ASSIGN_OR_RETURN(std::string alias, Required(after, "alias", "alias"));
    return json::object{{"name", name}, {"alias", alias}, {"version", version}};
  }
  VOUCH_ASSIGN_OR_RETURN(std::string alias, Required(before, "alias", "alias"));
  return json::object{{"name", name}, {"alias", alias}};
}

const MlflowEvent* Find(std::string_view vouch_action) {
  for (const MlflowEvent& e : kMlflowEvents) {
    if (e.vouch_action == vouch_action) return &e;
  }
  return nullptr;
}

class MlflowFormat final : public Format {
 public:
  std::string_view name() const override { return "mlflow"; }

  bool Accepts(std::string_view action) const override { return Find(action) != nullptr; }

  Result<Rendered> Render(const Envelope& envelope) const override {
    const MlflowEvent* e = Find(envelope.action);
    if (e == nullptr) {
      return InvalidArgument(
          fmt::format("MLflow's webhooks have no event for {}", envelope.action));
    }
    VOUCH_ASSIGN_OR_RETURN(json::object data, MlflowData(*e, envelope.event));
    json::object body{{"entity", e->entity},
                      {"action", e->action},
                      {"timestamp", IsoTimestamp(envelope.now_ms)},
                      {"data", std::move(data)}};
    Rendered out;
    out.body = SerializeJson(body);
    const std::string timestamp = UnixSecondsText(envelope.now_ms);
    out.headers.emplace_back("Content-Type", "application/json");
    out.headers.emplace_back("X-MLflow-Delivery-Id", envelope.delivery_id);
    out.headers.emplace_back("X-MLflow-Timestamp", timestamp);
    if (!envelope.secret.empty()) {
      out.headers.emplace_back("X-MLflow-Signature",
                               SignV1(envelope.secret, envelope.delivery_id, timestamp, out.body));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Format> NewMlflowFormat() { return std::make_unique<MlflowFormat>(); }

std::optional<std::pair<std::string_view, std::string_view>> MlflowEventFor(
    std::string_view action) {
  const MlflowEvent* e = Find(action);
  if (e == nullptr) return std::nullopt;
  return std::pair{e->entity, e->action};
}

std::vector<std::string_view> VouchActionsFor(std::string_view entity, std::string_view action) {
  std::vector<std::string_view> out;
  for (const MlflowEvent& e : kMlflowEvents) {
    if (e.entity == entity && e.action == action) out.push_back(e.vouch_action);
  }
  return out;
}

}  // namespace vouch::notify
