#include "vouch/notify/event_view.h"

#include <gtest/gtest.h>

#include "vouch/notify/format_test_events.h"

namespace vouch::notify {
namespace {

using namespace test_events;  // NOLINT(build/namespaces): the test payloads

json::object VersionTarget() {
  return {{"type", "model_version"}, {"model", "fraud"}, {"version", 3}};
}

TEST(EventViewTest, PublicDataKeepsTheDoorAndLeavesTheRestOfTheSourceOut) {
  json::object data = PublicEventData(RequestOpenedPayload());
  EXPECT_FALSE(data.contains("source"));
  EXPECT_EQ(data.at("door"), "native");
  EXPECT_EQ(data.at("seq"), 42);
  EXPECT_TRUE(data.contains("recipients"));
}

TEST(EventViewTest, SummarisesWhoDidWhatToWhat) {
  EXPECT_EQ(EventSummary(RequestOpenedPayload()),
            "alice opened request #12 (fraud/eu version 3 to stage:Production)");
  EXPECT_EQ(
      EventSummary(Payload("model_version.stage_changed", VersionTarget(),
                           json::object{{"stage", "None"}}, json::object{{"stage", "Staging"}})),
      "alice moved fraud version 3 to stage Staging");
  json::object alias = VersionTarget();
  alias["alias"] = "champion";
  EXPECT_EQ(EventSummary(Payload("model_alias.set", alias, nullptr,
                                 json::object{{"alias", "champion"}, {"version", 3}})),
            "alice pointed alias champion of fraud at version 3");
  EXPECT_EQ(EventSummary(Payload("model_version.tag_deleted", VersionTarget(),
                                 json::object{{"key", "k"}, {"value", "v"}}, nullptr)),
            "alice removed tag k from fraud version 3");
  EXPECT_EQ(EventSummary(Payload("model.created", {{"type", "model"}, {"model", "fraud"}}, nullptr,
                                 json::object{})),
            "alice created model fraud");
  // An action without a sentence of its own still says who, what and to what.
  EXPECT_EQ(EventSummary(Payload("some.new_action", VersionTarget(), nullptr, nullptr)),
            "alice: some.new_action on fraud version 3");
}

TEST(EventViewTest, SubjectsAndLinksEncodeNamesAsOnePathSegment) {
  json::object target{{"type", "model_version"}, {"model", "a/b c"}, {"version", 2}};
  json::object event = Payload("model_version.created", target, nullptr, json::object{});
  EXPECT_EQ(EventSubject(event), "models/a%2Fb%20c/versions/2");
  json::object links = EventLinks(event, "https://v.example/base/");
  EXPECT_EQ(links.at("version"), "https://v.example/base/api/v1/models/a%2Fb%20c/versions/2");
  EXPECT_EQ(links.at("model"), "https://v.example/base/api/v1/models/a%2Fb%20c");
  EXPECT_FALSE(links.contains("request"));
  EXPECT_EQ(PrimaryLink(links), "https://v.example/base/api/v1/models/a%2Fb%20c/versions/2");
  EXPECT_TRUE(EventLinks(event, "").empty());
  target["model"] = "..";
  EXPECT_EQ(EventSubject(Payload("model.created", target, nullptr, nullptr)),
            "models/%2E%2E/versions/2");
  EXPECT_EQ(EventSubject(Payload("policy.applied", {{"type", "policy"}, {"policy", "prod"}},
                                 nullptr, nullptr)),
            "policies/prod");
}

}  // namespace
}  // namespace vouch::notify
