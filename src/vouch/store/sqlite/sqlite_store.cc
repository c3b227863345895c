#include "vouch/store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>

#include "vouch/store/audit_tree.h"
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
constexpr char kQuickCheck[] = "PRAGMA quick_check(20)";
constexpr char kLogLength[] = "SELECT COALESCE(MAX(seq), 0) FROM audit_events";
constexpr char kUserVersion[] = "PRAGMA user_version";
constexpr char kCheckpoint[] = "PRAGMA wal_checkpoint(TRUNCATE)";
constexpr char kOperationsDoc[] = "docs/operations.md";

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

// PRAGMA quick_check: OK, or DATA_LOSS naming SQLite's first findings. Reads every page once.
Status QuickCheck(Conn& c, const std::string& path) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::string> findings;
  Status s = [&]() -> Status {
    VOUCH_ASSIGN_OR_RETURN(Stmt stmt, c.Prepare(kQuickCheck));
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return OkStatus();
      findings.push_back(stmt.Text(0));
    }
  }();
  if (!s.ok() && c.TakeFault() != StorageFault::kDamaged) return s;
  if (s.ok() && findings.size() == 1 && findings[0] == "ok") {
    spdlog::info("quick check of {}: ok in {} ms", path,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
    return OkStatus();
  }
  std::string joined = s.ok() ? "" : s.message();
  for (const std::string& f : findings) joined += (joined.empty() ? "" : "; ") + f;
  if (joined.size() > 400) joined = joined.substr(0, 400) + "…";
  return {StatusCode::kDataLoss,
          fmt::format("refusing {}: the database file is damaged (quick_check: {}); restore the "
                      "latest backup (vouch restore, see {}), or start with --skip-check to serve "
                      "what can still be read",
                      path, joined, kOperationsDoc)};
}

Result<int64_t> LogLength(Conn& c) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c.Prepare(kLogLength));
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

// The acknowledged head beside the database, checked against its audit log.
Result<std::unique_ptr<AckedHeadFile>> OpenAckedHead(Conn& c, const SqliteOptions& options) {
  const std::string head_path = AckedHeadPath(options.path);
  auto opened = AckedHeadFile::Open(head_path);
  if (!opened.ok() && opened.status().code() == StatusCode::kDataLoss &&
      options.accept_shorter_log) {
    spdlog::warn("{}; --accept-shorter-log: starting it again", opened.status().message());
    std::error_code ec;
    std::filesystem::remove(head_path, ec);
    opened = AckedHeadFile::Open(head_path);
  }
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kDataLoss) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("refusing {}: {}; restore the latest backup (vouch restore), or "
                                "start with --accept-shorter-log to trust the database's log",
                                options.path, opened.status().message()));
    }
    return opened.status();
  }
  std::unique_ptr<AckedHeadFile> head = std::move(opened).value();
  VOUCH_ASSIGN_OR_RETURN(int64_t length, LogLength(c));
  if (!head->seq()) {
    if (length > 0) {
      spdlog::info("no acknowledged head beside {}: starting {} at {} events", options.path,
                   head_path, length);
    }
    VOUCH_TRY(head->Reset(length));
  } else if (length < *head->seq()) {
    if (!options.accept_shorter_log) {
      return FailedPrecondition(fmt::format(
          "refusing {}: its audit log holds {} events, but {} were acknowledged ({}); the "
          "database lost committed writes (a truncated or deleted write-ahead log, or an older "
          "copy of the file). Restore the latest backup (vouch restore), or start with "
          "--accept-shorter-log to serve the shorter log",
          options.path, length, *head->seq(), head_path));
    }
    spdlog::warn(
        "--accept-shorter-log: serving {} with {} events although {} were acknowledged; events "
        "{}..{} are lost",
        options.path, length, *head->seq(), length + 1, *head->seq());
    VOUCH_TRY(head->Reset(length));
  } else {
    VOUCH_TRY(head->Record(length));
  }
  return head;
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
    return std::unique_ptr<SqliteStore>(new SqliteStore(options, nullptr, nullptr, nullptr));
  }
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<SqliteFileLock> lock,
                         SqliteFileLock::Acquire(options.path));
  VOUCH_ASSIGN_OR_RETURN(std::unique_ptr<Conn> writer, Conn::Open(options.path, false));
  // Checked before anything is written to it.
  if (options.quick_check) VOUCH_TRY(QuickCheck(*writer, options.path));
  VOUCH_TRY(writer->Exec("PRAGMA journal_mode = WAL"));
  VOUCH_TRY(writer->Exec("PRAGMA synchronous = FULL"));
  VOUCH_TRY(Migrate(*writer, options.path));
  std::unique_ptr<AckedHeadFile> head;
  if (options.acked_head) {
    VOUCH_ASSIGN_OR_RETURN(head, OpenAckedHead(*writer, options));
  }
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(options, std::move(lock), std::move(writer), std::move(head)));
  // Before anything is served: the tree of a log written before migration 0015 is built here.
  VOUCH_TRY(PrepareAuditTree(*store, options.audit_tree_off, options.path));
  return store;
}

