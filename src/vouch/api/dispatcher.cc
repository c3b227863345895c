#include "vouch/api/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>

#include "vouch/api/client_address.h"
#include "vouch/api/deferred.h"
#include "vouch/api/error_table.h"
#include "vouch/api/idempotent_call.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"
#include "vouch/util/text.h"

namespace vouch::api {
namespace {

// An id for a request that brought none: 12 bytes in hex. Each thread draws 12 random bytes once
// and counts on from them, so ids are as unlikely to meet as random ones, without a call into
// OpenSSL's generator per request (some 6,700 instructions, 4% of a get-version's).
std::string FreshRequestId() {
  thread_local std::string next = RandomBytes(12);
  for (size_t i = next.size(); i-- > 0 && ++next[i] == '\0';) {
  }
  return HexEncode(next);
}

constexpr size_t kMaxUserAgent = 256;
constexpr size_t kMaxPath = 512;
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

const DoorSpec& Dispatcher::DoorOf(const HttpRequest& request, std::string_view path) const {
  // For requests no door recognises (a router without a catch-all door, as some tests build).
  static const DoorSpec* const kFallback = new DoorSpec{
      .door = Door::kNative,
      .recognisers = {},
      .render =
          [](const Status& status, const RequestContext&) {
            HttpResponse r;
            r.status = InfoFor(status.code()).http_status;
            r.content_type = "text/plain; charset=utf-8";
            r.body = status.message();
            return r;
          },
      .authenticators = {AuthorizationHeader},
  };
  const DoorSpec* door = router_.DoorFor(request, path);
  return door != nullptr ? *door : *kFallback;
}

RequestContext Dispatcher::NewContext(const HttpRequest& request, const DoorSpec& door) const {
  RequestContext ctx;
  ctx.clock = &clock_;
  ctx.address = ClientAddress(request, trusted_proxies_);
  // Headers are bytes; what reaches the audit log must be UTF-8, cut on a character boundary.
  ctx.user_agent = SanitizeUtf8(request.Header("user-agent"), kMaxUserAgent);
  std::string_view id = request.Header("x-request-id");
  ctx.request_id = IsSaneRequestId(id) ? std::string(id) : FreshRequestId();
  ctx.door = door.door;
  ctx.method = SanitizeUtf8(request.method, kMaxPath);
  ctx.path = SanitizeUtf8(PathOf(request.target), kMaxPath);
  return ctx;
}

HttpResponse Dispatcher::Render(const DoorSpec& door, const Status& status,
                                const RequestContext& ctx) const {
  HttpResponse r = door.render(status, ctx);
  AddRequestId(r, ctx);
  return r;
}

HttpResponse Dispatcher::Reject(const HttpRequest& request, const Status& status) const {
  const DoorSpec& door = DoorOf(request, PathOf(request.target));
  RequestContext ctx = NewContext(request, door);
  return Render(door, status, ctx);
}

Status Dispatcher::Authenticate(const DoorSpec& door, const HttpRequest& request,
                                RequestContext& ctx) const {
  for (const Authenticator& authenticator : door.authenticators) {
    std::optional<Result<service::Authenticated>> who = authenticator(auth_, request, ctx);
    if (!who) continue;
    if (!who->ok()) return who->status();
    ctx.principal = std::move(who->value().principal);
    ctx.auth = who->value().method;
    ctx.read_only = who->value().read_only;
    return OkStatus();
  }
  return Unauthenticated("missing credentials: this endpoint takes none that the request carries");
}

Result<HttpResponse> Dispatcher::Invoke(const DoorSpec& /*door*/, const Route& route,
                                        const Call& call) const {
  // Under the request's Idempotency-Key (idempotent_call.h), for every door; its refusals are
  // Statuses, so Conclude renders them in the door's shape.
  return RunIdempotent(
      idempotency_, call.ctx, call.request, PathOf(call.request.target),
      [&]() -> Result<HttpResponse> {
        try {
          return route.handler(call);
        } catch (const std::exception& e) {
          spdlog::error("request {} {} {}: unhandled exception: {}", call.ctx.request_id,
                        call.request.method, PathOf(call.request.target), e.what());
        } catch (...) {
          spdlog::error("request {} {} {}: unhandled exception", call.ctx.request_id,
                        call.request.method, PathOf(call.request.target));
        }
        return Internal("internal error; the request changed nothing");
      });
}

HttpResponse Dispatcher::Fail(const DoorSpec& door, std::string_view method, std::string_view path,
                              const Status& s, bool authenticated,
                              const RequestContext& ctx) const {
  // Refusals are denials; so are sign-ins refused while throttled (429) and a signature's wrong
  // password (a re-authentication, counted as a failed sign-in).
  if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kUnauthenticated ||
      s.code() == StatusCode::kReauthFailed ||
      (!authenticated && s.code() == StatusCode::kResourceExhausted)) {
    auth_.RecordDenial(ctx, s.message());
  }
  // Internal detail is logged, not sent.
  if (s.code() == StatusCode::kInternal) {
    spdlog::error("request {} {} {}: {}", ctx.request_id, method, path, s.ToString());
    return Render(door, Internal("internal error; the request changed nothing"), ctx);
  }
  if (s.code() == StatusCode::kUnavailable) {
    spdlog::error("request {} {} {}: {}", ctx.request_id, method, path, s.ToString());
    return Render(door, Unavailable("the store is unavailable; nothing was changed, retry"), ctx);
  }
  return Render(door, s, ctx);
}

HttpResponse Dispatcher::Handle(const HttpRequest& request) const {
  std::string_view path = PathOf(request.target);
  const DoorSpec& door = DoorOf(request, path);
  RequestContext ctx = NewContext(request, door);
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed)
    return Render(door, InvalidArgument("the request target is not a valid URL path"), ctx);
  std::vector<std::string> segments;
  QueryParams query;
  try {
    for (auto seg : parsed->segments()) {
      segments.push_back(std::string(seg));
      // Percent-escapes that decode to bytes which are not UTF-8 (%FF%FE) name nothing: refused
      // rather than read as U+FFFD further on.
      if (!IsValidUtf8(segments.back())) {
        return Render(door, InvalidArgument("the request path is not UTF-8 once percent-decoded"),
                      ctx);
      }
    }
    for (auto param : parsed->params(boost::urls::encoding_opts(true, false, false))) {
      query.items.emplace_back(std::string(param.key), std::string(param.value));
    }
  } catch (const std::exception&) {
    return Render(door, InvalidArgument("the request target is not a valid URL path"), ctx);
  }

