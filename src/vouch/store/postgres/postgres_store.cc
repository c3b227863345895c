#include "vouch/store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "vouch/store/audit_tree.h"
#include "vouch/store/migrations.h"
#include "vouch/store/postgres/postgres_tx.h"

namespace vouch::store {
namespace {

// pg_advisory_lock keys: "vouch" in ASCII for migrations, the next one for RunExclusive. Each is
// held by one session at a time, across every server on the database.
constexpr char kLockMigrations[] = "SELECT pg_advisory_lock(2242052019)";
constexpr char kUnlockMigrations[] = "SELECT pg_advisory_unlock(2242052019)";
constexpr char kLockExclusive[] = "SELECT pg_advisory_lock(2242052020)";
constexpr char kUnlockExclusive[] = "SELECT pg_advisory_unlock(2242052020)";
constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";
// Needs no privilege on the table when it does not exist, so an application role can ask.
constexpr char kHasMigrationsTable[] = "SELECT to_regclass('schema_migrations') IS NOT NULL";
constexpr char kSchemaVersion[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr char kRecordMigration[] =
    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)";
constexpr char kCurrentSchemaAndUser[] = "SELECT current_schema(), current_user";
constexpr char kRoleExists[] = "SELECT 1 FROM pg_roles WHERE rolname = $1";

constexpr char kBeginRead[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr char kBeginWrite[] = "BEGIN ISOLATION LEVEL READ COMMITTED";

Result<int> SchemaVersion(PgConn& c) {
  VOUCH_ASSIGN_OR_RETURN(PgRows has, c.Query(kHasMigrationsTable));
  if (has.empty() || has.Text(0, 0) != "t") return 0;
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c.Query(kSchemaVersion));
  return r.empty() ? 0 : static_cast<int>(r.Int(0, 0));
}

Status ApplyMigration(PgConn& c, const Migration& m) {
  VOUCH_TRY(c.Exec("BEGIN"));
  std::string sql(m.sql);
  Status s = c.Exec(sql.c_str());
  if (s.ok()) {
    s = c.Query(kRecordMigration, PgParams().Add(m.version).Add(m.name).Add(SystemClock().NowMs()))
            .status();
  }
  if (s.ok()) s = c.Exec("COMMIT");
  if (!s.ok()) {
    (void)c.Exec("ROLLBACK");
    return s.WithContext(fmt::format("migration {} failed", m.name));
  }
  spdlog::info("applied migration postgres/{}", m.name);
  return OkStatus();
}

Status NewerSchema(const std::string& where, int current, int latest) {
  return FailedPrecondition(
      fmt::format("the database {} has schema version {}, newer than this vouch knows ({}); run a "
                  "newer vouch",
                  where, current, latest));
}

// Brings the schema up to date. The caller holds the migration lock.
Status MigrateLocked(PgConn& c, const std::string& where) {
  VOUCH_TRY(c.Exec(kCreateMigrationsTable));
  VOUCH_ASSIGN_OR_RETURN(int current, SchemaVersion(c));
  const int latest = LatestMigrationVersion("postgres");
  if (current > latest) return NewerSchema(where, current, latest);
  for (const auto& m : Migrations()) {
    if (m.dialect != "postgres" || m.version <= current) continue;
    VOUCH_TRY(ApplyMigration(c, m));
  }
  return OkStatus();
}

// Runs `fn` holding the session advisory lock `lock` on `c`.
Status WithSessionLock(PgConn& c, const char* lock, const char* unlock,
                       const std::function<Status()>& fn) {
  VOUCH_TRY(c.Exec(lock));
  Status s = fn();
  Status unlocked = c.Exec(unlock);
  return s.ok() ? unlocked : s;
}

Status Migrate(PgConn& c, const PostgresOptions& options, const std::string& where) {
  return WithSessionLock(c, kLockMigrations, kUnlockMigrations, [&]() -> Status {
    if (!options.schema.empty()) {
      // The name was checked to be a plain identifier when the connection was made.
      std::string create = fmt::format("CREATE SCHEMA IF NOT EXISTS {}", options.schema);
      VOUCH_TRY(c.Exec(create.c_str()));
    }
    return MigrateLocked(c, where);
  });
}

std::string QuoteIdentifier(PgConn& c, std::string_view name) {
  char* quoted = PQescapeIdentifier(c.raw(), name.data(), name.size());
  if (quoted == nullptr) return "\"\"";
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

// The application role's grants (MigrateSchema's comment). Runs under the migration lock.
Status GrantApplicationRole(PgConn& c, std::string_view role) {
  VOUCH_ASSIGN_OR_RETURN(PgRows exists, c.Query(kRoleExists, PgParams().Add(role)));
  if (exists.empty()) {
    return NotFound(
        fmt::format("there is no PostgreSQL role '{}': create it first (CREATE ROLE "
                    "{} LOGIN PASSWORD '...')",
                    role, role));
  }
  VOUCH_ASSIGN_OR_RETURN(PgRows who, c.Query(kCurrentSchemaAndUser));
  const std::string schema = QuoteIdentifier(c, who.Text(0, 0));
  const std::string r = QuoteIdentifier(c, role);
  const std::string sql = fmt::format(
      "BEGIN;"
      "GRANT USAGE ON SCHEMA {0} TO {1};"
      "REVOKE ALL ON ALL TABLES IN SCHEMA {0} FROM {1};"
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {0} TO {1};"
      "REVOKE UPDATE, DELETE ON {0}.audit_events FROM {1};"
      "REVOKE UPDATE, DELETE ON {0}.audit_hashes FROM {1};"
      "REVOKE UPDATE, DELETE ON {0}.policy_versions FROM {1};"
      "REVOKE INSERT, UPDATE, DELETE ON {0}.schema_migrations FROM {1};"
      "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {0} TO {1};"
      "COMMIT",
      schema, r);
  Status s = c.Exec(sql.c_str());
  if (!s.ok()) {
    (void)c.Exec("ROLLBACK");
    return s.WithContext(fmt::format("granting the application role {}", role));
  }
  spdlog::info("granted the application role {} its privileges on schema {}", role, schema);
  return OkStatus();
}

}  // namespace

int DefaultPoolSize() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());  // 0 when unknown
  return std::clamp(2 * cores, 2, 16);
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.pool_size < 1) return InvalidArgument("the PostgreSQL pool size must be at least 1");
  std::unique_ptr<PostgresStore> store(new PostgresStore(options));
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, store->Acquire());
  const std::string where = store->Describe();
  const int latest = LatestMigrationVersion("postgres");
  Result<int> current = SchemaVersion(*conn);
  Status s = current.status();
  if (s.ok() && *current > latest) s = NewerSchema(where, *current, latest);
  if (s.ok() && *current < latest) {
    s = Migrate(*conn, options, where);
    if (s.code() == StatusCode::kPermissionDenied) {
      s = FailedPrecondition(fmt::format(
          "the database {} has schema version {} and this vouch needs {}, but its role may not "
          "change the schema: run `vouch migrate-schema --store OWNER_DSN --app-role ROLE` as the "
          "owner role, or start with --migrate-as OWNER_DSN ({})",
          where, *current, latest, s.message()));
    }
  }
  store->Release(s.ok() ? std::move(conn) : nullptr);
  VOUCH_TRY(s);
  // Before anything is served: the tree of a log written before migration 0015 is built here
  // (servers starting together take turns on audit_head's row lock, batch by batch).
  VOUCH_TRY(PrepareAuditTree(*store, options.audit_tree_off, where));
  return store;
}

