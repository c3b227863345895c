#include "vouch/store/sqlite/sqlite_backup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "vouch/store/sqlite/sqlite_conn.h"

namespace vouch::store {
namespace {

// A source busy with WAL recovery or a checkpoint's exclusive moment is retried for a while.
constexpr int kBusyAttempts = 100;
constexpr auto kBusyPause = std::chrono::milliseconds(50);

Status Errno(std::string_view what, const std::string& path) {
  return Unavailable(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  const bool ok = ::fsync(fd) == 0;
  Status s = ok ? OkStatus() : Errno("cannot fsync", path);
  ::close(fd);
  return s;
}

std::string DirectoryOf(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

Status CopyPages(sqlite3* from, sqlite3* to, const std::string& source) {
  for (int attempt = 0;; ++attempt) {
    sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
    if (backup == nullptr) return SqliteStatus(to, sqlite3_errcode(to), "sqlite backup");
    // All pages in one step: one read transaction on the source, so one snapshot.
    const int rc = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (rc == SQLITE_DONE) return OkStatus();
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempt + 1 < kBusyAttempts) {
      std::this_thread::sleep_for(kBusyPause);
      continue;
    }
    return SqliteStatus(nullptr, rc, fmt::format("cannot back up {}", source));
  }
}

Status Backup(const std::string& source, const std::string& dest) {
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> from, Conn::Open(source, true));
  sqlite3* to = nullptr;
  int rc = sqlite3_open_v2(dest.c_str(), &to, SQLITE_OPEN_READWRITE, nullptr);
  Status s =
      rc == SQLITE_OK ? OkStatus() : SqliteStatus(to, rc, fmt::format("cannot open {}", dest));
  if (s.ok()) s = CopyPages(from->db(), to, source);
  if (s.ok()) {
    // The source's WAL flag came along with its first page; a backup is one file.
    rc = sqlite3_exec(to, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) s = SqliteStatus(to, rc, "sqlite journal_mode");
  }
  if (sqlite3_close(to) != SQLITE_OK && s.ok())
    s = Unavailable(fmt::format("cannot close {}", dest));
  VOUCH_TRY(s);
  return FsyncPath(dest, false);
}

}  // namespace

Status BackupSqliteFile(const std::string& source, const std::string& dest) {
  // Created here, not by SQLite, to be sure of its mode and that nothing is overwritten.
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(fmt::format("{} exists", dest));
    return Errno("cannot create", dest);
  }
  ::close(fd);
  Status s = Backup(source, dest);
  if (!s.ok()) {
    ::unlink(dest.c_str());
    ::unlink((dest + "-journal").c_str());
  }
  return s;
}

Status RenameDurably(const std::string& from, const std::string& to, bool replace) {
  if (replace) {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("cannot rename to", to);
  } else if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return AlreadyExists(fmt::format("{} exists", to));
    if (errno != EINVAL) return Errno("cannot rename to", to);
    // A file system without RENAME_NOREPLACE: a hard link is refused just the same when `to`
    // exists.
    if (::link(from.c_str(), to.c_str()) != 0) {
      if (errno == EEXIST) return AlreadyExists(fmt::format("{} exists", to));
      return Errno("cannot link to", to);
    }
    ::unlink(from.c_str());
  }
  return FsyncPath(DirectoryOf(to), true);
}

}  // namespace vouch::store
