// Time: an injectable clock, RFC 3339 and duration parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch {

// Milliseconds since the Unix epoch, the unit every persisted time uses.
using TimeMs = int64_t;

// Where the service reads "now". Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs NowMs() const override;
};

// A clock tests move by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeMs start) : now_(start) {}
  TimeMs NowMs() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(TimeMs delta) {
    std::lock_guard lock(mu_);
    now_ += delta;
  }

 private:
  mutable std::mutex mu_;
  TimeMs now_;  // guarded by mu_
};

// "2026-11-25T14:00:00.123Z".
std::string FormatRfc3339Ms(TimeMs t);

// Parses an RFC 3339 time ("2026-11-25T14:00:00Z", with optional fraction and numeric offset).
// INVALID_ARGUMENT when it is not one.
Result<TimeMs> ParseRfc3339(std::string_view text);

// Parses "30s", "15m", "24h", "7d", "500ms" into milliseconds. INVALID_ARGUMENT otherwise.
Result<TimeMs> ParseDurationMs(std::string_view text);

// Parses a time as the CLI takes it: RFC 3339, or relative to `now` ("-24h", "-15m").
Result<TimeMs> ParseTimeArg(std::string_view text, TimeMs now);

}  // namespace vouch
