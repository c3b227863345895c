// The shared store suite on PostgreSQL, and what only the PostgreSQL store promises: migrations
// applied once when servers start together, a newer schema refused, unique gapless version numbers
// and one gapless audit sequence when several stores (as several servers) write at once,
// append-only audit rows, a lost connection reported as UNAVAILABLE and then healed, and a DSN's
// password kept out of errors.
//
// They need a server: VOUCH_TEST_POSTGRES_DSN (scripts/pg-test-cluster start prints one). Without
// it the shared suite is not instantiated for PostgreSQL and the tests here skip. Each test works
// in a schema of its own, dropped at its end, so tests may run in parallel on one database.
#include "vouch/store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <latch>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "vouch/store/migrations.h"
#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/store_test_suite.h"
#include "vouch/util/json.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

std::string TestDsn() {
  const char* dsn = std::getenv("VOUCH_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

// A schema name no other test (in this process or another) uses.
std::string FreshSchemaName() {
  static std::atomic<int> counter{0};
  return fmt::format("vouch_test_{}_{}", getpid(), counter++);
}

// `dsn` as a key=value string with some keywords replaced or added.
std::string DsnWith(const std::string& dsn, const std::map<std::string, std::string>& changes) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    if (err != nullptr) PQfreemem(err);
    ADD_FAILURE() << "unparsable DSN";
    return dsn;
  }
  std::map<std::string, std::string> kv;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) kv[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  for (const auto& [k, v] : changes) kv[k] = v;
  std::string out;
  for (const auto& [k, v] : kv) {
    std::string quoted;
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') quoted += '\\';
      quoted += ch;
    }
    out += fmt::format("{}='{}' ", k, quoted);
  }
  return out;
}

// A direct connection to the test database, bypassing the store; in `schema` when given.
std::unique_ptr<PgConn> RawConn(const std::string& schema = "") {
  auto conn = PgConn::Open({.dsn = TestDsn(), .schema = schema});
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(conn).value() : nullptr;
}

std::string One(PgConn& c, const std::string& sql) {
  PGresult* res = PQexec(c.raw(), sql.c_str());
  std::string out;
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
    out = PQgetvalue(res, 0, 0);
  else if (PQresultStatus(res) != PGRES_TUPLES_OK)
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(res);
  PQclear(res);
  return out;
}

// A scratch schema, dropped (with everything in it) on destruction, and stores opened in it.
class ScratchSchema {
 public:
  ScratchSchema() : name_(FreshSchemaName()) {}
  ~ScratchSchema() {
    stores_.clear();
    auto raw = RawConn();
    if (raw) {
      std::string drop = fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", name_);
      Status s = raw->Exec(drop.c_str());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  ScratchSchema(const ScratchSchema&) = delete;
  ScratchSchema& operator=(const ScratchSchema&) = delete;

  const std::string& name() const { return name_; }
  PostgresOptions Options(int pool_size = 8) const {
    return {.dsn = TestDsn(), .pool_size = pool_size, .schema = name_};
  }
  // Opens a store in this schema; kept open until the schema goes. nullptr (and a test failure)
  // when it cannot be opened.
  PostgresStore* Open(int pool_size = 8) {
    auto opened = PostgresStore::Open(Options(pool_size));
    if (!opened.ok()) {
      ADD_FAILURE() << "cannot open the store: " << opened.status().ToString();
      return nullptr;
    }
    stores_.push_back(std::move(opened).value());
    return stores_.back().get();
  }

 private:
  std::string name_;
  std::vector<std::unique_ptr<PostgresStore>> stores_;
};

class PostgresEnv final : public StoreEnv {
 public:
  PostgresEnv() : store_(schema_.Open()) {}
  bool ok() const { return store_ != nullptr; }
  Store& store() override { return *store_; }

 private:
  ScratchSchema schema_;
  PostgresStore* store_;
};

std::unique_ptr<StoreEnv> MakePostgresEnv() {
  auto env = std::make_unique<PostgresEnv>();
  if (!env->ok()) return nullptr;
  return env;
}

std::vector<StoreBackend> PostgresBackends() {
  if (TestDsn().empty()) return {};
  return {StoreBackend{"Postgres", MakePostgresEnv}};
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreSuite, ::testing::ValuesIn(PostgresBackends()),
                         StoreBackendName);

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestDsn().empty()) GTEST_SKIP() << "VOUCH_TEST_POSTGRES_DSN is not set";
  }
};

// Without a DSN, the shared suite has no PostgreSQL instance: this says so in the test output.
TEST_F(PostgresStoreTest, SharedSuiteRunsWhenADsnIsGiven) {
  EXPECT_FALSE(PostgresBackends().empty());
}

