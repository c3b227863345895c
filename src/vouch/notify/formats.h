// The built-in formats (docs/webhook-formats.md describes each body and how to verify it):
//   vouch        vouch's JSON envelope, signed with Standard Webhooks headers
//   cloudevents  a CloudEvents 1.0 structured event, signed the same way
//   slack        Slack's incoming-webhook `text` and `blocks`
//   mlflow       MLflow's webhook payload and X-MLflow-* signature, for the events MLflow knows
// and the mapping between vouch's actions and MLflow's webhook events, which MLflow's webhook door
// uses to read `events: [{entity, action}]`.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "vouch/notify/format.h"
#include "vouch/util/status.h"

namespace vouch::notify {

// Registers vouch, cloudevents, slack and mlflow in `registry`. INVALID_ARGUMENT when one of those
// names is registered already.
Status AddBuiltinFormats(FormatRegistry& registry);

std::unique_ptr<Format> NewVouchFormat();
std::unique_ptr<Format> NewCloudEventsFormat();
std::unique_ptr<Format> NewSlackFormat();
std::unique_ptr<Format> NewMlflowFormat();

// The MLflow webhook event a vouch action is delivered as: {entity, action} in MLflow's lower-case
// names, e.g. "model_version.created" -> {"model_version", "created"}; nullopt when MLflow has no
// such event (stage changes, requests, …).
std::optional<std::pair<std::string_view, std::string_view>> MlflowEventFor(
    std::string_view action);
// The vouch actions delivered as MLflow's event {entity, action} (lower-case names): empty when
// MLflow has no such event or vouch records none where MLflow would fire it (prompts).
std::vector<std::string_view> VouchActionsFor(std::string_view entity, std::string_view action);

}  // namespace vouch::notify
