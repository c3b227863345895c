// ApprovalService on both stores (SQLite always, PostgreSQL when VOUCH_TEST_POSTGRES_DSN is set):
// policies applied as code, requests reviewed by people in roles, checks, and the gate on the
// registry's direct moves, with the audit events each change records.
#include "vouch/service/approvals.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "vouch/service/approvals_fixture_test.h"

namespace vouch::service {
namespace {

// The issue's example, adapted: what a unit test can drive without a clock running on.
constexpr char kProduction[] = R"(policies:
  - name: production
    target: stage:Production
    requesters: [{role: data-scientist}, {role: ml-engineer}]
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
      - {from: [{role: business-owner}], count: 1, meaning: approved}
    conditions: ["metrics.auc >= 0.9"]
)";

class ApprovalsTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    policy_ = kProduction;
    Wire("vouch_approvals_test");
    dana_ = User("dana", "data-scientist");
    eli_ = User("eli", "ml-engineer");
    fay_ = User("fay", "ml-engineer");
    bo_ = User("bo", "business-owner");
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    auto v = registry_->CreateVersion(
        dana_, {.model = "fraud", .source = "s3://b/fraud/1", .metrics = {{"auc", 0.95}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }

  Result<RequestView> Approve(const RequestContext& who, int64_t id) {
    return approvals_->Approve(who, id, {.comment = "looks good"});
  }

  // How many events of `action` the log holds.
  int Count(std::string_view action) {
    return static_cast<int>(StoredEvents({.action = std::string(action)}).size());
  }

  RequestContext dana_, eli_, fay_, bo_;
};

TEST_P(ApprovalsTest, NothingIsGatedWhileNoPolicyExists) {
  auto listed = approvals_->ListPolicies(dana_, false);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto moved = registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Production"});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->stage, Stage::kProduction);
  EXPECT_EQ(CodeOf(approvals_->CreateRequest(
                dana_, {.model = "fraud", .version = 1, .target = "stage:Staging"})),
            StatusCode::kFailedPrecondition);
}

TEST_P(ApprovalsTest, OnlyAdminsApplyPolicies) {
  EXPECT_EQ(CodeOf(approvals_->ApplyPolicies(eli_, kProduction)), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("policy.applied"), 0);
}

TEST_P(ApprovalsTest, ApplyPublishesANewVersionOnlyForPoliciesThatChanged) {
  Apply();
  auto again = approvals_->ApplyPolicies(admin_, kProduction);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->policies.size(), 1u);
  EXPECT_EQ(again->policies[0].change, "unchanged");
  EXPECT_EQ(again->policies[0].version, 1);
  EXPECT_EQ(Count("policy.applied"), 1);

  std::string changed = kProduction;
  changed.replace(changed.find("0.9"), 3, "0.92");
  changed += "    break_glass: [{group: sre-oncall}]\n";
  auto updated = approvals_->ApplyPolicies(admin_, changed);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->policies[0].change, "updated");
  EXPECT_EQ(updated->policies[0].version, 2);
  ASSERT_EQ(updated->warnings.size(), 1u);
  EXPECT_NE(updated->warnings[0].find("group:sre-oncall"), std::string::npos);
  auto history = approvals_->PolicyHistory(dana_, "production");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 2u);
  EXPECT_EQ(Count("policy.applied"), 2);
}

TEST_P(ApprovalsTest, ABadPoliciesFileIsRefusedWithItsLineAndColumn) {
  auto bad = approvals_->ApplyPolicies(admin_, "policies:\n  - name: p\n    target: Production\n");
  EXPECT_EQ(CodeOf(bad), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos) << bad.status().message();
}

