// audit checkpoint | keys | rotate-key: the audit log's signed checkpoints and signing keys
// (issue 14; docs/operations.md, "Audit checkpoints"), added under the `audit` command.
#include <fmt/format.h>

#include <string>

#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"

namespace vouch::cli {
namespace {

std::vector<Column> CheckpointColumns() {
  return {TextColumn("size"), TextColumn("root"), TextColumn("key_id"),
          TimeColumn("creation_timestamp", "CREATED"), TextColumn("checkpoint")};
}

std::vector<Column> KeyColumns() {
  return {TextColumn("key_id"), TextColumn("signing"), TimeColumn("creation_timestamp", "CREATED"),
          TimeColumn("retired_timestamp", "RETIRED"), TextColumn("verifier_key")};
}

std::string StringField(const json::value& body, std::string_view field) {
  const json::object* o = body.if_object();
  if (o == nullptr) return "";
  const json::value* v = o->if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

}  // namespace

void AddCheckpointCommands(CLI::App& audit, Action& chosen) {
  CLI::App* checkpoint = audit.add_subcommand(
      "checkpoint", "Sign a checkpoint of the audit log now (when it grew) and print it (admins)");
  checkpoint->footer(
      "Prints the signed note (C2SP tlog-checkpoint): origin, tree size, root, signature. The\n"
      "leader also makes one every --checkpoint-interval or --checkpoint-events.");
  OnSelect(*checkpoint, chosen, [](Session& s, const Clock&) -> int {
    HttpRequest request = WithBody("POST", "/api/v1/audit/checkpoints", json::object{});
    if (s.format() != OutputFormat::kTable) return s.RunObject(request, CheckpointColumns());
    Session::Reply reply = s.Fetch(request);
    if (reply.exit_code != kExitOk) return reply.exit_code;
    s.out() << StringField(reply.body, "checkpoint");
    return kExitOk;
  });

  CLI::App* keys = audit.add_subcommand(
      "keys", "Every key that ever signed the audit log's checkpoints, oldest first");
  keys->footer(
      "VERIFIER_KEY is what note verifiers take (golang.org/x/mod/sumdb/note, vouch dev tlog\n"
      "verify). Retired keys stay listed: they verify the checkpoints they signed.");
  OnSelect(*keys, chosen, [](Session& s, const Clock&) -> int {
    return s.RunItems(Get("/api/v1/audit/keys"), "keys", KeyColumns());
  });

  CLI::App* rotate = audit.add_subcommand(
      "rotate-key", "Make a new checkpoint signing key; the old one signs its last checkpoint");
  rotate->footer(
      "The rotation is an audit event (audit.key_rotated) carrying the new verifier key; the\n"
      "checkpoint that covers it is signed by the old key, which then retires.");
  OnSelect(*rotate, chosen, [](Session& s, const Clock&) -> int {
    HttpRequest request = WithBody("POST", "/api/v1/audit/keys/rotate", json::object{});
    if (s.format() != OutputFormat::kTable) return s.RunObject(request, {});
    Session::Reply reply = s.Fetch(request);
    if (reply.exit_code != kExitOk) return reply.exit_code;
    const json::object* o = reply.body.if_object();
    auto key = [&](std::string_view field) {
      return o != nullptr && o->contains(field) ? StringField(o->at(field), "verifier_key") : "";
    };
    std::string note = o != nullptr && o->contains("checkpoint")
                           ? StringField(o->at("checkpoint"), "checkpoint")
                           : "";
    s.out() << fmt::format(
        "New signing key: {}\nRetired key:     {}\nThe checkpoint covering the rotation, signed by "
        "the retired key:\n{}",
        key("key"), key("retired_key"), note);
    return kExitOk;
  });
}

}  // namespace vouch::cli
