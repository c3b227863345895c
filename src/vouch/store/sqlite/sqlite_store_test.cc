// The shared store suite on SQLite, and what only the SQLite store promises: group commit, a
// failing job rolling back alone inside its batch, append-only triggers, and refusing a newer
// schema.
#include "vouch/store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "vouch/store/migrations.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/store/store_test_suite.h"
#include "vouch/util/json.h"

namespace vouch::store::testing {
namespace {

class SqliteEnv final : public StoreEnv {
 public:
  bool ok() const { return db_.is_open(); }
  Store& store() override { return db_.store(); }

 private:
  TempSqliteStore db_;
};

std::unique_ptr<StoreEnv> MakeSqliteEnv() {
  auto env = std::make_unique<SqliteEnv>();
  if (!env->ok()) return nullptr;
  return env;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreSuite,
                         ::testing::Values(StoreBackend{"Sqlite", MakeSqliteEnv}),
                         StoreBackendName);

constexpr TimeMs kT0 = 1'700'000'000'000;

// A direct connection to the database file, bypassing the store.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errstr(rc);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The result code and error message of running `sql`.
  std::pair<int, std::string> Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    return {rc, msg};
  }
  // The first column of the first row, as text ("" when there is none).
  std::string One(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* p = sqlite3_column_text(stmt, 0);
      if (p) out = reinterpret_cast<const char*>(p);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

Model NewModel(std::string name) {
  return Model{
      .name = std::move(name), .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
}

Result<int64_t> Append(Tx& tx, std::string action, std::string model = "") {
  AuditEvent e;
  e.time_ms = kT0;
  e.actor_name = "alice";
  e.action = std::move(action);
  e.model_name = std::move(model);
  return tx.AppendAuditEvent(e, [&](int64_t seq) -> Result<std::string> {
    return CanonicalJson(json::object{{"seq", seq}, {"action", e.action}, {"model", e.model_name}});
  });
}

// A model and its creation event, as one job.
Status CreateModelJob(Tx& tx, const std::string& name) {
  Model m = NewModel(name);
  VOUCH_TRY(tx.InsertModel(m));
  VOUCH_ASSIGN_OR_RETURN(int64_t seq, Append(tx, "model.created", name));
  return tx.EnqueueOutbox(seq, "model.created", "{}", kT0);
}

int64_t Head(Store& s) {
  int64_t head = -1;
  Status st = s.Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return head;
}

bool HasModel(Store& s, const std::string& name) {
  bool found = false;
  Status st = s.Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto m, tx.FindModel(name));
    found = m.has_value();
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return found;
}

std::vector<StoredAuditEvent> AllEvents(Store& s) {
  std::vector<StoredAuditEvent> out;
  Status st = s.Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, tx.ListAuditEvents({.limit = 1'000'000}));
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// Occupies the committer: Write() of a job that waits until released. Start() returns once the job
// is running, so that jobs written afterwards queue up behind it and form the next batch together.
class CommitterBlocker {
 public:
  explicit CommitterBlocker(Store& store) : store_(store) {}
  ~CommitterBlocker() {
    if (thread_.joinable()) {
      Release();
      thread_.join();
    }
  }
  void Start() {
    auto is_running = running_.get_future();
    thread_ = std::thread([this, release = release_.get_future().share()] {
      result_ = store_.Write([&](Tx&) {
        running_.set_value();
        release.wait();
        return OkStatus();
      });
    });
    is_running.wait();
  }
  void Release() {
    if (!released_) release_.set_value();
    released_ = true;
  }
  Status Finish() {
    Release();
    thread_.join();
    return result_;
  }

 private:
  Store& store_;
  std::promise<void> running_;
  std::promise<void> release_;
  bool released_ = false;
  std::thread thread_;
  Status result_;
};

// Waits until `n` threads have said they are about to write, then gives them time to enqueue by
// yielding (there is nothing to await: the queue is private to the store).
void AwaitWriters(const std::atomic<int>& entered, int n) {
  while (entered.load() < n) std::this_thread::yield();
  for (int i = 0; i < 20'000; ++i) std::this_thread::yield();
}

TEST(SqliteStore, SequentialWritesCommitOneByOne) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  auto before = db.store().Stats();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        db.store().Write([&](Tx& tx) { return CreateModelJob(tx, fmt::format("m{}", i)); }).ok());
  }
  auto after = db.store().Stats();
  EXPECT_EQ(after.jobs - before.jobs, 5);
  EXPECT_EQ(after.commits - before.commits, 5);
}

