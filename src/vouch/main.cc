// The one `vouch` binary: `vouch serve` runs the server; every other subcommand is the client.
#include <string_view>

#include "vouch/cli/cli.h"
#include "vouch/server/serve.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "serve") {
    return vouch::server::ServeMain(argc - 1, argv + 1);
  }
  return vouch::cli::Main(argc, argv);
}
