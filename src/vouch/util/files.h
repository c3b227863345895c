// Small file helpers shared by the server and the command line.
#pragma once

#include <filesystem>
#include <string>

#include "vouch/util/status.h"

namespace vouch {

// Writes a generated secret (an admin token, a master key) as one line to a new file that only its
// owner can read (mode 0600), fsync'd. Never overwrites: UNAVAILABLE when the file exists or
// cannot be created or written.
Status WriteNewSecretFile(const std::filesystem::path& path, const std::string& secret);

}  // namespace vouch
