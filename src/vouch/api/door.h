// What a front door declares to the dispatcher: how it recognises its requests, how it renders a
// failure, and how it tells who sent a request. The dispatcher knows no door by name; a new door
// (the SageMaker door, recognised by `X-Amz-Target` on `POST /`; a web UI with session cookies)
// plugs in by declaring a DoorSpec and its routes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "vouch/api/http.h"
#include "vouch/domain/principal.h"
#include "vouch/service/auth_service.h"
#include "vouch/util/status.h"

namespace vouch::api {

struct Call;  // router.h

// Which requests a door takes: every condition that is set must hold. Where the recognisers of
// several doors match one request, the most specific wins: one that names a header before one
// that does not, an exact path before a prefix, a longer path before a shorter; on a tie, the
// first declared.
struct Recogniser {
  std::string path;         // the request path starts with it ("" : every path) ...
  bool exact_path = false;  // ... or, when set, is exactly it
  std::string method;       // when set, only this method
  std::string header;       // when set, only requests carrying this header (lower-case name)

  // Every request whose path starts with `prefix`.
  static Recogniser PathPrefix(std::string prefix);
  // `method` requests to exactly `path` that carry `header`, e.g. POST / with X-Amz-Target.
  static Recogniser HeaderOn(std::string method, std::string path, std::string header);

  // `path` is the request's path, still percent-encoded, without its query.
  bool Matches(const HttpRequest& request, std::string_view path) const;
  // Orders recognisers: greater is more specific.
  std::tuple<bool, bool, size_t> Rank() const;
};

// Renders a failure in the error shape of a door (status, body, headers such as
// WWW-Authenticate). The dispatcher adds X-Request-Id.
using ErrorRenderer = std::function<HttpResponse(const Status&, const RequestContext&)>;

// Tells who sent a request from anything in it: method, target (path and query), headers, body;
// so a signature over the whole request (SigV4) or a session cookie with its CSRF header fits.
// Returns nullopt when the request carries no credentials of its kind (the next authenticator is
// asked); otherwise the principal, or the refusal: UNAUTHENTICATED or RESOURCE_EXHAUSTED (while
// throttled), which the dispatcher records as denials, or UNAVAILABLE when the store cannot check.
// It names whom a refused request tried to be in `ctx.attempted_identity` (never a secret).
// `auth` is the server's AuthService, for authenticators that check tokens, passwords or sessions.
using Authenticator = std::function<std::optional<Result<service::Authenticated>>(
    service::AuthService& auth, const HttpRequest& request, RequestContext& ctx)>;

// Bearer tokens and Basic passwords in the Authorization header (AuthService::AuthenticateHeader).
// Answers every request, so it comes last: without the header, UNAUTHENTICATED naming both schemes.
std::optional<Result<service::Authenticated>> AuthorizationHeader(service::AuthService& auth,
                                                                  const HttpRequest& request,
                                                                  RequestContext& ctx);

// What a request names (a model, a version), read from it as the door reads it: the route's path
// parameters, its query, its body. `pattern` is the matched route's pattern. nullopt when the
// request names no model. Asked only for a refused request, so that its denial names its target;
// translation only: it decides nothing.
using SubjectReader =
    std::function<std::optional<RequestSubject>(std::string_view pattern, const Call& call)>;

struct DoorSpec {
  Door door;
  std::vector<Recogniser> recognisers;
  ErrorRenderer render;
  // Asked in order for every route that is not public; when none answers, UNAUTHENTICATED.
  std::vector<Authenticator> authenticators;
  // Unset: the door's denials name no model.
  SubjectReader subject = nullptr;
};

}  // namespace vouch::api
