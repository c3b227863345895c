// The acknowledged head of a SQLite registry: how many audit events the server has acknowledged,
// kept outside the database in "<db path>-head", so that a database that lost committed writes (a
// truncated or deleted write-ahead log, an older copy put in its place) is noticed at start
// instead of served as a shorter log.
//
// The file holds two 64-byte slots, each one line of text:
//   vouch-head 1 seq 00000000000000000042 check 0123456789abcdef
// (the count, zero-padded to 20 digits, and the first 16 hex digits of the SHA-256 of the line
// before " check"). Record() overwrites the slot that does not hold the highest count and
// fdatasyncs, so a write torn by a crash leaves the other slot, which holds the count acknowledged
// before it. The head is the highest count in a valid slot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "vouch/util/status.h"

namespace vouch::store {

// "<db path>-head".
std::string AckedHeadPath(const std::string& db_path);

// The count in the head file at `path`: nullopt when there is no file. DATA_LOSS when the file
// exists but no slot in it is valid; UNAVAILABLE when it cannot be read.
Result<std::optional<int64_t>> ReadAckedHead(const std::string& path);

// Replaces the head file at `path` by one holding `seq` in both slots (written beside it, fsync'd,
// renamed, the directory fsync'd): for `vouch restore`. UNAVAILABLE on I/O errors.
Status ResetAckedHead(const std::string& path, int64_t seq);

// The head file of a writable store, open for its life. Used by the committer thread only; not
// thread-safe.
class AckedHeadFile {
 public:
  // Opens `path`, creating it (mode 0600, directory fsync'd) when missing. DATA_LOSS when it exists
  // with no valid slot; UNAVAILABLE on I/O errors.
  static Result<std::unique_ptr<AckedHeadFile>> Open(const std::string& path);
  ~AckedHeadFile();
  AckedHeadFile(const AckedHeadFile&) = delete;
  AckedHeadFile& operator=(const AckedHeadFile&) = delete;

  // The highest count recorded; nullopt for a file just made.
  std::optional<int64_t> seq() const { return head_; }
  const std::string& path() const { return path_; }
  // Records a higher count: one slot written and fdatasync'd. UNAVAILABLE on I/O errors.
  Status Record(int64_t seq);
  // Records `seq` in both slots, even when it is lower (--accept-shorter-log).
  Status Reset(int64_t seq);

 private:
  AckedHeadFile(std::string path, int fd, std::optional<int64_t> slots[2]);
  Status WriteSlot(int slot, int64_t seq);

  std::string path_;
  int fd_;
  std::optional<int64_t> slots_[2];
  std::optional<int64_t> head_;
};

}  // namespace vouch::store