TEST(SqliteStore, GroupCommitBatchesConcurrentWrites) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  constexpr int kThreads = 16;
  constexpr int kJobsPerThread = 50;
  auto before = db.store().Stats();
  CommitterBlocker blocker(db.store());
  blocker.Start();
  std::atomic<int> entered{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++entered;
      for (int j = 0; j < kJobsPerThread; ++j) {
        Status st = db.store().Write(
            [&](Tx& tx) { return CreateModelJob(tx, fmt::format("m-{}-{}", t, j)); });
        if (!st.ok()) ++failures;
      }
    });
  }
  AwaitWriters(entered, kThreads);
  ASSERT_TRUE(blocker.Finish().ok());
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  auto after = db.store().Stats();
  constexpr int64_t kJobs = kThreads * kJobsPerThread + 1;  // and the blocker
  EXPECT_EQ(after.jobs - before.jobs, kJobs);
  EXPECT_LT(after.commits - before.commits, kJobs)
      << "concurrent writes were not batched into shared commits";
  EXPECT_EQ(Head(db.store()), kThreads * kJobsPerThread);
}

TEST(SqliteStore, AFailingJobRollsBackAloneWhileItsBatchMatesCommit) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  // The three jobs must land in one batch; the queue cannot be observed, so the scenario is
  // repeated until the commit count shows that they did.
  bool shared_a_batch = false;
  int attempts = 0;
  for (; attempts < 20 && !shared_a_batch; ++attempts) {
    const std::string good1 = fmt::format("good-a-{}", attempts);
    const std::string bad = fmt::format("bad-{}", attempts);
    const std::string good2 = fmt::format("good-b-{}", attempts);
    CommitterBlocker blocker(db.store());
    blocker.Start();
    const int64_t commits_before = db.store().Stats().commits;
    std::atomic<int> entered{0};
    Status r1, r2, r3;
    std::thread t1([&] {
      ++entered;
      r1 = db.store().Write([&](Tx& tx) { return CreateModelJob(tx, good1); });
    });
    std::thread t2([&] {
      ++entered;
      r2 = db.store().Write([&](Tx& tx) -> Status {
        VOUCH_TRY(CreateModelJob(tx, bad));
        Model extra = NewModel(bad + "-extra");
        VOUCH_TRY(tx.InsertModel(extra));
        return Aborted("this job gives up");
      });
    });
    std::thread t3([&] {
      ++entered;
      r3 = db.store().Write([&](Tx& tx) { return CreateModelJob(tx, good2); });
    });
    AwaitWriters(entered, 3);
    ASSERT_TRUE(blocker.Finish().ok());
    t1.join();
    t2.join();
    t3.join();
    // The blocker's batch, plus one for the three when they shared a batch.
    shared_a_batch = db.store().Stats().commits - commits_before == 2;

    EXPECT_TRUE(r1.ok()) << r1.ToString();
    EXPECT_EQ(r2.code(), StatusCode::kAborted);
    EXPECT_EQ(r2.message(), "this job gives up");
    EXPECT_TRUE(r3.ok()) << r3.ToString();
    EXPECT_TRUE(HasModel(db.store(), good1));
    EXPECT_TRUE(HasModel(db.store(), good2));
    EXPECT_FALSE(HasModel(db.store(), bad));
    EXPECT_FALSE(HasModel(db.store(), bad + "-extra"));
  }
  EXPECT_TRUE(shared_a_batch) << "the three jobs never shared a batch in " << attempts
                              << " attempts";
  // Only the committed jobs' events exist, numbered without a gap.
  auto events = AllEvents(db.store());
  ASSERT_EQ(events.size(), static_cast<size_t>(2 * attempts));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].body.find("bad-"), std::string::npos) << events[i].body;
  }
  int64_t outbox = -1;
  ASSERT_TRUE(db.store()
                  .Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(outbox, tx.CountPendingOutbox());
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(outbox, 2 * attempts);
}

