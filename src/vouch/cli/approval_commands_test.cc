// The approval commands through RunCli against a scripted transport: what each sends, and the exit
// codes of `gate check`, which CI pipelines branch on.
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

class ApprovalCliTest : public ::testing::Test {
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

  // `gate check`'s exit code when the server says `status`.
  int GateExit(std::string_view status) {
    transport_.Answer(200, R"({"model":"m","version":1,"target":"stage:Production","gated":true,)"
                           R"("holds":false,"may_enter":false,"status":")" +
                               std::string(status) + R"(","policy":"production"})");
    return Run({"gate", "check", "m", "1", "--to", "stage:Production"});
  }

  FakeTransport transport_;
  std::ostringstream out_, err_;
};

TEST_F(ApprovalCliTest, GateCheckExitCodesSayWhereTheVersionStands) {
  EXPECT_EQ(GateExit("may_enter"), 0);
  EXPECT_EQ(GateExit("holds"), 0);
  EXPECT_EQ(GateExit("not_gated"), 0);
  EXPECT_EQ(GateExit("pending"), 10);
  EXPECT_EQ(GateExit("rejected"), 11);
  EXPECT_EQ(GateExit("expired"), 12);
  EXPECT_EQ(GateExit("cancelled"), 13);
  EXPECT_EQ(GateExit("superseded"), 13);
  EXPECT_EQ(GateExit("no_request"), 14);
  EXPECT_EQ(transport_.requests.back().target,
            "/api/v1/models/m/versions/1/gate?to=stage%3AProduction");
}

TEST_F(ApprovalCliTest, GateCheckKeepsTheRefusalExitCodes) {
  transport_.Answer(404, R"({"error":{"code":"NOT_FOUND","message":"no such model"}})");
  EXPECT_EQ(Run({"gate", "check", "m", "1", "--to", "stage:Production"}), 1);
  EXPECT_EQ(Run({"gate", "check", "m", "x", "--to", "stage:Production"}), 2);
}

TEST_F(ApprovalCliTest, ApproveSendsTheMeaningCommentAndFingerprint) {
  transport_.Answer(200,
                    R"({"id":12,"model":"m","version":1,"target":"stage:Production",)"
                    R"("state":"open","requester":"dana","policy":"p","creation_timestamp":1})");
  ASSERT_EQ(Run({"requests", "approve", "12", "--comment", "ok", "--meaning", "validated",
                 "--fingerprint", "abc"}),
            0)
      << err_.str();
  const HttpRequest& sent = transport_.requests.back();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/api/v1/requests/12/approve");
  ASSERT_TRUE(sent.body.has_value());
  auto body = ParseJsonObject(*sent.body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body,
            (json::object{{"comment", "ok"}, {"meaning", "validated"}, {"fingerprint", "abc"}}));
}

TEST_F(ApprovalCliTest, RejectNeedsAComment) {
  EXPECT_EQ(Run({"requests", "reject", "12"}), 2);
  EXPECT_TRUE(transport_.requests.empty());
}

}  // namespace
}  // namespace vouch::cli
