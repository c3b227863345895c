#include "vouch/util/status.h"

#include <fmt/format.h>
#include <array>

namespace vouch {
namespace {

// Indexed by StatusCode.
constexpr std::array<std::string_view, 23> kNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
    "RESOURCE_EXHAUSTED",  // kPayloadTooLarge
    "UNIMPLEMENTED",       // kMethodNotAllowed
    "IDEMPOTENCY_KEY_REUSED",
    "REAUTH_REQUIRED",
    "REAUTH_FAILED",
    "ENTRY_TOO_LARGE",
};

}  // namespace

std::string_view StatusCodeName(StatusCode code) {
  auto i = static_cast<size_t>(code);
  return i < kNames.size() ? kNames[i] : kNames[static_cast<size_t>(StatusCode::kUnknown)];
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", StatusCodeName(code_), message_);
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, message_));
}

}  // namespace vouch
