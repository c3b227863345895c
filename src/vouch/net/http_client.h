// Outbound HTTP for any layer that needs it (the CLI today; webhook delivery and witnesses next): a
// small client interface, so tests can script answers, and its libcurl implementation. Knows
// nothing of vouch's API, credentials or command-line options; callers add those.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vouch/util/status.h"

namespace vouch::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string url;     // absolute http:// or https:// URL, path and query already percent-encoded
  HeaderList headers;  // sent as given, in order
  std::optional<std::string> body;  // nullopt: no body
};

struct HttpResponse {
  int status = 0;
  // The final response's header fields, in order as received, names as the server spelt them
  // (compare with Header(), which ignores case). At most 100 fields of at most 8 KiB are kept.
  HeaderList headers;
  std::string body;             // at most ClientOptions::max_body_bytes when that is set
  bool body_truncated = false;  // the answer went on past max_body_bytes; the rest was not read

  // The first field named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct ClientOptions {
  std::string ca_file;  // empty: the system's trust store; https certificates are always verified
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{0};  // the whole exchange; 0: none
  // 0: keep the whole body. Otherwise keep this many bytes and stop reading there (the exchange
  // still succeeds, with body_truncated set), so a receiver cannot make the caller hold megabytes.
  size_t max_body_bytes = 0;
  // The private-address guard. When false, every connection is judged on the address it is about
  // to be opened to (after name resolution, so a name that resolves, or is re-bound, to a private
  // address is caught): one that net::NonPublicRange (address_guard.h) names is refused, and Send
  // fails with PERMISSION_DENIED naming the address and its range, not through the FailureMapper.
  // The CLI talks to localhost and keeps the default.
  bool allow_private_addresses = true;
  // When set, plain http:// may reach only a non-public address (a public receiver needs https),
  // judged the same way, with the same PERMISSION_DENIED.
  bool https_for_public_addresses = false;
  // Either guard above also turns proxies off, the environment's included (the guard would judge
  // the proxy's address, not the receiver's).
};

// Turns a libcurl failure (`curl_code`, a CURLcode, and curl's `detail`) into the Status Send
// returns, so a caller can word it for its users (the CLI names its flags).
using FailureMapper = std::function<Status(int curl_code, std::string_view detail)>;

// The mapping used when a caller gives none: INVALID_ARGUMENT for a malformed or unsupported URL
// and an unusable CA file, UNAVAILABLE for everything else (connect, resolve, TLS, timeout,
// connection dropped); each message holds curl's detail.
Status DefaultTransportFailure(int curl_code, std::string_view detail);

// Sends one request and returns whatever status the server answered (4xx and 5xx are responses, not
// failures). A failure means no answer; its code comes from the FailureMapper.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// libcurl easy-interface client; one handle reused across requests, so consecutive requests to one
// server keep the connection alive. Only http and https; https servers must present a certificate
// that chains to the CA file (or the system's trust store) and names the server's host; the path is
// sent as is ("/../" is not squashed); redirects are never followed (a 3xx is an answer). Not
// thread-safe: one per thread.
class CurlClient final : public HttpClient {
 public:
  explicit CurlClient(ClientOptions options, FailureMapper failure = nullptr);
  ~CurlClient() override;
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  // INTERNAL when libcurl could not make a handle; PERMISSION_DENIED when the guard refused every
  // address the name resolved to (allow_private_addresses, https_for_public_addresses); else the
  // FailureMapper's.
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  ClientOptions options_;
  FailureMapper failure_;
  void* curl_;  // CURL*, kept opaque so this header does not pull in curl.h
};

}  // namespace vouch::net
