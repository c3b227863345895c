// Which policy governs a model's target, and the checks `policy apply` runs on the whole set.
//
// Precedence: a policy matches a model when every glob of `match.models` it lists matches one
// (any of them) and every `match.tags` pair is among the model's tags. A policy without `match`
// matches every model. Of the matching policies for a target, the one with more matching keys
// governs: `match.models` counts one, each `match.tags` pair one.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vouch/domain/model.h"
#include "vouch/policy/policy.h"
#include "vouch/policy/target.h"
#include "vouch/util/status.h"

namespace vouch::policy {

// Globs: `*` any run of characters (none included), `?` one character; everything else literal.
bool GlobMatch(std::string_view glob, std::string_view name);
// Whether some name matches both globs.
bool GlobsIntersect(std::string_view a, std::string_view b);

// How many keys of `match` a policy lists (0 without `match`).
int Specificity(const Policy& policy);
bool PolicyMatchesModel(const Policy& policy, std::string_view model_name, const StringMap& tags);

// The index in `policies` of the policy that governs `target` for the model, or nothing when no
// policy gates it. FAILED_PRECONDITION naming both when two match with the same specificity
// (CheckPolicySet refuses such a set at apply, so this only guards a set that was never checked).
Result<std::optional<size_t>> SelectPolicy(std::span<const Policy> policies,
                                           std::string_view model_name, const StringMap& tags,
                                           const Target& target);

// The whole-set check a future `policy apply` runs on the policies that would be in force. OK, or
// FAILED_PRECONDITION naming both policies when
//  - two policies for one target could govern one model with the same specificity (a tie), or
//  - a narrower policy (one that governs some model a wider one for the same target matches)
//    loosens a minimum of the wider one: a rule with no rule at least as strict (no fewer people,
//    the same meaning, a count as high), a condition clause nothing at least as strict implies,
//    or a required check left out.
Status CheckPolicySet(std::span<const Policy> policies);

}  // namespace vouch::policy