Result<int64_t> AppendEvent(Tx& tx, std::string action, const Model& m, int64_t version) {
  AuditEvent e;
  e.time_ms = kT0;
  e.actor_id = 1;
  e.actor_name = "alice";
  e.action = std::move(action);
  e.model_id = m.id;
  e.model_name = m.name;
  e.version = version;
  return tx.AppendAuditEvent(e, [&](int64_t seq) -> Result<std::string> {
    return CanonicalJson(json::object{{"seq", seq}, {"action", e.action}});
  });
}

Status CreateModel(Store& store, const std::string& name) {
  return store.Write([&](Tx& tx) -> Status {
    Model m{.name = name, .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
    VOUCH_TRY(tx.InsertModel(m));
    return AppendEvent(tx, "model.created", m, 0).status();
  });
}

// What the service does to create a version: lock the model, take the next number, insert, bump.
Status CreateNextVersion(Store& store, const std::string& model, int64_t& number) {
  return store.Write([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel(model));
    if (!m) return NotFound(model);
    ModelVersion v{.model_id = m->id,
                   .model_name = m->name,
                   .version = m->last_version + 1,
                   .source = "s3://bucket/x",
                   .created_ms = kT0,
                   .updated_ms = kT0,
                   .created_by = "alice"};
    VOUCH_TRY(tx.InsertVersion(v));
    m->last_version = v.version;
    VOUCH_TRY(tx.UpdateModel(*m));
    VOUCH_TRY(AppendEvent(tx, "model_version.created", *m, v.version).status());
    number = v.version;
    return OkStatus();
  });
}

TEST_F(PostgresStoreTest, MigrationsUnderConcurrentOpenAreAppliedOnce) {
  ScratchSchema schema;
  constexpr int kServers = 3;
  std::vector<std::optional<Result<std::unique_ptr<PostgresStore>>>> opened(kServers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] { opened[i].emplace(PostgresStore::Open(schema.Options(2))); });
  }
  for (auto& t : threads) t.join();
  for (const auto& o : opened) ASSERT_TRUE(o->ok()) << o->status().ToString();

  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  int expected = 0;
  for (const auto& m : Migrations()) expected += m.dialect == "postgres" ? 1 : 0;
  ASSERT_GT(expected, 0);
  EXPECT_EQ(One(*raw, "SELECT COUNT(*) FROM schema_migrations"), std::to_string(expected));
  EXPECT_EQ(One(*raw, "SELECT MAX(version) FROM schema_migrations"),
            std::to_string(LatestMigrationVersion("postgres")));
  EXPECT_EQ(One(*raw, "SELECT COUNT(*) FROM audit_head"), "1");
  for (int i = 0; i < kServers; ++i) {
    PostgresStore& store = ***opened[i];
    EXPECT_TRUE(store.Ready().ok());
    EXPECT_TRUE(CreateModel(store, fmt::format("m{}", i)).ok());
  }
  EXPECT_EQ(One(*raw, "SELECT next_seq FROM audit_head"), std::to_string(kServers + 1));
}

