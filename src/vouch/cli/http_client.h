// Outbound HTTP for the CLI: a small transport interface (so tests can script responses) and its
// implementation over net/'s libcurl client, which adds what is the CLI's own: the server URL,
// credentials, request ids and failures worded after the command-line options.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vouch/net/http_client.h"
#include "vouch/util/status.h"

namespace vouch::cli {

// Where and as whom the client talks; filled from the global options.
struct ClientOptions {
  std::string server;   // "http://127.0.0.1:5000", no trailing path
  std::string token;    // sent as a Bearer token when set
  std::string ca_file;  // empty: the system's trust store; https certificates are always verified
  // HTTP Basic, when no token is set and username is: the principal's name and password.
  std::string username;
  std::string password;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, already percent-encoded: "/api/v1/models?limit=5"
  std::optional<std::string> body;  // JSON; nullopt sends no body and no Content-Type
  std::string idempotency_key;      // sent as Idempotency-Key when set
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Sends one request and returns whatever status the server answered (4xx and 5xx are responses, not
// failures). Failures mean no answer: UNAVAILABLE when the server cannot be reached (connect,
// resolve, TLS, timeout, connection dropped), INVALID_ARGUMENT when the request cannot be made as
// configured (malformed server URL, unreadable CA file).
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// The headers every request carries: User-Agent, X-Request-Id, Authorization (Bearer with a token,
// else Basic with a username, else none), Content-Type when there is a body, Idempotency-Key when
// the request has one. Split out so the
// contract is testable without a network.
std::vector<std::pair<std::string, std::string>> RequestHeaders(const ClientOptions& options,
                                                                const HttpRequest& request,
                                                                const std::string& request_id);

// A fresh id for X-Request-Id: "cli-" and 24 hex digits, inside the server's accepted alphabet.
std::string NewRequestId();

// INVALID_ARGUMENT unless `server` is an http:// or https:// URL; returns it without trailing '/'.
Result<std::string> NormalizeServerUrl(std::string_view server);

// The Status for a libcurl failure `curl_code` (a CURLcode) with curl's `detail`, as Send returns
// it: INVALID_ARGUMENT for a malformed URL or an unusable --ca-file, UNAVAILABLE for everything
// else, with a message that says which certificate check failed when the server's certificate is
// not trusted or does not name the host.
Status TransportFailure(int curl_code, std::string_view detail, const ClientOptions& options);

// The libcurl transport (net::CurlClient); one handle reused across requests so paging keeps the
// connection alive. https:// servers must present a certificate that chains to --ca-file (or the
// system's trust store) and names the server's host. Not thread-safe.
class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(ClientOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  ClientOptions options_;
  net::CurlClient client_;
};

}  // namespace vouch::cli
