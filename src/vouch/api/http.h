// Plain HTTP request and response types. The server translates Beast's messages into these, so
// that doors and their tests never include Beast or Asio.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vouch::api {

class Deferral;  // deferred.h

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // as received: path and query, percent-encoded
  HeaderList headers;  // names in lower case
  std::string body;
  std::string remote_address;  // the TCP peer

  // The first value of a header (name in lower case), or empty.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;
  // Set by Defer() (deferred.h): not an answer yet; the server parks the request until the
  // deferral is answered, and sends nothing of this response.
  std::shared_ptr<Deferral> deferred;

  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse NoContent() {
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  }
};

}  // namespace vouch::api
