// The embedded store: one SQLite file in WAL mode with synchronous=FULL.
//
// Writes go through one committer thread (SQLite has one writer). It takes the queued jobs as a
// batch, runs each in its own SAVEPOINT (a failing job rolls back alone and gets its error) and
// commits the batch once, so many requests share one fsync (group commit). Write() returns only
// after that commit. When SQLite rolls back the whole transaction under a job (FULL, IOERR, NOMEM,
// BUSY), that job fails and the batch's other jobs run again in a fresh transaction.
//
// Reads use a pool of read-only connections, each read in its own snapshot transaction.
//
// Storage faults are loud (docs/operations.md, "Storage faults"): a writable open runs PRAGMA
// quick_check before it writes anything and refuses a damaged file; the committer keeps the
// acknowledged head (acked_head.h) beside the database and the open refuses a database whose audit
// log is shorter than it; a write or read that meets a damaged file, or a write the file system
// refuses (disk full, I/O error), fails with UNAVAILABLE and makes Ready() fail until a write works
// again (a damaged file: until restart). A clean close checkpoints the write-ahead log into the
// database file, so that file alone holds every commit.
//
// A writable store holds an exclusive lock on "<path>-lock" (SqliteFileLock) for its whole life, so
// two servers cannot share one database. A read-only store (audit verification, backups) takes no
// lock, applies no migration, starts no committer, and can open a file a server is writing.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vouch/store/sqlite/acked_head.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/store.h"

namespace vouch::store {

struct SqliteOptions {
  std::string path;      // the database file
  int max_readers = 16;  // read connections kept open
  int max_batch = 256;   // write jobs committed together at most
  // Open an existing file for reading only: no migrations (a newer schema is still refused), no
  // lock, no committer; Write() returns FAILED_PRECONDITION.
  bool read_only = false;
  // Writable only: PRAGMA quick_check at open (linear in the file), refusing a damaged file.
  bool quick_check = true;
  // Writable only: keep the acknowledged head in "<path>-head" and refuse a database whose audit
  // log is shorter than it, unless accept_shorter_log (which resets the head to the log).
  bool acked_head = true;
  bool accept_shorter_log = false;
  // Writable only, benchmarks only: appends write no Merkle tree, and the file is marked so that
  // every later open refuses it (store/audit_tree.h). Never for a registry anyone keeps.
  bool audit_tree_off = false;
};

// An exclusive advisory lock (flock) on "<db path>-lock", created with mode 0600 and held while
// the object lives. Every writable SqliteStore holds one; `vouch restore` takes it before it
// replaces a database. The lock file is left in place: removing it would race with the next taker.
class SqliteFileLock {
 public:
  // FAILED_PRECONDITION "another vouch server is using <path>" when someone holds it; UNAVAILABLE
  // when the lock file cannot be created.
  static Result<std::unique_ptr<SqliteFileLock>> Acquire(const std::string& db_path);
  ~SqliteFileLock();
  SqliteFileLock(const SqliteFileLock&) = delete;
  SqliteFileLock& operator=(const SqliteFileLock&) = delete;

 private:
  explicit SqliteFileLock(int fd) : fd_(fd) {}
  int fd_;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database, takes its lock, checks it (quick_check), applies
  // pending migrations, checks the acknowledged head and starts the committer.
  // FAILED_PRECONDITION when the database was written by a newer vouch, another store holds the
  // lock, or its audit log is shorter than the acknowledged head; DATA_LOSS when the quick check
  // finds damage (or the head file is damaged); UNAVAILABLE when it cannot be opened. With
  // options.read_only: opens an existing vouch database as it is; FAILED_PRECONDITION when it is
  // newer or not a vouch database, UNAVAILABLE when it cannot be opened.
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);
  ~SqliteStore() override;

  Status Read(const std::function<Status(Tx&)>& fn) override;
  Status Write(const std::function<Status(Tx&)>& fn) override;
  // UNAVAILABLE when the file was found damaged, or when the last write failed underneath and a
  // probe write (one page of the file's header, no registry data) still fails; otherwise a read.
  Status Ready() override;
  std::string Describe() const override;
  std::vector<StoreMetric> Metrics() const override;

  // PRAGMA integrity_check on a read connection: OK, or DATA_LOSS with SQLite's first findings.
  Status CheckIntegrity();
  // The count in the acknowledged-head file; nullopt when read-only or none recorded yet.
  std::optional<int64_t> AcknowledgedHead() const;
  // The schema version recorded in the file (schema_migrations).
  Result<int> SchemaVersion();

  // How many commits and jobs the committer has done (for benchmarks and tests of batching).
  struct CommitStats {
    int64_t commits = 0;
    int64_t jobs = 0;
  };
  CommitStats Stats() const;

 private:
  struct Job;
  struct BatchOutcome {
    bool wrote = false;        // committed with at least one job applied
    bool head_failed = false;  // the acknowledged head could not be recorded
    Status failure;            // the last failure met, for the log
  };
  SqliteStore(SqliteOptions options, std::unique_ptr<SqliteFileLock> lock,
              std::unique_ptr<Conn> writer, std::unique_ptr<AckedHeadFile> head);
  void CommitterLoop();
  BatchOutcome RunBatch(std::vector<Job*>& batch);
  void NoteWriteOutcome(StorageFault fault, const BatchOutcome& outcome);
  void MarkDamaged(const std::string& what);
  void Checkpoint();
  Result<std::unique_ptr<Conn>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Conn> conn);

  const SqliteOptions options_;
  std::unique_ptr<SqliteFileLock> lock_;  // null when read-only
  std::unique_ptr<Conn> writer_;          // used only by the committer thread; null when read-only
  std::unique_ptr<AckedHeadFile> head_;   // used only by the committer thread; may be null
  std::atomic<int64_t> acked_head_{-1};   // head_'s count for AcknowledgedHead(); -1: none

  mutable std::mutex health_mu_;
  Status damaged_;      // guarded by health_mu_: not OK once the file was found damaged
  Status write_fault_;  // guarded by health_mu_: not OK while writes fail underneath
  // guarded by health_mu_: when Ready() last probed a failing store with a write
  std::optional<std::chrono::steady_clock::time_point> last_probe_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job*> queue_;  // guarded by queue_mu_
  bool stopping_ = false;   // guarded by queue_mu_
  CommitStats stats_;       // guarded by queue_mu_
  std::thread committer_;   // not started when read-only

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Conn>> idle_readers_;  // guarded by readers_mu_
  int open_readers_ = 0;                             // guarded by readers_mu_
};

}  // namespace vouch::store
