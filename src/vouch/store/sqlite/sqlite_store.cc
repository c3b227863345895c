#include "vouch/store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "vouch/store/migrations.h"
#include "vouch/store/sqlite/sqlite_tx.h"

namespace vouch::store {
namespace {

constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)";
constexpr char kSchemaVersion[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr char kRecordMigration[] =
    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, ?2, ?3)";
constexpr char kHasMigrationsTable[] =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
// At most this many findings; one is enough to refuse a file.
constexpr char kIntegrityCheck[] = "PRAGMA integrity_check(20)";

Result<int> SchemaVersion(Conn& c) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c.Prepare(kSchemaVersion));
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? static_cast<int>(s.Int(0)) : 0;
}

Status RefuseNewer(const std::string& path, int current) {
  int latest = LatestMigrationVersion("sqlite");
  if (current <= latest) return OkStatus();
  return FailedPrecondition(
      fmt::format("the database {} has schema version {}, newer than this vouch knows ({}); run "
                  "a newer vouch",
                  path, current, latest));
}

Status Migrate(Conn& c, const std::string& path) {
  VOUCH_TRY(c.Exec(kCreateMigrationsTable));
  VOUCH_ASSIGN_OR_RETURN(int current, SchemaVersion(c));
  VOUCH_TRY(RefuseNewer(path, current));
  for (const auto& m : Migrations()) {
    if (m.dialect != "sqlite" || m.version <= current) continue;
    VOUCH_TRY(c.Exec("BEGIN IMMEDIATE"));
    std::string sql(m.sql);
    Status s = c.Exec(sql.c_str());
    if (s.ok()) {
      auto stmt = c.Prepare(kRecordMigration);
      if (!stmt.ok()) {
        s = stmt.status();
      } else {
        stmt->Bind(1, m.version).Bind(2, m.name).Bind(3, SystemClock().NowMs());
        s = stmt->Run();
      }
    }
    if (!s.ok()) {
      (void)c.Exec("ROLLBACK");
      return s.WithContext(fmt::format("migration {} failed", m.name));
    }
    VOUCH_TRY(c.Exec("COMMIT"));
    spdlog::info("applied migration {}", m.name);
  }
  return OkStatus();
}

// For a read-only open: the file is a vouch database this binary can read.
Status CheckReadable(Conn& c, const std::string& path) {
  auto has_table = [&]() -> Result<bool> {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, c.Prepare(kHasMigrationsTable));
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    return row && s.Int(0) > 0;
  }();
  if (!has_table.ok()) {
    if ((sqlite3_extended_errcode(c.db()) & 0xff) == SQLITE_NOTADB) {
      return FailedPrecondition(fmt::format("{} is not a SQLite database", path));
    }
    return has_table.status();
  }
  if (!*has_table) {
    return FailedPrecondition(
        fmt::format("{} is not a vouch database (no schema_migrations)", path));
  }
  VOUCH_ASSIGN_OR_RETURN(int current, SchemaVersion(c));
  return RefuseNewer(path, current);
}

}  // namespace

Result<std::unique_ptr<SqliteFileLock>> SqliteFileLock::Acquire(const std::string& db_path) {
  const std::string lock_path = db_path + "-lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot open {}: {}", lock_path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPrecondition(fmt::format(
          "another vouch server is using {} (it holds {}); stop it first", db_path, lock_path));
    }
    return Unavailable(fmt::format("cannot lock {}: {}", lock_path, std::strerror(err)));
  }
  return std::unique_ptr<SqliteFileLock>(new SqliteFileLock(fd));
}

SqliteFileLock::~SqliteFileLock() { ::close(fd_); }

struct SqliteStore::Job {
  const std::function<Status(Tx&)>* fn;
  Status result;
  std::promise<void> done;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.read_only) {
    // Checked on a connection of its own, closed again: readers open as they are needed.
    VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, Conn::Open(options.path, true));
    VOUCH_TRY(CheckReadable(*conn, options.path));
    return std::unique_ptr<SqliteStore>(new SqliteStore(options, nullptr, nullptr));
  }
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<SqliteFileLock> lock,
                         SqliteFileLock::Acquire(options.path));
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> writer, Conn::Open(options.path, false));
  VOUCH_TRY(writer->Exec("PRAGMA journal_mode = WAL"));
  VOUCH_TRY(writer->Exec("PRAGMA synchronous = FULL"));
  VOUCH_TRY(Migrate(*writer, options.path));
  return std::unique_ptr<SqliteStore>(new SqliteStore(options, std::move(lock), std::move(writer)));
}

