#include "vouch/cli/cli.h"

#include <CLI/CLI.hpp>

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
};

// Options every command takes. The subcommands fall through to them, so they may come before or
// after the command words.
void AddGlobalOptions(CLI::App& app, GlobalArgs& g) {
  app.fallthrough();
  app.set_version_flag("--version", kVersion);
  app.add_option("--server", g.client.server, "Server URL")
      ->envname("VOUCH_SERVER")
      ->capture_default_str();
  app.add_option("--token", g.client.token,
                 "API token (sent as a Bearer token); without one, --username or the token "
                 "`vouch login` saved for this server")
      ->envname("VOUCH_TOKEN");
  app.add_option("--username", g.client.username,
                 "Sign in with a username and password (HTTP Basic) instead of a token")
      ->envname("VOUCH_USERNAME");
  app.add_option("--password", g.client.password,
                 "The password for --username (asked for at a terminal when not given; prefer "
                 "VOUCH_PASSWORD to keep it out of the process list)")
      ->envname("VOUCH_PASSWORD");
  app.add_option("--output,-o", g.output, "Output format")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
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
    AddGlobalOptions(app, globals);
    AddModelCommands(app, chosen);
    AddVersionCommands(app, chosen);
    AddFieldCommands(app, chosen);
    AddAuditCommands(app, chosen);
    AddSchemaCommands(app, chosen);
    AddAdminCommands(app, chosen);
    AddIdentityCommands(app, chosen);
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
