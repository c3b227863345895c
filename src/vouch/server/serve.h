// `vouch serve`: parses the server's configuration, opens the store, runs the HTTP listener until
// SIGTERM or SIGINT, drains in-flight requests and returns the exit code.
#pragma once

namespace vouch::server {

// argv[0] is "serve". Returns 0 after a clean shutdown, 1 when start-up fails, 2 on a usage error.
int ServeMain(int argc, char** argv);

}  // namespace vouch::server
