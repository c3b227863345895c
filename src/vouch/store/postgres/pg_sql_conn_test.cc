// PostgreSQL's connection passes the connection interface's suite
// (store/sql/sql_conn_test_suite.h), in a schema of its own, dropped at the end. Needs
// VOUCH_TEST_POSTGRES_DSN; skips without it.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/pg_sql_conn.h"
#include "vouch/store/sql/sql_conn_test_suite.h"

namespace vouch::store::testing {
namespace {

std::string PostgresDsn() {
  const char* dsn = std::getenv("VOUCH_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

class PostgresConnEnv final : public ConnEnv {
 public:
  PostgresConnEnv() {
    static std::atomic<int> counter{0};
    schema_ = fmt::format("vouch_sql_conn_test_{}_{}", getpid(), counter++);
    auto admin = PgConn::Open({.dsn = PostgresDsn()});
    EXPECT_TRUE(admin.ok()) << admin.status().ToString();
    if (!admin.ok()) return;
    admin_ = std::move(admin).value();
    Status made = admin_->Exec(fmt::format("CREATE SCHEMA {}", schema_).c_str());
    EXPECT_TRUE(made.ok()) << made.ToString();
    auto opened = PgConn::Open({.dsn = PostgresDsn(), .schema = schema_});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return;
    conn_ = std::move(opened).value();
    sql_ = std::make_unique<PgSqlConn>(*conn_);
    Status created = conn_->Exec(kSqlConnTestTable);
    EXPECT_TRUE(created.ok()) << created.ToString();
  }
  ~PostgresConnEnv() override {
    sql_.reset();
    conn_.reset();
    if (admin_ == nullptr) return;
    Status dropped = admin_->Exec(fmt::format("DROP SCHEMA {} CASCADE", schema_).c_str());
    EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  }
  sql::Connection& conn() override { return *sql_; }
  bool ok() const { return sql_ != nullptr; }

 private:
  std::string schema_;
  std::unique_ptr<PgConn> admin_;
  std::unique_ptr<PgConn> conn_;
  std::unique_ptr<PgSqlConn> sql_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, SqlConnTest,
                         ::testing::Values(SqlConnBackend{
                             .name = "Postgres",
                             .steps_in_place = false,
                             .unavailable =
                                 [] {
                                   return PostgresDsn().empty()
                                              ? std::string("VOUCH_TEST_POSTGRES_DSN is not set")
                                              : std::string();
                                 },
                             .make = []() -> std::unique_ptr<ConnEnv> {
                               auto env = std::make_unique<PostgresConnEnv>();
                               if (!env->ok()) return nullptr;
                               return env;
                             }}),
                         SqlConnBackendName);

}  // namespace
}  // namespace vouch::store::testing
