#include "vouch/notify/formats.h"

#include <gtest/gtest.h>

#include "vouch/audit/actions.h"
#include "vouch/notify/format_test_events.h"

namespace vouch::notify {
namespace {

using namespace test_events;  // NOLINT(build/namespaces): the test payloads

TEST(BuiltinFormatsTest, RegistersTheFourFormatsOnceAndRefusesASecondRegistration) {
  FormatRegistry registry;
  ASSERT_TRUE(AddBuiltinFormats(registry).ok());
  EXPECT_EQ(registry.Names(),
            (std::vector<std::string_view>{"vouch", "cloudevents", "slack", "mlflow"}));
  for (std::string_view name : registry.Names()) EXPECT_EQ(registry.Find(name)->name(), name);
  EXPECT_EQ(AddBuiltinFormats(registry).code(), StatusCode::kInvalidArgument);
}

// Every action webhooks may receive, about a version (with what the version, tag and alias events
// record), through every format that accepts it: neither the client's address nor its user agent
// reaches a body or a header.
TEST(BuiltinFormatsTest, NoFormatSendsTheClientsAddressOrUserAgent) {
  FormatRegistry registry;
  ASSERT_TRUE(AddBuiltinFormats(registry).ok());
  int rendered = 0;
  for (const audit::ActionInfo& info : audit::Actions()) {
    if (!info.webhooks) continue;
    json::object event = Payload(
        info.name, {{"type", "model_version"}, {"model", "fraud"}, {"version", 3}, {"alias", "a"}},
        json::object{{"key", "k"}, {"alias", "a"}, {"version", 2}},
        json::object{{"key", "k"}, {"value", "v"}, {"alias", "a"}, {"version", 3}});
    event["recipients"] = json::array{};
    for (std::string_view name : registry.Names()) {
      const Format* format = registry.Find(name);
      if (!format->Accepts(info.name)) continue;
      Envelope e = EnvelopeFor(event);
      e.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
      e.public_url = "https://vouch.example";
      auto r = format->Render(e);
      ASSERT_TRUE(r.ok()) << name << " " << info.name << ": " << r.status().message();
      ++rendered;
      EXPECT_EQ(r->body.find(kClientAddress), std::string::npos) << name << " " << info.name;
      EXPECT_EQ(r->body.find(kUserAgent), std::string::npos) << name << " " << info.name;
      EXPECT_EQ(r->body.find("user_agent"), std::string::npos) << name << " " << info.name;
      for (const auto& [header, value] : r->headers) {
        EXPECT_EQ(value.find(kClientAddress), std::string::npos) << header;
        EXPECT_EQ(value.find(kUserAgent), std::string::npos) << header;
      }
    }
  }
  EXPECT_GT(rendered, 100);
}

}  // namespace
}  // namespace vouch::notify
