#include "vouch/cli/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

constexpr const char* kUserAgent = "vouch-cli/0.1.0";
constexpr std::chrono::milliseconds kConnectTimeout{10'000};

}  // namespace

std::vector<std::pair<std::string, std::string>> RequestHeaders(const ClientOptions& options,
                                                                const HttpRequest& request,
                                                                const std::string& request_id) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"User-Agent", kUserAgent},
      {"Accept", "application/json"},
      {"X-Request-Id", request_id},
  };
  if (!options.token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + options.token);
  } else if (!options.username.empty()) {
    headers.emplace_back("Authorization",
                         "Basic " + Base64Encode(options.username + ":" + options.password));
  }
  if (request.body.has_value()) headers.emplace_back("Content-Type", "application/json");
  if (!request.idempotency_key.empty()) {
    headers.emplace_back("Idempotency-Key", request.idempotency_key);
  }
  return headers;
}

std::string NewRequestId() { return "cli-" + HexEncode(RandomBytes(12)); }

Result<std::string> NormalizeServerUrl(std::string_view server) {
  std::string url(server);
  while (!url.empty() && url.back() == '/') url.pop_back();
  const bool http = url.starts_with("http://") && url.size() > 7;
  const bool https = url.starts_with("https://") && url.size() > 8;
  if (!http && !https) {
    return InvalidArgument(
        fmt::format("--server must be an http:// or https:// URL, got '{}'", server));
  }
  return url;
}

Status TransportFailure(int curl_code, std::string_view detail, const ClientOptions& options) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(fmt::format("invalid server URL {}: {}", options.server, detail));
    case CURLE_SSL_CACERT_BADFILE:
      return InvalidArgument(fmt::format("cannot use --ca-file {}: {}", options.ca_file, detail));
    case CURLE_PEER_FAILED_VERIFICATION:
      // An untrusted issuer, an expired certificate, or one for another host name.
      return Unavailable(fmt::format(
          "the TLS certificate of {} was not accepted: {} (verified against {}; give the CA that "
          "signed the server's certificate with --ca-file or VOUCH_CA_FILE)",
          options.server, detail,
          options.ca_file.empty() ? "the system's trust store" : "--ca-file " + options.ca_file));
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable(fmt::format("TLS handshake with {} failed: {} (does it serve https?)",
                                     options.server, detail));
    default:
      return Unavailable(fmt::format("cannot reach server at {}: {}", options.server, detail));
  }
}

CurlTransport::CurlTransport(ClientOptions options)
    : options_(std::move(options)),
      client_({.ca_file = options_.ca_file, .connect_timeout = kConnectTimeout},
              [this](int curl_code, std::string_view detail) {
                return TransportFailure(curl_code, detail, options_);
              }) {}

CurlTransport::~CurlTransport() = default;

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  VOUCH_ASSIGN_OR_RETURN(net::HttpResponse answer,
                         client_.Send({.method = request.method,
                                       .url = options_.server + request.target,
                                       .headers = RequestHeaders(options_, request, NewRequestId()),
                                       .body = request.body}));
  return HttpResponse{.status = answer.status, .body = std::move(answer.body)};
}

}  // namespace vouch::cli
