// The Databricks Workspace Model Registry's transition-request and comment routes on the MLflow
// door
// (/api/2.0/mlflow/transition-requests/…, /api/2.0/mlflow/comments/…), mapped onto vouch's approval
// requests: a transition request is the version's open request for `stage:<stage>`. The shapes are
// those of databricks-sdk's service/ml.py (TransitionRequest, Activity, CommentObject); the rules
// (who may request, approve, cancel, comment) are ApprovalService's. docs/mlflow.md has the
// mapping.
#pragma once

#include <string>
#include <string_view>

#include "vouch/api/router.h"
#include "vouch/service/approvals.h"
#include "vouch/util/json.h"

namespace vouch::api::mlflow {

// Registers the routes under both MLflow prefixes (the door itself is RegisterRoutes').
// `approvals` must outlive the router.
void RegisterTransitionRequestRoutes(Router& router, service::ApprovalService& approvals);

// The target a Databricks `stage` names: "stage:" and the stage as given (ParseTarget reads it
// case-insensitively and refuses what cannot be gated).
std::string StageTarget(std::string_view stage);

// MLflow's stage name of a stage target ("stage:Production" -> "Production"); empty for any other.
std::string_view TargetStage(std::string_view target);

// Activity types of databricks-sdk's ActivityType that vouch emits.
enum class ActivityType { kRequestedTransition, kApprovedRequest, kRejectedRequest, kCancelled };
std::string_view ActivityTypeName(ActivityType t);  // "REQUESTED_TRANSITION", …

// An Activity about request `v`: id (the request's id, as text), activity_type, from_stage,
// to_stage, user_id (`user`), comment, creation and last-update timestamps, and `system_comment`
// when it is not empty.
json::object ActivityJson(const service::RequestView& v, ActivityType type,
                          std::string_view from_stage, std::string_view user,
                          std::string_view comment, TimeMs when, std::string_view system_comment);

// What an approval did, in words, for the approve answer's system_comment: applied, approved and
// waiting for an apply, or still open with what it waits for.
std::string ApprovalOutcome(const service::RequestView& v);

// A TransitionRequest (the create answer): creation_timestamp, to_stage, user_id, comment, and
// available_actions [CANCEL_TRANSITION_REQUEST] (its creator may always cancel it).
json::object TransitionRequestJson(const service::RequestView& v);

// A CommentObject: id (as text), user_id, comment, creation and last-update timestamps, and
// available_actions [EDIT_COMMENT, DELETE_COMMENT] for its author.
json::object CommentObjectJson(const service::CommentView& c, bool by_caller);

}  // namespace vouch::api::mlflow
