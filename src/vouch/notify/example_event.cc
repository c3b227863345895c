#include "vouch/notify/example_event.h"

#include "vouch/audit/actions.h"
#include "vouch/domain/audit_event.h"

namespace vouch::notify {
namespace {

constexpr std::string_view kModel = "example_model";
constexpr std::string_view kKey = "example_key";
constexpr std::string_view kValue = "example_value";
constexpr std::string_view kAlias = "example_alias";

json::object TargetFor(std::string_view action) {
  std::optional<audit::Action> found = audit::FindAction(action);
  if (!found) return {{"type", "example"}};
  switch (audit::Describe(*found).target) {
    case audit::TargetKind::kModel:
      return {{"type", "model"}, {"model", kModel}};
    case audit::TargetKind::kModelVersion: {
      json::object t{{"type", "model_version"}, {"model", kModel}, {"version", 1}};
      if (action.starts_with("model_alias.")) t["alias"] = kAlias;
      if (action == "check.posted") t["check"] = "example/check";
      return t;
    }
    case audit::TargetKind::kApprovalRequest:
      return {{"type", "approval_request"},
              {"model", kModel},
              {"version", 1},
              {"request", 0},
              {"to", "stage:Production"}};
    case audit::TargetKind::kPolicy:
      return {{"type", "policy"}, {"policy", "example_policy"}, {"version", 1}};
    default:
      return {{"type", audit::TargetKindName(audit::Describe(*found).target)}};
  }
}

// What `before` and `after` record for the actions whose payloads read them.
std::pair<json::value, json::value> ChangeFor(std::string_view action) {
  const json::object tag{{"key", kKey}, {"value", kValue}};
  const json::object alias{{"alias", kAlias}, {"version", 1}};
  if (action == "model.created") {
    return {nullptr, json::object{{"name", kModel},
                                  {"description", "An example registered model"},
                                  {"tags", {{kKey, kValue}}}}};
  }
  if (action == "model_version.created") {
    return {nullptr, json::object{{"source", "runs:/abcd1234abcd5678/model"},
                                  {"run_id", "abcd1234abcd5678"},
                                  {"description", "An example model version"},
                                  {"stage", "None"},
                                  {"tags", {{kKey, kValue}}}}};
  }
  if (action.ends_with("_set") && action != "model_alias.set") return {nullptr, tag};
  if (action.ends_with("_deleted") && action != "model_alias.deleted") return {tag, nullptr};
  if (action == "model_alias.set") return {nullptr, alias};
  if (action == "model_alias.deleted") return {alias, nullptr};
  if (action == "model_version.stage_changed") {
    return {json::object{{"stage", "None"}}, json::object{{"stage", "Staging"}}};
  }
  return {nullptr, nullptr};
}

}  // namespace

json::object ExampleEvent(std::string_view action, TimeMs now_ms) {
  auto [before, after] = ChangeFor(action);
  return {{"schema", kAuditSchemaVersion},
          {"seq", 0},
          {"time", FormatRfc3339Ms(now_ms)},
          {"time_ms", now_ms},
          {"actor", {{"id", 0}, {"name", "vouch"}, {"auth", "system"}}},
          {"source", {{"door", "system"}, {"address", ""}, {"user_agent", ""}}},
          {"action", action},
          {"target", TargetFor(action)},
          {"before", std::move(before)},
          {"after", std::move(after)},
          {"comment", "a test delivery"},
          {"request_id", ""},
          {"outcome", "done"},
          {"test", true}};
}

}  // namespace vouch::notify
