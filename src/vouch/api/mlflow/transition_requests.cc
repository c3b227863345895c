#include "vouch/api/mlflow/transition_requests.h"

#include <fmt/format.h>

#include "vouch/api/mlflow/request_fields.h"

namespace vouch::api::mlflow {
namespace {

using service::ApprovalService;
using service::RequestView;
using store::RequestState;

constexpr std::string_view kPrefixes[] = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};
constexpr std::string_view kStagePrefix = "stage:";

constexpr FieldSpec kName{"name", FieldType::kString, true};
constexpr FieldSpec kVersion{"version", FieldType::kString, true};
constexpr FieldSpec kStage{"stage", FieldType::kString, true};
constexpr FieldSpec kComment{"comment", FieldType::kString};
constexpr FieldSpec kRequiredComment{"comment", FieldType::kString, true};
constexpr FieldSpec kId{"id", FieldType::kInt64, true};

HttpResponse Ok(const json::object& o) { return HttpResponse::Json(200, SerializeJson(o)); }

std::string Decimal(int64_t n) { return fmt::format("{}", n); }

// The fields every transition-request call names: the version and the target its stage makes.
struct Addressed {
  RequestFields fields;
  int64_t version = 0;
  std::string target;
};

Result<Addressed> ReadAddressed(const Call& c, std::initializer_list<FieldSpec> schema) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, schema, QuerySource::kReadsAndDelete));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  std::string target = f.Has("stage") ? StageTarget(f.String("stage")) : std::string();
  return Addressed{std::move(f), version, std::move(target)};
}

// The version's active request for the stage the call names (NOT_FOUND when it has none), and
// the version's stage now.
Result<std::pair<RequestView, std::string>> RequestNamed(ApprovalService& s, const Call& c,
                                                         const Addressed& a) {
  VOUCH_ASSIGN_OR_RETURN(service::VersionRequests found,
                         s.ActiveRequests(c.ctx, a.fields.String("name"), a.version, a.target));
  return std::pair{std::move(found.requests.front()), std::move(found.stage)};
}

Result<HttpResponse> CreateRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(Addressed a, ReadAddressed(c, {kName, kVersion, kStage, kComment}));
  service::RequestArgs args{.model = a.fields.String("name"),
                            .version = a.version,
                            .target = a.target,
                            .comment = a.fields.String("comment")};
  VOUCH_ASSIGN_OR_RETURN(RequestView v, s.CreateRequest(c.ctx, args));
  return Ok({{"request", TransitionRequestJson(v)}});
}

Result<HttpResponse> ListRequests(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(Addressed a, ReadAddressed(c, {kName, kVersion}));
  VOUCH_ASSIGN_OR_RETURN(service::VersionRequests found,
                         s.ActiveRequests(c.ctx, a.fields.String("name"), a.version, ""));
  json::array requests;
  for (const RequestView& v : found.requests) {
    // Alias requests have no place among MLflow's stage transitions.
    if (TargetStage(v.request.target).empty()) continue;
    requests.push_back(ActivityJson(v, ActivityType::kRequestedTransition, found.stage, v.requester,
                                    v.request.comment, v.request.created_ms, ""));
  }
  json::object out;
  if (!requests.empty()) out["requests"] = std::move(requests);
  return Ok(out);
}

Result<HttpResponse> Review(ApprovalService& s, const Call& c, bool approve) {
  std::initializer_list<FieldSpec> approve_schema = {
      kName, kVersion, kStage, {"archive_existing_versions", FieldType::kBool, true}, kComment};
  std::initializer_list<FieldSpec> reject_schema = {kName, kVersion, kStage, kComment};
  VOUCH_ASSIGN_OR_RETURN(Addressed a, ReadAddressed(c, approve ? approve_schema : reject_schema));
  VOUCH_ASSIGN_OR_RETURN(auto named, RequestNamed(s, c, a));
  const std::string comment = a.fields.String("comment");
  // archive_existing_versions is read and not obeyed: the governing policy's archive_existing
  // decides what an approved move archives, so that every door moves a version alike.
  service::ReviewArgs args{.comment = comment};
  VOUCH_ASSIGN_OR_RETURN(RequestView v, approve ? s.Approve(c.ctx, named.first.request.id, args)
                                                : s.Reject(c.ctx, named.first.request.id, args));
  std::string user = c.ctx.principal ? c.ctx.principal->name : "";
  return Ok(
      {{"activity",
        ActivityJson(v, approve ? ActivityType::kApprovedRequest : ActivityType::kRejectedRequest,
                     named.second, user, comment, v.request.updated_ms,
                     approve ? ApprovalOutcome(v) : "")}});
}

Result<HttpResponse> ApproveRequest(ApprovalService& s, const Call& c) {
  return Review(s, c, true);
}
Result<HttpResponse> RejectRequest(ApprovalService& s, const Call& c) {
  return Review(s, c, false);
}

Result<HttpResponse> DeleteRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(
      Addressed a,
      ReadAddressed(c, {kName, kVersion, kStage, {"creator", FieldType::kString, true}, kComment}));
  VOUCH_ASSIGN_OR_RETURN(auto named, RequestNamed(s, c, a));
  const std::string creator = a.fields.String("creator");
  if (named.first.requester != creator) {
    return NotFound(fmt::format("no open request by {} for version {} of model {} to {}", creator,
                                a.version, named.first.model, named.first.request.target));
  }
  const std::string comment = a.fields.String("comment");
  VOUCH_ASSIGN_OR_RETURN(RequestView v, s.Cancel(c.ctx, named.first.request.id, comment));
  std::string user = c.ctx.principal ? c.ctx.principal->name : "";
  return Ok({{"activity", ActivityJson(v, ActivityType::kCancelled, named.second, user, comment,
                                       v.request.updated_ms, "")}});
}

