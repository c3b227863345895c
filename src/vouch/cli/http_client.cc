#include "vouch/cli/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <mutex>

#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

constexpr const char* kUserAgent = "vouch-cli/0.1.0";
constexpr long kConnectTimeoutMs = 10'000;

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// curl_global_init is not thread-safe and must run once before any handle exists.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Standard base64 with padding, as HTTP Basic wants it (RFC 7617).
std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Frees a header list however Send returns.
struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
};

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
                         "Basic " + Base64(options.username + ":" + options.password));
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

CurlTransport::CurlTransport(ClientOptions options) : options_(std::move(options)) {
  InitCurlOnce();
  curl_ = curl_easy_init();
}

CurlTransport::~CurlTransport() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Internal("libcurl could not create a handle");
  // Reset drops the previous request's options but keeps the connection cache.
  curl_easy_reset(curl);

  const std::string url = options_.server + request.target;
  HeaderList headers;
  for (const auto& [name, value] : RequestHeaders(options_, request, NewRequestId())) {
    headers.list = curl_slist_append(headers.list, (name + ": " + value).c_str());
  }
  // Without this curl waits up to a second for "100 Continue" before sending larger bodies.
  headers.list = curl_slist_append(headers.list, "Expect:");

  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Model names are percent-encoded path segments; keep curl from squashing "/../" itself.
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  // Verification is libcurl's default; said here so that no later change turns it off unnoticed.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (request.method != "GET")
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.body.has_value()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body->size()));
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    return TransportFailure(code, error[0] != '\0' ? error : curl_easy_strerror(code), options_);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace vouch::cli
