#include <gtest/gtest.h>

#include "vouch/notify/format_test_events.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"
#include "vouch/util/crypto.h"

namespace vouch::notify {
namespace {

using namespace test_events;  // NOLINT(build/namespaces): the test payloads

TEST(VouchFormatTest, SendsTheStandardWebhooksHeadersSignedWithTheDecodedWhsecKey) {
  auto format = NewVouchFormat();
  Envelope e = EnvelopeFor(RequestOpenedPayload());
  e.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  auto r = format->Render(e);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Header(*r, "Content-Type"), "application/json");
  EXPECT_EQ(Header(*r, "webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
  EXPECT_EQ(Header(*r, "webhook-timestamp"), "1614265330");
  // Independently: base64(hmac.new(b64decode("MfKQ…"), f"{id}.{ts}.{body}", sha256).digest())
  EXPECT_EQ(Header(*r, "webhook-signature"),
            SignV1(*Base64Decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                   "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", r->body));
}

TEST(VouchFormatTest, SignatureChangesWithTheBody) {
  auto format = NewVouchFormat();
  Envelope e = EnvelopeFor(RequestOpenedPayload());
  e.secret = "a plain secret of some length";
  auto first = format->Render(e);
  e.event["comment"] = "another comment";
  auto second = format->Render(e);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->body, second->body);
  EXPECT_NE(Header(*first, "webhook-signature"), Header(*second, "webhook-signature"));
  EXPECT_EQ(Header(*first, "webhook-signature"),
            SignV1("a plain secret of some length", e.delivery_id, "1614265330", first->body));
}

TEST(VouchFormatTest, WithoutASecretSendsIdAndTimestampButNoSignature) {
  auto r = NewVouchFormat()->Render(EnvelopeFor(RequestOpenedPayload()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Header(*r, "webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
  EXPECT_EQ(Header(*r, "webhook-timestamp"), "1614265330");
  EXPECT_EQ(Header(*r, "webhook-signature"), "<absent>");
}

TEST(VouchFormatTest, BodyIsTheEnvelopeWithTheEventTheDeliveryAndTheRecipients) {
  Envelope e = EnvelopeFor(RequestOpenedPayload());
  e.public_url = "https://vouch.example/";
  auto r = NewVouchFormat()->Render(e);
  ASSERT_TRUE(r.ok());
  json::object body = json::parse(r->body).as_object();
  EXPECT_EQ(body.at("type"), "request.opened");
  EXPECT_EQ(body.at("timestamp"), "2026-12-06T10:00:00.123Z");
  const json::object& data = body.at("data").as_object();
  EXPECT_EQ(data.at("seq"), 42);
  EXPECT_EQ(data.at("door"), "native");
  EXPECT_EQ(data.at("actor").at("name"), "alice");
  EXPECT_EQ(data.at("comment"), "ship \"it\"\nnow — ✓");
  EXPECT_EQ(data.at("recipients").at(0).at("could_approve").at(0), "bob");
  EXPECT_FALSE(data.contains("source"));
  EXPECT_EQ(body.at("delivery").at("id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
  EXPECT_EQ(body.at("delivery").at("attempt"), 2);
  EXPECT_EQ(body.at("delivery").at("webhook").at("name"), "ci");
  EXPECT_EQ(body.at("links").at("request"), "https://vouch.example/api/v1/requests/12");
  EXPECT_EQ(body.at("links").at("version"),
            "https://vouch.example/api/v1/models/fraud%2Feu/versions/3");
}

TEST(VouchFormatTest, LeavesLinksOutWithoutAPublicUrl) {
  auto r = NewVouchFormat()->Render(EnvelopeFor(RequestOpenedPayload()));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(json::parse(r->body).as_object().contains("links"));
}

TEST(VouchFormatTest, RefusesAnEventWithoutAnAction) {
  Envelope e = EnvelopeFor(RequestOpenedPayload());
  e.action.clear();
  EXPECT_EQ(NewVouchFormat()->Render(e).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::notify
