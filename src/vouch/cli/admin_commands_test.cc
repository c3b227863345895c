// The admin commands through RunCli on temporary SQLite stores: they send nothing over HTTP, print
// the Merkle root that audit::Verify computes, and use exit codes 0 (done), 1 (refused), 2 (usage).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/audit/verify.h"
#include "vouch/cli/app.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/cli/session.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/tlog/merkle.h"
#include "vouch/util/crypto.h"

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
    // The root of the three stored bodies, computed here from the bytes alone.
    tlog::RightEdge tree;
    for (int seq = 1; seq <= 3; ++seq) {
      tree.Append(tlog::LeafHash(fmt::format(R"({{"seq":{}}})", seq)));
    }
    ASSERT_EQ(log->head_digest, HexEncode(tlog::HashBytes(tree.Root())));
    summary_ = fmt::format("3 events, Merkle root {}", log->head_digest);
    chain_digest_ = log->chain_digest;
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
  std::string chain_digest_;
  FakeTransport transport_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(AdminCommandsTest, AuditVerifyPrintsTheCountAndLogDigestBesideAnOpenStore) {
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", DataDir()}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "ok: " + summary_ + ", no checkpoint\n");
  EXPECT_EQ(Run({"audit", "verify", "--store", "sqlite://" + db_.path()}), kExitOk);
  EXPECT_EQ(out_.str(), "ok: " + summary_ + ", no checkpoint\n");
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(AdminCommandsTest, AuditVerifyPrintsOneObjectInJson) {
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", DataDir(), "-o", "json"}), kExitOk) << err_.str();
  Result<json::object> plain = ParseJsonObject(out_.str());
  ASSERT_TRUE(plain.ok()) << out_.str();
  EXPECT_FALSE(plain->contains("chain_digest"));  // only with --chain-digest
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", DataDir(), "--chain-digest", "-o", "json"}),
            kExitOk)
      << err_.str();
  Result<json::object> o = ParseJsonObject(out_.str());
  ASSERT_TRUE(o.ok()) << out_.str();
  EXPECT_EQ(o->at("verified").as_bool(), true);
  EXPECT_EQ(o->at("events").as_int64(), 3);
  EXPECT_EQ("3 events, Merkle root " + std::string(o->at("root").as_string()), summary_);
  EXPECT_EQ(o->at("chain_digest").as_string(), chain_digest_);
}

TEST_F(AdminCommandsTest, AuditVerifyPrintsTheHashChainDigestOfEarlierVersionsWhenAsked) {
  EXPECT_EQ(Run({"audit", "verify", "--data-dir", DataDir(), "--chain-digest"}), kExitOk)
      << err_.str();
  // h_i = SHA-256(h_{i-1} || SHA-256(body_i)) from 32 zero bytes: what vouch printed before.
  std::string chain(32, '\0');
  for (int seq = 1; seq <= 3; ++seq) {
    chain = Sha256Raw(chain + Sha256Raw(fmt::format(R"({{"seq":{}}})", seq)));
  }
  EXPECT_EQ(
      out_.str(),
      "ok: " + summary_ +
          ", no checkpoint\nhash-chain log digest (what vouch printed before the Merkle log): " +
          HexEncode(chain) + "\n");
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
  EXPECT_EQ(out_.str(), "ok: " + summary_ + ", no checkpoint\n");
  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", restored}), kExitRefused);
  EXPECT_NE(err_.str().find("--force"), std::string::npos);
  // The store this test holds open is a running server as far as restore can tell.
  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", DataDir(), "--force"}), kExitRefused);
  EXPECT_NE(err_.str().find("another vouch server is using"), std::string::npos) << err_.str();
  EXPECT_TRUE(transport_.requests.empty());
}

