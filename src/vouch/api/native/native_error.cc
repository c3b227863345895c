#include "vouch/api/native/native_error.h"

#include "vouch/api/error_table.h"
#include "vouch/api/native/handler_util.h"
#include "vouch/util/json.h"

namespace vouch::api::native {
namespace {

// What a refused native request named: the model of a /models/{name}… route and its version {n};
// for POST /models, the `name` of the model it would create.
std::optional<RequestSubject> NativeSubject(std::string_view pattern, const Call& c) {
  const std::string models = fmt::format("{}/models", kPrefix);
  if (pattern == models && c.request.method == "POST") {
    Result<json::object> body = ParseJsonObject(c.request.body);
    const json::value* name = body.ok() ? body->if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string() || name->get_string().empty()) return std::nullopt;
    return RequestSubject{.model = std::string(name->get_string())};
  }
  if (!pattern.starts_with(models + "/{name}")) return std::nullopt;
  const auto name = c.path.find("name");
  if (name == c.path.end() || name->second.empty()) return std::nullopt;
  RequestSubject subject{.model = name->second};
  if (const auto n = c.path.find("n"); n != c.path.end()) {
    Result<int64_t> version = ParseInt("version", n->second);
    if (version.ok() && *version > 0) subject.version = *version;
  }
  return subject;
}

}  // namespace

HttpResponse NativeError(const Status& status, const RequestContext& ctx) {
  const ErrorInfo& info = InfoFor(status.code());
  json::object body{
      {"error",
       {{"code", info.name}, {"message", status.message()}, {"request_id", ctx.request_id}}}};
  HttpResponse r = HttpResponse::Json(info.http_status, SerializeJson(body));
  if (InfoFor(status.code()).http_status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vouch\"");
  }
  return r;
}

DoorSpec NativeDoor() {
  return DoorSpec{.door = Door::kNative,
                  .recognisers = {Recogniser::PathPrefix("")},
                  .render = NativeError,
                  .authenticators = {AuthorizationHeader},
                  .subject = NativeSubject};
}

}  // namespace vouch::api::native
