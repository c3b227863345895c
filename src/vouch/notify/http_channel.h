// The HTTP channel: one attempt at one delivery is one POST of the format's rendering to the
// subscription's URL, through the private-address guard (net/http_client.h,
// ClientOptions::allow_private_addresses), with connect and total timeouts, no redirects and no
// proxy. docs/operations.md, "Webhook receivers", says the rules for operators.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/net/http_client.h"
#include "vouch/notify/channel.h"
#include "vouch/util/time.h"

namespace vouch::notify {

// Sent with every delivery (a format's own User-Agent, if it sets one, wins).
inline constexpr std::string_view kWebhookUserAgent = "vouch-webhooks/0.1.0";

struct HttpChannelOptions {
  // --webhook-allow-private: receivers on private, loopback and link-local addresses (judged on the
  // address connected to), over https or plain http. Either way a public receiver needs https://
  // with a certificate that verifies.
  bool allow_private = false;
  std::chrono::milliseconds connect_timeout{5000}, timeout{15000};
  size_t max_response_bytes = 1024;  // how much of the answer's body is kept (AttemptOutcome)
  std::string ca_file;               // empty: the system's trust store
};

// The seconds or HTTP-date of a Retry-After header as a wait in milliseconds from `now_ms` (a date
// in the past: 0); nullopt when the value is neither. Waits are capped at 1e9 seconds.
std::optional<TimeMs> ParseRetryAfter(std::string_view value, TimeMs now_ms);

// Thread-safe: libcurl handles are not, so each Send borrows a client from a small pool (one per
// thread sending at once; each keeps its connections alive for the next attempt) and gives it back.
class HttpChannel final : public Channel {
 public:
  // Makes the pool's clients. The default makes net::CurlClient with the options; tests may script.
  using ClientFactory = std::function<std::unique_ptr<net::HttpClient>(const HttpChannelOptions&)>;

  explicit HttpChannel(HttpChannelOptions options, ClientFactory factory = nullptr);

  // Renders `envelope` with `format` and POSTs it to webhook.url with the format's headers and a
  // User-Agent. The outcome:
  // - an answer (any status): `status`, `latency_ms`, `response` (at most max_response_bytes of the
  //   body, as valid UTF-8 without NUL), and on 429 or 503 `retry_after_ms` from Retry-After;
  // - no answer (refused, reset, timed out, name not resolved, TLS not verified): `error`, no
  //   status, to be retried;
  // - the guard refused the address, the URL is unusable, or the format could not render the
  //   event: `error` and `permanent` (no later attempt can do better).
  AttemptOutcome Send(const store::WebhookRecord& webhook, const Envelope& envelope,
                      const Format& format) override;

 private:
  std::unique_ptr<net::HttpClient> Borrow();
  void GiveBack(std::unique_ptr<net::HttpClient> client);

  const HttpChannelOptions options_;
  const ClientFactory factory_;
  std::mutex mu_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_;  // guarded by mu_
};

}  // namespace vouch::notify
