#include "vouch/api/idempotent_call.h"

#include <spdlog/spdlog.h>

#include "vouch/api/error_table.h"

namespace vouch::api {

Result<HttpResponse> RunIdempotent(service::Idempotency* idempotency, RequestContext& ctx,
                                   const HttpRequest& request, std::string_view path,
                                   const std::function<Result<HttpResponse>()>& handler) {
  if (idempotency == nullptr || request.method != "POST" || !ctx.principal) return handler();
  const std::string* key = nullptr;
  for (const auto& [name, value] : request.headers) {
    if (name != "idempotency-key") continue;
    if (key != nullptr) return InvalidArgument("more than one Idempotency-Key header");
    key = &value;
  }
  if (key == nullptr) return handler();

  std::string what = request.method + " " + std::string(path);
  VOUCH_ASSIGN_OR_RETURN(std::optional<service::IdempotentAnswer> kept,
                         idempotency->Claim(ctx, *key, what, request.body));
  if (kept) {
    HttpResponse r;
    r.status = kept->status;
    r.content_type = std::move(kept->content_type);
    r.body = std::move(kept->body);
    r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  }
  Result<HttpResponse> result = Internal("the handler did not run");
  try {
    result = handler();
  } catch (...) {
    // The dispatcher answers 500 for it; the claim must not outlive a request that changed nothing.
    (void)idempotency->Complete(ctx, {500, "", ""});
    throw;
  }
  service::IdempotentAnswer answer;
  if (result.ok() && result->deferred != nullptr) {
    // A parked answer (deferred.h) is not one to keep: the claim is forgotten (status 0).
    answer.status = 0;
  } else if (result.ok()) {
    answer = {result->status, result->content_type, result->body};
  } else {
    answer.status = InfoFor(result.status().code()).http_status;
  }
  if (Status s = idempotency->Complete(ctx, answer); !s.ok()) {
    // The change (if any) committed; its answer still goes out. The claim stays in_flight and
    // refuses retries until it may be taken over.
    spdlog::warn("request {}: could not end its Idempotency-Key claim: {}", ctx.request_id,
                 s.ToString());
  }
  return result;
}

}  // namespace vouch::api
