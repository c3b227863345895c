#include "vouch/api/native/native_error.h"

#include "vouch/api/error_table.h"
#include "vouch/util/json.h"

namespace vouch::api::native {

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

DoorSpec NativeDoor() {
  return DoorSpec{.door = Door::kNative,
                  .recognisers = {Recogniser::PathPrefix("")},
                  .render = NativeError,
                  .authenticators = {AuthorizationHeader}};
}

}  // namespace vouch::api::native
