#include "vouch/policy/selection.h"

#include <gtest/gtest.h>

#include <vector>

namespace vouch::policy {
namespace {

// A policy for stage:Production from a YAML body (the lines after name and target).
Policy Make(std::string name, std::string body, std::string target = "stage:Production") {
  auto parsed =
      ParsePolicyFile("policies:\n  - name: " + name + "\n    target: " + target + "\n" + body);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? (*parsed)[0] : Policy{};
}

const std::string kWide =
    "    approvals: [{from: [{role: ml-engineer}], count: 2}]\n"
    "    checks: [ci/tests]\n"
    "    conditions: [\"metrics.auc >= 0.9\", \"tags.model_card exists\"]\n";

TEST(Glob, MatchesStarsAndQuestionMarks) {
  EXPECT_TRUE(GlobMatch("fraud-*", "fraud-eu"));
  EXPECT_TRUE(GlobMatch("fraud-*", "fraud-"));
  EXPECT_FALSE(GlobMatch("fraud-*", "fraud"));
  EXPECT_TRUE(GlobMatch("*-v?", "churn-v2"));
  EXPECT_FALSE(GlobMatch("*-v?", "churn-v10"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
}

TEST(Glob, KnowsWhenTwoGlobsShareAName) {
  EXPECT_TRUE(GlobsIntersect("fraud-*", "*-eu"));
  EXPECT_TRUE(GlobsIntersect("fraud-*", "fraud-eu-*"));
  EXPECT_FALSE(GlobsIntersect("fraud-*", "churn-*"));
  EXPECT_FALSE(GlobsIntersect("a?", "abc"));
  EXPECT_TRUE(GlobsIntersect("a?c", "*c"));
  EXPECT_TRUE(GlobsIntersect("*", "anything"));
  EXPECT_FALSE(GlobsIntersect("x*y", "*z"));
}

TEST(Selection, NoPolicyMeansNothingIsGated) {
  std::vector<Policy> none;
  auto selected = SelectPolicy(none, "fraud", {}, StageTarget(Stage::kProduction));
  ASSERT_TRUE(selected.ok());
  EXPECT_FALSE(selected->has_value());
}

TEST(Selection, APolicyGovernsOnlyItsTarget) {
  std::vector<Policy> set = {Make("prod", kWide)};
  EXPECT_EQ(**SelectPolicy(set, "fraud", {}, StageTarget(Stage::kProduction)), 0u);
  EXPECT_FALSE(SelectPolicy(set, "fraud", {}, StageTarget(Stage::kStaging))->has_value());
  EXPECT_FALSE(SelectPolicy(set, "fraud", {}, AliasTarget("Production"))->has_value());
}

TEST(Selection, TheMostSpecificMatchingPolicyGoverns) {
  std::vector<Policy> set = {
      Make("all", kWide),
      Make("fraud", kWide + "    match: {models: [\"fraud-*\"]}\n"),
      Make("fraud-high", kWide + "    match: {models: [\"fraud-*\"], tags: {risk: high}}\n"),
  };
  EXPECT_EQ(**SelectPolicy(set, "churn", {}, StageTarget(Stage::kProduction)), 0u);
  EXPECT_EQ(**SelectPolicy(set, "fraud-eu", {}, StageTarget(Stage::kProduction)), 1u);
  EXPECT_EQ(**SelectPolicy(set, "fraud-eu", {{"risk", "low"}}, StageTarget(Stage::kProduction)),
            1u);
  EXPECT_EQ(**SelectPolicy(set, "fraud-eu", {{"risk", "high"}}, StageTarget(Stage::kProduction)),
            2u);
  EXPECT_EQ(**SelectPolicy(set, "churn", {{"risk", "high"}}, StageTarget(Stage::kProduction)), 0u);
}

TEST(Selection, ATieAtSelectionNamesBothPolicies) {
  std::vector<Policy> set = {
      Make("by-name", kWide + "    match: {models: [\"fraud-*\"]}\n"),
      Make("by-tag", kWide + "    match: {tags: {risk: high}}\n"),
  };
  auto selected =
      SelectPolicy(set, "fraud-eu", {{"risk", "high"}}, StageTarget(Stage::kProduction));
  EXPECT_EQ(selected.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(selected.status().message(),
            "policies 'by-name' and 'by-tag' both govern stage:Production of model 'fraud-eu' "
            "with the same precedence: make one more specific");
}

TEST(PolicySet, RefusesATieThatCouldGovernOneModel) {
  std::vector<Policy> set = {
      Make("by-name", kWide + "    match: {models: [\"fraud-*\"]}\n"),
      Make("by-tag", kWide + "    match: {tags: {risk: high}}\n"),
  };
  Status s = CheckPolicySet(set);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "policies 'by-name' and 'by-tag' could both govern stage:Production of one model with "
            "the same precedence: make one more specific, or their matches disjoint");
}

TEST(PolicySet, AcceptsEqualPrecedenceWhenTheMatchesAreDisjoint) {
  std::vector<Policy> set = {
      Make("fraud", kWide + "    match: {models: [\"fraud-*\"]}\n"),
      Make("churn", kWide + "    match: {models: [\"churn-*\"]}\n"),
      Make("high", kWide + "    match: {tags: {risk: high}}\n", "stage:Staging"),
      Make("low", kWide + "    match: {tags: {risk: low}}\n", "stage:Staging"),
      Make("champion", kWide, "alias:champion"),
      Make("prod", kWide),
  };
  EXPECT_TRUE(CheckPolicySet(set).ok()) << CheckPolicySet(set).ToString();
}

TEST(PolicySet, AcceptsANarrowerPolicyThatTightens) {
  std::vector<Policy> set = {
      Make("prod", kWide),
      Make("fraud",
           "    match: {models: [\"fraud-*\"]}\n"
           "    approvals: [{from: [{role: ml-engineer}], count: 3}, {from: [{user: ana}]}]\n"
           "    checks: [ci/tests, bias-scan]\n"
           "    conditions: [\"metrics.auc > 0.95 and metrics.f1 >= 0.8\", "
           "\"tags.model_card = 'https://x'\"]\n"),
  };
  EXPECT_TRUE(CheckPolicySet(set).ok()) << CheckPolicySet(set).ToString();
}

struct LooseningCase {
  std::string narrow_body;
  std::string why;
};

TEST(PolicySet, RefusesANarrowerPolicyThatLoosensAMinimumNamingBoth) {
  const std::string match = "    match: {models: [\"fraud-*\"]}\n";
  const std::string rest_checks = "    checks: [ci/tests]\n";
  const std::string rest_conditions =
      "    conditions: [\"metrics.auc >= 0.9\", \"tags.model_card exists\"]\n";
  const std::string rest_rule = "    approvals: [{from: [{role: ml-engineer}], count: 2}]\n";
  const std::vector<LooseningCase> cases = {
      {"    approvals: [{from: [{role: ml-engineer}], count: 1}]\n" + rest_checks + rest_conditions,
       "its rules have none at least as strict as \"2 of role:ml-engineer\""},
      {"    approvals: [{from: [{role: ml-engineer}, {role: intern}], count: 2}]\n" + rest_checks +
           rest_conditions,
       "its rules have none at least as strict as \"2 of role:ml-engineer\""},
      {rest_rule + "    checks: [bias-scan]\n" + rest_conditions,
       "it does not require the check ci/tests"},
      {rest_rule + rest_checks +
           "    conditions: [\"metrics.auc >= 0.8\", \"tags.model_card exists\"]\n",
       "its conditions do not imply \"metrics.auc >= 0.9\""},
      {rest_rule + rest_checks + "    conditions: [\"metrics.auc >= 0.9\"]\n",
       "its conditions do not imply \"tags.model_card exists\""},
      {rest_rule + rest_checks +
           "    conditions: [\"metrics.auc > 0.8\", \"tags.model_card exists\"]\n",
       "its conditions do not imply \"metrics.auc >= 0.9\""},
  };
  for (const LooseningCase& c : cases) {
    std::vector<Policy> set = {Make("prod", kWide), Make("fraud", match + c.narrow_body)};
    Status s = CheckPolicySet(set);
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << c.narrow_body;
    EXPECT_EQ(s.message(),
              "policy 'fraud' loosens policy 'prod' for stage:Production on the "
              "models both match: " +
                  c.why +
                  " (a narrower policy may only tighten a wider one's "
                  "minimums)");
  }
}

TEST(PolicySet, TwoWideRulesNeedTwoNarrowRules) {
  std::vector<Policy> set = {
      Make("prod", "    approvals: [{from: [{role: a}]}, {from: [{role: a}]}]\n"),
      Make("fraud", "    match: {models: [\"fraud-*\"]}\n    approvals: [{from: [{role: a}]}]\n"),
  };
  EXPECT_EQ(CheckPolicySet(set).code(), StatusCode::kFailedPrecondition);
}

TEST(PolicySet, AMeaningTheWidePolicyDemandsMustBeKept) {
  std::vector<Policy> set = {
      Make("prod", "    approvals: [{from: [{role: a}], meaning: released}]\n"),
      Make("fraud", "    match: {models: [\"fraud-*\"]}\n    approvals: [{from: [{role: a}]}]\n"),
  };
  EXPECT_EQ(CheckPolicySet(set).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vouch::policy
