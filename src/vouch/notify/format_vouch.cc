// vouch's own format: a JSON envelope in the shape the Standard Webhooks spec recommends
// ({"type", "timestamp", "data"}), with the delivery and links beside it, signed with the
// webhook-id / webhook-timestamp / webhook-signature headers.
#include "vouch/notify/event_view.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"

namespace vouch::notify {
namespace {

class VouchFormat final : public Format {
 public:
  std::string_view name() const override { return "vouch"; }

  Result<Rendered> Render(const Envelope& envelope) const override {
    if (envelope.action.empty()) return InvalidArgument("the event has no action");
    json::object body;
    body["type"] = envelope.action;
    body["timestamp"] = TextOf(envelope.event, "time");
    body["data"] = PublicEventData(envelope.event);
    body["delivery"] = {
        {"id", envelope.delivery_id},
        {"attempt", envelope.attempt},
        {"webhook", {{"id", envelope.webhook_id}, {"name", envelope.webhook_name}}}};
    json::object links = EventLinks(envelope.event, envelope.public_url);
    if (!links.empty()) body["links"] = std::move(links);
    Rendered out;
    out.body = SerializeJson(body);
    out.headers.emplace_back("Content-Type", "application/json");
    AddStandardWebhooksHeaders(envelope, out.body, out.headers);
    return out;
  }
};

}  // namespace

std::unique_ptr<Format> NewVouchFormat() { return std::make_unique<VouchFormat>(); }

}  // namespace vouch::notify
