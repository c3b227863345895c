#include "vouch/app/app.h"

#include <gtest/gtest.h>

#include <string>

#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"

namespace vouch::app {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vouch_app_test_admin_token_0123456789abcdef";

AppOptions Options() {
  static const std::string key = RandomBytes(32);  // one master key for every start of a test
  return {.master_key = key,
          .auth = {.denial_window_ms = 60'000},
          .bootstrap_token = kToken,
          .server_name = "app-test",
          .leader = {.settle_ms = 0}};
}

api::HttpRequest Get(std::string target, bool with_token = true) {
  api::HttpRequest r;
  r.method = "GET";
  r.target = std::move(target);
  if (with_token) r.headers.emplace_back("authorization", std::string("Bearer ") + kToken);
  r.remote_address = "192.0.2.7";
  return r;
}

int64_t DenialEvents(store::Store& s) {
  int64_t n = 0;
  Status st = s.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.action = "access.denied"}));
    n = static_cast<int64_t>(events.size());
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

TEST(App, BuiltOverAStoreItBootstrapsTheAdminAndAnswersBothDoors) {
  store::testing::TempSqliteStore db;
  FakeClock clock(kT0);
  auto app = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_TRUE((*app)->bootstrap().created);
  EXPECT_EQ((*app)->Handle(Get("/api/v1/models")).status, 200);
  EXPECT_EQ((*app)->Handle(Get("/api/2.0/mlflow/registered-models/search")).status, 200);
  EXPECT_EQ((*app)->Handle(Get("/api/v1/models", false)).status, 401);

  // A second start over the same store finds the admin and the page-token key it made.
  auto again = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE((*again)->bootstrap().created);
}

TEST(App, MetricsReportWhetherThisServerLeads) {
  store::testing::TempSqliteStore db;
  FakeClock clock(kT0);
  auto app = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_NE((*app)->Handle(Get("/metrics")).body.find("\nvouch_leader 0\n"), std::string::npos);
  (*app)->leader().Poll();  // what the lease's thread does once started
  api::HttpResponse metrics = (*app)->Handle(Get("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE vouch_leader gauge\nvouch_leader 1\n"), std::string::npos)
      << metrics.body;
}

TEST(App, TheRequestTimersRunOnlyOnTheServerThatLeads) {
  store::testing::TempSqliteStore db;
  FakeClock clock(kT0);
  auto made = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  App& app = **made;
  auto admin = app.auth().AuthenticateBearer(kToken);
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  RequestContext ctx;
  ctx.principal = admin->principal;
  ctx.auth = AuthMethod::kToken;
  ctx.clock = &clock;
  ASSERT_TRUE(app.registry().CreateModel(ctx, {.name = "fraud"}).ok());
  ASSERT_TRUE(app.registry().CreateVersion(ctx, {.model = "fraud", .source = "s3://b/1"}).ok());
  auto applied = app.approvals().ApplyPolicies(ctx, R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 1}]
    expiry: {request: 1d}
)");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  auto request = app.approvals().CreateRequest(
      ctx, {.model = "fraud", .version = 1, .target = "stage:Production"});
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  auto state = [&] {
    auto shown = app.approvals().ShowRequest(ctx, request->request.id);
    EXPECT_TRUE(shown.ok()) << shown.status().ToString();
    return shown.ok() ? shown->request.state : store::RequestState::kOpen;
  };

  clock.Advance(86'400'000);
  EXPECT_GT(app.scheduler().RunDue(), 0);  // the timers' job ran, but this server does not lead
  EXPECT_EQ(state(), store::RequestState::kOpen);

  app.leader().Poll();  // what the lease's thread does once started
  clock.Advance(1000);
  EXPECT_GT(app.scheduler().RunDue(), 0);
  EXPECT_EQ(state(), store::RequestState::kExpired);
}

TEST(App, DrainWritesTheDenialsStillWaitingForTheirWindow) {
  store::testing::TempSqliteStore db;
  FakeClock clock(kT0);
  auto app = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  (*app)->Start();
  EXPECT_EQ((*app)->Handle(Get("/api/v1/models", false)).status, 401);
  EXPECT_EQ(DenialEvents(db.store()), 0);  // its window (a minute on the fake clock) is open
  (*app)->Drain();
  EXPECT_EQ(DenialEvents(db.store()), 1);
  (*app)->Drain();  // idempotent
  EXPECT_EQ(DenialEvents(db.store()), 1);
}

TEST(App, TheSchedulerFlushesDenialsOnceTheirWindowCloses) {
  store::testing::TempSqliteStore db;
  FakeClock clock(kT0);
  auto app = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_EQ((*app)->Handle(Get("/api/v1/models", false)).status, 401);
  (*app)->Start();
  clock.Advance(60'000);
  // Run what is due on this thread rather than wait for the scheduler's: the same jobs.
  (*app)->scheduler().RunDue();
  EXPECT_EQ(DenialEvents(db.store()), 1);
}

TEST(App, ASingletonJobRunsOnTheLeaderInsideTheEpochCheck) {
  store::testing::TempSqliteStore db;
  FakeClock clock(kT0);
  auto app = App::Create(db.store(), Options(), clock);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  int runs = 0;
  (*app)->AddSingletonJob("count", 1000, [&](store::Tx& tx) -> Status {
    VOUCH_TRY(tx.LeaseEpoch("leader").status());
    ++runs;
    return OkStatus();
  });
  clock.Advance(1000);
  (*app)->scheduler().RunDue();
  EXPECT_EQ(runs, 0);  // not the leader yet: no poll has come back
  (*app)->leader().Poll();
  clock.Advance(1000);
  (*app)->scheduler().RunDue();
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace vouch::app
