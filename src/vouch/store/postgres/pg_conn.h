// A libpq connection with a cache of prepared statements, bound text parameters and a result
// wrapper. Used by one thread at a time (the store's pool hands connections out); not thread-safe.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vouch/util/status.h"

namespace vouch::store {

// Where and how to connect. The DSN is a libpq URI or key=value string; it may carry a password,
// which never appears in a Status or a log line.
struct PgConnOptions {
  std::string dsn;
  int statement_timeout_ms = 0;  // 0: no timeout
  std::string schema;            // empty: the server's default search_path
};

// The DSN without its password: "user@host:port/dbname".
std::string RedactDsn(const std::string& dsn);
// The user the DSN names; empty when it names none (libpq would use the OS user's name).
std::string DsnUser(const std::string& dsn);

// Bound parameters, in order ($1, $2, ...), sent in text format.
class PgParams {
 public:
  PgParams& Add(int64_t v);
  PgParams& Add(int v) { return Add(static_cast<int64_t>(v)); }
  PgParams& Add(double v);
  PgParams& Add(std::string_view v);
  PgParams& Add(const std::string& v) { return Add(std::string_view(v)); }
  PgParams& Add(const char* v) { return Add(std::string_view(v)); }
  PgParams& Add(std::optional<int64_t> v);
  PgParams& AddNull();

  int size() const { return static_cast<int>(values_.size()); }
  // True when a value holds the character U+0000, which PostgreSQL text cannot store.
  bool ContainsNul() const;
  // Pointers into the stored values, valid while this object lives unchanged.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// A query's result rows. Column accessors are 0-based.
class PgRows {
 public:
  explicit PgRows(PGresult* res) : res_(res, &PQclear) {}

  int size() const { return PQntuples(res_.get()); }
  bool empty() const { return size() == 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  std::optional<int64_t> OptionalInt(int row, int col) const {
    return IsNull(row, col) ? std::nullopt : std::optional<int64_t>(Int(row, col));
  }
  // Rows changed by an INSERT, UPDATE or DELETE.
  int64_t affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> res_;
};

class PgConn {
 public:
  // Connects and applies the session settings. UNAVAILABLE when the server cannot be reached or
  // refuses the credentials (the message names the DSN without its password).
  static Result<std::unique_ptr<PgConn>> Open(const PgConnOptions& options);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs a prepared statement (prepared once per connection, cached by the SQL text's address:
  // SQL lives in named constants). Errors: ALREADY_EXISTS on a unique violation; ABORTED on a
  // serialization failure or deadlock (and retryable() turns true); UNAVAILABLE when the
  // connection or the server fails, the statement times out, or the database cannot write
  // (write_fault() turns true); INTERNAL otherwise.
  Result<PgRows> Query(const char* sql, const PgParams& params = {});
  // Runs one or more statements without parameters (schema, BEGIN, COMMIT), same errors.
  Status Exec(const char* sql);

  // False once the connection is lost; such a connection is dropped, not reused.
  bool healthy() const;
  // True when the connection is idle outside a transaction.
  bool idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  // Whether a statement failed with a serialization failure or deadlock since ClearRetryable().
  bool retryable() const { return retryable_; }
  void ClearRetryable() { retryable_ = false; }
  // Whether a statement failed because the database cannot write (disk full 53100, I/O error 58…,
  // damaged data XX001/XX002, a read-only database or standby 25006) since ClearWriteFault().
  bool write_fault() const { return write_fault_; }
  void ClearWriteFault() { write_fault_ = false; }
  PGconn* raw() const { return conn_; }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  Status ResultStatus(PGresult* res, std::string_view what);

  PGconn* conn_;
  std::unordered_map<const char*, std::string> prepared_;  // SQL address -> statement name
  bool retryable_ = false;
  bool write_fault_ = false;
};

}  // namespace vouch::store
