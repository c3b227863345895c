#include "vouch/notify/subscription_filter.h"

#include <fmt/format.h>

#include "vouch/audit/actions.h"
#include "vouch/domain/model.h"
#include "vouch/policy/selection.h"

namespace vouch::notify {
namespace {

bool IsFamily(std::string_view pattern) { return pattern.size() >= 2 && pattern.ends_with(".*"); }

bool PatternMatches(std::string_view pattern, std::string_view action) {
  if (pattern == "*") return true;
  if (IsFamily(pattern)) return action.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == action;
}

}  // namespace

std::vector<std::string_view> SubscribableActions() {
  std::vector<std::string_view> names;
  for (const audit::ActionInfo& info : audit::Actions()) {
    if (info.webhooks) names.push_back(info.name);
  }
  return names;
}

Status CheckEventPatterns(const std::vector<std::string>& patterns) {
  if (patterns.empty()) {
    return InvalidArgument(
        "events: name at least one event (e.g. request.* or model_version.created)");
  }
  for (const std::string& p : patterns) {
    if (p.empty()) return InvalidArgument("events: an event pattern is empty");
    if (p == "*") continue;
    if (IsFamily(p)) {
      bool any = false;
      for (std::string_view name : SubscribableActions()) any = any || PatternMatches(p, name);
      if (!any) {
        return InvalidArgument(fmt::format(
            "events: \"{}\" matches no event a webhook may receive (see `vouch webhooks events`)",
            p));
      }
      continue;
    }
    std::optional<audit::Action> action = audit::FindAction(p);
    if (!action) {
      return InvalidArgument(
          fmt::format("events: unknown event \"{}\" (see `vouch webhooks events`)", p));
    }
    if (!audit::Describe(*action).webhooks) {
      return InvalidArgument(fmt::format(
          "events: \"{}\" is not sent to webhooks (identity, secrets and refusals stay inside)",
          p));
    }
  }
  return OkStatus();
}

Status CheckModelPattern(std::string_view glob) {
  if (glob.size() > kMaxNameLength) {
    return InvalidArgument(
        fmt::format("model: the pattern is longer than {} bytes", kMaxNameLength));
  }
  for (unsigned char c : glob) {
    if (c < 0x20 || c == 0x7f)
      return InvalidArgument("model: the pattern holds a control character");
  }
  return OkStatus();
}

bool MatchesEvent(const std::vector<std::string>& patterns, std::string_view action) {
  std::optional<audit::Action> known = audit::FindAction(action);
  if (!known || !audit::Describe(*known).webhooks) return false;
  for (const std::string& p : patterns) {
    if (PatternMatches(p, action)) return true;
  }
  return false;
}

bool MatchesModel(std::string_view model_pattern, std::string_view model) {
  if (model_pattern.empty()) return true;
  if (model.empty()) return false;
  return policy::GlobMatch(model_pattern, model);
}

}  // namespace vouch::notify
