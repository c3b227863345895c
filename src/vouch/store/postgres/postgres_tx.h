// The Tx over one PostgreSQL connection: the shared implementation (store/sql/sql_tx.h, whose
// comment says what it locks and why) with PostgreSQL's dialect. Used by one thread inside an
// open transaction.
#pragma once

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/pg_sql_conn.h"
#include "vouch/store/sql/sql_tx.h"

namespace vouch::store {

namespace internal {
// Holds the connection adapter so that it is built before SqlTx, which keeps a reference to it.
struct PostgresTxConn {
  explicit PostgresTxConn(PgConn& conn) : pg(conn), sql_conn(conn) {}
  PgConn& pg;
  PgSqlConn sql_conn;
};
}  // namespace internal

class PostgresTx final : private internal::PostgresTxConn, public SqlTx {
 public:
  // `for_write`: a write transaction, whose lookups lock rows. `waits`, when given, accumulates the
  // time spent waiting for locks.
  PostgresTx(PgConn& conn, bool for_write, LockWaits* waits = nullptr)
      : internal::PostgresTxConn(conn), SqlTx(sql_conn, for_write, waits) {}

  // For PostgresStore::Ready: rewrites the audit head's row with its own values (a write that
  // reaches the heap and the WAL and changes nothing a reader sees).
  Status Probe() { return pg.Exec("UPDATE audit_head SET next_seq = next_seq WHERE id = 1"); }
};

}  // namespace vouch::store
