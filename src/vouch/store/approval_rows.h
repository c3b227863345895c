// The approval store's rows (issue 12): published policy versions, requests, reviews, checks and
// comments, as the tables of migration 0011 hold them (src/vouch/store/README.md, "Approvals").
// Plain rows: nothing here knows what a policy says; the service maps them to the policy domain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::store {

// One published version of a policy. Immutable once published; `retired_ms` and `retired_by_id`
// come from the policy's head row (the name's, not this version's).
struct PolicyRecord {
  int64_t id = 0;
  std::string name;
  int64_t version = 0;      // 1, 2, 3 … per name, assigned by PublishPolicy
  std::string target;       // "stage:Production"
  std::string body;         // canonical JSON (RFC 8785)
  std::string digest;       // SHA-256 hex of `body`
  std::string source_yaml;  // the text it was applied from
  TimeMs created_ms = 0;
  int64_t created_by_id = 0;
  std::optional<TimeMs> retired_ms;  // set while the policy name is retired
  int64_t retired_by_id = 0;
};

enum class RequestState {
  kOpen,
  kApproved,
  kApplied,
  kRejected,
  kCancelled,
  kExpired,
  kSuperseded
};
std::string_view RequestStateName(RequestState s);  // "open", "approved", …
// INVALID_ARGUMENT for anything but the names above.
Result<RequestState> ParseRequestState(std::string_view name);
// Open and approved: the states the one-request-per-version-and-target rule counts.
bool IsActiveRequestState(RequestState s);

// A break-glass request's follow-up review: none, open until someone reviews it, closed.
enum class FollowupState { kNone, kOpen, kClosed };
std::string_view FollowupStateName(FollowupState s);  // "none", "open", "closed"

struct ApprovalRequest {
  int64_t id = 0;
  int64_t model_id = 0;
  int64_t version = 0;
  std::string target;  // "stage:Production", "alias:champion"
  RequestState state = RequestState::kOpen;
  int64_t requester_id = 0;
  std::string comment;
  std::string policy_name;  // the governing policy when the request was opened
  int64_t policy_version = 0;
  std::string fingerprint;  // the version's fingerprint when it was opened
  bool break_glass = false;
  std::string break_glass_reason;
  FollowupState followup_state = FollowupState::kNone;
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  std::optional<TimeMs> approved_ms;
  std::optional<TimeMs> applied_ms;
  std::optional<TimeMs> closed_ms;
  std::optional<TimeMs> expires_ms;
  std::optional<TimeMs> followup_closed_ms;
  // When the timer job last recorded request.reminder for it (migration 0014); written by
  // SetRequestReminded only.
  std::optional<TimeMs> reminded_ms;
};

// ListRequests' filters; each empty or 0 one matches everything. Newest first (highest id first),
// strictly before `before_id` when it is not 0: the next page starts before the last id seen.
struct RequestFilter {
  int64_t model_id = 0;
  int64_t version = 0;
  std::optional<RequestState> state;
  int64_t requester_id = 0;
  std::string target;
  int64_t before_id = 0;
  int limit = 100;
};

enum class ReviewDecision { kApprove, kReject };
std::string_view ReviewDecisionName(ReviewDecision d);  // "approve", "reject"

// One review: a signature. Only the dismissal may change after it is written.
struct ApprovalReview {
  int64_t id = 0;
  int64_t request_id = 0;
  int64_t reviewer_id = 0;
  std::string printed_name;  // the signer's display name at the time
  ReviewDecision decision = ReviewDecision::kApprove;
  std::string meaning;  // "reviewed", "validated", "approved", "released"
  std::string comment;
  std::string fingerprint;  // the version's fingerprint the reviewer saw
  TimeMs created_ms = 0;
  std::optional<TimeMs> dismissed_ms;
  std::string dismissed_reason;
};

enum class CheckState { kPending, kSuccess, kFailure, kError };
std::string_view CheckStateName(CheckState s);  // "pending", "success", "failure", "error"
// INVALID_ARGUMENT for anything but the names above.
Result<CheckState> ParseCheckState(std::string_view name);

// One post of a check on a version; the newest post of a name (highest id) wins.
struct VersionCheck {
  int64_t id = 0;
  int64_t model_id = 0;
  int64_t version = 0;
  std::string name;  // "ci/tests"
  CheckState state = CheckState::kPending;
  std::string url;
  std::string description;
  std::string fingerprint;  // the version's fingerprint when it was posted
  int64_t poster_id = 0;
  TimeMs created_ms = 0;
};

// A comment on a version, or on one of its requests (`request_id`, 0 for none).
struct RequestComment {
  int64_t id = 0;
  int64_t request_id = 0;
  int64_t model_id = 0;
  int64_t version = 0;
  int64_t author_id = 0;
  std::string text;
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  std::optional<TimeMs> deleted_ms;
};

}  // namespace vouch::store
