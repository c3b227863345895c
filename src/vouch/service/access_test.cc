// Identity and access through the services, on a real SQLite store: who may do what (authorizer),
// the identity administration rules and their audit events, and authentication by password and
// token with its caches and throttling.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

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

// Whether any of `bodies` mentions `text`.
bool Mentions(const std::vector<std::string>& bodies, std::string_view text) {
  return std::any_of(bodies.begin(), bodies.end(),
                     [&](const std::string& b) { return b.find(text) != std::string::npos; });
}

TEST_F(AccessTest, AReusedNameShowsOthersOnlyTheNewModelsHistoryButAdminsAllOfIt) {
  RequestContext bob = User("bob"), audrey = User("audrey");
  ASSERT_TRUE(identity_.GrantRole(admin_, "auditor", {.user = "audrey"}).ok());
  audrey = SignIn("audrey");
  for (const bool rename : {false, true}) {
    const std::string name = rename ? "renamed1" : "gone1";
    ASSERT_TRUE(registry_.CreateModel(admin_, {.name = name, .description = "old-secret"}).ok());
    ASSERT_TRUE(registry_.SetModelTag(admin_, name, "old-tag", "v").ok());
    ASSERT_TRUE(registry_.CreateVersion(admin_, {.model = name, .source = "s3://b/old"}).ok());
    ASSERT_TRUE(
        identity_.SetModelPermission(admin_, name, {.user = "bob"}, Permission::kNone).ok());
    EXPECT_EQ(CodeOf(registry_.ListAudit(bob, {.model = name})), StatusCode::kPermissionDenied);
    if (rename) {
      ASSERT_TRUE(registry_.RenameModel(admin_, name, name + "-elsewhere").ok());
    } else {
      ASSERT_TRUE(registry_.DeleteModel(admin_, name).ok());
    }
    EXPECT_EQ(CodeOf(registry_.ListAudit(bob, {.model = name})), StatusCode::kNotFound);
    ASSERT_TRUE(registry_.CreateModel(bob, {.name = name, .description = "bob's"}).ok());

    auto mine = registry_.ListAudit(bob, {.model = name});
    ASSERT_TRUE(mine.ok()) << mine.status().ToString();
    ASSERT_EQ(mine->items.size(), 1u);
    EXPECT_NE(mine->items[0].find("\"model.created\""), std::string::npos) << mine->items[0];
    EXPECT_NE(mine->items[0].find("bob's"), std::string::npos);
    EXPECT_FALSE(Mentions(mine->items, "old-secret"));
    EXPECT_FALSE(Mentions(mine->items, "old-tag"));
    EXPECT_FALSE(Mentions(mine->items, "s3://b/old"));
    auto version = registry_.ListAudit(bob, {.model = name, .version = 1});
    ASSERT_TRUE(version.ok());
    EXPECT_TRUE(version->items.empty());

    // Admins and auditors see every event that ever carried the name.
    for (const RequestContext* reader : {&admin_, &audrey}) {
      auto all = registry_.ListAudit(*reader, {.model = name});
      ASSERT_TRUE(all.ok()) << all.status().ToString();
      EXPECT_TRUE(Mentions(all->items, "old-secret"));
      EXPECT_TRUE(Mentions(all->items, "s3://b/old"));
      EXPECT_TRUE(Mentions(all->items, "bob's"));
    }
  }
}

TEST_F(AccessTest, AModelsHistoryFollowsItAcrossRenamesForOthers) {
  RequestContext bob = User("bob");
  ASSERT_TRUE(registry_.CreateModel(admin_, {.name = "first", .description = "d1"}).ok());
  ASSERT_TRUE(registry_.RenameModel(admin_, "first", "second").ok());
  ASSERT_TRUE(registry_.SetModelTag(admin_, "second", "after-rename", "v").ok());
  auto history = registry_.ListAudit(bob, {.model = "second"});
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->items.size(), 3u);
  EXPECT_TRUE(Mentions(history->items, "\"model.created\""));
  EXPECT_TRUE(Mentions(history->items, "after-rename"));
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

