#include "vouch/store/approval_rows.h"

#include <fmt/format.h>

#include <array>

namespace vouch::store {
namespace {

constexpr std::array kRequestStates = {RequestState::kOpen,      RequestState::kApproved,
                                       RequestState::kApplied,   RequestState::kRejected,
                                       RequestState::kCancelled, RequestState::kExpired,
                                       RequestState::kSuperseded};
constexpr std::array kCheckStates = {CheckState::kPending, CheckState::kSuccess,
                                     CheckState::kFailure, CheckState::kError};

}  // namespace

std::string_view RequestStateName(RequestState s) {
  switch (s) {
    case RequestState::kOpen:
      return "open";
    case RequestState::kApproved:
      return "approved";
    case RequestState::kApplied:
      return "applied";
    case RequestState::kRejected:
      return "rejected";
    case RequestState::kCancelled:
      return "cancelled";
    case RequestState::kExpired:
      return "expired";
    case RequestState::kSuperseded:
      return "superseded";
  }
  return "open";
}

Result<RequestState> ParseRequestState(std::string_view name) {
  for (RequestState s : kRequestStates) {
    if (RequestStateName(s) == name) return s;
  }
  return InvalidArgument(fmt::format(
      "unknown request state '{}': one of open, approved, applied, rejected, cancelled, "
      "expired, superseded",
      name));
}

bool IsActiveRequestState(RequestState s) {
  return s == RequestState::kOpen || s == RequestState::kApproved;
}

std::string_view FollowupStateName(FollowupState s) {
  switch (s) {
    case FollowupState::kNone:
      return "none";
    case FollowupState::kOpen:
      return "open";
    case FollowupState::kClosed:
      return "closed";
  }
  return "none";
}

std::string_view ReviewDecisionName(ReviewDecision d) {
  return d == ReviewDecision::kReject ? "reject" : "approve";
}

std::string_view CheckStateName(CheckState s) {
  switch (s) {
    case CheckState::kPending:
      return "pending";
    case CheckState::kSuccess:
      return "success";
    case CheckState::kFailure:
      return "failure";
    case CheckState::kError:
      return "error";
  }
  return "pending";
}

Result<CheckState> ParseCheckState(std::string_view name) {
  for (CheckState s : kCheckStates) {
    if (CheckStateName(s) == name) return s;
  }
  return InvalidArgument(
      fmt::format("unknown check state '{}': one of pending, success, failure, error", name));
}

}  // namespace vouch::store
