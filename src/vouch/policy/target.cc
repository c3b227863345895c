#include "vouch/policy/target.h"

#include <fmt/format.h>

#include <cctype>

namespace vouch::policy {

namespace {

Status BareName(std::string_view text) {
  return InvalidArgument(
      fmt::format("'{}' is not a typed target: write stage:{} for a stage or alias:{} for an alias "
                  "(targets are stage:Staging, stage:Production, alias:NAME)",
                  text, text, text));
}

}  // namespace

Result<Target> ParseTarget(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    if (text.empty()) return InvalidArgument("a target is required (stage:Production, alias:NAME)");
    return BareName(text);
  }
  std::string_view kind = text.substr(0, colon);
  std::string_view name = text.substr(colon + 1);
  if (kind == "stage") {
    auto stage = ParseStage(name);
    if (!stage.ok() || !IsActiveStage(*stage)) {
      return InvalidArgument(fmt::format(
          "'{}' is not a gated stage: the stages a policy can gate are stage:Staging and "
          "stage:Production",
          text));
    }
    return StageTarget(*stage);
  }
  if (kind == "alias") {
    Status s = ValidateAlias(name);
    if (!s.ok()) return s.WithContext(fmt::format("target '{}'", text));
    return AliasTarget(name);
  }
  if (kind == "env") {
    bool ok = !name.empty() && name.size() <= 64;
    for (unsigned char c : name) {
      ok = ok && (std::isalnum(c) || c == '_' || c == '-' || c == '.');
    }
    if (!ok) {
      return InvalidArgument(fmt::format(
          "'{}' is not an environment target: env:NAME takes 1 to 64 letters, digits, '_', '-' "
          "or '.'",
          text));
    }
    return Target{TargetKind::kEnv, std::string(name)};
  }
  return InvalidArgument(fmt::format(
      "'{}' has an unknown target kind '{}': targets are stage:Staging, stage:Production, "
      "alias:NAME (env:NAME is reserved for deployments)",
      text, kind));
}

std::string FormatTarget(const Target& target) {
  switch (target.kind) {
    case TargetKind::kStage:
      return "stage:" + target.name;
    case TargetKind::kAlias:
      return "alias:" + target.name;
    case TargetKind::kEnv:
      return "env:" + target.name;
  }
  return target.name;
}

Target StageTarget(Stage stage) {
  return Target{TargetKind::kStage, std::string(StageName(stage))};
}

Target AliasTarget(std::string_view alias) {
  return Target{TargetKind::kAlias, std::string(alias)};
}

}  // namespace vouch::policy
