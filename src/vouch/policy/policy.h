// An approval policy: the parsed, validated form of one entry of a policies file
// (docs/approvals.md "YAML reference"), its canonical JSON and its digest.
//
// Parsing is pure: no store, no clock. A reference to a group or user that does not exist yet is
// not this layer's to judge (the service warns about it at apply).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/policy/condition.h"
#include "vouch/policy/facts.h"
#include "vouch/policy/target.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::policy {

// A typed reference to people: a role and a group may share a name.
enum class RefKind { kRole, kGroup, kUser };
struct Ref {
  RefKind kind = RefKind::kRole;
  std::string name;

  friend bool operator==(const Ref&, const Ref&) = default;
  friend auto operator<=>(const Ref&, const Ref&) = default;
};
// Whether `person` is what `ref` names (a role they hold, a group they are in, their username).
bool PersonMatches(const Ref& ref, const Person& person);
// "role:ml-engineer", "group:sre-oncall", "user:ana".
std::string FormatRef(const Ref& ref);

std::string_view MeaningName(Meaning m);  // "reviewed", "validated", "approved", "released"
Result<Meaning> ParseMeaning(std::string_view text);

// `count` distinct people, each matching one of `from`, each signing with `meaning` if set.
struct ApprovalRule {
  std::vector<Ref> from;  // not empty
  int64_t count = 1;      // 1..100
  std::optional<Meaning> meaning;

  friend bool operator==(const ApprovalRule&, const ApprovalRule&) = default;
};

struct PolicyMatch {
  std::vector<std::string> models;  // name globs (* and ?); empty: any name
  StringMap tags;                   // model tags that must be set to exactly these values

  friend bool operator==(const PolicyMatch&, const PolicyMatch&) = default;
};

struct SeparationOfDuties {
  bool requester = true;          // the requester may not approve
  bool author = true;             // the version's creator may not approve
  std::vector<std::string> tags;  // version tags naming people who may not approve

  friend bool operator==(const SeparationOfDuties&, const SeparationOfDuties&) = default;
};

struct WaitTimer {
  Stage in_stage = Stage::kStaging;
  TimeMs at_least_ms = 0;

  friend bool operator==(const WaitTimer&, const WaitTimer&) = default;
};

enum class OnApproval { kApply, kManual };
enum class Enforcement { kEnforce, kAuditOnly };

struct Policy {
  std::string name;
  Target target;
  std::optional<PolicyMatch> match;  // empty: every model
  std::vector<Ref> requesters;       // empty: anyone with EDIT on the model
  std::vector<ApprovalRule> approvals;
  SeparationOfDuties separation_of_duties;
  bool comment_required = false;
  bool reauth = false;
  std::vector<std::string> checks;
  std::vector<Condition> conditions;
  std::optional<WaitTimer> wait;
  std::optional<TimeMs> request_expiry_ms;
  std::optional<TimeMs> approval_expiry_ms;
  std::vector<std::string> stale_tags;  // version tags the fingerprint covers
  std::vector<Ref> break_glass;
  OnApproval on_approval = OnApproval::kApply;
  bool archive_existing = false;
  bool gate_removal = false;
  Enforcement enforcement = Enforcement::kEnforce;
  std::optional<TimeMs> remind_every_ms;

  friend bool operator==(const Policy&, const Policy&) = default;
};

// Durations in a policy: a positive whole number and a unit, m (minutes), h (hours), d (days) or
// w (weeks): "30m", "24h", "7d", "2w"; at most 3650 days. INVALID_ARGUMENT otherwise.
Result<TimeMs> ParsePolicyDuration(std::string_view text);
// The largest unit that divides it exactly: 86'400'000 -> "1d", 90 minutes -> "90m".
std::string FormatPolicyDuration(TimeMs ms);

// Parses a policies file: a mapping with one key, `policies`, holding a list of policies. Every
// failure is INVALID_ARGUMENT with a message that begins "line L, column C: " (1-based, the
// position of the offending key or value): YAML syntax, duplicate and unknown keys, wrong types,
// bad durations and counts, empty `from`, malformed references, targets, conditions, meanings,
// enumerations, and two policies with one name.
Result<std::vector<Policy>> ParsePolicyFile(std::string_view yaml);

// Parses one policy, as a mapping (YAML, or the JSON PolicyCanonicalJson writes); errors as
// ParsePolicyFile. ParsePolicy(PolicyCanonicalJson(p)) == p.
Result<Policy> ParsePolicy(std::string_view text);

// RFC 8785 canonical JSON of the policy with every default written out (durations and conditions
// in their canonical text), for storage, digests and diffs.
std::string PolicyCanonicalJson(const Policy& policy);
// Lower-case hex SHA-256 of PolicyCanonicalJson.
std::string PolicyDigest(const Policy& policy);

// Whether `person` may open a request under `policy` by its `requesters` (the EDIT permission is
// the service's to check; without `requesters` anyone with it may).
bool CanRequest(const Policy& policy, const Person& person);
// Whether `person` is named in `break_glass`.
bool CanBreakGlass(const Policy& policy, const Person& person);

// Every reference the policy makes (requesters, rules, break glass), sorted and unique: what
// `policy apply` looks up to warn about groups and users that do not exist yet.
std::vector<Ref> References(const Policy& policy);

}  // namespace vouch::policy