TEST_P(ApprovalsTest, ADirectMoveIntoAGatedStageIsRefusedNamingThePolicy) {
  Apply();
  auto moved = registry_->SetStage(eli_, {.model = "fraud", .version = 1, .stage = "Production"});
  EXPECT_EQ(CodeOf(moved), StatusCode::kPermissionDenied);
  EXPECT_NE(moved.status().message().find("policy production"), std::string::npos);
  EXPECT_NE(moved.status().message().find("vouch requests create fraud 1 --to stage:Production"),
            std::string::npos)
      << moved.status().message();
  EXPECT_EQ(StageOf(1), Stage::kNone);
  // An ungated stage still moves directly.
  EXPECT_TRUE(registry_->SetStage(eli_, {.model = "fraud", .version = 1, .stage = "Staging"}).ok());
  EXPECT_EQ(StageOf(1), Stage::kStaging);
}

TEST_P(ApprovalsTest, TwoEngineersAndABusinessOwnerApproveAndTheLastApprovalApplies) {
  Apply();
  int64_t id = Request(dana_);
  ASSERT_GT(id, 0);
  auto one = Approve(eli_, id);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->request.state, store::RequestState::kOpen);
  auto pending = approvals_->ShowRequest(dana_, id);
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  ASSERT_TRUE(pending->evaluation.has_value());
  ASSERT_EQ(pending->evaluation->rules.size(), 2u);
  // Who could still count: fay for the engineers' rule (eli counted), bo for the owners'.
  EXPECT_EQ(pending->evaluation->rules[0].could_count, std::vector<std::string>{"fay"});
  EXPECT_EQ(pending->evaluation->rules[1].could_count, std::vector<std::string>{"bo"});
  ASSERT_TRUE(Approve(bo_, id).ok());
  EXPECT_EQ(StageOf(1), Stage::kNone);
  auto last = Approve(fay_, id);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->request.state, store::RequestState::kApplied);
  EXPECT_EQ(StageOf(1), Stage::kProduction);
  EXPECT_EQ(Count("request.opened"), 1);
  EXPECT_EQ(Count("request.reviewed"), 3);
  EXPECT_EQ(Count("request.approved"), 1);
  EXPECT_EQ(Count("request.applied"), 1);

  auto shown = approvals_->ShowRequest(dana_, id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->reviews.size(), 3u);
  EXPECT_EQ(shown->reviews[0].review.printed_name, "Dr eli");
}

TEST_P(ApprovalsTest, TheRequesterCannotApproveTheirOwnRequest) {
  Apply();
  int64_t id = Request(eli_);
  auto own = Approve(eli_, id);
  EXPECT_EQ(CodeOf(own), StatusCode::kPermissionDenied);
  EXPECT_NE(own.status().message().find("requester"), std::string::npos) << own.status().message();
  // Someone no rule names cannot sign either.
  EXPECT_EQ(CodeOf(Approve(dana_, id)), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("request.reviewed"), 0);
}

TEST_P(ApprovalsTest, AServiceAccountNeverApproves) {
  Apply();
  RequestContext robot = User("robot", "ml-engineer", {.kind = PrincipalKind::kServiceAccount});
  int64_t id = Request(dana_);
  EXPECT_EQ(CodeOf(Approve(robot, id)), StatusCode::kPermissionDenied);
}

TEST_P(ApprovalsTest, OneOpenRequestPerVersionAndTarget) {
  Apply();
  Request(dana_);
  EXPECT_EQ(CodeOf(approvals_->CreateRequest(
                eli_, {.model = "fraud", .version = 1, .target = "stage:Production"})),
            StatusCode::kAlreadyExists);
}

TEST_P(ApprovalsTest, ARequesterOutsideTheListedRolesIsRefused) {
  Apply();
  EXPECT_EQ(CodeOf(approvals_->CreateRequest(
                bo_, {.model = "fraud", .version = 1, .target = "stage:Production"})),
            StatusCode::kPermissionDenied);
}

TEST_P(ApprovalsTest, ARejectionClosesTheRequestAndTheVersionMayBeRequestedAgain) {
  Apply();
  int64_t id = Request(dana_);
  auto rejected = approvals_->Reject(bo_, id, {.comment = "no model card"});
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ(rejected->request.state, store::RequestState::kRejected);
  EXPECT_EQ(CodeOf(Approve(eli_, id)), StatusCode::kFailedPrecondition);
  auto gate = approvals_->CheckGate(dana_, "fraud", 1, "stage:Production");
  ASSERT_TRUE(gate.ok());
  EXPECT_EQ(gate->status, "rejected");
  int64_t again = Request(dana_);
  EXPECT_GT(again, id);
  EXPECT_EQ(Count("request.rejected"), 1);
}

