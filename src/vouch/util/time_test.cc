#include "vouch/util/time.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace vouch {
namespace {

constexpr TimeMs kNov25 = 1'795'615'200'000;  // 2026-11-25T14:00:00Z

TimeMs MustParse(std::string_view text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : -1;
}

TEST(FormatRfc3339Ms, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339Ms(kNov25), "2026-11-25T14:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Ms(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(FormatRfc3339Ms(1'709'208'000'000), "2024-02-29T12:00:00.000Z");
}

TEST(ParseRfc3339, ParsesUtcTimes) {
  EXPECT_EQ(MustParse("2026-11-25T14:00:00Z"), kNov25);
  EXPECT_EQ(MustParse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(MustParse("1969-12-31T23:59:59Z"), -1000);
  // RFC 3339 allows lower-case t and z, and a space for T.
  EXPECT_EQ(MustParse("2026-11-25t14:00:00z"), kNov25);
  EXPECT_EQ(MustParse("2026-11-25 14:00:00Z"), kNov25);
}

TEST(ParseRfc3339, ReadsFractionsToTheMillisecond) {
  EXPECT_EQ(MustParse("2026-11-25T14:00:00.5Z"), kNov25 + 500);
  EXPECT_EQ(MustParse("2026-11-25T14:00:00.12Z"), kNov25 + 120);
  EXPECT_EQ(MustParse("2026-11-25T14:00:00.123Z"), kNov25 + 123);
  EXPECT_EQ(MustParse("2026-11-25T14:00:00.123999999Z"), kNov25 + 123);
  EXPECT_EQ(MustParse("2026-11-25T14:00:00.000Z"), kNov25);
}

TEST(ParseRfc3339, AppliesNumericOffsets) {
  EXPECT_EQ(MustParse("2026-11-25T15:30:00+01:30"), kNov25);
  EXPECT_EQ(MustParse("2026-11-25T09:00:00-05:00"), kNov25);
  EXPECT_EQ(MustParse("2026-11-25T14:00:00+00:00"), kNov25);
  EXPECT_EQ(MustParse("2026-11-25T14:00:00-00:00"), kNov25);
  EXPECT_EQ(MustParse("2026-11-26T13:59:00+23:59"), kNov25);
  // Across a day and a year boundary.
  EXPECT_EQ(MustParse("2027-01-01T01:00:00+02:00"), MustParse("2026-12-31T23:00:00Z"));
  EXPECT_EQ(MustParse("2026-11-25T14:00:00.250-01:00"), kNov25 + 3'600'000 + 250);
}

TEST(ParseRfc3339, KnowsLeapYears) {
  EXPECT_EQ(MustParse("2024-02-29T12:00:00Z"), 1'709'208'000'000);
  EXPECT_EQ(MustParse("2000-02-29T00:00:00Z") + 86'400'000, MustParse("2000-03-01T00:00:00Z"));
  EXPECT_EQ(MustParse("2000-03-01T00:00:00Z"), 951'868'800'000);
  EXPECT_EQ(ParseRfc3339("2023-02-29T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRfc3339("1900-02-29T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRfc3339("2100-02-29T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseRfc3339("2400-02-29T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2026-12-31T23:59:59Z").ok());
  EXPECT_EQ(ParseRfc3339("2026-04-31T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseRfc3339, AcceptsALeapSecondAsTheSecondBeforeIt) {
  EXPECT_EQ(MustParse("2016-12-31T23:59:60Z"), MustParse("2016-12-31T23:59:59Z"));
}

TEST(ParseRfc3339, RoundTripsWithFormat) {
  for (TimeMs t : {TimeMs{0}, TimeMs{1}, TimeMs{999}, kNov25 + 7, TimeMs{-1}, TimeMs{-86'400'001},
                   TimeMs{951'868'799'999}, TimeMs{253'402'300'799'999}}) {
    EXPECT_EQ(MustParse(FormatRfc3339Ms(t)), t) << FormatRfc3339Ms(t);
  }
}

TEST(ParseRfc3339, RefusesWhatIsNotAnRfc3339Time) {
  for (const char* text : {"",
                           "2026",
                           "2026-11-25",
                           "2026-11-25T14:00",
                           "2026-11-25T14:00:00",
                           "2026-11-25T14:00:00+0100",
                           "2026-11-25T14:00:00+01",
                           "2026-11-25T14:00:00+24:00",
                           "2026-11-25T14:00:00+01:60",
                           "2026-11-25T14:00:00Zjunk",
                           "2026-11-25T14:00:00 Z",
                           "2026-11-25T14:00:00.Z",
                           "2026-11-25T14:00:00.",
                           "2026-13-01T00:00:00Z",
                           "2026-00-10T00:00:00Z",
                           "2026-11-00T00:00:00Z",
                           "2026-11-31T00:00:00Z",
                           "2026-11-25T24:00:00Z",
                           "2026-11-25T14:60:00Z",
                           "2026-11-25T14:00:61Z",
                           "2026/11/25T14:00:00Z",
                           "2026-11-25X14:00:00Z",
                           "26-11-25T14:00:00Z",
                           "+2026-11-25T14:00:00Z",
                           "2026-1-25T14:00:00Z",
                           "-024h",
                           "yesterday",
                           "2026-11-25T14:00:00,5Z",
                           "2026-11-25T14:00:00.5.5Z",
                           "2026-11-25T14:00:00+01:00:00"}) {
    auto t = ParseRfc3339(text);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseDurationMs, ParsesEachUnit) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMs("15m"), 900'000);
  EXPECT_EQ(*ParseDurationMs("24h"), 86'400'000);
  EXPECT_EQ(*ParseDurationMs("7d"), 604'800'000);
  EXPECT_EQ(*ParseDurationMs("0s"), 0);
  EXPECT_EQ(*ParseDurationMs("9223372036854775807ms"), std::numeric_limits<int64_t>::max());
}

TEST(ParseDurationMs, RefusesEverythingElse) {
  for (const char* text : {"",
                           "s",
                           "10",
                           "-5s",
                           "-0s",
                           "-00ms",
                           "+5s",
                           "5 s",
                           " 5s",
                           "5s ",
                           "5S",
                           "5sec",
                           "1.5h",
                           "5us",
                           "5w",
                           "1h30m",
                           "0x10s",
                           "9223372036854775807s",
                           "106751991167301d",
                           "99999999999999999999ms"}) {
    EXPECT_EQ(ParseDurationMs(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseTimeArg, TakesRelativeTimesFromNow) {
  EXPECT_EQ(*ParseTimeArg("-24h", kNov25), kNov25 - 86'400'000);
  EXPECT_EQ(*ParseTimeArg("-15m", kNov25), kNov25 - 900'000);
  EXPECT_EQ(*ParseTimeArg("+30s", kNov25), kNov25 + 30'000);
  EXPECT_EQ(*ParseTimeArg("-0s", kNov25), kNov25);
  EXPECT_EQ(*ParseTimeArg("2026-11-25T14:00:00Z", 0), kNov25);
}

TEST(ParseTimeArg, RefusesWhatIsNeitherKind) {
  for (const char* text : {"", "-", "+", "-abc", "--5s", "-5", "yesterday", "24h", "-1.5h"}) {
    EXPECT_EQ(ParseTimeArg(text, kNov25).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

// A relative time whose sum with now overflows must be refused, not wrapped around.
TEST(ParseTimeArg, RefusesARelativeTimeBeyondTheRepresentableRange) {
  auto far = ParseTimeArg("+9223372036854775807ms", kNov25);
  EXPECT_EQ(far.status().code(), StatusCode::kInvalidArgument)
      << "got " << (far.ok() ? std::to_string(*far) : far.status().ToString());
  EXPECT_EQ(ParseTimeArg("-9223372036854775807ms", -kNov25).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(FakeClock, MovesOnlyWhenAdvanced) {
  FakeClock clock(kNov25);
  EXPECT_EQ(clock.NowMs(), kNov25);
  EXPECT_EQ(clock.NowMs(), kNov25);
  clock.Advance(1500);
  EXPECT_EQ(clock.NowMs(), kNov25 + 1500);
}

TEST(SystemClock, IsNearTheWallClock) {
  SystemClock clock;
  TimeMs now = clock.NowMs();
  EXPECT_GT(now, MustParse("2020-01-01T00:00:00Z"));
  EXPECT_LT(now, MustParse("2200-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace vouch
