// Status and Result<T>: expected failures as values (STYLE.md "Errors").
//
// Codes follow abseil's canonical set. How each code looks on each front door (HTTP status, MLflow
// error_code, AWS __type) is the one error table in api/error_table.h; doors never invent their own
// mapping.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vouch {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
  // Not in abseil's set: a body over the limit. Its wire name is RESOURCE_EXHAUSTED, its status
  // 413.
  kPayloadTooLarge,
  // Not in abseil's set: a method the path does not take. Wire name UNIMPLEMENTED, status 405.
  kMethodNotAllowed,
  // Not in abseil's set: an Idempotency-Key sent again with another request (another body, method
  // or path) than it was first used for. Wire name IDEMPOTENCY_KEY_REUSED, status 422.
  kIdempotencyKeyReused,
  // Not in abseil's set: a signature under a policy with `reauth: true` sent without the signer's
  // password (a token or session alone). Wire name REAUTH_REQUIRED, status 401.
  kReauthRequired,
  // Not in abseil's set: the password a signature carried is wrong. Wire name REAUTH_FAILED,
  // status 401; it counts toward the sign-in throttle.
  kReauthFailed,
  // Not in abseil's set: an audit event too large for a tlog-tiles entry bundle (over 65,535
  // bytes; only events older than that limit). Wire name ENTRY_TOO_LARGE, status 422.
  kEntryTooLarge,
};

// The code's wire name, e.g. "NOT_FOUND" (also the native API's error code). The two codes outside
// abseil's set take the name of their nearest: kPayloadTooLarge is "RESOURCE_EXHAUSTED",
// kMethodNotAllowed "UNIMPLEMENTED". A value outside the enum reads as "UNKNOWN".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: message" for logs.
  std::string ToString() const;
  // Prefixes the message with context as the failure crosses a layer.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}

// Holds a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace vouch

#define VOUCH_CONCAT_INNER_(a, b) a##b
#define VOUCH_CONCAT_(a, b) VOUCH_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define VOUCH_TRY(expr)                                                    \
  do {                                                                     \
    ::vouch::Status vouch_try_status_ = ::vouch::internal::AsStatus(expr); \
    if (!vouch_try_status_.ok()) return vouch_try_status_;                 \
  } while (false)

// Declares or assigns `lhs` from a Result, returning its Status when it is not OK.
#define VOUCH_ASSIGN_OR_RETURN(lhs, expr) \
  VOUCH_ASSIGN_OR_RETURN_IMPL_(VOUCH_CONCAT_(vouch_result_, __LINE__), lhs, expr)
#define VOUCH_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                 \
  if (!result.ok()) return result.status();             \
  lhs = std::move(result).value()