Result<int> PostgresStore::MigrateSchema(const PostgresOptions& owner, std::string_view app_role) {
  PostgresStore store(owner);
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, store.Acquire());
  const std::string where = store.Describe();
  Status s = Migrate(*conn, owner, where);
  if (s.ok() && !app_role.empty()) {
    s = WithSessionLock(*conn, kLockMigrations, kUnlockMigrations,
                        [&] { return GrantApplicationRole(*conn, app_role); });
  }
  Result<int> version = s.ok() ? SchemaVersion(*conn) : Result<int>(s);
  store.Release(nullptr);
  return version;
}

PostgresStore::PostgresStore(PostgresOptions options)
    : options_(std::move(options)),
      conn_options_{.dsn = options_.dsn,
                    .statement_timeout_ms = options_.statement_timeout_ms,
                    .schema = options_.schema} {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PgConn>> PostgresStore::Acquire() {
  {
    std::unique_lock lock(mu_);
    if (waiters_.empty() && !idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    if (waiters_.empty() && open_ < options_.pool_size) {
      ++open_;
    } else {
      Waiter me;
      waiters_.push_back(&me);
      auto started = std::chrono::steady_clock::now();
      me.cv.wait(lock, [&] { return me.served; });
      ++pool_waits_;
      pool_wait_us_ += std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
      if (me.conn) return std::move(me.conn);
      // Served with the right to open one: open_ already counts it.
    }
  }
  auto conn = PgConn::Open(conn_options_);
  if (!conn.ok()) {
    std::lock_guard lock(mu_);
    std::unique_ptr<PgConn> none;
    if (!ServeWaiter(none)) --open_;  // the next in line may try to open one instead
  }
  return conn;
}

bool PostgresStore::ServeWaiter(std::unique_ptr<PgConn>& conn) {
  if (waiters_.empty()) return false;
  Waiter* w = waiters_.front();
  waiters_.pop_front();
  w->conn = std::move(conn);
  w->served = true;
  w->cv.notify_one();
  return true;
}

void PostgresStore::Release(std::unique_ptr<PgConn> conn) {
  std::lock_guard lock(mu_);
  if (conn && conn->healthy() && conn->idle()) {
    if (!ServeWaiter(conn)) idle_.push_back(std::move(conn));
    return;
  }
  // Dropped: its slot goes to the next in line, who opens a new connection.
  std::unique_ptr<PgConn> none;
  if (!ServeWaiter(none)) --open_;
  // A dropped connection closes here (PQfinish does not wait for the server).
}

Status PostgresStore::RunOnce(const char* begin_sql, bool for_write,
                              const std::function<Status(Tx&)>& fn, bool& retry) {
  retry = false;
  std::unique_ptr<PgConn> conn;
  Status s;
  // A pooled connection may have died while idle (PostgreSQL restarted, a proxy timed it out).
  // BEGIN finds that out having done nothing, so another connection may be taken safely; every
  // idle one may be dead, hence up to pool_size + 1 tries.
  for (int tries = 0;; ++tries) {
    VOUCH_ASSIGN_OR_RETURN(conn, Acquire());
    conn->ClearRetryable();
    conn->ClearWriteFault();
    s = conn->Exec(begin_sql);
    if (s.ok() || conn->healthy() || tries >= options_.pool_size) break;
    spdlog::info("replacing a PostgreSQL connection that closed while idle ({})", s.message());
    Release(std::move(conn));
  }
  if (s.ok()) {
    PostgresTx tx(*conn, for_write, &waits_);
    if (options_.audit_tree_off) tx.DisableAuditTree();
    s = RunGuarded(fn, tx);
    if (s.ok()) {
      auto committing = std::chrono::steady_clock::now();
      s = conn->Exec("COMMIT");
      if (for_write) {
        commit_us_ += std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - committing)
                          .count();
      }
      if (!s.ok() && s.code() != StatusCode::kAborted) {
        // The commit's outcome is unknown or it failed: nothing is promised.
        s = Unavailable(fmt::format("the store could not commit; retry ({})", s.message()));
      }
    } else {
      (void)conn->Exec("ROLLBACK");
    }
  }
  retry = conn->retryable();
  if (for_write) {
    if (conn->write_fault()) {
      if (!write_fault_.exchange(true)) {
        spdlog::error(
            "writes to {} fail ({}): they answer 503 and /ready answers 503 until a write works "
            "again",
            Describe(), s.message());
      }
    } else if (s.ok() && write_fault_.exchange(false)) {
      spdlog::info("writes to {} work again", Describe());
    }
  }
  if (!conn->healthy()) {
    spdlog::warn("dropping a broken PostgreSQL connection to {}", Describe());
    if (s.ok() || s.code() != StatusCode::kUnavailable) {
      s = Unavailable("the connection to PostgreSQL was lost; retry");
    }
  }
  Release(std::move(conn));
  return s;
}

Status PostgresStore::Read(const std::function<Status(Tx&)>& fn) {
  ++reads_;
  bool retry = false;
  return RunOnce(kBeginRead, false, fn, retry);
}

Status PostgresStore::Write(const std::function<Status(Tx&)>& fn) {
  ++writes_;
  Status s;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    bool retry = false;
    s = RunOnce(kBeginWrite, true, fn, retry);
    if (s.ok() || !retry) return s;
    {
      std::lock_guard lock(mu_);
      ++retries_;
    }
    spdlog::debug("write attempt {} hit a serialization failure or deadlock: {}", attempt,
                  s.message());
  }
  return s;
}

