// Re-authentication for signatures (`reauth: true`) on both stores: the signer's password checked
// by the sign-in code at the moment of signing, its throttle, the display name a signature needs,
// and HTTP Basic calls counting as re-authenticated.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "vouch/service/approvals.h"
#include "vouch/service/auth_service.h"
#include "vouch/service/identity_service.h"
#include "vouch/service/registry.h"
#include "vouch/storage/test_stores_test.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kAdminToken[] = "vch_approvals-reauth-test-admin-token";
constexpr int kMaxFailures = 3;
constexpr char kReauthPolicy[] = R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    reauth: true
)";

std::string PasswordOf(std::string_view name) { return fmt::format("correct horse {}", name); }

template <typename T>
StatusCode CodeOf(const Result<T>& r) {
  return r.status().code();
}

class ApprovalsReauthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = store::testing::TestStore::Make(GetParam(), "vouch_approvals_reauth_test");
    ASSERT_NE(env_, nullptr);
    store::Store& store = env_->store();
    executor_ = std::make_unique<MutationExecutor>(store);
    auth_ = std::make_unique<AuthService>(
        store, clock_, AuthOptions{.cache_ttl_ms = 0, .max_failures = kMaxFailures});
    registry_ = std::make_unique<RegistryService>(*executor_, PageTokens("reauth-test"), authz_);
    identity_ = std::make_unique<IdentityService>(*executor_, *auth_, authz_);
    approvals_ = std::make_unique<ApprovalService>(*executor_, authz_);
    approvals_->SetReauthenticator(auth_.get());
    registry_->SetGate(approvals_.get());
    ASSERT_TRUE(auth_->Bootstrap(kAdminToken).ok());
    auto admin = auth_->AuthenticateBearer(kAdminToken);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = Ctx(admin->principal);
    dana_ = User("dana", "data-scientist", "Dana Scully");
    eli_ = User("eli", "ml-engineer", "Eli Whitney");
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    auto v = registry_->CreateVersion(
        dana_, {.model = "fraud", .source = "s3://b/fraud/1", .metrics = {{"auc", 0.95}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    auto applied = approvals_->ApplyPolicies(admin_, kReauthPolicy);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  }

  RequestContext Ctx(const Principal& p, AuthMethod method = AuthMethod::kToken) const {
    RequestContext ctx;
    ctx.principal = p;
    ctx.auth = method;
    ctx.request_id = "req";
    ctx.address = "192.0.2.7";
    ctx.clock = &clock_;
    return ctx;
  }

  // A user with a password and a token; the context is the token's.
  RequestContext User(const std::string& name, const std::string& role,
                      const std::string& display_name) {
    auto made = identity_->CreateUser(
        admin_, {.name = name, .display_name = display_name, .password = PasswordOf(name)});
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!role.empty()) {
      EXPECT_TRUE(identity_->GrantRole(admin_, role, {.user = name}).ok());
    }
    auto token = identity_->CreateToken(admin_, {.owner = name, .name = "t"});
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    auto who = auth_->AuthenticateBearer(token->token);
    EXPECT_TRUE(who.ok()) << who.status().ToString();
    return Ctx(who->principal);
  }

  int64_t Request() {
    auto r = approvals_->CreateRequest(
        dana_, {.model = "fraud", .version = 1, .target = "stage:Production", .comment = "ship"});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->request.id : 0;
  }

  Result<RequestView> Approve(const RequestContext& who, int64_t id, std::string password) {
    return approvals_->Approve(who, id, {.comment = "signed", .password = std::move(password)});
  }

  Stage StageOf(int64_t version) {
    auto v = registry_->GetVersion(admin_, "fraud", version);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->stage : Stage::kNone;
  }

  std::vector<store::StoredAuditEvent> Events(std::string_view action) {
    std::vector<store::StoredAuditEvent> events;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(
                          events,
                          tx.ListAuditEvents({.action = std::string(action), .limit = 1000}));
                      return OkStatus();
                    })
                    .ok());
    return events;
  }

  FakeClock clock_{kT0};
  Authorizer authz_{Permission::kEdit};
  std::unique_ptr<store::testing::TestStore> env_;
  std::unique_ptr<MutationExecutor> executor_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<RegistryService> registry_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<ApprovalService> approvals_;
  RequestContext admin_, dana_, eli_;
};

TEST_P(ApprovalsReauthTest, TheRightPasswordSignsUnderTheDisplayNameAndIsKeptNowhere) {
  int64_t id = Request();
  auto approved = Approve(eli_, id, PasswordOf("eli"));
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->request.state, store::RequestState::kApplied);
  EXPECT_EQ(StageOf(1), Stage::kProduction);
  auto shown = approvals_->ShowRequest(eli_, id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  ASSERT_EQ(shown->reviews.size(), 1u);
  EXPECT_EQ(shown->reviews[0].review.printed_name, "Eli Whitney");
  auto reviewed = Events("request.reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  EXPECT_NE(reviewed[0].body.find("\"printed_name\":\"Eli Whitney\""), std::string::npos)
      << reviewed[0].body;
  for (const auto& e : Events("")) {
    EXPECT_EQ(e.body.find(PasswordOf("eli")), std::string::npos) << e.body;
  }
}

