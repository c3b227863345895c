#include "vouch/policy/condition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vouch::policy {
namespace {

std::string ErrorOf(std::string_view text) {
  auto parsed = ParseCondition(text);
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

VersionFacts Version() {
  VersionFacts v;
  v.metrics = {{"auc", 0.93}, {"bias_gap", 0.02}, {"val/loss", 1.5}};
  v.params = {{"max_depth", "8"}, {"optimizer", "adam"}};
  v.tags = {{"model_card", "https://cards/1"}, {"team", "risk"}, {"empty", ""}};
  v.description = "fraud model";
  return v;
}

bool Holds(std::string_view text, const VersionFacts& v = Version()) {
  auto c = ParseCondition(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status().ToString();
  return c.ok() && EvaluateCondition(*c, v).holds;
}

TEST(ConditionParse, ReadsEveryOperandOperatorAndLiteral) {
  auto c = ParseCondition(
      "metrics.auc>=0.9 and params.optimizer = 'adam' and tags.model_card "
      "exists and description != \"\" and metrics.val/loss < 2e0");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->clauses.size(), 5u);
  EXPECT_EQ(c->clauses[0].field, Field::kMetric);
  EXPECT_EQ(c->clauses[0].key, "auc");
  EXPECT_EQ(c->clauses[0].op, CompareOp::kGreaterEqual);
  EXPECT_TRUE(c->clauses[0].literal_is_number);
  EXPECT_EQ(c->clauses[0].number, 0.9);
  EXPECT_EQ(c->clauses[1].field, Field::kParam);
  EXPECT_EQ(c->clauses[1].text, "adam");
  EXPECT_EQ(c->clauses[2].op, CompareOp::kExists);
  EXPECT_EQ(c->clauses[3].field, Field::kDescription);
  EXPECT_EQ(c->clauses[4].key, "val/loss");
  EXPECT_EQ(FormatCondition(*c),
            "metrics.auc >= 0.9 and params.optimizer = \"adam\" and tags.model_card exists and "
            "description != \"\" and metrics.val/loss < 2");
  EXPECT_EQ(*ParseCondition(FormatCondition(*c)), *c);
}

TEST(ConditionParse, PointsAtTheOffendingTokenWithACaret) {
  EXPECT_EQ(ErrorOf("metrics.auc >> 0.9"),
            "at column 13: expected a comparison (< <= = != >= >) or exists\n"
            "  metrics.auc >> 0.9\n"
            "              ^");
  EXPECT_EQ(ErrorOf("metric.auc >= 0.9"),
            "at column 1: expected metrics.NAME, params.NAME, tags.NAME or description\n"
            "  metric.auc >= 0.9\n"
            "  ^");
  EXPECT_EQ(ErrorOf("metrics.auc >= high"),
            "at column 16: expected a number or a quoted string\n"
            "  metrics.auc >= high\n"
            "                 ^");
  EXPECT_EQ(ErrorOf("metrics.auc >= 'high'"),
            "at column 16: metrics.auc compares with a number, not a string\n"
            "  metrics.auc >= 'high'\n"
            "                 ^");
  EXPECT_EQ(ErrorOf("metrics.auc >= 0.9 or metrics.f1 > 1"),
            "at column 20: expected 'and' or the end of the condition\n"
            "  metrics.auc >= 0.9 or metrics.f1 > 1\n"
            "                     ^");
  EXPECT_EQ(ErrorOf("metrics.auc == 1"),
            "at column 13: '==' is not an operator: write '=' to compare\n"
            "  metrics.auc == 1\n"
            "              ^");
  EXPECT_EQ(ErrorOf("tags.x = 'open"),
            "at column 10: the string is not closed\n"
            "  tags.x = 'open\n"
            "           ^");
  EXPECT_EQ(ErrorOf("metrics. > 1"),
            "at column 9: expected a name after 'metrics.'\n"
            "  metrics. > 1\n"
            "          ^");
  EXPECT_EQ(ErrorOf("metrics.auc is 1"),
            "at column 13: expected a comparison (< <= = != >= >) or exists\n"
            "  metrics.auc is 1\n"
            "              ^");
  EXPECT_EQ(ErrorOf("metrics.auc >= 0.9 and"),
            "at column 23: expected metrics.NAME, params.NAME, tags.NAME or description\n"
            "  metrics.auc >= 0.9 and\n"
            "                        ^");
  EXPECT_EQ(ErrorOf("   "), "at column 4: the condition is empty\n     \n     ^");
  EXPECT_EQ(ErrorOf("metrics.auc >= nan").substr(0, 50),
            "at column 16: expected a number or a quoted string");
}

TEST(ConditionEvaluate, ComparesMetricsAsNumbers) {
  EXPECT_TRUE(Holds("metrics.auc >= 0.9"));
  EXPECT_TRUE(Holds("metrics.auc > 0.93 ") == false);
  EXPECT_TRUE(Holds("metrics.auc = 0.93"));
  EXPECT_TRUE(Holds("metrics.auc != 0.9"));
  EXPECT_TRUE(Holds("metrics.bias_gap <= 0.05"));
  EXPECT_FALSE(Holds("metrics.bias_gap < 0.02"));
  EXPECT_TRUE(Holds("metrics.val/loss < 2"));
}

TEST(ConditionEvaluate, AMissingValueFailsEveryComparisonAndExists) {
  EXPECT_FALSE(Holds("metrics.f1 >= 0"));
  EXPECT_FALSE(Holds("metrics.f1 != 0"));
  EXPECT_FALSE(Holds("metrics.f1 exists"));
  EXPECT_FALSE(Holds("tags.owner exists"));
  EXPECT_TRUE(Holds("tags.empty exists"));
  VersionFacts v = Version();
  v.description.clear();
  EXPECT_FALSE(Holds("description exists", v));
  EXPECT_TRUE(Holds("description exists"));
}

TEST(ConditionEvaluate, ComparesStringsAndNumericStrings) {
  EXPECT_TRUE(Holds("params.optimizer = 'adam'"));
  EXPECT_FALSE(Holds("params.optimizer = 'Adam'"));
  EXPECT_TRUE(Holds("params.optimizer != \"sgd\""));
  EXPECT_TRUE(Holds("params.max_depth <= 10"));     // "8" read as a number
  EXPECT_FALSE(Holds("params.max_depth <= '10'"));  // "8" > "10" as bytes
  EXPECT_FALSE(Holds("params.optimizer > 1"));      // not a number: fails
  EXPECT_TRUE(Holds("tags.team = 'risk' and description = 'fraud model'"));
}

TEST(ConditionEvaluate, ANotANumberMetricFailsEveryComparisonButExists) {
  VersionFacts v = Version();
  v.metrics["auc"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(Holds("metrics.auc >= 0", v));
  EXPECT_FALSE(Holds("metrics.auc < 0", v));
  EXPECT_TRUE(Holds("metrics.auc exists", v));
}

TEST(ConditionEvaluate, ReportsEachClauseWithItsActualValue) {
  auto c = ParseCondition("metrics.auc >= 0.95 and tags.team = 'risk' and metrics.f1 > 0.5");
  ASSERT_TRUE(c.ok());
  ConditionResult r = EvaluateCondition(*c, Version());
  EXPECT_FALSE(r.holds);
  ASSERT_EQ(r.clauses.size(), 3u);
  EXPECT_FALSE(r.clauses[0].holds);
  EXPECT_EQ(r.clauses[0].actual, "0.93");
  EXPECT_TRUE(r.clauses[1].holds);
  EXPECT_EQ(r.clauses[1].actual, "\"risk\"");
  EXPECT_FALSE(r.clauses[2].holds);
  EXPECT_FALSE(r.clauses[2].actual.has_value());
  EXPECT_EQ(r.text, "metrics.auc >= 0.95 and tags.team = \"risk\" and metrics.f1 > 0.5");
}

}  // namespace
}  // namespace vouch::policy
