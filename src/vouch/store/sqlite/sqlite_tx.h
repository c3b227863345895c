// The Tx over one SQLite connection: the shared implementation (store/sql/sql_tx.h) with SQLite's
// dialect. Used by one thread inside an open transaction.
#pragma once

#include "vouch/store/sql/sql_tx.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/sqlite/sqlite_sql_conn.h"

namespace vouch::store {

namespace internal {
// Holds the connection adapter so that it is built before SqlTx, which keeps a reference to it.
struct SqliteTxConn {
  explicit SqliteTxConn(Conn& conn) : sql_conn(conn) {}
  SqliteSqlConn sql_conn;
};
}  // namespace internal

class SqliteTx final : private internal::SqliteTxConn, public SqlTx {
 public:
  // SQLite takes no row locks, so reads and writes run the same statements.
  explicit SqliteTx(Conn& conn) : internal::SqliteTxConn(conn), SqlTx(sql_conn, false) {}
};

}  // namespace vouch::store
