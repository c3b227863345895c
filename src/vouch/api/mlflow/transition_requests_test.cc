#include "vouch/api/mlflow/transition_requests.h"

#include <gtest/gtest.h>

namespace vouch::api::mlflow {
namespace {

service::RequestView View(store::RequestState state) {
  service::RequestView v;
  v.request.id = 12;
  v.request.version = 3;
  v.request.target = "stage:Production";
  v.request.state = state;
  v.request.comment = "ship it";
  v.request.created_ms = 1000;
  v.request.updated_ms = 2000;
  v.model = "fraud";
  v.requester = "dana";
  return v;
}

TEST(MlflowTransitionRequests, AStageNamesAStageTargetAndBack) {
  EXPECT_EQ(StageTarget("production"), "stage:production");
  EXPECT_EQ(TargetStage("stage:Production"), "Production");
  EXPECT_EQ(TargetStage("alias:champion"), "");
}

TEST(MlflowTransitionRequests, ARequestIsWrittenAsDatabricksTransitionRequest) {
  json::object o = TransitionRequestJson(View(store::RequestState::kOpen));
  EXPECT_EQ(SerializeJson(o),
            R"({"creation_timestamp":1000,"to_stage":"Production","user_id":"dana",)"
            R"("comment":"ship it","available_actions":["CANCEL_TRANSITION_REQUEST"]})");
}

TEST(MlflowTransitionRequests, AnActivityCarriesTheRequestIdAsTextAndBothStages) {
  json::object o = ActivityJson(View(store::RequestState::kOpen), ActivityType::kApprovedRequest,
                                "Staging", "eli", "fine", 2000, "request 12 is open");
  EXPECT_EQ(o.at("id").as_string(), "12");
  EXPECT_EQ(o.at("activity_type").as_string(), "APPROVED_REQUEST");
  EXPECT_EQ(o.at("from_stage").as_string(), "Staging");
  EXPECT_EQ(o.at("to_stage").as_string(), "Production");
  EXPECT_EQ(o.at("user_id").as_string(), "eli");
  EXPECT_EQ(o.at("comment").as_string(), "fine");
  EXPECT_EQ(o.at("creation_timestamp").as_int64(), 2000);
  EXPECT_EQ(o.at("system_comment").as_string(), "request 12 is open");
  json::object plain = ActivityJson(View(store::RequestState::kOpen),
                                    ActivityType::kRequestedTransition, "None", "dana", "", 1, "");
  EXPECT_FALSE(plain.contains("system_comment"));
  EXPECT_EQ(plain.at("activity_type").as_string(), "REQUESTED_TRANSITION");
  EXPECT_EQ(ActivityTypeName(ActivityType::kRejectedRequest), "REJECTED_REQUEST");
  EXPECT_EQ(ActivityTypeName(ActivityType::kCancelled), "CANCELLED_REQUEST");
}

TEST(MlflowTransitionRequests, TheApprovalOutcomeSaysWhetherTheVersionMoved) {
  EXPECT_EQ(ApprovalOutcome(View(store::RequestState::kApplied)),
            "request 12 was applied: version 3 moved to Production");
  EXPECT_NE(ApprovalOutcome(View(store::RequestState::kApproved)).find("waits to be applied"),
            std::string::npos);
  service::RequestView open = View(store::RequestState::kOpen);
  open.evaluation = policy::Evaluation{};
  open.evaluation->blockers = {"needs 1 more approval", "check ci/tests"};
  EXPECT_EQ(ApprovalOutcome(open), "request 12 is open: needs 1 more approval; check ci/tests");
}

TEST(MlflowTransitionRequests, OnlyTheAuthorIsOfferedToEditOrDeleteAComment) {
  service::CommentView c;
  c.comment.id = 5;
  c.comment.text = "looks fine";
  c.comment.created_ms = 10;
  c.comment.updated_ms = 20;
  c.author = "eli";
  EXPECT_EQ(
      SerializeJson(CommentObjectJson(c, true)),
      R"({"id":"5","user_id":"eli","comment":"looks fine","creation_timestamp":10,)"
      R"("last_updated_timestamp":20,"available_actions":["EDIT_COMMENT","DELETE_COMMENT"]})");
  EXPECT_FALSE(CommentObjectJson(c, false).contains("available_actions"));
}

}  // namespace
}  // namespace vouch::api::mlflow