TEST(SqliteStore, AJobThatThrowsIsInternalAndRolledBack) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  Status st = db.store().Write([&](Tx& tx) -> Status {
    VOUCH_TRY(CreateModelJob(tx, "thrown"));
    throw std::runtime_error("bug");
  });
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_FALSE(HasModel(db.store(), "thrown"));
  EXPECT_EQ(Head(db.store()), 0);
  // The committer survived.
  EXPECT_TRUE(db.store().Write([&](Tx& tx) { return CreateModelJob(tx, "after"); }).ok());
  EXPECT_EQ(Head(db.store()), 1);
}

TEST(SqliteStore, AuditEventsCannotBeUpdatedOrDeleted) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(CreateModelJob(tx, "a"));
                    return CreateModelJob(tx, "b");
                  })
                  .ok());
  const std::string first_body = AllEvents(db.store()).at(0).body;
  db.Close();
  {
    RawDb raw(db.path());
    for (const char* sql : {"UPDATE audit_events SET body = 'forged' WHERE seq = 1",
                            "UPDATE audit_events SET actor_name = 'mallory'",
                            "DELETE FROM audit_events WHERE seq = 2", "DELETE FROM audit_events"}) {
      auto [rc, msg] = raw.Exec(sql);
      EXPECT_NE(rc, SQLITE_OK) << sql;
      EXPECT_NE(msg.find("append-only"), std::string::npos) << sql << ": " << msg;
    }
    EXPECT_EQ(raw.One("SELECT COUNT(*) FROM audit_events"), "2");
    EXPECT_EQ(raw.One("SELECT body FROM audit_events WHERE seq = 1"), first_body);
    EXPECT_EQ(raw.One("SELECT actor_name FROM audit_events WHERE seq = 2"), "alice");
  }
  db.Reopen();
  ASSERT_TRUE(db.is_open());
  EXPECT_EQ(Head(db.store()), 2);
}

// REPLACE deletes the old row without firing delete triggers (unless recursive_triggers is on), so
// the delete trigger alone does not stop an event from being overwritten.
TEST(SqliteStore, AuditEventsCannotBeOverwrittenByInsertOrReplace) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store().Write([&](Tx& tx) { return CreateModelJob(tx, "a"); }).ok());
  const std::string body = AllEvents(db.store()).at(0).body;
  db.Close();
  RawDb raw(db.path());
  auto [rc, msg] = raw.Exec(
      "INSERT OR REPLACE INTO audit_events (seq, time_ms, actor_id, actor_name, action, outcome, "
      "body) VALUES (1, 0, 0, 'mallory', 'x', 'done', 'forged')");
  EXPECT_NE(rc, SQLITE_OK);
  EXPECT_NE(msg.find("append-only"), std::string::npos) << msg;
  EXPECT_EQ(raw.One("SELECT body FROM audit_events WHERE seq = 1"), body);
}

