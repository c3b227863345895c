#include <gtest/gtest.h>

#include "vouch/audit/actions.h"
#include "vouch/notify/format_test_events.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"

namespace vouch::notify {
namespace {

using namespace test_events;  // NOLINT(build/namespaces): the test payloads

json::object DataOf(const Rendered& r) { return json::parse(r.body).at("data").as_object(); }

TEST(MlflowFormatTest, SendsMlflowsHeadersAndSignsWithTheSecretsOwnBytes) {
  Envelope e = EnvelopeFor(VersionCreatedPayload());
  e.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";  // MLflow does not decode it
  auto r = NewMlflowFormat()->Render(e);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Header(*r, "Content-Type"), "application/json");
  EXPECT_EQ(Header(*r, "X-MLflow-Delivery-Id"), e.delivery_id);
  EXPECT_EQ(Header(*r, "X-MLflow-Timestamp"), "1614265330");
  EXPECT_EQ(Header(*r, "X-MLflow-Signature"),
            SignV1("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", e.delivery_id, "1614265330", r->body));
  EXPECT_EQ(Header(*r, "webhook-signature"), "<absent>");
  e.secret.clear();
  auto unsigned_ = NewMlflowFormat()->Render(e);
  ASSERT_TRUE(unsigned_.ok());
  EXPECT_EQ(Header(*unsigned_, "X-MLflow-Signature"), "<absent>");
  EXPECT_EQ(Header(*unsigned_, "X-MLflow-Delivery-Id"), e.delivery_id);
}

TEST(MlflowFormatTest, SignatureMatchesAVectorComputedWithPythonsHmac) {
  // base64(hmac.new(b"mlflow-secret-0123", b"d-1.1700000000.{}", sha256).digest())
  EXPECT_EQ(SignV1("mlflow-secret-0123", "d-1", "1700000000", "{}"),
            "v1,pTxQa+2VFpNds8SiwCn23qdmGDZezy2UnzO1c0tTC+8=");
}

TEST(MlflowFormatTest, BodyIsEntityActionTimestampAndTheModelVersionData) {
  auto r = NewMlflowFormat()->Render(EnvelopeFor(VersionCreatedPayload()));
  ASSERT_TRUE(r.ok());
  json::object body = json::parse(r->body).as_object();
  EXPECT_EQ(body.at("entity"), "model_version");
  EXPECT_EQ(body.at("action"), "created");
  EXPECT_EQ(body.at("timestamp"), "2021-02-25T15:02:10.999000+00:00");
  EXPECT_EQ(body.at("data"), json::parse(R"({"name":"fraud","version":"3",
      "source":"s3://bucket/fraud/3","run_id":"abc123","tags":{"team":"risk"},
      "description":null})"));
}

TEST(MlflowFormatTest, BuildsEachEventsDataAsMlflowsPayloadClassesHaveIt) {
  json::object version_target{{"type", "model_version"}, {"model", "fraud"}, {"version", 3}};
  json::object alias_target = version_target;
  alias_target["alias"] = "champion";
  struct Case {
    json::object event;
    const char* data;
  };
  const Case cases[] = {
      {Payload("model.created", {{"type", "model"}, {"model", "fraud"}}, nullptr,
               json::object{{"name", "fraud"}, {"description", "d"}, {"tags", {{"k", "v"}}}}),
       R"({"name":"fraud","tags":{"k":"v"},"description":"d"})"},
      {Payload("model_version.tag_set", version_target, nullptr,
               json::object{{"key", "k"}, {"value", "v \"q\"\n"}}),
       R"({"name":"fraud","version":"3","key":"k","value":"v \"q\"\n"})"},
      {Payload("model_version.tag_deleted", version_target,
               json::object{{"key", "k"}, {"value", "v"}}, nullptr),
       R"({"name":"fraud","version":"3","key":"k"})"},
      {Payload("model_alias.set", alias_target, nullptr,
               json::object{{"alias", "champion"}, {"version", 3}}),
       R"({"name":"fraud","alias":"champion","version":"3"})"},
      {Payload("model_alias.deleted", alias_target,
               json::object{{"alias", "champion"}, {"version", 3}}, nullptr),
       R"({"name":"fraud","alias":"champion"})"},
  };
  for (const Case& c : cases) {
    auto r = NewMlflowFormat()->Render(EnvelopeFor(c.event));
    ASSERT_TRUE(r.ok()) << c.event.at("action") << ": " << r.status().message();
    EXPECT_EQ(DataOf(*r), json::parse(c.data)) << c.event.at("action");
  }
}

TEST(MlflowFormatTest, AcceptsOnlyTheActionsMlflowHasEventsFor) {
  auto format = NewMlflowFormat();
  int accepted = 0;
  for (const audit::ActionInfo& info : audit::Actions()) {
    if (format->Accepts(info.name)) ++accepted;
  }
  EXPECT_EQ(accepted, 6);
  EXPECT_TRUE(format->Accepts("model_alias.set"));
  EXPECT_FALSE(format->Accepts("model_version.stage_changed"));
  EXPECT_FALSE(format->Accepts("request.opened"));
  EXPECT_FALSE(format->Accepts("model.tag_set"));
  auto r = format->Render(EnvelopeFor(RequestOpenedPayload()));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(MlflowFormatTest, RefusesAnEventThatLacksWhatThePayloadNeeds) {
  json::object event = Payload("model_version.tag_set",
                               {{"type", "model_version"}, {"model", "fraud"}, {"version", 3}},
                               nullptr, json::object{{"value", "v"}});
  EXPECT_EQ(NewMlflowFormat()->Render(EnvelopeFor(std::move(event))).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MlflowEventMappingTest, MapsBothWaysOverTheCatalogue) {
  for (const audit::ActionInfo& info : audit::Actions()) {
    auto mlflow = MlflowEventFor(info.name);
    if (!mlflow) continue;
    EXPECT_TRUE(info.webhooks) << info.name;
    std::vector<std::string_view> back = VouchActionsFor(mlflow->first, mlflow->second);
    EXPECT_EQ(back, std::vector<std::string_view>{info.name});
  }
  EXPECT_EQ(MlflowEventFor("model.created"),
            (std::pair<std::string_view, std::string_view>{"registered_model", "created"}));
  EXPECT_EQ(MlflowEventFor("model_alias.set"),
            (std::pair<std::string_view, std::string_view>{"model_version_alias", "created"}));
  EXPECT_EQ(VouchActionsFor("model_version_tag", "deleted"),
            std::vector<std::string_view>{"model_version.tag_deleted"});
  EXPECT_TRUE(VouchActionsFor("prompt", "created").empty());
  EXPECT_TRUE(VouchActionsFor("registered_model", "deleted").empty());
  EXPECT_EQ(MlflowEventFor("request.opened"), std::nullopt);
}

}  // namespace
}  // namespace vouch::notify
