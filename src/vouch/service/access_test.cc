// Identity and access through the services, on a real SQLite store: who may do what (authorizer),
// the identity administration rules and their audit events, and authentication by password and
// token with its caches and throttling.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "vouch/service/auth_service.h"
#include "vouch/service/identity_service.h"
#include "vouch/service/registry.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kAdminToken[] = "vch_access-test-admin-token";

class AccessTest : public ::testing::Test {
 protected:
  explicit AccessTest(Permission default_permission = Permission::kRead)
      : authz_(default_permission),
        registry_(db_.store(), PageTokens("access-test-key"), authz_),
        identity_(db_.store(), auth_, authz_) {
    EXPECT_TRUE(auth_.Bootstrap(kAdminToken).ok());
    auto admin = auth_.AuthenticateBearer(kAdminToken);
    EXPECT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = Ctx(admin->principal);
  }

  RequestContext Ctx(const Principal& p, bool read_only = false) const {
    RequestContext ctx;
    ctx.principal = p;
    ctx.auth = AuthMethod::kToken;
    ctx.address = "10.0.0.9";
    ctx.request_id = "req";
    ctx.clock = &clock_;
    ctx.read_only = read_only;
    return ctx;
  }

  // A user made by the admin, signed in with a fresh token of `scope`.
  RequestContext User(const std::string& name, std::string_view scope = "full") {
    auto made = identity_.CreateUser(admin_, {.name = name, .password = "pw-" + name + "-long"});
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return SignIn(name, scope);
  }

  RequestContext SignIn(const std::string& name, std::string_view scope = "full") {
    auto token = identity_.CreateToken(
        admin_, {.owner = name, .name = "t-" + name, .scope = std::string(scope)});
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    auto who = auth_.AuthenticateBearer(token->token);
    EXPECT_TRUE(who.ok()) << who.status().ToString();
    return Ctx(who->principal, who->read_only);
  }

  int64_t Head() {
    int64_t head = -1;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
                      return OkStatus();
                    })
                    .ok());
    return head;
  }

  std::vector<std::string> BodiesAfter(int64_t seq) {
    std::vector<store::StoredAuditEvent> stored;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(stored,
                                             tx.ListAuditEvents({.after_seq = seq, .limit = 1000}));
                      return OkStatus();
                    })
                    .ok());
    std::vector<std::string> out;
    for (auto& e : stored) out.push_back(std::move(e.body));
    return out;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  AuthService auth_{db_.store(), clock_, AuthOptions{.max_failures = 3}};
  Authorizer authz_;
  RegistryService registry_;
  IdentityService identity_;
  RequestContext admin_;
};

