// Break glass and its follow-up, and `gate_removal`, on both stores (SQLite always, PostgreSQL when
// VOUCH_TEST_POSTGRES_DSN is set): ApprovalService behind the registry's direct moves, with the
// audit events each change records and their payloads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "vouch/service/approvals_fixture_test.h"

namespace vouch::service {
namespace {

// Two engineers approve; the on-call group may break the glass.
constexpr char kProduction[] = R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
    break_glass: [{group: sre-oncall}]
)";

class BreakGlassTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    policy_ = kProduction;
    Wire("vouch_breakglass_test");
    dana_ = User("dana", "data-scientist");
    eli_ = User("eli", "ml-engineer");
    fay_ = User("fay", "ml-engineer");
    sam_ = User("sam", "");
    ASSERT_TRUE(identity_->CreateGroup(admin_, "sre-oncall", "on call").ok());
    ASSERT_TRUE(identity_->AddMember(admin_, "sre-oncall", "sam").ok());
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    for (int i = 1; i <= 2; ++i) {
      auto v = registry_->CreateVersion(
          dana_, {.model = "fraud", .source = fmt::format("s3://b/fraud/{}", i)});
      ASSERT_TRUE(v.ok()) << v.status().ToString();
    }
  }

  Result<RequestView> BreakGlass(const RequestContext& who, int64_t version = 1,
                                 std::string target = "stage:Production",
                                 std::string reason = "INC-42: fraud spike") {
    return approvals_->CreateRequest(who, {.model = "fraud",
                                           .version = version,
                                           .target = std::move(target),
                                           .break_glass = true,
                                           .reason = std::move(reason)});
  }

  // The events of `action`, oldest first, parsed.
  std::vector<json::object> Events(std::string_view action) {
    std::vector<json::object> out = ParsedEvents({.action = std::string(action)});
    std::sort(out.begin(), out.end(), [](const json::object& a, const json::object& b) {
      return a.at("seq").to_number<int64_t>() < b.at("seq").to_number<int64_t>();
    });
    return out;
  }
  int Count(std::string_view action) { return static_cast<int>(Events(action).size()); }

  RequestContext dana_, eli_, fay_, sam_;
};

// ---- Break glass.

TEST_P(BreakGlassTest, BreakGlassBySomeoneListedAppliesAtOnceAndOpensAFollowUp) {
  Apply();
  auto r = BreakGlass(sam_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->request.state, store::RequestState::kApplied);
  EXPECT_TRUE(r->request.break_glass);
  EXPECT_EQ(r->request.break_glass_reason, "INC-42: fraud spike");
  EXPECT_EQ(r->request.comment, "INC-42: fraud spike");
  EXPECT_EQ(r->request.followup_state, store::FollowupState::kOpen);
  ASSERT_TRUE(r->evaluation.has_value());
  EXPECT_EQ(r->evaluation->outcome, policy::Outcome::kBrokenGlass);
  EXPECT_EQ(StageOf(1), Stage::kProduction);

  auto bypassed = Events("gate.bypassed");
  ASSERT_EQ(bypassed.size(), 1u);
  const json::object& after = bypassed[0].at("after").as_object();
  EXPECT_EQ(after.at("policy").as_string(), "production");
  EXPECT_EQ(after.at("policy_version").to_number<int64_t>(), 1);
  EXPECT_EQ(after.at("request").to_number<int64_t>(), r->request.id);
  EXPECT_EQ(after.at("reason").as_string(), "INC-42: fraud spike");
  EXPECT_EQ(after.at("followup").as_string(), "open");
  EXPECT_EQ(after.at("fingerprint").as_string(), r->request.fingerprint);
  EXPECT_EQ(bypassed[0].at("target").as_object().at("version").to_number<int64_t>(), 1);
  EXPECT_EQ(Count("request.opened"), 1);
  EXPECT_EQ(Count("request.applied"), 1);
  EXPECT_EQ(Count("model_version.stage_changed"), 1);

  // gate check says the version holds the target by break glass.
  auto gate = approvals_->CheckGate(dana_, "fraud", 1, "stage:Production");
  ASSERT_TRUE(gate.ok()) << gate.status().ToString();
  EXPECT_EQ(gate->status, "holds");
  EXPECT_TRUE(gate->break_glass);
  // And the open follow-ups list it.
  auto followups = approvals_->ListRequests(eli_, {.followups = true});
  ASSERT_TRUE(followups.ok()) << followups.status().ToString();
  ASSERT_EQ(followups->size(), 1u);
  EXPECT_EQ((*followups)[0].request.id, r->request.id);
}

