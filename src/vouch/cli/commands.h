// The client's subcommands, registered on a CLI11 app. Parsing only selects a command; its action
// runs afterwards against a Session, so no request is sent while CLI11 may still throw.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/cli/http_client.h"
#include "vouch/cli/session.h"
#include "vouch/util/json.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::cli {

// A parsed command's work; returns the process exit code. The clock resolves relative times.
using Action = std::function<int(Session& session, const Clock& clock)>;

// Each adds one family of commands to `app`. When parsing selects one of them, its action is stored
// in `chosen`, which must outlive `app`.
void AddModelCommands(CLI::App& app, Action& chosen);    // models …
void AddVersionCommands(CLI::App& app, Action& chosen);  // versions …, stage set, alias …
void AddFieldCommands(CLI::App& app, Action& chosen);    // tags …, metrics …, params …
void AddAuditCommands(CLI::App& app, Action& chosen);    // audit log
void AddSchemaCommands(CLI::App& app, Action& chosen);   // migrate-schema (PostgreSQL owner role)
void AddAdminCommands(CLI::App& app, Action& chosen);    // backup, restore, migrate (open stores)
// users …, groups …, roles …, permissions …, tokens …, login, logout, whoami
void AddIdentityCommands(CLI::App& app, Action& chosen);
// policy …, requests …, checks …, gate check (issue 12)
void AddApprovalCommands(CLI::App& app, Action& chosen);
// comments list | add | edit | delete (comment_commands.cc)
void AddCommentCommands(CLI::App& app, Action& chosen);
// webhooks create | list | get | update | disable | enable | delete | events
// (webhook_commands.cc). Returns the `webhooks` command, so that other files add theirs to it
// (test, deliveries, redeliver).
CLI::App* AddWebhookCommands(CLI::App& app, Action& chosen);
// test, deliveries, delivery, redeliver under `webhooks` (delivery_commands.cc; issue 13)
void AddDeliveryCommands(CLI::App& webhooks, Action& chosen);
// dev seed: fills a store with a large registry for tests and benchmarks (opens it directly).
void AddDevCommands(CLI::App& app, Action& chosen);
// dev webhook-render, added under `dev` by AddDevCommands (webhook_render_command.cc).
void AddWebhookRenderCommand(CLI::App& dev, Action& chosen);
// dev tlog keygen | write | verify, added under `dev` by AddDevCommands (tlog_command.cc).
void AddTlogCommand(CLI::App& dev, Action& chosen);
// `audit verify`, added under the `audit` command by AddAuditCommands.
void AddAuditVerifyCommand(CLI::App& audit, Action& chosen);
// `audit prove`, added under `audit` by AddAuditCommands (audit_proof_commands.cc).
void AddAuditProveCommand(CLI::App& audit, Action& chosen);
// dev audit-bulk, added under `dev` by AddDevCommands (audit_bulk_command.cc; issue 14).
void AddAuditBulkCommand(CLI::App& dev, Action& chosen);
// The store `dev seed` and `dev audit-bulk` write (dev_commands.cc): --store URI as given, or
// --data-dir DIR made as `vouch serve` makes it (owner only; a new master key beside a new
// database), as a store URI. INVALID_ARGUMENT when not exactly one is given.
Result<std::string> DevStoreUri(const std::string& store, const std::string& data_dir);
// Fails the command with DevStoreUri's error: a usage error, or refused.
int FailDevStore(Session& s, const Status& status);
// `audit export`, added under `audit` by AddAuditCommands (audit_export_command.cc).
void AddAuditExportCommand(CLI::App& audit, Action& chosen);
// `audit checkpoint | keys | rotate-key` (checkpoint_commands.cc; issue 14).
void AddCheckpointCommands(CLI::App& audit, Action& chosen);

// Helpers shared by the command files.

// Makes `command` store `action` in `chosen` when parsing selects it.
void OnSelect(CLI::App& command, Action& chosen, Action action);

// A repeatable option taking one value per occurrence ("--tag a=1 --tag b=2"). CLI11's default
// for vectors takes every following word, which would swallow positional arguments.
CLI::Option* AddRepeated(CLI::App& command, std::string name, std::vector<std::string>& values,
                         std::string description);

// "/api/v1/models/<name>" with the name as one encoded path segment.
std::string ModelPath(std::string_view name);
// A version number as typed: the number when it is a positive integer, else the text.
json::value VersionValue(std::string_view version);
// ModelPath + "/versions/<n>". INVALID_ARGUMENT unless `version` is a positive integer.
Result<std::string> VersionPath(std::string_view name, std::string_view version);

// `method` on VersionPath(name, version) + `suffix`, with `body` as JSON when given.
// INVALID_ARGUMENT unless `version` is a positive integer.
Result<HttpRequest> VersionRequest(std::string_view name, std::string_view version,
                                   std::string method, std::string_view suffix = "",
                                   std::optional<json::object> body = std::nullopt);

HttpRequest Get(std::string path);
HttpRequest Delete(std::string path);
// A request with `body` as its JSON payload.
HttpRequest WithBody(std::string method, std::string path, const json::object& body);

}  // namespace vouch::cli
