#include "vouch/util/time.h"

#include <fmt/format.h>
#include <charconv>
#include <ctime>

namespace vouch {
namespace {

// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm), valid for any year.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

TimeMs SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatRfc3339Ms(TimeMs t) {
  int64_t secs = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
  int ms = static_cast<int>(t - secs * 1000);
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

Result<TimeMs> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return InvalidArgument(fmt::format("'{}' is not an RFC 3339 time (2026-11-25T14:00:00Z)", s));
  };
  int y, mo, d, h, mi, sec;
  if (!ReadDigits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !ReadDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ReadDigits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ReadDigits(s, 11, 2, &h) || s[13] != ':' || !ReadDigits(s, 14, 2, &mi) || s[16] != ':' ||
      !ReadDigits(s, 17, 2, &sec)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return bad();
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ReadDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ReadDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  int64_t days = DaysFromCivil(y, mo, d);
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + std::min(sec, 59) - offset_min * 60;
  return secs * 1000 + ms;
}

Result<TimeMs> ParseDurationMs(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument(fmt::format("'{}' is not a duration (30s, 15m, 24h, 7d, 500ms)", text));
  };
  if (text.empty() || text[0] < '0' || text[0] > '9') return bad();  // no sign, not even "-0"
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return bad();
  std::string_view unit(end, text.data() + text.size() - end);
  int64_t mult;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s") {
    mult = 1000;
  } else if (unit == "m") {
    mult = 60'000;
  } else if (unit == "h") {
    mult = 3'600'000;
  } else if (unit == "d") {
    mult = 86'400'000;
  } else {
    return bad();
  }
  if (n > INT64_MAX / mult) return bad();
  return n * mult;
}

Result<TimeMs> ParseTimeArg(std::string_view text, TimeMs now) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    auto d = ParseDurationMs(text.substr(1));
    if (!d.ok()) {
      return InvalidArgument(
          fmt::format("'{}' is neither an RFC 3339 time nor a relative one like -24h", text));
    }
    bool minus = text[0] == '-';
    if (minus ? now < INT64_MIN + *d : now > INT64_MAX - *d) {
      return InvalidArgument(fmt::format("'{}' is too far from now", text));
    }
    return minus ? now - *d : now + *d;
  }
  return ParseRfc3339(text);
}

}  // namespace vouch
