// Typed targets of a gate: `stage:Production`, `stage:Staging`, `alias:NAME`, `env:NAME`.
//
// A target is always written with its kind, because an alias may legally be called `Production`:
// a bare name is refused with a message that says how to write it. Only the two active stages
// (Staging, Production) can be gated; `env:` is reserved for deployments and parses, but no policy
// may name it yet (ParsePolicyFile refuses it).
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "vouch/domain/model.h"
#include "vouch/util/status.h"

namespace vouch::policy {

enum class TargetKind { kStage, kAlias, kEnv };

struct Target {
  TargetKind kind = TargetKind::kStage;
  // The stage's canonical name ("Production"), the alias or the environment.
  std::string name;

  friend bool operator==(const Target&, const Target&) = default;
  friend auto operator<=>(const Target&, const Target&) = default;
};

// INVALID_ARGUMENT for a bare name, an unknown kind, a stage other than Staging or Production, an
// invalid alias name, or an environment name outside [A-Za-z0-9_.-]{1,64}. The stage name is
// case-insensitive and comes back canonical ("stage:production" -> "stage:Production").
Result<Target> ParseTarget(std::string_view text);

// "stage:Production", "alias:champion", "env:prod-eu". ParseTarget(FormatTarget(t)) == t.
std::string FormatTarget(const Target& target);

// The target a stage is: `stage:<name>`. Only for Staging and Production.
Target StageTarget(Stage stage);
Target AliasTarget(std::string_view alias);

}  // namespace vouch::policy
