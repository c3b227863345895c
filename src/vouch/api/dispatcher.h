// Takes a parsed HTTP request through the steps every door shares: the door that recognises it
// (door.h), the request context (door, address, user agent, request id), route lookup among that
// door's routes, 404/405, the door's authenticators, the handler, and errors rendered by the door's
// renderer. Refused requests (401, 403) are recorded as denials. Never throws; an exception
// escaping a handler is a bug, logged and answered with 500. Knows no door by name.
// A handler may park its request (deferred.h): the dispatcher binds the deferral so that the later
// answer is concluded as a handler's would be (X-Request-Id, errors in the door's shape, denials
// recorded) and the server's own answers (504 at the deadline, 503 on drain) take the door's shape.
// Thread-safe; it must outlive the server that calls it (the server answers every parked request
// before it stops).
#pragma once

#include "vouch/api/router.h"
#include "vouch/service/auth_service.h"
#include "vouch/service/idempotency.h"
#include "vouch/util/net.h"

namespace vouch::api {

class Dispatcher {
 public:
  // `trusted_proxies`: peers whose Forwarded / X-Forwarded-For headers name the client
  // (client_address.h); empty: the TCP peer is the client.
  Dispatcher(const Router& router, service::AuthService& auth, const Clock& clock,
             std::vector<CidrRange> trusted_proxies = {})
      : router_(router), auth_(auth), clock_(clock), trusted_proxies_(std::move(trusted_proxies)) {}

  // Honours Idempotency-Key on the requests idempotent_call.h names; none until this is called.
  void SetIdempotency(service::Idempotency* idempotency) { idempotency_ = idempotency; }

  // Handles one request. The response carries X-Request-Id.
  HttpResponse Handle(const HttpRequest& request) const;

  // The response for a request refused before dispatch (body too large, unreadable), rendered in
  // the shape of the door that recognises it.
  HttpResponse Reject(const HttpRequest& request, const Status& status) const;

 private:
  // The door that recognises `request`, or the fallback for requests no door takes (a plain-text
  // error, the Authorization header; only a router without a catch-all door has any).
  const DoorSpec& DoorOf(const HttpRequest& request, std::string_view path) const;
  RequestContext NewContext(const HttpRequest& request, const DoorSpec& door) const;
  HttpResponse Render(const DoorSpec& door, const Status& status, const RequestContext& ctx) const;
  // The door's authenticators in order; the first that answers decides.
  Status Authenticate(const DoorSpec& door, const HttpRequest& request, RequestContext& ctx) const;
  // Runs the route's handler, turning an escaped exception into INTERNAL. The place for a
  // per-door step before and after the handler (an Idempotency-Key replay, say): it sees the
  // door, the authenticated context and the handler's result.
  Result<HttpResponse> Invoke(const DoorSpec& door, const Route& route, const Call& call) const;
  // A handler's result made into the response (now, or when a parked request is answered):
  // errors through Fail, X-Request-Id added.
  HttpResponse Conclude(const DoorSpec& door, std::string_view method, std::string_view path,
                        const RequestContext& ctx, bool authenticated,
                        Result<HttpResponse> result) const;
  // A failed request's answer: denials recorded, internal detail logged rather than sent.
  HttpResponse Fail(const DoorSpec& door, std::string_view method, std::string_view path,
                    const Status& status, bool authenticated, const RequestContext& ctx) const;

  const Router& router_;
  service::AuthService& auth_;
  const Clock& clock_;
  const std::vector<CidrRange> trusted_proxies_;
  service::Idempotency* idempotency_ = nullptr;
};

}  // namespace vouch::api