TEST_P(ApprovalsTest, AMetricChangeDismissesEarlierApprovals) {
  Apply();
  int64_t id = Request(dana_);
  ASSERT_TRUE(Approve(eli_, id).ok());
  ASSERT_TRUE(Approve(fay_, id).ok());
  ASSERT_TRUE(
      registry_->SetVersionField(dana_, VersionField::kMetric, "fraud", 1, "auc", "", 0.97).ok());
  auto after = Approve(bo_, id);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->request.state, store::RequestState::kOpen);
  EXPECT_EQ(Count("review.dismissed"), 2);
  ASSERT_TRUE(Approve(eli_, id).ok());
  auto last = Approve(fay_, id);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->request.state, store::RequestState::kApplied);
}

TEST_P(ApprovalsTest, AnApprovalOfAnotherFingerprintIsAborted) {
  Apply();
  int64_t id = Request(dana_);
  auto stale =
      approvals_->Approve(eli_, id, {.comment = "ok", .fingerprint = std::string(64, 'a')});
  EXPECT_EQ(CodeOf(stale), StatusCode::kAborted);
}

TEST_P(ApprovalsTest, AFailingCheckBlocksUntilAPassingOneIsPosted) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    checks: [ci/tests]
)");
  int64_t id = Request(dana_);
  ASSERT_TRUE(
      approvals_
          ->PostCheck(dana_,
                      {.model = "fraud", .version = 1, .name = "ci/tests", .state = "failure"})
          .ok());
  auto approved = Approve(eli_, id);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->request.state, store::RequestState::kOpen);
  EXPECT_EQ(StageOf(1), Stage::kNone);
  auto passed = approvals_->PostCheck(
      dana_, {.model = "fraud", .version = 1, .name = "ci/tests", .state = "success"});
  ASSERT_TRUE(passed.ok()) << passed.status().ToString();
  EXPECT_EQ(StageOf(1), Stage::kProduction);
  // Posting the same again is idempotent.
  ASSERT_TRUE(
      approvals_
          ->PostCheck(dana_,
                      {.model = "fraud", .version = 1, .name = "ci/tests", .state = "success"})
          .ok());
  EXPECT_EQ(Count("check.posted"), 2);
}

TEST_P(ApprovalsTest, AManualApprovalIsAppliedByTheDirectMove) {
  Apply(R"(policies:
  - name: champion
    target: alias:champion
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    on_approval: manual
)");
  EXPECT_EQ(CodeOf(registry_->SetAlias(dana_, "fraud", "champion", 1, "")),
            StatusCode::kPermissionDenied);
  int64_t id = Request(dana_, 1, "alias:champion");
  auto approved = Approve(eli_, id);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->request.state, store::RequestState::kApproved);
  ASSERT_TRUE(registry_->CreateVersion(dana_, {.model = "fraud", .source = "s3://b/fraud/2"}).ok());
  int64_t other = Request(dana_, 2, "alias:champion");
  ASSERT_TRUE(registry_->SetAlias(dana_, "fraud", "champion", 1, "").ok());
  auto shown = approvals_->ShowRequest(dana_, id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->request.state, store::RequestState::kApplied);
  // The alias is exclusive: the other version's request can no longer be what it asked for.
  auto superseded = approvals_->ShowRequest(dana_, other);
  ASSERT_TRUE(superseded.ok());
  EXPECT_EQ(superseded->request.state, store::RequestState::kSuperseded);
  // A stage nothing gates is untouched by the alias policy.
  EXPECT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Production"}).ok());
}