TEST_F(PostgresStoreTest, ASchemaFromANewerVouchIsRefused) {
  ScratchSchema schema;
  {
    auto first = PostgresStore::Open(schema.Options());
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_TRUE(CreateModel(**first, "kept").ok());
  }
  const int newer = LatestMigrationVersion("postgres") + 1;
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  std::string insert = fmt::format(
      "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ({}, 'future', 0)", newer);
  ASSERT_TRUE(raw->Exec(insert.c_str()).ok());

  auto reopened = PostgresStore::Open(schema.Options());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("newer"), std::string::npos)
      << reopened.status().message();
  EXPECT_NE(reopened.status().message().find(std::to_string(newer)), std::string::npos)
      << reopened.status().message();
  // Refusing changed nothing, and released the migration lock: another open gets as far as the
  // same refusal rather than waiting.
  EXPECT_EQ(One(*raw, "SELECT COUNT(*) FROM models"), "1");
  EXPECT_EQ(One(*raw, "SELECT MAX(version) FROM schema_migrations"), std::to_string(newer));
  auto again = PostgresStore::Open(schema.Options());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(PostgresStoreTest, WritersOnThreeStoresGetUniqueGaplessVersionsAndOneAuditSequence) {
  ScratchSchema schema;
  constexpr int kServers = 3;
  constexpr int kThreadsPerServer = 4;
  constexpr int kVersionsPerThread = 15;
  std::vector<PostgresStore*> servers;
  for (int i = 0; i < kServers; ++i) {
    servers.push_back(schema.Open(3));
    ASSERT_NE(servers.back(), nullptr);
  }
  ASSERT_TRUE(CreateModel(*servers[0], "shared").ok());

  std::atomic<int> failures{0};
  std::vector<std::vector<int64_t>> numbers(kServers * kThreadsPerServer);
  std::vector<std::thread> threads;
  for (int s = 0; s < kServers; ++s) {
    for (int t = 0; t < kThreadsPerServer; ++t) {
      threads.emplace_back([&, s, t] {
        for (int j = 0; j < kVersionsPerThread; ++j) {
          int64_t n = 0;
          Status st = CreateNextVersion(*servers[s], "shared", n);
          if (st.ok()) {
            numbers[s * kThreadsPerServer + t].push_back(n);
          } else {
            ADD_FAILURE() << st.ToString();
            ++failures;
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  constexpr int kTotal = kServers * kThreadsPerServer * kVersionsPerThread;
  std::vector<int64_t> all;
  for (const auto& v : numbers) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(kTotal);
  for (int i = 0; i < kTotal; ++i) expected[i] = i + 1;
  EXPECT_EQ(all, expected);

  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(One(*raw, "SELECT COUNT(DISTINCT version) FROM model_versions"),
            std::to_string(kTotal));
  EXPECT_EQ(One(*raw, "SELECT MAX(version) FROM model_versions"), std::to_string(kTotal));
  EXPECT_EQ(One(*raw, "SELECT last_version FROM models WHERE name = 'shared'"),
            std::to_string(kTotal));
  // One model.created plus one event per version: seq 1..N without a gap, each body carrying it.
  EXPECT_EQ(One(*raw, "SELECT COUNT(*) FROM audit_events"), std::to_string(kTotal + 1));
  EXPECT_EQ(One(*raw, "SELECT MIN(seq) = 1 AND MAX(seq) = COUNT(*) FROM audit_events"), "t");
  EXPECT_EQ(
      One(*raw, "SELECT COUNT(*) FROM audit_events WHERE (body::json->>'seq')::bigint <> seq"),
      "0");
  EXPECT_EQ(One(*raw, "SELECT next_seq FROM audit_head"), std::to_string(kTotal + 2));
}

// Two servers each lock one model and then want the other's: PostgreSQL aborts one transaction
// as the deadlock victim, and that write runs again, whole, and succeeds.
TEST_F(PostgresStoreTest, AWriteChosenAsDeadlockVictimRunsAgainAndSucceeds) {
  ScratchSchema schema;
  PostgresStore* a = schema.Open(2);
  PostgresStore* b = schema.Open(2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(CreateModel(*a, "x").ok());
  ASSERT_TRUE(CreateModel(*a, "y").ok());
  std::latch both_hold_one(2);
  auto cross = [&](Store& store, const std::string& first, const std::string& second) {
    bool first_attempt = true;
    return store.Write([&](Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m1, tx.FindModel(first));
      if (first_attempt) {
        first_attempt = false;
        both_hold_one.arrive_and_wait();
      }
      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m2, tx.FindModel(second));
      if (!m1 || !m2) return NotFound("model");
      m1->description = "touched by " + first;
      VOUCH_TRY(tx.UpdateModel(*m1));
      return AppendEvent(tx, "model.updated", *m1, 0).status();
    });
  };
  Status ra, rb;
  std::thread ta([&] { ra = cross(*a, "x", "y"); });
  std::thread tb([&] { rb = cross(*b, "y", "x"); });
  ta.join();
  tb.join();
  EXPECT_TRUE(ra.ok()) << ra.ToString();
  EXPECT_TRUE(rb.ok()) << rb.ToString();
  EXPECT_GE(a->Retries() + b->Retries(), 1);
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(One(*raw, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM audit_events"),
            "1,2,3,4");
}

TEST_F(PostgresStoreTest, AuditEventsCannotBeUpdatedDeletedOrTruncated) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CreateModel(*store, "a").ok());
  ASSERT_TRUE(CreateModel(*store, "b").ok());
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  const std::string first_body = One(*raw, "SELECT body FROM audit_events WHERE seq = 1");
  for (const char* sql :
       {"UPDATE audit_events SET body = 'forged' WHERE seq = 1",
        "UPDATE audit_events SET actor_name = 'mallory'", "DELETE FROM audit_events WHERE seq = 2",
        "DELETE FROM audit_events", "TRUNCATE audit_events CASCADE",
        "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, "
        "outcome, body) VALUES (1, 0, 0, 'mallory', 'x', 'done', 'forged') "
        "ON CONFLICT (seq) DO UPDATE SET body = excluded.body"}) {
    Status s = raw->Exec(sql);
    EXPECT_FALSE(s.ok()) << sql;
    EXPECT_NE(s.message().find("append-only"), std::string::npos) << sql << ": " << s.message();
  }
  EXPECT_EQ(One(*raw, "SELECT COUNT(*) FROM audit_events"), "2");
  EXPECT_EQ(One(*raw, "SELECT body FROM audit_events WHERE seq = 1"), first_body);
  EXPECT_EQ(One(*raw, "SELECT actor_name FROM audit_events WHERE seq = 2"), "alice");
}

// Issue 14: the stored hashes of the audit log's Merkle tree are as append-only as the events.
TEST_F(PostgresStoreTest, AuditTreeHashesCannotBeUpdatedDeletedOrTruncated) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CreateModel(*store, "a").ok());
  ASSERT_TRUE(CreateModel(*store, "b").ok());
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  const std::string first =
      One(*raw, "SELECT encode(hash, 'hex') FROM audit_hashes WHERE level = 0 AND idx = 0");
  ASSERT_EQ(first.size(), 64u);
  for (const char* sql : {"UPDATE audit_hashes SET hash = '' WHERE idx = 0",
                          "DELETE FROM audit_hashes", "TRUNCATE audit_hashes",
                          "INSERT INTO audit_hashes (level, idx, hash) VALUES (0, 0, '') "
                          "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash"}) {
    Status s = raw->Exec(sql);
    EXPECT_FALSE(s.ok()) << sql;
    EXPECT_NE(s.message().find("append-only"), std::string::npos) << sql << ": " << s.message();
  }
  EXPECT_EQ(One(*raw, "SELECT COUNT(*) FROM audit_hashes"), "2");
  EXPECT_EQ(One(*raw, "SELECT encode(hash, 'hex') FROM audit_hashes WHERE level = 0 AND idx = 0"),
            first);
}

TEST_F(PostgresStoreTest, TheRequestIndexIsBuiltOnceForTheEventsBeforeIt) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Write([&](Tx& tx) -> Status {
                    for (const char* body :
                         {R"({"seq":1,"target":{"request":5}})",
                          R"({"after":{"gate":{"request":6}},"gate":{"request":5},"seq":2})",
                          R"({"after":null,"before":{"request":6},"seq":3})",
                          R"({"seq":4,"target":{"request":"7"}})"}) {
                      AuditEvent e{.action = "x"};
                      VOUCH_TRY(tx.AppendAuditEvent(
                          e, [&](int64_t) -> Result<std::string> { return std::string(body); }));
                    }
                    return OkStatus();
                  })
                  .ok());
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  // A schema of version 16: no side index yet, and a damaged body (not JSON) in its log.
  ASSERT_TRUE(raw->Exec("DROP TABLE audit_request_index").ok());
  // Later migrations are undone too (0018's outbox indexes, 0019's version index), so that the next
  // open runs 17 on.
  ASSERT_TRUE(raw->Exec("DROP INDEX outbox_event").ok());
  ASSERT_TRUE(raw->Exec("DROP INDEX outbox_unfanned").ok());
  ASSERT_TRUE(raw->Exec("DROP INDEX model_versions_model_run_version").ok());
  ASSERT_TRUE(raw->Exec("DELETE FROM schema_migrations WHERE version >= 17").ok());
  ASSERT_TRUE(raw->Exec("INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, "
                        "outcome, body) VALUES (5, 0, 0, '', 'x', 'done', '{\"target\":{\"req')")
                  .ok());
  ASSERT_TRUE(raw->Exec("UPDATE audit_head SET next_seq = 6").ok());
  ASSERT_NE(schema.Open(), nullptr);
  EXPECT_EQ(One(*raw,
                "SELECT string_agg(request_id || ':' || seq, ' ' ORDER BY request_id, seq) "
                "FROM audit_request_index"),
            "5:1 5:2 6:2 6:3");
  Status s = raw->Exec("DELETE FROM audit_request_index");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("append-only"), std::string::npos) << s.message();
}

