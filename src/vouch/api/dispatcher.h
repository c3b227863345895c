// Takes a parsed HTTP request through the common steps every door shares: route lookup, 404/405,
// the request context (door, address, user agent, request id), authentication, the handler, and
// errors rendered in the door's shape. Refused requests (401, 403) are recorded as denials.
// Never throws; an exception escaping a handler is a bug, logged and answered with 500.
// Thread-safe.
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
  // the shape of the door its path belongs to.
  HttpResponse Reject(const HttpRequest& request, const Status& status) const;

 private:
  RequestContext NewContext(const HttpRequest& request) const;
  HttpResponse Render(std::string_view path, const Status& status, const RequestContext& ctx) const;
  Status Authenticate(const HttpRequest& request, RequestContext& ctx) const;

  const Router& router_;
  service::AuthService& auth_;
  const Clock& clock_;
  const std::vector<CidrRange> trusted_proxies_;
  service::Idempotency* idempotency_ = nullptr;
};

// The native error body: {"error":{"code","message","request_id"}} with the table's HTTP status.
HttpResponse NativeError(const Status& status, const RequestContext& ctx);

}  // namespace vouch::api