TEST_P(ApprovalsTest, TheRequesterCancelsAndOthersNeedManage) {
  Apply();
  int64_t id = Request(dana_);
  EXPECT_EQ(CodeOf(approvals_->Cancel(eli_, id, "")), StatusCode::kPermissionDenied);
  auto cancelled = approvals_->Cancel(dana_, id, "wrong version");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->request.state, store::RequestState::kCancelled);
  EXPECT_EQ(Count("request.cancelled"), 1);
}

TEST_P(ApprovalsTest, ApplyingAnUnsatisfiedRequestSaysWhatIsMissing) {
  Apply();
  int64_t id = Request(dana_);
  auto applied = approvals_->ApplyRequest(dana_, id);
  EXPECT_EQ(CodeOf(applied), StatusCode::kFailedPrecondition);
  EXPECT_NE(applied.status().message().find("ml-engineer"), std::string::npos)
      << applied.status().message();
}

TEST_P(ApprovalsTest, RetiringAPolicyUngatesItsTarget) {
  Apply();
  EXPECT_EQ(CodeOf(approvals_->RetirePolicy(eli_, "production")), StatusCode::kPermissionDenied);
  ASSERT_TRUE(approvals_->RetirePolicy(admin_, "production").ok());
  EXPECT_EQ(CodeOf(approvals_->RetirePolicy(admin_, "production")),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      registry_->SetStage(eli_, {.model = "fraud", .version = 1, .stage = "Production"}).ok());
  EXPECT_EQ(Count("policy.retired"), 1);
}

TEST_P(ApprovalsTest, AVersionHoldingAGatedTargetIsDeletedOnlyAfterLeavingIt) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
)");
  int64_t id = Request(dana_);
  ASSERT_TRUE(Approve(eli_, id).ok());
  ASSERT_EQ(StageOf(1), Stage::kProduction);
  Status refused = registry_->DeleteVersion(admin_, "fraud", 1);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("policy production"), std::string::npos) << refused.message();
  EXPECT_EQ(registry_->DeleteModel(admin_, "fraud").code(), StatusCode::kFailedPrecondition);
  // Leaving a gated target is allowed; then the version may go.
  ASSERT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Archived"}).ok());
  EXPECT_TRUE(registry_->DeleteVersion(admin_, "fraud", 1).ok());
}

TEST_P(ApprovalsTest, APolicyAskingForReauthenticationIsNeverSatisfiedByATokenAlone) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    reauth: true
)");
  int64_t id = Request(dana_);
  EXPECT_EQ(CodeOf(Approve(eli_, id)), StatusCode::kReauthRequired);
  EXPECT_EQ(StageOf(1), Stage::kNone);
}

TEST_P(ApprovalsTest, ChangingWhichPolicyGovernsAHeldTargetNeedsAnAdmin) {
  Apply(R"(policies:
  - name: high-risk
    target: stage:Production
    match: {tags: {risk: high}}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
)");
  // Not governed yet: the model has no risk tag.
  ASSERT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Production"}).ok());
  auto refused = registry_->SetModelTag(dana_, "fraud", "risk", "high");
  EXPECT_EQ(CodeOf(refused), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("high-risk"), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(registry_->SetModelTag(dana_, "fraud", "team", "risk").ok());
  ASSERT_TRUE(registry_->SetModelTag(admin_, "fraud", "risk", "high").ok());
  EXPECT_EQ(CodeOf(registry_->DeleteModelTag(dana_, "fraud", "risk")),
            StatusCode::kPermissionDenied);
  std::vector<store::StoredAuditEvent> events;
  ASSERT_TRUE(env_->store()
                  .Read([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(
                        events, tx.ListAuditEvents({.action = "model.tag_set", .limit = 100}));
                    return OkStatus();
                  })
                  .ok());
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().body.find(R"("governance":[{"from":null,"target":"stage:Production")"),
            std::string::npos)
      << events.back().body;
}

