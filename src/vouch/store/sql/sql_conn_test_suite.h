// The connection interface's test suite (sql_conn_test.cc), which every backend's connection
// passes: numbered placeholders, values of every kind, rows changed, the one error mapping. A
// backend instantiates it with a factory that makes a fresh connection on a scratch database:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, SqlConnTest, ::testing::Values(SqlConnBackend{...}),
//                            SqlConnBackendName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "vouch/store/sql/sql_conn.h"

namespace vouch::store::testing {

// The table every test uses; a backend's scratch database creates it.
inline constexpr char kSqlConnTestTable[] =
    "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)";

// One connection for one test, with what it needs to live (a temporary file, a scratch schema).
class ConnEnv {
 public:
  virtual ~ConnEnv() = default;
  virtual sql::Connection& conn() = 0;
};

struct SqlConnBackend {
  std::string name;  // "Sqlite", "Postgres"
  // Whether the backend steps a cached statement in place (SQLite), so that a statement a live
  // cursor still reads cannot run again; PostgreSQL's rows arrive whole.
  bool steps_in_place = false;
  // Empty when the backend can run here; else why the tests skip (no PostgreSQL DSN).
  std::function<std::string()> unavailable;
  // A fresh connection on a scratch database holding kSqlConnTestTable.
  std::function<std::unique_ptr<ConnEnv>()> make;
};
inline std::ostream& operator<<(std::ostream& os, const SqlConnBackend& b) { return os << b.name; }
inline std::string SqlConnBackendName(const ::testing::TestParamInfo<SqlConnBackend>& info) {
  return info.param.name;
}

class SqlConnTest : public ::testing::TestWithParam<SqlConnBackend> {
 protected:
  void SetUp() override {
    if (std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr) << "the " << GetParam().name << " backend could not connect";
  }
  sql::Connection& c() { return env_->conn(); }

 private:
  std::unique_ptr<ConnEnv> env_;
};

}  // namespace vouch::store::testing
