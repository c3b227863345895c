// The connection interface (sql_conn.h) behaves the same over SQLite and PostgreSQL: numbered
// placeholders, values of every kind, rows changed, and the one error mapping. PostgreSQL runs
// when VOUCH_TEST_POSTGRES_DSN is set (in a schema of its own, dropped at the end).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/pg_sql_conn.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/sqlite/sqlite_sql_conn.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::store {
namespace {

constexpr char kCreate[] =
    "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)";
constexpr char kInsert[] = "INSERT INTO items (id, name, score) VALUES ($1, $2, $3)";
constexpr char kSwapped[] = "SELECT name, id FROM items WHERE name = $2 AND id = $1";
constexpr char kQuotedDollar[] = "SELECT '$1', id FROM items WHERE id = $1";
constexpr char kRead[] = "SELECT name, score FROM items WHERE id = $1";
constexpr char kRename[] = "UPDATE items SET name = $2 WHERE id > $1";
constexpr char kNone[] = "SELECT id FROM items WHERE id < $1";

std::string PostgresDsn() {
  const char* dsn = std::getenv("VOUCH_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

// A connection of one backend on a scratch database holding the table `items`.
class Scratch {
 public:
  virtual ~Scratch() = default;
  virtual sql::Connection& conn() = 0;
};

class SqliteScratch final : public Scratch {
 public:
  SqliteScratch() {
    auto opened = Conn::Open(dir_.File("scratch.db"), false);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    conn_ = std::move(opened).value();
    sql_ = std::make_unique<SqliteSqlConn>(*conn_);
    EXPECT_TRUE(conn_->Exec(kCreate).ok());
  }
  sql::Connection& conn() override { return *sql_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<Conn> conn_;
  std::unique_ptr<SqliteSqlConn> sql_;
};

class PostgresScratch final : public Scratch {
 public:
  PostgresScratch() {
    static std::atomic<int> counter{0};
    schema_ = fmt::format("vouch_sql_conn_test_{}_{}", getpid(), counter++);
    auto admin = PgConn::Open({.dsn = PostgresDsn()});
    EXPECT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = std::move(admin).value();
    EXPECT_TRUE(admin_->Exec(fmt::format("CREATE SCHEMA {}", schema_).c_str()).ok());
    auto opened = PgConn::Open({.dsn = PostgresDsn(), .schema = schema_});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    conn_ = std::move(opened).value();
    sql_ = std::make_unique<PgSqlConn>(*conn_);
    EXPECT_TRUE(conn_->Exec(kCreate).ok());
  }
  ~PostgresScratch() override {
    sql_.reset();
    conn_.reset();
    Status dropped = admin_->Exec(fmt::format("DROP SCHEMA {} CASCADE", schema_).c_str());
    EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  }
  sql::Connection& conn() override { return *sql_; }

 private:
  std::string schema_;
  std::unique_ptr<PgConn> admin_;
  std::unique_ptr<PgConn> conn_;
  std::unique_ptr<PgSqlConn> sql_;
};

class SqlConnTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      if (PostgresDsn().empty()) GTEST_SKIP() << "VOUCH_TEST_POSTGRES_DSN is not set";
      scratch_ = std::make_unique<PostgresScratch>();
    } else {
      scratch_ = std::make_unique<SqliteScratch>();
    }
  }
  sql::Connection& c() { return scratch_->conn(); }

 private:
  std::unique_ptr<Scratch> scratch_;
};

TEST_P(SqlConnTest, PlaceholdersBindByNumberNotByPosition) {
  ASSERT_TRUE(c().Exec(kInsert, {int64_t{7}, "seven", 7.5}).ok());
  auto rows = c().Query(kSwapped, {int64_t{7}, "seven"});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  auto row = (*rows)->Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*rows)->Text(0), "seven");
  EXPECT_EQ((*rows)->Int(1), 7);
  auto more = (*rows)->Next();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST_P(SqlConnTest, ADollarInsideQuotesStaysText) {
  ASSERT_TRUE(c().Exec(kInsert, {int64_t{1}, "one", 1.0}).ok());
  auto rows = c().Query(kQuotedDollar, {int64_t{1}});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_TRUE(*(*rows)->Next());
  EXPECT_EQ((*rows)->Text(0), "$1");
  EXPECT_EQ((*rows)->Int(1), 1);
}

TEST_P(SqlConnTest, NullsAndDoublesReadBackAsBound) {
  std::optional<int64_t> none;
  ASSERT_TRUE(c().Exec(kInsert, {int64_t{2}, nullptr, none}).ok());
  ASSERT_TRUE(c().Exec(kInsert, {int64_t{3}, "three", 0.1}).ok());
  ASSERT_TRUE(c().Exec(kInsert, {int64_t{4}, "four", 1e300}).ok());
  {
    auto null_row = c().Query(kRead, {int64_t{2}});
    ASSERT_TRUE(null_row.ok() && *(*null_row)->Next());
    EXPECT_TRUE((*null_row)->IsNull(0));
    EXPECT_EQ((*null_row)->OptionalInt(1), std::nullopt);
  }
  for (auto [id, score] : {std::pair<int64_t, double>{3, 0.1}, {4, 1e300}}) {
    auto rows = c().Query(kRead, {id});
    ASSERT_TRUE(rows.ok() && *(*rows)->Next());
    EXPECT_EQ((*rows)->Double(1), score);
  }
}

TEST_P(SqlConnTest, ExecCountsTheRowsItChanged) {
  for (int64_t id : {10, 11, 12}) ASSERT_TRUE(c().Exec(kInsert, {id, "x", 0.0}).ok());
  auto changed = c().Exec(kRename, {int64_t{10}, "y"});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(*changed, 2);
  auto none = c().Query(kNone, {int64_t{0}});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*(*none)->Next());
}

// SQLite steps a cached statement in place, so running it again while a cursor still reads it would
// mix the two queries' rows: that misuse is INTERNAL. PostgreSQL's rows arrive whole, and both run.
TEST_P(SqlConnTest, AStatementStillBeingReadIsNotRunAgainOnSqlite) {
  for (int64_t id : {20, 21}) ASSERT_TRUE(c().Exec(kInsert, {id, "x", 0.0}).ok());
  auto first = c().Query(kNone, {int64_t{100}});
  ASSERT_TRUE(first.ok() && *(*first)->Next());
  auto second = c().Query(kNone, {int64_t{100}});
  if (GetParam() == "sqlite") {
    EXPECT_EQ(second.status().code(), StatusCode::kInternal) << second.status().ToString();
  } else {
    EXPECT_TRUE(second.ok()) << second.status().ToString();
  }
  first->reset();
  EXPECT_TRUE(c().Query(kNone, {int64_t{100}}).ok());
}

TEST_P(SqlConnTest, ADuplicateKeyIsAlreadyExists) {
  ASSERT_TRUE(c().Exec(kInsert, {int64_t{5}, "five", 5.0}).ok());
  auto again = c().Exec(kInsert, {int64_t{5}, "five again", 5.0});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlConnTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::store
