#include "vouch/net/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <mutex>

namespace vouch::net {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
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
    const std::string_view detail = error[0] != '\0' ? error : curl_easy_strerror(code);
    return failure_ ? failure_(code, detail) : DefaultTransportFailure(code, detail);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace vouch::net
