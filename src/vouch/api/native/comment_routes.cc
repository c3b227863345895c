// Comments on versions (issue 12) in the native API: the comments MLflow's comments/* routes make,
// listed, made, changed and deleted under /api/v1. Who may do what is ApprovalService's to decide.
#include <fmt/format.h>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/service/approvals.h"

namespace vouch::api::native {
namespace {

using service::ApprovalService;
using service::CommentView;

json::object CommentJson(const CommentView& c) {
  return json::object{{"id", c.comment.id},
                      {"model", c.model},
                      {"version", c.comment.version},
                      {"author", c.author},
                      {"text", c.comment.text},
                      {"creation_timestamp", c.comment.created_ms},
                      {"last_updated_timestamp", c.comment.updated_ms}};
}

Result<std::string> TextOf(const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"text"}));
  return RequiredString(body, "text");
}

Result<HttpResponse> ListComments(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseInt("version", c.path.at("n")));
  VOUCH_ASSIGN_OR_RETURN(std::vector<CommentView> found,
                         s.ListComments(c.ctx, c.path.at("name"), version));
  json::array items;
  for (const auto& comment : found) items.push_back(CommentJson(comment));
  return Ok({{"comments", std::move(items)}});
}

Result<HttpResponse> CreateComment(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseInt("version", c.path.at("n")));
  VOUCH_ASSIGN_OR_RETURN(std::string text, TextOf(c));
  VOUCH_ASSIGN_OR_RETURN(CommentView made,
                         s.CreateComment(c.ctx, c.path.at("name"), version, text));
  return Ok(CommentJson(made), 201);
}

Result<HttpResponse> UpdateComment(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, ParseInt("comment id", c.path.at("id")));
  VOUCH_ASSIGN_OR_RETURN(std::string text, TextOf(c));
  VOUCH_ASSIGN_OR_RETURN(CommentView changed, s.UpdateComment(c.ctx, id, text));
  return Ok(CommentJson(changed));
}

Result<HttpResponse> DeleteComment(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, ParseInt("comment id", c.path.at("id")));
  return Empty(s.DeleteComment(c.ctx, id));
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  Result<HttpResponse> (*handler)(ApprovalService&, const Call&);
};

// Paths below kPrefix. A comment named by id declares kAuthenticated; the service checks its
// model's permission and its author (approvals.h).
constexpr Endpoint kEndpoints[] = {
    {"GET", "/models/{name}/versions/{n}/comments", Access::kModelRead, ListComments},
    {"POST", "/models/{name}/versions/{n}/comments", Access::kModelRead, CreateComment},
    {"PATCH", "/comments/{id}", Access::kAuthenticated, UpdateComment},
    {"DELETE", "/comments/{id}", Access::kAuthenticated, DeleteComment},
};

}  // namespace

void RegisterCommentRoutes(Router& router, ApprovalService& approvals) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&approvals, handler](const Call& c) { return handler(approvals, c); });
  }
}

}  // namespace vouch::api::native