Status PostgresStore::Ready() {
  // A round trip through the same path as every request, so a connection that died while idle is
  // replaced here too rather than reported as an outage.
  bool retry = false;
  Status s = RunOnce(
      kBeginRead, false, [](Tx&) { return OkStatus(); }, retry);
  if (s.ok() && write_fault_.load()) {
    // At most one probe a second, however often /ready is asked while writes fail.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_probe_ms_.load();
    if (now - last < 1000 || !last_probe_ms_.compare_exchange_strong(last, now)) {
      return Unavailable("writes to the database fail");
    }
    // Rewrites the audit head's row with its own values: a new row version and WAL, like any
    // write, and nothing that a reader sees changes.
    s = RunOnce(
        kBeginWrite, true, [](Tx& tx) { return static_cast<PostgresTx&>(tx).Probe(); }, retry);
    if (!s.ok()) {
      spdlog::warn("not ready: writes to {} fail: {}", Describe(), s.message());
      return Unavailable("writes to the database fail");
    }
  }
  if (s.ok()) return s;
  spdlog::warn("not ready: {}", s.message());
  return Unavailable("PostgreSQL cannot be reached or cannot run a transaction");
}

std::string PostgresStore::Describe() const {
  std::string out = "postgresql " + RedactDsn(options_.dsn);
  if (!options_.schema.empty()) out += " schema " + options_.schema;
  return out;
}