TEST_P(BreakGlassTest, BreakGlassArchivesTheOthersUnderArchiveExisting) {
  // Archived by another version's entry is not leaving by choice: gate_removal does not stop it.
  Apply(std::string(kProduction) + "    archive_existing: true\n    gate_removal: true\n");
  ASSERT_TRUE(BreakGlass(sam_, 1).ok());
  auto second = BreakGlass(sam_, 2, "stage:Production", "INC-43: rollback");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(StageOf(2), Stage::kProduction);
  EXPECT_EQ(StageOf(1), Stage::kArchived);
  EXPECT_EQ(Count("gate.bypassed"), 2);
}

TEST_P(BreakGlassTest, AnAdminNotListedCannotBreakTheGlass) {
  Apply();
  auto r = BreakGlass(admin_);
  EXPECT_EQ(CodeOf(r), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("group:sre-oncall"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(CodeOf(BreakGlass(eli_)), StatusCode::kPermissionDenied);
  EXPECT_EQ(StageOf(1), Stage::kNone);
  EXPECT_EQ(Count("request.opened"), 0);
  EXPECT_EQ(Count("gate.bypassed"), 0);
}

TEST_P(BreakGlassTest, APolicyWithoutABreakGlassListLetsNobodyBreakIt) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
)");
  auto r = BreakGlass(sam_);
  EXPECT_EQ(CodeOf(r), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("names nobody in break_glass"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(StageOf(1), Stage::kNone);
}

TEST_P(BreakGlassTest, BreakGlassNeedsABoundedReason) {
  Apply();
  EXPECT_EQ(CodeOf(BreakGlass(sam_, 1, "stage:Production", "")), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(BreakGlass(sam_, 1, "stage:Production", "  \t")), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(BreakGlass(sam_, 1, "stage:Production", std::string(1001, 'x'))),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(approvals_->CreateRequest(dana_, {.model = "fraud",
                                                     .version = 1,
                                                     .target = "stage:Production",
                                                     .reason = "not break glass"})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StageOf(1), Stage::kNone);
  EXPECT_EQ(Count("request.opened"), 0);
  // The longest reason is taken.
  EXPECT_TRUE(BreakGlass(sam_, 1, "stage:Production", std::string(1000, 'x')).ok());
}

TEST_P(BreakGlassTest, AnotherEligibleReviewerClosesTheFollowUpWithoutMovingAnything) {
  Apply();
  auto r = BreakGlass(sam_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int64_t id = r->request.id;
  // Not the one who broke the glass, nor someone no rule names.
  auto own = approvals_->Approve(sam_, id, {.comment = "fine"});
  EXPECT_EQ(CodeOf(own), StatusCode::kPermissionDenied);
  EXPECT_NE(own.status().message().find("someone else"), std::string::npos)
      << own.status().message();
  EXPECT_EQ(CodeOf(approvals_->Approve(dana_, id, {.comment = "fine"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("followup.closed"), 0);

  auto closed = approvals_->Approve(eli_, id, {.comment = "checked the incident"});
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->request.state, store::RequestState::kApplied);
  EXPECT_EQ(closed->request.followup_state, store::FollowupState::kClosed);
  EXPECT_TRUE(closed->request.followup_closed_ms.has_value());
  EXPECT_EQ(StageOf(1), Stage::kProduction);

  auto events = Events("followup.closed");
  ASSERT_EQ(events.size(), 1u);
  const json::object& after = events[0].at("after").as_object();
  EXPECT_EQ(after.at("decision").as_string(), "approve");
  EXPECT_EQ(after.at("comment").as_string(), "checked the incident");
  EXPECT_EQ(after.at("printed_name").as_string(), "Dr eli");
  EXPECT_EQ(events[0].at("target").as_object().at("request").to_number<int64_t>(), id);
  EXPECT_EQ(events[0].at("comment").as_string(), "checked the incident");
  EXPECT_EQ(Count("request.reviewed"), 1);

  // Closed once: a second review is refused, and nothing is listed as open any more.
  EXPECT_EQ(CodeOf(approvals_->Approve(fay_, id, {.comment = "me too"})),
            StatusCode::kFailedPrecondition);
  auto followups = approvals_->ListRequests(eli_, {.followups = true});
  ASSERT_TRUE(followups.ok());
  EXPECT_TRUE(followups->empty());
}

TEST_P(BreakGlassTest, ARejectedFollowUpClosesButNeverMovesTheVersionBack) {
  Apply();
  auto r = BreakGlass(sam_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto rejected = approvals_->Reject(fay_, r->request.id, {.comment = "no incident on record"});
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ(rejected->request.state, store::RequestState::kApplied);
  EXPECT_EQ(rejected->request.followup_state, store::FollowupState::kClosed);
  EXPECT_EQ(StageOf(1), Stage::kProduction);
  auto events = Events("followup.closed");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("after").as_object().at("decision").as_string(), "reject");
  EXPECT_EQ(Count("request.rejected"), 0);
}

TEST_P(BreakGlassTest, AnOrdinaryAppliedRequestHasNoFollowUpToReview) {
  Apply();
  auto r = approvals_->CreateRequest(
      dana_, {.model = "fraud", .version = 1, .target = "stage:Production"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(approvals_->Approve(eli_, r->request.id, {}).ok());
  ASSERT_TRUE(approvals_->Approve(fay_, r->request.id, {}).ok());
  ASSERT_EQ(StageOf(1), Stage::kProduction);
  EXPECT_EQ(CodeOf(approvals_->Approve(admin_, r->request.id, {})),
            StatusCode::kFailedPrecondition);
  auto gate = approvals_->CheckGate(dana_, "fraud", 1, "stage:Production");
  ASSERT_TRUE(gate.ok());
  EXPECT_EQ(gate->status, "holds");
  EXPECT_FALSE(gate->break_glass);
}

// ---- gate_removal.

// Entering needs a condition version 1 does not meet (it enters by break glass); leaving is
// judged by the rules alone.
constexpr char kRemoval[] = R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    conditions: ["metrics.auc >= 0.9"]
    break_glass: [{group: sre-oncall}]
    gate_removal: true
  - name: champion
    target: alias:champion
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    on_approval: manual
    gate_removal: true
)";

TEST_P(BreakGlassTest, GateRemovalRefusesADemotionWithoutARequestAndAnAppliedOneLeaves) {
  Apply(kRemoval);
  ASSERT_TRUE(BreakGlass(sam_).ok());
  ASSERT_EQ(StageOf(1), Stage::kProduction);
  for (const char* to : {"Staging", "Archived", "None"}) {
    auto moved = registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = to});
    EXPECT_EQ(CodeOf(moved), StatusCode::kPermissionDenied) << to;
    EXPECT_NE(moved.status().message().find("vouch requests create fraud 1 --leave "
                                            "stage:Production"),
              std::string::npos)
        << moved.status().message();
  }
  EXPECT_EQ(StageOf(1), Stage::kProduction);

  auto leave = approvals_->CreateRequest(
      dana_, {.model = "fraud", .version = 1, .target = "leave:stage:Production"});
  ASSERT_TRUE(leave.ok()) << leave.status().ToString();
  EXPECT_EQ(leave->request.target, "leave:stage:Production");
  EXPECT_EQ(leave->request.state, store::RequestState::kOpen);
  // The entry condition does not judge leaving; the rule does.
  ASSERT_TRUE(leave->evaluation.has_value());
  EXPECT_TRUE(leave->evaluation->conditions.empty());
  EXPECT_EQ(StageOf(1), Stage::kProduction);
  auto approved = approvals_->Approve(eli_, leave->request.id, {.comment = "retire it"});
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->request.state, store::RequestState::kApplied);
  EXPECT_EQ(StageOf(1), Stage::kArchived);
  auto moves = Events("model_version.stage_changed");
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[1].at("before").as_object().at("stage").as_string(), "Production");
  EXPECT_EQ(moves[1].at("after").as_object().at("stage").as_string(), "Archived");
  EXPECT_EQ(Count("request.applied"), 2);
}

TEST_P(BreakGlassTest, GateRemovalRefusesAnAliasDeleteUntilARemovalRequestIsApproved) {
  Apply(kRemoval);
  auto enter = approvals_->CreateRequest(
      dana_, {.model = "fraud", .version = 1, .target = "alias:champion"});
  ASSERT_TRUE(enter.ok()) << enter.status().ToString();
  ASSERT_TRUE(approvals_->Approve(eli_, enter->request.id, {}).ok());
  ASSERT_TRUE(approvals_->ApplyRequest(dana_, enter->request.id).ok());

  Status refused = registry_->DeleteAlias(admin_, "fraud", "champion", "");
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("policy champion"), std::string::npos) << refused.message();
  EXPECT_TRUE(registry_->GetVersionByAlias(dana_, "fraud", "champion").ok());
  EXPECT_EQ(Count("model_alias.deleted"), 0);

  // A removal request needs the version to hold the target.
  EXPECT_EQ(CodeOf(approvals_->CreateRequest(
                dana_, {.model = "fraud", .version = 2, .target = "leave:alias:champion"})),
            StatusCode::kFailedPrecondition);
  auto leave = approvals_->CreateRequest(
      dana_, {.model = "fraud", .version = 1, .target = "leave:alias:champion"});
  ASSERT_TRUE(leave.ok()) << leave.status().ToString();
  auto approved = approvals_->Approve(eli_, leave->request.id, {});
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  // on_approval: manual — it waits, and the direct delete applies it.
  EXPECT_EQ(approved->request.state, store::RequestState::kApproved);
  ASSERT_TRUE(registry_->DeleteAlias(admin_, "fraud", "champion", "").ok());
  EXPECT_EQ(CodeOf(registry_->GetVersionByAlias(dana_, "fraud", "champion")),
            StatusCode::kInvalidArgument);
  auto shown = approvals_->ShowRequest(dana_, leave->request.id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->request.state, store::RequestState::kApplied);
  EXPECT_EQ(Count("model_alias.deleted"), 1);
}

TEST_P(BreakGlassTest, WithoutGateRemovalLeavingIsAllowedAndAudited) {
  Apply();
  ASSERT_TRUE(BreakGlass(sam_).ok());
  auto moved = registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Staging"});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(StageOf(1), Stage::kStaging);
  auto moves = Events("model_version.stage_changed");
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[1].at("before").as_object().at("stage").as_string(), "Production");
  EXPECT_EQ(moves[1].at("after").as_object().at("stage").as_string(), "Staging");
  EXPECT_EQ(moves[1].at("actor").as_object().at("name").as_string(), "dana");
  // And a removal request is refused: there is nothing to gate.
  ASSERT_TRUE(BreakGlass(sam_, 2).ok());
  EXPECT_EQ(CodeOf(approvals_->CreateRequest(
                dana_, {.model = "fraud", .version = 2, .target = "leave:stage:Production"})),
            StatusCode::kFailedPrecondition);
}

TEST_P(BreakGlassTest, UnderAuditOnlyLeavingIsLetThroughAndRecordedAsAViolation) {
  Apply(std::string(kProduction) + "    gate_removal: true\n    enforcement: audit_only\n");
  ASSERT_TRUE(BreakGlass(sam_).ok());
  ASSERT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Archived"}).ok());
  EXPECT_EQ(StageOf(1), Stage::kArchived);
  auto violated = Events("gate.violated");
  ASSERT_EQ(violated.size(), 1u);
  EXPECT_TRUE(violated[0].at("after").as_object().at("leave").as_bool());
  EXPECT_EQ(violated[0].at("target").as_object().at("from").as_string(), "stage:Production");
}

TEST_P(BreakGlassTest, BreakGlassMayPullAVersionOutOfAGatedTarget) {
  Apply(kRemoval);
  ASSERT_TRUE(BreakGlass(sam_).ok());
  auto out = approvals_->CreateRequest(sam_, {.model = "fraud",
                                              .version = 1,
                                              .target = "leave:stage:Production",
                                              .break_glass = true,
                                              .reason = "INC-44: bad predictions"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->request.state, store::RequestState::kApplied);
  EXPECT_EQ(out->request.followup_state, store::FollowupState::kOpen);
  EXPECT_EQ(StageOf(1), Stage::kArchived);
  EXPECT_EQ(Count("gate.bypassed"), 2);
}

INSTANTIATE_TEST_SUITE_P(Stores, BreakGlassTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service
