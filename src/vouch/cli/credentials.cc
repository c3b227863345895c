#include "vouch/cli/credentials.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "vouch/util/json.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kFileFormat = 1;

Status Errno(std::string_view what, const fs::path& path) {
  return Unavailable(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// Every saved login, by server. A missing file is an empty map.
Result<json::object> ReadAll(const fs::path& file) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return json::object{};
    return Errno("cannot read", file);
  }
  if (!S_ISREG(st.st_mode)) {
    return FailedPrecondition(fmt::format("{} is not a regular file", file.string()));
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition(
        fmt::format("{} may be read by others (mode {:o}); run chmod 600 {} or vouch login again",
                    file.string(), st.st_mode & 0777, file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Errno("cannot read", file);
  std::stringstream text;
  text << in.rdbuf();
  Result<json::object> parsed = ParseJsonObject(text.str());
  const json::value* servers = parsed.ok() ? parsed->if_contains("servers") : nullptr;
  if (servers == nullptr || !servers->is_object()) {
    return InvalidArgument(fmt::format(
        "{} is not a vouch credentials file; remove it and log in again", file.string()));
  }
  return servers->get_object();
}

// Creates `dir` (and missing parents) with mode 0700, and makes an existing `dir` 0700.
Status MakePrivateDir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir.parent_path(), ec)) {
    if (Status s = MakePrivateDir(dir.parent_path()); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("cannot create", dir);
  if (::chmod(dir.c_str(), 0700) != 0) return Errno("cannot restrict", dir);
  return OkStatus();
}

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", dir);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? OkStatus() : Errno("cannot sync", dir);
}

// Replaces `file` with `servers` (or removes it when empty), atomically.
Status WriteAll(const fs::path& file, const json::object& servers) {
  const fs::path dir = file.parent_path();
  if (servers.empty()) {
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", file);
    return FsyncDir(dir);
  }
  if (Status s = MakePrivateDir(dir); !s.ok()) return s;
  std::string tmp = (dir / ".credentials-XXXXXX").string();
  int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) return Errno("cannot create a file in", dir);
  const std::string text =
      SerializeJson(json::object{{"version", kFileFormat}, {"servers", servers}}) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t written = 0;
  while (ok && written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    Status s = Errno("cannot write", file);
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncDir(dir);
}

}  // namespace

Result<fs::path> CredentialsPath(const char* xdg_config_home, const char* home) {
  // The XDG base-directory specification ignores relative paths.
  if (xdg_config_home != nullptr && xdg_config_home[0] == '/') {
    return fs::path(xdg_config_home) / "vouch" / "credentials";
  }
  if (home != nullptr && home[0] == '/') {
    return fs::path(home) / ".config" / "vouch" / "credentials";
  }
  return InvalidArgument(
      "cannot tell where to keep credentials: set HOME or XDG_CONFIG_HOME to an absolute path");
}

Result<fs::path> CredentialsPathFromEnv() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] == '\0') {
    const passwd* pw = ::getpwuid(::getuid());
    if (pw != nullptr) home = pw->pw_dir;
  }
  return CredentialsPath(std::getenv("XDG_CONFIG_HOME"), home);
}

Result<std::optional<SavedLogin>> LoadLogin(const fs::path& file, std::string_view server) {
  VOUCH_ASSIGN_OR_RETURN(json::object servers, ReadAll(file));
  const json::value* entry = servers.if_contains(server);
  if (entry == nullptr) return std::optional<SavedLogin>();
  const json::object* o = entry->if_object();
  const json::value* token = o ? o->if_contains("token") : nullptr;
  const json::value* id = o ? o->if_contains("token_id") : nullptr;
  const json::value* user = o ? o->if_contains("username") : nullptr;
  if (token == nullptr || !token->is_string() || id == nullptr || !id->is_int64() ||
      user == nullptr || !user->is_string()) {
    return InvalidArgument(
        fmt::format("{} has a malformed entry for {}; run vouch logout and log in again",
                    file.string(), server));
  }
  return std::optional<SavedLogin>(SavedLogin{.server = std::string(server),
                                              .username = std::string(user->get_string()),
                                              .token = std::string(token->get_string()),
                                              .token_id = id->get_int64()});
}

Status SaveLogin(const fs::path& file, const SavedLogin& login) {
  Result<json::object> servers = ReadAll(file);
  // A file we cannot use is replaced rather than kept: the new login is what the user asked for.
  json::object all = servers.ok() ? std::move(servers).value() : json::object{};
  all[login.server] = json::object{
      {"username", login.username}, {"token_id", login.token_id}, {"token", login.token}};
  return WriteAll(file, all);
}

Status RemoveLogin(const fs::path& file, std::string_view server) {
  VOUCH_ASSIGN_OR_RETURN(json::object servers, ReadAll(file));
  if (servers.erase(server) == 0) return OkStatus();
  return WriteAll(file, servers);
}

bool TerminalPrompter::interactive() const { return ::isatty(STDIN_FILENO) == 1; }

Result<std::string> TerminalPrompter::ReadLine(std::string_view prompt, bool secret) {
  const bool tty = interactive();
  termios saved{};
  bool echo_off = false;
  if (tty) {
    std::cerr << prompt << std::flush;
    if (secret && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      echo_off = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (echo_off) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (!got) {
    return InvalidArgument(
        fmt::format("no {} given: standard input ended", secret ? "password" : "answer"));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace vouch::cli