Status PostgresStore::RunExclusive(const std::function<Status()>& fn) {
  // A connection of its own, outside the pool, so that `fn` can use every pooled one.
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Open(conn_options_));
  return WithSessionLock(*conn, kLockExclusive, kUnlockExclusive, fn);
}

std::vector<StoreMetric> PostgresStore::Metrics() const {
  std::lock_guard lock(mu_);
  return {
      {"vouch_store_reads_total", "Read transactions started", "counter",
       static_cast<double>(reads_.load())},
      {"vouch_store_writes_total", "Write transactions started", "counter",
       static_cast<double>(writes_.load())},
      {"vouch_store_write_retries_total",
       "Write attempts run again after a serialization failure or deadlock", "counter",
       static_cast<double>(retries_)},
      {"vouch_store_pool_waits_total", "Times a transaction waited for a free pooled connection",
       "counter", static_cast<double>(pool_waits_)},
      {"vouch_store_pool_wait_seconds_total", "Time spent waiting for a pooled connection",
       "counter", static_cast<double>(pool_wait_us_) / 1e6},
      {"vouch_store_audit_head_wait_seconds_total",
       "Time spent taking the audit head's row lock (appends from every server queue on it)",
       "counter", static_cast<double>(waits_.audit_head_us.load()) / 1e6},
      {"vouch_store_row_lock_wait_seconds_total",
       "Time spent on row locks: a model's or version's row (writes on one model take turns), a "
       "principal's row, the last-admin check",
       "counter", static_cast<double>(waits_.row_lock_us.load()) / 1e6},
      {"vouch_store_commit_seconds_total",
       "Time spent in COMMIT of writes (the WAL flush), holding the row and audit-head locks",
       "counter", static_cast<double>(commit_us_.load()) / 1e6},
      {"vouch_store_pool_connections", "PostgreSQL connections open", "gauge",
       static_cast<double>(open_)},
  };
}

int64_t PostgresStore::Retries() const {
  std::lock_guard lock(mu_);
  return retries_;
}

}  // namespace vouch::store
