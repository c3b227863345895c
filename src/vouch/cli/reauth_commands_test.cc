// `vouch requests approve|reject` under a policy with `reauth: true`, through RunCli against a
// scripted transport and prompter: when the password is read, where it goes, and that it is never
// printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/credentials.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/util/json.h"

namespace vouch::cli {
namespace {

constexpr TimeMs kNow = 1795615200000;
constexpr char kPassword[] = "eli's own password";
constexpr char kReauthRequired[] =
    R"({"error":{"code":"REAUTH_REQUIRED","message":"policy production requires )"
    R"(re-authentication to sign"}})";
constexpr char kApproved[] =
    R"({"id":12,"model":"m","version":1,"target":"stage:Production","state":"applied",)"
    R"("requester":"dana","policy":"production","creation_timestamp":1})";

class ScriptedPrompter final : public Prompter {
 public:
  bool interactive() const override { return interactive_; }
  Result<std::string> ReadLine(std::string_view prompt, bool secret) override {
    prompts.emplace_back(prompt);
    secrets.push_back(secret);
    if (lines.empty()) return InvalidArgument("no answer given: standard input ended");
    std::string line = lines.front();
    lines.pop_front();
    return line;
  }

  bool interactive_ = false;
  std::deque<std::string> lines;
  std::vector<std::string> prompts;
  std::vector<bool> secrets;
};

class ReauthCliTest : public ::testing::Test {
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
                  err_, &prompter_);
  }

  // The password field of the `i`-th request sent; "(none)" without one.
  std::string PasswordSent(size_t i) {
    const HttpRequest& sent = transport_.requests.at(i);
    if (!sent.body) return "(no body)";
    auto body = ParseJsonObject(*sent.body);
    if (!body.ok()) return "(not JSON)";
    const json::value* p = body->if_contains("password");
    return p != nullptr && p->is_string() ? std::string(p->get_string()) : "(none)";
  }

  void ExpectNotPrinted() {
    EXPECT_EQ(out_.str().find(kPassword), std::string::npos) << out_.str();
    EXPECT_EQ(err_.str().find(kPassword), std::string::npos) << err_.str();
  }

  FakeTransport transport_;
  ScriptedPrompter prompter_;
  std::ostringstream out_, err_;
};

TEST_F(ReauthCliTest, AtATerminalTheCliAsksForThePasswordWithoutEchoAndSendsTheReviewOnceMore) {
  prompter_.interactive_ = true;
  prompter_.lines = {kPassword};
  transport_.Answer(401, kReauthRequired);
  transport_.Answer(200, kApproved);
  ASSERT_EQ(Run({"requests", "approve", "12", "--comment", "ok"}), 0) << err_.str();
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(PasswordSent(0), "(none)");
  EXPECT_EQ(PasswordSent(1), kPassword);
  EXPECT_EQ(transport_.requests[1].target, "/api/v1/requests/12/approve");
  // A new body is a new request: it does not reuse the first one's Idempotency-Key.
  EXPECT_NE(transport_.requests[1].idempotency_key, transport_.requests[0].idempotency_key);
  ASSERT_EQ(prompter_.secrets, std::vector<bool>{true});
  EXPECT_NE(prompter_.prompts[0].find("request 12"), std::string::npos);
  EXPECT_NE(out_.str().find("applied"), std::string::npos) << out_.str();
  ExpectNotPrinted();
}

TEST_F(ReauthCliTest, ItAsksOnlyOnceAndAWrongPasswordIsRefused) {
  prompter_.interactive_ = true;
  prompter_.lines = {kPassword, "another"};
  transport_.Answer(401, kReauthRequired);
  transport_.Answer(401, R"({"error":{"code":"REAUTH_FAILED","message":"wrong password"}})");
  EXPECT_EQ(Run({"requests", "reject", "12", "--comment", "no"}), 1);
  EXPECT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(prompter_.prompts.size(), 1u);
  EXPECT_NE(err_.str().find("REAUTH_FAILED"), std::string::npos) << err_.str();
  ExpectNotPrinted();
}

TEST_F(ReauthCliTest, WithoutATerminalItSaysToUsePasswordStdinAndReadsNothing) {
  prompter_.lines = {kPassword};
  transport_.Answer(401, kReauthRequired);
  EXPECT_EQ(Run({"requests", "approve", "12"}), 1);
  EXPECT_EQ(transport_.requests.size(), 1u);
  EXPECT_TRUE(prompter_.prompts.empty());
  EXPECT_NE(err_.str().find("--password-stdin"), std::string::npos) << err_.str();
}

TEST_F(ReauthCliTest, PasswordStdinReadsOneLineAndSendsItWithTheFirstRequest) {
  prompter_.lines = {kPassword};
  transport_.Answer(200, kApproved);
  ASSERT_EQ(Run({"requests", "approve", "12", "--password-stdin"}), 0) << err_.str();
  ASSERT_EQ(transport_.requests.size(), 1u);
  EXPECT_EQ(PasswordSent(0), kPassword);
  EXPECT_EQ(prompter_.secrets, std::vector<bool>{true});
  ExpectNotPrinted();
}

TEST_F(ReauthCliTest, PasswordStdinWithNothingToReadIsAUsageError) {
  EXPECT_EQ(Run({"requests", "approve", "12", "--password-stdin"}), 2);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(ReauthCliTest, AReviewNoPolicyReauthenticatesIsSentOnceWithoutAPassword) {
  prompter_.interactive_ = true;
  transport_.Answer(200, kApproved);
  ASSERT_EQ(Run({"requests", "approve", "12"}), 0) << err_.str();
  ASSERT_EQ(transport_.requests.size(), 1u);
  EXPECT_EQ(PasswordSent(0), "(none)");
  EXPECT_TRUE(prompter_.prompts.empty());
}

}  // namespace
}  // namespace vouch::cli
