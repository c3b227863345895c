// The notification store's rows (issue 13): subscriptions (webhooks), the outbox rows they are
// fanned out from, one delivery per (event, subscription) and each attempt at it, as migration 0013
// holds them (src/vouch/store/README.md, "Notifications"). Plain rows: nothing here knows a format,
// a channel or who may read what; the service decides that.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::store {

enum class WebhookStatus { kActive, kDisabled };
std::string_view WebhookStatusName(WebhookStatus s);  // "active", "disabled"
// INVALID_ARGUMENT for anything but the names above.
Result<WebhookStatus> ParseWebhookStatus(std::string_view name);

// One subscription. `events` and `email_to` are JSON arrays of strings as stored (the service
// parses and checks them); `secret` is sealed under the master key (empty: none).
struct WebhookRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string url;            // http(s) URL; empty for an e-mail subscription
  std::string events;         // JSON array: ["request.*", "model_version.stage_changed"]
  std::string model_pattern;  // a glob over model names; empty: registry-wide
  std::string format;         // "vouch", "cloudevents", "slack", "mlflow", "email"
  std::string email_to;       // JSON array: "reviewers", "requester" or addresses; "[]" for none
  std::string secret;         // sealed bytes; empty: no secret
  WebhookStatus status = WebhookStatus::kActive;
  int64_t owner_id = 0;  // the principal that created it; its access is checked at delivery
  // The audit head when it was created: it receives events with a higher sequence number only.
  int64_t after_seq = 0;
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  std::optional<TimeMs> deleted_ms;  // deleted subscriptions keep their ledger
};

// ListWebhooks' filters. Oldest first (lowest id first), strictly after `after_id` when not 0.
struct WebhookFilter {
  int64_t owner_id = 0;  // 0: anyone's
  bool include_deleted = false;
  int64_t after_id = 0;
  int limit = 100;
};

// An outbox row not yet fanned out into deliveries.
struct OutboxRow {
  int64_t id = 0;
  int64_t event_seq = 0;
  std::string topic;    // the action's name
  std::string payload;  // the canonical event, with the outbox extras
  TimeMs created_ms = 0;
};

// pending: to be sent (now or at next_attempt_ms); delivered: a 2xx came back; dead: given up
// after the configured attempts or age (redeliver puts it back to pending); skipped: not sent,
// and `last_error` says why (the owner can no longer read the model, the format cannot express
// the event).
enum class DeliveryState { kPending, kDelivered, kDead, kSkipped };
std::string_view DeliveryStateName(DeliveryState s);  // "pending", "delivered", "dead", "skipped"
// INVALID_ARGUMENT for anything but the names above.
Result<DeliveryState> ParseDeliveryState(std::string_view name);

// One event for one subscription. `uid` is the stable delivery id sent on the wire (webhook-id,
// X-MLflow-Delivery-Id, CloudEvents id): the same across retries and redeliveries.
struct DeliveryRecord {
  int64_t id = 0;
  std::string uid;
  int64_t webhook_id = 0;
  int64_t event_seq = 0;
  std::string action;
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;
  TimeMs next_attempt_ms = 0;
  TimeMs created_ms = 0;
  std::optional<TimeMs> finished_ms;  // delivered, dead or skipped
  // The last attempt's outcome.
  std::optional<int> last_status;  // the HTTP status (or SMTP reply code); none: no answer
  std::optional<TimeMs> last_latency_ms;
  std::string last_response;  // an excerpt of the answer's body
  std::string last_error;     // transport failure, or why skipped / dead
};

// ListDeliveries' filters. Newest first (highest id first), strictly before `before_id` when not 0.
struct DeliveryFilter {
  int64_t webhook_id = 0;  // 0: every subscription's
  std::optional<DeliveryState> state;
  int64_t before_id = 0;
  int limit = 100;
};

// One attempt at a delivery, in the ledger for good (until pruned with its delivery).
struct DeliveryAttempt {
  int64_t delivery_id = 0;
  int attempt = 0;     // 1, 2, 3 … per delivery (redeliveries go on counting)
  std::string server;  // the server that made it
  TimeMs started_ms = 0;
  std::optional<TimeMs> latency_ms;  // none while in flight (or when its server died)
  std::optional<int> status;
  std::string response;  // excerpt
  std::string error;
};

}  // namespace vouch::store