// Standard base64 with padding, as HTTP Basic sends it.
std::string Base64(std::string_view text) {
  std::string out = Base64UrlEncode(text);
  for (char& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

template <typename T>
StatusCode CodeOf(const Result<T>& r) {
  return r.status().code();
}
StatusCode CodeOf(const Status& s) { return s.code(); }

// ---- Model permissions ---------------------------------------------------------------------

TEST_F(AccessTest, TheCreatorManagesItsModelAndOthersReadByDefault) {
  RequestContext alice = User("alice"), bob = User("bob");
  ASSERT_TRUE(registry_.CreateModel(alice, {.name = "fraud"}).ok());
  ASSERT_TRUE(registry_.CreateVersion(alice, {.model = "fraud", .source = "s3://b/1"}).ok());
  EXPECT_TRUE(registry_.GetModel(bob, "fraud").ok());
  const int64_t head = Head();
  EXPECT_EQ(CodeOf(registry_.SetStage(bob, {.model = "fraud", .version = 1, .stage = "Staging"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(registry_.DeleteModel(bob, "fraud")), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(registry_.CreateVersion(bob, {.model = "fraud", .source = "s3://b/2"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Head(), head) << "a refused change wrote an event";
  EXPECT_EQ(registry_.GetVersion(bob, "fraud", 1)->stage, Stage::kNone);
  EXPECT_TRUE(registry_.SetStage(alice, {.model = "fraud", .version = 1, .stage = "Staging"}).ok());
  auto perms = identity_.ListModelPermissions(alice, "fraud");
  ASSERT_TRUE(perms.ok());
  ASSERT_EQ(perms->size(), 1u);
  EXPECT_EQ((*perms)[0].grantee, "alice");
  EXPECT_EQ((*perms)[0].permission, Permission::kManage);
}

TEST_F(AccessTest, EachLevelAllowsItsOwnOperationsAndNothingAbove) {
  RequestContext owner = User("owner");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "m"}).ok());
  ASSERT_TRUE(registry_.CreateVersion(owner, {.model = "m", .source = "s3://b/1"}).ok());
  struct Case {
    std::string user;
    Permission level;
  };
  for (const Case& c : {Case{"reader", Permission::kRead}, Case{"user", Permission::kUse},
                        Case{"editor", Permission::kEdit}, Case{"manager", Permission::kManage},
                        Case{"nobody", Permission::kNone}}) {
    RequestContext ctx = User(c.user);
    ASSERT_TRUE(identity_.SetModelPermission(owner, "m", {.user = c.user}, c.level).ok());
    const bool read = Allows(c.level, Permission::kRead);
    const bool edit = Allows(c.level, Permission::kEdit);
    const bool manage = Allows(c.level, Permission::kManage);
    EXPECT_EQ(registry_.GetModel(ctx, "m").ok(), read) << c.user;
    EXPECT_EQ(registry_.SetModelTag(ctx, "m", "k", c.user).ok(), edit) << c.user;
    EXPECT_EQ(registry_.SetAlias(ctx, "m", "a-" + c.user, 1, "").ok(), edit) << c.user;
    EXPECT_EQ(registry_.DeleteModelTag(ctx, "m", "absent").ok(), edit) << c.user;
    EXPECT_EQ(identity_.SetModelPermission(ctx, "m", {.user = "reader"}, Permission::kRead).ok(),
              manage)
        << c.user;
    auto refused = registry_.DeleteAlias(ctx, "m", "never-set", "");
    EXPECT_EQ(refused.ok(), manage) << c.user;
    if (!manage) {
      EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << c.user;
    }
  }
}

TEST_F(AccessTest, AnEditorCannotGrantManageOrAnythingElse) {
  RequestContext owner = User("owner"), editor = User("editor");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "m"}).ok());
  ASSERT_TRUE(identity_.SetModelPermission(owner, "m", {.user = "editor"}, Permission::kEdit).ok());
  const int64_t head = Head();
  EXPECT_EQ(
      CodeOf(identity_.SetModelPermission(editor, "m", {.user = "editor"}, Permission::kManage)),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.DeleteModelPermission(editor, "m", {.user = "owner"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(identity_.EffectivePermission(editor, "m").value(), Permission::kEdit);
}

TEST_F(AccessTest, AnOwnGrantOverridesItsGroupsAndTheBestGroupGrantWins) {
  RequestContext owner = User("owner"), carol = User("carol");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "m"}).ok());
  ASSERT_TRUE(identity_.CreateGroup(admin_, "readers", "").ok());
  ASSERT_TRUE(identity_.CreateGroup(admin_, "editors", "").ok());
  ASSERT_TRUE(identity_.AddMember(admin_, "readers", "carol").ok());
  ASSERT_TRUE(identity_.AddMember(admin_, "editors", "carol").ok());
  ASSERT_TRUE(
      identity_.SetModelPermission(owner, "m", {.group = "readers"}, Permission::kRead).ok());
  ASSERT_TRUE(
      identity_.SetModelPermission(owner, "m", {.group = "editors"}, Permission::kEdit).ok());
  carol = SignIn("carol");
  EXPECT_EQ(identity_.EffectivePermission(carol, "m").value(), Permission::kEdit);
  EXPECT_TRUE(registry_.SetModelTag(carol, "m", "k", "v").ok());
  ASSERT_TRUE(identity_.SetModelPermission(owner, "m", {.user = "carol"}, Permission::kNone).ok());
  EXPECT_EQ(identity_.EffectivePermission(carol, "m").value(), Permission::kNone);
  EXPECT_EQ(CodeOf(registry_.GetModel(carol, "m")), StatusCode::kPermissionDenied);
  // The group's grant goes with the group.
  ASSERT_TRUE(identity_.DeleteModelPermission(owner, "m", {.user = "carol"}).ok());
  ASSERT_TRUE(identity_.DeleteGroup(admin_, "editors").ok());
  EXPECT_EQ(identity_.EffectivePermission(carol, "m").value(), Permission::kRead);
}

TEST_F(AccessTest, ReadScopedTokensChangeNothingEvenForAdmins) {
  RequestContext owner = User("owner");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "m"}).ok());
  RequestContext ro = SignIn("admin", "read");
  ASSERT_TRUE(ro.read_only);
  ASSERT_TRUE(ro.principal->is_admin);
  const int64_t head = Head();
  EXPECT_TRUE(registry_.GetModel(ro, "m").ok());
  EXPECT_EQ(CodeOf(registry_.SetModelTag(ro, "m", "k", "v")), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(registry_.CreateModel(ro, {.name = "other"})), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.CreateUser(ro, {.name = "eve"})), StatusCode::kPermissionDenied);
  EXPECT_EQ(Head(), head);
}

