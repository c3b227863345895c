#include <gtest/gtest.h>

#include "vouch/notify/formats.h"
#include "vouch/notify/webhook_signature.h"

namespace vouch::notify {
namespace {

// An outbox payload as the server stores it (audit/audit_log.cc): the canonical event, with the
// request's source, and request.opened's "recipients" extra.
json::object RequestOpenedPayload() {
  return json::parse(R"({"schema":2,"seq":42,"time":"2026-12-06T10:00:00.123Z",
    "time_ms":1796551200123,"actor":{"id":7,"name":"alice","auth":"token"},
    "source":{"door":"native","address":"203.0.113.9","user_agent":"curl/8.1 secret-agent"},
    "action":"request.opened",
    "target":{"type":"approval_request","model":"fraud/eu","version":3,"request":12,
              "to":"stage:Production"},
    "before":null,"after":{"id":12,"state":"open"},"comment":"ship \"it\"\nnow — ✓",
    "request_id":"r-1","outcome":"done",
    "recipients":[{"rule":0,"text":"1 of ml-leads","required":1,"missing":1,
                   "could_approve":["bob"]}]})")
      .as_object();
}

Envelope EnvelopeFor(json::object event) {
  Envelope e;
  e.delivery_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  e.attempt = 2;
  e.event_seq = 42;
  e.action = std::string(event.at("action").as_string());
  e.event = std::move(event);
  e.now_ms = 1614265330999;  // 1614265330 seconds, floored
  e.webhook_id = 5;
  e.webhook_name = "ci";
  return e;
}

std::string Header(const Rendered& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

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

TEST(BuiltinFormatsTest, RegistersEachOnceAndRefusesASecondRegistration) {
  FormatRegistry registry;
  ASSERT_TRUE(AddBuiltinFormats(registry).ok());
  EXPECT_NE(registry.Find("vouch"), nullptr);
  EXPECT_EQ(AddBuiltinFormats(registry).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::notify
