// Small helpers the native API's handlers share: integers in paths and queries, JSON bodies with
// only known fields, and the shapes of success answers. Internal to api/native.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "vouch/api/router.h"
#include "vouch/util/json.h"

namespace vouch::service {
class IdentityService;
}

namespace vouch::api::native {

inline constexpr std::string_view kPrefix = "/api/v1";

// A decimal integer that a JSON number holds exactly (|v| <= 2^53 - 1, as docs/openapi.yaml
// says). INVALID_ARGUMENT naming `what` otherwise.
inline Result<int64_t> ParseInt(std::string_view what, std::string_view text) {
  constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > kMaxSafe || v < -kMaxSafe) {
    return InvalidArgument(
        fmt::format("{} must be an integer of at most 2^53 - 1, got '{}'", what, text));
  }
  return v;
}

// The request body as a JSON object holding no field outside `allowed`.
inline Result<json::object> Body(const Call& c, std::initializer_list<std::string_view> allowed) {
  // Every body of this door is required (docs/openapi.yaml); a PATCH without one changes nothing
  // and would otherwise answer 200.
  if (c.request.body.empty()) return InvalidArgument("the request needs a JSON object as its body");
  VOUCH_ASSIGN_OR_RETURN(json::object o, ParseJsonObject(c.request.body));
  VOUCH_TRY(RejectUnknownFields(o, allowed));
  // No field of this door is nullable (docs/openapi.yaml): an optional one is left out, not null.
  for (const auto& field : o) {
    if (field.value().is_null()) {
      return InvalidArgument(
          fmt::format("{} must not be null; leave it out instead", std::string_view(field.key())));
    }
  }
  return o;
}

inline HttpResponse Ok(const json::object& o, int status = 200) {
  return HttpResponse::Json(status, SerializeJson(o));
}

// 204 for a change that answers nothing, or the failure.
inline Result<HttpResponse> Empty(const Status& s) {
  if (!s.ok()) return s;
  return HttpResponse::NoContent();
}

// GET /api/v1/whoami: the caller as it authenticated; group names when `identity` is given.
Result<HttpResponse> WhoamiResult(const Call& c, service::IdentityService* identity);

}  // namespace vouch::api::native
