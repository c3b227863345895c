// The identity commands, login and logout through RunCli against a scripted transport and a
// scripted prompter: what each sends, where passwords come from, and what is saved where.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/credentials.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/cli/session.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::cli {
namespace {

constexpr TimeMs kNow = 1795615200000;
constexpr char kIssued[] =
    R"({"id":5,"name":"cli on h","owner":"alice","scope":"full","creation_timestamp":1,)"
    R"("token":"vch_saved-token"})";

// Answers prompts from a script and remembers what was asked.
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

class IdentityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"VOUCH_SERVER", "VOUCH_TOKEN", "VOUCH_USERNAME", "VOUCH_PASSWORD"}) {
      ::unsetenv(name);
    }
    ::setenv("XDG_CONFIG_HOME", home_.path().c_str(), 1);
  }

  int Run(std::vector<const char*> args) {
    args.insert(args.begin(), "vouch");
    const FakeClock clock(kNow);
    out_.str("");
    err_.str("");
    return RunCli(static_cast<int>(args.size()), args.data(), transport_.Factory(), clock, out_,
                  err_, &prompter_);
  }

  const HttpRequest& Last() { return transport_.requests.back(); }

  std::filesystem::path File() { return home_.path() / "vouch" / "credentials"; }

  std::string FileText() {
    std::ifstream in(File());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  mode_t Mode(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }

  int LoginAsAlice() {
    prompter_.lines = {"alice's password"};
    transport_.Answer(201, kIssued);
    return Run({"--username", "alice", "login"});
  }

  store::testing::TempDir home_;
  FakeTransport transport_;
  ScriptedPrompter prompter_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST(CliHeaders, SendsBasicCredentialsWithoutATokenAndTheTokenWhenBothAreSet) {
  auto auth = [](const ClientOptions& o) {
    for (const auto& [name, value] : RequestHeaders(o, {"GET", "/x", {}}, "id")) {
      if (name == "Authorization") return value;
    }
    return std::string();
  };
  EXPECT_EQ(auth({"http://h", "", "", "alice", "pw"}), "Basic YWxpY2U6cHc=");
  EXPECT_EQ(auth({"http://h", "t0k", "", "alice", "pw"}), "Bearer t0k");
  EXPECT_EQ(auth({"http://h", "", "", "", "pw"}), "");
}

TEST(CliCredentials, PathFollowsXdgConfigHomeThenHome) {
  EXPECT_EQ(CredentialsPath("/x/cfg", "/home/a").value(), "/x/cfg/vouch/credentials");
  EXPECT_EQ(CredentialsPath(nullptr, "/home/a").value(), "/home/a/.config/vouch/credentials");
  // Relative XDG paths are ignored, as the base-directory specification says.
  EXPECT_EQ(CredentialsPath("cfg", "/home/a").value(), "/home/a/.config/vouch/credentials");
  EXPECT_EQ(CredentialsPath(nullptr, nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(IdentityCliTest, SavedLoginsArePerServerAndPrivate) {
  ASSERT_TRUE(SaveLogin(File(), {"http://a:1", "alice", "vch_a", 1}).ok());
  ASSERT_TRUE(SaveLogin(File(), {"http://b:2", "bob", "vch_b", 2}).ok());
  ASSERT_TRUE(SaveLogin(File(), {"http://a:1", "alice", "vch_a2", 3}).ok());
  EXPECT_EQ(Mode(File()), 0600u);
  EXPECT_EQ(Mode(File().parent_path()), 0700u);
  EXPECT_EQ(LoadLogin(File(), "http://a:1").value()->token, "vch_a2");
  EXPECT_EQ(LoadLogin(File(), "http://b:2").value()->token_id, 2);
  EXPECT_FALSE(LoadLogin(File(), "http://c:3").value().has_value());
  ASSERT_TRUE(RemoveLogin(File(), "http://a:1").ok());
  EXPECT_FALSE(LoadLogin(File(), "http://a:1").value().has_value());
  ASSERT_TRUE(RemoveLogin(File(), "http://b:2").ok());
  EXPECT_FALSE(std::filesystem::exists(File())) << "an empty credentials file is removed";
  // No temporary files are left behind.
  EXPECT_TRUE(std::filesystem::is_empty(File().parent_path()));
}

TEST_F(IdentityCliTest, ACredentialsFileOthersMayReadIsRefused) {
  ASSERT_TRUE(SaveLogin(File(), {"http://127.0.0.1:5000", "alice", "vch_a", 1}).ok());
  ASSERT_EQ(::chmod(File().c_str(), 0644), 0);
  EXPECT_EQ(LoadLogin(File(), "http://127.0.0.1:5000").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Run({"whoami"}), kExitUsage);
  EXPECT_NE(err_.str().find("chmod 600"), std::string::npos) << err_.str();
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(IdentityCliTest, LoginSignsInWithBasicSavesTheTokenAndLaterCommandsUseIt) {
  ASSERT_EQ(LoginAsAlice(), kExitOk) << err_.str();
  ASSERT_EQ(transport_.requests.size(), 1u);
  EXPECT_EQ(Last().method, "POST");
  EXPECT_EQ(Last().target, "/api/v1/tokens");
  EXPECT_NE(Last().body->find(R"("name":"cli on )"), std::string::npos) << *Last().body;
  EXPECT_EQ(transport_.options_seen.username, "alice");
  EXPECT_EQ(transport_.options_seen.password, "alice's password");
  EXPECT_TRUE(transport_.options_seen.token.empty());
  EXPECT_EQ(prompter_.secrets, std::vector<bool>{true});

  EXPECT_EQ(Mode(File()), 0600u);
  EXPECT_EQ(Mode(File().parent_path()), 0700u);
  EXPECT_NE(FileText().find("vch_saved-token"), std::string::npos);
  EXPECT_EQ(FileText().find("password"), std::string::npos) << "the password is never saved";
  EXPECT_EQ(out_.str().find("vch_saved-token"), std::string::npos) << "nor printed";

  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "vch_saved-token");
  // Only for the server it was issued by.
  EXPECT_EQ(Run({"--server", "http://elsewhere:5000", "whoami"}), kExitOk);
  EXPECT_TRUE(transport_.options_seen.token.empty());
  // A token given explicitly wins.
  EXPECT_EQ(Run({"--token", "given", "whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "given");
}

TEST_F(IdentityCliTest, LoginAsksForTheUsernameOnlyAtATerminal) {
  EXPECT_EQ(Run({"login"}), kExitUsage);
  EXPECT_NE(err_.str().find("--username"), std::string::npos);
  EXPECT_TRUE(transport_.requests.empty());

  prompter_.interactive_ = true;
  prompter_.lines = {"alice", "pw-for-alice"};
  transport_.Answer(201, kIssued);
  EXPECT_EQ(Run({"login"}), kExitOk) << err_.str();
  EXPECT_EQ(prompter_.secrets, (std::vector<bool>{false, true}));
  EXPECT_EQ(transport_.options_seen.username, "alice");
}

TEST_F(IdentityCliTest, ARefusedLoginSavesNothing) {
  prompter_.lines = {"wrong"};
  transport_.Answer(401, R"({"error":{"code":"UNAUTHENTICATED","message":"invalid username or )"
                         R"(password"}})");
  EXPECT_EQ(Run({"--username", "alice", "login"}), kExitRefused);
  EXPECT_FALSE(std::filesystem::exists(File()));
  EXPECT_NE(err_.str().find("invalid username or password"), std::string::npos);
}

TEST_F(IdentityCliTest, LoggingInAgainRevokesTheTokenItReplaces) {
  ASSERT_EQ(LoginAsAlice(), kExitOk);
  prompter_.lines = {"alice's password"};
  transport_.Answer(201, R"({"id":6,"name":"n","owner":"alice","scope":"full",)"
                         R"("creation_timestamp":1,"token":"vch_second"})");
  ASSERT_EQ(Run({"--username", "alice", "login"}), kExitOk);
  EXPECT_EQ(Last().method, "DELETE");
  EXPECT_EQ(Last().target, "/api/v1/tokens/5");
  EXPECT_EQ(transport_.options_seen.token, "vch_saved-token");
  EXPECT_EQ(LoadLogin(File(), "http://127.0.0.1:5000").value()->token, "vch_second");
}

TEST_F(IdentityCliTest, LogoutRevokesTheSavedTokenAndForgetsIt) {
  ASSERT_EQ(LoginAsAlice(), kExitOk);
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"logout"}), kExitOk) << err_.str();
  EXPECT_EQ(Last().method, "DELETE");
  EXPECT_EQ(Last().target, "/api/v1/tokens/5");
  EXPECT_EQ(transport_.options_seen.token, "vch_saved-token");
  EXPECT_FALSE(std::filesystem::exists(File()));
  EXPECT_EQ(Run({"logout"}), kExitRefused);
  EXPECT_NE(err_.str().find("not logged in"), std::string::npos);
}

TEST_F(IdentityCliTest, LogoutForgetsATokenTheServerNoLongerTakesButKeepsItWhenUnreachable) {
  ASSERT_EQ(LoginAsAlice(), kExitOk);
  transport_.FailNext(Unavailable("cannot reach server"));
  EXPECT_EQ(Run({"logout"}), kExitUnreachable);
  EXPECT_TRUE(std::filesystem::exists(File()));
  transport_.Answer(401, R"({"error":{"code":"UNAUTHENTICATED","message":"token revoked"}})");
  EXPECT_EQ(Run({"logout"}), kExitOk);
  EXPECT_FALSE(std::filesystem::exists(File()));
}

TEST_F(IdentityCliTest, AUsernameWithoutPasswordIsAskedForOnlyAtATerminal) {
  EXPECT_EQ(Run({"--username", "bob", "whoami"}), kExitUsage);
  EXPECT_TRUE(transport_.requests.empty());
  prompter_.interactive_ = true;
  prompter_.lines = {"bobs-password"};
  EXPECT_EQ(Run({"--username", "bob", "whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.password, "bobs-password");
  ::setenv("VOUCH_USERNAME", "carol", 1);
  ::setenv("VOUCH_PASSWORD", "carols-password", 1);
  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.username, "carol");
  EXPECT_EQ(transport_.options_seen.password, "carols-password");
}

TEST_F(IdentityCliTest, UsersCreateReadsThePasswordLikeLogin) {
  prompter_.interactive_ = true;
  prompter_.lines = {"s3cret-pass", "s3cret-pass"};
  EXPECT_EQ(Run({"users", "create", "ci-bot", "--service-account", "--display-name", "CI",
                 "--with-password"}),
            kExitOk);
  EXPECT_EQ(Last().target, "/api/v1/users");
  EXPECT_EQ(*Last().body, R"({"name":"ci-bot","kind":"service_account","display_name":"CI",)"
                          R"("password":"s3cret-pass"})");
  EXPECT_EQ(prompter_.secrets, (std::vector<bool>{true, true}));

  prompter_.lines = {"one-password", "another-one"};
  EXPECT_EQ(Run({"users", "set-password", "ci-bot"}), kExitUsage);
  EXPECT_NE(err_.str().find("differ"), std::string::npos);
  EXPECT_EQ(transport_.requests.size(), 1u) << "nothing sent";
}

TEST_F(IdentityCliTest, SetPasswordSendsTheCurrentOneWhenAsked) {
  prompter_.lines = {"old-password", "new-password"};
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"users", "set-password", "alice", "--current"}), kExitOk);
  EXPECT_EQ(Last().method, "PUT");
  EXPECT_EQ(Last().target, "/api/v1/users/alice/password");
  EXPECT_EQ(*Last().body, R"({"current_password":"old-password","password":"new-password"})");
  EXPECT_EQ(out_.str(), "Set the password of alice.\n");
}

TEST_F(IdentityCliTest, UsersUpdateSendsOnlyWhatWasGiven) {
  EXPECT_EQ(Run({"users", "update", "alice", "--email", ""}), kExitOk);
  EXPECT_EQ(Last().method, "PATCH");
  EXPECT_EQ(*Last().body, R"({"email":""})");
  EXPECT_EQ(Run({"users", "update", "alice", "--no-admin"}), kExitOk);
  EXPECT_EQ(*Last().body, R"({"is_admin":false})");
  EXPECT_EQ(Run({"users", "update", "alice"}), kExitUsage);
  EXPECT_EQ(Run({"users", "update", "alice", "--admin", "--no-admin"}), kExitUsage);
  EXPECT_EQ(Run({"users", "disable", "alice"}), kExitOk);
  EXPECT_EQ(*Last().body, R"({"disabled":true})");
  EXPECT_EQ(Run({"users", "enable", "a/b"}), kExitOk);
  EXPECT_EQ(Last().target, "/api/v1/users/a%2Fb");
  EXPECT_EQ(*Last().body, R"({"disabled":false})");
}

TEST_F(IdentityCliTest, RolesAndPermissionsNameExactlyOneGrantee) {
  EXPECT_EQ(Run({"roles", "grant", "auditor", "--group", "ml"}), kExitOk);
  EXPECT_EQ(Last().method, "PUT");
  EXPECT_EQ(Last().target, "/api/v1/roles/auditor/groups/ml");
  EXPECT_EQ(Run({"roles", "revoke", "auditor", "--user", "bob"}), kExitOk);
  EXPECT_EQ(Last().method, "DELETE");
  EXPECT_EQ(Last().target, "/api/v1/roles/auditor/users/bob");
  const size_t sent = transport_.requests.size();
  EXPECT_EQ(Run({"roles", "grant", "auditor"}), kExitUsage);
  EXPECT_EQ(Run({"roles", "grant", "auditor", "--user", "a", "--group", "b"}), kExitUsage);
  EXPECT_EQ(Run({"permissions", "grant", "m", "--user", "bob"}), kExitUsage);
  EXPECT_EQ(Run({"permissions", "revoke", "m", "--user", "bob", "EDIT"}), kExitUsage);
  EXPECT_EQ(transport_.requests.size(), sent);

  EXPECT_EQ(Run({"permissions", "grant", "team/m", "--group", "ml", "edit"}), kExitOk);
  EXPECT_EQ(Last().method, "PUT");
  EXPECT_EQ(Last().target, "/api/v1/models/team%2Fm/permissions/groups/ml");
  EXPECT_EQ(*Last().body, R"({"permission":"edit"})");
  EXPECT_EQ(Run({"permissions", "revoke", "m", "--user", "bob"}), kExitOk);
  EXPECT_EQ(Last().target, "/api/v1/models/m/permissions/users/bob");
}

TEST_F(IdentityCliTest, ListsPrintTheWholeAnswerAsATable) {
  transport_.Answer(200, R"({"permissions":[{"model":"m","grantee_kind":"group","grantee":"ml",)"
                         R"("permission":"EDIT"}]})");
  EXPECT_EQ(Run({"permissions", "list", "m"}), kExitOk);
  EXPECT_EQ(Last().target, "/api/v1/models/m/permissions");
  EXPECT_EQ(out_.str(),
            "MODEL  KIND   GRANTEE  PERMISSION\n"
            "m      group  ml       EDIT\n");
  transport_.Answer(200, R"({"tokens":[]})");
  EXPECT_EQ(Run({"tokens", "list", "--all", "-o", "csv"}), kExitOk);
  EXPECT_EQ(Last().target, "/api/v1/tokens?owner=%2A");
  EXPECT_EQ(out_.str(),
            "id,name,owner,scope,creation_timestamp,expiration_timestamp,last_used_timestamp,"
            "revocation_timestamp\r\n");
  EXPECT_EQ(Run({"tokens", "list", "--all", "--owner", "bob"}), kExitUsage);
}

TEST_F(IdentityCliTest, TokensCreateAndRevoke) {
  EXPECT_EQ(Run({"tokens", "create", "ci", "--scope", "read", "--expires-in", "30d"}), kExitOk);
  EXPECT_EQ(*Last().body, R"({"name":"ci","scope":"read","expires_in":"30d"})");
  EXPECT_EQ(Run({"tokens", "create", "ci", "--expires-in", "1d", "--expires-at", "2030-01-01"}),
            kExitUsage);
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"tokens", "revoke", "12"}), kExitOk);
  EXPECT_EQ(Last().target, "/api/v1/tokens/12");
  EXPECT_EQ(Run({"tokens", "revoke", "twelve"}), kExitUsage);
}

