// Whole invocations through RunCli against a scripted transport: what each command sends, what it
// prints, and its exit code.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/cli/session.h"

namespace vouch::cli {
namespace {

constexpr TimeMs kNow = 1795615200000;  // 2026-11-25T14:00:00.000Z

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The developer's own settings must not leak into the tests.
    ::unsetenv("VOUCH_SERVER");
    ::unsetenv("VOUCH_TOKEN");
    ::unsetenv("VOUCH_USERNAME");
    ::unsetenv("VOUCH_PASSWORD");
    // Nor a login saved in the developer's home.
    ::setenv("XDG_CONFIG_HOME", "/nonexistent/vouch-cli-test", 1);
  }

  int Run(std::vector<const char*> args) {
    args.insert(args.begin(), "vouch");
    const FakeClock clock(kNow);
    out_.str("");
    err_.str("");
    return RunCli(static_cast<int>(args.size()), args.data(), transport_.Factory(), clock, out_,
                  err_);
  }

  const HttpRequest& Sent() {
    EXPECT_EQ(transport_.requests.size(), 1u);
    return transport_.requests.back();
  }

  FakeTransport transport_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliTest, ParsesRepeatedTagOptions) {
  EXPECT_EQ(Run({"models", "create", "fraud-detector", "--tag", "team=risk", "--description",
                 "card fraud", "--tag", "tier=1"}),
            kExitOk);
  EXPECT_EQ(Sent().method, "POST");
  EXPECT_EQ(Sent().target, "/api/v1/models");
  EXPECT_EQ(
      Sent().body,
      R"({"name":"fraud-detector","description":"card fraud","tags":{"team":"risk","tier":"1"}})");
}

TEST_F(CliTest, AcceptsGlobalOptionsAfterTheSubcommand) {
  transport_.Answer(200, R"({"name":"m","latest_version":1})");
  EXPECT_EQ(
      Run({"models", "get", "m", "--server", "http://h:1/", "--token", "t", "--output", "json"}),
      kExitOk);
  EXPECT_EQ(transport_.options_seen.server, "http://h:1");
  EXPECT_EQ(transport_.options_seen.token, "t");
  EXPECT_EQ(out_.str(), "{\"name\":\"m\",\"latest_version\":1}\n");
}

