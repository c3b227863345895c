// versions create | list | get | update | delete, stage set, alias set | get | delete.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"

namespace vouch::cli {
namespace {

// Bound to the options of every subcommand here; only the one that parsing selects is read.
struct VersionArgs {
  std::string name;
  std::string version;
  std::string source;
  std::string run_id;
  std::string model_id;
  std::string description;
  std::vector<std::string> metrics;
  std::vector<std::string> params;
  std::vector<std::string> tags;
  std::string artifact_digest;
  std::string artifact_file;
  std::string stage;
  bool archive_existing = false;
  std::string comment;
  std::string alias;
};

Result<HttpRequest> CreateVersionRequest(const VersionArgs& a) {
  json::object body{{"source", a.source}};
  for (const auto& [field, value] :
       {std::pair{"run_id", &a.run_id}, std::pair{"model_id", &a.model_id},
        std::pair{"description", &a.description}}) {
    if (!value->empty()) body[field] = *value;
  }
  VOUCH_ASSIGN_OR_RETURN(json::object tags, ParseStringPairs(a.tags, "--tag"));
  VOUCH_ASSIGN_OR_RETURN(json::object metrics, ParseMetricPairs(a.metrics, "--metric"));
  VOUCH_ASSIGN_OR_RETURN(json::object params, ParseStringPairs(a.params, "--param"));
  if (!tags.empty()) body["tags"] = std::move(tags);
  if (!metrics.empty()) body["metrics"] = std::move(metrics);
  if (!params.empty()) body["params"] = std::move(params);
  if (!a.artifact_digest.empty()) {
    VOUCH_TRY(ValidateArtifactDigest(a.artifact_digest));
    body["artifact_digest"] = a.artifact_digest;
  } else if (!a.artifact_file.empty()) {
    VOUCH_ASSIGN_OR_RETURN(std::string digest, FileSha256Digest(a.artifact_file));
    body["artifact_digest"] = digest;
  }
  return WithBody("POST", ModelPath(a.name) + "/versions", body);
}

Result<HttpRequest> SetStageRequest(const VersionArgs& a) {
  json::object body{{"stage", a.stage}};
  if (a.archive_existing) body["archive_existing"] = true;
  if (!a.comment.empty()) body["comment"] = a.comment;
  return VersionRequest(a.name, a.version, "POST", "/stage", std::move(body));
}

std::string AliasPath(const VersionArgs& a) {
  return ModelPath(a.name) + "/aliases/" + PathSegment(a.alias);
}

Result<HttpRequest> SetAliasRequest(const VersionArgs& a) {
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParsePositiveInt(a.version, "version"));
  json::object body{{"version", version}};
  if (!a.comment.empty()) body["comment"] = a.comment;
  return WithBody("PUT", AliasPath(a), body);
}

// NAME and N, the two positionals most commands here start with.
void AddVersionPositionals(CLI::App& command, VersionArgs& a) {
  command.add_option("NAME", a.name, "Model name")->required();
  command.add_option("N", a.version, "Version number")->required();
}

void AddVersionsGroup(CLI::App& app, Action& chosen, const std::shared_ptr<VersionArgs>& a) {
  CLI::App* versions = app.add_subcommand("versions", "Register, list, read and delete versions");
  versions->require_subcommand(1);

  CLI::App* create = versions->add_subcommand("create", "Register a new version of a model");
  create->add_option("NAME", a->name, "Model name")->required();
  create->add_option("--source", a->source, "Where the model's files are (URI)")->required();
  create->add_option("--run-id", a->run_id, "Training run that produced it");
  create->add_option("--model-id", a->model_id, "Logged-model id");
  create->add_option("--description", a->description, "Description");
  AddRepeated(*create, "--metric", a->metrics, "Metric as KEY=NUMBER (repeatable)");
  AddRepeated(*create, "--param", a->params, "Parameter as KEY=VALUE (repeatable)");
  AddRepeated(*create, "--tag", a->tags, "Tag as KEY=VALUE (repeatable)");
  CLI::Option* digest = create->add_option("--artifact-digest", a->artifact_digest,
                                           "sha256:<64 hex> of the artifact");
  create->add_option("--artifact", a->artifact_file, "Local artifact file to compute the digest of")
      ->excludes(digest);
  OnSelect(*create, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(CreateVersionRequest(*a), VersionColumns());
  });

