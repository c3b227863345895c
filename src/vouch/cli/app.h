// The client's entry point with its dependencies injected, so tests can run whole invocations
// against a scripted transport, a fake clock and string streams. Main (cli.h) wires the real ones.
#pragma once

#include <functional>
#include <memory>
#include <ostream>

#include "vouch/cli/credentials.h"
#include "vouch/cli/http_client.h"
#include "vouch/util/time.h"

namespace vouch::cli {

// Makes the transport once the global options (server, token, CA file) are parsed.
using TransportFactory = std::function<std::unique_ptr<HttpTransport>(const ClientOptions&)>;

// Parses argv (argv[0] is the program), runs the selected command and returns its exit code
// (cli.h).
// --help and --version print to `out` and return 0; parse errors print to `err` and return 2.
// Passwords not given as options are asked for through `prompter` (the terminal when null). The
// transport is made when the command sends its first request.
int RunCli(int argc, const char* const* argv, const TransportFactory& make_transport,
           const Clock& clock, std::ostream& out, std::ostream& err, Prompter* prompter = nullptr);

}  // namespace vouch::cli