// The native list reads rows in batches of limit + 1 and skips what the caller may not read; when
// the last row of a batch went into the page, the next batch used to start over from the first
// name (its name had been moved away), and the page repeated models.
TEST_F(HiddenByDefaultTest, AListedPageNeverRepeatsAModelWhenABatchEndsOnAReadableOne) {
  RequestContext owner = User("owner"), dana = User("dana");
  std::vector<std::string> hers;
  for (int i = 0; i < 240; ++i) {
    std::string name = fmt::format("m{:03}", i);
    // Creators manage what they make: dana reads the even ones, hers, and no others.
    ASSERT_TRUE(registry_.CreateModel(i % 2 == 0 ? dana : owner, {.name = name}).ok());
    if (i % 2 == 0) hers.push_back(name);
  }
  auto page = registry_.ListModels(dana, {.limit = 100});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  std::vector<std::string> listed;
  for (const auto& m : page->items) listed.push_back(m.name);
  EXPECT_EQ(listed, std::vector<std::string>(hers.begin(), hers.begin() + 100));
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

TEST_F(AccessTest, PasswordsAreCheckedWithOneMessage) {
  User("bob");
  auto ok = auth_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.1");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->principal.name, "bob");
  EXPECT_EQ(ok->method, AuthMethod::kPassword);
  auto wrong = auth_.AuthenticatePassword("bob", "not-it", "10.0.0.1");
  auto unknown = auth_.AuthenticatePassword("nobody", "not-it", "10.0.0.1");
  EXPECT_EQ(CodeOf(wrong), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
}

// Throttling with max_failures = 2: a username from one address backs off after 2 failures, a
// username from anywhere or an address for anyone after 20; 1 s, then doubling.
class ThrottleTest : public AccessTest {
 protected:
  Status SignIn(const std::string& user, const std::string& password, const std::string& from) {
    return throttled_.AuthenticatePassword(user, password, from).status();
  }
  AuthService throttled_{db_.store(), clock_, AuthOptions{.max_failures = 2}};
};

TEST_F(ThrottleTest, FailuresFromOneAddressDelayOnlyThatAddressForThatUser) {
  User("bob");
  EXPECT_EQ(SignIn("bob", "guess-1", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(SignIn("bob", "guess-2", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  // Backing off: refused unchecked, even the right password, from that address only.
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.66").code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.1").ok());
  EXPECT_EQ(SignIn("admin", "no-such-password", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  // The first wait is one second; each further failure doubles it.
  clock_.Advance(999);
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.66").code(), StatusCode::kResourceExhausted);
  clock_.Advance(1);
  EXPECT_EQ(SignIn("bob", "guess-3", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  clock_.Advance(1'999);
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.66").code(), StatusCode::kResourceExhausted);
  clock_.Advance(1);
  EXPECT_EQ(SignIn("bob", "guess-4", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  auto waiting = throttled_.AuthenticatePassword("bob", "pw-bob-long", "10.0.0.66");
  EXPECT_EQ(CodeOf(waiting), StatusCode::kResourceExhausted);
  EXPECT_EQ(waiting.status().message(), "too many failed sign-ins; retry in 4 s");
  // Never more than the failure window (a minute), however many failures.
  for (int i = 0; i < 8; ++i) {
    clock_.Advance(60'000);
    EXPECT_EQ(SignIn("bob", "guess-more", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  }
  clock_.Advance(59'999);
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.66").code(), StatusCode::kResourceExhausted);
  clock_.Advance(1);
  // The right password ends it.
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.66").ok());
  EXPECT_EQ(SignIn("bob", "guess-5", "10.0.0.66").code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.66").ok());
}

TEST_F(ThrottleTest, AUsernameBacksOffFromEveryAddressOnlyPastTheMuchHigherCeiling) {
  User("bob");
  const int ceiling = 2 * AuthService::kCeilingFactor;
  // One failure each from many addresses: no address reaches its own limit.
  for (int i = 0; i < ceiling - 1; ++i) {
    EXPECT_EQ(SignIn("bob", "spray", fmt::format("198.51.100.{}", i)).code(),
              StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.1").ok());
  EXPECT_EQ(SignIn("bob", "spray", "198.51.100.200").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.2").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(SignIn("admin", "wrong-but-checked", "10.0.0.2").code(), StatusCode::kUnauthenticated);
  clock_.Advance(1'000);
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.2").ok());
}

TEST_F(ThrottleTest, SprayedFailuresNeverKeepAUserOutOfAnAddressItSignedInFrom) {
  User("bob");
  ASSERT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.1").ok());
  // Failures from many addresses, one each a minute apart: the username's wait reaches its cap
  // and, kept up, would hold it there for as long as the spraying goes on.
  const int ceiling = 2 * AuthService::kCeilingFactor;
  for (int i = 0; i < ceiling + 10; ++i) {
    (void)SignIn("bob", "spray", fmt::format("198.51.100.{}", i));
    clock_.Advance(59'000);
  }
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.9").code(), StatusCode::kResourceExhausted);
  // From the address it signed in from before, only that pair's own limit applies.
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.1").ok());
  // ... which still holds: guessing from there backs off after max_failures.
  EXPECT_EQ(SignIn("bob", "guess-1", "10.0.0.1").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(SignIn("bob", "guess-2", "10.0.0.1").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "10.0.0.1").code(), StatusCode::kResourceExhausted);
}

TEST_F(ThrottleTest, AnAddressBacksOffForEveryUsernamePastTheSameCeiling) {
  User("bob");
  const int ceiling = 2 * AuthService::kCeilingFactor;
  for (int i = 0; i < ceiling; ++i) {
    EXPECT_EQ(SignIn(fmt::format("user{}", i), "spray", "203.0.113.9").code(),
              StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(SignIn("bob", "pw-bob-long", "203.0.113.9").code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "10.0.0.1").ok());
  clock_.Advance(1'000);
  EXPECT_TRUE(SignIn("bob", "pw-bob-long", "203.0.113.9").ok());
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
  auto basic = auth_.AuthenticateHeader("Basic " + Base64Encode("bob:pw-bob-long"), "a", attempted);
  ASSERT_TRUE(basic.ok()) << basic.status().ToString();
  EXPECT_EQ(attempted, "bob");
  auto wrong = auth_.AuthenticateHeader("basic " + Base64Encode("bob:nope-nope"), "a", attempted);
  EXPECT_EQ(CodeOf(wrong), StatusCode::kUnauthenticated);
  EXPECT_EQ(attempted, "bob");
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Basic !!!", "a", attempted)),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeOf(auth_.AuthenticateHeader("Basic " + Base64Encode("no-colon"), "a", attempted)),
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

TEST_F(AccessTest, AnUnknownUsernameIsRecordedAsAKeyedHashNeverAsTyped) {
  User("bob");
  auto token = identity_.CreateToken(admin_, {.owner = "bob", .name = "live"});
  ASSERT_TRUE(token.ok());
  std::string attempted;
  // A valid token typed as the username (curl -u "$TOKEN:"), a password typed as one.
  for (const std::string& typed : {token->token, std::string("pw-bob-long")}) {
    SCOPED_TRACE(typed);
    for (const std::string& password : {std::string(""), std::string("pw-bob-long")}) {
      auto r =
          auth_.AuthenticateHeader("Basic " + Base64Encode(typed + ":" + password), "a", attempted);
      EXPECT_EQ(CodeOf(r), StatusCode::kUnauthenticated);
      EXPECT_EQ(attempted.find(typed), std::string::npos) << attempted;
      EXPECT_EQ(attempted.rfind("(unknown user ", 0), 0u) << attempted;
      EXPECT_EQ(attempted.size(), std::string("(unknown user )").size() + 16);
    }
  }
  // The same name hashes alike (so repeated tries can be told apart), another name differently,
  // and another key differently.
  std::string first, again, other;
  (void)auth_.AuthenticateHeader("Basic " + Base64Encode("typo-bob:x"), "a", first);
  (void)auth_.AuthenticateHeader("Basic " + Base64Encode("typo-bob:y"), "a", again);
  (void)auth_.AuthenticateHeader("Basic " + Base64Encode("typo-bobb:x"), "a", other);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  auth_.SetAttemptKey("another key");
  (void)auth_.AuthenticateHeader("Basic " + Base64Encode("typo-bob:x"), "a", again);
  EXPECT_NE(first, again);
  // A known name is recorded as it is, whatever the password.
  (void)auth_.AuthenticateHeader("Basic " + Base64Encode("bob:" + token->token), "a", attempted);
  EXPECT_EQ(attempted, "bob");

  // And so in the denial events themselves.
  const int64_t seq = Head();
  RequestContext denied;
  denied.clock = &clock_;
  denied.address = "192.0.2.1";
  (void)auth_.AuthenticateHeader("Basic " + Base64Encode(token->token + ":"), "192.0.2.1",
                                 denied.attempted_identity);
  auth_.RecordDenial(denied, "invalid username or password");
  auth_.FlushDenials(true);
  auto bodies = BodiesAfter(seq);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].find(token->token), std::string::npos) << bodies[0];
  EXPECT_EQ(bodies[0].find(token->token.substr(4)), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[0].find("(unknown user "), std::string::npos) << bodies[0];
}

TEST_F(AccessTest, ARefusalsMessageNeverRepeatsTheNameTyped) {
  // The message of a PERMISSION_DENIED is the reason its denial event records; a name typed by a
  // caller may be a credential in the wrong field.
  RequestContext bob = User("bob");
  const std::string typed = "vch_typed-into-the-username-field";
  auto privileged = identity_.UpdateUser(bob, typed, {.is_admin = true});
  EXPECT_EQ(CodeOf(privileged), StatusCode::kPermissionDenied);
  EXPECT_EQ(privileged.status().message().find(typed), std::string::npos);
  auto other = identity_.UpdateUser(bob, typed, {.display_name = "x"});
  EXPECT_EQ(CodeOf(other), StatusCode::kPermissionDenied);
  EXPECT_EQ(other.status().message().find(typed), std::string::npos);
  auto read = identity_.GetUser(bob, typed);
  EXPECT_EQ(CodeOf(read), StatusCode::kPermissionDenied);
  EXPECT_EQ(read.status().message().find(typed), std::string::npos);
  Status password = identity_.SetPassword(bob, typed, "a-new-password", std::nullopt);
  EXPECT_EQ(password.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(password.message().find(typed), std::string::npos);
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

// ---- Model-version sources -----------------------------------------------------------------

TEST_F(AccessTest, AModelsSourceRevealsNothingOfAModelTheCallerCannotRead) {
  RequestContext owner = User("owner"), bob = User("bob");
  ASSERT_TRUE(registry_.CreateModel(owner, {.name = "closed"}).ok());
  ASSERT_TRUE(
      registry_.CreateVersion(owner, {.model = "closed", .source = "s3://b/1", .run_id = "r1"})
          .ok());
  ASSERT_TRUE(registry_.SetAlias(owner, "closed", "champ", 1, "").ok());
  ASSERT_TRUE(
      identity_.SetModelPermission(owner, "closed", {.user = "bob"}, Permission::kNone).ok());
  ASSERT_TRUE(registry_.CreateModel(bob, {.name = "mine"}).ok());
  // The same answer whether the version or alias exists, and whether the run id would match: the
  // one a direct read of the model gives bob.
  const std::string denied = "bob needs READ permission on model 'closed' (has NO_PERMISSIONS)";
  auto direct = registry_.GetModel(bob, "closed");
  EXPECT_EQ(direct.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(direct.status().message(), denied);
  const int64_t head = Head();
  for (std::string source :
       {"models:/closed/1", "models:/closed/9", "models:/closed@champ", "models:/closed@nope",
        "models:/closed/latest", "models:/closed/Production", "models:/closed/Bogus"}) {
    for (std::string run_id : {"", "r1", "r2"}) {
      auto v = registry_.CreateVersion(
          bob, {.model = "mine", .source = source, .run_id = run_id, .run_id_given = true});
      EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied) << source << " " << run_id;
      EXPECT_EQ(v.status().message(), denied) << source;
    }
  }
  EXPECT_EQ(Head(), head);
  // Once bob may read it, the copy takes version 1's run id.
  ASSERT_TRUE(
      identity_.SetModelPermission(owner, "closed", {.user = "bob"}, Permission::kRead).ok());
  auto v = registry_.CreateVersion(bob, {.model = "mine", .source = "models:/closed@champ"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->version, 1);
  EXPECT_EQ(v->source, "models:/closed/1");
  EXPECT_EQ(v->run_id, "r1");
}

}  // namespace
}  // namespace vouch::service