// Issue 14: the stored hashes of the audit log's Merkle tree are as append-only as the events.
TEST(SqliteStore, AuditTreeHashesCannotBeUpdatedDeletedOrReplaced) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(CreateModelJob(tx, "a"));
                    return CreateModelJob(tx, "b");
                  })
                  .ok());
  db.Close();
  RawDb raw(db.path());
  const std::string first =
      raw.One("SELECT hex(hash) FROM audit_hashes WHERE level = 0 AND idx = 0");
  ASSERT_EQ(first.size(), 64u);
  for (const char* sql :
       {"UPDATE audit_hashes SET hash = zeroblob(32) WHERE idx = 0", "DELETE FROM audit_hashes",
        "DELETE FROM audit_hashes WHERE idx = 1",
        "INSERT OR REPLACE INTO audit_hashes (level, idx, hash) VALUES (0, 0, zeroblob(32))"}) {
    auto [rc, msg] = raw.Exec(sql);
    EXPECT_NE(rc, SQLITE_OK) << sql;
    EXPECT_NE(msg.find("append-only"), std::string::npos) << sql << ": " << msg;
  }
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM audit_hashes"), "2");
  EXPECT_EQ(raw.One("SELECT hex(hash) FROM audit_hashes WHERE level = 0 AND idx = 0"), first);
}

// Issue 12: a published policy version never changes, and a review (a signature) changes only
// by being dismissed.
TEST(SqliteStore, PublishedPolicyVersionsAndSignedReviewsCannotBeChanged) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(CreateModelJob(tx, "m"));
                    return PublishPolicyWithSignedReview(tx, kT0);
                  })
                  .ok());
  db.Close();
  RawDb raw(db.path());
  for (const char* sql :
       {"UPDATE policy_versions SET body = '{}'",
        "UPDATE policy_versions SET digest = 'x' WHERE version = 1", "DELETE FROM policy_versions",
        "INSERT OR REPLACE INTO policy_versions (id, name, version, target, body, digest, "
        "created_ms) SELECT id, name, version, target, '{}', digest, created_ms "
        "FROM policy_versions"}) {
    auto [rc, msg] = raw.Exec(sql);
    EXPECT_NE(rc, SQLITE_OK) << sql;
    EXPECT_NE(msg.find("immutable"), std::string::npos) << sql << ": " << msg;
  }
  EXPECT_EQ(raw.One("SELECT body FROM policy_versions WHERE name = 'p'"), R"({"a":1})");
  for (const char* sql : {"UPDATE approval_reviews SET decision = 'reject'",
                          "UPDATE approval_reviews SET printed_name = 'Mallory'",
                          "UPDATE approval_reviews SET fingerprint = 'f2'"}) {
    auto [rc, msg] = raw.Exec(sql);
    EXPECT_NE(rc, SQLITE_OK) << sql;
    EXPECT_NE(msg.find("signature"), std::string::npos) << sql << ": " << msg;
  }
  auto [rc, msg] = raw.Exec("UPDATE approval_reviews SET dismissed_ms = 1, dismissed_reason = 'x'");
  EXPECT_EQ(rc, SQLITE_OK) << msg;
  EXPECT_EQ(raw.One("SELECT printed_name || ':' || decision FROM approval_reviews"), "Ana:approve");
}

TEST(SqliteStore, MigrationsAreRecordedUpToTheLatestVersion) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  db.Close();
  RawDb raw(db.path());
  const int latest = LatestMigrationVersion("sqlite");
  ASSERT_GT(latest, 0);
  EXPECT_EQ(raw.One("SELECT MAX(version) FROM schema_migrations"), std::to_string(latest));
  EXPECT_EQ(raw.One("PRAGMA journal_mode"), "wal");
}

