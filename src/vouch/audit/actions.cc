#include "vouch/audit/actions.h"

#include <array>

namespace vouch::audit {
namespace {

using enum Action;
using enum TargetKind;

constexpr auto kActions = std::to_array<ActionInfo>({
    {kModelCreated, "model.created", kModel, true, "a registered model was created"},
    {kModelUpdated, "model.updated", kModel, true, "a model's description changed"},
    {kModelRenamed, "model.renamed", kModel, true, "a model was renamed"},
    {kModelDeleted, "model.deleted", kModel, true,
     "a model was deleted with its versions and aliases"},
    {kModelTagSet, "model.tag_set", kModel, true, "a tag was set on a model"},
    {kModelTagDeleted, "model.tag_deleted", kModel, true, "a tag was removed from a model"},
    {kVersionCreated, "model_version.created", kModelVersion, true, "a model version was created"},
    {kVersionUpdated, "model_version.updated", kModelVersion, true,
     "a version's description changed"},
    {kVersionDeleted, "model_version.deleted", kModelVersion, true,
     "a version was deleted (its number stays retired)"},
    {kVersionTagSet, "model_version.tag_set", kModelVersion, true, "a tag was set on a version"},
    {kVersionTagDeleted, "model_version.tag_deleted", kModelVersion, true,
     "a tag was removed from a version"},
    {kVersionMetricSet, "model_version.metric_set", kModelVersion, true,
     "a metric was set on a version"},
    {kVersionMetricDeleted, "model_version.metric_deleted", kModelVersion, true,
     "a metric was removed from a version"},
    {kVersionParamSet, "model_version.param_set", kModelVersion, true,
     "a param was set on a version"},
    {kVersionParamDeleted, "model_version.param_deleted", kModelVersion, true,
     "a param was removed from a version"},
    {kVersionStageChanged, "model_version.stage_changed", kModelVersion, true,
     "a version moved to another stage (one event per version moved: the target, and each "
     "version archived by archive_existing)"},
    {kAliasSet, "model_alias.set", kModelVersion, true, "an alias was set to point at a version"},
    {kAliasDeleted, "model_alias.deleted", kModelVersion, true, "an alias was removed"},
    {kPrincipalCreated, "principal.created", kPrincipal, false,
     "a user or service account was created (also the bootstrap admin)"},
    {kPrincipalUpdated, "principal.updated", kPrincipal, false,
     "a principal's display name, e-mail or admin flag changed"},
    {kPrincipalDisabled, "principal.disabled", kPrincipal, false, "a principal was disabled"},
    {kPrincipalEnabled, "principal.enabled", kPrincipal, false, "a principal was enabled again"},
    {kPrincipalPasswordSet, "principal.password_set", kPrincipal, false,
     "a principal's password was set (never the password)"},
    {kPrincipalDeleted, "principal.deleted", kPrincipal, false,
     "a principal was deleted, its tokens revoked and its grants removed"},
    {kTokenCreated, "token.created", kToken, false, "an API token was issued (never the token)"},
    {kTokenRevoked, "token.revoked", kToken, false, "an API token was revoked"},
    {kGroupCreated, "group.created", kGroup, false, "a group was created"},
    {kGroupDeleted, "group.deleted", kGroup, false, "a group was deleted with its grants"},
    {kGroupMemberAdded, "group.member_added", kGroup, false, "a principal joined a group"},
    {kGroupMemberRemoved, "group.member_removed", kGroup, false, "a principal left a group"},
    {kRoleGranted, "role.granted", kRole, false, "a role was granted to a user or group"},
    {kRoleRevoked, "role.revoked", kRole, false, "a role was revoked from a user or group"},
    {kPermissionGranted, "permission.granted", kModelPermission, false,
     "a permission on a model was granted or changed"},
    {kPermissionRevoked, "permission.revoked", kModelPermission, false,
     "a permission on a model was revoked"},
    {kSecretCreated, "secret.created", kSecret, false,
     "a server key was made on first start, sealed under the master key: the page-token key "
     "(`page-token-key`, the name only) and the audit signing key (`audit-signing-key`, with its "
     "verifier key)"},
    {kAccessDenied, "access.denied", kRequest, false,
     "a request was refused (unauthenticated ones aggregated per address, identity and window)"},
    {kPolicyApplied, "policy.applied", kPolicy, true,
     "a policy's new version was published by `policy apply` (name, version, digest and the "
     "change)"},
    {kPolicyRetired, "policy.retired", kPolicy, true,
     "a policy was retired: it gates nothing until applied again"},
    {kRequestOpened, "request.opened", kApprovalRequest, true,
     "an approval request was opened for a version and a target"},
    {kRequestReviewed, "request.reviewed", kApprovalRequest, true,
     "a reviewer signed a request (approve or reject, with meaning and printed name)"},
    {kRequestApproved, "request.approved", kApprovalRequest, true,
     "a request's rules, checks, conditions and timers all hold"},
    {kRequestApplied, "request.applied", kApprovalRequest, true,
     "an approved request's move was made"},
    {kRequestRejected, "request.rejected", kApprovalRequest, true,
     "a reviewer rejected a request, which closed it"},
    {kRequestCancelled, "request.cancelled", kApprovalRequest, true, "a request was cancelled"},
    {kRequestExpired, "request.expired", kApprovalRequest, true,
     "a request outlived its policy's request expiry"},
    {kRequestSuperseded, "request.superseded", kApprovalRequest, true,
     "another version was applied to the request's exclusive target"},
    {kReviewDismissed, "review.dismissed", kApprovalRequest, true,
     "an approval stopped counting because the version's fingerprint changed"},
    {kCheckPosted, "check.posted", kModelVersion, true, "a check's state was posted on a version"},
    {kGateBypassed, "gate.bypassed", kModelVersion, true,
     "a version entered a gated target by break glass"},
    {kGateViolated, "gate.violated", kModelVersion, true,
     "a direct move into an audit_only target went through that enforcement would refuse"},
    {kFollowupClosed, "followup.closed", kApprovalRequest, true,
     "a break-glass request's follow-up review was made"},
    {kCommentCreated, "comment.created", kModelVersion, true, "a comment was made on a version"},
    {kCommentUpdated, "comment.updated", kModelVersion, true,
     "a comment's author changed its text"},
    {kCommentDeleted, "comment.deleted", kModelVersion, true, "a comment was deleted"},
    {kRequestReminder, "request.reminder", kApprovalRequest, true,
     "an open request was still waiting for reviewers when its policy's remind_every came round"},
    {kWebhookCreated, "webhook.created", kWebhook, false,
     "a notification subscription was created (never its secret)"},
    {kWebhookUpdated, "webhook.updated", kWebhook, false,
     "a subscription's URL, events, filter, format, secret or status changed"},
    {kWebhookDeleted, "webhook.deleted", kWebhook, false,
     "a subscription was deleted; its delivery ledger is kept"},
    {kDeliveryRedelivered, "delivery.redelivered", kWebhook, false,
     "dead-lettered deliveries were put back to be sent again"},
    {kAuditKeyRotated, "audit.key_rotated", kSecret, false,
     "the audit log's checkpoint signing key was rotated (the old and the new verifier key); the "
     "old key signs the checkpoint that covers this event"},
});

// The table is indexed by the enum: each entry sits at its own action's place.
constexpr bool InEnumOrder() {
  for (size_t i = 0; i < kActions.size(); ++i) {
    if (static_cast<size_t>(kActions[i].action) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder(), "kActions must list every Action in enum order");
static_assert(kActions.back().action == kAuditKeyRotated, "a new Action needs its kActions entry");

}  // namespace

std::string_view TargetKindName(TargetKind kind) {
  switch (kind) {
    case kModel:
      return "model";
    case kModelVersion:
      return "model_version";
    case kPrincipal:
      return "principal";
    case kToken:
      return "token";
    case kGroup:
      return "group";
    case kRole:
      return "role";
    case kModelPermission:
      return "model_permission";
    case kSecret:
      return "secret";
    case kRequest:
      return "request";
    case kPolicy:
      return "policy";
    case kApprovalRequest:
      return "approval_request";
    case kWebhook:
      return "webhook";
  }
  return "unknown";
}

std::span<const ActionInfo> Actions() { return kActions; }

const ActionInfo& Describe(Action action) { return kActions[static_cast<size_t>(action)]; }

std::string_view ActionName(Action action) { return Describe(action).name; }

std::optional<Action> FindAction(std::string_view name) {
  for (const ActionInfo& info : kActions) {
    if (info.name == name) return info.action;
  }
  return std::nullopt;
}

}  // namespace vouch::audit
