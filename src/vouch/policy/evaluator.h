// The gate: given a policy, a request, the version, its reviews and checks and a clock, decides
// whether the version may enter the target now, and says why for every part. Pure: the service
// gathers the inputs (inside the transaction that applies a move) and acts on the answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vouch/policy/condition.h"
#include "vouch/policy/facts.h"
#include "vouch/policy/policy.h"
#include "vouch/util/time.h"

namespace vouch::policy {

struct GateInput {
  int64_t policy_version = 0;
  RequestFacts request;
  VersionFacts version;
  std::vector<Review> reviews;    // every review on the request, any order
  std::vector<CheckPost> checks;  // every post on the version, any order
  // Optional: people who might approve (e.g. everyone holding a referenced role or group), so
  // that each unmet rule can say who could still count. May be empty.
  std::vector<Person> candidates;
};

enum class Outcome {
  kSatisfied,   // every rule, check, condition and timer holds: the version may enter now
  kPending,     // something is still missing (`blockers` says what)
  kRejected,    // a reviewer rejected the request
  kExpired,     // the request outlived `expiry.request` before it was satisfied
  kBrokenGlass  // break glass by someone named in `break_glass`: enters at once, flagged
};
std::string_view OutcomeName(Outcome o);  // "satisfied", "pending", ...

// Why a review counts or not.
enum class ReviewStatus {
  kCounted,            // assigned to a rule (ReviewVerdict::rule)
  kUnassigned,         // qualifies, but every rule it qualifies for is already full
  kRejection,          // a reject
  kSuperseded,         // the same person reviewed again later
  kStale,              // signed another fingerprint: to be dismissed
  kExpired,            // older than `expiry.approval`
  kExcludedRequester,  // separation of duties: the requester
  kExcludedAuthor,     // separation of duties: the version's creator
  kExcludedByTag,      // separation of duties: named by a listed version tag
  kServiceAccount,     // machines vote through checks
  kDisabled,
  kDeleted,
  kNoRule,  // holds no role, group or name a rule lists (or signed with another meaning)
};
std::string_view ReviewStatusName(ReviewStatus s);  // "counted", "stale", ...

struct ReviewVerdict {
  int64_t review_id = 0;
  int64_t reviewer_id = 0;
  std::string reviewer;  // username
  ReviewStatus status = ReviewStatus::kNoRule;
  std::optional<size_t> rule;  // kCounted: the index of the rule it counts toward
  std::string detail;          // e.g. the tag that excluded them
};

struct RuleResult {
  std::string text;  // "2 of role:ml-engineer", "1 of role:business-owner or user:ana (approved)"
  int64_t required = 0;
  std::vector<std::string> counted;  // usernames assigned to this rule
  bool satisfied = false;
  // Candidates (GateInput::candidates) who could still count toward it: eligible, not excluded,
  // and not already counted.
  std::vector<std::string> could_count;
};

enum class CheckStatus { kMissing, kStale, kPending, kSuccess, kFailure, kError };
std::string_view CheckStatusName(CheckStatus s);

struct CheckResult {
  std::string name;
  CheckStatus status = CheckStatus::kMissing;
  bool passed = false;
  std::optional<TimeMs> posted_ms;  // the post that decided
};

struct WaitResult {
  bool met = false;
  std::optional<TimeMs> ready_ms;  // when the wait ends; empty while not in the stage
};

struct Evaluation {
  Outcome outcome = Outcome::kPending;
  // Every rule, check, condition and the wait hold (break glass aside).
  bool satisfied = false;
  // Whether the move may happen now: satisfied or broken glass, or anything under audit_only.
  bool may_enter = false;
  // audit_only and not satisfied: the move goes through, flagged as "would be refused".
  bool would_be_refused = false;
  std::string fingerprint;  // the version's fingerprint now
  std::vector<RuleResult> rules;
  std::vector<CheckResult> checks;
  std::vector<ConditionResult> conditions;
  std::optional<WaitResult> wait;
  std::optional<TimeMs> request_expires_ms;
  // The earliest moment a counted approval lapses under `expiry.approval`.
  std::optional<TimeMs> next_approval_expiry_ms;
  std::vector<ReviewVerdict> reviews;         // one per review, in input order
  std::vector<int64_t> stale_review_ids;      // approvals to dismiss (review.dismissed)
  std::vector<int64_t> rejection_review_ids;  // the rejections in force
  // Why it cannot be applied yet, one sentence each, in the order rules, checks, conditions,
  // timers; empty when it may enter.
  std::vector<std::string> blockers;
};

// Evaluates the gate at `clock.NowMs()`. The fingerprint is computed from `input.version` and the
// policy's name, `input.policy_version` and `stale.tags`. One person's newest review is the one
// that counts; people are assigned to rules by maximum bipartite matching so that each counts
// toward one rule only. Admin status never satisfies a rule.
Evaluation Evaluate(const Policy& policy, const GateInput& input, const Clock& clock);

// "2 of role:ml-engineer or group:leads (approved)".
std::string FormatRule(const ApprovalRule& rule);

}  // namespace vouch::policy
