// ApprovalService's timers (RunTimers) on both stores, with an injected clock: request expiry,
// approval expiry, and the end of a wait applying a request as `system`, each an audit event, and
// the lease guard that stops a run whose server no longer leads.
#include <gtest/gtest.h>

#include <memory>

#include "vouch/service/approvals_fixture_test.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;

constexpr char kExpiring[] = R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 2}]
    expiry: {request: 1d, approval: 30d}
)";

constexpr char kWaiting[] = R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 1}]
    wait: {in_stage: Staging, at_least: 2h}
    expiry: {approval: 1h}
)";

constexpr char kWaitingLong[] = R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 1}]
    wait: {in_stage: Staging, at_least: 2h}
    expiry: {request: 7d}
)";

Status NoGuard(store::Tx&) { return OkStatus(); }

class ApprovalTimersTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    Wire("vouch_approval_timers_test");
    dana_ = User("dana", "data-scientist");
    eli_ = User("eli", "ml-engineer");
    fay_ = User("fay", "ml-engineer");
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    auto v = registry_->CreateVersion(
        dana_, {.model = "fraud", .source = "s3://b/fraud/1", .metrics = {{"auc", 0.95}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }

  int64_t Request() { return ApprovalsFixture::Request(dana_, 1, "stage:Production", "go"); }

  void ToStaging() {
    auto moved = registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Staging"});
    ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  }

  Result<TimerRun> Run(const std::function<Status(store::Tx&)>& guard = NoGuard) {
    return approvals_->RunTimers(SystemContext(clock_), guard);
  }

  store::RequestState StateOf(int64_t id) {
    auto shown = approvals_->ShowRequest(admin_, id);
    EXPECT_TRUE(shown.ok()) << shown.status().ToString();
    return shown.ok() ? shown->request.state : store::RequestState::kOpen;
  }

  // The events of `action`, in order, as stored (canonical JSON objects).
  std::vector<json::object> Events(std::string_view action) {
    return ParsedEvents({.action = std::string(action)});
  }

  static std::string ActorOf(const json::object& e) {
    return std::string(e.at("actor").at("name").as_string());
  }

  RequestContext dana_, eli_, fay_;
};

TEST_P(ApprovalTimersTest, AnOpenRequestExpiresAsSystemOnceItsExpiryHasCome) {
  Apply(kExpiring);
  int64_t id = Request();
  ASSERT_TRUE(approvals_->Approve(eli_, id, {.comment = "one of two"}).ok());

  clock_.Advance(kDay - 1);
  auto early = Run();
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->examined, 0);
  EXPECT_EQ(StateOf(id), store::RequestState::kOpen);

  clock_.Advance(1);
  auto run = Run();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->examined, 1);
  EXPECT_EQ(run->expired, 1);
  EXPECT_EQ(StateOf(id), store::RequestState::kExpired);
  auto expired = Events("request.expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(ActorOf(expired[0]), "system");
  EXPECT_EQ(expired[0].at("time").as_string(), FormatRfc3339Ms(kT0 + kDay));
  EXPECT_EQ(expired[0].at("target").at("request").as_int64(), id);

  // Closed: no timer acts on it again.
  clock_.Advance(kDay);
  auto again = Run();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->examined, 0);
  EXPECT_EQ(Events("request.expired").size(), 1u);
}

TEST_P(ApprovalTimersTest, ASatisfiedRequestIsNotExpiredByItsTimer) {
  Apply(kWaitingLong);
  ToStaging();
  int64_t id = Request();
  clock_.Advance(2 * kHour);
  ASSERT_TRUE(approvals_->Approve(eli_, id, {.comment = "ok"}).ok());
  EXPECT_EQ(StateOf(id), store::RequestState::kApplied);
  clock_.Advance(7 * kDay);
  auto run = Run();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->examined, 0);
  EXPECT_TRUE(Events("request.expired").empty());
}

TEST_P(ApprovalTimersTest, WhenTheWaitEndsTheApprovedRequestIsAppliedBySystem) {
  Apply(kWaitingLong);
  ToStaging();
  int64_t id = Request();
  auto approved = approvals_->Approve(eli_, id, {.comment = "ok"});
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  // Every rule holds; only the wait (2h in Staging) does not yet.
  EXPECT_EQ(approved->request.state, store::RequestState::kOpen);

  clock_.Advance(2 * kHour - 1);
  auto early = Run();
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->examined, 0);
  EXPECT_EQ(StageOf(1), Stage::kStaging);

  clock_.Advance(1);
  auto run = Run();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->examined, 1);
  EXPECT_EQ(run->approved, 1);
  EXPECT_EQ(run->applied, 1);
  EXPECT_EQ(StateOf(id), store::RequestState::kApplied);
  EXPECT_EQ(StageOf(1), Stage::kProduction);
  auto applied = Events("request.applied");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(ActorOf(applied[0]), "system");
  EXPECT_EQ(applied[0].at("comment").as_string(), "by the timer: the wait ended");
  EXPECT_EQ(applied[0].at("after").at("gate").at("request").as_int64(), id);
  auto approvals = Events("request.approved");
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(ActorOf(approvals[0]), "system");
  auto moves = Events("model_version.stage_changed");
  ASSERT_FALSE(moves.empty());
  EXPECT_EQ(ActorOf(moves.back()), "system");
  EXPECT_EQ(moves.back().at("after").at("stage").as_string(), "Production");
}

TEST_P(ApprovalTimersTest, AnApprovalPastItsExpiryStopsCountingAndTheRequestStaysOpen) {
  Apply(kWaiting);  // the approval lapses after 1h, the wait ends after 2h
  ToStaging();
  int64_t id = Request();
  ASSERT_TRUE(approvals_->Approve(eli_, id, {.comment = "ok"}).ok());

  clock_.Advance(2 * kHour);
  auto run = Run();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->examined, 1);
  EXPECT_EQ(run->approved, 0);
  EXPECT_EQ(StateOf(id), store::RequestState::kOpen);
  EXPECT_EQ(StageOf(1), Stage::kStaging);
  EXPECT_TRUE(Events("request.approved").empty());
  auto shown = approvals_->ShowRequest(admin_, id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  ASSERT_TRUE(shown->evaluation.has_value());
  ASSERT_EQ(shown->evaluation->reviews.size(), 1u);
  EXPECT_EQ(shown->evaluation->reviews[0].status, policy::ReviewStatus::kExpired);

  // Nothing changed, so the request is not due again until something else times it.
  auto again = Run();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->examined, 0);

  // A fresh approval counts, and (the wait over) applies at once.
  auto fresh = approvals_->Approve(fay_, id, {.comment = "still ok"});
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->request.state, store::RequestState::kApplied);
}

TEST_P(ApprovalTimersTest, ARunWhoseGuardFailsChangesNothing) {
  Apply(kExpiring);
  int64_t id = Request();
  clock_.Advance(kDay);
  auto run = Run([](store::Tx&) { return Aborted("the lease moved"); });
  EXPECT_EQ(run.status().code(), StatusCode::kAborted) << run.status().ToString();
  EXPECT_EQ(StateOf(id), store::RequestState::kOpen);
  EXPECT_TRUE(Events("request.expired").empty());
  // The next leader's run does it.
  auto next = Run();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->expired, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, ApprovalTimersTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service
