// The canonical form read back: what CanonicalJson writes must parse to the same value and
// canonicalize to the same bytes, since audit events are verified by re-reading stored lines.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vouch/util/json.h"

namespace vouch {
namespace {

// Python's json.dumps (what the MLflow client sends) writes the shortest text that reads back as
// the same double; a parser must read that text to exactly that double.
TEST(ParseJson, ReadsNumbersCorrectlyRounded) {
  for (const char* text : {"0.9303381542885225", "0.49431128204553837", "0.44980109418366915",
                           "1.79763157e308", "5.409760742964738e+124", "0.1", "0.93"}) {
    double want = 0;
    std::from_chars(text, text + std::char_traits<char>::length(text), want);
    auto v = ParseJson(text);
    ASSERT_TRUE(v.ok()) << text;
    ASSERT_TRUE(v->is_double()) << text;
    EXPECT_EQ(v->get_double(), want)
        << text << " was read as " << fmt::format("{}", v->get_double());
  }
}

TEST(CanonicalJson, AMetricValueSurvivesTheRoundTripThroughText) {
  auto v = ParseJson(R"({"auc":0.9303381542885225})");
  ASSERT_TRUE(v.ok());
  auto c = CanonicalJson(*v);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, R"({"auc":0.9303381542885225})");
}

double FromBits(uint64_t bits) { return std::bit_cast<double>(bits); }

// RFC 8785 Appendix B: IEEE 754 doubles (as bits) and their canonical text, which is what
// ECMAScript's Number.prototype.toString prints for them.
TEST(CanonicalNumber, WritesRfc8785sAppendixBExamples) {
  const std::vector<std::pair<uint64_t, std::string>> examples = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},  // -0
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, want] : examples) {
    EXPECT_EQ(CanonicalNumber(FromBits(bits)), want) << fmt::format("{:016x}", bits);
  }
}

// What node's String(x) prints, for the values the outside probe sent and their neighbours: the
// integers beyond 2^53 that ECMAScript pads with zeros, and the switch to exponent notation.
TEST(CanonicalNumber, WritesWhatEcmaScriptPrints) {
  const std::vector<std::pair<double, std::string>> examples = {
      {1152921504606846976.0, "1152921504606847000"},  // 2^60, the probe's metric
      {-42440401286533260.0, "-42440401286533260"},    // the probe's PUT metric
      {9007199254740993.0, "9007199254740992"},        // 2^53 + 1 is not a double
      {18014398509481984.0, "18014398509481984"},      // 2^54
      {1e16, "10000000000000000"},
      {1e20, "100000000000000000000"},
      {1e21, "1e+21"},
      {1e300, "1e+300"},
      {9223372036854775808.0, "9223372036854776000"},  // 2^63
      {-9223372036854775808.0, "-9223372036854776000"},
      {18446744073709551616.0, "18446744073709552000"},  // 2^64
      {1e-7, "1e-7"},
      {1e-6, "0.000001"},
      {123e-20, "1.23e-18"},
      {0.1 + 0.2, "0.30000000000000004"},
      {4.5, "4.5"},
      {0.002, "0.002"},
      {-1.5, "-1.5"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},  // the smallest normal
  };
  for (const auto& [d, want] : examples) EXPECT_EQ(CanonicalNumber(d), want) << want;
}

// RFC 8785 section 3.2.2.3's own example, end to end through the parser.
TEST(CanonicalJson, WritesTheRfcsNumbersExample) {
  auto v =
      ParseJson(R"({"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001]})");
  ASSERT_TRUE(v.ok());
  auto c = CanonicalJson(*v);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, R"({"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]})");
}

TEST(CanonicalJson, RefusesNanAndInfinities) {
  for (double d :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(CanonicalJson(json::value(d)).status().code(), StatusCode::kInvalidArgument);
  }
}

// An integer value (not a double) beyond ±(2^53 - 1) would read back as another integer: 2^60 as
// an integer is written 1152921504606847000 in the ECMAScript form. The writer refuses it rather
// than record a different number; the same magnitude as a double is written.
TEST(CanonicalJson, RefusesIntegerValuesBeyondTwoToThe53) {
  const int64_t max_safe = (int64_t{1} << 53) - 1;
  for (json::value v :
       {json::value(max_safe + 1), json::value(-max_safe - 1), json::value(int64_t{1} << 60),
        json::value(INT64_MIN), json::value(uint64_t{1} << 63), json::value(UINT64_MAX)}) {
    auto c = CanonicalJson(json::object{{"n", v}});
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << json::serialize(v);
  }
  for (json::value v : {json::value(max_safe), json::value(-max_safe), json::value(uint64_t{0})}) {
    auto c = CanonicalJson(v);
    ASSERT_TRUE(c.ok()) << json::serialize(v);
    EXPECT_EQ(*c, json::serialize(v));
  }
  EXPECT_EQ(*CanonicalJson(json::value(1152921504606846976.0)), "1152921504606847000");
}

