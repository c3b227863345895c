// A made-up event for test deliveries (`vouch webhooks test`, MLflow's /webhooks/{id}/test): an
// outbox payload of the given action that every format accepting the action renders, with MLflow's
// example values (model "example_model", version 1, tag "example_key" = "example_value", alias
// "example_alias") so that an MLflow receiver's test looks like MLflow's own. It carries
// "test": true and is never in the audit log (seq 0).
#pragma once

#include <string_view>

#include "vouch/util/json.h"
#include "vouch/util/time.h"

namespace vouch::notify {

// `action` should be a catalogue name; any other gets a target naming no model.
json::object ExampleEvent(std::string_view action, TimeMs now_ms);

}  // namespace vouch::notify
