// audit log.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "vouch/cli/args.h"
#include "vouch/cli/audit_view.h"
#include "vouch/cli/commands.h"

namespace vouch::cli {
namespace {

struct AuditArgs {
  std::string model;
  std::string version;
  std::string actor;
  std::string action;
  std::string since;
  std::string until;
  std::string limit;
};

// Filters become the server's query parameters; times are resolved here, against the local clock,
// because "-24h" means 24 hours before the moment the user typed it.
Result<ListRequest> AuditLogRequest(const AuditArgs& a, TimeMs now) {
  ListRequest list{"/api/v1/audit", {}, "events", std::nullopt, AuditLogColumns()};
  if (!a.version.empty() && a.model.empty()) return InvalidArgument("--version needs --model");
  if (!a.model.empty()) list.query.emplace_back("model", a.model);
  if (!a.version.empty()) {
    VOUCH_ASSIGN_OR_RETURN(int64_t version, ParsePositiveInt(a.version, "--version"));
    list.query.emplace_back("version", std::to_string(version));
  }
  if (!a.actor.empty()) list.query.emplace_back("actor", a.actor);
  if (!a.action.empty()) list.query.emplace_back("action", a.action);
  for (const auto& [option, text] : {std::pair{"since", &a.since}, std::pair{"until", &a.until}}) {
    if (text->empty()) continue;
    VOUCH_ASSIGN_OR_RETURN(std::string time,
                           TimeArgToRfc3339(*text, now, fmt::format("--{}", option)));
    list.query.emplace_back(option, std::move(time));
  }
  if (!a.limit.empty()) {
    VOUCH_ASSIGN_OR_RETURN(list.limit, ParsePositiveInt(a.limit, "--limit"));
  }
  return list;
}

}  // namespace

void AddAuditCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<AuditArgs>();
  CLI::App* audit = app.add_subcommand("audit", "Read and verify the audit log");
  audit->require_subcommand(1);

  CLI::App* log = audit->add_subcommand("log", "Print audit events, oldest first");
  log->footer(
      "Table columns: SEQ TIME ACTOR DOOR ACTION TARGET CHANGE (from \u2192 to) OUTCOME COMMENT "
      "(a\n"
      "denial's reason). DOOR is the door a request came through (native, mlflow); the CLI is a\n"
      "native client, and the user agent it sends is only what a client claims, so it is not a "
      "door.\n"
      "A denial names the model and version it was refused on, so --model finds it (denials\n"
      "recorded before vouch did so name none: find them by --actor, --action access.denied, "
      "time).");
  log->add_option("--model", a->model, "Only events about this model");
  log->add_option("--version", a->version, "Only events about this version (needs --model)");
  log->add_option("--actor", a->actor, "Only events by this principal");
  log->add_option("--action", a->action, "Only this action, e.g. model_version.stage_changed");
  log->add_option("--since", a->since, "From this time: RFC 3339 or relative, e.g. -24h");
  log->add_option("--until", a->until, "Up to this time: RFC 3339 or relative");
  log->add_option("--limit", a->limit, "Print at most K events (default: all)");
  OnSelect(*log, chosen, [a](Session& s, const Clock& clock) {
    return s.RunList(AuditLogRequest(*a, clock.NowMs()));
  });
  AddAuditVerifyCommand(*audit, chosen);
  AddCheckpointCommands(*audit, chosen);
}

}  // namespace vouch::cli