TEST_F(AccessTest, AuditorsReadEverythingAndTheWholeLogButChangeNothing) {
  RequestContext owner = User("owner"), audrey = User("audrey");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "secret"}).ok());
  ASSERT_TRUE(
      identity_.SetModelPermission(admin_, "secret", {.user = "audrey"}, Permission::kNone).ok());
  EXPECT_EQ(CodeOf(registry_.ListAudit(audrey, {})), StatusCode::kPermissionDenied);
  ASSERT_TRUE(identity_.GrantRole(admin_, "auditor", {.user = "audrey"}).ok());
  audrey = SignIn("audrey");
  ASSERT_TRUE(audrey.principal->HasRole("auditor"));
  EXPECT_TRUE(registry_.GetModel(audrey, "secret").ok());
  EXPECT_TRUE(registry_.ListAudit(audrey, {}).ok());
  EXPECT_EQ(CodeOf(registry_.SetModelTag(audrey, "secret", "k", "v")),
            StatusCode::kPermissionDenied);
}

TEST_F(AccessTest, OthersReadAModelsHistoryOnlyWhenTheyMayReadTheModel) {
  RequestContext owner = User("owner"), bob = User("bob");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "open"}).ok());
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "closed"}).ok());
  ASSERT_TRUE(
      identity_.SetModelPermission(owner, "closed", {.user = "bob"}, Permission::kNone).ok());
  auto open = registry_.ListAudit(bob, {.model = "open"});
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_FALSE(open->items.empty());
  EXPECT_EQ(CodeOf(registry_.ListAudit(bob, {.model = "closed"})), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(registry_.ListAudit(bob, {})), StatusCode::kPermissionDenied);
}

class HiddenByDefaultTest : public AccessTest {
 protected:
  HiddenByDefaultTest() : AccessTest(Permission::kNone) {}
};

TEST_F(HiddenByDefaultTest, ListsAndSearchesShowOnlyReadableModelsWithFullPages) {
  RequestContext owner = User("owner"), dana = User("dana");
  for (int i = 0; i < 30; ++i) {
    std::string name = fmt::format("m{:02}", i);
    ASSERT_TRUE(registry_.CreateModel(owner, {.name = name}).ok());
    ASSERT_TRUE(registry_.CreateVersion(owner, {.model = name, .source = "s3://b/1"}).ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(
          identity_.SetModelPermission(owner, name, {.user = "dana"}, Permission::kRead).ok());
    }
  }
  std::vector<std::string> listed;
  std::string token;
  do {
    auto page = registry_.ListModels(dana, {.page_token = token, .limit = 3});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    if (!page->next_page_token.empty()) {
      EXPECT_EQ(page->items.size(), 3u);
    }
    for (const auto& m : page->items) listed.push_back(m.name);
    token = page->next_page_token;
  } while (!token.empty());
  std::vector<std::string> expected;
  for (int i = 0; i < 30; i += 3) expected.push_back(fmt::format("m{:02}", i));
  EXPECT_EQ(listed, expected);

  std::vector<std::string> searched;
  token.clear();
  do {
    auto page = registry_.SearchModels(dana, {.max_results = 4, .page_token = token});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& m : page->items) searched.push_back(m.name);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(searched, expected);
  auto versions = registry_.SearchVersions(dana, {.max_results = 100});
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->items.size(), expected.size());
  EXPECT_EQ(CodeOf(registry_.GetModel(dana, "m01")), StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_.ListModels(owner, {.limit = 100})->items.size(), 30u);
}

// ---- Identity administration ----------------------------------------------------------------