// Terminates the backends whose application_name is `app` and waits until they are gone.
void TerminateBackends(PgConn& raw, const std::string& app) {
  EXPECT_EQ(One(raw, fmt::format("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE application_name = '{}'",
                                 app)),
            "1");
  while (One(raw, fmt::format("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = "
                              "'{}'",
                              app)) != "0") {
    std::this_thread::yield();
  }
}

TEST_F(PostgresStoreTest, AConnectionThatDiedWhileIdleIsReplacedBeforeTheTransactionStarts) {
  ScratchSchema schema;
  const std::string app = schema.name() + "_app";
  PostgresOptions options = schema.Options(1);
  options.dsn = DsnWith(TestDsn(), {{"application_name", app}});
  auto opened = PostgresStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& store = **opened;
  ASSERT_TRUE(CreateModel(store, "before").ok());

  auto raw = RawConn();
  ASSERT_NE(raw, nullptr);
  // As when PostgreSQL restarts: the pooled connection is dead, though nothing was running on it.
  TerminateBackends(*raw, app);
  Status after_restart = CreateModel(store, "after");
  EXPECT_TRUE(after_restart.ok()) << after_restart.ToString();
  TerminateBackends(*raw, app);
  EXPECT_TRUE(store.Ready().ok());
  auto in_schema = RawConn(schema.name());
  ASSERT_NE(in_schema, nullptr);
  EXPECT_EQ(One(*in_schema, "SELECT string_agg(name, ',' ORDER BY id) FROM models"),
            "before,after");
}

