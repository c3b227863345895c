// The connection interface behaves the same over every backend (sql_conn_test_suite.h; SQLite and
// PostgreSQL instantiate it in sqlite_sql_conn_test.cc and pg_sql_conn_test.cc).
#include <optional>
#include <utility>

#include "vouch/store/sql/sql_conn_test_suite.h"

namespace vouch::store::testing {
namespace {

constexpr char kInsert[] = "INSERT INTO items (id, name, score) VALUES ($1, $2, $3)";
constexpr char kSwapped[] = "SELECT name, id FROM items WHERE name = $2 AND id = $1";
constexpr char kQuotedDollar[] = "SELECT '$1', id FROM items WHERE id = $1";
constexpr char kRead[] = "SELECT name, score FROM items WHERE id = $1";
constexpr char kRename[] = "UPDATE items SET name = $2 WHERE id > $1";
constexpr char kNone[] = "SELECT id FROM items WHERE id < $1";

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
  if (GetParam().steps_in_place) {
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

}  // namespace
}  // namespace vouch::store::testing
