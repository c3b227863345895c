// ApprovalService's requests by version and its comments on versions: what MLflow's (Databricks')
// transition-request and comment routes need, which name a version and a stage, not a request id.
#include <fmt/format.h>

#include <algorithm>

#include "vouch/audit/actions.h"
#include "vouch/policy/target.h"
#include "vouch/service/approvals.h"
#include "vouch/service/events.h"
#include "vouch/service/lookups.h"

namespace vouch::service {

using audit::Action;
using store::ApprovalRequest;
using store::RequestComment;
using store::RequestState;

namespace {

constexpr size_t kMaxCommentText = 5000;  // characters, as a request's comment

Status ValidateCommentText(std::string_view text) {
  if (text.empty()) return InvalidArgument("a comment's text must not be empty");
  if (Utf8Length(text) > kMaxCommentText) {
    return InvalidArgument(
        fmt::format("a comment's text is at most {} characters", kMaxCommentText));
  }
  return OkStatus();
}

Status CommentNotFound(int64_t id) { return NotFound(fmt::format("comment {} not found", id)); }

json::object CommentJson(const RequestComment& c) {
  json::object o{
      {"id", c.id}, {"text", c.text}, {"created_ms", c.created_ms}, {"updated_ms", c.updated_ms}};
  if (c.request_id != 0) o["request"] = c.request_id;
  return o;
}

Result<std::string> UsernameOf(store::Tx& tx, int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> who, tx.FindPrincipalById(id));
  return who ? who->name : std::string();
}

struct LoadedComment {
  CommentView view;
  Model model;
};

// The live comment `id` on a live version, once the caller is found to have `need` on its model.
Result<LoadedComment> LoadComment(store::Tx& tx, const Authorizer& authz, const RequestContext& ctx,
                                  int64_t id, Permission need) {
  if (id <= 0) return InvalidArgument("a comment id is a positive integer");
  VOUCH_ASSIGN_OR_RETURN(std::optional<RequestComment> found, tx.FindComment(id));
  if (!found || found->deleted_ms) return CommentNotFound(id);
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> rows,
                         tx.ListVersionRows(found->model_id, found->version - 1, 1));
  if (rows.empty() || rows[0].version != found->version) return CommentNotFound(id);
  LoadedComment l;
  VOUCH_ASSIGN_OR_RETURN(l.model, ModelFor(tx, authz, ctx, rows[0].model_name, need, true));
  VOUCH_ASSIGN_OR_RETURN(l.view.author, UsernameOf(tx, found->author_id));
  l.view.model = l.model.name;
  l.view.comment = std::move(*found);
  return l;
}

}  // namespace

Result<VersionRequests> ApprovalService::ActiveRequests(const RequestContext& ctx,
                                                        std::string_view model, int64_t version,
                                                        std::string_view target) {
  VOUCH_TRY(Authenticated(ctx));
  if (version <= 0) return InvalidArgument("version must be a positive integer");
  std::string wanted;
  if (!target.empty()) {
    VOUCH_ASSIGN_OR_RETURN(policy::Target t, policy::ParseTarget(target));
    wanted = policy::FormatTarget(t);
  }
  VersionRequests out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    out.model = m.name;
    out.version = v.version;
    out.stage = std::string(StageName(v.stage));
    std::vector<ApprovalRequest> found;
    for (RequestState s : {RequestState::kOpen, RequestState::kApproved}) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<ApprovalRequest> some,
                             tx.ListRequests({.model_id = m.id,
                                              .version = v.version,
                                              .state = s,
                                              .target = wanted,
                                              .limit = 1000}));
      found.insert(found.end(), some.begin(), some.end());
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
    for (const ApprovalRequest& r : found) {
      VOUCH_ASSIGN_OR_RETURN(RequestView view, ViewOf(tx, r, m.name));
      out.requests.push_back(std::move(view));
    }
    if (!wanted.empty() && out.requests.empty()) {
      return NotFound(fmt::format("no open request for version {} of model {} to {}", v.version,
                                  m.name, wanted));
    }
    return OkStatus();
  }));
  return out;
}