TEST_F(PostgresStoreTest, AConnectionLostMidTransactionIsUnavailableAndChangesNothing) {
  ScratchSchema schema;
  const std::string app = schema.name() + "_app";
  PostgresOptions options = schema.Options(1);
  options.dsn = DsnWith(TestDsn(), {{"application_name", app}});
  auto opened = PostgresStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& store = **opened;
  auto raw = RawConn();
  ASSERT_NE(raw, nullptr);

  int runs = 0;
  Status lost = store.Write([&](Tx& tx) -> Status {
    ++runs;
    Model m{.name = "half", .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
    VOUCH_TRY(tx.InsertModel(m));
    TerminateBackends(*raw, app);
    return AppendEvent(tx, "model.created", m, 0).status();
  });
  EXPECT_EQ(lost.code(), StatusCode::kUnavailable) << lost.ToString();
  EXPECT_EQ(runs, 1) << "a transaction whose outcome is unknown must not run again by itself";
  EXPECT_TRUE(CreateModel(store, "next").ok());
  auto in_schema = RawConn(schema.name());
  ASSERT_NE(in_schema, nullptr);
  EXPECT_EQ(One(*in_schema, "SELECT string_agg(name, ',' ORDER BY id) FROM models"), "next");
  EXPECT_EQ(One(*in_schema, "SELECT COUNT(*) FROM audit_events"), "1");
}

// A LOGIN role of its own, dropped (with the privileges granted to it) on destruction.
class ScratchRole {
 public:
  ScratchRole() : name_(FreshSchemaName() + "_role"), password_("pw-" + name_) {
    auto raw = RawConn();
    if (raw) {
      std::string sql = fmt::format("CREATE ROLE {} LOGIN PASSWORD '{}'", name_, password_);
      Status s = raw->Exec(sql.c_str());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  ~ScratchRole() {
    auto raw = RawConn();
    if (raw) {
      std::string sql = fmt::format("DROP OWNED BY {}; DROP ROLE {}", name_, name_);
      Status s = raw->Exec(sql.c_str());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  const std::string& name() const { return name_; }
  std::string Dsn() const { return DsnWith(TestDsn(), {{"user", name_}, {"password", password_}}); }

 private:
  std::string name_;
  std::string password_;
};

TEST_F(PostgresStoreTest, MigrateSchemaGrantsTheApplicationRoleOnlyWhatAServerNeeds) {
  ScratchSchema schema;
  ScratchRole app;
  {
    auto version = PostgresStore::MigrateSchema(schema.Options(), app.name());
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    EXPECT_EQ(*version, LatestMigrationVersion("postgres"));
    // Again: nothing to migrate, the grants are made again.
    ASSERT_TRUE(PostgresStore::MigrateSchema(schema.Options(), app.name()).ok());

    PostgresOptions as_app = schema.Options(2);
    as_app.dsn = app.Dsn();
    auto store = PostgresStore::Open(as_app);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(CreateModel(**store, "by-the-app").ok());
    ASSERT_TRUE(CreateModel(**store, "again").ok());

    auto raw = PgConn::Open({.dsn = app.Dsn(), .schema = schema.name()});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    for (const char* refused :
         {"UPDATE audit_events SET body = 'forged'", "DELETE FROM audit_events",
          "TRUNCATE audit_events", "UPDATE audit_hashes SET hash = ''", "DELETE FROM audit_hashes",
          "TRUNCATE audit_hashes", "UPDATE policy_versions SET body = 'x'",
          "DELETE FROM policy_versions", "INSERT INTO schema_migrations VALUES (99, 'x', 0)",
          "DELETE FROM schema_migrations", "CREATE TABLE mine (i INTEGER)",
          "DROP TABLE models CASCADE", "ALTER TABLE models ADD COLUMN x INTEGER"}) {
      Status s = (*raw)->Exec(refused);
      EXPECT_FALSE(s.ok()) << refused;
      if (std::string_view(refused).starts_with("UPDATE") ||
          std::string_view(refused).starts_with("DELETE") ||
          std::string_view(refused).starts_with("INSERT")) {
        EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << refused << ": " << s.ToString();
      }
    }
    EXPECT_EQ(One(**raw, "SELECT COUNT(*) FROM audit_events"), "2");
    EXPECT_EQ(One(**raw, "SELECT COUNT(*) FROM models"), "2");
  }
}

TEST_F(PostgresStoreTest, ARoleThatCannotMigrateIsToldHowToDoIt) {
  ScratchSchema schema;
  ScratchRole app;
  PostgresOptions as_app = schema.Options();
  as_app.dsn = app.Dsn();
  auto store = PostgresStore::Open(as_app);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
  EXPECT_NE(store.status().message().find("vouch migrate-schema"), std::string::npos);
  EXPECT_NE(store.status().message().find("--migrate-as"), std::string::npos);
}

TEST_F(PostgresStoreTest, MigrateSchemaForAnUnknownRoleIsNotFound) {
  ScratchSchema schema;
  auto version = PostgresStore::MigrateSchema(schema.Options(), "no_such_role_x1");
  EXPECT_EQ(version.status().code(), StatusCode::kNotFound) << version.status().ToString();
}

TEST_F(PostgresStoreTest, RunExclusiveLetsOneStoreAtATimeIn) {
  ScratchSchema schema;
  PostgresStore* a = schema.Open(2);
  PostgresStore* b = schema.Open(2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<bool> a_entered{false};
  auto body = [&](PostgresStore* s, bool first) {
    return s->RunExclusive([&]() -> Status {
      int now = ++inside;
      most = std::max(most.load(), now);
      if (first) a_entered = true;
      // Work through the pool while holding the lock, as the server's set-up does.
      Status w = CreateModel(*s, first ? "from-a" : "from-b");
      std::this_thread::sleep_for(std::chrono::milliseconds(first ? 200 : 0));
      --inside;
      return w;
    });
  };
  Status sa, sb;
  std::thread ta([&] { sa = body(a, true); });
  while (!a_entered) std::this_thread::yield();
  std::thread tb([&] { sb = body(b, false); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.ToString();
  EXPECT_TRUE(sb.ok()) << sb.ToString();
  EXPECT_EQ(most.load(), 1) << "two stores were inside RunExclusive at once";
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(One(*raw, "SELECT string_agg(name, ',' ORDER BY id) FROM models"), "from-a,from-b");
}

TEST_F(PostgresStoreTest, MetricsCountWritesAndPoolWaits) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open(1);
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { EXPECT_TRUE(CreateModel(*store, fmt::format("m{}", i)).ok()); });
  }
  for (auto& t : threads) t.join();
  std::map<std::string, double> m;
  for (const auto& metric : store->Metrics()) m[metric.name] = metric.value;
  EXPECT_EQ(m["vouch_store_writes_total"], 4);
  EXPECT_GE(m["vouch_store_audit_head_wait_seconds_total"], 0);
  EXPECT_EQ(m["vouch_store_pool_connections"], 1);
  EXPECT_TRUE(m.contains("vouch_store_pool_waits_total"));
}

TEST_F(PostgresStoreTest, BadCredentialsAreUnavailableWithoutThePassword) {
  const std::string secret = "not-the-password-7f3a9c";
  auto opened = PostgresStore::Open(
      {.dsn = DsnWith(TestDsn(), {{"password", secret}}), .schema = FreshSchemaName()});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnavailable) << opened.status().ToString();
  EXPECT_EQ(opened.status().message().find(secret), std::string::npos) << opened.status().message();
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsUnavailable) {
  // Port 1 on the loopback: nothing listens there.
  auto opened = PostgresStore::Open(
      {.dsn = DsnWith(TestDsn(), {{"host", "127.0.0.1"}, {"port", "1"}, {"password", "pw-x1"}})});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnavailable) << opened.status().ToString();
  EXPECT_EQ(opened.status().message().find("pw-x1"), std::string::npos);
}

TEST_F(PostgresStoreTest, TextWithNulIsRefusedNotCutAtTheNul) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CreateModel(*store, "prod").ok());
  const std::string cut_here("prod\0-scratch", 13);
  // libpq takes text parameters as C strings: "prod\0-scratch" would arrive as "prod".
  Status found = store->Read([&](Tx& tx) { return tx.FindModel(cut_here).status(); });
  EXPECT_EQ(found.code(), StatusCode::kInvalidArgument) << found.ToString();
  Status created = CreateModel(*store, std::string("new\0model", 9));
  EXPECT_EQ(created.code(), StatusCode::kInvalidArgument) << created.ToString();
  Status absent = store->Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel("new"));
    return m ? AlreadyExists("a model named by the text before the NUL was made") : OkStatus();
  });
  EXPECT_TRUE(absent.ok()) << absent.ToString();
}

