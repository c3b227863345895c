// store::sql::Connection over a SQLite connection (sqlite_conn.h), and SQLite's Dialect. The
// shared SQL's `$N` placeholders are SQLite's `?N` (Conn::Prepare reads them so).
#pragma once

#include "vouch/store/sql/sql_conn.h"
#include "vouch/store/sqlite/sqlite_conn.h"

namespace vouch::store {

const sql::Dialect& SqliteDialect();

class SqliteSqlConn final : public sql::Connection {
 public:
  explicit SqliteSqlConn(Conn& conn) : conn_(conn) {}
  const sql::Dialect& dialect() const override { return SqliteDialect(); }

 protected:
  Result<std::unique_ptr<sql::Rows>> DoQuery(const char* sql,
                                             std::span<const sql::Value> params) override;
  Result<int64_t> DoExec(const char* sql, std::span<const sql::Value> params) override;

 private:
  Result<Stmt> Bound(const char* sql, std::span<const sql::Value> params);
  Conn& conn_;
};

}  // namespace vouch::store
