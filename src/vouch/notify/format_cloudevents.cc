// CloudEvents 1.0 in structured content mode (the JSON event format): the event's attributes and
// its data in one JSON object, sent as application/cloudevents+json and signed with the same
// Standard Webhooks headers as vouch's format.
#include "vouch/notify/event_view.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"

namespace vouch::notify {
namespace {

// The prefix of every type: the reverse-DNS form the spec recommends, then the catalogue's name.
constexpr std::string_view kTypePrefix = "io.vouch.";
// The source when the server's public URL is unknown: a URI-reference naming the registry.
constexpr std::string_view kDefaultSource = "vouch";

class CloudEventsFormat final : public Format {
 public:
  std::string_view name() const override { return "cloudevents"; }

  Result<Rendered> Render(const Envelope& envelope) const override {
    if (envelope.action.empty()) return InvalidArgument("the event has no action");
    if (envelope.delivery_id.empty()) return InvalidArgument("the delivery has no id");
    json::object event;
    event["specversion"] = "1.0";
    event["id"] = envelope.delivery_id;
    event["source"] = envelope.public_url.empty() ? std::string(kDefaultSource)
                                                  : std::string(envelope.public_url);
    event["type"] = std::string(kTypePrefix) + envelope.action;
    if (std::string subject = EventSubject(envelope.event); !subject.empty()) {
      event["subject"] = std::move(subject);
    }
    if (std::string time = TextOf(envelope.event, "time"); !time.empty()) event["time"] = time;
    event["datacontenttype"] = "application/json";
    // Extension attributes (lower-case letters and digits only, as the spec requires).
    event["vouchseq"] = envelope.event_seq;
    event["vouchattempt"] = envelope.attempt;
    json::object data = PublicEventData(envelope.event);
    json::object links = EventLinks(envelope.event, envelope.public_url);
    if (!links.empty()) data["links"] = std::move(links);
    event["data"] = std::move(data);
    Rendered out;
    out.body = SerializeJson(event);
    out.headers.emplace_back("Content-Type", "application/cloudevents+json; charset=utf-8");
    AddStandardWebhooksHeaders(envelope, out.body, out.headers);
    return out;
  }
};

}  // namespace

std::unique_ptr<Format> NewCloudEventsFormat() { return std::make_unique<CloudEventsFormat>(); }

}  // namespace vouch::notify