// Schema 11 adds created_by_id to models and versions: rows made before it read as 0.
TEST(SqliteStore, RowsFromBeforeSchemaElevenHaveCreatorIdZero) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  db.Close();
  const std::string old_path = db.path() + ".schema10";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(old_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              nullptr),
              SQLITE_OK);
    auto exec = [&](const std::string& sql) {
      char* err = nullptr;
      int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
      EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "") << " in " << sql.substr(0, 80);
      sqlite3_free(err);
    };
    exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_ms INTEGER NOT NULL)");
    for (const Migration& m : Migrations()) {
      if (m.dialect != "sqlite" || m.version > 10) continue;
      exec(std::string(m.sql));
      exec(fmt::format("INSERT INTO schema_migrations VALUES ({}, '{}', 0)", m.version, m.name));
    }
    exec(
        "INSERT INTO models (name, created_ms, updated_ms, created_by, last_version) "
        "VALUES ('old', 1, 1, 'alice', 1)");
    exec(
        "INSERT INTO model_versions (model_id, version, source, created_ms, updated_ms, "
        "created_by) VALUES (1, 1, 's3://b/old/1', 1, 1, 'alice')");
    sqlite3_close_v2(raw);
  }
  auto opened = SqliteStore::Open({.path = old_path});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Status read = (*opened)->Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel("old"));
    EXPECT_TRUE(m.has_value());
    if (!m) return OkStatus();
    EXPECT_EQ(m->created_by, "alice");
    EXPECT_EQ(m->created_by_id, 0);
    VOUCH_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, tx.FindVersion(m->id, 1));
    EXPECT_TRUE(v.has_value());
    if (v) {
      EXPECT_EQ(v->created_by, "alice");
      EXPECT_EQ(v->created_by_id, 0);
    }
    return OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read.ToString();
}

// Bodies of events stored before the side index (migration 0017), as the migration finds them.
const char* const kBodiesBeforeTheRequestIndex[] = {
    R"({"seq":1,"target":{"request":5}})",
    R"({"after":{"gate":{"request":6}},"gate":{"request":5},"seq":2})",
    R"({"after":null,"before":{"request":6},"seq":3})",
    R"({"seq":4,"target":{"request":"7"}})",  // not a number: names no request
};

TEST(SqliteStore, TheRequestIndexIsBuiltOnceForTheEventsBeforeIt) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store()
                  .Write([&](Tx& tx) -> Status {
                    for (const char* body : kBodiesBeforeTheRequestIndex) {
                      AuditEvent e{.action = "x"};
                      VOUCH_TRY(tx.AppendAuditEvent(
                          e, [&](int64_t) -> Result<std::string> { return std::string(body); }));
                    }
                    return OkStatus();
                  })
                  .ok());
  db.Close();
  {
    // A database of schema 16: no side index yet, and a damaged body (not JSON) in its log.
    RawDb raw(db.path());
    ASSERT_EQ(raw.Exec("DROP TABLE audit_request_index").first, SQLITE_OK);
    // Later migrations are undone too (0018's outbox indexes, 0019's version index), so that the
    // next open runs 17 on.
    ASSERT_EQ(raw.Exec("DROP INDEX outbox_event").first, SQLITE_OK);
    ASSERT_EQ(raw.Exec("DROP INDEX outbox_unfanned").first, SQLITE_OK);
    ASSERT_EQ(raw.Exec("DROP INDEX model_versions_model_run_version").first, SQLITE_OK);
    ASSERT_EQ(raw.Exec("DELETE FROM schema_migrations WHERE version >= 17").first, SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, "
                       "outcome, body) VALUES (5, 0, 0, '', 'x', 'done', '{\"target\":{\"req')")
                  .first,
              SQLITE_OK);
  }
  db.Reopen();
  ASSERT_TRUE(db.is_open());
  db.Close();
  {
    RawDb raw(db.path());
    EXPECT_EQ(raw.One("SELECT group_concat(request_id || ':' || seq, ' ') FROM "
                      "(SELECT * FROM audit_request_index ORDER BY request_id, seq)"),
              "5:1 5:2 6:2 6:3");
    auto [rc, msg] = raw.Exec("DELETE FROM audit_request_index");
    EXPECT_NE(rc, SQLITE_OK);
    EXPECT_NE(msg.find("append-only"), std::string::npos) << msg;
  }
}

TEST(SqliteStore, ADatabaseFromANewerVouchIsRefused) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store().Write([&](Tx& tx) { return CreateModelJob(tx, "kept"); }).ok());
  db.Close();
  const int newer = LatestMigrationVersion("sqlite") + 1;
  {
    RawDb raw(db.path());
    auto [rc, msg] = raw.Exec(fmt::format(
        "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ({}, 'future', 0)",
        newer));
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  auto reopened = SqliteStore::Open({.path = db.path()});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("newer"), std::string::npos)
      << reopened.status().message();
  EXPECT_NE(reopened.status().message().find(std::to_string(newer)), std::string::npos)
      << reopened.status().message();
  // Refusing changed nothing.
  RawDb raw(db.path());
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM models"), "1");
  EXPECT_EQ(raw.One("SELECT MAX(version) FROM schema_migrations"), std::to_string(newer));
}