Result<CommentView> ApprovalService::CreateComment(const RequestContext& ctx,
                                                   std::string_view model, int64_t version,
                                                   std::string_view text) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  if (version <= 0) return InvalidArgument("version must be a positive integer");
  VOUCH_TRY(ValidateCommentText(text));
  CommentView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    TimeMs now = ctx.Now();
    RequestComment c{.model_id = m.id,
                     .version = v.version,
                     .author_id = ctx.principal->id,
                     .text = std::string(text),
                     .created_ms = now,
                     .updated_ms = now};
    VOUCH_TRY(tx.InsertComment(c));
    AuditEvent e = ModelEvent(ctx, Action::kCommentCreated, m, v.version);
    e.target["comment"] = c.id;
    e.before = nullptr;
    e.after = CommentJson(c);
    VOUCH_TRY(change.Record(std::move(e)));
    out = CommentView{.comment = std::move(c), .model = m.name, .author = ctx.principal->name};
    return OkStatus();
  }));
  return out;
}

Result<CommentView> ApprovalService::UpdateComment(const RequestContext& ctx, int64_t id,
                                                   std::string_view text) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_TRY(ValidateCommentText(text));
  CommentView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(LoadedComment l, LoadComment(tx, authz_, ctx, id, Permission::kRead));
    if (l.view.comment.author_id != ctx.principal->id) {
      return PermissionDenied(fmt::format("only the author of comment {} may change its text", id));
    }
    out = l.view;
    if (l.view.comment.text == text) return change.Unchanged();
    TimeMs now = ctx.Now();
    VOUCH_ASSIGN_OR_RETURN(bool updated, tx.UpdateComment(id, text, now));
    if (!updated) return CommentNotFound(id);
    out.comment.text = std::string(text);
    out.comment.updated_ms = now;
    AuditEvent e = ModelEvent(ctx, Action::kCommentUpdated, l.model, l.view.comment.version);
    e.target["comment"] = id;
    e.before = {{"text", l.view.comment.text}};
    e.after = {{"text", out.comment.text}};
    VOUCH_TRY(change.Record(std::move(e)));
    return OkStatus();
  }));
  return out;
}

Status ApprovalService::DeleteComment(const RequestContext& ctx, int64_t id) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(LoadedComment l, LoadComment(tx, authz_, ctx, id, Permission::kRead));
    if (l.view.comment.author_id != ctx.principal->id) {
      VOUCH_TRY(authz_.Require(tx, ctx, l.model, Permission::kManage));
    }
    VOUCH_ASSIGN_OR_RETURN(bool deleted, tx.DeleteComment(id, ctx.Now()));
    if (!deleted) return CommentNotFound(id);
    AuditEvent e = ModelEvent(ctx, Action::kCommentDeleted, l.model, l.view.comment.version);
    e.target["comment"] = id;
    e.before = CommentJson(l.view.comment);
    e.after = nullptr;
    VOUCH_TRY(change.Record(std::move(e)));
    return OkStatus();
  });
}

Result<std::vector<CommentView>> ApprovalService::ListComments(const RequestContext& ctx,
                                                               std::string_view model,
                                                               int64_t version) {
  VOUCH_TRY(Authenticated(ctx));
  std::vector<CommentView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    VOUCH_ASSIGN_OR_RETURN(std::vector<RequestComment> found, tx.ListComments(m.id, v.version));
    for (auto& c : found) {
      VOUCH_ASSIGN_OR_RETURN(std::string author, UsernameOf(tx, c.author_id));
      out.push_back(CommentView{.comment = std::move(c), .model = m.name, .author = author});
    }
    return OkStatus();
  }));
  return out;
}

}  // namespace vouch::service
