#include <gtest/gtest.h>

#include "vouch/notify/format_test_events.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"
#include "vouch/util/crypto.h"

namespace vouch::notify {
namespace {

using namespace test_events;  // NOLINT(build/namespaces): the test payloads

TEST(CloudEventsFormatTest, IsAStructuredCloudEventWithTheAttributesTheSpecRequires) {
  Envelope e = EnvelopeFor(RequestOpenedPayload());
  e.public_url = "https://vouch.example";
  auto r = NewCloudEventsFormat()->Render(e);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Header(*r, "Content-Type"), "application/cloudevents+json; charset=utf-8");
  json::object ce = json::parse(r->body).as_object();
  EXPECT_EQ(ce.at("specversion"), "1.0");
  EXPECT_EQ(ce.at("id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
  EXPECT_EQ(ce.at("source"), "https://vouch.example");
  EXPECT_EQ(ce.at("type"), "io.vouch.request.opened");
  EXPECT_EQ(ce.at("subject"), "requests/12");
  EXPECT_EQ(ce.at("time"), "2026-12-06T10:00:00.123Z");
  EXPECT_EQ(ce.at("datacontenttype"), "application/json");
  EXPECT_EQ(ce.at("vouchseq"), 42);
  EXPECT_EQ(ce.at("vouchattempt"), 2);
  const json::object& data = ce.at("data").as_object();
  EXPECT_EQ(data.at("action"), "request.opened");
  EXPECT_EQ(data.at("recipients").at(0).at("missing"), 1);
  EXPECT_EQ(data.at("links").at("request"), "https://vouch.example/api/v1/requests/12");
}

TEST(CloudEventsFormatTest, NamesTheRegistryAsSourceWithoutAPublicUrlAndTheVersionAsSubject) {
  auto r = NewCloudEventsFormat()->Render(EnvelopeFor(VersionCreatedPayload()));
  ASSERT_TRUE(r.ok());
  json::object ce = json::parse(r->body).as_object();
  EXPECT_EQ(ce.at("source"), "vouch");
  EXPECT_EQ(ce.at("subject"), "models/fraud/versions/3");
  EXPECT_FALSE(ce.at("data").as_object().contains("links"));
}

TEST(CloudEventsFormatTest, IsSignedWithStandardWebhooksHeadersOnlyWithASecret) {
  Envelope e = EnvelopeFor(VersionCreatedPayload());
  auto unsigned_ = NewCloudEventsFormat()->Render(e);
  ASSERT_TRUE(unsigned_.ok());
  EXPECT_EQ(Header(*unsigned_, "webhook-id"), e.delivery_id);
  EXPECT_EQ(Header(*unsigned_, "webhook-signature"), "<absent>");
  e.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  auto r = NewCloudEventsFormat()->Render(e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Header(*r, "webhook-timestamp"), "1614265330");
  EXPECT_EQ(Header(*r, "webhook-signature"),
            SignV1(*Base64Decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), e.delivery_id, "1614265330",
                   r->body));
}

}  // namespace
}  // namespace vouch::notify
