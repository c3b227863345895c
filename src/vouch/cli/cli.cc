#include "vouch/cli/cli.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "vouch/cli/app.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"
#include "vouch/cli/session.h"

namespace vouch::cli {
namespace {

constexpr const char* kVersion = "vouch 0.1.0";

struct GlobalArgs {
  ClientOptions client{"http://127.0.0.1:5000", "", "", "", ""};
  std::string output = "table";
  bool verbose = false;
};

constexpr const char* kCredentialOrder =
    "Credentials, first found wins (explicit beats ambient): --token; --username (with "
    "--password, VOUCH_PASSWORD or asked for); VOUCH_TOKEN; VOUCH_USERNAME; the token `vouch "
    "login` saved for this server. An empty variable counts as unset. `vouch whoami` and "
    "--verbose say which one is used.\n"
    "Output (-o): table (default); json, one JSON document (an array for lists); jsonl, one JSON "
    "object per line; csv, RFC 4180 with the JSON field names as header. docs/cli.md has the "
    "details.";

// The value of an environment variable; empty when unset.
std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Options every command takes. The subcommands fall through to them, so they may come before or
// after the command words.
void AddGlobalOptions(CLI::App& app, GlobalArgs& g) {
  app.fallthrough();
  app.set_version_flag("--version", kVersion);
  app.add_option("--server", g.client.server, "Server URL")
      ->envname("VOUCH_SERVER")
      ->capture_default_str();
  // VOUCH_TOKEN and VOUCH_USERNAME are read in RunCli, not as the options' envname: an option
  // given explicitly must beat the environment (the order is in kCredentialOrder).
  app.add_option("--token", g.client.token,
                 "API token (sent as a Bearer token); beats every other credential. Env: "
                 "VOUCH_TOKEN, which beats only VOUCH_USERNAME and the saved login");
  app.add_option("--username", g.client.username,
                 "Sign in with a username and password (HTTP Basic) instead of a token. Env: "
                 "VOUCH_USERNAME (used after VOUCH_TOKEN)");
  app.add_option("--password", g.client.password,
                 "The password for --username (asked for at a terminal when not given; prefer "
                 "VOUCH_PASSWORD to keep it out of the process list)")
      ->envname("VOUCH_PASSWORD");
  app.add_option("--output,-o", g.output,
                 "Output format: table (aligned columns), json (ONE JSON document: an array for "
                 "a list, an object for one thing), jsonl (JSON Lines: one object per line) or "
                 "csv (RFC 4180, CRLF, the JSON field names as header, ISO 8601 UTC times)")
      ->check(CLI::IsMember({"table", "json", "jsonl", "csv"}))
      ->capture_default_str();
  app.add_flag("--verbose,-v", g.verbose,
               "Say on stderr where the credential comes from (--token, VOUCH_TOKEN, the saved "
               "login, ...)");
  app.add_option("--ca-file", g.client.ca_file, "CA certificates (PEM) to verify an https server")
      ->envname("VOUCH_CA_FILE")
      ->check(CLI::ExistingFile);
}

}  // namespace

int RunCli(int argc, const char* const* argv, const TransportFactory& make_transport,
           const Clock& clock, std::ostream& out, std::ostream& err, Prompter* prompter) {
  CLI::App app("vouch: a model registry where every change leaves a verifiable record.", "vouch");
  GlobalArgs globals;
  Action chosen;
  try {
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
      return std::string("vouch: ") + e.what() + "\nRun with --help for more information.\n";
    });
    app.require_subcommand(1);
    app.footer(kCredentialOrder);
    AddGlobalOptions(app, globals);
    // `vouch serve` is dispatched in main.cc before this parser runs; it is listed here so --help
    // shows it, and so `vouch --server X serve` says where `serve` must go.
    CLI::App* serve = app.add_subcommand(
        "serve", "Run the registry server (must be the first word: vouch serve --help)");
    serve->fallthrough(false)->allow_extras()->prefix_command();
    OnSelect(*serve, chosen, [](Session& s, const Clock&) {
      return s.Fail("serve must be the first word: vouch serve [OPTIONS] (see vouch serve --help)",
                    kExitUsage);
    });
    AddModelCommands(app, chosen);
    AddVersionCommands(app, chosen);
    AddFieldCommands(app, chosen);
    AddAuditCommands(app, chosen);
    AddSchemaCommands(app, chosen);
    AddAdminCommands(app, chosen);
    AddIdentityCommands(app, chosen);
    AddApprovalCommands(app, chosen);
    AddCommentCommands(app, chosen);
    // The deliveries' commands (test, deliveries, delivery, redeliver) join the subscriptions'.
    AddDeliveryCommands(*AddWebhookCommands(app, chosen), chosen);
    AddDevCommands(app, chosen);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with exit code 0.
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }

  Result<OutputFormat> format = ParseOutputFormat(globals.output);
  Result<std::string> server = NormalizeServerUrl(globals.client.server);
  if (!format.ok() || !server.ok() || !chosen) {
    const Status& status = !format.ok() ? format.status() : server.status();
    err << "vouch: " << (status.ok() ? "no command given" : status.message()) << "\n";
    return kExitUsage;
  }
  globals.client.server = *server;
  TerminalPrompter terminal;
  ClientEnv env{.options = globals.client,
                .env_token = Env("VOUCH_TOKEN"),
                .env_username = Env("VOUCH_USERNAME"),
                .verbose = globals.verbose,
                .make_transport = make_transport,
                .prompter = prompter != nullptr ? prompter : &terminal};
  if (auto path = CredentialsPathFromEnv(); path.ok()) env.credentials = *path;
  Session session(env, *format, out, err);
  return chosen(session, clock);
}

int Main(int argc, char** argv) {
  const SystemClock clock;
  try {
    return RunCli(
        argc, argv,
        [](const ClientOptions& options) { return std::make_unique<CurlTransport>(options); },
        clock, std::cout, std::cerr);
  } catch (const std::exception& e) {
    // Only a bug gets here (our code does not throw); say so rather than abort.
    std::cerr << "vouch: internal error: " << e.what() << "\n";
    return kExitRefused;
  }
}

}  // namespace vouch::cli