TEST_F(CliTest, AcceptsGlobalOptionsBeforeTheSubcommand) {
  EXPECT_EQ(Run({"--token", "t", "-o", "csv", "whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "t");
  EXPECT_EQ(transport_.options_seen.server, "http://127.0.0.1:5000");
}

TEST_F(CliTest, TakesServerAndTokenFromEnvironment) {
  ::setenv("VOUCH_SERVER", "http://env:7", 1);
  ::setenv("VOUCH_TOKEN", "from-env", 1);
  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.server, "http://env:7");
  EXPECT_EQ(transport_.options_seen.token, "from-env");
  EXPECT_EQ(Run({"whoami", "--token", "flag"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "flag");
}

TEST_F(CliTest, EncodesModelNameAsOnePathSegment) {
  EXPECT_EQ(Run({"versions", "get", "team/fraud model", "3"}), kExitOk);
  EXPECT_EQ(Sent().target, "/api/v1/models/team%2Ffraud%20model/versions/3");
}

TEST_F(CliTest, BuildsVersionCreateBody) {
  EXPECT_EQ(Run({"versions", "create", "fraud-detector", "--source", "s3://bucket/model.tar.gz",
                 "--run-id", "abc123", "--metric", "auc=0.93", "--param", "lr=0.1", "--tag",
                 "commit=1a2b3c", "--artifact-digest", ("sha256:" + std::string(64, 'f')).c_str()}),
            kExitOk);
  EXPECT_EQ(Sent().target, "/api/v1/models/fraud-detector/versions");
  EXPECT_EQ(Sent().body,
            R"({"source":"s3://bucket/model.tar.gz","run_id":"abc123",)"
            R"("tags":{"commit":"1a2b3c"},"metrics":{"auc":0.93},"params":{"lr":"0.1"},)"
            R"("artifact_digest":"sha256:)" +
                std::string(64, 'f') + "\"}");
}

TEST_F(CliTest, ArtifactFileIsHashedIntoArtifactDigest) {
  const std::string path = ::testing::TempDir() + "vouch_cli_test_artifact";
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(Run({"versions", "create", "m", "--source", "s", "--artifact", path.c_str()}), kExitOk);
  std::remove(path.c_str());
  EXPECT_EQ(Sent().body, R"({"source":"s","artifact_digest":"sha256:)"
                         R"(ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})");
}

TEST_F(CliTest, MissingArtifactFileIsUsageError) {
  EXPECT_EQ(Run({"versions", "create", "m", "--source", "s", "--artifact", "/nonexistent/x"}),
            kExitUsage);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CliTest, ArtifactAndArtifactDigestAreMutuallyExclusive) {
  EXPECT_EQ(Run({"versions", "create", "m", "--source", "s", "--artifact", "/etc/hostname",
                 "--artifact-digest", ("sha256:" + std::string(64, 'f')).c_str()}),
            kExitUsage);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CliTest, BadMetricIsUsageErrorAndSendsNothing) {
  EXPECT_EQ(Run({"versions", "create", "m", "--source", "s", "--metric", "auc=high"}), kExitUsage);
  EXPECT_TRUE(transport_.requests.empty());
  EXPECT_EQ(err_.str(), "vouch: --metric auc: expected a finite number, got 'high'\n");
}

TEST_F(CliTest, TagsWithoutVersionGoToTheModel) {
  EXPECT_EQ(Run({"tags", "set", "m", "team", "risk"}), kExitOk);
  EXPECT_EQ(Sent().method, "PUT");
  EXPECT_EQ(Sent().target, "/api/v1/models/m/tags/team");
  EXPECT_EQ(Sent().body, R"({"value":"risk"})");
}

TEST_F(CliTest, TagsWithVersionGoToTheVersion) {
  EXPECT_EQ(Run({"tags", "delete", "m", "2", "a key"}), kExitOk);
  EXPECT_EQ(Sent().method, "DELETE");
  EXPECT_EQ(Sent().target, "/api/v1/models/m/versions/2/tags/a%20key");
  EXPECT_FALSE(Sent().body.has_value());
}

TEST_F(CliTest, MetricValueIsSentAsNumber) {
  EXPECT_EQ(Run({"metrics", "set", "m", "1", "loss", "-0.25"}), kExitOk);
  EXPECT_EQ(Sent().target, "/api/v1/models/m/versions/1/metrics/loss");
  EXPECT_EQ(Sent().body, R"({"value":-0.25})");
}

TEST_F(CliTest, ParamValueIsSentAsString) {
  EXPECT_EQ(Run({"params", "set", "m", "1", "lr", "0.1"}), kExitOk);
  EXPECT_EQ(Sent().body, R"({"value":"0.1"})");
}

TEST_F(CliTest, StageSetSendsArchiveExistingAndComment) {
  EXPECT_EQ(Run({"stage", "set", "m", "2", "Production", "--archive-existing", "--comment", "go"}),
            kExitOk);
  EXPECT_EQ(Sent().target, "/api/v1/models/m/versions/2/stage");
  EXPECT_EQ(Sent().body, R"({"stage":"Production","archive_existing":true,"comment":"go"})");
}

TEST_F(CliTest, AliasSetSendsVersionAsInteger) {
  EXPECT_EQ(Run({"alias", "set", "m", "champion", "3"}), kExitOk);
  EXPECT_EQ(Sent().method, "PUT");
  EXPECT_EQ(Sent().target, "/api/v1/models/m/aliases/champion");
  EXPECT_EQ(Sent().body, R"({"version":3})");
}

TEST_F(CliTest, DeletePrintsWhatItDidAsASentenceOrAnObject) {
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"models", "delete", "m", "--output", "json"}), kExitOk);
  EXPECT_EQ(Sent().method, "DELETE");
  EXPECT_EQ(out_.str(), R"({"model":"m","deleted":true})"
                        "\n");
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"versions", "delete", "m", "3"}), kExitOk);
  EXPECT_EQ(out_.str(), "Deleted version 3 of model m.\n");
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"versions", "delete", "m", "3", "-o", "json"}), kExitOk);
  EXPECT_EQ(out_.str(), R"({"model":"m","version":3,"deleted":true})"
                        "\n");
}

TEST_F(CliTest, AuditLogConvertsRelativeTimesAndFilters) {
  transport_.Answer(200, R"({"events":[]})");
  EXPECT_EQ(Run({"audit", "log", "--model", "m", "--version", "2", "--actor", "admin", "--since",
                 "-24h", "--until", "2026-11-25T14:00:00Z", "--limit", "5"}),
            kExitOk);
  EXPECT_EQ(Sent().target,
            "/api/v1/audit?model=m&version=2&actor=admin&since=2026-11-24T14%3A00%3A00.000Z"
            "&until=2026-11-25T14%3A00%3A00.000Z&limit=5");
}

TEST_F(CliTest, AuditVersionOptionIsNotTheVersionFlag) {
  transport_.Answer(200, R"({"events":[]})");
  EXPECT_EQ(Run({"audit", "log", "--model", "m", "--version", "7"}), kExitOk);
  EXPECT_NE(Sent().target.find("version=7"), std::string::npos);
}

TEST_F(CliTest, ModelsListPrintsTable) {
  transport_.Answer(200, R"({"models":[{"name":"a","latest_version":2,"description":"first",)"
                         R"("last_updated_timestamp":1795615200000}]})");
  EXPECT_EQ(Run({"models", "list"}), kExitOk);
  EXPECT_EQ(out_.str(),
            "NAME  LATEST  DESCRIPTION  UPDATED\n"
            "a     2       first        2026-11-25T14:00:00.000Z\n");
}

