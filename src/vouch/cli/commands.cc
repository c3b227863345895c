#include "vouch/cli/commands.h"

#include "vouch/cli/args.h"
#include "vouch/cli/output.h"

namespace vouch::cli {

void OnSelect(CLI::App& command, Action& chosen, Action action) {
  command.callback([&chosen, action = std::move(action)] { chosen = action; });
}

CLI::Option* AddRepeated(CLI::App& command, std::string name, std::vector<std::string>& values,
                         std::string description) {
  return command.add_option(std::move(name), values, std::move(description))
      ->allow_extra_args(false);
}

std::string ModelPath(std::string_view name) { return "/api/v1/models/" + PathSegment(name); }

json::value VersionValue(std::string_view version) {
  Result<int64_t> n = ParsePositiveInt(version, "version");
  if (n.ok()) return *n;
  return json::value(std::string(version));
}

Result<std::string> VersionPath(std::string_view name, std::string_view version) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, ParsePositiveInt(version, "version"));
  return ModelPath(name) + "/versions/" + std::to_string(n);
}

Result<HttpRequest> VersionRequest(std::string_view name, std::string_view version,
                                   std::string method, std::string_view suffix,
                                   std::optional<json::object> body) {
  VOUCH_ASSIGN_OR_RETURN(std::string path, VersionPath(name, version));
  path += suffix;
  if (body.has_value()) return WithBody(std::move(method), std::move(path), *body);
  return HttpRequest{std::move(method), std::move(path), std::nullopt};
}

HttpRequest Get(std::string path) { return {"GET", std::move(path), std::nullopt}; }

HttpRequest Delete(std::string path) { return {"DELETE", std::move(path), std::nullopt}; }

HttpRequest WithBody(std::string method, std::string path, const json::object& body) {
  return {std::move(method), std::move(path), SerializeJson(body)};
}

}  // namespace vouch::cli
