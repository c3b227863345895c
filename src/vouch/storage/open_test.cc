#include "vouch/storage/open.h"

#include <gtest/gtest.h>

namespace vouch::store {
namespace {

TEST(ParseStoreUri, ReadsSqlitePathsWithAndWithoutTheScheme) {
  auto rel = ParseStoreUri("sqlite://./vouch-data/vouch.db");
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->kind, StoreKind::kSqlite);
  EXPECT_EQ(rel->sqlite_path, "./vouch-data/vouch.db");
  auto abs = ParseStoreUri("sqlite:///var/lib/vouch/vouch.db");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->sqlite_path, "/var/lib/vouch/vouch.db");
  auto bare = ParseStoreUri("data/vouch.db");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->kind, StoreKind::kSqlite);
  EXPECT_EQ(bare->sqlite_path, "data/vouch.db");
  EXPECT_EQ(bare->Describe(), "sqlite data/vouch.db");
}

TEST(ParseStoreUri, ReadsPostgresUrisAndKeyValueStrings) {
  for (std::string_view dsn : {"postgresql://vouch:pw@db:5432/vouch", "postgres://db/vouch",
                               "host=db dbname=vouch user=vouch password=pw"}) {
    auto where = ParseStoreUri(dsn);
    ASSERT_TRUE(where.ok()) << dsn;
    EXPECT_EQ(where->kind, StoreKind::kPostgres) << dsn;
    EXPECT_EQ(where->dsn, dsn);
    EXPECT_EQ(where->Describe().find("pw"), std::string::npos) << where->Describe();
  }
  EXPECT_EQ(ParseStoreUri("postgresql://vouch:pw@db:5432/vouch")->Describe(),
            "postgresql vouch@db:5432/vouch");
}

TEST(ParseStoreUri, MistypedOrUnknownStoresAreRefusedNotTakenAsFileNames) {
  for (std::string_view bad :
       {"", "sqlite://", "mysql://root:hunter2@db/vouch", "postgresql:/vouch:hunter2@db/vouch",
        "postgresql:vouch:hunter2@db", "postgres//vouch:hunter2@db/x", "pg://vouch:hunter2@db",
        "sqlite://postgresql://vouch:hunter2@db/x", "file:///tmp/x.db"}) {
    auto where = ParseStoreUri(bad);
    ASSERT_FALSE(where.ok()) << bad << " was taken as " << where->Describe();
    EXPECT_EQ(where.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(where.status().message().find("hunter2"), std::string::npos)
        << where.status().message();
    EXPECT_NE(where.status().message().find("postgresql://"), std::string::npos)
        << "the message shows the accepted forms: " << where.status().message();
  }
}

}  // namespace
}  // namespace vouch::store