bool ByCaller(const Call& c, const service::CommentView& v) {
  return c.ctx.principal && c.ctx.principal->id == v.comment.author_id;
}

Result<HttpResponse> CreateComment(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kName, kVersion, kRequiredComment}));
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseVersion(f.String("version")));
  VOUCH_ASSIGN_OR_RETURN(service::CommentView v,
                         s.CreateComment(c.ctx, f.String("name"), version, f.String("comment")));
  return Ok({{"comment", CommentObjectJson(v, ByCaller(c, v))}});
}

Result<HttpResponse> UpdateComment(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kId, kRequiredComment}));
  VOUCH_ASSIGN_OR_RETURN(service::CommentView v,
                         s.UpdateComment(c.ctx, *f.Int("id"), f.String("comment")));
  return Ok({{"comment", CommentObjectJson(v, ByCaller(c, v))}});
}

Result<HttpResponse> DeleteComment(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kId}, QuerySource::kReadsAndDelete));
  VOUCH_TRY(s.DeleteComment(c.ctx, *f.Int("id")));
  return Ok({});
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  Result<HttpResponse> (*handler)(ApprovalService&, const Call&);
};

// databricks-sdk's ModelRegistryAPI methods and paths; the access is what the service demands at
// least (approving also needs a rule the reviewer satisfies, cancelling the requester or MANAGE,
// changing a comment its author).
constexpr Endpoint kEndpoints[] = {
    {"POST", "transition-requests/create", Access::kModelEdit, CreateRequest},
    {"GET", "transition-requests/list", Access::kModelRead, ListRequests},
    {"POST", "transition-requests/approve", Access::kModelRead, ApproveRequest},
    {"POST", "transition-requests/reject", Access::kModelRead, RejectRequest},
    {"DELETE", "transition-requests/delete", Access::kModelRead, DeleteRequest},
    {"POST", "comments/create", Access::kModelRead, CreateComment},
    {"PATCH", "comments/update", Access::kAuthenticated, UpdateComment},
    {"DELETE", "comments/delete", Access::kAuthenticated, DeleteComment},
};

}  // namespace

std::string StageTarget(std::string_view stage) { return fmt::format("{}{}", kStagePrefix, stage); }

std::string_view TargetStage(std::string_view target) {
  if (!target.starts_with(kStagePrefix)) return {};
  return target.substr(kStagePrefix.size());
}

std::string_view ActivityTypeName(ActivityType t) {
  switch (t) {
    case ActivityType::kRequestedTransition:
      return "REQUESTED_TRANSITION";
    case ActivityType::kApprovedRequest:
      return "APPROVED_REQUEST";
    case ActivityType::kRejectedRequest:
      return "REJECTED_REQUEST";
    case ActivityType::kCancelled:
      return "CANCELLED_REQUEST";
  }
  return "";
}

json::object ActivityJson(const RequestView& v, ActivityType type, std::string_view from_stage,
                          std::string_view user, std::string_view comment, TimeMs when,
                          std::string_view system_comment) {
  json::object o{{"id", Decimal(v.request.id)},
                 {"activity_type", ActivityTypeName(type)},
                 {"from_stage", from_stage},
                 {"to_stage", TargetStage(v.request.target)},
                 {"user_id", user},
                 {"comment", comment},
                 {"creation_timestamp", when},
                 {"last_updated_timestamp", when}};
  if (!system_comment.empty()) o["system_comment"] = system_comment;
  return o;
}

std::string ApprovalOutcome(const RequestView& v) {
  const std::string_view stage = TargetStage(v.request.target);
  switch (v.request.state) {
    case RequestState::kApplied:
      return fmt::format("request {} was applied: version {} moved to {}", v.request.id,
                         v.request.version, stage);
    case RequestState::kApproved:
      return fmt::format(
          "request {} is approved and waits to be applied (transition-stage to {}, or vouch "
          "requests apply {})",
          v.request.id, stage, v.request.id);
    default:
      break;
  }
  std::string why;
  if (v.evaluation) {
    for (const auto& b : v.evaluation->blockers) why += (why.empty() ? "" : "; ") + b;
  }
  return fmt::format("request {} is {}{}{}", v.request.id, store::RequestStateName(v.request.state),
                     why.empty() ? "" : ": ", why);
}

json::object TransitionRequestJson(const RequestView& v) {
  return json::object{{"creation_timestamp", v.request.created_ms},
                      {"to_stage", TargetStage(v.request.target)},
                      {"user_id", v.requester},
                      {"comment", v.request.comment},
                      {"available_actions", json::array{"CANCEL_TRANSITION_REQUEST"}}};
}

json::object CommentObjectJson(const service::CommentView& c, bool by_caller) {
  json::object o{{"id", Decimal(c.comment.id)},
                 {"user_id", c.author},
                 {"comment", c.comment.text},
                 {"creation_timestamp", c.comment.created_ms},
                 {"last_updated_timestamp", c.comment.updated_ms}};
  if (by_caller) o["available_actions"] = json::array{"EDIT_COMMENT", "DELETE_COMMENT"};
  return o;
}

void RegisterTransitionRequestRoutes(Router& router, ApprovalService& approvals) {
  for (std::string_view prefix : kPrefixes) {
    for (const Endpoint& e : kEndpoints) {
      auto handler = e.handler;
      router.Add(std::string(e.method), fmt::format("{}/{}", prefix, e.path), e.access,
                 Door::kMlflow,
                 [&approvals, handler](const Call& c) { return handler(approvals, c); });
    }
  }
}

}  // namespace vouch::api::mlflow
