#include "vouch/notify/http_channel.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

#include "vouch/util/text.h"

namespace vouch::notify {
namespace {

// Idle clients kept for reuse; more threads than this sending at once make clients that are dropped
// after their attempt.
constexpr size_t kMaxIdleClients = 8;
constexpr int64_t kMaxRetryAfterSeconds = 1'000'000'000;

// The channel's wording of libcurl's failures. Only a URL curl cannot use is permanent; everything
// else (resolution, connection, TLS, timeouts, the CA file) may come right, so it is retried.
Status ChannelTransportFailure(int curl_code, std::string_view detail) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(fmt::format("the URL cannot be used: {}", detail));
    case CURLE_OPERATION_TIMEDOUT:
      return Unavailable(fmt::format("timed out: {}", detail));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable(fmt::format("TLS: {}", detail));
    default:
      return Unavailable(fmt::format("no answer: {}", detail));
  }
}

// IMF-fixdate, and the obsolete RFC 850 and asctime forms HTTP still asks recipients to accept.
std::optional<TimeMs> ParseHttpDate(std::string_view value) {
  const std::string text(value);
  for (const char* form :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), form, &tm);
    if (end != nullptr && *end == '\0') return static_cast<TimeMs>(::timegm(&tm)) * 1000;
  }
  return std::nullopt;
}

// What the ledger keeps of an answer's body: valid UTF-8 (PostgreSQL's text holds nothing else) and
// no NUL (nor that).
std::string Excerpt(std::string_view body, size_t max_bytes) {
  std::string text = SanitizeUtf8(body, max_bytes);
  std::erase(text, '\0');
  return text;
}

}  // namespace

std::optional<TimeMs> ParseRetryAfter(std::string_view value, TimeMs now_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range || seconds > kMaxRetryAfterSeconds) {
      seconds = kMaxRetryAfterSeconds;
    } else if (ec != std::errc() || end != value.data() + value.size()) {
      return std::nullopt;
    }
    return seconds * 1000;
  }
  std::optional<TimeMs> at = ParseHttpDate(value);
  if (!at) return std::nullopt;
  return std::clamp<TimeMs>(*at - now_ms, 0, kMaxRetryAfterSeconds * 1000);
}

HttpChannel::HttpChannel(HttpChannelOptions options, ClientFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

std::unique_ptr<net::HttpClient> HttpChannel::Borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<net::HttpClient> client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  if (factory_) return factory_(options_);
  return std::make_unique<net::CurlClient>(
      net::ClientOptions{.ca_file = options_.ca_file,
                         .connect_timeout = options_.connect_timeout,
                         .timeout = options_.timeout,
                         .max_body_bytes = options_.max_response_bytes,
                         .allow_private_addresses = options_.allow_private,
                         .https_for_public_addresses = true},
      &ChannelTransportFailure);
}

void HttpChannel::GiveBack(std::unique_ptr<net::HttpClient> client) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleClients) idle_.push_back(std::move(client));
}

AttemptOutcome HttpChannel::Send(const store::WebhookRecord& webhook, const Envelope& envelope,
                                 const Format& format) {
  AttemptOutcome outcome;
  if (webhook.url.empty()) {
    outcome.error = "the subscription has no URL";
    outcome.permanent = true;
    return outcome;
  }
  Result<Rendered> rendered = format.Render(envelope);
  if (!rendered.ok()) {
    outcome.error = fmt::format("the {} format cannot render this event: {}", format.name(),
                                rendered.status().message());
    outcome.permanent = true;
    return outcome;
  }
  net::HttpRequest request{.method = "POST",
                           .url = webhook.url,
                           .headers = std::move(rendered->headers),
                           .body = std::move(rendered->body)};
  const bool has_user_agent =
      std::any_of(request.headers.begin(), request.headers.end(),
                  [](const auto& h) { return EqualsIgnoreCase(h.first, "User-Agent"); });
  if (!has_user_agent) request.headers.emplace_back("User-Agent", std::string(kWebhookUserAgent));

  std::unique_ptr<net::HttpClient> client = Borrow();
  const auto start = std::chrono::steady_clock::now();
  Result<net::HttpResponse> answer = client->Send(request);
  outcome.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  GiveBack(std::move(client));

  if (!answer.ok()) {
    const Status& failure = answer.status();
    outcome.error = failure.message();
    switch (failure.code()) {
      case StatusCode::kPermissionDenied:  // the guard
        if (outcome.error.ends_with("private addresses are refused")) {
          outcome.error += " (allowed only with --webhook-allow-private)";
        }
        outcome.permanent = true;
        break;
      case StatusCode::kInvalidArgument:  // a URL curl cannot use
        outcome.permanent = true;
        break;
      default:
        break;
    }
    return outcome;
  }
  outcome.status = answer->status;
  outcome.response = Excerpt(answer->body, options_.max_response_bytes);
  if (answer->status == 429 || answer->status == 503) {
    if (std::optional<std::string_view> value = answer->Header("Retry-After")) {
      outcome.retry_after_ms = ParseRetryAfter(*value, envelope.now_ms);
    }
  }
  return outcome;
}

}  // namespace vouch::notify
