// ApprovalService's reminders (remind_every, issue 13) on both stores, with an injected clock:
// request.reminder recorded by the timer job as `system` each period after the opening or the last
// reminder, naming in its outbox payload who can still approve; none for a closed request, a
// policy without remind_every, or a request whose rules are all met.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "vouch/service/approvals_fixture_test.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;

constexpr char kReminding[] = R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 2}]
    remind_every: 1d
)";

constexpr char kQuiet[] = R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 2}]
)";

// One approval and a wait: once eli approves, nobody is left to remind.
constexpr char kRemindingWithWait[] = R"(policies:
  - name: production
    target: stage:Production
    approvals: [{from: [{role: ml-engineer}], count: 1}]
    wait: {in_stage: Staging, at_least: 3d}
    remind_every: 1d
)";

Status NoGuard(store::Tx&) { return OkStatus(); }

class ApprovalRemindersTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    Wire("vouch_approval_reminders_test");
    dana_ = User("dana", "data-scientist");
    eli_ = User("eli", "ml-engineer");
    fay_ = User("fay", "ml-engineer");
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    auto v = registry_->CreateVersion(dana_, {.model = "fraud", .source = "s3://b/fraud/1"});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }

  int64_t Request() { return ApprovalsFixture::Request(dana_, 1, "stage:Production", "go"); }

  TimerRun Run() {
    auto run = approvals_->RunTimers(SystemContext(clock_), NoGuard);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : TimerRun{};
  }

  std::vector<json::object> Reminders() { return ParsedEvents({.action = "request.reminder"}); }

  // The outbox payload of event `seq` (the canonical event with the outbox extras).
  json::object Payload(int64_t seq) {
    std::optional<std::string> payload;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(payload, tx.OutboxPayload(seq));
                      return OkStatus();
                    })
                    .ok());
    EXPECT_TRUE(payload.has_value());
    return payload ? ParseJsonObject(*payload).value() : json::object();
  }

  std::vector<int64_t> Due(TimeMs at) {
    std::vector<int64_t> due;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(due, tx.DueRequests(at, 100));
                      return OkStatus();
                    })
                    .ok());
    return due;
  }

  RequestContext dana_, eli_, fay_;
};

TEST_P(ApprovalRemindersTest, RemindsAsSystemOncePerPeriodNamingWhoCanStillApprove) {
  Apply(kReminding);
  int64_t id = Request();
  // The request's timer is its first reminder.
  EXPECT_TRUE(Due(kT0 + kDay - 1).empty());
  EXPECT_EQ(Due(kT0 + kDay), std::vector<int64_t>{id});

  clock_.Advance(kDay - 1);
  EXPECT_EQ(Run().examined, 0);
  EXPECT_TRUE(Reminders().empty());

  clock_.Advance(1);
  EXPECT_EQ(Run().examined, 1);
  auto reminders = Reminders();
  ASSERT_EQ(reminders.size(), 1u);
  const json::object& first = reminders[0];
  EXPECT_EQ(first.at("actor").at("name").as_string(), "system");
  EXPECT_EQ(first.at("time").as_string(), FormatRfc3339Ms(kT0 + kDay));
  EXPECT_EQ(first.at("target").at("request").as_int64(), id);
  EXPECT_EQ(first.at("target").at("type").as_string(), "approval_request");
  EXPECT_EQ(first.at("before"), ParseJson(R"({"reminded": null})").value());
  EXPECT_EQ(first.at("after"),
            ParseJson(fmt::format(R"({{"reminded": "{}"}})", FormatRfc3339Ms(kT0 + kDay))).value());
  // The log's event has no recipients; the outbox payload has them, as request.opened's.
  EXPECT_FALSE(first.contains("recipients"));
  json::object sent = Payload(first.at("seq").as_int64());
  EXPECT_EQ(sent["recipients"], ParseJson(R"([{"rule":0,"text":"2 of role:ml-engineer",
      "required":2,"missing":2,"could_approve":["eli","fay"]}])")
                                    .value());

  // Run again at once: nothing more until the next period.
  EXPECT_EQ(Run().examined, 0);
  EXPECT_EQ(Reminders().size(), 1u);

  // eli approves: the next reminder names only who can still count.
  ASSERT_TRUE(approvals_->Approve(eli_, id, {.comment = "one of two"}).ok());
  clock_.Advance(kDay);
  EXPECT_EQ(Run().examined, 1);
  reminders = Reminders();
  ASSERT_EQ(reminders.size(), 2u);
  EXPECT_EQ(reminders[1].at("time").as_string(), FormatRfc3339Ms(kT0 + 2 * kDay));
  sent = Payload(reminders[1].at("seq").as_int64());
  EXPECT_EQ(sent["recipients"], ParseJson(R"([{"rule":0,"text":"2 of role:ml-engineer",
      "required":2,"missing":1,"could_approve":["fay"]}])")
                                    .value());
}

