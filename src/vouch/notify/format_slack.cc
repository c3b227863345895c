// Slack's incoming webhooks: `text` (the one-line summary; what notifications and clients
// without blocks show) and Block Kit `blocks`: a section with the summary and the comment, a
// context line with the action, sequence number and time, and a button to the request (or the
// version, or the model) when the server's public URL is known. Slack signs nothing it receives,
// so no signature headers are sent.
#include <fmt/format.h>

#include "vouch/notify/event_view.h"
#include "vouch/notify/formats.h"
#include "vouch/util/text.h"

namespace vouch::notify {
namespace {

// Section texts are limited to 3,000 characters; a comment is cut well below that.
constexpr size_t kMaxCommentBytes = 1000;

// Slack's mrkdwn and `text` give &, < and > meaning (entities, links, mentions): user text is
// escaped so that a model called "<!channel>" notifies no one.
std::string SlackEscape(std::string_view text) { return EscapeHtml(text, /*quotes=*/false); }

std::string ButtonText(const json::object& links) {
  if (links.contains("request")) return "Open the request";
  if (links.contains("version")) return "Open the version";
  return "Open the model";
}

class SlackFormat final : public Format {
 public:
  std::string_view name() const override { return "slack"; }

  Result<Rendered> Render(const Envelope& envelope) const override {
    if (envelope.action.empty()) return InvalidArgument("the event has no action");
    const std::string summary = SlackEscape(EventSummary(envelope.event));
    std::string section = summary;
    if (std::string comment = TextOf(envelope.event, "comment"); !comment.empty()) {
      std::string cut = SanitizeUtf8(comment, kMaxCommentBytes);
      if (cut.size() < comment.size()) cut += "…";
      // A quote in mrkdwn: each line of the comment starts with "&gt;" (Slack's escaped ">").
      std::string quoted = "&gt; ";
      for (char c : SlackEscape(cut)) {
        quoted += c;
        if (c == '\n') quoted += "&gt; ";
      }
      section += "\n" + quoted;
    }
    json::array blocks;
    blocks.push_back(
        json::object{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", section}}}});
    std::string context =
        fmt::format("`{}` · event {}", SlackEscape(envelope.action), envelope.event_seq);
    if (std::string time = TextOf(envelope.event, "time"); !time.empty()) {
      context += " · " + SlackEscape(time);
    }
    blocks.push_back(json::object{
        {"type", "context"},
        {"elements", json::array{json::object{{"type", "mrkdwn"}, {"text", context}}}}});
    std::string text = summary;
    const json::object links = EventLinks(envelope.event, envelope.public_url);
    if (std::string url = PrimaryLink(links); !url.empty()) {
      blocks.push_back(json::object{
          {"type", "actions"},
          {"elements",
           json::array{json::object{{"type", "button"},
                                    {"text", {{"type", "plain_text"}, {"text", ButtonText(links)}}},
                                    {"url", url}}}}});
      text += fmt::format(" <{}|{}>", url, "open");
    }
    json::object body{{"text", text}, {"blocks", std::move(blocks)}};
    Rendered out;
    out.body = SerializeJson(body);
    out.headers.emplace_back("Content-Type", "application/json");
    return out;
  }
};

}  // namespace

std::unique_ptr<Format> NewSlackFormat() { return std::make_unique<SlackFormat>(); }

}  // namespace vouch::notify
