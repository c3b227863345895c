// The audit tree read back (audit/tree.h) on both stores: SQLite always, PostgreSQL when
// VOUCH_TEST_POSTGRES_DSN is set (a scratch schema per test). After appends through the store, the
// roots of every size, every tile and the proofs equal what tlog computes from the stored bodies;
// a log written before the tree existed gets its tree built at the next open, resuming a build
// that was cut short; the stored tree's hashes are checked against the bytes.
#include "vouch/audit/tree.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "vouch/store/audit_tree.h"
#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::audit {
namespace {

std::string PgDsn() {
  const char* dsn = std::getenv("VOUCH_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

std::vector<std::string> Backends() {
  std::vector<std::string> out{"Sqlite"};
  if (!PgDsn().empty()) out.push_back("Postgres");
  return out;
}

std::string Body(int64_t seq) { return fmt::format(R"({{"n":"event {}","seq":{}}})", seq, seq); }

std::vector<std::string> Bodies(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back(Body(i));
  return out;
}

tlog::HashReader ReaderOver(const std::vector<std::string>& leaves) {
  // Every stored hash of the whole tree, computed the slow way.
  auto stored = std::make_shared<std::vector<std::vector<tlog::Hash>>>();
  tlog::RightEdge edge;
  for (const std::string& leaf : leaves) {
    for (const tlog::StoredHash& s : edge.Append(tlog::LeafHash(leaf))) {
      if (stored->size() <= static_cast<size_t>(s.level)) stored->resize(s.level + 1);
      (*stored)[s.level].push_back(s.hash);
    }
  }
  return
      [stored](int level, uint64_t index) -> Result<tlog::Hash> { return (*stored)[level][index]; };
}

class TreeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "Postgres") {
      static std::atomic<int> counter{0};
      schema_ = fmt::format("tree_{}_{}", getpid(), counter++);
    }
    Open();
  }
  void TearDown() override {
    store_.reset();
    sqlite_.reset();
    if (!schema_.empty()) {
      auto raw = store::PgConn::Open({.dsn = PgDsn()});
      if (raw.ok()) {
        std::string drop = fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema_);
        (void)(*raw)->Exec(drop.c_str());
      }
    }
  }

  store::Store& store() { return *store_; }

  // Closes the store and opens it again (the open builds the tree).
  void Open() {
    store_.reset();
    if (GetParam() == "Postgres") {
      auto opened = store::PostgresStore::Open({.dsn = PgDsn(), .pool_size = 2, .schema = schema_});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      store_ = std::move(opened).value();
      return;
    }
    if (!sqlite_) {
      sqlite_ = std::make_unique<store::testing::TempSqliteStore>();
      sqlite_->Close();
    }
    auto opened = store::SqliteStore::Open({.path = sqlite_->path()});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  // Runs SQL behind the open store's back (it caches nothing of the tree), as someone who drops
  // the guards would.
  void Behind(const std::string& sqlite_sql, const std::string& pg_sql) {
    if (GetParam() == "Postgres") {
      auto raw = store::PgConn::Open({.dsn = PgDsn(), .schema = schema_});
      ASSERT_TRUE(raw.ok()) << raw.status().ToString();
      Status s = (*raw)->Exec(pg_sql.c_str());
      ASSERT_TRUE(s.ok()) << s.ToString();
      return;
    }
    auto raw = store::Conn::Open(sqlite_->path(), false);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    Status s = (*raw)->Exec(sqlite_sql.c_str());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Forgets the tree, as a database from before migration 0015 has none.
  void ForgetTree() {
    Behind(
        "DROP TRIGGER audit_hashes_no_delete; DELETE FROM audit_hashes; "
        "UPDATE audit_tree SET size = 0, edge = X''",
        "ALTER TABLE audit_hashes DISABLE TRIGGER USER; DELETE FROM audit_hashes; "
        "ALTER TABLE audit_hashes ENABLE TRIGGER USER; "
        "UPDATE audit_head SET tree_size = 0, tree_edge = ''");
  }

  void Append(int n, int per_write = 128) {
    for (int done = 0; done < n; done += per_write) {
      Status st = store().Write([&](store::Tx& tx) -> Status {
        for (int i = done; i < std::min(n, done + per_write); ++i) {
          AuditEvent e;
          e.action = "a";
          e.actor_name = "alice";
          VOUCH_TRY(tx.AppendAuditEvent(e, [](int64_t seq) -> Result<std::string> {
                        return Body(seq);
                      }).status());
        }
        return OkStatus();
      });
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }

  // Runs `f` with a TreeReader in one read transaction.
  template <typename F>
  void WithReader(F f) {
    Status st = store().Read([&](store::Tx& tx) -> Status {
      TreeReader reader(tx);
      f(reader);
      return OkStatus();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  Status CheckStored() {
    return store().Read([&](store::Tx& tx) -> Status {
      StoredTreeCheck check(tx);
      VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.limit = 1'000'000}));
      for (const auto& e : events) VOUCH_TRY(check.Add(e.body));
      return check.Finish();
    });
  }

 private:
  std::string schema_;
  std::unique_ptr<store::testing::TempSqliteStore> sqlite_;
  std::unique_ptr<store::Store> store_;
};

constexpr int kEvents = 2 * 256 + 77;

TEST_P(TreeTest, RootsOfEverySizeEqualTheTreeHashOfTheStoredBodies) {
  Append(kEvents);
  const std::vector<std::string> leaves = Bodies(kEvents);
  const tlog::HashReader slow = ReaderOver(leaves);
  WithReader([&](TreeReader& tree) {
    EXPECT_EQ(*tree.Size(), uint64_t{kEvents});
    for (uint64_t size : {0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 600, kEvents - 1, kEvents}) {
      auto root = tree.Root(size);
      ASSERT_TRUE(root.ok()) << root.status().ToString();
      EXPECT_EQ(*root, *tlog::TreeHash(size, slow)) << size;
    }
    EXPECT_EQ(tree.Root(kEvents + 1).status().code(), StatusCode::kInvalidArgument);
  });
}

TEST_P(TreeTest, EveryTileEqualsTheTileTlogBuildsAndOlderPartialTilesAreServed) {
  Append(kEvents);
  const std::vector<std::string> leaves = Bodies(kEvents);
  WithReader([&](TreeReader& tree) {
    for (const auto& [tile, want] : tlog::BuildTiles(leaves)) {
      auto got = tree.Tile(tile, kEvents);
      ASSERT_TRUE(got.ok()) << tlog::TilePath(tile) << ": " << got.status().ToString();
      EXPECT_EQ(*got, want) << tlog::TilePath(tile);
    }
    // A partial tile of an older tree size is a prefix of today's.
    const std::vector<std::string> older(leaves.begin(), leaves.begin() + 300);
    for (const auto& [tile, want] : tlog::BuildTiles(older)) {
      EXPECT_EQ(*tree.Tile(tile, 300), want) << tlog::TilePath(tile);
    }
    // A tile the tree does not have yet, or wider than it has.
    EXPECT_EQ(tree.Tile({.level = 0, .index = 3, .width = 1}, kEvents).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(tree.Tile({.level = 0, .index = 2, .width = 78}, kEvents).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(tree.Tile({.level = 1, .index = 0, .width = 3}, kEvents).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(tree.Tile({.level = 0, .index = 0, .width = 1}, kEvents + 1).status().code(),
              StatusCode::kInvalidArgument);
  });
}

TEST_P(TreeTest, InclusionAndConsistencyProofsVerifyAgainstTheRoots) {
  Append(kEvents);
  const std::vector<std::string> leaves = Bodies(kEvents);
  WithReader([&](TreeReader& tree) {
    for (uint64_t size : {1, 7, 256, 257, 512, 600, kEvents}) {
      const tlog::Hash root = *tree.Root(size);
      for (uint64_t index : {uint64_t{0}, size / 2, size - 1}) {
        auto proof = tree.InclusionProof(index, size);
        ASSERT_TRUE(proof.ok()) << proof.status().ToString();
        EXPECT_TRUE(
            tlog::VerifyInclusion(index, size, tlog::LeafHash(leaves[index]), *proof, root).ok())
            << index << " in " << size;
      }
      for (uint64_t old_size : {uint64_t{1}, size / 3, size - 1, size}) {
        if (old_size == 0) continue;
        auto proof = tree.ConsistencyProof(old_size, size);
        ASSERT_TRUE(proof.ok()) << proof.status().ToString();
        EXPECT_TRUE(
            tlog::VerifyConsistency(old_size, size, *proof, *tree.Root(old_size), root).ok())
            << old_size << " to " << size;
      }
    }
    EXPECT_EQ(tree.InclusionProof(5, kEvents + 1).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(tree.InclusionProof(kEvents, kEvents).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(tree.ConsistencyProof(3, kEvents + 1).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(tree.ConsistencyProof(9, 8).status().code(), StatusCode::kInvalidArgument);
  });
}

TEST_P(TreeTest, ALogWithoutItsTreeGetsItBuiltAtTheNextOpen) {
  Append(kEvents);
  ForgetTree();
  Open();
  const std::vector<std::string> leaves = Bodies(kEvents);
  WithReader([&](TreeReader& tree) {
    EXPECT_EQ(*tree.Size(), uint64_t{kEvents});
    EXPECT_EQ(*tree.Root(kEvents), *tlog::TreeHash(kEvents, ReaderOver(leaves)));
    for (const auto& [tile, want] : tlog::BuildTiles(leaves)) {
      EXPECT_EQ(*tree.Tile(tile, kEvents), want) << tlog::TilePath(tile);
    }
  });
  EXPECT_TRUE(CheckStored().ok());
  // Appends carry on from the built tree.
  Append(3);
  WithReader([&](TreeReader& tree) {
    EXPECT_EQ(*tree.Root(kEvents + 3),
              *tlog::TreeHash(kEvents + 3, ReaderOver(Bodies(kEvents + 3))));
  });
}

TEST_P(TreeTest, ABuildCutShortResumesWhereTheStoredEdgeSaysItGotTo) {
  Append(kEvents);
  // What a build killed after hashing 300 events leaves: their tile-level hashes and the edge of
  // a tree of 300.
  const std::vector<std::string> leaves = Bodies(kEvents);
  tlog::RightEdge partial;
  for (int i = 0; i < 300; ++i) partial.Append(tlog::LeafHash(leaves[i]));
  std::string edge_hex;
  for (const tlog::Hash& h : partial.roots()) edge_hex += RootHex(h);
  Behind(fmt::format("DROP TRIGGER audit_hashes_no_delete; "
                     "DELETE FROM audit_hashes WHERE (level = 0 AND idx >= 300) OR level = 8 AND "
                     "idx >= 1; UPDATE audit_tree SET size = 300, edge = X'{}'",
                     edge_hex),
         fmt::format("ALTER TABLE audit_hashes DISABLE TRIGGER USER; "
                     "DELETE FROM audit_hashes WHERE (level = 0 AND idx >= 300) OR level = 8 AND "
                     "idx >= 1; ALTER TABLE audit_hashes ENABLE TRIGGER USER; "
                     "UPDATE audit_head SET tree_size = 300, tree_edge = decode('{}', 'hex')",
                     edge_hex));
  Open();
  WithReader([&](TreeReader& tree) {
    EXPECT_EQ(*tree.Size(), uint64_t{kEvents});
    EXPECT_EQ(*tree.Root(kEvents), *tlog::TreeHash(kEvents, ReaderOver(leaves)));
  });
  EXPECT_TRUE(CheckStored().ok());
  auto again = store::BuildAuditTree(store(), 100);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->hashed, 0u);
  EXPECT_EQ(again->size, uint64_t{kEvents});
}

TEST_P(TreeTest, ABuildInSmallBatchesEqualsTheTreeTheAppendsMade) {
  Append(kEvents);
  ForgetTree();
  auto built = store::BuildAuditTree(store(), 100);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->hashed, uint64_t{kEvents});
  EXPECT_EQ(built->size, uint64_t{kEvents});
  EXPECT_TRUE(CheckStored().ok());
}

TEST_P(TreeTest, AnAppendIsRefusedWhileTheTreeLagsTheLog) {
  Append(5);
  ForgetTree();
  Status st = store().Write([](store::Tx& tx) -> Status {
    return tx.AppendAuditEvent({}, [](int64_t seq) -> Result<std::string> { return Body(seq); })
        .status();
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "the audit tree holds 0 events but the log 5: it is built at start (vouch serve)");
  Status check = CheckStored();
  EXPECT_EQ(check.code(), StatusCode::kDataLoss);
}

TEST_P(TreeTest, TheStoredTreeCheckNamesTheFirstStoredHashThatDiffers) {
  Append(kEvents);
  ASSERT_TRUE(CheckStored().ok());
  // Leaf 301 (event 302) altered in the stored tree.
  Behind(
      "DROP TRIGGER audit_hashes_no_update; "
      "UPDATE audit_hashes SET hash = zeroblob(32) WHERE level = 0 AND idx = 301",
      "ALTER TABLE audit_hashes DISABLE TRIGGER USER; "
      "UPDATE audit_hashes SET hash = decode(repeat('00', 32), 'hex') "
      "WHERE level = 0 AND idx = 301; ALTER TABLE audit_hashes ENABLE TRIGGER USER");
  Open();
  Status s = CheckStored();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "the stored audit tree hash at level 0, index 301 (events 302..302) differs from the "
            "hash of the stored events");
}

TEST_P(TreeTest, TheStoredTreeCheckNamesAMissingLevel8HashAndAWrongEdge) {
  Append(kEvents);
  Behind(
      "DROP TRIGGER audit_hashes_no_delete; DELETE FROM audit_hashes WHERE level = 8 AND idx = 1",
      "ALTER TABLE audit_hashes DISABLE TRIGGER USER; "
      "DELETE FROM audit_hashes WHERE level = 8 AND idx = 1; "
      "ALTER TABLE audit_hashes ENABLE TRIGGER USER");
  Open();
  Status s = CheckStored();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "the stored audit tree hash at level 8, index 1 (events 257..512) is missing");
}

INSTANTIATE_TEST_SUITE_P(Stores, TreeTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::audit
