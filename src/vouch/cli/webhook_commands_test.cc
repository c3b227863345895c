// The webhooks commands through RunCli against a scripted transport: what each sends.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/util/json.h"

namespace vouch::cli {
namespace {

constexpr TimeMs kNow = 1795615200000;
constexpr char kWebhook[] =
    R"({"id":3,"name":"ci","description":"","url":"https://h.example.com/","events":["request.*"],)"
    R"("model":"fraud-*","format":"vouch","email_to":[],"status":"active","secret_set":true,)"
    R"("owner":"admin","creation_timestamp":1,"last_updated_timestamp":1})";

class WebhookCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"VOUCH_SERVER", "VOUCH_TOKEN", "VOUCH_USERNAME", "VOUCH_PASSWORD"}) {
      ::unsetenv(name);
    }
  }

  int Run(std::vector<const char*> args) {
    args.insert(args.begin(), {"vouch", "--server", "http://127.0.0.1:1", "--token", "vch_t"});
    const FakeClock clock(kNow);
    out_.str("");
    err_.str("");
    return RunCli(static_cast<int>(args.size()), args.data(), transport_.Factory(), clock, out_,
                  err_, nullptr);
  }

  json::object SentBody() {
    const HttpRequest& sent = transport_.requests.back();
    EXPECT_TRUE(sent.body.has_value());
    auto body = ParseJsonObject(sent.body.value_or("{}"));
    EXPECT_TRUE(body.ok());
    return body.ok() ? *body : json::object{};
  }

  FakeTransport transport_;
  std::ostringstream out_, err_;
};

TEST_F(WebhookCliTest, CreateSendsTheCommaSeparatedEventsAndOnlyTheFieldsGiven) {
  transport_.Answer(201, kWebhook);
  ASSERT_EQ(Run({"webhooks", "create", "--name", "ci", "--url", "https://h.example.com/",
                 "--events", "request.*, model_version.stage_changed,", "--model", "fraud-*",
                 "--secret", "0123456789abcdef"}),
            0)
      << err_.str();
  const HttpRequest& sent = transport_.requests.back();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/api/v1/webhooks");
  json::object body = SentBody();
  EXPECT_EQ(SerializeJson(body.at("events")), R"(["request.*","model_version.stage_changed"])");
  EXPECT_EQ(body.at("model").as_string(), "fraud-*");
  EXPECT_EQ(body.at("secret").as_string(), "0123456789abcdef");
  EXPECT_FALSE(body.contains("format"));
  EXPECT_FALSE(body.contains("email_to"));
  EXPECT_EQ(out_.str().find("0123456789abcdef"), std::string::npos);
}

TEST_F(WebhookCliTest, CreateNeedsANameAndEvents) {
  EXPECT_EQ(Run({"webhooks", "create", "--url", "https://h.example.com/", "--events", "x"}), 2);
  EXPECT_EQ(Run({"webhooks", "create", "--name", "ci", "--url", "https://h.example.com/"}), 2);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(WebhookCliTest, UpdateSendsWhatWasGivenAndNoSecretRemovesIt) {
  transport_.Answer(200, kWebhook);
  ASSERT_EQ(Run({"webhooks", "update", "3", "--model", "", "--no-secret"}), 0) << err_.str();
  EXPECT_EQ(transport_.requests.back().method, "PATCH");
  EXPECT_EQ(transport_.requests.back().target, "/api/v1/webhooks/3");
  EXPECT_EQ(SerializeJson(SentBody()), R"({"model":"","secret":""})");
  EXPECT_EQ(Run({"webhooks", "update", "3"}), 2) << "nothing to change";
  EXPECT_EQ(Run({"webhooks", "update", "x", "--name", "n"}), 2);
}

TEST_F(WebhookCliTest, DisableAndEnableChangeTheStatus) {
  transport_.Answer(200, kWebhook);
  ASSERT_EQ(Run({"webhooks", "disable", "3"}), 0) << err_.str();
  EXPECT_EQ(SerializeJson(SentBody()), R"({"status":"disabled"})");
  transport_.Answer(200, kWebhook);
  ASSERT_EQ(Run({"webhooks", "enable", "3"}), 0) << err_.str();
  EXPECT_EQ(SerializeJson(SentBody()), R"({"status":"active"})");
}

TEST_F(WebhookCliTest, DeleteSaysWhatItDid) {
  transport_.Answer(204, "");
  ASSERT_EQ(Run({"webhooks", "delete", "3"}), 0) << err_.str();
  EXPECT_EQ(transport_.requests.back().method, "DELETE");
  EXPECT_EQ(transport_.requests.back().target, "/api/v1/webhooks/3");
  EXPECT_NE(out_.str().find("Deleted webhook 3."), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace vouch::cli
