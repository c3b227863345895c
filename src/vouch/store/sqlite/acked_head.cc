#include "vouch/store/sqlite/acked_head.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "vouch/store/sqlite/sqlite_backup.h"
#include "vouch/util/crypto.h"

namespace vouch::store {
namespace {

constexpr size_t kSlotSize = 64;
constexpr std::string_view kPrefix = "vouch-head 1 seq ";
constexpr size_t kDigits = 20;
constexpr size_t kBodySize = kPrefix.size() + kDigits;
constexpr std::string_view kCheck = " check ";
constexpr size_t kCheckDigits = 16;

std::string Slot(int64_t seq) {
  std::string body = fmt::format("{}{:0{}d}", kPrefix, seq, kDigits);
  std::string line = body + std::string(kCheck) + Sha256Hex(body).substr(0, kCheckDigits);
  line.resize(kSlotSize - 1, ' ');
  return line + "\n";
}

std::optional<int64_t> ParseSlot(std::string_view slot) {
  if (slot.size() != kSlotSize || !slot.starts_with(kPrefix)) return std::nullopt;
  std::string_view body = slot.substr(0, kBodySize);
  std::string_view rest = slot.substr(kBodySize);
  if (!rest.starts_with(kCheck)) return std::nullopt;
  if (rest.substr(kCheck.size(), kCheckDigits) != Sha256Hex(body).substr(0, kCheckDigits)) {
    return std::nullopt;
  }
  int64_t seq = 0;
  for (char c : body.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + (c - '0');
  }
  return seq;
}

Status Errno(std::string_view what, const std::string& path) {
  return Unavailable(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// Reads both slots of an open file. A short file has empty slots.
Result<std::array<std::optional<int64_t>, 2>> ReadSlots(int fd, const std::string& path) {
  char buf[2 * kSlotSize];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  if (n < 0) return Errno("cannot read", path);
  std::array<std::optional<int64_t>, 2> slots;
  for (size_t i = 0; i < 2; ++i) {
    if (static_cast<size_t>(n) >= (i + 1) * kSlotSize) {
      slots[i] = ParseSlot(std::string_view(buf + i * kSlotSize, kSlotSize));
    }
  }
  if (n > 0 && !slots[0] && !slots[1]) {
    return Status(StatusCode::kDataLoss,
                  fmt::format("the acknowledged-head file {} is damaged (no valid slot)", path));
  }
  return slots;
}

std::optional<int64_t> Max(const std::optional<int64_t>& a, const std::optional<int64_t>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

Status WriteAll(int fd, const std::string& data, off_t offset, const std::string& path) {
  if (::pwrite(fd, data.data(), data.size(), offset) != static_cast<ssize_t>(data.size())) {
    return Errno("cannot write", path);
  }
  return OkStatus();
}

}  // namespace

std::string AckedHeadPath(const std::string& db_path) { return db_path + "-head"; }

Result<std::optional<int64_t>> ReadAckedHead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<int64_t>();
    return Errno("cannot open", path);
  }
  auto slots = ReadSlots(fd, path);
  ::close(fd);
  VOUCH_TRY(slots.status());
  return Max((*slots)[0], (*slots)[1]);
}

Status ResetAckedHead(const std::string& path, int64_t seq) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", temp);
  Status s = WriteAll(fd, Slot(seq) + Slot(seq), 0, temp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("cannot fsync", temp);
  ::close(fd);
  if (s.ok()) s = RenameDurably(temp, path, true);
  if (!s.ok()) ::unlink(temp.c_str());
  return s;
}

Result<std::unique_ptr<AckedHeadFile>> AckedHeadFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  bool made = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    made = true;
  }
  if (fd < 0) return Errno("cannot open", path);
  auto slots = ReadSlots(fd, path);
  if (!slots.ok()) {
    ::close(fd);
    return slots.status();
  }
  if (made) {
    // The new name must survive a crash before the first count is trusted to it.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 && ::fsync(dfd) == 0;
    if (dfd >= 0) ::close(dfd);
    if (!ok) {
      ::close(fd);
      return Errno("cannot fsync the directory of", path);
    }
  }
  std::optional<int64_t> both[2] = {(*slots)[0], (*slots)[1]};
  return std::unique_ptr<AckedHeadFile>(new AckedHeadFile(path, fd, both));
}

AckedHeadFile::AckedHeadFile(std::string path, int fd, std::optional<int64_t> slots[2])
    : path_(std::move(path)), fd_(fd), slots_{slots[0], slots[1]}, head_(Max(slots[0], slots[1])) {}

AckedHeadFile::~AckedHeadFile() { ::close(fd_); }

Status AckedHeadFile::WriteSlot(int slot, int64_t seq) {
  VOUCH_TRY(WriteAll(fd_, Slot(seq), static_cast<off_t>(slot * kSlotSize), path_));
  slots_[slot] = seq;
  return OkStatus();
}

Status AckedHeadFile::Record(int64_t seq) {
  if (head_ && seq <= *head_) return OkStatus();
  // The slot that does not hold the head; an empty one first.
  int slot = !slots_[0] ? 0 : !slots_[1] ? 1 : (*slots_[0] >= *slots_[1] ? 1 : 0);
  if (head_ && slots_[slot] == head_) slot = 1 - slot;
  VOUCH_TRY(WriteSlot(slot, seq));
  if (::fdatasync(fd_) != 0) return Errno("cannot fdatasync", path_);
  head_ = seq;
  return OkStatus();
}

Status AckedHeadFile::Reset(int64_t seq) {
  VOUCH_TRY(WriteSlot(0, seq));
  VOUCH_TRY(WriteSlot(1, seq));
  if (::fdatasync(fd_) != 0) return Errno("cannot fdatasync", path_);
  head_ = seq;
  return OkStatus();
}

}  // namespace vouch::store
