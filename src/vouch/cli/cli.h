// The `vouch` command-line client: talks HTTP to a vouch server's native API (docs/api.md).
#pragma once

namespace vouch::cli {

// Runs the client with the process's arguments (argv[0] is the program). Exit codes: 0 ok; 1 the
// server refused (its message on stderr); 2 usage error; 3 server unreachable.
int Main(int argc, char** argv);

}  // namespace vouch::cli
