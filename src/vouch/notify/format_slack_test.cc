#include <gtest/gtest.h>

#include "vouch/notify/format_test_events.h"
#include "vouch/notify/formats.h"

namespace vouch::notify {
namespace {

using namespace test_events;  // NOLINT(build/namespaces): the test payloads

TEST(SlackFormatTest, SaysWhoDidWhatToWhatInTextAndBlocksWithAButtonToTheRequest) {
  Envelope e = EnvelopeFor(RequestOpenedPayload());
  e.public_url = "https://vouch.example";
  auto r = NewSlackFormat()->Render(e);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Header(*r, "Content-Type"), "application/json");
  json::object body = json::parse(r->body).as_object();
  EXPECT_EQ(body.at("text"),
            "alice opened request #12 (fraud/eu version 3 to stage:Production) "
            "<https://vouch.example/api/v1/requests/12|open>");
  const json::array& blocks = body.at("blocks").as_array();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].at("type"), "section");
  EXPECT_EQ(blocks[0].at("text").at("type"), "mrkdwn");
  EXPECT_EQ(blocks[0].at("text").at("text"),
            "alice opened request #12 (fraud/eu version 3 to stage:Production)\n"
            "&gt; ship \"it\"\n&gt; now — ✓");
  EXPECT_EQ(blocks[1].at("type"), "context");
  EXPECT_EQ(blocks[2].at("type"), "actions");
  EXPECT_EQ(blocks[2].at("elements").at(0).at("type"), "button");
  EXPECT_EQ(blocks[2].at("elements").at(0).at("url"), "https://vouch.example/api/v1/requests/12");
}

TEST(SlackFormatTest, EscapesSlacksControlCharactersInUserText) {
  json::object event = VersionCreatedPayload();
  event["target"].as_object()["model"] = "<!channel> & co";
  event["actor"].as_object()["name"] = "m<a>llory";
  event["comment"] = "a <b> & c";
  auto r = NewSlackFormat()->Render(EnvelopeFor(std::move(event)));
  ASSERT_TRUE(r.ok());
  json::object body = json::parse(r->body).as_object();
  EXPECT_EQ(body.at("text"), "m&lt;a&gt;llory created &lt;!channel&gt; &amp; co version 3");
  EXPECT_EQ(
      body.at("blocks").at(0).at("text").at("text"),
      "m&lt;a&gt;llory created &lt;!channel&gt; &amp; co version 3\n&gt; a &lt;b&gt; &amp; c");
}

TEST(SlackFormatTest, KeepsTheTextOnOneLineAndLeavesTheButtonOutWithoutAPublicUrl) {
  json::object event = VersionCreatedPayload();
  event["actor"].as_object()["name"] = "two\nlines";
  auto r = NewSlackFormat()->Render(EnvelopeFor(std::move(event)));
  ASSERT_TRUE(r.ok());
  json::object body = json::parse(r->body).as_object();
  EXPECT_EQ(body.at("text"), "two lines created fraud version 3");
  EXPECT_EQ(body.at("blocks").as_array().size(), 2u);
}

TEST(SlackFormatTest, CutsALongCommentOnACharacterBoundary) {
  json::object event = VersionCreatedPayload();
  std::string comment;
  for (int i = 0; i < 600; ++i) comment += "é";  // 1,200 bytes
  event["comment"] = comment;
  auto r = NewSlackFormat()->Render(EnvelopeFor(std::move(event)));
  ASSERT_TRUE(r.ok());
  std::string section(json::parse(r->body).at("blocks").at(0).at("text").at("text").as_string());
  EXPECT_LT(section.size(), 1100u);
  EXPECT_TRUE(section.ends_with("é…")) << section;
}

TEST(SlackFormatTest, SendsNoSignatureHeaders) {
  Envelope e = EnvelopeFor(VersionCreatedPayload());
  e.secret = "a secret slack ignores";
  auto r = NewSlackFormat()->Render(e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers.size(), 1u);
}

}  // namespace
}  // namespace vouch::notify
