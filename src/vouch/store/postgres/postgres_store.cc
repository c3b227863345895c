#include "vouch/store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vouch/store/migrations.h"
#include "vouch/store/postgres/postgres_tx.h"

namespace vouch::store {
namespace {

// pg_advisory_lock key: "vouch" in ASCII. Held by the migrating session only.
constexpr char kLockMigrations[] = "SELECT pg_advisory_lock(2242052019)";
constexpr char kUnlockMigrations[] = "SELECT pg_advisory_unlock(2242052019)";
constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";
constexpr char kSchemaVersion[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr char kRecordMigration[] =
    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)";
constexpr char kReady[] = "SELECT 1";

constexpr char kBeginRead[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr char kBeginWrite[] = "BEGIN ISOLATION LEVEL READ COMMITTED";

Result<int> SchemaVersion(PgConn& c) {
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

// Brings the schema up to date. The caller holds the migration lock.
Status MigrateLocked(PgConn& c, const std::string& where) {
  VOUCH_TRY(c.Exec(kCreateMigrationsTable));
  VOUCH_ASSIGN_OR_RETURN(int current, SchemaVersion(c));
  const int latest = LatestMigrationVersion("postgres");
  if (current > latest) {
    return FailedPrecondition(
        fmt::format("the database {} has schema version {}, newer than this vouch knows ({}); run "
                    "a newer vouch",
                    where, current, latest));
  }
  for (const auto& m : Migrations()) {
    if (m.dialect != "postgres" || m.version <= current) continue;
    VOUCH_TRY(ApplyMigration(c, m));
  }
  return OkStatus();
}

Status Migrate(PgConn& c, const PostgresOptions& options, const std::string& where) {
  VOUCH_TRY(c.Exec(kLockMigrations));
  Status s;
  if (!options.schema.empty()) {
    // The name was checked to be a plain identifier when the connection was made.
    std::string create = fmt::format("CREATE SCHEMA IF NOT EXISTS {}", options.schema);
    s = c.Exec(create.c_str());
  }
  if (s.ok()) s = MigrateLocked(c, where);
  Status unlocked = c.Exec(kUnlockMigrations);
  if (s.ok()) s = unlocked;
  return s;
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.pool_size < 1) return InvalidArgument("the PostgreSQL pool size must be at least 1");
  std::unique_ptr<PostgresStore> store(new PostgresStore(options));
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, store->Acquire());
  Status s = Migrate(*conn, options, store->Describe());
  store->Release(s.ok() ? std::move(conn) : nullptr);
  VOUCH_TRY(s);
  return store;
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
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.pool_size; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
  }
  auto conn = PgConn::Open(conn_options_);
  if (!conn.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
  }
  return conn;
}

void PostgresStore::Release(std::unique_ptr<PgConn> conn) {
  {
    std::lock_guard lock(mu_);
    if (conn && conn->healthy() && conn->idle()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_one();
  // A dropped connection closes here, outside the lock.
}

Status PostgresStore::RunOnce(const char* begin_sql, bool for_write,
                              const std::function<Status(Tx&)>& fn, bool& retry) {
  retry = false;
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, Acquire());
  conn->ClearRetryable();
  Status s = conn->Exec(begin_sql);
  if (s.ok()) {
    PostgresTx tx(*conn, for_write);
    s = RunGuarded(fn, tx);
    if (s.ok()) {
      s = conn->Exec("COMMIT");
      if (!s.ok() && s.code() != StatusCode::kAborted) {
        // The commit's outcome is unknown or it failed: nothing is promised.
        s = Unavailable(fmt::format("the store could not commit; retry ({})", s.message()));
      }
    } else {
      (void)conn->Exec("ROLLBACK");
    }
  }
  retry = conn->retryable();
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
  bool retry = false;
  return RunOnce(kBeginRead, false, fn, retry);
}

Status PostgresStore::Write(const std::function<Status(Tx&)>& fn) {
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
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  Status s = (*conn)->Query(kReady).status();
  Release(std::move(conn).value());
  return s.ok() ? s : Unavailable(s.message());
}

std::string PostgresStore::Describe() const {
  std::string out = "postgresql " + RedactDsn(options_.dsn);
  if (!options_.schema.empty()) out += " schema " + options_.schema;
  return out;
}

int64_t PostgresStore::Retries() const {
  std::lock_guard lock(mu_);
  return retries_;
}

}  // namespace vouch::store
