// tags set | delete (on a model, or on a version when N is given), metrics and params set | delete.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"

namespace vouch::cli {
namespace {

// Tags take NAME [N] KEY [VALUE]; the optional N in the middle rules out fixed positionals, so the
// words are collected and split by count. Metrics and params always name a version.
struct FieldArgs {
  std::vector<std::string> words;
  std::string name;
  std::string version;
  std::string key;
  std::string value;
};

// `words` is NAME KEY [VALUE] for a model tag, NAME N KEY [VALUE] for a version tag; CLI11 has
// already checked the count is one of those.
Result<HttpRequest> TagRequest(const std::vector<std::string>& words, bool set) {
  const bool on_version = words.size() == (set ? 4u : 3u);
  const std::string& key = words[on_version ? 2 : 1];
  std::optional<json::object> body;
  if (set) body = json::object{{"value", words.back()}};
  const std::string suffix = "/tags/" + PathSegment(key);
  const std::string method = set ? "PUT" : "DELETE";
  if (on_version) return VersionRequest(words[0], words[1], method, suffix, std::move(body));
  const std::string path = ModelPath(words[0]) + suffix;
  return body.has_value() ? WithBody(method, path, *body) : Delete(path);
}

void AddTagsGroup(CLI::App& app, Action& chosen, const std::shared_ptr<FieldArgs>& a) {
  CLI::App* tags = app.add_subcommand("tags", "Set and delete tags on models and versions");
  tags->require_subcommand(1);

  CLI::App* set =
      tags->add_subcommand("set", "Set a tag (on version N when given, else the model)");
  set->add_option("ARGS", a->words, "NAME [N] KEY VALUE: model, optional version, key, value")
      ->expected(3, 4)
      ->required();
  OnSelect(*set, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(TagRequest(a->words, true),
                       a->words.size() == 4 ? VersionColumns() : ModelColumns());
  });

  CLI::App* remove = tags->add_subcommand("delete", "Delete a tag (from version N when given)");
  remove->add_option("ARGS", a->words, "NAME [N] KEY: model, optional version, tag key")
      ->expected(2, 3)
      ->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) {
    const std::string& key = a->words[a->words.size() == 3 ? 2 : 1];
    return s.RunWrite(TagRequest(a->words, false),
                      {fmt::format("Deleted tag {} from {}.", key, a->words[0]),
                       json::object{{"model", a->words[0]}, {"tag", key}, {"deleted", true}}},
                      a->words.size() == 3 ? VersionColumns() : ModelColumns());
  });
}

// metrics and params: the same routes under /versions/{n}/<kind>/{key}; metric values are numbers.
void AddVersionFieldGroup(CLI::App& app, Action& chosen, const std::shared_ptr<FieldArgs>& a,
                          const std::string& kind, bool numeric) {
  CLI::App* group = app.add_subcommand(kind, "Set and delete " + kind + " on a version");
  group->require_subcommand(1);
  const auto add_positionals = [&a](CLI::App& command) {
    command.add_option("NAME", a->name, "Model name")->required();
    command.add_option("N", a->version, "Version number")->required();
    command.add_option("KEY", a->key, "Key")->required();
  };

  CLI::App* set = group->add_subcommand("set", "Set one of a version's " + kind);
  add_positionals(*set);
  set->add_option("VALUE", a->value, numeric ? "Value (a number)" : "Value")->required();
  OnSelect(*set, chosen, [a, kind, numeric](Session& s, const Clock&) {
    const auto request = [&]() -> Result<HttpRequest> {
      json::value value(a->value);
      if (numeric) {
        Result<double> number = ParseMetricValue(a->value);
        if (!number.ok()) return number.status().WithContext("metric " + a->key);
        value = *number;
      }
      return VersionRequest(a->name, a->version, "PUT", "/" + kind + "/" + PathSegment(a->key),
                            json::object{{"value", std::move(value)}});
    };
    return s.RunObject(request(), VersionColumns());
  });

  CLI::App* remove = group->add_subcommand("delete", "Delete one of a version's " + kind);
  add_positionals(*remove);
  OnSelect(*remove, chosen, [a, kind](Session& s, const Clock&) {
    return s.RunWrite(
        VersionRequest(a->name, a->version, "DELETE", "/" + kind + "/" + PathSegment(a->key)),
        {fmt::format("Deleted {} {} from version {} of model {}.", kind, a->key, a->version,
                     a->name),
         json::object{{"model", a->name},
                      {"version", VersionValue(a->version)},
                      {kind, a->key},
                      {"deleted", true}}},
        VersionColumns());
  });
}

}  // namespace

void AddFieldCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<FieldArgs>();
  AddTagsGroup(app, chosen, a);
  AddVersionFieldGroup(app, chosen, a, "metrics", /*numeric=*/true);
  AddVersionFieldGroup(app, chosen, a, "params", /*numeric=*/false);
}

}  // namespace vouch::cli