TEST_P(ApprovalRemindersTest, APeriodCountsFromTheLastReminderAfterALongPause) {
  Apply(kReminding);
  int64_t id = Request();
  // The leader was away for three and a half days: one reminder, not three.
  clock_.Advance(3 * kDay + 12 * kHour);
  EXPECT_EQ(Run().examined, 1);
  EXPECT_EQ(Reminders().size(), 1u);
  const TimeMs reminded = kT0 + 3 * kDay + 12 * kHour;
  EXPECT_TRUE(Due(reminded + kDay - 1).empty());
  EXPECT_EQ(Due(reminded + kDay), std::vector<int64_t>{id});
  clock_.Advance(kDay);
  Run();
  ASSERT_EQ(Reminders().size(), 2u);
  EXPECT_EQ(Reminders()[1].at("time").as_string(), FormatRfc3339Ms(reminded + kDay));
}

TEST_P(ApprovalRemindersTest, APolicyWithoutRemindEveryRemindsNobody) {
  Apply(kQuiet);
  Request();
  EXPECT_TRUE(Due(kT0 + 30 * kDay).empty());
  clock_.Advance(30 * kDay);
  Run();
  EXPECT_TRUE(Reminders().empty());
}

TEST_P(ApprovalRemindersTest, AClosedRequestIsNotReminded) {
  Apply(kReminding);
  int64_t rejected = Request();
  ASSERT_TRUE(approvals_->Reject(eli_, rejected, {.comment = "no"}).ok());
  EXPECT_TRUE(Due(kT0 + kDay).empty());
  clock_.Advance(2 * kDay);
  Run();
  EXPECT_TRUE(Reminders().empty());

  int64_t cancelled = Request();
  clock_.Advance(kDay / 2);
  ASSERT_TRUE(approvals_->Cancel(dana_, cancelled, "never mind").ok());
  clock_.Advance(kDay);
  Run();
  EXPECT_TRUE(Reminders().empty());
}

TEST_P(ApprovalRemindersTest, ARequestWhoseRulesAreMetIsNotRemindedWhileItWaits) {
  Apply(kRemindingWithWait);
  auto moved = registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Staging"});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  int64_t id = Request();
  clock_.Advance(kDay);
  Run();
  ASSERT_EQ(Reminders().size(), 1u);  // nobody had approved yet

  ASSERT_TRUE(approvals_->Approve(eli_, id, {.comment = "ok"}).ok());
  clock_.Advance(kDay);
  Run();
  EXPECT_EQ(Reminders().size(), 1u);  // every rule met: the wait is all it waits for
  // The wait ends (three days in Staging) and the request is applied; no reminder after.
  clock_.Advance(kDay);
  Run();
  EXPECT_EQ(Reminders().size(), 1u);
  auto shown = approvals_->ShowRequest(admin_, id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->request.state, store::RequestState::kApplied);
}

INSTANTIATE_TEST_SUITE_P(Stores, ApprovalRemindersTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service
