#include "vouch/net/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <vector>

#include "vouch/net/address_guard.h"
#include "vouch/util/net.h"

namespace vouch::net {
namespace {

constexpr size_t kMaxHeaderFields = 100;
constexpr size_t kMaxHeaderValueBytes = 8 * 1024;

// Where the body goes, up to `cap` bytes (0: no cap).
struct BodySink {
  std::string* body = nullptr;
  size_t cap = 0;
  bool truncated = false;
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t n = size * count;
  if (sink->cap == 0 || sink->body->size() + n <= sink->cap) {
    sink->body->append(data, n);
    return n;
  }
  // Keep what fits and stop the transfer: a short count makes curl end with CURLE_WRITE_ERROR,
  // which Send turns back into an answer (body_truncated).
  sink->body->append(data, sink->cap - sink->body->size());
  sink->truncated = true;
  return 0;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// One header line at a time, the status line of each response included; keeps the last
// response's fields (a 100 Continue's come first).
size_t CollectHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<HeaderList*>(user);
  const size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    headers->clear();
    return n;
  }
  const size_t colon = line.find(':');
  // The blank line that ends the section, and obsolete folded continuations, are skipped.
  if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' ||
      line.front() == '\t') {
    return n;
  }
  const std::string_view value = TrimSpace(line.substr(colon + 1));
  if (headers->size() < kMaxHeaderFields && value.size() <= kMaxHeaderValueBytes) {
    headers->emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return n;
}

// The private-address guard's state for one Send: whether the request is plain http, and the
// addresses refused (a name may resolve to several, each tried in turn).
struct Guard {
  bool allow_private = true;
  bool plain_http = false;                        // and a public address needs https
  std::vector<std::string> private_refused;       // "127.0.0.1 is loopback (127.0.0.0/8)"
  std::vector<std::string> public_plain_refused;  // public addresses asked for over plain http

  bool Refused() const { return !private_refused.empty() || !public_plain_refused.empty(); }
  std::string Why() const {
    if (!private_refused.empty()) {
      return fmt::format("the receiver's address {}; private addresses are refused",
                         fmt::join(private_refused, ", and "));
    }
    return fmt::format("the receiver's address {} is public, and a public receiver needs https://",
                       fmt::join(public_plain_refused, ", "));
  }
};

std::optional<IpBytes> AddressOf(const curl_sockaddr& address) {
  IpBytes ip{};
  if (address.family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address.addr, sizeof v4);
    ip[10] = 0xff;
    ip[11] = 0xff;
    std::memcpy(ip.data() + 12, &v4.sin_addr, 4);
    return ip;
  }
  if (address.family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &address.addr, sizeof v6);
    std::memcpy(ip.data(), &v6.sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

// CURLOPT_OPENSOCKETFUNCTION: curl calls it with each resolved address it is about to connect to
// (every address of a name, in turn, and again for every new connection), so the judgement is
// made on the address actually connected to, whatever the name resolved to this time.
curl_socket_t OpenGuardedSocket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* guard = static_cast<Guard*>(user);
  std::optional<IpBytes> ip = AddressOf(*address);
  if (!ip) {
    guard->private_refused.push_back(
        fmt::format("of family {} is not IPv4 or IPv6", address->family));
    return CURL_SOCKET_BAD;
  }
  if (std::optional<std::string> range = NonPublicRange(*ip)) {
    if (!guard->allow_private) {
      guard->private_refused.push_back(fmt::format("{} is {}", FormatIp(*ip), *range));
      return CURL_SOCKET_BAD;
    }
  } else if (guard->plain_http) {
    guard->public_plain_refused.push_back(FormatIp(*ip));
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// curl_global_init is not thread-safe and must run once before any handle exists.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Frees a header list however Send returns.
struct CurlHeaders {
  curl_slist* list = nullptr;
  ~CurlHeaders() { curl_slist_free_all(list); }
};

}  // namespace

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (field.size() == name.size() &&
        std::equal(field.begin(), field.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return std::nullopt;
}

Status DefaultTransportFailure(int curl_code, std::string_view detail) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(fmt::format("invalid URL: {}", detail));
    case CURLE_SSL_CACERT_BADFILE:
      return InvalidArgument(fmt::format("cannot use the CA file: {}", detail));
    default:
      return Unavailable(fmt::format("no answer: {}", detail));
  }
}

CurlClient::CurlClient(ClientOptions options, FailureMapper failure)
    : options_(std::move(options)), failure_(std::move(failure)) {
  InitCurlOnce();
  curl_ = curl_easy_init();
}

CurlClient::~CurlClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<HttpResponse> CurlClient::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Internal("libcurl could not create a handle");
  // Reset drops the previous request's options but keeps the connection cache.
  curl_easy_reset(curl);

  CurlHeaders headers;
  for (const auto& [name, value] : request.headers) {
    headers.list = curl_slist_append(headers.list, (name + ": " + value).c_str());
  }
  // Without this curl waits up to a second for "100 Continue" before sending larger bodies.
  headers.list = curl_slist_append(headers.list, "Expect:");

  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  // Model names are percent-encoded path segments; keep curl from squashing "/../" itself.
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  if (options_.timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  BodySink sink{.body = &response.body, .cap = options_.max_body_bytes};
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  // A 3xx is the answer: following it would take the request somewhere its caller did not check.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  Guard guard;
  if (!options_.allow_private_addresses || options_.https_for_public_addresses) {
    guard.allow_private = options_.allow_private_addresses;
    guard.plain_http =
        options_.https_for_public_addresses && !StartsWithNoCase(request.url, "https://");
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OpenGuardedSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
    // "" turns off proxies, those named in the environment too.
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
  }
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
  if (code == CURLE_COULDNT_CONNECT && guard.Refused()) return PermissionDenied(guard.Why());
  const bool truncated = code == CURLE_WRITE_ERROR && sink.truncated;
  if (code != CURLE_OK && !truncated) {
    const std::string_view detail = error[0] != '\0' ? error : curl_easy_strerror(code);
    return failure_ ? failure_(code, detail) : DefaultTransportFailure(code, detail);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.body_truncated = truncated;
  return response;
}

}  // namespace vouch::net