SqliteStore::SqliteStore(SqliteOptions options, std::unique_ptr<SqliteFileLock> lock,
                         std::unique_ptr<Conn> writer)
    : options_(std::move(options)), lock_(std::move(lock)), writer_(std::move(writer)) {
  if (writer_) committer_ = std::thread([this] { CommitterLoop(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  // Every connection closes before the lock is let go.
  writer_.reset();
  idle_readers_.clear();
  lock_.reset();
}

Status SqliteStore::Write(const std::function<Status(Tx&)>& fn) {
  if (!writer_) return FailedPrecondition(fmt::format("{} is open read-only", options_.path));
  Job job{&fn, OkStatus(), {}};
  auto done = job.done.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return Unavailable("the store is shutting down");
    queue_.push_back(&job);
  }
  queue_cv_.notify_one();
  done.wait();
  return job.result;
}

void SqliteStore::CommitterLoop() {
  std::vector<Job*> batch;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    {
      std::lock_guard lock(queue_mu_);
      stats_.jobs += static_cast<int64_t>(batch.size());
    }
    for (Job* job : batch) job->done.set_value();
    batch.clear();
  }
}

void SqliteStore::RunBatch(std::vector<Job*>& batch) {
  SqliteTx tx(*writer_);
  std::vector<Job*> pending(batch.begin(), batch.end());
  while (!pending.empty()) {
    Status begun = writer_->Exec("BEGIN IMMEDIATE");
    if (!begun.ok()) {
      for (Job* job : pending) job->result = begun;
      return;
    }
    std::vector<Job*> applied;
    std::vector<Job*> rerun;
    for (size_t i = 0; i < pending.size(); ++i) {
      Job* job = pending[i];
      Status s = writer_->Exec("SAVEPOINT job");
      if (s.ok()) s = RunGuarded(*job->fn, tx);
      if (sqlite3_get_autocommit(writer_->db())) {
        // SQLite rolled back the whole transaction (FULL, IOERR, NOMEM, BUSY): this job fails; the
        // ones applied before it and the ones after it run again in a new transaction.
        job->result = s.ok() ? Unavailable("the store rolled back the transaction") : s;
        spdlog::warn("store transaction rolled back under a job: {}", job->result.ToString());
        rerun = applied;
        rerun.insert(rerun.end(), pending.begin() + static_cast<long>(i) + 1, pending.end());
        applied.clear();
        break;
      }
      if (s.ok()) {
        s = writer_->Exec("RELEASE job");
        if (s.ok()) {
          applied.push_back(job);
          continue;
        }
      }
      job->result = s;
      (void)writer_->Exec("ROLLBACK TO job");
      (void)writer_->Exec("RELEASE job");
    }
    if (!rerun.empty() || sqlite3_get_autocommit(writer_->db())) {
      pending = std::move(rerun);
      continue;
    }
    Status committed = writer_->Exec("COMMIT");
    if (!committed.ok()) {
      (void)writer_->Exec("ROLLBACK");
      spdlog::error("store commit failed: {}", committed.ToString());
      for (Job* job : applied) job->result = Unavailable("the store could not commit; retry");
    } else {
      for (Job* job : applied) job->result = OkStatus();
      std::lock_guard lock(queue_mu_);
      ++stats_.commits;
    }
    pending.clear();
  }
}

Result<std::unique_ptr<Conn>> SqliteStore::AcquireReader() {
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(
        lock, [&] { return !idle_readers_.empty() || open_readers_ < options_.max_readers; });
    if (!idle_readers_.empty()) {
      auto conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
    ++open_readers_;
  }
  auto conn = Conn::Open(options_.path, true);
  if (!conn.ok()) {
    std::lock_guard lock(readers_mu_);
    --open_readers_;
    readers_cv_.notify_one();
  }
  return conn;
}

void SqliteStore::ReleaseReader(std::unique_ptr<Conn> conn) {
  {
    std::lock_guard lock(readers_mu_);
    if (conn) {
      idle_readers_.push_back(std::move(conn));
    } else {
      --open_readers_;
    }
  }
  readers_cv_.notify_one();
}

Status SqliteStore::Read(const std::function<Status(Tx&)>& fn) {
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, AcquireReader());
  Status s = conn->Exec("BEGIN");
  if (s.ok()) {
    SqliteTx tx(*conn);
    s = RunGuarded(fn, tx);
    Status ended = conn->Exec(s.ok() ? "COMMIT" : "ROLLBACK");
    if (s.ok()) s = ended;
  }
  // A connection that failed underneath is dropped rather than reused.
  bool healthy = s.ok() || s.code() != StatusCode::kUnavailable;
  ReleaseReader(healthy ? std::move(conn) : nullptr);
  return s;
}

Status SqliteStore::Ready() {
  return Read([](Tx& tx) { return tx.AuditHeadSeq().status(); });
}

std::string SqliteStore::Describe() const {
  return "sqlite " + options_.path + (options_.read_only ? " (read-only)" : "");
}

Status SqliteStore::CheckIntegrity() {
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, AcquireReader());
  std::vector<std::string> findings;
  Status s = [&]() -> Status {
    VOUCH_ASSIGN_OR_RETURN(Stmt stmt, conn->Prepare(kIntegrityCheck));
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return OkStatus();
      findings.push_back(stmt.Text(0));
    }
  }();
  ReleaseReader(std::move(conn));
  if (!s.ok()) {
    // A file damaged badly enough cannot even be checked.
    if (s.code() == StatusCode::kInternal) return {StatusCode::kDataLoss, s.message()};
    return s;
  }
  if (findings.size() == 1 && findings[0] == "ok") return OkStatus();
  std::string joined;
  for (const std::string& f : findings) joined += (joined.empty() ? "" : "; ") + f;
  return {StatusCode::kDataLoss,
          fmt::format("{} failed its integrity check: {}", options_.path, joined)};
}

Result<int> SqliteStore::SchemaVersion() {
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, AcquireReader());
  Result<int> version = store::SchemaVersion(*conn);
  ReleaseReader(std::move(conn));
  return version;
}

SqliteStore::CommitStats SqliteStore::Stats() const {
  std::lock_guard lock(queue_mu_);
  return stats_;
}

std::vector<StoreMetric> SqliteStore::Metrics() const {
  CommitStats st = Stats();
  return {{"vouch_store_commits_total", "SQLite commits (each shared by a batch of writes)",
           "counter", static_cast<double>(st.commits)},
          {"vouch_store_writes_total", "Write jobs committed or failed", "counter",
           static_cast<double>(st.jobs)}};
}

}  // namespace vouch::store
