// webhooks create | list | get | update | disable | enable | delete | events: notification
// subscriptions (issue 13; docs/notifications.md). A secret goes to the server (from --secret or
// one line of standard input with --secret-stdin) and is never printed: the server answers only
// `secret_set`.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"

namespace vouch::cli {
namespace {

// Bound to the options of every subcommand here; only the one that parsing selects is read.
struct WebhookArgs {
  std::string id;
  std::string name;
  std::string description;
  std::string url;
  std::string events;
  std::string model;
  std::string format;
  std::string email_to;
  std::string secret;
  bool secret_stdin = false;
  bool no_secret = false;
  std::optional<int64_t> limit;
  // `update`: which options were given (an empty value is a value: --model '' makes it
  // registry-wide).
  CLI::Option* name_opt = nullptr;
  CLI::Option* description_opt = nullptr;
  CLI::Option* url_opt = nullptr;
  CLI::Option* events_opt = nullptr;
  CLI::Option* model_opt = nullptr;
  CLI::Option* format_opt = nullptr;
  CLI::Option* email_to_opt = nullptr;
  CLI::Option* secret_opt = nullptr;
};

std::vector<Column> WebhookColumns() {
  return {TextColumn("id"),
          TextColumn("name"),
          TextColumn("status"),
          TextColumn("format"),
          TextColumn("events"),
          TextColumn("model"),
          TextColumn("url"),
          TextColumn("email_to", "EMAIL_TO"),
          TextColumn("secret_set", "SECRET"),
          TextColumn("owner"),
          TimeColumn("creation_timestamp", "CREATED")};
}

std::vector<Column> EventColumns() {
  return {TextColumn("name"), TextColumn("target"), TextColumn("meaning")};
}

// "a, b,c" as ["a", "b", "c"] (empty items dropped).
json::array CommaList(std::string_view text) {
  json::array out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// "/api/v1/webhooks/<id>". INVALID_ARGUMENT unless `id` is a positive integer.
Result<std::string> WebhookPath(std::string_view id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, ParsePositiveInt(id, "webhook id"));
  return fmt::format("/api/v1/webhooks/{}", n);
}

// The secret to send: --secret, or one line of standard input with --secret-stdin; none when
// neither was given.
Result<std::optional<std::string>> SecretOf(Session& s, const WebhookArgs& a) {
  if (a.secret_stdin) {
    Prompter* prompter = s.env() != nullptr ? s.env()->prompter : nullptr;
    if (prompter == nullptr) return InvalidArgument("no standard input to read the secret from");
    VOUCH_ASSIGN_OR_RETURN(std::string secret, prompter->ReadLine("Secret: ", true));
    if (secret.empty()) return InvalidArgument("the secret read from standard input is empty");
    return std::optional<std::string>(std::move(secret));
  }
  if (a.secret_opt != nullptr && a.secret_opt->count() > 0) {
    return std::optional<std::string>(a.secret);
  }
  return std::optional<std::string>();
}

// The options `create` and `update` share.
void AddFieldOptions(CLI::App& command, WebhookArgs& a, bool create) {
  a.name_opt = command.add_option("--name", a.name, "A name for people");
  if (create) a.name_opt->required();
  a.url_opt = command.add_option("--url", a.url,
                                 "Where to POST (https://; http:// only to private receivers the "
                                 "server allows)");
  a.events_opt = command.add_option(
      "--events", a.events,
      "Comma-separated events or families, e.g. 'request.*,model_version.stage_changed' (see "
      "`vouch webhooks events`)");
  if (create) a.events_opt->required();
  a.model_opt = command.add_option("--model", a.model,
                                   "Only events about models matching this glob, e.g. 'fraud-*' "
                                   "(none: the whole registry, for admins)");
  a.format_opt = command.add_option("--format", a.format,
                                    "vouch (default), cloudevents, slack, mlflow or email");
  a.email_to_opt =
      command.add_option("--email-to", a.email_to,
                         "With --format email: comma-separated reviewers, requester or addresses");
  a.description_opt = command.add_option("--description", a.description, "Description");
  a.secret_opt = command.add_option("--secret", a.secret,
                                    "Signing secret, at least 16 bytes (prefer --secret-stdin)");
  command.add_flag("--secret-stdin", a.secret_stdin, "Read the secret from standard input")
      ->excludes(a.secret_opt);
}

// The fields of `a` that `create` or `update` was given.
json::object FieldsOf(const WebhookArgs& a) {
  json::object body;
  auto given = [](CLI::Option* o) { return o != nullptr && o->count() > 0; };
  if (given(a.name_opt)) body["name"] = a.name;
  if (given(a.description_opt)) body["description"] = a.description;
  if (given(a.url_opt)) body["url"] = a.url;
  if (given(a.events_opt)) body["events"] = CommaList(a.events);
  if (given(a.model_opt)) body["model"] = a.model;
  if (given(a.format_opt)) body["format"] = a.format;
  if (given(a.email_to_opt)) body["email_to"] = CommaList(a.email_to);
  return body;
}

}  // namespace

CLI::App* AddWebhookCommands(CLI::App& app, Action& chosen) {
  auto create_args = std::make_shared<WebhookArgs>();
  auto update_args = std::make_shared<WebhookArgs>();
  auto a = std::make_shared<WebhookArgs>();
  CLI::App* webhooks =
      app.add_subcommand("webhooks", "Notification subscriptions (docs/notifications.md)");
  webhooks->require_subcommand(1);

  CLI::App* create = webhooks->add_subcommand("create", "Subscribe a receiver to events");
  AddFieldOptions(*create, *create_args, true);
  OnSelect(*create, chosen, [c = create_args](Session& s, const Clock&) -> int {
    Result<std::optional<std::string>> secret = SecretOf(s, *c);
    if (!secret.ok()) return s.Fail(secret.status().message(), kExitUsage);
    json::object body = FieldsOf(*c);
    if (*secret) body["secret"] = **secret;
    return s.RunObject(WithBody("POST", "/api/v1/webhooks", body), WebhookColumns());
  });

  CLI::App* list = webhooks->add_subcommand("list", "Your subscriptions (an admin's: everyone's)");
  list->add_option("--limit", a->limit, "Print at most this many");
  OnSelect(*list, chosen, [a](Session& s, const Clock&) {
    return s.RunList(ListRequest{.path = "/api/v1/webhooks",
                                 .query = {},
                                 .items_field = "webhooks",
                                 .limit = a->limit,
                                 .columns = WebhookColumns()});
  });

  CLI::App* get = webhooks->add_subcommand("get", "One subscription (never its secret)");
  get->add_option("ID", a->id, "Webhook id")->required();
  OnSelect(*get, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = WebhookPath(a->id);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunObject(Get(*path), WebhookColumns());
  });

