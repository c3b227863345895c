// The catalogue of audit actions: every action an event may carry, with the kind of thing it
// targets, whether webhooks may subscribe to it, and what it means. The service names actions by
// `Action` only, so an event cannot carry a name that is not here. The names are the stored
// `action` strings: renaming one would change what existing logs mean, so names are only added.
// docs/api.md (its table of actions) and the `AuditAction` enum of docs/openapi.yaml list the same
// actions in the same order; actions_test.cc holds both files to this one.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace vouch::audit {

// In catalogue order (the order of kActions and of the docs).
enum class Action {
  kModelCreated,
  kModelUpdated,
  kModelRenamed,
  kModelDeleted,
  kModelTagSet,
  kModelTagDeleted,
  kVersionCreated,
  kVersionUpdated,
  kVersionDeleted,
  kVersionTagSet,
  kVersionTagDeleted,
  kVersionMetricSet,
  kVersionMetricDeleted,
  kVersionParamSet,
  kVersionParamDeleted,
  kVersionStageChanged,
  kAliasSet,
  kAliasDeleted,
  kPrincipalCreated,
  kPrincipalUpdated,
  kPrincipalDisabled,
  kPrincipalEnabled,
  kPrincipalPasswordSet,
  kPrincipalDeleted,
  kTokenCreated,
  kTokenRevoked,
  kGroupCreated,
  kGroupDeleted,
  kGroupMemberAdded,
  kGroupMemberRemoved,
  kRoleGranted,
  kRoleRevoked,
  kPermissionGranted,
  kPermissionRevoked,
  kSecretCreated,
  kAccessDenied,
  kPolicyApplied,
  kPolicyRetired,
  kRequestOpened,
  kRequestReviewed,
  kRequestApproved,
  kRequestApplied,
  kRequestRejected,
  kRequestCancelled,
  kRequestExpired,
  kRequestSuperseded,
  kReviewDismissed,
  kCheckPosted,
  kGateBypassed,
  kGateViolated,
  kFollowupClosed,
  kCommentCreated,
  kCommentUpdated,
  kCommentDeleted,
  kRequestReminder,
  kWebhookCreated,
  kWebhookUpdated,
  kWebhookDeleted,
  kDeliveryRedelivered,
  kAuditKeyRotated,
};

// What an event's `target.type` is.
enum class TargetKind {
  kModel,
  kModelVersion,
  kPrincipal,
  kToken,
  kGroup,
  kRole,
  kModelPermission,
  kSecret,
  kRequest,
  kPolicy,           // an approval policy
  kApprovalRequest,  // an approval request (issue 12)
  kWebhook,          // a notification subscription (issue 13)
};

// The `target.type` string: "model", "model_version", "principal", ...
std::string_view TargetKindName(TargetKind kind);

struct ActionInfo {
  Action action;
  std::string_view name;  // the stored string, e.g. "model_version.stage_changed"
  TargetKind target;
  // Whether a webhook may subscribe to it: changes of the registry may; identity, secrets and
  // refusals may not (they would tell an outside endpoint about credentials and attacks).
  bool webhooks;
  std::string_view meaning;  // one line, as docs/api.md shows it
};

// Every action, in catalogue order.
std::span<const ActionInfo> Actions();
const ActionInfo& Describe(Action action);
// The stored name of `action`.
std::string_view ActionName(Action action);
// The action with the stored name `name`, if there is one.
std::optional<Action> FindAction(std::string_view name);

}  // namespace vouch::audit