// An event appended as it is, not through the canonical writer: what a forger with SQL access, or
// a store damaged underneath, leaves. Event 4 then does not verify.
void AppendRawEvent(store::Store& s, std::string body) {
  Status st = s.Write([&](store::Tx& tx) -> Status {
    AuditEvent e;
    e.action = "model.created";
    return tx.AppendAuditEvent(e, [&](int64_t) -> Result<std::string> { return body; }).status();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
}

bool Has(const std::ostringstream& stream, std::string_view text) {
  return stream.str().find(text) != std::string::npos;
}

TEST_F(AdminCommandsTest, BackupRefusesALogThatDoesNotVerifyUnlessUnverifiedWhichSaysWhyLoudly) {
  AppendRawEvent(db_.store(), R"({"seq": 4})");
  auto source = audit::Inspect(db_.store());
  ASSERT_TRUE(source.ok());
  ASSERT_EQ(source->problem.code(), StatusCode::kDataLoss);
  const std::string file = out_dir_.File("b.db");

  EXPECT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file}), kExitRefused);
  EXPECT_TRUE(Has(err_, "does not verify, so no backup was written")) << err_.str();
  EXPECT_TRUE(Has(err_, "audit event 4: ")) << err_.str();
  EXPECT_TRUE(Has(err_, "--unverified")) << err_.str();
  EXPECT_FALSE(std::filesystem::exists(file));

  EXPECT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file, "--unverified"}), kExitOk)
      << err_.str();
  EXPECT_TRUE(Has(out_, "UNVERIFIED")) << out_.str();
  EXPECT_TRUE(Has(err_, "WARNING: UNVERIFIED BACKUP")) << err_.str();
  EXPECT_TRUE(Has(err_, "audit event 4: the body is not in canonical (RFC 8785) form"))
      << err_.str();
  // The copy holds the same events, byte for byte: the digest over all of them is the source's.
  const std::string all = fmt::format("4 events, Merkle root {}", source->head_digest);
  EXPECT_TRUE(Has(out_, all)) << out_.str();
  EXPECT_EQ(Run({"audit", "verify", "--store", "sqlite://" + file}), kExitRefused);
  EXPECT_TRUE(Has(err_, "audit event 4: ")) << err_.str();

  // --force keeps its meaning: replace FILE. --unverified alone does not.
  EXPECT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file, "--unverified"}), kExitRefused);
  EXPECT_TRUE(Has(err_, "--force")) << err_.str();
  EXPECT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file, "--unverified", "--force"}),
            kExitOk)
      << err_.str();
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(AdminCommandsTest, RestoreRefusesABackupThatDoesNotVerifyUnlessUnverified) {
  AppendRawEvent(db_.store(), R"({"seq":4,"n":1152921504606846976})");
  auto source = audit::Inspect(db_.store());
  ASSERT_TRUE(source.ok());
  ASSERT_EQ(source->problem.code(), StatusCode::kDataLoss);
  const std::string file = out_dir_.File("b.db");
  ASSERT_EQ(Run({"backup", "--data-dir", DataDir(), "--out", file, "--unverified"}), kExitOk)
      << err_.str();

  const std::string restored = out_dir_.File("restored");
  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", restored}), kExitRefused);
  EXPECT_TRUE(Has(err_, "refusing to restore")) << err_.str();
  EXPECT_TRUE(Has(err_, "nothing was changed")) << err_.str();
  EXPECT_TRUE(Has(err_, "--unverified")) << err_.str();
  EXPECT_FALSE(std::filesystem::exists(restored));

  EXPECT_EQ(Run({"restore", "--from", file, "--data-dir", restored, "--unverified"}), kExitOk)
      << err_.str();
  EXPECT_TRUE(Has(out_, "UNVERIFIED")) << out_.str();
  EXPECT_TRUE(Has(err_, "WARNING: UNVERIFIED RESTORE")) << err_.str();
  EXPECT_TRUE(Has(err_, "audit event 4: ")) << err_.str();
  auto opened = store::SqliteStore::Open({.path = restored + "/vouch.db", .read_only = true});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto copy = audit::Inspect(**opened);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->count, 4);
  EXPECT_EQ(copy->head_digest, source->head_digest);
  EXPECT_EQ(copy->problem.message(), source->problem.message());

  // Not a database at all is refused with or without the flag.
  const std::string junk = out_dir_.File("junk.db");
  { std::ofstream(junk) << std::string(4096, 'x'); }
  EXPECT_EQ(Run({"restore", "--from", junk, "--data-dir", restored, "--force", "--unverified"}),
            kExitRefused);
  EXPECT_TRUE(Has(err_, "nothing was changed")) << err_.str();
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
