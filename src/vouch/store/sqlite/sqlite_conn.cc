#include "vouch/store/sqlite/sqlite_conn.h"

#include <fmt/format.h>

namespace vouch::store {

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string msg = fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return AlreadyExists(std::move(msg));
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Unavailable(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

StorageFault FaultOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return StorageFault::kFileSystem;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StorageFault::kDamaged;
    default:
      return StorageFault::kNone;
  }
}

void NoteFault(StorageFault& into, StorageFault seen) {
  if (static_cast<int>(seen) > static_cast<int>(into)) into = seen;
}

namespace {
// The SQL with PostgreSQL's numbered placeholders ($1) spelled as SQLite's (?1), outside quotes;
// store/sql writes each statement once for both.
std::string SqliteSpelling(const char* sql) {
  std::string out(sql);
  char quote = 0;
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    char c = out[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') {
      out[i] = '?';
    }
  }
  return out;
}

bool IsTransactionControl(std::string_view sql) {
  for (std::string_view verb : {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}) {
    if (sql.substr(0, verb.size()) == verb) return true;
  }
  return false;
}
}  // namespace

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Stmt& Stmt::Bind(int i, std::optional<int64_t> v) { return v ? Bind(i, *v) : BindNull(i); }
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (fault_ != nullptr) NoteFault(*fault_, FaultOf(rc));
  return SqliteStatus(db_, rc, "sqlite step");
}

Status Stmt::Run() {
  VOUCH_ASSIGN_OR_RETURN(bool row, Step());
  (void)row;
  return OkStatus();
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Result<std::unique_ptr<Conn>> Conn::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(db, rc, fmt::format("cannot open {}", path));
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<Conn> conn(new Conn(db));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  VOUCH_TRY(conn->Exec("PRAGMA foreign_keys = ON"));
  if (read_only) VOUCH_TRY(conn->Exec("PRAGMA query_only = ON"));
  return conn;
}

Conn::~Conn() {
  for (auto& [_, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Stmt> Conn::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    std::string text = SqliteSpelling(sql);
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      Record(rc);
      return SqliteStatus(db_, rc, "sqlite prepare");
    }
    it = cache_.emplace(sql, stmt).first;
  } else if (sqlite3_stmt_busy(it->second) != 0) {
    // A cursor over this statement is still being read: binding would fail and stepping would go
    // on with the old query. Loud, rather than rows of the wrong query.
    return Internal("sqlite prepare: the statement is still in use by an unfinished cursor");
  }
  return Stmt(db_, it->second, &fault_);
}

Status Conn::Exec(const char* sql) {
  // Transaction control runs on every request: prepared once, not parsed again each time.
  if (auto it = cache_.find(sql); it != cache_.end() || IsTransactionControl(sql)) {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
    return s.Run();
  }
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) {
    Record(rc);
    return SqliteStatus(db_, rc, "sqlite exec");
  }
  return OkStatus();
}

void Conn::Record(int rc) { NoteFault(fault_, FaultOf(rc)); }

StorageFault Conn::TakeFault() {
  StorageFault f = fault_;
  fault_ = StorageFault::kNone;
  return f;
}

}  // namespace vouch::store
