#include "vouch/app/checkpoint_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "vouch/tlog/note.h"

namespace vouch::app {
namespace {

bool IsSignatureLine(std::string_view line) { return line.starts_with(tlog::kNoteSignaturePrefix); }

}  // namespace

Result<std::optional<std::string>> LastCheckpointNote(std::string_view text) {
  if (text.empty()) return std::optional<std::string>();
  if (!text.ends_with('\n')) {
    return InvalidArgument("it does not end in a whole line (a torn last write?)");
  }
  // The lines, without their newlines; paragraphs are runs of non-empty lines.
  std::vector<std::string_view> lines;
  for (size_t from = 0; from < text.size();) {
    size_t nl = text.find('\n', from);
    lines.push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  size_t end = lines.size();
  while (end > 0 && lines[end - 1].empty()) --end;
  size_t sig_begin = end;
  while (sig_begin > 0 && !lines[sig_begin - 1].empty()) --sig_begin;
  if (sig_begin == end) return InvalidArgument("it holds no checkpoint");
  for (size_t i = sig_begin; i < end; ++i) {
    if (!IsSignatureLine(lines[i])) {
      return InvalidArgument("its last paragraph is not a note's signatures (a torn last write?)");
    }
  }
  if (sig_begin < 2 || !lines[sig_begin - 1].empty()) {
    return InvalidArgument("its last signatures follow no checkpoint text");
  }
  size_t text_end = sig_begin - 1;
  size_t text_begin = text_end;
  while (text_begin > 0 && !lines[text_begin - 1].empty()) --text_begin;
  if (text_begin == text_end) return InvalidArgument("its last signatures follow no text");
  std::string note;
  for (size_t i = text_begin; i < text_end; ++i) note.append(lines[i]).push_back('\n');
  note.push_back('\n');
  for (size_t i = sig_begin; i < end; ++i) note.append(lines[i]).push_back('\n');
  return std::optional<std::string>(std::move(note));
}

Result<std::optional<std::string>> ReadLastCheckpointNote(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unavailable(fmt::format("cannot read the checkpoint file {}", path.string()));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  Result<std::optional<std::string>> last = LastCheckpointNote(buf.str());
  if (!last.ok()) {
    return InvalidArgument(fmt::format("the checkpoint file {} is not a list of signed notes: {}",
                                       path.string(), last.status().message()));
  }
  return last;
}

Status AppendCheckpointNote(const std::filesystem::path& path, std::string_view note) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable(
        fmt::format("cannot open the checkpoint file {}: {}", path.string(), std::strerror(errno)));
  }
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out = "\n";
  out.append(note);
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Unavailable(fmt::format("cannot write the checkpoint file {}: {}", path.string(),
                                     std::strerror(err)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return Unavailable(
        fmt::format("cannot sync the checkpoint file {}: {}", path.string(), std::strerror(err)));
  }
  ::close(fd);
  return OkStatus();
}

Status CheckCheckpointFileOutside(const std::filesystem::path& file,
                                  const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::path f = std::filesystem::weakly_canonical(std::filesystem::absolute(file), ec);
  if (ec) f = std::filesystem::absolute(file);
  std::filesystem::path d =
      std::filesystem::weakly_canonical(std::filesystem::absolute(data_dir), ec);
  if (ec) d = std::filesystem::absolute(data_dir);
  auto fi = f.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++fi) {
    if (di->empty()) continue;  // a trailing separator
    if (fi == f.end() || *fi != *di) return OkStatus();
  }
  return InvalidArgument(fmt::format(
      "--checkpoint-file {} is inside the data directory {}: keep it elsewhere (another disk or "
      "machine), since it exists to catch an older copy of that directory put in place",
      file.string(), data_dir.string()));
}

}  // namespace vouch::app
