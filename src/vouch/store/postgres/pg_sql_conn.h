// store::sql::Connection over a PostgreSQL connection (pg_conn.h), and PostgreSQL's Dialect.
// Statements stay prepared per connection (PgConn caches them by the SQL text's address).
#pragma once

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/sql/sql_conn.h"

namespace vouch::store {

const sql::Dialect& PostgresDialect();

class PgSqlConn final : public sql::Connection {
 public:
  explicit PgSqlConn(PgConn& conn) : conn_(conn) {}
  const sql::Dialect& dialect() const override { return PostgresDialect(); }

 protected:
  Result<std::unique_ptr<sql::Rows>> DoQuery(const char* sql,
                                             std::span<const sql::Value> params) override;
  Result<int64_t> DoExec(const char* sql, std::span<const sql::Value> params) override;

 private:
  PgConn& conn_;
};

}  // namespace vouch::store
