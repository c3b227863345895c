// The embedded store: one SQLite file in WAL mode with synchronous=FULL.
//
// Writes go through one committer thread (SQLite has one writer). It takes the queued jobs as a
// batch, runs each in its own SAVEPOINT (a failing job rolls back alone and gets its error) and
// commits the batch once, so many requests share one fsync (group commit). Write() returns only
// after that commit. When SQLite rolls back the whole transaction under a job (FULL, IOERR, NOMEM,
// BUSY), that job fails and the batch's other jobs run again in a fresh transaction.
//
// Reads use a pool of read-only connections, each read in its own snapshot transaction.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/store.h"

namespace vouch::store {

struct SqliteOptions {
  std::string path;      // the database file
  int max_readers = 16;  // read connections kept open
  int max_batch = 256;   // write jobs committed together at most
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database, applies pending migrations and starts the committer.
  // FAILED_PRECONDITION when the database was written by a newer vouch; UNAVAILABLE when it cannot
  // be opened.
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);
  ~SqliteStore() override;

  Status Read(const std::function<Status(Tx&)>& fn) override;
  Status Write(const std::function<Status(Tx&)>& fn) override;
  Status Ready() override;
  std::string Describe() const override;

  // How many commits and jobs the committer has done (for benchmarks and tests of batching).
  struct CommitStats {
    int64_t commits = 0;
    int64_t jobs = 0;
  };
  CommitStats Stats() const;

 private:
  struct Job;
  explicit SqliteStore(SqliteOptions options, std::unique_ptr<Conn> writer);
  void CommitterLoop();
  void RunBatch(std::vector<Job*>& batch);
  Result<std::unique_ptr<Conn>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Conn> conn);

  const SqliteOptions options_;
  std::unique_ptr<Conn> writer_;  // used only by the committer thread

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job*> queue_;  // guarded by queue_mu_
  bool stopping_ = false;   // guarded by queue_mu_
  CommitStats stats_;       // guarded by queue_mu_
  std::thread committer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Conn>> idle_readers_;  // guarded by readers_mu_
  int open_readers_ = 0;                             // guarded by readers_mu_
};

}  // namespace vouch::store