TEST_F(CliTest, ServerRefusalExitsOne) {
  transport_.Answer(404, R"({"error":{"code":"NOT_FOUND","message":"no such model"}})");
  EXPECT_EQ(Run({"models", "get", "x"}), kExitRefused);
  EXPECT_EQ(err_.str(), "vouch: NOT_FOUND: no such model\n");
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  for (const std::vector<const char*>& args : std::vector<std::vector<const char*>>{
           {},
           {"models"},
           {"models", "get"},
           {"nonsense"},
           {"--output", "yaml", "whoami"},
           {"versions", "get", "m", "one"},
           {"models", "list", "--limit", "0"},
           {"audit", "log", "--version", "2"},
           {"audit", "log", "--since", "yesterday"},
           {"tags", "set", "m"},
           {"--server", "localhost:5000", "whoami"},
       }) {
    EXPECT_EQ(Run(args), kExitUsage) << (args.empty() ? "" : args[0]);
  }
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CliTest, HelpAndVersionExitZero) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  EXPECT_NE(out_.str().find("models"), std::string::npos);
  EXPECT_EQ(Run({"--version"}), kExitOk);
  EXPECT_EQ(out_.str(), "vouch 0.1.0\n");
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CliTest, HelpListsEverySubcommandServeIncludedAndTheOutputFormats) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  const std::string help = out_.str();
  for (const char* word :
       {"serve",   "models",  "versions",       "stage",       "alias",  "tags",
        "metrics", "params",  "audit",          "whoami",      "login",  "logout",
        "users",   "groups",  "roles",          "permissions", "tokens", "backup",
        "restore", "migrate", "migrate-schema", "dev"}) {
    EXPECT_NE(help.find("\n  " + std::string(word) + " "), std::string::npos) << word << help;
  }
  for (const char* format : {"table", "json", "jsonl", "csv"}) {
    EXPECT_NE(help.find(format), std::string::npos) << format;
  }
  EXPECT_NE(help.find("--token; --username"), std::string::npos) << help;
  EXPECT_NE(help.find("--verbose"), std::string::npos);
}

TEST_F(CliTest, ServeAfterAnotherWordSaysWhereItMustGo) {
  EXPECT_EQ(Run({"--server", "http://h:1", "serve", "--data-dir", "d"}), kExitUsage);
  EXPECT_NE(err_.str().find("serve must be the first word"), std::string::npos) << err_.str();
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CliTest, AuditVerifyHelpSaysItReadsTheDatabaseAndNotAServer) {
  EXPECT_EQ(Run({"audit", "verify", "--help"}), kExitOk);
  const std::string help = out_.str();
  EXPECT_NE(help.find("--data-dir"), std::string::npos);
  EXPECT_NE(help.find("--store"), std::string::npos);
  EXPECT_NE(help.find("read the database itself"), std::string::npos) << help;
  EXPECT_NE(help.find("VOUCH_SERVER never"), std::string::npos) << help;
}

TEST_F(CliTest, JsonIsOneDocumentAndJsonlOneObjectPerLine) {
  const char* page = R"({"models":[{"name":"a"},{"name":"b"}]})";
  transport_.Answer(200, page);
  EXPECT_EQ(Run({"models", "list", "-o", "json"}), kExitOk);
  EXPECT_EQ(out_.str(), "[\n{\"name\":\"a\"},\n{\"name\":\"b\"}\n]\n");
  transport_.Answer(200, page);
  EXPECT_EQ(Run({"models", "list", "-o", "jsonl"}), kExitOk);
  EXPECT_EQ(out_.str(), "{\"name\":\"a\"}\n{\"name\":\"b\"}\n");
  transport_.Answer(200, R"({"name":"a"})");
  EXPECT_EQ(Run({"models", "get", "a", "-o", "jsonl"}), kExitOk);
  EXPECT_EQ(out_.str(), "{\"name\":\"a\"}\n");
  EXPECT_EQ(Run({"models", "list", "-o", "yaml"}), kExitUsage);
}

TEST_F(CliTest, AWriteAnsweredWithAnObjectPrintsItWithTheKindsColumns) {
  transport_.Answer(200, R"({"name":"m","latest_version":2,"description":"d",)"
                         R"("last_updated_timestamp":1795615200000,"tags":{}})");
  EXPECT_EQ(Run({"tags", "delete", "m", "team", "-o", "csv"}), kExitOk);
  EXPECT_EQ(Sent().method, "DELETE");
  EXPECT_EQ(out_.str(),
            "name,latest_version,description,last_updated_timestamp\r\n"
            "m,2,d,2026-11-25T14:00:00.000Z\r\n");
}

}  // namespace
}  // namespace vouch::cli