TEST_P(ApprovalsReauthTest, ATokenAloneIsAskedToReauthenticateAndSignsNothing) {
  int64_t id = Request();
  auto approved = Approve(eli_, id, "");
  EXPECT_EQ(CodeOf(approved), StatusCode::kReauthRequired);
  EXPECT_NE(approved.status().message().find("policy production requires re-authentication"),
            std::string::npos)
      << approved.status().message();
  EXPECT_EQ(StageOf(1), Stage::kNone);
  EXPECT_TRUE(Events("request.reviewed").empty());
  // A session is no better than a token.
  RequestContext session = eli_;
  session.auth = AuthMethod::kSession;
  EXPECT_EQ(CodeOf(Approve(session, id, "")), StatusCode::kReauthRequired);
}

TEST_P(ApprovalsReauthTest, RejectingUnderReauthNeedsThePasswordToo) {
  int64_t id = Request();
  auto refused = approvals_->Reject(eli_, id, {.comment = "no"});
  EXPECT_EQ(CodeOf(refused), StatusCode::kReauthRequired);
  auto shown = approvals_->ShowRequest(eli_, id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->request.state, store::RequestState::kOpen);
  auto rejected = approvals_->Reject(eli_, id, {.comment = "no", .password = PasswordOf("eli")});
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ(rejected->request.state, store::RequestState::kRejected);
}

TEST_P(ApprovalsReauthTest, AWrongPasswordFailsAndCountsTowardTheSignInThrottle) {
  int64_t id = Request();
  for (int i = 0; i < kMaxFailures; ++i) {
    EXPECT_EQ(CodeOf(Approve(eli_, id, "not eli's password")), StatusCode::kReauthFailed) << i;
  }
  // Backing off now: even the right password is refused unchecked, for signing and signing in.
  EXPECT_EQ(CodeOf(Approve(eli_, id, PasswordOf("eli"))), StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeOf(auth_->AuthenticatePassword("eli", PasswordOf("eli"), eli_.address)),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(StageOf(1), Stage::kNone);
  EXPECT_TRUE(Events("request.reviewed").empty());
  clock_.Advance(1000);  // the first backoff is one second
  auto approved = Approve(eli_, id, PasswordOf("eli"));
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(StageOf(1), Stage::kProduction);
}

TEST_P(ApprovalsReauthTest, ASignInFailureCountsTowardTheThrottleOfSigning) {
  int64_t id = Request();
  for (int i = 0; i < kMaxFailures; ++i) {
    EXPECT_EQ(CodeOf(auth_->AuthenticatePassword("eli", "wrong password", eli_.address)),
              StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(CodeOf(Approve(eli_, id, PasswordOf("eli"))), StatusCode::kResourceExhausted);
}

TEST_P(ApprovalsReauthTest, AnotherUsersPasswordDoesNotSign) {
  int64_t id = Request();
  EXPECT_EQ(CodeOf(Approve(eli_, id, PasswordOf("dana"))), StatusCode::kReauthFailed);
  EXPECT_EQ(StageOf(1), Stage::kNone);
}

TEST_P(ApprovalsReauthTest, APrincipalWithoutADisplayNameCannotSignUnderReauth) {
  RequestContext ivo = User("ivo", "ml-engineer", "");
  int64_t id = Request();
  auto approved = Approve(ivo, id, PasswordOf("ivo"));
  EXPECT_EQ(CodeOf(approved), StatusCode::kFailedPrecondition);
  EXPECT_NE(approved.status().message().find("vouch users update ivo --display-name"),
            std::string::npos)
      << approved.status().message();
  EXPECT_EQ(StageOf(1), Stage::kNone);
  ASSERT_TRUE(identity_->UpdateUser(ivo, "ivo", {.display_name = "Ivo Andric"}).ok());
  auto signed_now = Approve(ivo, id, PasswordOf("ivo"));
  ASSERT_TRUE(signed_now.ok()) << signed_now.status().ToString();
  EXPECT_EQ(StageOf(1), Stage::kProduction);
}

TEST_P(ApprovalsReauthTest, ACallAuthenticatedByPasswordIsReauthenticatedAlready) {
  auto basic = auth_->AuthenticatePassword("eli", PasswordOf("eli"), "192.0.2.7");
  ASSERT_TRUE(basic.ok()) << basic.status().ToString();
  RequestContext eli_by_password = Ctx(basic->principal, AuthMethod::kPassword);
  int64_t id = Request();
  auto approved = Approve(eli_by_password, id, "");
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(StageOf(1), Stage::kProduction);
}

TEST_P(ApprovalsReauthTest, AGivenPasswordIsCheckedEvenWhereNoPolicyAsksForIt) {
  auto applied = approvals_->ApplyPolicies(admin_, R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
)");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  int64_t id = Request();
  EXPECT_EQ(CodeOf(Approve(eli_, id, "not eli's password")), StatusCode::kReauthFailed);
  auto approved = Approve(eli_, id, "");
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(StageOf(1), Stage::kProduction);
}

TEST_P(ApprovalsReauthTest, SomeoneNoRuleLetsSignIsRefusedBeforeBeingAskedForAPassword) {
  int64_t id = Request();
  // The requester may not approve its own request: that, not a password, is what stands in the way.
  EXPECT_EQ(CodeOf(Approve(dana_, id, "")), StatusCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Stores, ApprovalsReauthTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service
