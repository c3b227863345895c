#include "vouch/api/door.h"

#include <utility>

namespace vouch::api {

Recogniser Recogniser::PathPrefix(std::string prefix) {
  return Recogniser{.path = std::move(prefix)};
}

Recogniser Recogniser::HeaderOn(std::string method, std::string path, std::string header) {
  return Recogniser{.path = std::move(path),
                    .exact_path = true,
                    .method = std::move(method),
                    .header = std::move(header)};
}

bool Recogniser::Matches(const HttpRequest& request, std::string_view request_path) const {
  if (exact_path ? request_path != path : !request_path.starts_with(path)) return false;
  if (!method.empty() && request.method != method) return false;
  if (header.empty()) return true;
  for (const auto& [name, value] : request.headers) {
    if (name == header) return true;
  }
  return false;
}

std::tuple<bool, bool, size_t> Recogniser::Rank() const {
  return {!header.empty(), exact_path, path.size()};
}

std::optional<Result<service::Authenticated>> AuthorizationHeader(service::AuthService& auth,
                                                                  const HttpRequest& request,
                                                                  RequestContext& ctx) {
  return auth.AuthenticateHeader(request.Header("authorization"), ctx.address,
                                 ctx.attempted_identity);
}

}  // namespace vouch::api
