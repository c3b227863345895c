// Opaque, tamper-checked page tokens: base64url(payload) "." base64url(HMAC-SHA256(key, payload)).
// Thread-safe (immutable after construction).
#pragma once

#include <string>
#include <string_view>

#include "vouch/util/json.h"

namespace vouch::service {

class PageTokens {
 public:
  explicit PageTokens(std::string key) : key_(std::move(key)) {}
  std::string Encode(const json::object& position) const;
  // INVALID_ARGUMENT "invalid page token" when it was not made by Encode with this key.
  Result<json::object> Decode(std::string_view token) const;

 private:
  std::string key_;
};

}  // namespace vouch::service
