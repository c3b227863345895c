// The wiring the ApprovalService suites share, on both stores (SQLite always, PostgreSQL when
// VOUCH_TEST_POSTGRES_DSN is set): a scratch store, the executor, auth, registry, identity and
// approval services over a FakeClock, the gate on the registry's direct moves, and a bootstrapped
// admin; with the helpers each suite uses to make people, apply policies, open requests and read
// the audit log. Each suite keeps its own policies, seeds and tests. Header-only; tests only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/service/approvals.h"
#include "vouch/service/auth_service.h"
#include "vouch/service/identity_service.h"
#include "vouch/service/registry.h"
#include "vouch/storage/test_stores_test.h"
#include "vouch/util/json.h"

namespace vouch::service {

inline constexpr TimeMs kT0 = 1'700'000'000'000;

template <typename T>
StatusCode CodeOf(const Result<T>& r) {
  return r.status().code();
}

// How ApprovalsFixture::User makes a principal: its kind, its display name ("Dr <name>" when
// unset) and its password (none when empty).
struct NewUser {
  PrincipalKind kind = PrincipalKind::kUser;
  std::optional<std::string> display_name;
  std::string password;
};

class ApprovalsFixture : public ::testing::TestWithParam<std::string> {
 protected:
  // A fresh store named `db_name` with the services over it and the admin bootstrapped.
  void Wire(std::string_view db_name, AuthOptions options = {}) {
    env_ = store::testing::TestStore::Make(GetParam(), std::string(db_name));
    ASSERT_NE(env_, nullptr);
    store::Store& store = env_->store();
    executor_ = std::make_unique<MutationExecutor>(store);
    auth_ = std::make_unique<AuthService>(store, clock_, options);
    registry_ =
        std::make_unique<RegistryService>(*executor_, PageTokens(std::string(db_name)), authz_);
    identity_ = std::make_unique<IdentityService>(*executor_, *auth_, authz_);
    approvals_ = std::make_unique<ApprovalService>(*executor_, authz_);
    registry_->SetGate(approvals_.get());
    ASSERT_TRUE(auth_->Bootstrap(kAdminToken).ok());
    auto admin = auth_->AuthenticateBearer(kAdminToken);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = Ctx(admin->principal);
  }

  RequestContext Ctx(const Principal& p, AuthMethod method = AuthMethod::kToken) const {
    RequestContext ctx;
    ctx.principal = p;
    ctx.auth = method;
    ctx.request_id = "req";
    ctx.address = address_;
    ctx.clock = &clock_;
    return ctx;
  }

  // A principal with `role` (none when empty) and a token; the context is the token's.
  RequestContext User(const std::string& name, const std::string& role, NewUser how = {}) {
    auto made =
        identity_->CreateUser(admin_, {.name = name,
                                       .kind = how.kind,
                                       .display_name = how.display_name.value_or("Dr " + name),
                                       .password = how.password});
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

  // Applies `yaml` as the admin; Apply() applies the suite's own `policy_`.
  void Apply(std::string_view yaml) {
    auto applied = approvals_->ApplyPolicies(admin_, yaml);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  }
  void Apply() { Apply(policy_); }

  int64_t Request(const RequestContext& who, int64_t version = 1,
                  std::string target = "stage:Production", std::string comment = "ship it") {
    auto r = approvals_->CreateRequest(who, {.model = "fraud",
                                             .version = version,
                                             .target = std::move(target),
                                             .comment = std::move(comment)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->request.id : 0;
  }

  Stage StageOf(int64_t version) {
    auto v = registry_->GetVersion(admin_, "fraud", version);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->stage : Stage::kNone;
  }

  // The stored events matching `filter` (up to 1,000), as the log returns them.
  std::vector<store::StoredAuditEvent> StoredEvents(store::AuditFilter filter) {
    filter.limit = 1000;
    std::vector<store::StoredAuditEvent> stored;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents(filter));
                      return OkStatus();
                    })
                    .ok());
    return stored;
  }

  // The same, each parsed (canonical JSON objects), in the log's order.
  std::vector<json::object> ParsedEvents(store::AuditFilter filter) {
    std::vector<json::object> out;
    for (const auto& s : StoredEvents(std::move(filter))) {
      auto parsed = ParseJsonObject(s.body);
      EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
      if (parsed.ok()) out.push_back(std::move(parsed).value());
    }
    return out;
  }

  static constexpr char kAdminToken[] = "vch_approvals-test-admin-token";

  FakeClock clock_{kT0};
  Authorizer authz_{Permission::kEdit};
  std::string address_;      // the client address every Ctx carries; set before Wire
  std::string_view policy_;  // what Apply() applies
  std::unique_ptr<store::testing::TestStore> env_;
  std::unique_ptr<MutationExecutor> executor_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<RegistryService> registry_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<ApprovalService> approvals_;
  RequestContext admin_;
};

}  // namespace vouch::service