TEST(SqliteStore, ReopeningKeepsEverythingAndContinuesTheSequence) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  int64_t model_id = 0;
  ASSERT_TRUE(db.store()
                  .Write([&](Tx& tx) -> Status {
                    Model m = NewModel("kept");
                    m.tags = {{"team", "risk"}};
                    VOUCH_TRY(tx.InsertModel(m));
                    model_id = m.id;
                    ModelVersion v{.model_id = m.id,
                                   .version = 1,
                                   .source = "s3://x",
                                   .metrics = {{"auc", 0.93}},
                                   .created_ms = kT0,
                                   .updated_ms = kT0,
                                   .created_by = "alice"};
                    VOUCH_TRY(tx.InsertVersion(v));
                    VOUCH_TRY(tx.SetAlias(m.id, "champion", 1));
                    Principal p{.name = "admin", .is_admin = true};
                    VOUCH_TRY(tx.InsertPrincipal(p, kT0));
                    TokenRecord t{
                        .principal_id = p.id, .name = "t", .token_hash = "hash", .created_ms = kT0};
                    VOUCH_TRY(tx.InsertToken(t));
                    VOUCH_TRY(Append(tx, "one").status());
                    return Append(tx, "two").status();
                  })
                  .ok());
  const auto events_before = AllEvents(db.store());
  db.Reopen();
  ASSERT_TRUE(db.is_open());

  ASSERT_TRUE(db.store()
                  .Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(auto m, tx.FindModel("kept"));
                    EXPECT_TRUE(m.has_value());
                    if (!m) return OkStatus();
                    EXPECT_EQ(m->id, model_id);
                    EXPECT_EQ(m->tags, (StringMap{{"team", "risk"}}));
                    VOUCH_ASSIGN_OR_RETURN(auto v, tx.FindVersion(model_id, 1));
                    EXPECT_TRUE(v.has_value());
                    if (v) {
                      EXPECT_EQ(v->metrics, (MetricMap{{"auc", 0.93}}));
                      EXPECT_EQ(v->aliases, (std::vector<std::string>{"champion"}));
                    }
                    VOUCH_ASSIGN_OR_RETURN(auto token, tx.FindToken("hash"));
                    EXPECT_TRUE(token.has_value());
                    VOUCH_ASSIGN_OR_RETURN(int64_t principals, tx.CountPrincipals());
                    EXPECT_EQ(principals, 1);
                    return OkStatus();
                  })
                  .ok());
  const auto events_after = AllEvents(db.store());
  ASSERT_EQ(events_after.size(), events_before.size());
  for (size_t i = 0; i < events_after.size(); ++i) {
    EXPECT_EQ(events_after[i].seq, events_before[i].seq);
    EXPECT_EQ(events_after[i].body, events_before[i].body);
  }
  int64_t next = 0;
  ASSERT_TRUE(db.store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(next, Append(tx, "three"));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(next, 3);
}

TEST(SqliteStore, APathThatCannotBeOpenedIsUnavailable) {
  TempDir dir;
  auto opened = SqliteStore::Open({.path = dir.File("missing/sub/vouch.db")});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnavailable) << opened.status().ToString();
}

TEST(SqliteStore, ASecondWritableOpenOfTheSameFileIsRefusedWhileTheFirstIsOpen) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  auto second = SqliteStore::Open({.path = db.path()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("another vouch server is using " + db.path()),
            std::string::npos)
      << second.status().message();
  auto lock = SqliteFileLock::Acquire(db.path());
  EXPECT_EQ(lock.status().code(), StatusCode::kFailedPrecondition);
  // The first store is unaffected, and once it closes the file can be opened again.
  EXPECT_TRUE(db.store().Write([&](Tx& tx) { return CreateModelJob(tx, "m"); }).ok());
  db.Reopen();
  ASSERT_TRUE(db.is_open());
  EXPECT_TRUE(HasModel(db.store(), "m"));
}