  // Which credentials speak for the request must not depend on which of two headers is read.
  int authorization_headers = 0;
  for (const auto& [name, value] : request.headers)
    authorization_headers += name == "authorization";
  if (authorization_headers > 1) {
    return Render(door, InvalidArgument("more than one Authorization header"), ctx);
  }

  // HEAD is GET without the body (RFC 9110 9.3.2): the same route, authentication, audit and
  // status; the server sends the headers only.
  const bool head = request.method == "HEAD";
  Router::Match match =
      router_.Find(door.door, head ? std::string_view("GET") : request.method, segments);
  if (match.route == nullptr) {
    if (!match.allowed_methods.empty()) {
      if (std::find(match.allowed_methods.begin(), match.allowed_methods.end(), "GET") !=
          match.allowed_methods.end()) {
        match.allowed_methods.push_back("HEAD");
      }
      std::string allow = fmt::format("{}", fmt::join(match.allowed_methods, ", "));
      HttpResponse r = Render(door,
                              Status(StatusCode::kMethodNotAllowed,
                                     fmt::format("method {} is not allowed on {}; allowed: {}",
                                                 request.method, path, allow)),
                              ctx);
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return Render(door, NotFound(fmt::format("no such endpoint: {} {}", request.method, path)),
                  ctx);
  }
  if (match.route->access != Access::kPublic) {
    // Refused credentials are a denial (Fail); a store that cannot check them is a 503.
    if (Status s = Authenticate(door, request, ctx); !s.ok()) {
      return Fail(door, request.method, path, s, false, ctx);
    }
  }
  const Call call{ctx, request, match.params, query};
  Result<HttpResponse> result = Invoke(door, *match.route, call);
  // A refusal names what the request named (its model, its version), so that the denial is found
  // by the model's filters; read only now, so that allowed requests pay nothing for it.
  auto name_subject = [&] {
    if (door.subject) ctx.subject = door.subject(match.route->pattern, call);
  };
  if (!result.ok() && result.status().code() == StatusCode::kPermissionDenied) name_subject();
  HttpResponse r = Conclude(door, request.method, path, ctx, true, std::move(result));
  // A parked request (deferred.h): its answer, whenever it comes, is concluded the same way, and
  // the server's own answers (deadline, drain) are rendered in this door's shape.
  if (r.deferred != nullptr) {
    name_subject();
    r.deferred->Bind(
        [this, &door, method = request.method, path = std::string(path),
         ctx](Result<HttpResponse> answer) {
          HttpResponse later = Conclude(door, method, path, ctx, true, std::move(answer));
          later.deferred.reset();  // an answer is an answer: it cannot be parked again
          return later;
        },
        [this, &door, ctx](const Status& status) { return Render(door, status, ctx); });
  }
  return r;
}

HttpResponse Dispatcher::Conclude(const DoorSpec& door, std::string_view method,
                                  std::string_view path, const RequestContext& ctx,
                                  bool authenticated, Result<HttpResponse> result) const {
  if (!result.ok()) return Fail(door, method, path, result.status(), authenticated, ctx);
  HttpResponse r = std::move(result).value();
  AddRequestId(r, ctx);
  return r;
}

}  // namespace vouch::api
