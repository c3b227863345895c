// A SQLite connection with a cache of prepared statements, and a statement cursor. Used by one
// thread at a time (the store hands connections out); not thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vouch/util/status.h"

namespace vouch::store {

// Maps a SQLite result code to a Status: UNIQUE and PRIMARY KEY violations to ALREADY_EXISTS; BUSY,
// LOCKED, IOERR, FULL, NOMEM, CANTOPEN, READONLY, CORRUPT and NOTADB to UNAVAILABLE (the store
// failed underneath: a caller is answered 503, never 500); anything else to INTERNAL.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

// What a failed SQLite call says about the storage underneath: nothing (a constraint, a busy
// lock, a bug), that the file system failed (disk full, I/O error, cannot open, read-only), or that
// the database file is damaged (corrupt, not a database).
enum class StorageFault { kNone, kFileSystem, kDamaged };
StorageFault FaultOf(int rc);

// A prepared statement in use. Resets itself (and clears bindings) when it goes out of scope, so
// the cached statement can be reused.
class Stmt {
 public:
  // `fault` (may be null) is where a failed step records its StorageFault.
  Stmt(sqlite3* db, sqlite3_stmt* stmt, StorageFault* fault = nullptr)
      : db_(db), stmt_(stmt), fault_(fault) {}
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_), fault_(other.fault_) {
    other.stmt_ = nullptr;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Binding is 1-based, like SQLite.
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, std::optional<int64_t> v);
  Stmt& BindNull(int i);
  Stmt& BindBlob(int i, std::string_view bytes);

  // True when a row is ready; false when the statement is done.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();

  // Column accessors are 0-based.
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const;
  std::string Blob(int col) const;
  std::optional<int64_t> OptionalInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  StorageFault* fault_;
};

class Conn {
 public:
  // Opens `path`; read-only connections also set query_only.
  static Result<std::unique_ptr<Conn>> Open(const std::string& path, bool read_only);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Prepares (once, cached by the SQL text's address: SQL lives in named constants) and returns
  // a cursor over the statement. PostgreSQL's placeholders ($1) read as SQLite's (?1), so that
  // store/sql's statements are written once. INTERNAL when a cursor over the same statement is
  // still alive (stepped and not finished or destroyed).
  Result<Stmt> Prepare(const char* sql);
  // Runs one or more statements without results (schema, BEGIN, COMMIT).
  Status Exec(const char* sql);
  sqlite3* db() const { return db_; }
  int64_t changes() const { return sqlite3_changes64(db_); }
  // The worst StorageFault a call on this connection met since the last TakeFault (kDamaged over
  // kFileSystem over kNone), and forgets it.
  StorageFault TakeFault();

 private:
  explicit Conn(sqlite3* db) : db_(db) {}
  void Record(int rc);
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
  StorageFault fault_ = StorageFault::kNone;
};

// Keeps the worse of two faults in `into`.
void NoteFault(StorageFault& into, StorageFault seen);

}  // namespace vouch::store
