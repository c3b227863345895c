// A scratch store per test on each backend, for suites that run on both stores: SQLite always (a
// temporary directory), PostgreSQL when VOUCH_TEST_POSTGRES_DSN is set (a schema of its own,
// dropped when the test ends). Header-only; tests only.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::store::testing {

inline std::string PostgresTestDsn() {
  const char* dsn = std::getenv("VOUCH_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

// The backends a parameterised suite runs on: "Sqlite", and "Postgres" when a DSN is set.
inline std::vector<std::string> TestBackends() {
  std::vector<std::string> out{"Sqlite"};
  if (!PostgresTestDsn().empty()) out.push_back("Postgres");
  return out;
}

class TestStore {
 public:
  virtual ~TestStore() = default;
  virtual Store& store() = 0;
  // Another server's store on the same database (PostgreSQL only: null, with the test failed, on
  // SQLite or when it cannot be opened). It lives as long as this TestStore.
  virtual Store* Another() {
    ADD_FAILURE() << "only a PostgreSQL test store has another server's store";
    return nullptr;
  }
  // A fresh store on `backend` ("Sqlite" or "Postgres"); null, with the test failed, when the
  // PostgreSQL one cannot be opened. `prefix` names the scratch schema.
  static std::unique_ptr<TestStore> Make(std::string_view backend, std::string_view prefix);
};

namespace internal {

class SqliteTestStore final : public TestStore {
 public:
  Store& store() override { return db_.store(); }

 private:
  TempSqliteStore db_;
};

class PostgresTestStore final : public TestStore {
 public:
  explicit PostgresTestStore(std::string_view prefix) {
    static std::atomic<int> counter{0};
    schema_ = fmt::format("{}_{}_{}", prefix, getpid(), counter++);
    auto opened = PostgresStore::Open(Options());
    if (!opened.ok()) {
      ADD_FAILURE() << opened.status().ToString();
      return;
    }
    store_ = std::move(opened).value();
  }
  ~PostgresTestStore() override {
    others_.clear();
    store_.reset();
    auto raw = PgConn::Open({.dsn = PostgresTestDsn()});
    if (raw.ok()) {
      std::string drop = fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema_);
      (void)(*raw)->Exec(drop.c_str());
    }
  }
  bool ok() const { return store_ != nullptr; }
  Store& store() override { return *store_; }
  Store* Another() override {
    auto opened = PostgresStore::Open(Options());
    if (!opened.ok()) {
      ADD_FAILURE() << opened.status().ToString();
      return nullptr;
    }
    others_.push_back(std::move(opened).value());
    return others_.back().get();
  }

 private:
  PostgresOptions Options() const {
    return {.dsn = PostgresTestDsn(), .pool_size = 4, .schema = schema_};
  }

  std::string schema_;
  std::unique_ptr<PostgresStore> store_;
  std::vector<std::unique_ptr<PostgresStore>> others_;  // Another()'s, closed before the drop
};

}  // namespace internal

inline std::unique_ptr<TestStore> TestStore::Make(std::string_view backend,
                                                  std::string_view prefix) {
  if (backend == "Postgres") {
    auto pg = std::make_unique<internal::PostgresTestStore>(prefix);
    if (!pg->ok()) return nullptr;
    return pg;
  }
  return std::make_unique<internal::SqliteTestStore>();
}

}  // namespace vouch::store::testing