// Needs no server: the DSN is refused before any connection is tried.
TEST(PostgresDsn, AnUnparsableDsnIsInvalidArgumentWithoutThePassword) {
  for (const std::string dsn : {"postgresql://vouch:pw-leak-1@[::1/vouch",
                                "postgresql://vouch:pw-leak-1%zz@127.0.0.1:1/vouch",
                                "postgresql://vouch:pw-leak-1@127.0.0.1:1/vou%00ch"}) {
    auto opened = PostgresStore::Open({.dsn = dsn});
    ASSERT_FALSE(opened.ok()) << dsn;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << opened.status().ToString();
    EXPECT_EQ(opened.status().message().find("pw-leak"), std::string::npos)
        << opened.status().message();
  }
}

TEST_F(PostgresStoreTest, DescribeNamesTheServerButNotThePassword) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open();
  ASSERT_NE(store, nullptr);
  const std::string d = store->Describe();
  EXPECT_TRUE(d.starts_with("postgresql ")) << d;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(TestDsn().c_str(), &err);
  ASSERT_NE(opts, nullptr);
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr && *o->val != '\0') {
      EXPECT_EQ(d.find(o->val), std::string::npos) << "the password leaks into Describe()";
    }
  }
  PQconninfoFree(opts);
}

// ---- Approvals (issue 12): what needs two connections at once, and the immutability triggers.

