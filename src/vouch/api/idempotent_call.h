// The dispatcher's Idempotency-Key step (service/idempotency.h), for both doors: a POST to an
// authenticated route that carries an Idempotency-Key runs its handler under a claim on that key,
// and a retry of it gets the first answer again with `Idempotent-Replayed: true`. Other methods
// (PUT, PATCH and DELETE are idempotent by nature) and public routes ignore the header.
#pragma once

#include <functional>

#include "vouch/api/http.h"
#include "vouch/domain/principal.h"
#include "vouch/service/idempotency.h"
#include "vouch/util/status.h"

namespace vouch::api {

// Runs `handler` for `request` (its route already found and the caller authenticated in `ctx`),
// under the request's Idempotency-Key when it has one and `idempotency` is set; otherwise just
// runs it. Errors as service::Idempotency::Claim says, and INVALID_ARGUMENT for more than one
// Idempotency-Key header; they are answered without running the handler.
Result<HttpResponse> RunIdempotent(service::Idempotency* idempotency, RequestContext& ctx,
                                   const HttpRequest& request, std::string_view path,
                                   const std::function<Result<HttpResponse>()>& handler);

}  // namespace vouch::api
