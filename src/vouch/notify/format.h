// Formats: how one audit event is projected into what a subscription receives. Each format is a
// projection defined once (vouch's signed JSON envelope, CloudEvents 1.0, Slack's incoming
// webhooks, MLflow's webhook payload), with client addresses and user agents left out. Delivery
// knows formats only through this interface, so a new one (the SageMaker door's EventBridge) plugs
// in by registering itself, without touching delivery.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/net/http_client.h"
#include "vouch/util/json.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::notify {

// Everything a format may use to render one attempt at one delivery.
struct Envelope {
  // Stable across retries and redeliveries: the receiver's idempotency key (webhook-id,
  // X-MLflow-Delivery-Id, the CloudEvents id).
  std::string delivery_id;
  int attempt = 1;
  int64_t event_seq = 0;
  std::string action;  // the catalogue's name, e.g. "request.opened"
  // The outbox payload: the canonical audit event (seq, time, actor, action, target, details …)
  // with the outbox extras (request.opened's "recipients").
  json::object event;
  TimeMs now_ms = 0;   // the attempt's time: signatures' timestamps
  std::string secret;  // the subscription's secret, opened; empty: none (sent unsigned)
  // The server's public base URL (--public-url), for links (to a request, a version); empty when
  // unknown (links are then left out).
  std::string public_url;
  int64_t webhook_id = 0;
  std::string webhook_name;
};

// An HTTP request's body and headers (Content-Type among them), as the format wants it sent.
struct Rendered {
  net::HeaderList headers;
  std::string body;
};

class Format {
 public:
  virtual ~Format() = default;
  // "vouch", "cloudevents", "slack", "mlflow", …: what `--format` names.
  virtual std::string_view name() const = 0;
  // Whether this format can express `action` (MLflow's webhooks know a few events only). A
  // delivery of an action it cannot express is skipped and recorded so.
  virtual bool Accepts(std::string_view action) const { return !action.empty(); }
  // The request to send. INVALID_ARGUMENT when the event lacks what the format needs (the
  // delivery is then skipped, with the message recorded).
  virtual Result<Rendered> Render(const Envelope& envelope) const = 0;
};

// The formats a server knows, by name. Filled at wiring; read-only (and thread-safe) after.
class FormatRegistry {
 public:
  // INVALID_ARGUMENT when a format of that name is there already.
  Status Add(std::unique_ptr<Format> format);
  const Format* Find(std::string_view name) const;
  std::vector<std::string_view> Names() const;  // in the order added

 private:
  std::vector<std::unique_ptr<Format>> formats_;
};

}  // namespace vouch::notify
