// The canonical form read back: what CanonicalJson writes must parse to the same value and
// canonicalize to the same bytes, since audit events are verified by re-reading stored lines.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <charconv>

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

// A double at or beyond 2^53 is written in its ECMAScript form, digits without an exponent below
// 1e21; read back, that text is an integer, which CanonicalJson then refuses.
TEST(CanonicalJson, ItsOutputForLargeWholeDoublesCanBeCanonicalizedAgain) {
  json::value big = 3e18;
  auto c = CanonicalJson(big);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "3000000000000000000");
  auto again = ParseJson(*c);
  ASSERT_TRUE(again.ok());
  auto c2 = CanonicalJson(*again);
  ASSERT_TRUE(c2.ok()) << c2.status().ToString();
  EXPECT_EQ(*c2, *c);
}

}  // namespace
}  // namespace vouch