// A store whose connections carry `app` as application_name, so a test can see them wait.
std::unique_ptr<PostgresStore> OpenNamed(const ScratchSchema& schema, const std::string& app) {
  PostgresOptions options = schema.Options(2);
  options.dsn = DsnWith(TestDsn(), {{"application_name", app}});
  auto opened = PostgresStore::Open(options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// Returns once a backend of `app` waits for a lock another transaction holds.
void AwaitLockWait(PgConn& raw, const std::string& app) {
  const std::string sql = fmt::format(
      "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '{}' "
      "AND wait_event_type = 'Lock'",
      app);
  while (One(raw, sql) == "0") std::this_thread::yield();
}

PolicyRecord TestPolicy(std::string name, std::string body) {
  return PolicyRecord{.name = std::move(name),
                      .target = "stage:Production",
                      .body = std::move(body),
                      .digest = std::string(64, 'd'),
                      .created_ms = kT0,
                      .created_by_id = 1};
}

// Two servers publish the same policy name at once: the second waits on the name's head row and
// takes the next number once the first commits; neither number is given twice.
TEST_F(PostgresStoreTest, TwoConcurrentPublishesOfOnePolicyTakeConsecutiveVersions) {
  ScratchSchema schema;
  PostgresStore* first = schema.Open(2);
  ASSERT_NE(first, nullptr);
  const std::string app = schema.name() + "_second";
  auto second = OpenNamed(schema, app);
  ASSERT_NE(second, nullptr);
  auto raw = RawConn();
  ASSERT_NE(raw, nullptr);

  std::latch first_published(1);
  std::latch second_waits(1);
  PolicyRecord a = TestPolicy("p", R"({"by":"a"})");
  PolicyRecord b = TestPolicy("p", R"({"by":"b"})");
  Status sa, sb;
  std::thread ta([&] {
    sa = first->Write([&](Tx& tx) -> Status {
      VOUCH_TRY(tx.PublishPolicy(a));
      first_published.count_down();
      second_waits.wait();
      return OkStatus();
    });
  });
  first_published.wait();
  std::thread tb([&] { sb = second->Write([&](Tx& tx) { return tx.PublishPolicy(b); }); });
  AwaitLockWait(*raw, app);
  second_waits.count_down();
  ta.join();
  tb.join();
  ASSERT_TRUE(sa.ok()) << sa.ToString();
  ASSERT_TRUE(sb.ok()) << sb.ToString();
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(b.version, 2);
  auto in_schema = RawConn(schema.name());
  ASSERT_NE(in_schema, nullptr);
  EXPECT_EQ(One(*in_schema,
                "SELECT string_agg(version || ':' || body, ',' ORDER BY version) "
                "FROM policy_versions WHERE name = 'p'"),
            R"(1:{"by":"a"},2:{"by":"b"})");
  EXPECT_EQ(One(*in_schema, "SELECT last_version FROM policies WHERE name = 'p'"), "2");
}

// Many publishers on three servers: every number from 1 up, each once.
TEST_F(PostgresStoreTest, PublishersOnThreeStoresGetGaplessPolicyVersions) {
  ScratchSchema schema;
  std::vector<PostgresStore*> servers;
  for (int i = 0; i < 3; ++i) {
    servers.push_back(schema.Open(2));
    ASSERT_NE(servers.back(), nullptr);
  }
  constexpr int kPerThread = 10;
  std::vector<std::vector<int64_t>> got(6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        PolicyRecord p = TestPolicy("shared", fmt::format(R"({{"t":{},"i":{}}})", t, i));
        Status st = servers[t % 3]->Write([&](Tx& tx) { return tx.PublishPolicy(p); });
        EXPECT_TRUE(st.ok()) << st.ToString();
        if (st.ok()) got[t].push_back(p.version);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int64_t> all;
  for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(6 * kPerThread);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int64_t>(i) + 1;
  EXPECT_EQ(all, expected);
}

// The twenty-approvals case: a transaction that locked a request holds off a second one, which
// then reads the state the first committed (and so does not apply it twice).
TEST_F(PostgresStoreTest, ASecondTransactionLockingARequestWaitsAndSeesTheFirstOnesChange) {
  ScratchSchema schema;
  PostgresStore* first = schema.Open(2);
  ASSERT_NE(first, nullptr);
  const std::string app = schema.name() + "_second";
  auto second = OpenNamed(schema, app);
  ASSERT_NE(second, nullptr);
  auto raw = RawConn();
  ASSERT_NE(raw, nullptr);
  ASSERT_TRUE(CreateModel(*first, "m").ok());
  ApprovalRequest r{.version = 1,
                    .target = "stage:Production",
                    .requester_id = 1,
                    .created_ms = kT0,
                    .updated_ms = kT0};
  ASSERT_TRUE(first
                  ->Write([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow("m"));
                    if (!m) return NotFound("m");
                    r.model_id = m->id;
                    return tx.InsertRequest(r);
                  })
                  .ok());

  std::latch first_locked(1);
  std::latch second_waits(1);
  Status sa, sb;
  std::optional<RequestState> second_saw;
  std::thread ta([&] {
    sa = first->Write([&](Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> q, tx.LockRequest(r.id));
      if (!q) return NotFound("request");
      first_locked.count_down();
      second_waits.wait();
      q->state = RequestState::kApplied;
      q->applied_ms = kT0 + 1;
      return tx.UpdateRequest(*q);
    });
  });
  first_locked.wait();
  std::thread tb([&] {
    sb = second->Write([&](Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> q, tx.LockRequest(r.id));
      if (!q) return NotFound("request");
      second_saw = q->state;
      return OkStatus();
    });
  });
  AwaitLockWait(*raw, app);
  second_waits.count_down();
  ta.join();
  tb.join();
  ASSERT_TRUE(sa.ok()) << sa.ToString();
  ASSERT_TRUE(sb.ok()) << sb.ToString();
  EXPECT_EQ(second_saw, std::optional<RequestState>(RequestState::kApplied));
  double row_lock_wait = 0;
  for (const StoreMetric& m : second->Metrics()) {
    if (m.name == "vouch_store_row_lock_wait_seconds_total") row_lock_wait = m.value;
  }
  EXPECT_GT(row_lock_wait, 0) << "the wait is counted as a row lock wait";
}