TEST_F(AccessTest, OnlyAdminsCreateUsersOrMakeAdmins) {
  RequestContext bob = User("bob");
  const int64_t head = Head();
  EXPECT_EQ(CodeOf(identity_.CreateUser(bob, {.name = "eve"})), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.UpdateUser(bob, "bob", {.is_admin = true})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.GrantRole(bob, "auditor", {.user = "bob"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.CreateGroup(bob, "g", "")), StatusCode::kPermissionDenied);
  EXPECT_EQ(Head(), head);
  // A user may change its own details.
  auto self = identity_.UpdateUser(bob, "bob", {.display_name = "Bob B."});
  ASSERT_TRUE(self.ok()) << self.status().ToString();
  EXPECT_EQ(self->display_name, "Bob B.");
  EXPECT_EQ(CodeOf(identity_.UpdateUser(bob, "admin", {.display_name = "x"})),
            StatusCode::kPermissionDenied);
}

TEST_F(AccessTest, TheLastAdminCannotBeDemotedDisabledOrDeleted) {
  const int64_t head = Head();
  EXPECT_EQ(CodeOf(identity_.UpdateUser(admin_, "admin", {.is_admin = false})),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(identity_.UpdateUser(admin_, "admin", {.disabled = true})),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(identity_.DeleteUser(admin_, "admin")), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Head(), head);
  ASSERT_TRUE(identity_.CreateUser(admin_, {.name = "root2", .is_admin = true}).ok());
  EXPECT_TRUE(identity_.UpdateUser(admin_, "admin", {.is_admin = false}).ok());
  // root2 is now the last enabled admin.
  EXPECT_EQ(CodeOf(identity_.DeleteUser(admin_, "root2")), StatusCode::kFailedPrecondition);
}

TEST_F(AccessTest, BadNamesAreRefusedAndChangeNothing) {
  const int64_t head = Head();
  for (std::string bad : {std::string(""), std::string(200, 'a'), std::string("caf\xc3\xa9"),
                          std::string("tab\there"), std::string("new\nline"), std::string("a b"),
                          std::string("-dash"), std::string("x/y")}) {
    EXPECT_EQ(CodeOf(identity_.CreateUser(admin_, {.name = bad})), StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(CodeOf(identity_.CreateGroup(admin_, bad, "")), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(CodeOf(identity_.GrantRole(admin_, "Not A Role", {.user = "admin"})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(identity_.CreateUser(admin_, {.name = "ok", .email = "no-at-sign"})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(identity_.CreateUser(admin_, {.name = "ok", .password = "short"})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Head(), head);
  ASSERT_TRUE(identity_.CreateUser(admin_, {.name = "dup"}).ok());
  EXPECT_EQ(CodeOf(identity_.CreateUser(admin_, {.name = "dup"})), StatusCode::kAlreadyExists);
}

TEST_F(AccessTest, PasswordsAreSetByAdminsOrByTheirOwnerWithTheCurrentOne) {
  RequestContext bob = User("bob");  // password "pw-bob-long"
  EXPECT_EQ(CodeOf(identity_.SetPassword(bob, "bob", "new-password-1", std::nullopt)),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.SetPassword(bob, "bob", "new-password-1", "wrong-current")),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(identity_.SetPassword(bob, "bob", "new-password-1", "pw-bob-long").ok());
  EXPECT_TRUE(auth_.AuthenticatePassword("bob", "new-password-1", "10.0.0.1").ok());
  EXPECT_EQ(CodeOf(auth_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.1")),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeOf(identity_.SetPassword(bob, "admin", "take-over-admin", std::nullopt)),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(identity_.SetPassword(admin_, "bob", "reset-by-admin", std::nullopt).ok());
  EXPECT_TRUE(auth_.AuthenticatePassword("bob", "reset-by-admin", "10.0.0.1").ok());
}

TEST_F(AccessTest, IdentityChangesAreAuditedWithoutSecrets) {
  const int64_t head = Head();
  ASSERT_TRUE(
      identity_.CreateUser(admin_, {.name = "erin", .password = "erins-password-123"}).ok());
  auto token = identity_.CreateToken(admin_, {.owner = "erin", .name = "ci"});
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(identity_.SetPassword(admin_, "erin", "erins-second-pw", std::nullopt).ok());
  ASSERT_TRUE(identity_.CreateGroup(admin_, "risk", "risk team").ok());
  ASSERT_TRUE(identity_.AddMember(admin_, "risk", "erin").ok());
  ASSERT_TRUE(identity_.GrantRole(admin_, "ml-engineer", {.group = "risk"}).ok());
  ASSERT_TRUE(identity_.RevokeToken(admin_, token->record.id).ok());
  ASSERT_TRUE(identity_.UpdateUser(admin_, "erin", {.disabled = true}).ok());
  ASSERT_TRUE(identity_.DeleteUser(admin_, "erin").ok());
  std::vector<std::string> actions;
  for (const auto& body : BodiesAfter(head)) {
    EXPECT_EQ(body.find("erins-password-123"), std::string::npos);
    EXPECT_EQ(body.find("erins-second-pw"), std::string::npos);
    EXPECT_EQ(body.find(token->token), std::string::npos);
    EXPECT_EQ(body.find(token->record.token_hash), std::string::npos);
    EXPECT_EQ(body.find("$argon2id$"), std::string::npos);
    actions.push_back(std::string(ParseJsonObject(body)->at("action").as_string()));
  }
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "principal.created", "token.created", "principal.password_set",
                         "group.created", "group.member_added", "role.granted", "token.revoked",
                         "principal.disabled", "principal.deleted"}));
}

TEST_F(AccessTest, ADeletedPrincipalsIdIsNeverReused) {
  auto first = identity_.CreateUser(admin_, {.name = "temp"});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(identity_.DeleteUser(admin_, "temp").ok());
  auto second = identity_.CreateUser(admin_, {.name = "temp"});
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->id, first->id);
}

// ---- Authentication ------------------------------------------------------------------------

TEST_F(AccessTest, TokensOfDisabledOrDeletedOwnersStopWorkingAtOnce) {
  RequestContext bob = User("bob");
  auto token = identity_.CreateToken(bob, {.name = "laptop"});
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(auth_.AuthenticateBearer(token->token).ok());  // now cached
  ASSERT_TRUE(identity_.UpdateUser(admin_, "bob", {.disabled = true}).ok());
  EXPECT_EQ(CodeOf(auth_.AuthenticateBearer(token->token)), StatusCode::kUnauthenticated);
  ASSERT_TRUE(identity_.UpdateUser(admin_, "bob", {.disabled = false}).ok());
  ASSERT_TRUE(auth_.AuthenticateBearer(token->token).ok());
  ASSERT_TRUE(identity_.RevokeToken(bob, token->record.id).ok());
  EXPECT_EQ(CodeOf(auth_.AuthenticateBearer(token->token)), StatusCode::kUnauthenticated);
}

TEST_F(AccessTest, ATokenLivesAtMostTenYears) {
  RequestContext bob = User("bob");
  const TimeMs now = clock_.NowMs();
  EXPECT_TRUE(
      identity_.CreateToken(bob, {.name = "longest", .expires_ms = now + kMaxTokenLifetimeMs})
          .ok());
  EXPECT_EQ(CodeOf(identity_.CreateToken(
                bob, {.name = "too-long", .expires_ms = now + kMaxTokenLifetimeMs + 1})),
            StatusCode::kInvalidArgument);
  // What "99999999999d" parses to: far beyond 2^53 ms.
  EXPECT_EQ(CodeOf(identity_.CreateToken(
                bob, {.name = "absurd", .expires_ms = now + int64_t{99'999'999'999} * 86'400'000})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(identity_.CreateToken(bob, {.name = "past", .expires_ms = now})),
            StatusCode::kInvalidArgument);
}

TEST_F(AccessTest, OnlyTheOwnerOrAnAdminSeesAndRevokesAToken) {
  RequestContext bob = User("bob"), carol = User("carol");
  auto token = identity_.CreateToken(bob, {.name = "bobs", .scope = "read"});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->record.scope, "read");
  EXPECT_EQ(CodeOf(identity_.RevokeToken(carol, token->record.id)), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(identity_.ListTokens(carol, "bob")), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(identity_.CreateToken(carol, {.owner = "bob", .name = "x"})),
            StatusCode::kPermissionDenied);
  auto bobs = identity_.ListTokens(bob, "");
  ASSERT_TRUE(bobs.ok());
  EXPECT_EQ(bobs->size(), 2u);  // the test's sign-in token and "bobs"
  EXPECT_TRUE(identity_.RevokeToken(admin_, token->record.id).ok());
  EXPECT_EQ(CodeOf(identity_.CreateToken(bob, {.name = "x", .scope = "admin"})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(identity_.CreateToken(bob, {.name = "x", .expires_ms = kT0 - 1})),
            StatusCode::kInvalidArgument);
}

TEST_F(AccessTest, PasswordsAreCheckedWithOneMessageAndFailuresAreThrottled) {
  User("bob");
  auto ok = auth_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.1");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->principal.name, "bob");
  EXPECT_EQ(ok->method, AuthMethod::kPassword);
  auto wrong = auth_.AuthenticatePassword("bob", "not-it", "10.0.0.1");
  auto unknown = auth_.AuthenticatePassword("nobody", "not-it", "10.0.0.1");
  EXPECT_EQ(CodeOf(wrong), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
  // max_failures = 3: the third failure for bob closes the window for bob, from any address, even
  // for the right password (and a cached one).
  (void)auth_.AuthenticatePassword("bob", "not-it-2", "10.0.0.2");
  EXPECT_TRUE(auth_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.3").ok());
  (void)auth_.AuthenticatePassword("bob", "not-it-3", "10.0.0.2");
  auto throttled = auth_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.3");
  EXPECT_EQ(CodeOf(throttled), StatusCode::kResourceExhausted) << throttled.status().ToString();
  // The address 10.0.0.1 failed twice; once more and it is throttled for every username.
  (void)auth_.AuthenticatePassword("carol", "x-wrong-pw", "10.0.0.1");
  EXPECT_EQ(CodeOf(auth_.AuthenticatePassword("admin", "whatever-pw", "10.0.0.1")),
            StatusCode::kResourceExhausted);
  clock_.Advance(61'000);
  EXPECT_TRUE(auth_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.3").ok());
}

TEST_F(AccessTest, AVerifiedPasswordIsCachedUntilTheTtlOrAChange) {
  User("bob");
  ASSERT_TRUE(auth_.AuthenticatePassword("bob", "pw-bob-long", "a").ok());
  // Change the stored hash behind the service's back: the cache still answers within the TTL.
  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipal("bob"));
                    if (!p) return NotFound("bob");
                    const int64_t id = p->id;
                    return tx.SetPasswordHash(id, "");
                  })
                  .ok());
  EXPECT_TRUE(auth_.AuthenticatePassword("bob", "pw-bob-long", "a").ok());
  EXPECT_EQ(CodeOf(auth_.AuthenticatePassword("bob", "pw-bob-long-but-not", "a")),
            StatusCode::kUnauthenticated);
  clock_.Advance(10'001);
  EXPECT_EQ(CodeOf(auth_.AuthenticatePassword("bob", "pw-bob-long", "a")),
            StatusCode::kUnauthenticated);
}

TEST_F(AccessTest, TheAuthorizationHeaderNamesWhoWasAttemptedNeverTheSecret) {
  User("bob");
  std::string attempted;
  auto basic = auth_.AuthenticateHeader("Basic " + Base64("bob:pw-bob-long"), "a", attempted);
  ASSERT_TRUE(basic.ok()) << basic.status().ToString();
  EXPECT_EQ(attempted, "bob");
  auto wrong = auth_.AuthenticateHeader("basic " + Base64("bob:nope-nope"), "a", attempted);
  EXPECT_EQ(CodeOf(wrong), StatusCode::kUnauthenticated);
  EXPECT_EQ(attempted, "bob");
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Basic !!!", "a", attempted)),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Basic " + Base64("no-colon"), "a", attempted)),
            StatusCode::kUnauthenticated);
  auto token = identity_.CreateToken(admin_, {.owner = "bob", .name = "gone"});
  ASSERT_TRUE(identity_.RevokeToken(admin_, token->record.id).ok());
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Bearer " + token->token, "a", attempted)),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(attempted, "bob");
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Bearer vch_unknown", "a", attempted)),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(attempted, "(unknown token)");
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Digest x", "a", attempted)),
            StatusCode::kUnauthenticated);
}

TEST_F(AccessTest, ATokenRecordsWhenItWasLastUsed) {
  RequestContext bob = User("bob");
  auto token = identity_.CreateToken(bob, {.name = "used"});
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(auth_.AuthenticateBearer(token->token).ok());
  auto listed = identity_.ListTokens(bob, "");
  ASSERT_TRUE(listed.ok());
  bool found = false;
  for (const auto& [t, owner] : *listed) {
    if (t.id == token->record.id) {
      found = true;
      ASSERT_TRUE(t.last_used_ms.has_value());
      EXPECT_EQ(*t.last_used_ms, kT0);
      EXPECT_EQ(owner, "bob");
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace vouch::service