// The credential order (docs/cli.md): --token, --username, VOUCH_TOKEN, VOUCH_USERNAME, the saved
// login; whoami and --verbose say which one was used.
TEST_F(IdentityCliTest, ExplicitCredentialsBeatTheEnvironmentWhichBeatsTheSavedLogin) {
  ASSERT_EQ(LoginAsAlice(), kExitOk);
  ::setenv("VOUCH_TOKEN", "from-env", 1);
  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "from-env");
  EXPECT_EQ(Run({"--token", "given", "whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "given");
  ::setenv("VOUCH_PASSWORD", "bobs-password", 1);
  EXPECT_EQ(Run({"--username", "bob", "whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.username, "bob");
  EXPECT_TRUE(transport_.options_seen.token.empty());
  // An empty variable counts as unset: the saved login is used.
  ::setenv("VOUCH_TOKEN", "", 1);
  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.token, "vch_saved-token");
}

TEST_F(IdentityCliTest, WhoamiSaysWhereTheCredentialCameFrom) {
  const auto credential_of = [this](std::vector<const char*> args) {
    transport_.Answer(200, R"({"name":"x"})");
    args.insert(args.end(), {"whoami", "-o", "json"});
    EXPECT_EQ(Run(args), kExitOk) << err_.str();
    Result<json::object> o = ParseJsonObject(out_.str());
    EXPECT_TRUE(o.ok()) << out_.str();
    return o.ok() ? std::string(o->at("credential").as_string()) : std::string();
  };
  ASSERT_EQ(LoginAsAlice(), kExitOk);
  EXPECT_EQ(credential_of({}), "saved by `vouch login` in " + File().string());
  EXPECT_EQ(credential_of({"--token", "t"}), "--token");
  ::setenv("VOUCH_PASSWORD", "pw", 1);
  EXPECT_EQ(credential_of({"--username", "bob"}), "--username bob (password)");
  ::setenv("VOUCH_USERNAME", "carol", 1);
  EXPECT_EQ(credential_of({}), "VOUCH_USERNAME=carol (environment, password)");
  ::setenv("VOUCH_TOKEN", "env-token", 1);
  EXPECT_EQ(credential_of({}), "VOUCH_TOKEN (environment)");
  // The table shows it as one more line.
  transport_.Answer(200, R"({"name":"x"})");
  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(out_.str(), "name        x\ncredential  VOUCH_TOKEN (environment)\n");
}

TEST_F(IdentityCliTest, VerbosePrintsOneLineNamingTheCredentialOnStderr) {
  ::setenv("VOUCH_TOKEN", "env-token", 1);
  transport_.Answer(200, R"({"models":[]})");
  EXPECT_EQ(Run({"--verbose", "models", "list"}), kExitOk);
  EXPECT_EQ(err_.str(), "vouch: credential: VOUCH_TOKEN (environment)\n");
  transport_.Answer(200, R"({"models":[]})");
  EXPECT_EQ(Run({"models", "list"}), kExitOk);
  EXPECT_EQ(err_.str(), "");
  // login and logout say which credential they use too.
  ::unsetenv("VOUCH_TOKEN");
  prompter_.lines = {"alice's password"};
  transport_.Answer(201, kIssued);
  EXPECT_EQ(Run({"--username", "alice", "login", "-v"}), kExitOk);
  EXPECT_EQ(err_.str(), "vouch: credential: alice's password, to log in\n");
  transport_.Answer(204, "");
  EXPECT_EQ(Run({"logout", "--verbose"}), kExitOk);
  EXPECT_EQ(err_.str(),
            "vouch: credential: saved by `vouch login` in " + File().string() + ", to log out\n");
}

TEST_F(IdentityCliTest, LoginWarnsNamingVouchTokenWhenItIsSetAndNotEmpty) {
  ::setenv("VOUCH_TOKEN", "admin-token", 1);
  ASSERT_EQ(LoginAsAlice(), kExitOk) << err_.str();
  EXPECT_NE(err_.str().find("warning: VOUCH_TOKEN is set"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("unset VOUCH_TOKEN"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("not alice"), std::string::npos) << err_.str();
  // The login is saved all the same.
  EXPECT_EQ(LoadLogin(File(), "http://127.0.0.1:5000").value()->token, "vch_saved-token");

  ::setenv("VOUCH_TOKEN", "", 1);
  ASSERT_EQ(LoginAsAlice(), kExitOk) << err_.str();
  EXPECT_EQ(err_.str(), "") << "an empty VOUCH_TOKEN counts as unset";
  ::unsetenv("VOUCH_TOKEN");
  ASSERT_EQ(LoginAsAlice(), kExitOk) << err_.str();
  EXPECT_EQ(err_.str(), "");
}

TEST_F(IdentityCliTest, LoginTakesItsUsernameFromVouchUsernameAndWarnsItWillWin) {
  ::setenv("VOUCH_USERNAME", "alice", 1);
  prompter_.lines = {"alice's password"};
  transport_.Answer(201, kIssued);
  ASSERT_EQ(Run({"login"}), kExitOk) << err_.str();
  EXPECT_EQ(transport_.options_seen.username, "alice");
  EXPECT_NE(err_.str().find("unset VOUCH_USERNAME"), std::string::npos) << err_.str();
}

TEST_F(IdentityCliTest, WithoutACredentialARefusalSuggestsLoggingIn) {
  transport_.Answer(401, R"({"error":{"code":"UNAUTHENTICATED","message":"no credentials"}})");
  EXPECT_EQ(Run({"whoami"}), kExitRefused);
  EXPECT_EQ(err_.str(),
            "vouch: not logged in to http://127.0.0.1:5000: run `vouch login`, or give --token or "
            "VOUCH_TOKEN (see vouch login --help)\n");
  EXPECT_EQ(out_.str(), "");
  // A saved token the server no longer takes: log in again.
  ASSERT_EQ(LoginAsAlice(), kExitOk);
  transport_.Answer(401, R"({"error":{"code":"UNAUTHENTICATED","message":"token revoked"}})");
  EXPECT_EQ(Run({"models", "list"}), kExitRefused);
  EXPECT_NE(err_.str().find("UNAUTHENTICATED: token revoked (the token saved by `vouch login` was "
                            "refused: run `vouch login` again)"),
            std::string::npos)
      << err_.str();
}

TEST_F(IdentityCliTest, MembershipAndRoleWritesPrintWhatTheyDid) {
  struct Case {
    std::vector<const char*> args;
    std::string table;
    std::string json;
  };
  const std::vector<Case> cases = {
      {{"groups", "add-member", "ml", "alice"},
       "Added alice to group ml.\n",
       R"({"group":"ml","member":"alice","added":true})"},
      {{"groups", "remove-member", "ml", "alice"},
       "Removed alice from group ml.\n",
       R"({"group":"ml","member":"alice","removed":true})"},
      {{"roles", "grant", "auditor", "--user", "alice"},
       "Granted role auditor to user alice.\n",
       R"({"role":"auditor","grantee_kind":"user","grantee":"alice","granted":true})"},
      {{"roles", "revoke", "auditor", "--group", "ml"},
       "Revoked role auditor from group ml.\n",
       R"({"role":"auditor","grantee_kind":"group","grantee":"ml","revoked":true})"},
      {{"permissions", "revoke", "m", "--group", "ml"},
       "Revoked the permission of group ml on model m.\n",
       R"({"model":"m","grantee_kind":"group","grantee":"ml","revoked":true})"},
      {{"groups", "delete", "ml"}, "Deleted group ml.\n", R"({"group":"ml","deleted":true})"},
      {{"users", "delete", "bob"}, "Deleted bob.\n", R"({"user":"bob","deleted":true})"},
      {{"tokens", "revoke", "12"}, "Revoked token 12.\n", R"({"token_id":12,"revoked":true})"},
  };
  for (const Case& c : cases) {
    transport_.Answer(204, "");
    EXPECT_EQ(Run(c.args), kExitOk) << c.args[0] << " " << c.args[1];
    EXPECT_EQ(out_.str(), c.table);
    std::vector<const char*> json_args = c.args;
    json_args.insert(json_args.end(), {"-o", "json"});
    transport_.Answer(204, "");
    EXPECT_EQ(Run(json_args), kExitOk);
    EXPECT_EQ(out_.str(), c.json + "\n");
  }
}

}  // namespace
}  // namespace vouch::cli
