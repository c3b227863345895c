#include "vouch/api/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>

#include "vouch/api/client_address.h"
#include "vouch/api/idempotent_call.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"
#include "vouch/util/text.h"

namespace vouch::api {
namespace {

constexpr size_t kMaxUserAgent = 256;
constexpr size_t kMaxRequestId = 128;

// A request id is kept, in the response and the immutable audit log, when it is a short token of
// [A-Za-z0-9._-] that holds nothing like an API token ("vch_…", in any case): a client that puts
// its token there by mistake must not have it written into the log for good.
bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestId) return false;
  for (unsigned char c : id) {
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  }
  for (size_t at = id.find('_'); at != std::string_view::npos; at = id.find('_', at + 1)) {
    if (at >= 3 && EqualsIgnoreCase(id.substr(at - 3, 3), "vch")) return false;
  }
  return true;
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, std::min(target.find('?'), target.size()));
}

void AddRequestId(HttpResponse& r, const RequestContext& ctx) {
  r.headers.emplace_back("X-Request-Id", ctx.request_id);
}

}  // namespace

HttpResponse NativeError(const Status& status, const RequestContext& ctx) {
  const ErrorInfo& info = InfoFor(status.code());
  json::object body{
      {"error",
       {{"code", info.name}, {"message", status.message()}, {"request_id", ctx.request_id}}}};
  HttpResponse r = HttpResponse::Json(info.http_status, SerializeJson(body));
  if (status.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vouch\"");
  }
  return r;
}

RequestContext Dispatcher::NewContext(const HttpRequest& request) const {
  RequestContext ctx;
  ctx.clock = &clock_;
  ctx.address = ClientAddress(request, trusted_proxies_);
  // Headers are bytes; what reaches the audit log must be UTF-8, cut on a character boundary.
  ctx.user_agent = SanitizeUtf8(request.Header("user-agent"), kMaxUserAgent);
  std::string_view id = request.Header("x-request-id");
  ctx.request_id = IsSaneRequestId(id) ? std::string(id) : HexEncode(RandomBytes(12));
  ctx.door = router_.RendererFor(PathOf(request.target)).first;
  return ctx;
}

HttpResponse Dispatcher::Render(std::string_view path, const Status& status,
                                const RequestContext& ctx) const {
  auto [door, renderer] = router_.RendererFor(path);
  HttpResponse r = renderer ? (*renderer)(status, ctx) : NativeError(status, ctx);
  AddRequestId(r, ctx);
  return r;
}

HttpResponse Dispatcher::Reject(const HttpRequest& request, const Status& status) const {
  RequestContext ctx = NewContext(request);
  return Render(PathOf(request.target), status, ctx);
}

Status Dispatcher::Authenticate(const HttpRequest& request, RequestContext& ctx) const {
  VOUCH_ASSIGN_OR_RETURN(service::Authenticated who,
                         auth_.AuthenticateHeader(request.Header("authorization"), ctx.address,
                                                  ctx.attempted_identity));
  ctx.principal = std::move(who.principal);
  ctx.auth = who.method;
  ctx.read_only = who.read_only;
  return OkStatus();
}

HttpResponse Dispatcher::Handle(const HttpRequest& request) const {
  RequestContext ctx = NewContext(request);
  std::string_view path = PathOf(request.target);
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed)
    return Render(path, InvalidArgument("the request target is not a valid URL path"), ctx);
  std::vector<std::string> segments;
  QueryParams query;
  try {
    for (auto seg : parsed->segments()) {
      segments.push_back(std::string(seg));
      // Percent-escapes that decode to bytes which are not UTF-8 (%FF%FE) name nothing: refused
      // rather than read as U+FFFD further on.
      if (!IsValidUtf8(segments.back())) {
        return Render(path, InvalidArgument("the request path is not UTF-8 once percent-decoded"),
                      ctx);
      }
    }
    for (auto param : parsed->params(boost::urls::encoding_opts(true, false, false))) {
      query.items.emplace_back(std::string(param.key), std::string(param.value));
    }
  } catch (const std::exception&) {
    return Render(path, InvalidArgument("the request target is not a valid URL path"), ctx);
  }

  // Which credentials speak for the request must not depend on which of two headers is read.
  int authorization_headers = 0;
  for (const auto& [name, value] : request.headers)
    authorization_headers += name == "authorization";
  if (authorization_headers > 1) {
    return Render(path, InvalidArgument("more than one Authorization header"), ctx);
  }

  // HEAD is GET without the body (RFC 9110 9.3.2): the same route, authentication, audit and
  // status; the server sends the headers only.
  const bool head = request.method == "HEAD";
  Router::Match match = router_.Find(head ? std::string_view("GET") : request.method, segments);
  if (match.route == nullptr) {
    if (!match.allowed_methods.empty()) {
      if (std::find(match.allowed_methods.begin(), match.allowed_methods.end(), "GET") !=
          match.allowed_methods.end()) {
        match.allowed_methods.push_back("HEAD");
      }
      std::string allow = fmt::format("{}", fmt::join(match.allowed_methods, ", "));
      HttpResponse r = Render(path,
                              Status(StatusCode::kMethodNotAllowed,
                                     fmt::format("method {} is not allowed on {}; allowed: {}",
                                                 request.method, path, allow)),
                              ctx);
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return Render(path, NotFound(fmt::format("no such endpoint: {} {}", request.method, path)),
                  ctx);
  }
  ctx.door = match.route->door;
  Result<HttpResponse> result = Internal("the handler did not run");
  Status authenticated =
      match.route->access == Access::kPublic ? OkStatus() : Authenticate(request, ctx);
  if (!authenticated.ok()) {
    // Refused credentials are a denial below; a store that cannot check them is a 503.
    result = authenticated;
  } else {
    try {
      result = RunIdempotent(idempotency_, ctx, request, path, [&] {
        return match.route->handler(Call{ctx, request, match.params, query});
      });
    } catch (const std::exception& e) {
      spdlog::error("request {} {} {}: unhandled exception: {}", ctx.request_id, request.method,
                    path, e.what());
      result = Internal("internal error; the request changed nothing");
    } catch (...) {
      spdlog::error("request {} {} {}: unhandled exception", ctx.request_id, request.method, path);
      result = Internal("internal error; the request changed nothing");
    }
  }
  if (!result.ok()) {
    const Status& s = result.status();
    // Refusals are denials; so are sign-ins refused while throttled (429).
    if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kUnauthenticated ||
        (!authenticated.ok() && s.code() == StatusCode::kResourceExhausted)) {
      auth_.RecordDenial(ctx, s.message());
    }
    // Internal detail is logged, not sent.
    if (s.code() == StatusCode::kInternal) {
      spdlog::error("request {} {} {}: {}", ctx.request_id, request.method, path, s.ToString());
      return Render(path, Internal("internal error; the request changed nothing"), ctx);
    }
    if (s.code() == StatusCode::kUnavailable) {
      spdlog::error("request {} {} {}: {}", ctx.request_id, request.method, path, s.ToString());
      return Render(path, Unavailable("the store is unavailable; nothing was changed, retry"), ctx);
    }
    return Render(path, s, ctx);
  }
  HttpResponse r = std::move(result).value();
  AddRequestId(r, ctx);
  return r;
}

}  // namespace vouch::api
