// The shared store: one PostgreSQL database behind any number of vouch servers.
//
// A pool of connections (at most pool_size), each with its own prepared statements. Read() runs
// fn in a REPEATABLE READ READ ONLY transaction (one snapshot); Write() in a READ COMMITTED
// transaction where FindModel/FindVersion lock their rows and AppendAuditEvent locks the audit
// head (see postgres_tx.h), so the invariants hold across servers: version numbers per model are
// unique and gapless, the audit log is one gapless sequence. A write that fails with a
// serialization failure or deadlock runs again, whole, up to kMaxAttempts times. A connection that
// breaks is dropped; the call returns UNAVAILABLE and the next call connects afresh.
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_tx.h"
#include "vouch/store/store.h"

namespace vouch::store {

// The default pool size: twice the cores of this machine (PostgreSQL's own rule of thumb for a
// database on the same host; hardware_concurrency), at least 2 and at most 16. On a two-core
// machine, 4: more connections than the database can run at once only queue inside it, and the
// tail latency grows (docs/operations.md says how to size the pool for a database on its own host).
int DefaultPoolSize();

struct PostgresOptions {
  std::string dsn;                    // libpq URI or key=value string; the password is never logged
  int pool_size = 8;                  // connections kept open at most
  int statement_timeout_ms = 30'000;  // 0: none
  // The schema the tables live in (search_path); created when missing. Empty: the server's
  // default (public). Lower-case letters, digits and '_' only. Lets tests share one database.
  std::string schema;
  // Benchmarks only: appends write no Merkle tree, and the database is marked so that every later
  // open refuses it (store/audit_tree.h). Never for a registry anyone keeps.
  bool audit_tree_off = false;
};

class PostgresStore final : public Store {
 public:
  static constexpr int kMaxAttempts = 5;

  // Connects and checks the schema. A current schema needs no privilege beyond the application
  // role's (SELECT, INSERT, UPDATE, DELETE; see MigrateSchema). An older one is migrated under a
  // session advisory lock (servers starting together apply each migration once) when the role may
  // change the schema, else FAILED_PRECONDITION naming `vouch migrate-schema`. FAILED_PRECONDITION
  // too when the schema is newer than this vouch knows; UNAVAILABLE when the database cannot be
  // reached or refuses the credentials; INVALID_ARGUMENT for a bad schema name; INTERNAL when a
  // migration fails.
  static Result<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options);

  // As the owner role (`owner.dsn`): applies pending migrations under the migration lock, then,
  // when `app_role` is not empty, grants that role what a server needs and nothing more: USAGE on
  // the schema; SELECT, INSERT, UPDATE, DELETE on the tables, except the audit log and the
  // published policy versions (SELECT and INSERT only) and schema_migrations (SELECT only); USAGE
  // on the sequences. The grants are made again on every call, so tables added by later migrations
  // are covered. Returns the schema version. NOT_FOUND when the role does not exist; codes
  // otherwise as Open.
  static Result<int> MigrateSchema(const PostgresOptions& owner, std::string_view app_role);
  ~PostgresStore() override;

  Status Read(const std::function<Status(Tx&)>& fn) override;
  Status Write(const std::function<Status(Tx&)>& fn) override;
  // A round trip; and while writes fail because the database cannot write (see
  // PgConn::write_fault), a probe write (the audit head's row updated to itself) until one works.
  Status Ready() override;
  std::string Describe() const override;
  Status RunExclusive(const std::function<Status()>& fn) override;
  std::vector<StoreMetric> Metrics() const override;
  // A session advisory lock on a connection of its own (pg_lease.h).
  std::unique_ptr<LeaseClaim> ClaimLease(std::string_view name, std::string_view holder) override;

  // How many writes ran again after a serialization failure or deadlock (for tests, benchmarks).
  int64_t Retries() const;

 private:
  explicit PostgresStore(PostgresOptions options);
  // A connection from the pool, or a new one while fewer than pool_size are open. When none is
  // free, callers queue and are served first come, first served, so none starves under load.
  Result<std::unique_ptr<PgConn>> Acquire();
  // Returns the connection to the pool, or drops it (nullptr, or broken, or mid-transaction).
  void Release(std::unique_ptr<PgConn> conn);
  // One attempt: BEGIN `begin_sql`, fn, COMMIT (or ROLLBACK). Sets `retry` when the attempt failed
  // with a serialization failure or deadlock.
  Status RunOnce(const char* begin_sql, bool for_write, const std::function<Status(Tx&)>& fn,
                 bool& retry);

  const PostgresOptions options_;
  const PgConnOptions conn_options_;

  mutable std::mutex mu_;
  // One queued Acquire: handed a connection, or the right to open one.
  struct Waiter {
    std::condition_variable cv;
    bool served = false;
    std::unique_ptr<PgConn> conn;  // null when served with the right to open one
  };
  // Gives the front waiter `conn`, or the right to open one when `conn` is null. False when no one
  // waits. Called with mu_ held.
  bool ServeWaiter(std::unique_ptr<PgConn>& conn);

  std::deque<Waiter*> waiters_;                // guarded by mu_, oldest first
  std::vector<std::unique_ptr<PgConn>> idle_;  // guarded by mu_
  int open_ = 0;                               // guarded by mu_: idle plus handed out
  int64_t retries_ = 0;                        // guarded by mu_
  int64_t pool_waits_ = 0;                     // guarded by mu_: Acquire calls that had to wait
  int64_t pool_wait_us_ = 0;                   // guarded by mu_: time they waited
  LockWaits waits_;                            // time writes waited for row locks
  std::atomic<int64_t> commit_us_{0};          // time in COMMIT (the WAL flush) of writes
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> writes_{0};
  std::atomic<bool> write_fault_{false};  // set by a write the database refused underneath
  // steady-clock milliseconds of the last probe write Ready() made while writes failed
  std::atomic<int64_t> last_probe_ms_{std::numeric_limits<int64_t>::min() / 2};
};

}  // namespace vouch::store
