// The plain inputs a gate is evaluated on: what the store knows about a version, a request, the
// people who reviewed it and the checks posted on it. Filled by the service from T's row structs;
// nothing here reads a store or a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vouch/domain/model.h"
#include "vouch/domain/principal.h"
#include "vouch/util/time.h"

namespace vouch::policy {

// The version being gated.
struct VersionFacts {
  std::optional<int64_t> created_by_id;  // the author; empty for versions made before issue 12
  std::string source;
  std::string artifact_digest;
  MetricMap metrics;
  StringMap params;
  StringMap tags;  // version tags
  std::string description;
  // When the version last entered the stage a `wait` timer names (its newest move there), if it
  // is still there; empty when it is not in that stage.
  std::optional<TimeMs> entered_wait_stage_ms;
};

// A person as a gate sees them, at the moment of evaluation.
struct Person {
  int64_t id = 0;
  std::string username;
  std::string email;
  std::string display_name;
  std::vector<std::string> roles;   // granted directly or through a group
  std::vector<std::string> groups;  // group names
  PrincipalKind kind = PrincipalKind::kUser;
  bool is_admin = false;  // never satisfies a rule by itself
  bool disabled = false;
  bool deleted = false;
};

enum class Decision { kApprove, kReject };

// The four meanings a signature may carry.
enum class Meaning { kReviewed, kValidated, kApproved, kReleased };

struct Review {
  int64_t id = 0;  // the store's id, so the service can dismiss it
  Person reviewer;
  Decision decision = Decision::kApprove;
  Meaning meaning = Meaning::kApproved;
  std::string fingerprint;  // the fingerprint the reviewer saw
  TimeMs time_ms = 0;
};

enum class CheckState { kPending, kSuccess, kFailure, kError };

// One post of a check on the version (every post, not only the newest).
struct CheckPost {
  int64_t id = 0;  // increasing with each post; breaks ties between posts in the same millisecond
  std::string name;
  CheckState state = CheckState::kPending;
  std::string fingerprint;  // the version's fingerprint when it was posted
  TimeMs time_ms = 0;
};

struct RequestFacts {
  int64_t id = 0;
  Person requester;
  TimeMs created_ms = 0;
  bool break_glass = false;
  std::string break_glass_reason;
};

}  // namespace vouch::policy
