// comments list | add | edit | delete: comments on versions (issue 12; docs/approvals.md), the
// ones MLflow's comments/* routes make.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"

namespace vouch::cli {
namespace {

struct CommentArgs {
  std::string model;
  std::string version;
  std::string id;
  std::string text;
};

std::vector<Column> CommentColumns() {
  return {TextColumn("id"), TextColumn("author"), TimeColumn("creation_timestamp", "CREATED"),
          TextColumn("text")};
}

// "/api/v1/comments/<id>". INVALID_ARGUMENT unless `id` is a positive integer.
Result<std::string> CommentPath(std::string_view id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, ParsePositiveInt(id, "comment id"));
  return fmt::format("/api/v1/comments/{}", n);
}

}  // namespace

void AddCommentCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<CommentArgs>();
  CLI::App* comments = app.add_subcommand("comments", "Comments on versions");
  comments->require_subcommand(1);

  CLI::App* list = comments->add_subcommand("list", "A version's comments, oldest first");
  list->add_option("MODEL", a->model, "Model name")->required();
  list->add_option("VERSION", a->version, "Version number")->required();
  OnSelect(*list, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = VersionPath(a->model, a->version);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunItems(Get(*path + "/comments"), "comments", CommentColumns());
  });

  CLI::App* add = comments->add_subcommand("add", "Comment on a version");
  add->add_option("MODEL", a->model, "Model name")->required();
  add->add_option("VERSION", a->version, "Version number")->required();
  add->add_option("TEXT", a->text, "The comment")->required();
  OnSelect(*add, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(
        VersionRequest(a->model, a->version, "POST", "/comments", json::object{{"text", a->text}}),
        CommentColumns());
  });

  CLI::App* edit = comments->add_subcommand("edit", "Change a comment's text (its author only)");
  edit->add_option("ID", a->id, "Comment id")->required();
  edit->add_option("TEXT", a->text, "The new text")->required();
  OnSelect(*edit, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = CommentPath(a->id);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunObject(WithBody("PATCH", *path, json::object{{"text", a->text}}), CommentColumns());
  });

  CLI::App* remove =
      comments->add_subcommand("delete", "Delete a comment (its author, or MANAGE on the model)");
  remove->add_option("ID", a->id, "Comment id")->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = CommentPath(a->id);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunWrite(Delete(*path), {fmt::format("Deleted comment {}.", a->id),
                                      json::object{{"comment", a->id}, {"deleted", true}}});
  });
}

}  // namespace vouch::cli