TEST_P(ApprovalsTest, ConcurrentApprovalsApplyExactlyOnce) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    archive_existing: true
)");
  std::vector<RequestContext> engineers;
  for (int i = 0; i < 8; ++i) engineers.push_back(User(fmt::format("eng{}", i), "ml-engineer"));
  int64_t id = Request(dana_);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (const auto& e : engineers) {
    threads.emplace_back([&, e] {
      if (Approve(e, id).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(Count("request.applied"), 1);
  EXPECT_EQ(Count("model_version.stage_changed"), 1);
  EXPECT_EQ(StageOf(1), Stage::kProduction);
}

TEST_P(ApprovalsTest, ActiveRequestsFindTheVersionsOpenRequestForAStageInAnyCase) {
  Apply();
  int64_t id = Request(dana_);
  auto found = approvals_->ActiveRequests(eli_, "fraud", 1, "stage:production");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->requests.size(), 1u);
  EXPECT_EQ(found->requests[0].request.id, id);
  EXPECT_EQ(found->requests[0].requester, "dana");
  EXPECT_EQ(found->stage, "None");
  EXPECT_EQ(approvals_->ActiveRequests(eli_, "fraud", 1, "").value().requests.size(), 1u);
  EXPECT_EQ(CodeOf(approvals_->ActiveRequests(eli_, "fraud", 1, "stage:Staging")),
            StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(approvals_->ActiveRequests(eli_, "fraud", 1, "stage:Bogus")),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(approvals_->ActiveRequests(eli_, "fraud", 9, "")), StatusCode::kNotFound);
  ASSERT_TRUE(approvals_->Cancel(dana_, id, "not yet").ok());
  EXPECT_EQ(CodeOf(approvals_->ActiveRequests(eli_, "fraud", 1, "stage:Production")),
            StatusCode::kNotFound);
}

TEST_P(ApprovalsTest, OnlyTheAuthorChangesACommentAndEveryChangeIsAudited) {
  auto made = approvals_->CreateComment(eli_, "fraud", 1, "needs a bias scan");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->author, "eli");
  const int64_t id = made->comment.id;
  EXPECT_EQ(CodeOf(approvals_->UpdateComment(fay_, id, "mine now")), StatusCode::kPermissionDenied);
  auto changed = approvals_->UpdateComment(eli_, id, "needs a bias scan first");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->comment.text, "needs a bias scan first");
  ASSERT_TRUE(approvals_->UpdateComment(eli_, id, "needs a bias scan first").ok());
  EXPECT_EQ(Count("comment.created"), 1);
  EXPECT_EQ(Count("comment.updated"), 1);  // the same text again changed nothing
  auto listed = approvals_->ListComments(fay_, "fraud", 1);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].comment.text, "needs a bias scan first");
  EXPECT_EQ(CodeOf(approvals_->CreateComment(eli_, "fraud", 1, "")), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(approvals_->CreateComment(eli_, "fraud", 1, std::string(5001, 'x'))),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(approvals_->CreateComment(eli_, "fraud", 2, "x")), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(approvals_->UpdateComment(eli_, id + 100, "x")), StatusCode::kNotFound);
}

TEST_P(ApprovalsTest, ACommentIsDeletedByItsAuthorOrByAManagerOnly) {
  auto first = approvals_->CreateComment(eli_, "fraud", 1, "one");
  auto second = approvals_->CreateComment(eli_, "fraud", 1, "two");
  ASSERT_TRUE(first.ok() && second.ok());
  // fay has EDIT (the default permission here), not MANAGE.
  EXPECT_EQ(approvals_->DeleteComment(fay_, first->comment.id).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(approvals_->DeleteComment(eli_, first->comment.id).ok());
  EXPECT_TRUE(approvals_->DeleteComment(admin_, second->comment.id).ok());
  EXPECT_EQ(approvals_->DeleteComment(eli_, first->comment.id).code(), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(approvals_->UpdateComment(eli_, first->comment.id, "back")),
            StatusCode::kNotFound);
  EXPECT_EQ(Count("comment.deleted"), 2);
  EXPECT_TRUE(approvals_->ListComments(fay_, "fraud", 1).value().empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, ApprovalsTest, ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service
