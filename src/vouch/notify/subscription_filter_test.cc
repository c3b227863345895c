#include "vouch/notify/subscription_filter.h"

#include <gtest/gtest.h>

namespace vouch::notify {
namespace {

TEST(SubscriptionFilterTest, AcceptsCatalogueNamesFamiliesAndEverything) {
  EXPECT_TRUE(CheckEventPatterns({"request.*", "model_version.stage_changed"}).ok());
  EXPECT_TRUE(CheckEventPatterns({"*"}).ok());
}

TEST(SubscriptionFilterTest, RefusesUnknownEmptyAndInternalEventsNamingTheField) {
  for (const auto& patterns : std::vector<std::vector<std::string>>{
           {}, {""}, {"request.nope"}, {"nope.*"}, {"token.created"}, {"principal.*"}}) {
    Status s = CheckEventPatterns(patterns);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << (patterns.empty() ? "" : patterns[0]);
    EXPECT_TRUE(s.message().starts_with("events: ")) << s.message();
  }
}

TEST(SubscriptionFilterTest, MatchesOnlySubscribableActions) {
  EXPECT_TRUE(MatchesEvent({"request.*"}, "request.opened"));
  EXPECT_FALSE(MatchesEvent({"request.*"}, "requests.opened"));
  EXPECT_TRUE(MatchesEvent({"*"}, "model_version.created"));
  EXPECT_FALSE(MatchesEvent({"*"}, "access.denied"));
  EXPECT_FALSE(MatchesEvent({"*"}, "webhook.created"));
  EXPECT_FALSE(MatchesEvent({"model_version.created"}, "model_version.updated"));
}

TEST(SubscriptionFilterTest, ModelGlobPassesMatchingModelsOnly) {
  EXPECT_TRUE(MatchesModel("", "anything"));
  EXPECT_TRUE(MatchesModel("", ""));
  EXPECT_TRUE(MatchesModel("fraud-*", "fraud-detector"));
  EXPECT_FALSE(MatchesModel("fraud-*", "churn"));
  EXPECT_FALSE(MatchesModel("fraud-*", ""));
  EXPECT_EQ(CheckModelPattern(std::string(300, 'a')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckModelPattern("a\nb").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::notify
