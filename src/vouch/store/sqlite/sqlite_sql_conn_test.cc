// SQLite's connection passes the connection interface's suite (store/sql/sql_conn_test_suite.h).
#include <memory>

#include "vouch/store/sql/sql_conn_test_suite.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/sqlite/sqlite_sql_conn.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::store::testing {
namespace {

class SqliteConnEnv final : public ConnEnv {
 public:
  SqliteConnEnv() {
    auto opened = Conn::Open(dir_.File("scratch.db"), false);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return;
    conn_ = std::move(opened).value();
    sql_ = std::make_unique<SqliteSqlConn>(*conn_);
    Status created = conn_->Exec(kSqlConnTestTable);
    EXPECT_TRUE(created.ok()) << created.ToString();
  }
  sql::Connection& conn() override { return *sql_; }
  bool ok() const { return sql_ != nullptr; }

 private:
  TempDir dir_;
  std::unique_ptr<Conn> conn_;
  std::unique_ptr<SqliteSqlConn> sql_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, SqlConnTest,
                         ::testing::Values(SqlConnBackend{
                             .name = "Sqlite",
                             .steps_in_place = true,
                             .unavailable = [] { return std::string(); },
                             .make = []() -> std::unique_ptr<ConnEnv> {
                               auto env = std::make_unique<SqliteConnEnv>();
                               if (!env->ok()) return nullptr;
                               return env;
                             }}),
                         SqlConnBackendName);

}  // namespace
}  // namespace vouch::store::testing
