// What `vouch login` keeps between invocations, and how the CLI asks a person for a username or a
// password.
//
// The saved logins live in one file, `$XDG_CONFIG_HOME/vouch/credentials` (or
// `~/.config/vouch/credentials`): JSON mapping a server URL to the token issued for it, its id and
// the username. The directory is 0700 and the file 0600, replaced atomically (a new file, fsync'd,
// renamed over the old one, the directory fsync'd), so a crash leaves the old file or the new one.
// A file that others may read is refused rather than used. Never holds a password.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch::cli {

struct SavedLogin {
  std::string server;  // normalized URL, as NormalizeServerUrl returns it
  std::string username;
  std::string token;
  int64_t token_id = 0;
};

// The credentials file: `xdg_config_home`/vouch/credentials when that is an absolute path,
// otherwise `home`/.config/vouch/credentials. INVALID_ARGUMENT when neither is usable.
Result<std::filesystem::path> CredentialsPath(const char* xdg_config_home, const char* home);
// The same from the process environment (XDG_CONFIG_HOME, HOME).
Result<std::filesystem::path> CredentialsPathFromEnv();

// The login saved for `server`; nullopt when there is none (or no file). FAILED_PRECONDITION when
// the file may be read by others or is not a regular file; INVALID_ARGUMENT when it is not ours to
// read (malformed).
Result<std::optional<SavedLogin>> LoadLogin(const std::filesystem::path& file,
                                            std::string_view server);

// Saves `login` (replacing any earlier one for its server, keeping the others). Creates the
// directory with mode 0700 when missing and tightens it to 0700 when it exists. UNAVAILABLE on I/O
// errors.
Status SaveLogin(const std::filesystem::path& file, const SavedLogin& login);

// Forgets the login for `server`; the file is removed when no login is left. OK when there was
// none.
Status RemoveLogin(const std::filesystem::path& file, std::string_view server);

// Asks a person for text. On a terminal it prompts on stderr and does not echo secrets; otherwise
// it reads lines from stdin without prompting, so scripts can pipe a password in.
class Prompter {
 public:
  virtual ~Prompter() = default;
  // Whether a person is at a terminal (the prompts are shown and answered there).
  virtual bool interactive() const = 0;
  // One line, without its line ending. INVALID_ARGUMENT at end of input.
  virtual Result<std::string> ReadLine(std::string_view prompt, bool secret) = 0;
};

// std::cin and stderr; echo is turned off (and back on) with termios for secrets.
class TerminalPrompter final : public Prompter {
 public:
  bool interactive() const override;
  Result<std::string> ReadLine(std::string_view prompt, bool secret) override;
};

}  // namespace vouch::cli