TEST_F(PostgresStoreTest, PublishedPolicyVersionsAndSignedReviewsCannotBeChanged) {
  ScratchSchema schema;
  PostgresStore* store = schema.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CreateModel(*store, "m").ok());
  ASSERT_TRUE(store->Write([&](Tx& tx) { return PublishPolicyWithSignedReview(tx, kT0); }).ok());
  auto raw = RawConn(schema.name());
  ASSERT_NE(raw, nullptr);
  for (const char* sql : {"UPDATE policy_versions SET body = '{}'",
                          "UPDATE policy_versions SET digest = 'x' WHERE version = 1",
                          "DELETE FROM policy_versions", "TRUNCATE policy_versions CASCADE"}) {
    Status s = raw->Exec(sql);
    EXPECT_FALSE(s.ok()) << sql;
    EXPECT_NE(s.message().find("immutable"), std::string::npos) << sql << ": " << s.message();
  }
  EXPECT_EQ(One(*raw, "SELECT body FROM policy_versions WHERE name = 'p'"), R"({"a":1})");
  for (const char* sql : {"UPDATE approval_reviews SET decision = 'reject'",
                          "UPDATE approval_reviews SET printed_name = 'Mallory'",
                          "UPDATE approval_reviews SET fingerprint = 'f2'"}) {
    Status s = raw->Exec(sql);
    EXPECT_FALSE(s.ok()) << sql;
    EXPECT_NE(s.message().find("signature"), std::string::npos) << sql << ": " << s.message();
  }
  EXPECT_TRUE(
      raw->Exec("UPDATE approval_reviews SET dismissed_ms = 1, dismissed_reason = 'x'").ok());
  EXPECT_EQ(One(*raw, "SELECT printed_name || ':' || decision FROM approval_reviews"),
            "Ana:approve");
}

}  // namespace
}  // namespace vouch::store::testing
