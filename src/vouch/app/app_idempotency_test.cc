// The App's Idempotency-Key wiring on both stores (SQLite always, PostgreSQL when
// VOUCH_TEST_POSTGRES_DSN is set; a scratch schema per test, dropped at its end): registry and
// identity share one executor whose pre-commit hook marks a request's claim applied inside the
// change's own transaction; the dispatcher replays; the scheduler prunes expired keys.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vouch/app/app.h"
#include "vouch/storage/test_stores_test.h"
#include "vouch/util/crypto.h"

namespace vouch::app {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vouch_app_idem_test_admin_token_0123456789abcd";

class AppIdempotencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = store::testing::TestStore::Make(GetParam(), "vouch_app_idem_test");
    ASSERT_NE(env_, nullptr);
    auto app = App::Create(env_->store(),
                           {.master_key = RandomBytes(32),
                            .bootstrap_token = kToken,
                            .server_name = "app-idem-test",
                            .idempotency = {.ttl_ms = 3'600'000},
                            .idempotency_prune_ms = 60'000},
                           clock_);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app).value();
  }

  // The bootstrap admin's context, as the dispatcher makes it.
  RequestContext AdminCtx() {
    RequestContext ctx;
    auto who = app_->auth().AuthenticateBearer(kToken);
    EXPECT_TRUE(who.ok()) << who.status().ToString();
    if (who.ok()) ctx.principal = who->principal;
    ctx.auth = AuthMethod::kToken;
    ctx.clock = &clock_;
    ctx.request_id = "req";
    return ctx;
  }

  // Claims `key` in ctx; the request should run.
  void Claim(RequestContext& ctx, std::string_view key, std::string_view body) {
    auto claimed = app_->idempotency().Claim(ctx, key, "POST /api/v1/models", body);
    ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
    ASSERT_FALSE(claimed->has_value());
    ASSERT_TRUE(ctx.idempotency.has_value());
  }

  std::optional<store::IdempotencyRecord> Row(int64_t principal_id, std::string_view key) {
    std::optional<store::IdempotencyRecord> out;
    Status st = env_->store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(out, tx.FindIdempotencyKey(principal_id, key));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  bool ModelExists(std::string_view name) {
    bool found = false;
    Status st = env_->store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(auto m, tx.FindModelRow(name));
      found = m.has_value();
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return found;
  }

  api::HttpRequest Post(std::string target, std::string body, std::string key) {
    api::HttpRequest r;
    r.method = "POST";
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers.emplace_back("authorization", std::string("Bearer ") + kToken);
    r.headers.emplace_back("content-type", "application/json");
    r.headers.emplace_back("idempotency-key", std::move(key));
    r.remote_address = "192.0.2.7";
    return r;
  }

  FakeClock clock_{kT0};
  std::unique_ptr<store::testing::TestStore> env_;
  std::unique_ptr<App> app_;
};

TEST_P(AppIdempotencyTest, ARegistryChangeUnderAClaimMarksItAppliedInItsOwnTransaction) {
  RequestContext ctx = AdminCtx();
  ASSERT_TRUE(ctx.principal.has_value());
  Claim(ctx, "create-m", R"({"name":"m"})");
  EXPECT_EQ(Row(ctx.principal->id, "create-m")->state, store::IdempotencyState::kInFlight);

  auto created = app_->registry().CreateModel(ctx, {.name = "m"});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // Applied before Complete: the change's commit carried the claim's new state.
  auto row = Row(ctx.principal->id, "create-m");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state, store::IdempotencyState::kApplied);
}

TEST_P(AppIdempotencyTest, AnIdentityChangeUnderAClaimMarksItAppliedThroughTheSameExecutor) {
  RequestContext ctx = AdminCtx();
  ASSERT_TRUE(ctx.principal.has_value());
  Claim(ctx, "create-g", R"({"name":"g"})");
  auto group = app_->identity().CreateGroup(ctx, "g", "");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  auto row = Row(ctx.principal->id, "create-g");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state, store::IdempotencyState::kApplied);
}

TEST_P(AppIdempotencyTest, ARefusedChangeLeavesTheClaimInFlight) {
  RequestContext ctx = AdminCtx();
  ASSERT_TRUE(ctx.principal.has_value());
  Claim(ctx, "bad", R"({"name":""})");
  auto created = app_->registry().CreateModel(ctx, {.name = ""});
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Row(ctx.principal->id, "bad")->state, store::IdempotencyState::kInFlight);
}

TEST_P(AppIdempotencyTest, AChangeWhoseClaimWasLostIsAbortedAndLeavesNothing) {
  RequestContext ctx = AdminCtx();
  ASSERT_TRUE(ctx.principal.has_value());
  Claim(ctx, "lost", R"({"name":"m"})");
  // Another server pruned or took the claim over meanwhile.
  Status del = env_->store().Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(bool deleted, tx.DeleteIdempotencyKey(ctx.principal->id, "lost",
                                                                 ctx.idempotency->claimed_ms));
    EXPECT_TRUE(deleted);
    return OkStatus();
  });
  ASSERT_TRUE(del.ok()) << del.ToString();
  auto created = app_->registry().CreateModel(ctx, {.name = "m"});
  EXPECT_EQ(created.status().code(), StatusCode::kAborted);
  EXPECT_FALSE(ModelExists("m"));
}

TEST_P(AppIdempotencyTest, ARetriedPostThroughTheAppGetsTheFirstAnswerAndMakesNoSecondModel) {
  api::HttpResponse first = app_->Handle(Post("/api/v1/models", R"({"name":"m2"})", "k1"));
  ASSERT_EQ(first.status, 201) << first.body;
  api::HttpResponse again = app_->Handle(Post("/api/v1/models", R"({"name":"m2"})", "k1"));
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.body, first.body);
  bool replayed = false;
  for (const auto& [name, value] : again.headers) {
    if (name == "Idempotent-Replayed" && value == "true") replayed = true;
  }
  EXPECT_TRUE(replayed);
  // The same key with another body is refused in the door's shape (MLflow's here).
  api::HttpResponse other =
      app_->Handle(Post("/api/2.0/mlflow/registered-models/create", R"({"name":"m3"})", "k1"));
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_NE(other.body.find("\"error_code\":\"INVALID_PARAMETER_VALUE\""), std::string::npos)
      << other.body;
  EXPECT_FALSE(ModelExists("m3"));
}

TEST_P(AppIdempotencyTest, TheSchedulerPrunesExpiredKeys) {
  api::HttpResponse first = app_->Handle(Post("/api/v1/models", R"({"name":"m4"})", "old"));
  ASSERT_EQ(first.status, 201) << first.body;
  int64_t admin = AdminCtx().principal->id;
  ASSERT_TRUE(Row(admin, "old").has_value());
  clock_.Advance(60'000);
  app_->scheduler().RunDue();
  EXPECT_TRUE(Row(admin, "old").has_value());  // within its TTL
  clock_.Advance(3'600'000);
  app_->scheduler().RunDue();
  EXPECT_FALSE(Row(admin, "old").has_value());
}

INSTANTIATE_TEST_SUITE_P(Stores, AppIdempotencyTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::app
