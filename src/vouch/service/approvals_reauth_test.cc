// Re-authentication for signatures (`reauth: true`) on both stores: the signer's password checked
// by the sign-in code at the moment of signing, its throttle, the display name a signature needs,
// and HTTP Basic calls counting as re-authenticated.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "vouch/service/approvals_fixture_test.h"

namespace vouch::service {
namespace {

constexpr int kMaxFailures = 3;
constexpr char kReauthPolicy[] = R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    reauth: true
)";

std::string PasswordOf(std::string_view name) { return fmt::format("correct horse {}", name); }

class ApprovalsReauthTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    address_ = "192.0.2.7";
    Wire("vouch_approvals_reauth_test", {.cache_ttl_ms = 0, .max_failures = kMaxFailures});
    approvals_->SetReauthenticator(auth_.get());
    dana_ = User("dana", "data-scientist", "Dana Scully");
    eli_ = User("eli", "ml-engineer", "Eli Whitney");
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    auto v = registry_->CreateVersion(
        dana_, {.model = "fraud", .source = "s3://b/fraud/1", .metrics = {{"auc", 0.95}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    Apply(kReauthPolicy);
  }

  // A user with a password and a token; the context is the token's.
  RequestContext User(const std::string& name, const std::string& role,
                      const std::string& display_name) {
    return ApprovalsFixture::User(name, role,
                                  {.display_name = display_name, .password = PasswordOf(name)});
  }

  int64_t Request() { return ApprovalsFixture::Request(dana_, 1, "stage:Production", "ship"); }

  Result<RequestView> Approve(const RequestContext& who, int64_t id, std::string password) {
    return approvals_->Approve(who, id, {.comment = "signed", .password = std::move(password)});
  }

  std::vector<store::StoredAuditEvent> Events(std::string_view action) {
    return StoredEvents({.action = std::string(action)});
  }

  RequestContext dana_, eli_;
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
