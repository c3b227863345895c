// dev webhook-render: a test-support command that renders one outbox payload (read from standard
// input) through one of the built-in notification formats and prints what would be sent, so that
// tests can check the formats with receivers' own verification code. Sends nothing, opens nothing.
#include <fmt/format.h>

#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "vouch/cli/commands.h"
#include "vouch/notify/formats.h"
#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

struct RenderArgs {
  std::string format;
  std::string secret;
  std::string delivery_id;
  std::optional<int64_t> timestamp_ms;
  std::string public_url;
  int attempt = 1;
  int64_t webhook_id = 0;
  std::string webhook_name = "dev";
};

int Render(const RenderArgs& a, Session& s, const Clock& clock) {
  notify::FormatRegistry registry;
  if (Status added = notify::AddBuiltinFormats(registry); !added.ok()) {
    return s.Fail(added.message(), kExitRefused);
  }
  const notify::Format* format = registry.Find(a.format);
  if (format == nullptr) {
    return s.Fail(fmt::format("--format: no format \"{}\" (there are {})", a.format,
                              fmt::join(registry.Names(), ", ")),
                  kExitUsage);
  }
  const std::string input(std::istreambuf_iterator<char>(std::cin), {});
  Result<json::object> payload = ParseJsonObject(input);
  if (!payload.ok()) {
    return s.Fail(fmt::format("standard input: {}", payload.status().message()), kExitUsage);
  }
  notify::Envelope e;
  e.delivery_id = a.delivery_id.empty() ? "msg_" + Base64UrlEncode(RandomBytes(18)) : a.delivery_id;
  e.attempt = a.attempt;
  if (auto it = payload->find("seq"); it != payload->end() && it->value().is_int64()) {
    e.event_seq = it->value().get_int64();
  }
  if (auto it = payload->find("action"); it != payload->end() && it->value().is_string()) {
    e.action = std::string(it->value().get_string());
  }
  e.event = *std::move(payload);
  e.now_ms = a.timestamp_ms.value_or(clock.NowMs());
  e.secret = a.secret;
  e.public_url = a.public_url;
  e.webhook_id = a.webhook_id;
  e.webhook_name = a.webhook_name;
  if (!format->Accepts(e.action)) {
    return s.Fail(fmt::format("format {} cannot express \"{}\"", format->name(), e.action),
                  kExitRefused);
  }
  Result<notify::Rendered> rendered = format->Render(e);
  if (!rendered.ok()) return s.Fail(rendered.status().message(), kExitRefused);
  json::array headers;
  for (const auto& [name, value] : rendered->headers) headers.push_back(json::array{name, value});
  s.out() << SerializeJson(json::object{{"headers", std::move(headers)}, {"body", rendered->body}})
          << "\n";
  return kExitOk;
}

}  // namespace

void AddWebhookRenderCommand(CLI::App& dev, Action& chosen) {
  auto a = std::make_shared<RenderArgs>();
  CLI::App* render = dev.add_subcommand(
      "webhook-render",
      "Render an outbox payload (JSON on standard input) through a notification format and print "
      "{\"headers\": [[name, value]…], \"body\": \"…\"}; sends nothing");
  render->add_option("--format", a->format, "vouch, cloudevents, slack or mlflow")->required();
  render->add_option("--secret", a->secret, "The subscription's secret (none: unsigned)");
  render->add_option("--delivery-id", a->delivery_id, "The delivery id (default: a random one)");
  render->add_option("--timestamp-ms", a->timestamp_ms,
                     "The attempt's time, Unix milliseconds (default: now)");
  render->add_option("--public-url", a->public_url, "The server's public URL, for links");
  render->add_option("--attempt", a->attempt, "The attempt's number")->capture_default_str();
  render->add_option("--webhook-id", a->webhook_id, "The subscription's id")->capture_default_str();
  render->add_option("--webhook-name", a->webhook_name, "The subscription's name")
      ->capture_default_str();
  OnSelect(*render, chosen, [a](Session& s, const Clock& clock) { return Render(*a, s, clock); });
}

}  // namespace vouch::cli
