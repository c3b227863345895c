#include "vouch/server/cli_hint.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <system_error>

namespace vouch::server {
namespace {

namespace fs = std::filesystem;

bool SameBytes(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::equivalent(a, b, ec) && !ec) return true;
  uintmax_t size_a = fs::file_size(a, ec);
  if (ec) return false;
  uintmax_t size_b = fs::file_size(b, ec);
  if (ec || size_a != size_b) return false;
  std::ifstream in_a(a, std::ios::binary);
  std::ifstream in_b(b, std::ios::binary);
  if (!in_a || !in_b) return false;
  std::array<char, 1 << 16> buf_a{};
  std::array<char, 1 << 16> buf_b{};
  while (in_a && in_b) {
    in_a.read(buf_a.data(), buf_a.size());
    in_b.read(buf_b.data(), buf_b.size());
    if (in_a.gcount() != in_b.gcount()) return false;
    if (!std::equal(buf_a.begin(), buf_a.begin() + in_a.gcount(), buf_b.begin())) return false;
  }
  return in_a.eof() && in_b.eof();
}

}  // namespace

std::string ShellWord(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '_' || c == '-' || c == '+';
    plain = plain && ok;
  }
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string CliCommandFor(const fs::path& self, std::string_view path_env) {
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string_view::npos) end = path_env.size();
    std::string_view dir = path_env.substr(start, end - start);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / "vouch";
    std::error_code ec;
    // The shell runs the first regular, executable file by that name.
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return SameBytes(candidate, self) ? "vouch" : ShellWord(self.string());
    }
    start = end + 1;
  }
  return ShellWord(self.string());
}

std::string CliCommandForThisBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "vouch";
  const char* path = std::getenv("PATH");
  if (path == nullptr) return ShellWord(self.string());
  return CliCommandFor(self, path);
}

}  // namespace vouch::server
