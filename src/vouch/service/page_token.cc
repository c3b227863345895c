#include "vouch/service/page_token.h"

#include "vouch/util/crypto.h"

namespace vouch::service {

std::string PageTokens::Encode(const json::object& position) const {
  std::string payload = json::serialize(position);
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(HmacSha256(key_, payload).substr(0, 16));
}

Result<json::object> PageTokens::Decode(std::string_view token) const {
  auto bad = [] { return InvalidArgument("invalid page token"); };
  size_t dot = token.find('.');
  if (dot == std::string_view::npos) return bad();
  auto payload = Base64UrlDecode(token.substr(0, dot));
  auto mac = Base64UrlDecode(token.substr(dot + 1));
  if (!payload || !mac) return bad();
  if (!ConstantTimeEquals(*mac, HmacSha256(key_, *payload).substr(0, 16))) return bad();
  auto obj = ParseJsonObject(*payload);
  if (!obj.ok()) return bad();
  return std::move(obj).value();
}

}  // namespace vouch::service
