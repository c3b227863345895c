// models create | list | get | rename | update | delete.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"

namespace vouch::cli {
namespace {

// Bound to the options of every models subcommand; only the one that parsing selects is read.
struct ModelArgs {
  std::string name;
  std::string new_name;
  std::string description;
  std::vector<std::string> tags;
  std::string limit;
};

Result<HttpRequest> CreateModelRequest(const ModelArgs& a) {
  json::object body{{"name", a.name}};
  if (!a.description.empty()) body["description"] = a.description;
  VOUCH_ASSIGN_OR_RETURN(json::object tags, ParseStringPairs(a.tags, "--tag"));
  if (!tags.empty()) body["tags"] = std::move(tags);
  return WithBody("POST", "/api/v1/models", body);
}

Result<ListRequest> ListModelsRequest(const ModelArgs& a) {
  ListRequest list{"/api/v1/models", {}, "models", std::nullopt, ModelColumns()};
  if (!a.limit.empty()) {
    VOUCH_ASSIGN_OR_RETURN(list.limit, ParsePositiveInt(a.limit, "--limit"));
  }
  return list;
}

}  // namespace

void AddModelCommands(CLI::App& app, Action& chosen) {
  CLI::App* models = app.add_subcommand("models", "Create, list, read, change and delete models");
  models->require_subcommand(1);
  auto a = std::make_shared<ModelArgs>();

  CLI::App* create = models->add_subcommand("create", "Register a new model");
  create->add_option("NAME", a->name, "Model name")->required();
  create->add_option("--description", a->description, "What the model is for");
  AddRepeated(*create, "--tag", a->tags, "Tag as KEY=VALUE (repeatable)");
  OnSelect(*create, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(CreateModelRequest(*a), ModelColumns());
  });

  CLI::App* list = models->add_subcommand("list", "List models by name");
  list->add_option("--limit", a->limit, "Print at most K models (default: all)");
  OnSelect(*list, chosen,
           [a](Session& s, const Clock&) { return s.RunList(ListModelsRequest(*a)); });

  CLI::App* get = models->add_subcommand("get", "Show one model");
  get->add_option("NAME", a->name, "Model name")->required();
  OnSelect(*get, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(Get(ModelPath(a->name)), ModelColumns());
  });

  CLI::App* rename = models->add_subcommand("rename", "Give a model a new name");
  rename->add_option("NAME", a->name, "Current name")->required();
  rename->add_option("NEW", a->new_name, "New name")->required();
  OnSelect(*rename, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(
        WithBody("POST", ModelPath(a->name) + "/rename", {{"new_name", a->new_name}}),
        ModelColumns());
  });

  CLI::App* update = models->add_subcommand("update", "Change a model's description");
  update->add_option("NAME", a->name, "Model name")->required();
  update->add_option("--description", a->description, "New description")->required();
  OnSelect(*update, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(WithBody("PATCH", ModelPath(a->name), {{"description", a->description}}),
                       ModelColumns());
  });

  CLI::App* remove = models->add_subcommand("delete", "Delete a model and its versions");
  remove->add_option("NAME", a->name, "Model name")->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) {
    return s.RunWrite(Delete(ModelPath(a->name)),
                      {fmt::format("Deleted model {}.", a->name),
                       json::object{{"model", a->name}, {"deleted", true}}});
  });
}

}  // namespace vouch::cli
