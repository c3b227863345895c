// The admin commands through RunCli on temporary SQLite stores: they send nothing over HTTP, print
// the log digest that audit::Verify computes, and use exit codes 0 (done), 1 (refused), 2 (usage).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/audit/verify.h"
#include "vouch/cli/app.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/cli/session.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::cli {
namespace {

using store::testing::TempDir;
using store::testing::TempSqliteStore;

class AdminCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.is_open());
    Status s = db_.store().Write([](store::Tx& tx) -> Status {
      for (int i = 0; i < 3; ++i) {
        AuditEvent e;
        e.action = "model.created";
        VOUCH_TRY(tx.AppendAuditEvent(e, [](int64_t seq) {
          return CanonicalJson(json::object{{"seq", seq}});
        }));
      }
      return OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto log = audit::Verify(db_.store());
    ASSERT_TRUE(log.ok());
    summary_ = fmt::format("3 events, log digest {}", log->head_digest);
  }

  int Run(std::vector<std::string> args) {
    std::vector<const char*> argv{"vouch"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    const FakeClock clock(0);
    out_.str("");
    err_.str("");
    return RunCli(static_cast<int>(argv.size()), argv.data(), transport_.Factory(), clock, out_,
                  err_);
  }

  std::string DataDir() const { return std::filesystem::path(db_.path()).parent_path().string(); }

  TempSqliteStore db_;
  TempDir out_dir_;
  std::string summary_;
  FakeTransport transport_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(AdminCommandsTest, AuditVerifyPrintsTheCountAndLogDigestBesideAnOpenStore) {
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", DataDir()}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "ok: " + summary_ + "\n");
  EXPECT_EQ(Run({"audit", "verify", "--store", "sqlite://" + db_.path()}), kExitOk);
  EXPECT_EQ(out_.str(), "ok: " + summary_ + "\n");
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(AdminCommandsTest, AuditVerifyNeedsExactlyOneStore) {
  EXPECT_EQ(Run({"audit", "verify"}), kExitUsage);
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", DataDir(), "--store", db_.path()}), kExitUsage);
  EXPECT_EQ(Run({"audit", "verify", "--store", "mysql://x"}), kExitUsage);
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", out_dir_.File("none")}), kExitRefused);
}

TEST_F(AdminCommandsTest, BackupThenRestoreCarryTheSameDigest) {
  const std::string file = out_dir_.File("b.db");
  EXPECT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("backup " + file + ": " + summary_), std::string::npos) << out_.str();
  EXPECT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file}), kExitRefused);

  const std::string restored = out_dir_.File("restored");
  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", restored}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find(summary_), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("master key"), std::string::npos);
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", restored}), kExitOk);
  EXPECT_EQ(out_.str(), "ok: " + summary_ + "\n");
  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", restored}), kExitRefused);
  EXPECT_NE(err_.str().find("--force"), std::string::npos);
  // The store this test holds open is a running server as far as restore can tell.
  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", DataDir(), "--force"}), kExitRefused);
  EXPECT_NE(err_.str().find("another vouch server is using"), std::string::npos) << err_.str();
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(AdminCommandsTest, TheHelpListsTheAdminCommands) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  for (const char* command : {"backup", "restore", "migrate", "audit"}) {
    EXPECT_NE(out_.str().find(std::string("\n  ") + command + " "), std::string::npos) << command;
  }
  EXPECT_EQ(Run({"audit", "--help"}), kExitOk);
  EXPECT_NE(out_.str().find("verify"), std::string::npos);
}

}  // namespace
}  // namespace vouch::cli
