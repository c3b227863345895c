// Copying a SQLite database file safely: `vouch backup` and `vouch restore`.
#pragma once

#include <string>

#include "vouch/util/status.h"

namespace vouch::store {

// Copies the database at `source` into a new file `dest` with SQLite's online backup API, reading
// through a read-only connection in one snapshot: consistent while a server is writing `source`,
// and without the server's lock. `dest` is created with mode 0600, left in rollback-journal mode
// (one self-contained file, no -wal beside it) and fsync'd. On failure `dest` is removed.
// ALREADY_EXISTS when `dest` exists; UNAVAILABLE when either file cannot be opened, read or
// written; INTERNAL for other SQLite failures.
Status BackupSqliteFile(const std::string& source, const std::string& dest);

// Renames `from` to `to` and fsyncs the directory of `to`, so the rename survives a crash. With
// replace false, ALREADY_EXISTS (and nothing renamed) when `to` exists. UNAVAILABLE on I/O errors.
Status RenameDurably(const std::string& from, const std::string& to, bool replace);

}  // namespace vouch::store