  CLI::App* update = webhooks->add_subcommand("update", "Change a subscription's fields");
  update->add_option("ID", update_args->id, "Webhook id")->required();
  AddFieldOptions(*update, *update_args, false);
  update->add_flag("--no-secret", update_args->no_secret, "Remove the secret (send unsigned)")
      ->excludes(update_args->secret_opt)
      ->excludes("--secret-stdin");
  OnSelect(*update, chosen, [u = update_args](Session& s, const Clock&) -> int {
    Result<std::string> path = WebhookPath(u->id);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    Result<std::optional<std::string>> secret = SecretOf(s, *u);
    if (!secret.ok()) return s.Fail(secret.status().message(), kExitUsage);
    json::object body = FieldsOf(*u);
    if (*secret) body["secret"] = **secret;
    if (u->no_secret) body["secret"] = "";
    if (body.empty()) return s.Fail("give at least one field to change", kExitUsage);
    return s.RunObject(WithBody("PATCH", *path, body), WebhookColumns());
  });

  for (const char* verb : {"disable", "enable"}) {
    bool disable = std::string_view(verb) == "disable";
    CLI::App* command =
        webhooks->add_subcommand(verb, disable ? "Stop sending to a subscription (its events wait)"
                                               : "Send to a disabled subscription again");
    command->add_option("ID", a->id, "Webhook id")->required();
    OnSelect(*command, chosen, [a, disable](Session& s, const Clock&) -> int {
      Result<std::string> path = WebhookPath(a->id);
      if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
      return s.RunObject(
          WithBody("PATCH", *path, json::object{{"status", disable ? "disabled" : "active"}}),
          WebhookColumns());
    });
  }

  CLI::App* remove =
      webhooks->add_subcommand("delete", "Delete a subscription (its delivery ledger stays)");
  remove->add_option("ID", a->id, "Webhook id")->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) -> int {
    Result<int64_t> id = ParsePositiveInt(a->id, "webhook id");
    if (!id.ok()) return s.Fail(id.status().message(), kExitUsage);
    return s.RunWrite(Delete(fmt::format("/api/v1/webhooks/{}", *id)),
                      {fmt::format("Deleted webhook {}.", *id),
                       json::object{{"webhook", *id}, {"deleted", true}}});
  });

  CLI::App* events =
      webhooks->add_subcommand("events", "The events a subscription may name, with meanings");
  OnSelect(*events, chosen, [](Session& s, const Clock&) {
    return s.RunItems(Get("/api/v1/webhooks/events"), "events", EventColumns());
  });
  return webhooks;
}

}  // namespace vouch::cli