  CLI::App* list = versions->add_subcommand("list", "List a model's versions");
  list->add_option("NAME", a->name, "Model name")->required();
  OnSelect(*list, chosen, [a](Session& s, const Clock&) {
    return s.RunList(ListRequest{
        ModelPath(a->name) + "/versions", {}, "versions", std::nullopt, VersionColumns()});
  });

  CLI::App* get = versions->add_subcommand("get", "Show one version");
  AddVersionPositionals(*get, *a);
  OnSelect(*get, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(VersionRequest(a->name, a->version, "GET"), VersionColumns());
  });

  CLI::App* update = versions->add_subcommand("update", "Change a version's description");
  AddVersionPositionals(*update, *a);
  update->add_option("--description", a->description, "New description")->required();
  OnSelect(*update, chosen, [a](Session& s, const Clock&) {
    json::object body{{"description", a->description}};
    return s.RunObject(VersionRequest(a->name, a->version, "PATCH", "", std::move(body)),
                       VersionColumns());
  });

  CLI::App* remove =
      versions->add_subcommand("delete", "Delete a version (its number is not reused)");
  AddVersionPositionals(*remove, *a);
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) {
    return s.RunWrite(
        VersionRequest(a->name, a->version, "DELETE"),
        {fmt::format("Deleted version {} of model {}.", a->version, a->name),
         json::object{
             {"model", a->name}, {"version", VersionValue(a->version)}, {"deleted", true}}});
  });
}

void AddStageGroup(CLI::App& app, Action& chosen, const std::shared_ptr<VersionArgs>& a) {
  CLI::App* stage = app.add_subcommand("stage", "Move versions between stages");
  stage->require_subcommand(1);
  CLI::App* set = stage->add_subcommand("set", "Move a version to a stage");
  AddVersionPositionals(*set, *a);
  set->add_option("STAGE", a->stage, "None, Staging, Production or Archived")->required();
  set->add_flag("--archive-existing", a->archive_existing,
                "Archive the model's other versions in that stage");
  set->add_option("--comment", a->comment, "Why (recorded in the audit log)");
  OnSelect(*set, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(SetStageRequest(*a), VersionColumns());
  });
}

void AddAliasGroup(CLI::App& app, Action& chosen, const std::shared_ptr<VersionArgs>& a) {
  CLI::App* alias = app.add_subcommand("alias", "Point named aliases at versions");
  alias->require_subcommand(1);

  CLI::App* set = alias->add_subcommand("set", "Point an alias at a version");
  set->add_option("NAME", a->name, "Model name")->required();
  set->add_option("ALIAS", a->alias, "Alias, e.g. champion")->required();
  set->add_option("N", a->version, "Version number")->required();
  set->add_option("--comment", a->comment, "Why (recorded in the audit log)");
  OnSelect(*set, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(SetAliasRequest(*a), VersionColumns());
  });

  CLI::App* get = alias->add_subcommand("get", "Show the version an alias points at");
  get->add_option("NAME", a->name, "Model name")->required();
  get->add_option("ALIAS", a->alias, "Alias")->required();
  OnSelect(*get, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(Get(AliasPath(*a)), VersionColumns());
  });

  CLI::App* remove = alias->add_subcommand("delete", "Remove an alias");
  remove->add_option("NAME", a->name, "Model name")->required();
  remove->add_option("ALIAS", a->alias, "Alias")->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) {
    return s.RunWrite(Delete(AliasPath(*a)),
                      {fmt::format("Removed alias {} from model {}.", a->alias, a->name),
                       json::object{{"model", a->name}, {"alias", a->alias}, {"deleted", true}}});
  });
}

}  // namespace

void AddVersionCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<VersionArgs>();
  AddVersionsGroup(app, chosen, a);
  AddStageGroup(app, chosen, a);
  AddAliasGroup(app, chosen, a);
}

}  // namespace vouch::cli