TEST(SqliteStore, TheLockFileIsOnlyTheOwnersToRead) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  struct stat st {};
  ASSERT_EQ(::stat((db.path() + "-lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(SqliteStore, AReadOnlyStoreReadsAFileAWriterHoldsAndRefusesWrites) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(db.store().Write([&](Tx& tx) { return CreateModelJob(tx, "seen"); }).ok());
  auto reader = SqliteStore::Open({.path = db.path(), .read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_TRUE(HasModel(**reader, "seen"));
  EXPECT_EQ(Head(**reader), 1);
  // It sees what the writer commits after it opened.
  ASSERT_TRUE(db.store().Write([&](Tx& tx) { return CreateModelJob(tx, "later"); }).ok());
  EXPECT_TRUE(HasModel(**reader, "later"));
  Status write = (*reader)->Write([&](Tx& tx) { return CreateModelJob(tx, "refused"); });
  EXPECT_EQ(write.code(), StatusCode::kFailedPrecondition) << write.ToString();
  EXPECT_FALSE(HasModel(db.store(), "refused"));
  EXPECT_TRUE((*reader)->CheckIntegrity().ok());
  auto version = (*reader)->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, LatestMigrationVersion("sqlite"));
}

TEST(SqliteStore, AReadOnlyStoreAppliesNoMigrationAndRefusesANewerSchema) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  db.Close();
  {
    RawDb raw(db.path());
    ASSERT_EQ(raw.Exec("DELETE FROM schema_migrations WHERE version > 1").first, SQLITE_OK);
  }
  {
    auto older = SqliteStore::Open({.path = db.path(), .read_only = true});
    ASSERT_TRUE(older.ok()) << older.status().ToString();
    EXPECT_EQ(*(*older)->SchemaVersion(), 1);
  }
  {
    RawDb raw(db.path());
    EXPECT_EQ(raw.One("SELECT MAX(version) FROM schema_migrations"), "1");
    ASSERT_EQ(raw.Exec(fmt::format("INSERT INTO schema_migrations VALUES ({}, 'future', 0)",
                                   LatestMigrationVersion("sqlite") + 1))
                  .first,
              SQLITE_OK);
  }
  auto newer = SqliteStore::Open({.path = db.path(), .read_only = true});
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
}

TEST(SqliteStore, AReadOnlyStoreNeedsAnExistingVouchDatabase) {
  TempDir dir;
  auto missing = SqliteStore::Open({.path = dir.File("missing.db"), .read_only = true});
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(dir.File("missing.db")));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("other.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  auto not_vouch = SqliteStore::Open({.path = dir.File("other.db"), .read_only = true});
  EXPECT_EQ(not_vouch.status().code(), StatusCode::kFailedPrecondition);
  std::FILE* f = std::fopen(dir.File("text.db").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a database, just some text long enough to have a header of a kind\n", f);
  std::fclose(f);
  auto text = SqliteStore::Open({.path = dir.File("text.db"), .read_only = true});
  EXPECT_EQ(text.status().code(), StatusCode::kFailedPrecondition) << text.status().ToString();
}

TEST(SqliteStore, ConcurrentReadsShareABoundedPoolOfConnections) {
  TempDir dir;
  auto opened = SqliteStore::Open({.path = dir.File("vouch.db"), .max_readers = 2});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = **opened;
  ASSERT_TRUE(store.Write([&](Tx& tx) { return CreateModelJob(tx, "m"); }).ok());
  std::atomic<int> found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (HasModel(store, "m")) ++found;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(found.load(), 8 * 20);
}

}  // namespace
}  // namespace vouch::store::testing