// The bug the outside probe found: the writer's form of a double beyond 2^53 is digits padded
// with zeros; read back as an integer it was refused ("integer beyond 2^53"), so the log no longer
// verified. Read as RFC 8785 reads it, it is the same double and canonicalizes to the same bytes.
TEST(ParseCanonicalJson, ReadsTheWritersFormOfLargeDoublesBackToTheSameBytes) {
  for (const char* text :
       {"1152921504606847000", "-1152921504606847000", "-42440401286533260", "9223372036854776000",
        "-9223372036854776000", "18446744073709552000", "3000000000000000000", "9007199254740992",
        "-9007199254740992", "295147905179352830000", "999999999999999900000"}) {
    auto v = ParseCanonicalJson(text);
    ASSERT_TRUE(v.ok()) << text;
    auto c = CanonicalJson(*v);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().ToString();
    EXPECT_EQ(*c, text);
  }
}

// Only the canonical text of a large double reads back to itself: the exact digits of 2^60, or
// 2^53 + 1 (which no double holds), canonicalize to other bytes, so a verifier comparing bytes
// refuses them as not canonical.
TEST(ParseCanonicalJson, OtherTextsOfALargeNumberAreNotCanonical) {
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"1152921504606846976", "1152921504606847000"},
      {"9007199254740993", "9007199254740992"},
      {"-42440401286533261", "-42440401286533260"},
      {"9223372036854775807", "9223372036854776000"},
      {"18446744073709551615", "18446744073709552000"},
  };
  for (const auto& [text, canonical] : examples) {
    auto v = ParseCanonicalJson(text);
    ASSERT_TRUE(v.ok()) << text;
    auto c = CanonicalJson(*v);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().ToString();
    EXPECT_EQ(*c, canonical) << text;
  }
}

TEST(ParseCanonicalJson, KeepsSafeIntegersAsIntegers) {
  auto v = ParseCanonicalJson(R"({"seq":9007199254740991,"n":-9007199254740991,"z":0})");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->at("seq").is_int64());
  EXPECT_EQ(v->at("seq").get_int64(), 9007199254740991);
  EXPECT_TRUE(v->at("n").is_int64());
  EXPECT_TRUE(v->at("z").is_int64());
}

TEST(ParseJson, KeepsEveryIntegerThatFitsSixtyFourBits) {
  auto v = ParseJson("[1152921504606846976,18446744073709551615]");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->at(0).get_int64(), int64_t{1} << 60);
  EXPECT_EQ(v->at(1).get_uint64(), UINT64_MAX);
}

// The doubles worth trying: random bit patterns over the whole range, and the neighbourhoods where
// forms change (±2^53 and ±2^63 and ±2^64 where integers stop fitting, 1e21 and 1e-7 where notation
// changes, the subnormals, the extremes, -0).
std::vector<double> InterestingDoubles(std::mt19937_64& rng, int random_count) {
  std::vector<double> out;
  auto around = [&](double x) {
    double below = x, above = x;
    for (int i = 0; i < 40; ++i) {
      for (double y : {below, above, -below, -above}) {
        if (std::isfinite(y)) out.push_back(y);
      }
      below = std::nextafter(below, 0.0);
      above = std::nextafter(above, std::numeric_limits<double>::infinity());
    }
  };
  for (double x : {0x1p53, 0x1p63, 0x1p64, 0x1p60, 1e21, 1e-7, 1e-6, 1e16, 1e20, 1.0,
                   std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(),
                   std::numeric_limits<double>::max()}) {
    around(x);
  }
  out.push_back(0.0);
  out.push_back(-0.0);
  std::uniform_int_distribution<uint64_t> bits;
  std::uniform_int_distribution<int64_t> big(-(int64_t{1} << 62), int64_t{1} << 62);
  while (static_cast<int>(out.size()) < random_count) {
    double d = FromBits(bits(rng));
    if (std::isfinite(d)) out.push_back(d);
    out.push_back(static_cast<double>(big(rng)));             // whole
    out.push_back(FromBits(bits(rng) & 0x800fffffffffffff));  // subnormal
    out.push_back(
        std::ldexp(static_cast<double>(big(rng)), static_cast<int>(rng() % 60) - 30));  // mid range
  }
  return out;
}

// The property the audit log rests on: for every finite double the writer's bytes, read back as the
// verifier reads them, are the same double and canonicalize to the same bytes.
TEST(CanonicalJson, EveryFiniteDoubleRoundTripsFromWriterToVerifier) {
  std::mt19937_64 rng(20261206);  // fixed: a failure names its value and reproduces
  for (double d : InterestingDoubles(rng, 200'000)) {
    json::object event{{"seq", 1}, {"after", json::object{{"metrics", json::object{{"m", d}}}}}};
    auto written = CanonicalJson(event);
    ASSERT_TRUE(written.ok()) << fmt::format("{:016x}", std::bit_cast<uint64_t>(d));
    auto read = ParseCanonicalJson(*written);
    ASSERT_TRUE(read.ok()) << *written;
    const json::value& m = read->at("after").at("metrics").at("m");
    ASSERT_TRUE(m.is_number()) << *written;
    EXPECT_EQ(m.to_number<double>(), d == 0 ? 0.0 : d) << *written;
    auto again = CanonicalJson(*read);
    ASSERT_TRUE(again.ok()) << *written << ": " << again.status().ToString();
    ASSERT_EQ(*again, *written);
  }
}

}  // namespace
}  // namespace vouch