SqliteStore::SqliteStore(SqliteOptions options, std::unique_ptr<SqliteFileLock> lock,
                         std::unique_ptr<Conn> writer, std::unique_ptr<AckedHeadFile> head)
    : options_(std::move(options)),
      lock_(std::move(lock)),
      writer_(std::move(writer)),
      head_(std::move(head)) {
  if (head_ && head_->seq()) acked_head_ = *head_->seq();
  if (writer_) committer_ = std::thread([this] { CommitterLoop(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  // Every connection closes before the lock is let go; the readers first, so that the writer is
  // the last connection and may checkpoint.
  idle_readers_.clear();
  if (writer_) Checkpoint();
  writer_.reset();
  head_.reset();
  lock_.reset();
}

void SqliteStore::Checkpoint() {
  {
    std::lock_guard lock(health_mu_);
    if (!damaged_.ok()) return;  // nothing is copied out of a damaged file
  }
  // Copies every committed page from vouch.db-wal into vouch.db and empties the WAL, so that the
  // database file alone holds every commit (a copy of it is complete).
  auto result = [&]() -> Result<bool> {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, writer_->Prepare(kCheckpoint));
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    return row && s.Int(0) == 0;  // the first column is 1 when a reader kept it from finishing
  }();
  if (!result.ok()) {
    spdlog::warn("could not checkpoint {} at shutdown: {}", options_.path,
                 result.status().message());
  } else if (!*result) {
    spdlog::warn(
        "could not checkpoint {} completely at shutdown (another process is reading it); the "
        "latest commits stay in {}-wal",
        options_.path, options_.path);
  } else {
    spdlog::info("checkpointed {}: the database file holds every commit", options_.path);
  }
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
    BatchOutcome outcome = RunBatch(batch);
    NoteWriteOutcome(writer_->TakeFault(), outcome);
    {
      std::lock_guard lock(queue_mu_);
      stats_.jobs += static_cast<int64_t>(batch.size());
    }
    for (Job* job : batch) job->done.set_value();
    batch.clear();
  }
}

SqliteStore::BatchOutcome SqliteStore::RunBatch(std::vector<Job*>& batch) {
  BatchOutcome outcome;
  SqliteTx tx(*writer_);
  if (options_.audit_tree_off) tx.DisableAuditTree();
  std::vector<Job*> pending(batch.begin(), batch.end());
  while (!pending.empty()) {
    Status begun = writer_->Exec("BEGIN IMMEDIATE");
    if (!begun.ok()) {
      for (Job* job : pending) job->result = begun;
      outcome.failure = begun;
      return outcome;
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
        outcome.failure = job->result;
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
      if (s.code() == StatusCode::kUnavailable) outcome.failure = s;
      (void)writer_->Exec("ROLLBACK TO job");
      (void)writer_->Exec("RELEASE job");
    }
    if (!rerun.empty() || sqlite3_get_autocommit(writer_->db())) {
      pending = std::move(rerun);
      continue;
    }
    // The log's length as this commit leaves it, for the acknowledged head. Not knowing it, the
    // batch is not committed: answering writes the head cannot cover would defeat the head.
    std::optional<int64_t> length;
    if (head_ && !applied.empty()) {
      auto n = LogLength(*writer_);
      if (!n.ok()) {
        (void)writer_->Exec("ROLLBACK");
        spdlog::error("cannot read the audit log's length before commit: {}",
                      n.status().ToString());
        outcome.failure = Unavailable(n.status().message());
        for (Job* job : applied) job->result = Unavailable("the store could not commit; retry");
        pending.clear();
        break;
      }
      length = *n;
    }
    Status committed = writer_->Exec("COMMIT");
    if (!committed.ok()) {
      (void)writer_->Exec("ROLLBACK");
      spdlog::error("store commit failed: {}", committed.ToString());
      outcome.failure = committed;
      for (Job* job : applied) job->result = Unavailable("the store could not commit; retry");
    } else {
      // Recorded before any answer is released, so what was acknowledged is never above the head
      // while the head file can be written. When it cannot, the batch is committed all the same
      // (its answers say so), the head lags, and the store counts as failing to write: /ready
      // answers 503 until a commit records the head again.
      if (length) {
        if (Status recorded = head_->Record(*length); !recorded.ok()) {
          spdlog::error("cannot record the acknowledged head in {}: {}", head_->path(),
                        recorded.message());
          outcome.failure = recorded;
          outcome.head_failed = true;
        } else {
          acked_head_ = *length;
        }
      }
      outcome.wrote = outcome.wrote || !applied.empty();
      for (Job* job : applied) job->result = OkStatus();
      std::lock_guard lock(queue_mu_);
      ++stats_.commits;
    }
    pending.clear();
  }
  return outcome;
}

void SqliteStore::MarkDamaged(const std::string& what) {
  std::lock_guard lock(health_mu_);
  if (!damaged_.ok()) return;
  damaged_ = Unavailable(fmt::format("the database file {} is damaged ({})", options_.path, what));
  spdlog::error(
      "the database file {} is damaged ({}): requests that touch the damage answer 503 and /ready "
      "answers 503 until it is restored from a backup (vouch restore, see {})",
      options_.path, what, kOperationsDoc);
}

void SqliteStore::NoteWriteOutcome(StorageFault fault, const BatchOutcome& outcome) {
  if (fault == StorageFault::kDamaged) {
    MarkDamaged(outcome.failure.message());
    return;
  }
  std::lock_guard lock(health_mu_);
  // A failure to record the acknowledged head is the file system failing too.
  bool failed = fault == StorageFault::kFileSystem || outcome.head_failed;
  if (failed) {
    if (write_fault_.ok()) {
      spdlog::error(
          "writes to {} fail ({}): they answer 503 and /ready answers 503 until a write works "
          "again (a full disk: free space)",
          options_.path, outcome.failure.message());
    }
    write_fault_ = Unavailable(outcome.failure.message());
  } else if (outcome.wrote && !write_fault_.ok()) {  // e.g. space was freed
    spdlog::info("writes to {} work again", options_.path);
    write_fault_ = OkStatus();
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
  if (conn->TakeFault() == StorageFault::kDamaged) MarkDamaged(s.message());
  // A connection that failed underneath is dropped rather than reused.
  bool healthy = s.ok() || s.code() != StatusCode::kUnavailable;
  ReleaseReader(healthy ? std::move(conn) : nullptr);
  return s;
}

// Ready()'s answers name no path and quote no SQLite message (the route needs no credentials);
// the detail goes to the log.
Status SqliteStore::Ready() {
  constexpr char kWritesFail[] = "writes to the database fail";
  Status fault;
  {
    std::lock_guard lock(health_mu_);
    if (!damaged_.ok()) {
      return Unavailable(
          "the database file is damaged; writes cannot work until it is restored from a backup");
    }
    fault = write_fault_;
  }
  if (!fault.ok() && writer_) {
    // At most one probe a second, however often /ready is asked while writes fail: the probe is
    // a write on the one committer, at the moment the disk is in trouble.
    {
      std::lock_guard lock(health_mu_);
      auto now = std::chrono::steady_clock::now();
      if (last_probe_ && now - *last_probe_ < std::chrono::seconds(1)) {
        return Unavailable(kWritesFail);
      }
      last_probe_ = now;
    }
    // A write that changes one header field and nothing the registry reads: it reaches the disk
    // (WAL frame, fsync, the acknowledged head) like any other commit, and clears the fault when
    // it works.
    Status probe = Write([this](Tx&) -> Status {
      VOUCH_ASSIGN_OR_RETURN(Stmt s, writer_->Prepare(kUserVersion));
      VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
      int64_t v = row ? s.Int(0) : 0;
      std::string set = fmt::format("PRAGMA user_version = {}", v == 0 ? 1 : 0);
      return writer_->Exec(set.c_str());
    });
    bool still_failing = !probe.ok();
    if (!still_failing) {  // committed, but the head may still not be recordable
      std::lock_guard lock(health_mu_);
      still_failing = !write_fault_.ok();
      if (still_failing) probe = write_fault_;
    }
    if (still_failing) {
      spdlog::warn("not ready: writes to {} fail: {}", options_.path, probe.message());
      return Unavailable(kWritesFail);
    }
  }
  if (Status read = Read([](Tx& tx) { return tx.AuditHeadSeq().status(); }); !read.ok()) {
    spdlog::warn("not ready: reads of {} fail: {}", options_.path, read.ToString());
    return Unavailable("the database cannot be read");
  }
  return OkStatus();
}

std::optional<int64_t> SqliteStore::AcknowledgedHead() const {
  int64_t v = acked_head_.load();
  return v < 0 ? std::nullopt : std::optional<int64_t>(v);
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
  const bool damaged = conn->TakeFault() == StorageFault::kDamaged;
  ReleaseReader(s.ok() ? std::move(conn) : nullptr);
  if (!s.ok()) {
    // A file damaged badly enough cannot even be checked.
    if (damaged || s.code() == StatusCode::kInternal) return {StatusCode::kDataLoss, s.message()};
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
