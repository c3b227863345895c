#include "vouch/store/webhook_rows.h"

#include <fmt/format.h>

#include <array>

namespace vouch::store {
namespace {

constexpr std::array kWebhookStatuses = {WebhookStatus::kActive, WebhookStatus::kDisabled};
constexpr std::array kDeliveryStates = {DeliveryState::kPending, DeliveryState::kDelivered,
                                        DeliveryState::kDead, DeliveryState::kSkipped};

}  // namespace

std::string_view WebhookStatusName(WebhookStatus s) {
  switch (s) {
    case WebhookStatus::kActive:
      return "active";
    case WebhookStatus::kDisabled:
      return "disabled";
  }
  return "active";
}

Result<WebhookStatus> ParseWebhookStatus(std::string_view name) {
  for (WebhookStatus s : kWebhookStatuses) {
    if (WebhookStatusName(s) == name) return s;
  }
  return InvalidArgument(fmt::format("unknown webhook status \"{}\" (active or disabled)", name));
}

std::string_view DeliveryStateName(DeliveryState s) {
  switch (s) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kDead:
      return "dead";
    case DeliveryState::kSkipped:
      return "skipped";
  }
  return "pending";
}

Result<DeliveryState> ParseDeliveryState(std::string_view name) {
  for (DeliveryState s : kDeliveryStates) {
    if (DeliveryStateName(s) == name) return s;
  }
  return InvalidArgument(
      fmt::format("unknown delivery state \"{}\" (pending, delivered, dead or skipped)", name));
}

}  // namespace vouch::store
